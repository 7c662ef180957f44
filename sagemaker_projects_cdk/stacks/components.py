"""Compositions shared by the template stacks (the same constructs, the same construct ids).

Each function adds one half of a SageMaker project to a stack: the model-build half (data
set, seeded repository, build pipeline) or the model-deploy half (seeded repository, deploy
pipeline, approval trigger). A template stack calls one or both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sns as sns

from ..constructs.project.storage import ArtifactBucket
from ..constructs.project.dataset import ProjectDataset
from ..constructs.build.pipeline import DATASET_FILE, DATASET_PREFIX, ModelBuildPipeline
from ..constructs.deploy.pipeline import ModelDeployPipeline
from ..constructs.registry.model_package_group import ModelPackageGroup, _ModelPackageGroupBase
from ..constructs.project.identity import ProjectIdentity
from ..constructs.sources.seeded_repository import SeededRepository, seed_code_path


@dataclass(frozen=True)
class ProjectParts:
    project: ProjectIdentity
    artifacts: ArtifactBucket
    model_package_group: ModelPackageGroup


@dataclass(frozen=True)
class ModelBuildParts:
    dataset: ProjectDataset
    repository: SeededRepository
    pipeline: ModelBuildPipeline


@dataclass(frozen=True)
class ModelDeployParts:
    repository: SeededRepository
    pipeline: ModelDeployPipeline


def add_project(
    stack: Stack,
    *,
    project_name: Optional[str],
    project_id: Optional[str],
    model_read_account_ids: tuple[str, ...],
) -> ProjectParts:
    """The project's identity, its artifact bucket and the model package group it registers into."""
    project = ProjectIdentity(stack, "Project", project_name=project_name, project_id=project_id)
    artifacts = ArtifactBucket(stack, "Artifacts")
    model_package_group = ModelPackageGroup(
        stack,
        "ModelPackageGroup",
        model_package_group_name=project.name_id,
        description="Models registered by the project's model-building pipeline",
        read_access_account_ids=model_read_account_ids,
    )
    return ProjectParts(project, artifacts, model_package_group)


def add_model_build(
    stack: Stack,
    *,
    project: ProjectIdentity,
    artifacts: ArtifactBucket,
    model_package_group: _ModelPackageGroupBase,
    branch: str,
    processing_instance_type: str,
    training_instance_type: str,
    compute_type: str,
) -> ModelBuildParts:
    dataset = ProjectDataset(
        stack,
        "Dataset",
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        source_file=seed_code_path("model_build") / "data" / DATASET_FILE,
        prefix=DATASET_PREFIX,
    )
    repository = SeededRepository(
        stack,
        "ModelBuildRepository",
        repository_name=project.resource_name("modelbuild"),
        description="Model building code of the SageMaker project",
        seed_directory=seed_code_path("model_build"),
        branch=branch,
        encryption_key=artifacts.encryption_key,
    )
    pipeline = ModelBuildPipeline(
        stack,
        "ModelBuild",
        project=project,
        source=repository.source,
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        model_package_group=model_package_group,
        processing_instance_type=processing_instance_type,
        training_instance_type=training_instance_type,
        compute_type=compute_type,
    )
    CfnOutput(stack, "ModelBuildRepositoryName", value=repository.repository.repository_name)
    CfnOutput(stack, "ModelBuildPipelineName", value=pipeline.pipeline.pipeline_name)
    CfnOutput(stack, "DatasetS3Url", value=dataset.s3_url)
    return ModelBuildParts(dataset, repository, pipeline)


def add_model_deploy(
    stack: Stack,
    *,
    project: ProjectIdentity,
    artifacts: ArtifactBucket,
    model_package_group: _ModelPackageGroupBase,
    branch: str,
    compute_type: str,
    approval_topic: Optional[sns.ITopic],
    model_artifact_bucket_name: Optional[str] = None,
    model_artifact_key_arn: Optional[str] = None,
) -> ModelDeployParts:
    repository = SeededRepository(
        stack,
        "ModelDeployRepository",
        repository_name=project.resource_name("modeldeploy"),
        description="Model deployment code of the SageMaker project",
        seed_directory=seed_code_path("model_deploy"),
        branch=branch,
        encryption_key=artifacts.encryption_key,
    )
    pipeline = ModelDeployPipeline(
        stack,
        "ModelDeploy",
        project=project,
        source=repository.source,
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        model_package_group=model_package_group,
        approval_topic=approval_topic,
        compute_type=compute_type,
        model_artifact_bucket_name=model_artifact_bucket_name,
        model_artifact_key_arn=model_artifact_key_arn,
    )
    CfnOutput(stack, "ModelDeployRepositoryName", value=repository.repository.repository_name)
    CfnOutput(stack, "ModelDeployPipelineName", value=pipeline.pipeline.pipeline_name)
    return ModelDeployParts(repository, pipeline)
