"""The model-deploy half of a project: the seeded deploy repository, the deploy pipeline and its trigger."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from aws_cdk import Annotations, CfnOutput, CfnParameter, Stack, Token
from aws_cdk import aws_sns as sns

from ..._internal.patterns import ACCOUNT_ID, REGION
from ..._internal.validation import check_pattern, invalid
from ...constructs.deploy.pipeline import ModelDeployPipeline
from ...constructs.deploy.stages import DEFAULT_STAGES, DeployStage, check_stages
from ...constructs.deploy.teardown import StageTeardown
from ...constructs.network import ISOLATION_VARIABLE
from ...constructs.sources.seeded_repository import seed_code_path
from ..template import TemplateSettings, setting
from .core import ProjectCore, ProjectRepository, ProjectSettings, add_seeded_repository, after_seeding


def _check_account(name: str, value: str) -> str:
    return check_pattern(name, value, f"|{ACCOUNT_ID}", "a 12-digit AWS account id, or '' (empty) for this account")


def _check_region(name: str, value: str) -> str:
    return check_pattern(name, value, f"|{REGION}", "an AWS region name such as 'eu-west-1', or '' (empty) for this region")


#: The settings of the deploy targets: setting name -> (stage name, DeployStage field, parameter, what it is).
TARGET_SETTINGS = {
    "staging_account_id": ("staging", "account", "StagingAccountId", "AWS account of the staging stage"),
    "prod_account_id": ("prod", "account", "ProdAccountId", "AWS account of the prod stage"),
    "staging_region": ("staging", "region", "StagingRegion", "Region of the staging stage"),
    "prod_region": ("prod", "region", "ProdRegion", "Region of the prod stage"),
}


@dataclass(frozen=True, kw_only=True)
class DeployTargetSettings(TemplateSettings):
    """Where the stages named ``staging`` and ``prod`` deploy: settings of every template that deploys.

    An account other than the project's own must run the target-account baseline
    (``TargetAccountStack``) first; nothing there needs ``cdk bootstrap``. Staging and prod
    may share one account (each stage has its own stack and endpoint); giving the project's
    own account (when the stack's ``env`` names it) is refused: leave it empty instead.
    """

    staging_account_id: Optional[str] = setting(
        None,
        doc="the AWS account (12 digits) the staging stage deploys into, after running the target-account baseline "
        "there; empty: this account",
        parameter="StagingAccountId",
        check=_check_account,
    )
    prod_account_id: Optional[str] = setting(
        None,
        doc="the AWS account (12 digits) the prod stage deploys into, after running the target-account baseline "
        "there; empty: this account",
        parameter="ProdAccountId",
        check=_check_account,
    )
    staging_region: Optional[str] = setting(
        None,
        doc="the region of the staging stage; empty: this region (the only one supported so far: CodePipeline needs "
        "an artifact bucket in each region it deploys to)",
        parameter="StagingRegion",
        check=_check_region,
    )
    prod_region: Optional[str] = setting(
        None,
        doc="the region of the prod stage; empty: this region (the only one supported so far)",
        parameter="ProdRegion",
        check=_check_region,
    )


def stages_with_targets(stack: Stack, settings: DeployTargetSettings, stages: tuple[DeployStage, ...]) -> tuple[DeployStage, ...]:
    """``stages`` with the target settings applied to the stages named ``staging`` and ``prod``.

    A setting not given becomes its CloudFormation parameter (empty by default: this account,
    this region), unless the stage says where it goes itself (``DeployStage.account``/``region``).
    A setting given for a stage the template does not have, or contradicting the stage's own
    value, is refused; so is the stack's own (resolved) account given as a target.
    """
    by_name = {stage.name: stage for stage in stages}
    changes: dict[str, dict[str, Any]] = {}
    for name, (stage_name, field, parameter, description) in TARGET_SETTINGS.items():
        value = getattr(settings, name)
        stage = by_name.get(stage_name)
        if stage is None:
            if value:
                raise invalid(name, value, f"'' (empty) or no value: this template has no stage named {stage_name!r}")
            continue
        own = getattr(stage, field)
        if value is None:
            if own is not None:
                continue  # the stage's own account or region
            pattern = ACCOUNT_ID if field == "account" else REGION
            value = CfnParameter(
                stack,
                parameter,
                type="String",
                default="",
                allowed_pattern=f"^$|^{pattern}$",
                constraint_description="must be empty or " + ("12 digits" if field == "account" else "a region name such as eu-west-1"),
                description=f"{description} (empty: this {'account' if field == 'account' else 'region'})",
            ).value_as_string
        elif own is not None and own != value:
            raise invalid(name, value, f"the {stage_name} stage's own {field} {own!r}, or no value")
        if field == "account" and value and not Token.is_unresolved(value) and not Token.is_unresolved(stack.account):
            if value == stack.account:
                raise invalid(name, value, f"another account than this stack's ({stack.account}), or '' (empty) for this account")
        changes.setdefault(stage_name, {})[field] = value
    return tuple(dataclasses.replace(stage, **changes[stage.name]) if stage.name in changes else stage for stage in stages)


def target_setting_names(stages: tuple[DeployStage, ...]) -> dict[str, tuple[str, str]]:
    """Per stage name, the settings its account and region come from: a target setting
    (``prod_account_id``) where :func:`stages_with_targets` applies one (the stage names no
    account or region of its own), else the stage's own field (``stage 'prod' account``)."""
    names: dict[str, tuple[str, str]] = {}
    for stage in stages:
        found = {field: f"stage {stage.name!r} {field}" for field in ("account", "region")}
        for name, (stage_name, field, _parameter, _description) in TARGET_SETTINGS.items():
            if stage_name == stage.name and getattr(stage, field) is None:
                found[field] = name
        names[stage.name] = (found["account"], found["region"])
    return names


@dataclass(frozen=True, kw_only=True)
class ModelDeploySettings(DeployTargetSettings, ProjectSettings):
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
        stages=stages_with_targets(stack, settings, settings.stages),
        approval_topic=settings.approval_topic,
        compute_type=settings.compute_type,
        model_artifact_bucket_name=model_artifact_bucket_name,
        model_artifact_key_arn=model_artifact_key_arn,
        target_setting_names=target_setting_names(settings.stages),
        # build.py passes the subnets and security groups to the stage templates in this account;
        # it does not read the isolation flag (the stage models stay isolated).
        build_variables={k: v for k, v in core.network.environment().items() if k != ISOLATION_VARIABLE},
    )
    teardown = StageTeardown(stack, "StageTeardown", pipeline=pipeline, encryption_key=core.artifacts.encryption_key)
    after_seeding(pipeline.pipeline, repository)
    CfnOutput(stack, "ModelDeployRepositoryName", value=repository.source.description)
    CfnOutput(stack, "ModelDeployPipelineName", value=pipeline.pipeline.pipeline_name)
    return ModelDeployParts(repository, pipeline, teardown)
