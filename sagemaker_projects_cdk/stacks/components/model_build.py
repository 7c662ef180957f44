"""The model-build half of a project: the data set, the seeded repository, the build pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from aws_cdk import CfnOutput, Stack

from ..._internal.validation import check_instance_type
from ...constructs.build.pipeline import DATASET_FILE, DATASET_PREFIX, ModelBuildPipeline
from ...constructs.project.dataset import ProjectDataset
from ...constructs.sources.seeded_repository import seed_code_path
from ..template import setting
from .core import ProjectCore, ProjectRepository, RegistrySettings, add_seeded_repository, after_seeding


@dataclass(frozen=True, kw_only=True)
class ModelBuildSettings(RegistrySettings):
    """Settings of the model-build half."""

    processing_instance_type: str = setting(
        "ml.m5.xlarge", doc="instance type of the SageMaker pipeline's processing steps", check=check_instance_type
    )
    training_instance_type: str = setting(
        "ml.m5.xlarge", doc="instance type of the SageMaker pipeline's training step", check=check_instance_type
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source is not None:
            self.source.repository("model_build")  # a ValueError naming the missing repository


@dataclass(frozen=True)
class ModelBuildParts:
    """What :func:`add_model_build` built."""

    dataset: ProjectDataset
    #: The CodeCommit repository the project created, or the existing one on a Git host.
    repository: ProjectRepository
    pipeline: ModelBuildPipeline


def add_dataset(stack: Stack, core: ProjectCore) -> ProjectDataset:
    """The model build seed's abalone data set, copied into the project's bucket (``Dataset``)."""
    return ProjectDataset(
        stack,
        "Dataset",
        bucket=core.artifacts.bucket,
        encryption_key=core.artifacts.encryption_key,
        source_file=seed_code_path("model_build") / "data" / DATASET_FILE,
        prefix=DATASET_PREFIX,
    )


def add_model_build(
    stack: Stack, core: ProjectCore, settings: ModelBuildSettings, *, environment: Optional[Mapping[str, str]] = None
) -> ModelBuildParts:
    """The abalone data set in the project's bucket, the repository seeded with the SageMaker
    pipeline, and the CodePipeline that upserts and runs it on every push.

    :param environment: extra environment variables of the model build. Default: none.
    """
    artifacts = core.artifacts
    dataset = add_dataset(stack, core)
    repository = add_seeded_repository(
        stack,
        core,
        settings,
        seed="model_build",
        construct_id="ModelBuildRepository",
        description="Model building code of the SageMaker project",
    )
    pipeline = ModelBuildPipeline(
        stack,
        "ModelBuild",
        project=core.project,
        source=repository.source,
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        model_package_group=core.model_package_group,
        processing_instance_type=settings.processing_instance_type,
        training_instance_type=settings.training_instance_type,
        compute_type=settings.compute_type,
        # The seed pipeline runs its jobs in the subnets these name (empty: SageMaker's network).
        environment={**core.network.environment(), **dict(environment or {})},
    )
    after_seeding(pipeline.pipeline, repository)
    CfnOutput(stack, "ModelBuildRepositoryName", value=repository.source.description)
    CfnOutput(stack, "ModelBuildPipelineName", value=pipeline.pipeline.pipeline_name)
    CfnOutput(stack, "DatasetS3Url", value=dataset.s3_url)
    return ModelBuildParts(dataset, repository, pipeline)
