"""SageMaker endpoints: the construct, its grouped settings and rollout."""

from .endpoint import MODEL_PACKAGE_ARN_PATTERN, MODEL_PACKAGE_TAG, ModelEndpoint
from .rollout import BlueGreenRollout, RollbackAlarms, TrafficShift, TrafficStep
from .settings import Autoscaling, DataCapture, InstanceVariant, ServerlessVariant

__all__ = [
    "Autoscaling",
    "BlueGreenRollout",
    "DataCapture",
    "InstanceVariant",
    "ModelEndpoint",
    "RollbackAlarms",
    "ServerlessVariant",
    "TrafficShift",
    "TrafficStep",
    "MODEL_PACKAGE_ARN_PATTERN",
    "MODEL_PACKAGE_TAG",
]
