"""One stack per SageMaker Projects template; ``TEMPLATES`` maps template ids to stack classes.

Every class in ``TEMPLATES`` can be built from ``(scope, construct_id)`` alone: what it is
not given becomes a CloudFormation parameter with a default.
"""

from __future__ import annotations

from .build_deploy import BuildDeployStack
from .endpoint_stage import EndpointStageStack
from .model_build import ModelBuildStack
from .model_deploy import ModelDeployStack
from .template import TemplateStack

TEMPLATES: dict[str, type[TemplateStack]] = {
    "model-build": ModelBuildStack,
    "model-deploy": ModelDeployStack,
    "build-deploy": BuildDeployStack,
}

__all__ = [
    "TEMPLATES",
    "BuildDeployStack",
    "EndpointStageStack",
    "ModelBuildStack",
    "ModelDeployStack",
    "TemplateStack",
]
