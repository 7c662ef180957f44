"""The model-deploy half of a project: the seeded deploy repository, the deploy pipeline and its trigger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_sns as sns

from ...constructs.deploy.pipeline import ModelDeployPipeline
from ...constructs.deploy.stages import DEFAULT_STAGES, DeployStage, check_stages
from ...constructs.deploy.teardown import StageTeardown
from ...constructs.sources.seeded_repository import seed_code_path
from ..template import setting
from .core import ProjectCore, ProjectRepository, ProjectSettings, add_seeded_repository, after_seeding


@dataclass(frozen=True, kw_only=True)
class ModelDeploySettings(ProjectSettings):
    """Settings of the model-deploy half."""

    stages: tuple[DeployStage, ...] = setting(
        DEFAULT_STAGES,
        doc="the deployment stages, in order (`DeployStage`: name, whether a person approves before it, whether it is tested, whether its deployments are recorded as change events: by default the last stage only)",
        check=lambda _name, value: check_stages(value),
    )
    approval_topic: Optional[sns.ITopic] = setting(
        None, doc="SNS topic told when a stage waits for a person's approval; none: the approval waits in the console"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.source is not None:
            self.source.repository("model_deploy")  # a ValueError naming the missing repository


@dataclass(frozen=True)
class ModelDeployParts:
    """What :func:`add_model_deploy` built."""

    #: The CodeCommit repository the project created, or the existing one on a Git host.
    repository: ProjectRepository
    pipeline: ModelDeployPipeline
    #: Deletes the pipeline's stage stacks when the project stack is deleted.
    teardown: StageTeardown


def add_model_deploy(
    stack: Stack,
    core: ProjectCore,
    settings: ModelDeploySettings,
    *,
    model_artifact_bucket_name: Optional[str] = None,
    model_artifact_key_arn: Optional[str] = None,
) -> ModelDeployParts:
    """The repository seeded with the deploy code, and the pipeline that deploys the group's
    newest approved version through the stages, started by every approval or rejection; and
    the teardown that deletes the stage stacks with the project.

    :param model_artifact_bucket_name: the bucket of the group's model artifacts when another
        project registered them. Default: this project's bucket.
    :param model_artifact_key_arn: the KMS key of those artifacts. Default: see
        ``ModelDeployPipeline``.
    """
    seed = seed_code_path("model_deploy")
    missing = [stage.name for stage in settings.stages if not (seed / f"{stage.name}-config.json").is_file()]
    if missing:
        Annotations.of(stack).add_warning_v2(
            "sagemaker-projects-cdk:stageWithoutConfig",
            f"stages {', '.join(missing)} have no <stage>-config.json in the seeded deploy repository: commit one "
            "per stage (copy staging-config.json) before the first model is approved, or the build step fails",
        )
    repository = add_seeded_repository(
        stack,
        core,
        settings,
        seed="model_deploy",
        construct_id="ModelDeployRepository",
        description="Model deployment code of the SageMaker project",
    )
    pipeline = ModelDeployPipeline(
        stack,
        "ModelDeploy",
        project=core.project,
        source=repository.source,
        bucket=core.artifacts.bucket,
        encryption_key=core.artifacts.encryption_key,
        model_package_group=core.model_package_group,
        stages=settings.stages,
        approval_topic=settings.approval_topic,
        compute_type=settings.compute_type,
        model_artifact_bucket_name=model_artifact_bucket_name,
        model_artifact_key_arn=model_artifact_key_arn,
    )
    teardown = StageTeardown(stack, "StageTeardown", pipeline=pipeline, encryption_key=core.artifacts.encryption_key)
    after_seeding(pipeline.pipeline, repository)
    CfnOutput(stack, "ModelDeployRepositoryName", value=repository.source.description)
    CfnOutput(stack, "ModelDeployPipelineName", value=pipeline.pipeline.pipeline_name)
    return ModelDeployParts(repository, pipeline, teardown)
