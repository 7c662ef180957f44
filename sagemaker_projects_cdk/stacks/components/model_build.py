"""The model-build half of a project: the data set, the seeded repository, the build pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from aws_cdk import CfnOutput, CfnParameter, Stack

from ..._internal.validation import check_instance_type
from ...constructs.build.pipeline import (
    DATASET_FILE,
    DATASET_PREFIX,
    STEP_CACHE_EXPIRY_PATTERN,
    ModelBuildPipeline,
    check_step_cache_expiry,
)
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
    pipeline_step_cache_expiry: Optional[str] = setting(
        None,
        doc="how long the SageMaker pipeline's preprocessing and training steps reuse an earlier successful run with "
        "the same arguments (step caching: a change to the evaluation alone does not retrain), an ISO 8601 duration "
        "such as `P30D`, `P2W` or `PT12H` (not zero); `off` (or empty) runs every step every time; the parameter's default is "
        "`P30D` (docs/guide/performance.md, \"Step caching\")",
        parameter="PipelineStepCacheExpiry",
        check=check_step_cache_expiry,
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


def step_cache_expiry(stack: Stack, settings: ModelBuildSettings) -> str:
    """The model build's ``PIPELINE_STEP_CACHE_EXPIRY``: the setting ("off" for empty), or the
    ``PipelineStepCacheExpiry`` parameter (default ``P30D``) when it is not given."""
    if settings.pipeline_step_cache_expiry is not None:
        return check_step_cache_expiry("pipeline_step_cache_expiry", settings.pipeline_step_cache_expiry)
    return CfnParameter(
        stack,
        "PipelineStepCacheExpiry",
        type="String",
        default="P30D",
        # Empty is "off", as for the setting and the seed.
        allowed_pattern=f"^({STEP_CACHE_EXPIRY_PATTERN})?$",
        constraint_description="an ISO 8601 duration of years, months, weeks, days, hours or minutes (P30D, P2W, "
        "PT12H, P1DT6H), not zero; or off (or empty)",
        description="How long the SageMaker pipeline's preprocessing and training steps reuse an earlier run with the "
        "same arguments (step caching); off (or empty) runs every step every time",
    ).value_as_string


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
        environment={**core.network.environment(), **dict(environment or {})},
        step_cache_expiry=step_cache_expiry(stack, settings),
    )
    after_seeding(pipeline.pipeline, repository)
    CfnOutput(stack, "ModelBuildRepositoryName", value=repository.source.description)
    CfnOutput(stack, "ModelBuildPipelineName", value=pipeline.pipeline.pipeline_name)
    CfnOutput(stack, "DatasetS3Url", value=dataset.s3_url)
    return ModelBuildParts(dataset, repository, pipeline)
