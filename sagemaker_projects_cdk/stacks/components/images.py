"""The image half of the image-build template: per image type, an ECR repository, a SageMaker
image, a repository seeded with a Dockerfile and the pipeline that builds it; and the rule that
starts the model build when a new image version is created.

Which image types a project builds is a synth-time setting, not a CloudFormation parameter:
each type is eight resources and more (repository, image and its role, code repository,
pipeline, build project, roles, rules), and a parameter would put a condition on every one of
them. A Studio product is published per choice of types (the default: all three).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union, cast

from aws_cdk import CfnCondition, CfnOutput, CfnParameter, CfnResource, Fn, Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam

from ..._internal.codebuild import default_policy
from ..._internal.resource_policy import ConditionalStatements
from ..._internal.validation import Problems, check_whole, invalid
from ...compliance import acknowledge_wildcards
from ...constructs.build.pipeline import ModelBuildPipeline
from ...constructs.deploy.pipeline import ModelDeployPipeline
from ...constructs.images import (
    IMAGE_TYPES,
    ImageBuildPipeline,
    ImageRepository,
    ImageVersionRule,
    SageMakerImage,
    check_image_types,
    image_resource_name,
)
from ...constructs.images.pipeline import REBUILD_DAYS_RANGE
from ...constructs.images.repository import CROSS_ACCOUNT_PULL_SID, MAX_IMAGE_COUNT_RANGE, PULL_ACTIONS
from ...constructs.project.identity import ProjectIdentity
from ...constructs.sources.seeded_repository import SeededRepository, seed_code_path
from ..template import setting
from .core import ProjectCore, ProjectSettings


def _check_whole(low: int, high: int) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        problems = Problems()
        check_whole(problems, name, value, low, high)
        problems.raise_if_any()

    return check


@dataclass(frozen=True, kw_only=True)
class ImageSettings(ProjectSettings):
    """Settings of the image half."""

    image_types: tuple[str, ...] = setting(
        IMAGE_TYPES,
        doc="the custom images the project builds, any of `processing`, `training`, `inference` (none: build-deploy "
        "with nothing more); chosen at synth, not a parameter: each type is a dozen resources, and a parameter "
        "would put a condition on every one",
        check=check_image_types,
    )
    image_rebuild_days: Optional[int] = setting(
        None,
        doc="rebuild every image from its branch's newest commit every this many days (1-365), on the newest patch "
        "of AWS's base image; the parameter's default is 30",
        parameter="ImageRebuildDays",
        check=_check_whole(*REBUILD_DAYS_RANGE),
    )
    images_kept: int = setting(
        100,
        doc="how many images each ECR repository keeps (1-10000); older ones expire, and a model version that still "
        "names one can no longer be deployed",
        check=_check_whole(*MAX_IMAGE_COUNT_RANGE),
    )
    empty_on_delete: bool = setting(
        False,
        doc="delete the ECR repositories, images included, with the project; by default they are retained with "
        "their images",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.empty_on_delete, bool):
            raise invalid("empty_on_delete", self.empty_on_delete, "True or False")
        object.__setattr__(self, "image_types", check_image_types("image_types", self.image_types))
        if self.source is not None and self.image_types:
            raise invalid(
                "source",
                type(self.source).__name__,
                "None when the project builds images (their Dockerfiles live in CodeCommit repositories the "
                "project creates; ConnectionSource names no image repository), or image_types=()",
            )


@dataclass(frozen=True)
class ImageTypeParts:
    """What :func:`add_images` built for one image type."""

    image_type: str
    repository: ImageRepository
    image: SageMakerImage
    #: The CodeCommit repository seeded with the type's Dockerfile.
    code: SeededRepository
    pipeline: ImageBuildPipeline


@dataclass(frozen=True)
class ImageParts:
    """What :func:`add_images` built: per image type, in ``IMAGE_TYPES`` order."""

    types: dict[str, ImageTypeParts] = field(default_factory=dict)
    #: Starts the model build when a version of one of the images is created (None without images).
    rule: Optional[ImageVersionRule] = None

    @property
    def pipelines(self) -> list[ImageBuildPipeline]:
        return [parts.pipeline for parts in self.types.values()]


#: The construct id prefix of each image type's resources.
def _prefix(image_type: str) -> str:
    return image_type.capitalize() + "Image"


def add_images(
    stack: Stack,
    core: ProjectCore,
    settings: ImageSettings,
    *,
    model_build_pipeline: Optional[codepipeline.IPipeline] = None,
    pull_account_ids: Sequence[str] = (),
) -> ImageParts:
    """For each of ``settings.image_types``: the ECR repository, the SageMaker image, the
    CodeCommit repository seeded from ``seed_code/image_build/<type>/`` and the pipeline that
    builds it on every push and every ``image_rebuild_days``; then the rule that starts
    ``model_build_pipeline`` on every new image version.

    :param model_build_pipeline: what a new image version starts. Default: nothing.
    :param pull_account_ids: other accounts that may pull the images (resolved ids or tokens).
    """
    if not settings.image_types:
        return ImageParts()
    rebuild_days: Optional[Union[int, float]] = settings.image_rebuild_days
    if rebuild_days is None:
        low, high = REBUILD_DAYS_RANGE
        rebuild_days = CfnParameter(
            stack,
            "ImageRebuildDays",
            type="Number",
            default=30,
            min_value=low,
            max_value=high,
            description="Rebuild each custom image every this many days, on the newest patch of AWS's base image",
        ).value_as_number
    project = core.project
    key = core.artifacts.encryption_key
    built: dict[str, ImageTypeParts] = {}
    for image_type in settings.image_types:
        prefix = _prefix(image_type)
        repository = ImageRepository(
            stack,
            f"{prefix}Repository",
            project=project,
            image_type=image_type,
            encryption_key=key,
            max_image_count=settings.images_kept,
            empty_on_delete=settings.empty_on_delete,
        )
        if pull_account_ids:
            repository.grant_pull_to_accounts(pull_account_ids)
        image = SageMakerImage(stack, prefix, project=project, repository=repository)
        code_name = project.resource_name(f"{image_type}-image")
        code = SeededRepository(
            stack,
            f"{prefix}Code",
            repository_name=code_name,
            description=f"Dockerfile of the SageMaker project's {image_type} image",
            seed_directory=seed_code_path(f"image_build/{image_type}"),
            branch=settings.branch,
            encryption_key=key,
        )
        core.retained_check.add_repository(code.repository, code_name)
        pipeline = ImageBuildPipeline(
            stack,
            f"{prefix}Build",
            project=project,
            source=code.source,
            repository=repository,
            image=image,
            bucket=core.artifacts.bucket,
            encryption_key=key,
            rebuild_every_days=rebuild_days,
            compute_type=settings.compute_type,
        )
        built[image_type] = ImageTypeParts(image_type, repository, image, code, pipeline)
        CfnOutput(stack, f"{prefix}RepositoryUri", value=repository.repository_uri)
        CfnOutput(stack, f"{prefix}Name", value=image.image_name)
    rule = ImageVersionRule(
        stack,
        "NewImageVersion",
        images=[parts.image for parts in built.values()],
        description="Starts the model build when a new version of one of the project's images is created",
        targets=[targets.CodePipeline(model_build_pipeline)] if model_build_pipeline is not None else [],
    )
    return ImageParts(built, rule)


#: The image types the model build runs from the project's images: all of them. Its processing
#: jobs, its training job, and its models (registered, and the one the batch transform and
#: Clarify serve) run the newest version of the processing, training and inference image.
MODEL_BUILD_IMAGE_TYPES = IMAGE_TYPES
#: The model build's variable that names them (``pipelines/run_pipeline.py`` reads it).
MODEL_BUILD_IMAGES_VARIABLE = "SAGEMAKER_IMAGE_NAMES"


def model_build_image_environment(project: ProjectIdentity, image_types: Sequence[str]) -> dict[str, str]:
    """The model build's environment naming the project's images it runs:
    ``SAGEMAKER_IMAGE_NAMES=processing=<image name>,training=<image name>,inference=<image name>``
    for those of :data:`MODEL_BUILD_IMAGE_TYPES` the project builds; empty when it builds none."""
    names = [f"{t}={image_resource_name(project, t)}" for t in MODEL_BUILD_IMAGE_TYPES if t in image_types]
    return {MODEL_BUILD_IMAGES_VARIABLE: ",".join(names)} if names else {}


def grant_model_build_images(images: ImageParts, model_build: ModelBuildPipeline) -> None:
    """Let the model build use the images :func:`model_build_image_environment` names: its
    CodeBuild role reads their versions (``run_pipeline`` picks the newest created one), and
    the SageMaker execution role pulls them (the processing and training jobs run them, and the
    models it creates and registers run the inference image; it already has
    ``ecr:GetAuthorizationToken``). The deployment stages pull the inference image too: the
    own-account stage's model role through the stage template's ``ModelImageRepositoryName``
    (filled by the deploy build), other accounts' through :func:`grant_pull_to_stage_accounts`."""
    for image_type in MODEL_BUILD_IMAGE_TYPES:
        parts = images.types.get(image_type)
        if parts is None:
            continue
        parts.image.grant_read_versions(model_build.build_project)
        model_build.execution_role.policy.add_statements(
            iam.PolicyStatement(actions=list(PULL_ACTIONS), resources=[parts.repository.repository_arn])
        )
    versions = [images.types[t].image.image_versions_arn for t in MODEL_BUILD_IMAGE_TYPES if t in images.types]
    if versions:
        acknowledge_wildcards(
            default_policy(model_build.build_project),
            "image versions get their numbers when the image build creates them; run_pipeline describes "
            "the newest of this project's images only",
            *versions,
        )


