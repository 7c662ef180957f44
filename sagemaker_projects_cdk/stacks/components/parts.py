"""What a template built: the core's parts and those of each component it composed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ...constructs.project.identity import ProjectIdentity
from ...constructs.project.storage import ArtifactBucket
from ...constructs.registry.model_package_group import IModelPackageGroup
from .core import ProjectCore
from .images import ImageParts
from .model_build import ModelBuildParts
from .model_deploy import ModelDeployParts
from .monitoring import MonitoringParts
from .operations import OperationsParts


@dataclass(frozen=True)
class TemplateParts:
    """What a template built (a template stack also has each as an attribute).

    A component the template does not compose is None.
    """

    project: ProjectIdentity
    artifacts: ArtifactBucket
    model_package_group: IModelPackageGroup
    model_build: Optional[ModelBuildParts] = None
    model_deploy: Optional[ModelDeployParts] = None
    #: The notification topic and rules, and the dashboard (``add_operations``, composed last).
    operations: Optional[OperationsParts] = None
    #: The project's custom images (``add_images``).
    images: Optional[ImageParts] = None
    #: The model monitors' repository, pipeline and teardown (``add_monitoring``).
    monitoring: Optional[MonitoringParts] = None

    @classmethod
    def of(
        cls,
        core: ProjectCore,
        *,
        model_build: Optional[ModelBuildParts] = None,
        model_deploy: Optional[ModelDeployParts] = None,
        images: Optional[ImageParts] = None,
        monitoring: Optional[MonitoringParts] = None,
    ) -> TemplateParts:
        """The core's parts and the given components'."""
        return cls(
            core.project, core.artifacts, core.model_package_group, model_build, model_deploy, images=images, monitoring=monitoring
        )
