"""The "image building, model building, and model deployment" template: build-deploy, and for
each selected image type (processing, training, inference) an ECR repository, a SageMaker
image, a CodeCommit repository seeded with a Dockerfile and the pipeline that builds it on
every push and on a schedule; a new image version starts the model build, whose approved
models deploy as in build-deploy."""

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
from .components.images import (
    ImageSettings,
    add_images,
    grant_model_build_images,
    grant_pull_to_stage_accounts,
    model_build_image_environment,
)
from .template import Template, TemplateStack


@dataclass(frozen=True, kw_only=True)
class ImageBuildDeploySettings(ImageSettings, ModelDeploySettings, ModelBuildSettings):
    """Settings of the image-build-deploy template: build-deploy's, then the images'."""


def _compose(stack: Stack, settings: ImageBuildDeploySettings) -> TemplateParts:
    core = add_core(stack, settings)
    model_build = add_model_build(
        stack, core, settings, environment=model_build_image_environment(core.project, settings.image_types)
    )
    model_deploy = add_model_deploy(stack, core, settings)
    images = add_images(stack, core, settings, model_build_pipeline=model_build.pipeline.pipeline)
    grant_model_build_images(images, model_build.pipeline)
    grant_pull_to_stage_accounts(images, model_deploy.pipeline)
    add_core_outputs(stack, core)
    parts = TemplateParts.of(core, model_build=model_build, model_deploy=model_deploy, images=images)
    return add_operations(stack, core, settings, parts)


IMAGE_BUILD_DEPLOY = Template(
    template_id="image-build-deploy",
    # SageMaker's own title: 71 characters, within Service Catalog's 100 for a product name.
    title="MLOps template for image building, model building, and model deployment",
    description="SageMaker project: image building, model building and model deployment (sagemaker-projects-cdk)",
    summary="build-deploy, and per custom image (processing, training, inference: any of them) an ECR repository, "
    "a SageMaker image, a CodeCommit repository seeded with a Dockerfile and a pipeline that builds it on every "
    "push and every N days; a new image version starts the model build, whose processing and training jobs and "
    "registered model run the newest version of the project's processing, training and inference images, and "
    "the deploy stages (in other accounts too) pull the inference image",
    settings=ImageBuildDeploySettings,
    compose=_compose,
)


class ImageBuildDeployStack(TemplateStack):
    """Model building, training and deployment (see ``BuildDeployStack``), and the project's own
    SageMaker images: for each of ``image_types``, an ECR repository, a SageMaker image, a
    CodeCommit repository seeded with a Dockerfile starting from AWS's XGBoost image, and a
    pipeline that builds, pushes and records a new image version on every push and every
    ``image_rebuild_days``. A new image version starts the model build, whose processing and
    training jobs and models (registered, batch transform, Clarify) run the newest created
    version of the project's processing, training and inference images (AWS's until one
    exists); the deployment stages pull the inference image: the own-account stage's model
    role through the stage template's ``ModelImageRepositoryName``, the other accounts'
    ``endpoint`` roles through the repositories' policies.

    Settings: ``ImageBuildDeploySettings``; any other keyword is an ``aws_cdk.Stack`` property.
    """

    TEMPLATE = IMAGE_BUILD_DEPLOY