def grant_pull_to_stage_accounts(images: ImageParts, deploy: ModelDeployPipeline) -> Optional[ConditionalStatements]:
    """Let the ``endpoint`` role of the target-account baseline in each stage account other than
    this one pull every image (the endpoints there run the registered model's inference image;
    models registered with the processing or training image are not deployed, but a registered
    model may name any of the project's images, so all are shared).

    One repository policy statement per stage and repository: the stage's account as principal,
    ``aws:PrincipalArn`` naming its ``endpoint`` role (an account principal: a role principal
    must exist when the policy is set). When the account is a parameter, the statement exists
    only under the stage's ``<Stage>InOtherAccount`` condition, and the policy only when one of
    them holds. The endpoint role's own policy allows the pull of any of the tooling account's
    repositories; ECR decrypts with its own grant on the project key (pullers need no KMS).
    The written policy replaces aws-cdk-lib's (``add_to_resource_policy``, ``grant_pull_to_accounts``):
    use one or the other. Returns the statements of the last repository (None when no stage may be elsewhere).
    """
    others = [deploy.targets[stage.name] for stage in deploy.stages if deploy.targets[stage.name].may_be_other_account]
    if not others or not images.types:
        return None
    conditions = [t.condition for t in others]
    document_condition: Optional[CfnCondition] = None
    if all(c is not None for c in conditions):
        unique = list({c.logical_id: c for c in conditions if c is not None}.values())
        existing = deploy.node.try_find_child("AnyStageInOtherAccount")  # the deploy pipeline's own, when it made one
        if len(unique) == 1:
            document_condition = unique[0]
        elif isinstance(existing, CfnCondition):
            document_condition = existing
        else:
            document_condition = CfnCondition(
                Stack.of(deploy), "AnyStageInOtherAccount", expression=Fn.condition_or(*cast(list[Any], unique))
            )
    grants: Optional[ConditionalStatements] = None
    for parts in images.types.values():
        resource = cast(ecr.CfnRepository, parts.repository.repository.node.default_child)
        grants = ConditionalStatements(cast(CfnResource, resource), "RepositoryPolicyText", None, document_condition=document_condition)
        for target in others:
            grants.add(
                iam.PolicyStatement(
                    sid=f"{CROSS_ACCOUNT_PULL_SID}{target.stage.title}",
                    principals=[iam.AccountPrincipal(target.account)],
                    actions=list(PULL_ACTIONS),
                    conditions={"ArnEquals": {"aws:PrincipalArn": [target.role_arn(deploy, "endpoint")]}},
                ),
                target.condition,
            )
    return grants
