"""One stack per SageMaker Projects template; ``TEMPLATES`` maps template ids to stack classes.

Every class in ``TEMPLATES`` can be built from ``(scope, construct_id)`` alone: what it is
not given becomes a CloudFormation parameter with a default.
"""

from __future__ import annotations

from aws_cdk import Stack

from .model_build import ModelBuildStack

TEMPLATES: dict[str, type[Stack]] = {
    "model-build": ModelBuildStack,
}

__all__ = ["TEMPLATES", "ModelBuildStack"]
