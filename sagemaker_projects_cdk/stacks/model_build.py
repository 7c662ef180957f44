"""The "model building and training" template (SageMaker's MLOps template for model building and training)."""

from __future__ import annotations

from typing import Any, Optional

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ..constructs.artifact_bucket import ArtifactBucket
from ..constructs.model_package_group import ModelPackageGroup
from ..constructs.project import ProjectIdentity
from ._compose import add_model_build


class ModelBuildStack(Stack):
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
        kwargs.setdefault("description", "SageMaker project: model building and training (sagemaker-projects-cdk)")
        super().__init__(scope, construct_id, **kwargs)
        self.project = ProjectIdentity(self, "Project", project_name=project_name, project_id=project_id)
        self.artifacts = ArtifactBucket(self, "Artifacts")
        self.model_package_group = ModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.project.name_id,
            description="Models registered by the project's model-building pipeline",
            read_access_account_ids=model_read_account_ids,
        )
        self.model_build = add_model_build(
            self,
            project=self.project,
            artifacts=self.artifacts,
            model_package_group=self.model_package_group,
            branch=branch,
            processing_instance_type=processing_instance_type,
            training_instance_type=training_instance_type,
            compute_type=compute_type,
        )
        CfnOutput(self, "ArtifactBucketName", value=self.artifacts.bucket.bucket_name)
        CfnOutput(self, "ModelPackageGroupName", value=self.model_package_group.model_package_group_name)
