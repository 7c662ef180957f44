"""Components of the templates: each takes one project core and the template's settings and
returns its parts (the model-build half, the model-deploy half, the images, the monitoring).

A template composes components (see ``sagemaker_projects_cdk.stacks.template``); a
component's settings are a dataclass the template's settings inherit, so each setting is
declared once.
"""

from .core import ProjectCore, ProjectSettings, RegistrySettings, add_core, add_core_outputs
from .images import ImageParts, ImageSettings, ImageTypeParts, add_images
from .model_build import ModelBuildParts, ModelBuildSettings, add_model_build
from .model_deploy import DeployTargetSettings, ModelDeployParts, ModelDeploySettings, add_model_deploy
from .monitoring import MonitoringParts, MonitoringSettings, add_monitoring
from .operations import OperationsParts, OperationsSettings, add_operations
from .parts import TemplateParts

__all__ = [
    "DeployTargetSettings",
    "ImageParts",
    "ImageSettings",
    "ImageTypeParts",
    "ModelBuildParts",
    "ModelBuildSettings",
    "ModelDeployParts",
    "ModelDeploySettings",
    "MonitoringParts",
    "MonitoringSettings",
    "OperationsParts",
    "OperationsSettings",
    "ProjectCore",
    "ProjectSettings",
    "RegistrySettings",
    "TemplateParts",
    "add_core",
    "add_core_outputs",
    "add_images",
    "add_model_build",
    "add_model_deploy",
    "add_monitoring",
    "add_operations",
]
