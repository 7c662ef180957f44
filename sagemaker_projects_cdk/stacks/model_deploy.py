"""The "model deployment" template: deploy the approved models of an existing model package group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from aws_cdk import CfnOutput, CfnParameter, Stack
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..constructs.project.storage import ArtifactBucket
from ..constructs.registry.model_package_group import GROUP_NAME_PATTERN, ModelPackageGroup, _ModelPackageGroupBase
from ..constructs.project.identity import ProjectIdentity, default_project_id, default_project_name
from .components import ModelDeployParts, add_model_deploy
from .template import TemplateStack


@dataclass(frozen=True)
class ModelDeployTemplate:
    """What :meth:`ModelDeployStack.compose` built."""

    project: ProjectIdentity
    artifacts: ArtifactBucket
    model_package_group: _ModelPackageGroupBase
    model_deploy: ModelDeployParts


class ModelDeployStack(TemplateStack):
    """A CodeCommit repository seeded with the deploy code and a CodePipeline that deploys the
    newest approved version of a model package group to a staging endpoint, tests it, waits
    for approval and deploys it to production; it starts on every approval or rejection.

    :param project_name: Default: the ``SageMakerProjectName`` parameter.
    :param project_id: Default: the ``SageMakerProjectId`` parameter.
    :param model_package_group_name: the existing group to deploy from. Default: a
        ``SourceModelPackageGroupName`` parameter whose default is the group that the
        ``model-build`` template creates when it is deployed with its own defaults.
    :param branch: the deploy repository's branch. Default: ``main``.
    :param compute_type: CodeBuild compute type. Default: ``BUILD_GENERAL1_SMALL``.
    :param approval_topic: SNS topic told when production waits for approval. Default: none.
    :param model_artifact_bucket_name: the bucket holding the group's model artifacts (the
        registering project's artifact bucket). Default: a ``SourceModelArtifactBucketName``
        parameter; left empty, this project's bucket.
    :param model_artifact_key_arn: the KMS key ARN encrypting those artifacts. Default: a
        ``SourceModelArtifactKmsKeyArn`` parameter; left empty, not KMS-encrypted (or this
        project's key, for this project's bucket).
    :param kwargs: any ``aws_cdk.Stack`` property.

    The endpoints' model role may read only that one bucket (and decrypt with that key, through
    S3); the build step refuses a model version whose artifacts are elsewhere, saying which
    setting to change. In another account, that bucket's and key's policies must allow this
    project's endpoint roles (IAM path ``/sagemaker-projects/<project id>/``).
    """

    TITLE = "MLOps template for model deployment"
    DESCRIPTION = "SageMaker project: model deployment (sagemaker-projects-cdk)"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: Optional[str] = None,
        project_id: Optional[str] = None,
        model_package_group_name: Optional[str] = None,
        branch: str = "main",
        compute_type: str = "BUILD_GENERAL1_SMALL",
        approval_topic: Optional[sns.ITopic] = None,
        model_artifact_bucket_name: Optional[str] = None,
        model_artifact_key_arn: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("description", self.DESCRIPTION)
        super().__init__(scope, construct_id, **kwargs)
        parts = self.compose(
            self,
            project_name=project_name,
            project_id=project_id,
            model_package_group_name=model_package_group_name,
            branch=branch,
            compute_type=compute_type,
            approval_topic=approval_topic,
            model_artifact_bucket_name=model_artifact_bucket_name,
            model_artifact_key_arn=model_artifact_key_arn,
        )
        self._adopt(parts)

    @classmethod
    def compose(
        cls,
        stack: Stack,
        *,
        project_name: Optional[str] = None,
        project_id: Optional[str] = None,
        model_package_group_name: Optional[str] = None,
        branch: str = "main",
        compute_type: str = "BUILD_GENERAL1_SMALL",
        approval_topic: Optional[sns.ITopic] = None,
        model_artifact_bucket_name: Optional[str] = None,
        model_artifact_key_arn: Optional[str] = None,
    ) -> ModelDeployTemplate:
        """Build the template into ``stack`` (settings as for the constructor)."""
        project = ProjectIdentity(stack, "Project", project_name=project_name, project_id=project_id)
        if model_package_group_name is None:
            model_package_group_name = CfnParameter(
                stack,
                "SourceModelPackageGroupName",
                type="String",
                description="Name of the model package group whose approved versions are deployed",
                min_length=1,
                max_length=63,
                allowed_pattern=GROUP_NAME_PATTERN,
                default=_model_build_default_group(),
            ).value_as_string
        if model_artifact_bucket_name is None:
            model_artifact_bucket_name = CfnParameter(
                stack,
                "SourceModelArtifactBucketName",
                type="String",
                description="Bucket holding the model artifacts of that group's versions (empty: this project's bucket)",
                allowed_pattern=r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                default="",
            ).value_as_string
        if model_artifact_key_arn is None:
            model_artifact_key_arn = CfnParameter(
                stack,
                "SourceModelArtifactKmsKeyArn",
                type="String",
                description="ARN of the KMS key encrypting those artifacts (empty: not KMS-encrypted)",
                allowed_pattern=r"^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$",
                default="",
            ).value_as_string
        artifacts = ArtifactBucket(stack, "Artifacts")
        model_package_group = ModelPackageGroup.from_name(stack, "ModelPackageGroup", model_package_group_name)
        model_deploy = add_model_deploy(
            stack,
            project=project,
            artifacts=artifacts,
            model_package_group=model_package_group,
            branch=branch,
            compute_type=compute_type,
            approval_topic=approval_topic,
            model_artifact_bucket_name=model_artifact_bucket_name,
            model_artifact_key_arn=model_artifact_key_arn,
        )
        CfnOutput(stack, "ArtifactBucketName", value=artifacts.bucket.bucket_name)
        return ModelDeployTemplate(project, artifacts, model_package_group, model_deploy)


def _model_build_default_group() -> str:
    """The group ``ModelBuildStack`` creates as a top-level ``ModelBuild`` stack with no project given."""
    return f"{default_project_name('ModelBuild')}-{default_project_id('ModelBuild')}"
