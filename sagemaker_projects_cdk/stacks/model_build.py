"""The "model building and training" template (SageMaker's MLOps template for model building and training)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ..constructs.project.storage import ArtifactBucket
from ..constructs.registry.model_package_group import ModelPackageGroup
from ..constructs.project.identity import ProjectIdentity
from .components import ModelBuildParts, add_model_build, add_project
from .template import TemplateStack


@dataclass(frozen=True)
class ModelBuildTemplate:
    """What :meth:`ModelBuildStack.compose` built."""

    project: ProjectIdentity
    artifacts: ArtifactBucket
    model_package_group: ModelPackageGroup
    model_build: ModelBuildParts


class ModelBuildStack(TemplateStack):
    """A CodeCommit repository seeded with the abalone SageMaker pipeline, a CodePipeline that
    runs it on every push, the model package group it registers into, and the project's
    encrypted artifact bucket with the data set.

    :param project_name: Default: the ``SageMakerProjectName`` parameter.
    :param project_id: Default: the ``SageMakerProjectId`` parameter.
    :param branch: the branch that is seeded and built. Default: ``main``.
    :param processing_instance_type: Default: ``ml.m5.xlarge``.
    :param training_instance_type: Default: ``ml.m5.xlarge``.
    :param compute_type: CodeBuild compute type. Default: ``BUILD_GENERAL1_SMALL``.
    :param model_read_account_ids: accounts that may read the registered models. Default: none.
    :param kwargs: any ``aws_cdk.Stack`` property (``env``, ``description``, ``synthesizer``...).
    """

    TITLE = "MLOps template for model building and training"
    DESCRIPTION = "SageMaker project: model building and training (sagemaker-projects-cdk)"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: Optional[str] = None,
        project_id: Optional[str] = None,
        branch: str = "main",
        processing_instance_type: str = "ml.m5.xlarge",
        training_instance_type: str = "ml.m5.xlarge",
        compute_type: str = "BUILD_GENERAL1_SMALL",
        model_read_account_ids: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("description", self.DESCRIPTION)
        super().__init__(scope, construct_id, **kwargs)
        parts = self.compose(
            self,
            project_name=project_name,
            project_id=project_id,
            branch=branch,
            processing_instance_type=processing_instance_type,
            training_instance_type=training_instance_type,
            compute_type=compute_type,
            model_read_account_ids=model_read_account_ids,
        )
        self._adopt(parts)

    @classmethod
    def compose(
        cls,
        stack: Stack,
        *,
        project_name: Optional[str] = None,
        project_id: Optional[str] = None,
        branch: str = "main",
        processing_instance_type: str = "ml.m5.xlarge",
        training_instance_type: str = "ml.m5.xlarge",
        compute_type: str = "BUILD_GENERAL1_SMALL",
        model_read_account_ids: tuple[str, ...] = (),
    ) -> ModelBuildTemplate:
        """Build the template into ``stack`` (settings as for the constructor)."""
        base = add_project(
            stack, project_name=project_name, project_id=project_id, model_read_account_ids=model_read_account_ids
        )
        project, artifacts, model_package_group = base.project, base.artifacts, base.model_package_group
        model_build = add_model_build(
            stack,
            project=project,
            artifacts=artifacts,
            model_package_group=model_package_group,
            branch=branch,
            processing_instance_type=processing_instance_type,
            training_instance_type=training_instance_type,
            compute_type=compute_type,
        )
        CfnOutput(stack, "ArtifactBucketName", value=artifacts.bucket.bucket_name)
        CfnOutput(stack, "ModelPackageGroupName", value=model_package_group.model_package_group_name)
        return ModelBuildTemplate(project, artifacts, model_package_group, model_build)
