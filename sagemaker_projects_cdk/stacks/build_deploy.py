"""The "model building, training and deployment" template: both halves sharing bucket, key and group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..constructs.project.storage import ArtifactBucket
from ..constructs.registry.model_package_group import ModelPackageGroup
from ..constructs.project.identity import ProjectIdentity
from .components import ModelBuildParts, ModelDeployParts, add_model_build, add_model_deploy, add_project
from .template import TemplateStack


@dataclass(frozen=True)
class BuildDeployTemplate:
    """What :meth:`BuildDeployStack.compose` built."""

    project: ProjectIdentity
    artifacts: ArtifactBucket
    model_package_group: ModelPackageGroup
    model_build: ModelBuildParts
    model_deploy: ModelDeployParts


class BuildDeployStack(TemplateStack):
    """Model building and training (see ``ModelBuildStack``) and model deployment (see
    ``ModelDeployStack``) in one project: one artifact bucket and key, one model package group.

    :param project_name: Default: the ``SageMakerProjectName`` parameter.
    :param project_id: Default: the ``SageMakerProjectId`` parameter.
    :param branch: the branch of both repositories. Default: ``main``.
    :param processing_instance_type: Default: ``ml.m5.xlarge``.
    :param training_instance_type: Default: ``ml.m5.xlarge``.
    :param compute_type: CodeBuild compute type of every build. Default: ``BUILD_GENERAL1_SMALL``.
    :param approval_topic: SNS topic told when production waits for approval. Default: none.
    :param model_read_account_ids: accounts that may read the registered models. Default: none.
    :param kwargs: any ``aws_cdk.Stack`` property.
    """

    TITLE = "MLOps template for model building, training and deployment"
    DESCRIPTION = "SageMaker project: model building, training and deployment (sagemaker-projects-cdk)"

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
        approval_topic: Optional[sns.ITopic] = None,
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
            approval_topic=approval_topic,
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
        approval_topic: Optional[sns.ITopic] = None,
        model_read_account_ids: tuple[str, ...] = (),
    ) -> BuildDeployTemplate:
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
        model_deploy = add_model_deploy(
            stack,
            project=project,
            artifacts=artifacts,
            model_package_group=model_package_group,
            branch=branch,
            compute_type=compute_type,
            approval_topic=approval_topic,
        )
        CfnOutput(stack, "ArtifactBucketName", value=artifacts.bucket.bucket_name)
        CfnOutput(stack, "ModelPackageGroupName", value=model_package_group.model_package_group_name)
        return BuildDeployTemplate(project, artifacts, model_package_group, model_build, model_deploy)
