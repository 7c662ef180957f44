"""The "model deployment" template: deploy the approved models of an existing model package group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from aws_cdk import CfnParameter, Stack

from .._internal.patterns import BUCKET_NAME, KMS_KEY_ARN
from .._internal.validation import check_pattern
from ..constructs.deploy.stages import DEFAULT_STAGES
from ..constructs.project.identity import ProjectIdentity, default_project_id, default_project_name
from ..constructs.registry.model_package_group import (
    GROUP_NAME_PATTERN,
    IModelPackageGroup,
    ModelPackageGroup,
    check_group_name,
)
from .components import ModelDeploySettings, TemplateParts, add_core, add_core_outputs, add_model_deploy, add_operations
from .template import Template, TemplateStack, setting


@dataclass(frozen=True, kw_only=True)
class SourceModelDeploySettings(ModelDeploySettings):
    """Settings of the model-deploy template: the deploy half, and the group it deploys from."""

    model_package_group_name: Optional[str] = setting(
        None,
        doc="the existing model package group whose approved versions are deployed; the parameter's default is "
        "the group the model-build template creates when deployed with its own defaults",
        parameter="SourceModelPackageGroupName",
        check=check_group_name,
    )
    model_artifact_bucket_name: Optional[str] = setting(
        None,
        doc="the bucket holding that group's model artifacts (the registering project's bucket); "
        "empty: this project's bucket",
        parameter="SourceModelArtifactBucketName",
        check=lambda name, value: check_pattern(name, value, f"|{BUCKET_NAME}", "an S3 bucket name or ''"),
    )
    model_artifact_key_arn: Optional[str] = setting(
        None,
        doc="the KMS key ARN encrypting those artifacts; empty: not KMS-encrypted (or this project's key, for "
        "this project's bucket)",
        parameter="SourceModelArtifactKmsKeyArn",
        check=lambda name, value: check_pattern(name, value, f"|{KMS_KEY_ARN}", "a KMS key ARN or ''"),
    )


def _parameter(stack: Stack, name: str, description: str, **constraints: Any) -> str:
    return CfnParameter(stack, name, type="String", description=description, **constraints).value_as_string


def _compose(stack: Stack, settings: SourceModelDeploySettings) -> TemplateParts:
    def source_group(_project: ProjectIdentity) -> IModelPackageGroup:
        name = settings.model_package_group_name
        if name is None:
            name = _parameter(
                stack,
                "SourceModelPackageGroupName",
                "Name of the model package group whose approved versions are deployed",
                min_length=1,
                max_length=63,
                allowed_pattern=GROUP_NAME_PATTERN,
                default=_model_build_default_group(),
            )
        return ModelPackageGroup.from_name(stack, "ModelPackageGroup", name)

    core = add_core(stack, settings, model_package_group=source_group)
    bucket_name = settings.model_artifact_bucket_name
    if bucket_name is None:
        bucket_name = _parameter(
            stack,
            "SourceModelArtifactBucketName",
            "Bucket holding the model artifacts of that group's versions (empty: this project's bucket)",
            allowed_pattern=f"^$|^{BUCKET_NAME}$",
            default="",
        )
    key_arn = settings.model_artifact_key_arn
    if key_arn is None:
        key_arn = _parameter(
            stack,
            "SourceModelArtifactKmsKeyArn",
            "ARN of the KMS key encrypting those artifacts (empty: not KMS-encrypted)",
            allowed_pattern=f"^$|^{KMS_KEY_ARN}$",
            default="",
        )
    model_deploy = add_model_deploy(
        stack, core, settings, model_artifact_bucket_name=bucket_name, model_artifact_key_arn=key_arn
    )
    add_core_outputs(stack, core)
    return add_operations(stack, core, settings, TemplateParts.of(core, model_deploy=model_deploy))


def _model_build_default_group() -> str:
    """The group ``ModelBuildStack`` creates as a top-level ``ModelBuild`` stack with no project given."""
    return f"{default_project_name('ModelBuild')}-{default_project_id('ModelBuild')}"


MODEL_DEPLOY = Template(
    template_id="model-deploy",
    title="MLOps template for model deployment",
    description="SageMaker project: model deployment (sagemaker-projects-cdk)",
    summary="CodeCommit repository seeded with the deploy code, a CodePipeline that deploys the newest approved version "
    "of an existing model package group through its stages (default: " + ", then ".join(map(str, DEFAULT_STAGES)) + "); "
    "EventBridge starts it on every approval or rejection",
    settings=SourceModelDeploySettings,
    compose=_compose,
)


class ModelDeployStack(TemplateStack):
    """A CodeCommit repository seeded with the deploy code and a CodePipeline that deploys the
    newest approved version of a model package group through its stages (``DEFAULT_STAGES``
    unless ``stages`` says otherwise); it starts on every approval or rejection.

    Settings: ``SourceModelDeploySettings``; any other keyword is an ``aws_cdk.Stack`` property.

    The endpoints' model role may read only the model artifact bucket (and decrypt with its
    key, through S3); the build step refuses a model version whose artifacts are elsewhere,
    saying which setting to change. In another account, that bucket's and key's policies must
    allow this project's endpoint roles (IAM path ``/sagemaker-projects/<project id>/``). With
    stages in other accounts (``staging_account_id``, ``prod_account_id``), the source group's
    policy must let those accounts' baseline ``deployer`` roles describe its versions, and the
    source bucket and key must let their ``endpoint`` roles read (the registering project's
    policies: this template cannot change them).
    """

    TEMPLATE = MODEL_DEPLOY
