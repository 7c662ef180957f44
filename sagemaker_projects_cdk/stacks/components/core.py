"""The project core every template is built around: identity, bucket and key, model package group.

Components (the model-build half, the model-deploy half, and those still to come) each take
one :class:`ProjectCore` and the template's settings, and return their parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from aws_cdk import CfnOutput, Stack

from ..._internal.codebuild import COMPUTE_TYPES
from ..._internal.validation import check_account_id, check_choice, invalid
from ...constructs.project.identity import ProjectIdentity, check_project_id, check_project_name
from ...constructs.project.precheck import RetainedResourceCheck
from ...constructs.project.storage import ArtifactBucket
from ...constructs.registry.model_package_group import IModelPackageGroup, ModelPackageGroup
from ...constructs.sources.seeded_repository import SeededRepository, seed_code_path
from ...constructs.sources.source import check_branch
from ..template import TemplateSettings, setting
from .operations import OperationsSettings


def _check_accounts(name: str, accounts: tuple[str, ...]) -> None:
    if isinstance(accounts, str):
        raise invalid(name, accounts, "a tuple of 12-digit AWS account ids, e.g. ('111122223333',)")
    for account in accounts:
        check_account_id(name, account)


@dataclass(frozen=True, kw_only=True)
class _IdentitySettings(TemplateSettings):
    """The project's name and id, branch and build compute (declared first in every template)."""

    project_name: Optional[str] = setting(
        None,
        doc="the SageMaker project name (1-32 letters, digits, inner hyphens); names every resource",
        parameter="SageMakerProjectName",
        check=lambda name, value: check_project_name(name, value),
    )
    project_id: Optional[str] = setting(
        None,
        doc="the SageMaker project id (1-20 lower-case letters, digits, inner hyphens; the parameter takes 14, as Studio generates them); scopes names, tags and IAM",
        parameter="SageMakerProjectId",
        check=lambda name, value: check_project_id(name, value),
    )
    branch: str = setting(
        "main",
        doc="the branch every repository is seeded on and every pipeline follows",
        check=lambda _name, value: check_branch(value),
    )
    compute_type: str = setting(
        "BUILD_GENERAL1_SMALL",
        doc="CodeBuild compute type of every build",
        check=lambda name, value: check_choice(name, value, COMPUTE_TYPES),
    )


@dataclass(frozen=True, kw_only=True)
class ProjectSettings(OperationsSettings, _IdentitySettings):
    """Settings every template has: the project's, then its notifications' (``OperationsSettings``)."""


@dataclass(frozen=True, kw_only=True)
class RegistrySettings(ProjectSettings):
    """Settings of a template that creates its model package group."""

    model_read_account_ids: tuple[str, ...] = setting(
        (),
        doc="AWS accounts (12 digits) that may describe and list the registered model versions; none: this account only",
        check=_check_accounts,
    )


@dataclass(frozen=True)
class ProjectCore:
    """What every component of a template shares."""

    #: The project's name and id, tags and ARN patterns.
    project: ProjectIdentity
    #: The artifact bucket and its KMS key.
    artifacts: ArtifactBucket
    #: The model package group: created by this project, or another project's.
    model_package_group: IModelPackageGroup
    #: Fails the deployment first when a retained resource has a name the project needs.
    retained_check: RetainedResourceCheck


def add_core(
    stack: Stack,
    settings: ProjectSettings,
    *,
    model_package_group: Optional[Callable[[ProjectIdentity], IModelPackageGroup]] = None,
) -> ProjectCore:
    """Add the project's identity, its artifact bucket and its model package group to ``stack``.

    :param model_package_group: makes the group the project uses (e.g. imports another
        project's). Default: a new group named ``<name>-<id>`` (``RegistrySettings``).
    """
    if model_package_group is None and not isinstance(settings, RegistrySettings):
        raise TypeError("add_core: a template that creates its model package group has RegistrySettings")
    project = ProjectIdentity(stack, "Project", project_name=settings.project_name, project_id=settings.project_id)
    artifacts = ArtifactBucket(stack, "Artifacts")
    retained_check = RetainedResourceCheck(stack, "RetainedResourceCheck", encryption_key=artifacts.encryption_key)
    group = (
        model_package_group(project)
        if model_package_group is not None
        else ModelPackageGroup(
            stack,
            "ModelPackageGroup",
            model_package_group_name=project.name_id,
            description="Models registered by the project's model-building pipeline",
            read_access_account_ids=settings.model_read_account_ids if isinstance(settings, RegistrySettings) else (),
        )
    )
    if isinstance(group, ModelPackageGroup):
        retained_check.add_model_package_group(
            group, project.name_id, resource_arns=project.sagemaker_arn("model-package-group")
        )
    return ProjectCore(project, artifacts, group, retained_check)


def add_seeded_repository(
    stack: Stack, core: ProjectCore, settings: ProjectSettings, *, seed: str, construct_id: str, description: str
) -> SeededRepository:
    """A repository ``sagemaker-<name>-<id>-<seed without '_'>`` seeded with the library's
    ``seed`` folder on the settings' branch, encrypted with the project key; created after the
    check that no retained repository has its name."""
    name = core.project.resource_name(seed.replace("_", ""))
    repository = SeededRepository(
        stack,
        construct_id,
        repository_name=name,
        description=description,
        seed_directory=seed_code_path(seed),
        branch=settings.branch,
        encryption_key=core.artifacts.encryption_key,
    )
    core.retained_check.add_repository(repository.repository, name)
    return repository


def add_core_outputs(stack: Stack, core: ProjectCore) -> None:
    """The core's outputs (added last): the bucket, and the group when the project created it."""
    CfnOutput(stack, "ArtifactBucketName", value=core.artifacts.bucket.bucket_name)
    if isinstance(core.model_package_group, ModelPackageGroup):
        CfnOutput(stack, "ModelPackageGroupName", value=core.model_package_group.model_package_group_name)
