"""Custom SageMaker images: what the image-build template ("MLOps template for image building,
model building, and model deployment") adds to build-deploy for each image type it builds.

For each selected type (``processing``, ``training``, ``inference``), the template composes:

- :class:`ImageRepository`: the ECR repository of the type's builds (scanned, immutable tags,
  KMS with the project key, last N images kept, retained or emptied on delete);
  ``grant_pull_to_accounts`` lets the staging and production accounts pull;
- :class:`SageMakerImage`: the SageMaker image whose versions name those builds by digest, with
  a role that SageMaker alone may assume;
- a repository seeded from ``seed_code/image_build/<type>/`` (Dockerfile from AWS's matching
  SageMaker image, see :mod:`.base_images`, a requirements file, ``buildspec.yml`` and
  ``record_image_version.py``);
- :class:`ImageBuildPipeline`: on every push and every N days, build, tag
  ``<commit id>-<build number>``, push, and create a SageMaker image version with the digest.

The chain, image -> model build -> deploy:

1. an :class:`ImageVersionRule` on "SageMaker Image Version State Change" (``CREATED``, matched
   in any case) for the project's images starts the model-build pipeline;
2. the model build's ``SAGEMAKER_IMAGE_NAMES`` names the project's images; its seed
   (``run_pipeline``) reads the newest created version of each
   (``SageMakerImage.grant_read_versions`` on its role) and runs the processing and training
   jobs, and the models it creates (batch transform, Clarify) and registers, with it, through
   the pipeline's ``ProcessingImageUri``, ``TrainingImageUri`` and ``InferenceImageUri``
   parameters; a type without a version, or not built, runs AWS's image. The SageMaker
   execution role pulls those repositories;
3. an approved model version deploys as in build-deploy: the deploy build names the inference
   image's repository in the own-account stage's ``ModelImageRepositoryName`` (its model role
   then pulls it), and endpoints in the staging and production accounts pull it from the
   tooling account's repository (``ImageRepository.grant_pull_to_accounts``, or the template's
   per-stage grant naming each target account's ``endpoint`` role).

Resources are named ``sagemaker-<project id>-<type>`` (see :mod:`.naming`).
"""

from .base_images import BASE_IMAGES, IMAGE_TYPES, REGISTRY_ACCOUNTS, BaseImage, base_image
from .events import ImageVersionRule, image_version_state_change_pattern
from .image import SageMakerImage
from .naming import check_image_type, check_image_types, image_resource_name
from .pipeline import ImageBuildPipeline, base_image_account
from .repository import ImageRepository

__all__ = [
    "BASE_IMAGES",
    "IMAGE_TYPES",
    "REGISTRY_ACCOUNTS",
    "BaseImage",
    "ImageBuildPipeline",
    "ImageRepository",
    "ImageVersionRule",
    "SageMakerImage",
    "base_image",
    "base_image_account",
    "check_image_type",
    "check_image_types",
    "image_resource_name",
    "image_version_state_change_pattern",
]
