"""One stack per SageMaker Projects template; ``TEMPLATES`` maps template ids to stack classes.

Every class in ``TEMPLATES`` can be built from ``(scope, construct_id)`` alone: what it is
not given becomes a CloudFormation parameter with a default.
"""

from __future__ import annotations

from .build_deploy import BuildDeployStack
from .endpoint_stage import EndpointStageStack
from .model_build import ModelBuildStack
from .model_deploy import ModelDeployStack
from ._template import TemplateStack

TEMPLATES: dict[str, type[TemplateStack]] = {
    "model-build": ModelBuildStack,
    "model-deploy": ModelDeployStack,
    "build-deploy": BuildDeployStack,
}

# Publishing to Studio builds the templates above (imported after TEMPLATES exists).
from .studio_templates import StudioTemplate, StudioTemplates, StudioTemplatesStack, TemplateProductStack  # noqa: E402

__all__ = [
    "TEMPLATES",
    "BuildDeployStack",
    "EndpointStageStack",
    "ModelBuildStack",
    "ModelDeployStack",
    "StudioTemplate",
    "StudioTemplates",
    "StudioTemplatesStack",
    "TemplateProductStack",
    "TemplateStack",
]
