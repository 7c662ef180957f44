"""The project core every template is built around: identity, bucket and key, model package group.

Components (the model-build half, the model-deploy half, and those still to come) each take
one :class:`ProjectCore` and the template's settings, and return their parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from aws_cdk import CfnOutput, Stack
from constructs import IConstruct

from ..._internal.codebuild import COMPUTE_TYPES
from ..._internal.validation import check_account_id, check_choice, invalid
from ...constructs.network import PARAMETERS as NETWORK_PARAMETERS
from ...constructs.network import PrivateNetwork
from ...constructs.project.identity import ProjectIdentity, check_project_id, check_project_name
from ...constructs.project.precheck import RetainedResourceCheck
from ...constructs.project.storage import ArtifactBucket
from ...constructs.registry.model_package_group import IModelPackageGroup, ModelPackageGroup
from ...constructs.sources.connection_repository import ConnectionRepository, RepositorySeeder
from ...constructs.sources.seeded_repository import SeededRepository, seed_code_path
from ...constructs.sources.source import ConnectionSource, check_branch
from ..template import TemplateSettings, setting
from .operations import OperationsSettings


def _check_accounts(name: str, accounts: tuple[str, ...]) -> None:
    if isinstance(accounts, str):
        raise invalid(name, accounts, "a tuple of 12-digit AWS account ids, e.g. ('111122223333',)")
    for account in accounts:
        check_account_id(name, account)


def _check_network(name: str, value: Any) -> None:
    if not isinstance(value, PrivateNetwork):
        raise invalid(name, value, "a PrivateNetwork(vpc_id=..., subnet_ids=(...), security_group_ids=(...)) or None")


def _check_source(name: str, value: Any) -> None:
    if not isinstance(value, ConnectionSource):
        raise invalid(name, value, "a ConnectionSource(connection_arn=..., model_build=GitRepository(...), ...) or None")


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
    source: Optional[ConnectionSource] = setting(
        None,
        doc="where the repositories are. None: CodeCommit repositories the project creates, seeded on `branch`; "
        "a `ConnectionSource` (connection ARN, and per repository a `GitRepository`: full name `owner/repo` and "
        "branch): existing GitHub, GitLab or Bitbucket repositories reached through an AWS CodeConnections "
        "connection tagged `sagemaker=true`, seeded through it, and no CodeCommit repository",
        check=lambda name, value: _check_source(name, value),
    )
    compute_type: str = setting(
        "BUILD_GENERAL1_SMALL",
        doc="CodeBuild compute type of every build",
        check=lambda name, value: check_choice(name, value, COMPUTE_TYPES),
    )
    private_network: Optional[PrivateNetwork] = setting(
        None,
        doc="the VPC, subnets and security groups every CodeBuild project, SageMaker pipeline job, model, batch "
        "transform and monitoring job runs in (models and training with network isolation); subnets and security "
        "groups are given together. The parameters left empty (their default): no private network. The VPC "
        "endpoints it needs: docs/guide/networking.md",
        parameter=NETWORK_PARAMETERS,
        check=_check_network,
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
    #: Where every job, model and build runs: the setting, or the template's parameters (empty: off).
    network: PrivateNetwork


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
    network = settings.private_network or PrivateNetwork.from_parameters(stack)
    return ProjectCore(project, artifacts, group, retained_check, network)


def apply_private_network(stack: Stack, core: ProjectCore) -> None:
    """Put every CodeBuild project of ``stack`` in the project's private network (under its
    condition) and let every SageMaker execution role create its jobs' network interfaces."""
    from aws_cdk import aws_codebuild as codebuild

    from ...constructs.build.execution_role import SageMakerExecutionRole

    for construct in stack.node.find_all():
        if isinstance(construct, codebuild.Project):
            core.network.apply_to_codebuild(construct)
        elif isinstance(construct, SageMakerExecutionRole):
            core.network.grant_sagemaker(construct, construct.role)


#: A project's repository: a CodeCommit repository it created, or an existing one on a Git host.
ProjectRepository = Union[SeededRepository, ConnectionRepository]

#: SageMaker's names for the parts of a project's repositories (``sagemaker-<id>-modelbuild``).
_SAGEMAKER_PARTS = {"model_build": "modelbuild", "model_deploy": "modeldeploy", "model_monitor": "modelmonitor"}


def add_seeded_repository(
    stack: Stack, core: ProjectCore, settings: ProjectSettings, *, seed: str, construct_id: str, description: str
) -> ProjectRepository:
    """The repository of the library's ``seed`` folder (``model_build``, ``model_deploy``).

    With no ``source`` setting: a CodeCommit repository ``sagemaker-<name>-<id>-<seed without
    '_'>`` seeded on the settings' branch, encrypted with the project key; created after the
    check that no retained repository has its name. With a ``ConnectionSource``: the existing
    repository it names for ``seed``, associated with the project, and seeded through the
    connection when ``seed`` is on.
    """
    if settings.source is not None:
        return add_connection_repository(stack, core, settings.source, seed=seed, construct_id=construct_id, compute_type=settings.compute_type)
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


def add_connection_repository(
    stack: Stack,
    core: ProjectCore,
    source: ConnectionSource,
    *,
    seed: str,
    construct_id: str,
    compute_type: str,
    overlay: Optional[str] = None,
) -> ConnectionRepository:
    """``source``'s repository of ``seed`` (the stack's one ``RepositorySeeder`` pushes the seed
    folder into it when ``source.seed``, with the files of the seed folder ``overlay`` on top,
    e.g. ``jenkins/model_build``)."""
    seeder = None
    if source.seed:
        found = stack.node.try_find_child("RepositorySeeder")
        seeder = found if isinstance(found, RepositorySeeder) else RepositorySeeder(
            stack,
            "RepositorySeeder",
            connection_arn=source.connection_arn,
            encryption_key=core.artifacts.encryption_key,
            compute_type=compute_type,
        )
    return ConnectionRepository(
        stack,
        construct_id,
        project=core.project,
        connection_arn=source.connection_arn,
        repository=source.repository(seed),
        part=_SAGEMAKER_PARTS[seed],
        host_url=source.host_url,
        seeder=seeder,
        seed_directory=seed_code_path(seed) if seeder is not None else None,
        seed_overlay=seed_code_path(overlay) if seeder is not None and overlay is not None else None,
    )


def after_seeding(pipeline: IConstruct, repository: ProjectRepository) -> None:
    """Create ``pipeline`` once ``repository`` is seeded (its first run then finds the seed)."""
    if isinstance(repository, ConnectionRepository) and repository.seeding is not None:
        pipeline.node.add_dependency(repository.seeding)


def add_core_outputs(stack: Stack, core: ProjectCore) -> None:
    """The core's outputs (added last): the bucket, and the group when the project created it."""
    CfnOutput(stack, "ArtifactBucketName", value=core.artifacts.bucket.bucket_name)
    if isinstance(core.model_package_group, ModelPackageGroup):
        CfnOutput(stack, "ModelPackageGroupName", value=core.model_package_group.model_package_group_name)
