"""SageMaker endpoints: the construct, its grouped settings and rollout."""

from .batch import BatchTransform, TransformSettings
from .endpoint import MODEL_PACKAGE_ARN_PATTERN, MODEL_PACKAGE_TAG, ModelEndpoint
from .rollout import BlueGreenRollout, RollbackAlarms, TrafficShift, TrafficStep
from .settings import AsyncInference, Autoscaling, BacklogScaling, DataCapture, InstanceVariant, ServerlessVariant

__all__ = [
    "AsyncInference",
    "Autoscaling",
    "BacklogScaling",
    "BatchTransform",
    "BlueGreenRollout",
    "DataCapture",
    "InstanceVariant",
    "ModelEndpoint",
    "RollbackAlarms",
    "ServerlessVariant",
    "TrafficShift",
    "TrafficStep",
    "TransformSettings",
    "MODEL_PACKAGE_ARN_PATTERN",
    "MODEL_PACKAGE_TAG",
]
