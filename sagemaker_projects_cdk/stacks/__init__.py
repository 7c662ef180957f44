"""One module per SageMaker Projects template; ``TEMPLATES`` maps template ids to stack classes.

Each template is declared once (``Template``: id, title, settings dataclass, compose
function); its stack class takes the settings as keywords. Every class in ``TEMPLATES`` can
be built from ``(scope, construct_id)`` alone: what it is not given becomes a CloudFormation
parameter with a default. ``TargetAccountStack`` is not a SageMaker project template (not in
``TEMPLATES``): it is the baseline a staging or prod account deploys once per tooling account.
"""

from __future__ import annotations

from .build_deploy import BUILD_DEPLOY, BuildDeploySettings, BuildDeployStack
from .build_deploy_git import BUILD_DEPLOY_GIT, BuildDeployGitSettings, BuildDeployGitStack
from .build_deploy_jenkins import BUILD_DEPLOY_JENKINS, BuildDeployJenkinsSettings, BuildDeployJenkinsStack
from .build_deploy_monitor import BUILD_DEPLOY_MONITOR, BuildDeployMonitorSettings, BuildDeployMonitorStack
from .components import ModelBuildSettings, ModelDeploySettings, TemplateParts
from .endpoint_stage import EndpointStageStack
from .image_build_deploy import IMAGE_BUILD_DEPLOY, ImageBuildDeploySettings, ImageBuildDeployStack
from .model_build import MODEL_BUILD, ModelBuildStack
from .model_deploy import MODEL_DEPLOY, ModelDeployStack, SourceModelDeploySettings
from .target_account import TargetAccountSettings, TargetAccountStack
from .template import Template, TemplateSettings, TemplateStack, settings_table

TEMPLATES: dict[str, type[TemplateStack]] = {
    stack.TEMPLATE.template_id: stack for stack in (
        ModelBuildStack,
        ModelDeployStack,
        BuildDeployStack,
        BuildDeployGitStack,
        ImageBuildDeployStack,
        BuildDeployJenkinsStack,
        BuildDeployMonitorStack,
    )
}

__all__ = [
    "BUILD_DEPLOY",
    "BUILD_DEPLOY_GIT",
    "BUILD_DEPLOY_JENKINS",
    "BUILD_DEPLOY_MONITOR",
    "MODEL_BUILD",
    "MODEL_DEPLOY",
    "TEMPLATES",
    "BuildDeployGitSettings",
    "BuildDeployGitStack",
    "BuildDeployJenkinsSettings",
    "BuildDeployJenkinsStack",
    "BuildDeployMonitorSettings",
    "BuildDeployMonitorStack",
    "BuildDeploySettings",
    "BuildDeployStack",
    "EndpointStageStack",
    "IMAGE_BUILD_DEPLOY",
    "ImageBuildDeploySettings",
    "ImageBuildDeployStack",
    "ModelBuildSettings",
    "ModelBuildStack",
    "ModelDeploySettings",
    "ModelDeployStack",
    "SourceModelDeploySettings",
    "TargetAccountSettings",
    "TargetAccountStack",
    "Template",
    "TemplateParts",
    "TemplateSettings",
    "TemplateStack",
    "settings_table",
]
