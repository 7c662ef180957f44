"""The "model building, training and deployment" template: both halves sharing bucket, key and group."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack

from .components import (
    ModelBuildSettings,
    ModelDeploySettings,
    TemplateParts,
    add_core,
    add_core_outputs,
    add_model_build,
    add_model_deploy,
    add_operations,
)
from .template import Template, TemplateStack


@dataclass(frozen=True, kw_only=True)
class BuildDeploySettings(ModelDeploySettings, ModelBuildSettings):
    """Settings of the build-deploy template: those of both halves."""


def _compose(stack: Stack, settings: BuildDeploySettings) -> TemplateParts:
    core = add_core(stack, settings)
    model_build = add_model_build(stack, core, settings)
    model_deploy = add_model_deploy(stack, core, settings)
    add_core_outputs(stack, core)
    return add_operations(stack, core, settings, TemplateParts.of(core, model_build=model_build, model_deploy=model_deploy))


BUILD_DEPLOY = Template(
    template_id="build-deploy",
    title="MLOps template for model building, training and deployment",
    description="SageMaker project: model building, training and deployment (sagemaker-projects-cdk)",
    summary="both of the above in one project, sharing the bucket, key and model package group",
    settings=BuildDeploySettings,
    compose=_compose,
)


class BuildDeployStack(TemplateStack):
    """Model building and training (see ``ModelBuildStack``) and model deployment (see
    ``ModelDeployStack``) in one project: one artifact bucket and key, one model package group.

    Settings: ``BuildDeploySettings``; any other keyword is an ``aws_cdk.Stack`` property.
    """

    TEMPLATE = BUILD_DEPLOY
