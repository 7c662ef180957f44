"""The "model building and training" template (SageMaker's MLOps template for model building and training)."""

from __future__ import annotations

from aws_cdk import Stack

from .components import ModelBuildSettings, TemplateParts, add_core, add_core_outputs, add_model_build, add_operations
from .template import Template, TemplateStack


def _compose(stack: Stack, settings: ModelBuildSettings) -> TemplateParts:
    core = add_core(stack, settings)
    model_build = add_model_build(stack, core, settings)
    add_core_outputs(stack, core)
    return add_operations(stack, core, settings, TemplateParts.of(core, model_build=model_build))


MODEL_BUILD = Template(
    template_id="model-build",
    title="MLOps template for model building and training",
    description="SageMaker project: model building and training (sagemaker-projects-cdk)",
    summary="CodeCommit repository seeded with an abalone SageMaker Pipeline, a CodePipeline (V2) that upserts and "
    "runs it on every push, the model package group, the encrypted artifact bucket with the data set",
    settings=ModelBuildSettings,
    compose=_compose,
)


class ModelBuildStack(TemplateStack):
    """A CodeCommit repository seeded with the abalone SageMaker pipeline, a CodePipeline that
    runs it on every push, the model package group it registers into, and the project's
    encrypted artifact bucket with the data set.

    Settings: ``ModelBuildSettings`` (as keyword arguments, or ``settings=``); any other
    keyword is an ``aws_cdk.Stack`` property (``env``, ``description``, ``synthesizer``...).
    """

    TEMPLATE = MODEL_BUILD
