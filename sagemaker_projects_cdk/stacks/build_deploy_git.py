"""The "model building, training and deployment with third-party Git repositories" template:
build-deploy's pipelines, bucket, group and approval trigger, with the code in two existing
GitHub, GitLab or Bitbucket repositories reached through an AWS CodeConnections connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from aws_cdk import CfnParameter, Stack

from .._internal.validation import invalid
from ..constructs.sources.connection import (
    CONNECTION_ARN_PATTERN,
    FULL_NAME_PATTERN,
    HOST_URL_PATTERN,
    check_connection_arn,
    check_full_name,
    check_host_url,
)
from ..constructs.sources.source import (
    BRANCH_ALLOWED_PATTERN,
    BRANCH_EXPECTED,
    ConnectionSource,
    GitRepository,
    check_branch,
)
from .build_deploy import BuildDeploySettings
from .build_deploy import _compose as _compose_build_deploy
from .components import TemplateParts
from .template import Template, TemplateSettings, TemplateStack, setting


@dataclass(frozen=True, kw_only=True)
class GitRepositoriesSettings(TemplateSettings):
    """The connection and the two repositories of a template whose code is on a Git host
    (each a CloudFormation parameter when not given): build-deploy-git's, build-deploy-jenkins's."""

    connection_arn: Optional[str] = setting(
        None,
        doc="the AWS CodeConnections connection to the Git host (completed, and tagged `sagemaker=true`)",
        parameter="CodeConnectionArn",
        check=check_connection_arn,
    )
    model_build_repository: Optional[str] = setting(
        None,
        doc="the model-building repository's full name, `owner/repo` (it must exist)",
        parameter="ModelBuildRepositoryFullName",
        check=check_full_name,
    )
    model_build_branch: Optional[str] = setting(
        None,
        doc="its branch (created when absent); the parameter's default is `branch`",
        parameter="ModelBuildRepositoryBranch",
        check=lambda name, value: check_branch(value, name),
    )
    model_deploy_repository: Optional[str] = setting(
        None,
        doc="the model-deployment repository's full name, `owner/repo` (it must exist)",
        parameter="ModelDeployRepositoryFullName",
        check=check_full_name,
    )
    model_deploy_branch: Optional[str] = setting(
        None,
        doc="its branch (created when absent); the parameter's default is `branch`",
        parameter="ModelDeployRepositoryBranch",
        check=lambda name, value: check_branch(value, name),
    )
    git_host_url: Optional[str] = setting(
        None,
        doc="the Git host's https address, for the repositories' association with the project; the parameter's "
        "default is `https://github.com`",
        parameter="GitHostUrl",
        check=check_host_url,
    )
    seed_repositories: bool = setting(
        True,
        doc="push the seed code into each repository when the project is created (a branch that already holds "
        "code is left alone; a missing branch is created from the default branch)",
    )


def refuse_source(settings: TemplateSettings, template_id: str) -> None:
    """A template with ``GitRepositoriesSettings`` takes no ``source``: a ValueError naming it."""
    source = getattr(settings, "source", None)
    if source is not None:
        raise invalid(
            "source",
            type(source).__name__,
            f"None: {template_id} takes connection_arn, model_build_repository, model_build_branch, "
            "model_deploy_repository and model_deploy_branch (or use build-deploy with source=...)",
        )


@dataclass(frozen=True, kw_only=True)
class BuildDeployGitSettings(GitRepositoriesSettings, BuildDeploySettings):
    """Settings of the build-deploy-git template: build-deploy's, and the connection and
    repositories (each a CloudFormation parameter when not given). ``source`` is not one of
    them: give ``connection_arn`` and the repositories instead."""

    def __post_init__(self) -> None:
        refuse_source(self, "build-deploy-git")
        super().__post_init__()


def _parameter(stack: Stack, name: str, description: str, pattern: str, **options: Any) -> str:
    return CfnParameter(
        stack, name, type="String", description=description, allowed_pattern=f"^{pattern}$", **options
    ).value_as_string


def connection_source(stack: Stack, settings: GitRepositoriesSettings, *, default_branch: str) -> ConnectionSource:
    """The connection and repositories of ``settings``, each a CloudFormation parameter when
    not given (declared before the project's resources: Studio shows parameters in template
    order); ``default_branch`` is the branch parameters' default."""

    def given(value: Optional[str], name: str, description: str, pattern: str, **options: Any) -> str:
        return value if value is not None else _parameter(stack, name, description, pattern, **options)

    connection_arn = given(
        settings.connection_arn,
        "CodeConnectionArn",
        "ARN of the AWS CodeConnections connection to the Git host (completed in the console, tagged sagemaker=true)",
        CONNECTION_ARN_PATTERN,
        constraint_description="arn:aws:codeconnections:<region>:<account>:connection/<id> (or codestar-connections)",
    )
    repositories = {}
    for part, title in (("model_build", "model-building"), ("model_deploy", "model-deployment")):
        prefix = "ModelBuild" if part == "model_build" else "ModelDeploy"
        full_name = given(
            getattr(settings, f"{part}_repository"),
            f"{prefix}RepositoryFullName",
            f"Full name (owner/repo) of the existing {title} repository",
            FULL_NAME_PATTERN,
            constraint_description="owner/repo (GitLab: group/subgroup/repo), without a trailing .git",
        )
        branch = given(
            getattr(settings, f"{part}_branch"),
            f"{prefix}RepositoryBranch",
            f"Branch of the {title} repository that the project seeds and its pipeline follows",
            BRANCH_ALLOWED_PATTERN,
            default=default_branch,
            constraint_description=BRANCH_EXPECTED,
        )
        repositories[part] = GitRepository(full_name=full_name, branch=branch)
    host_url = given(
        settings.git_host_url,
        "GitHostUrl",
        "The Git host's https address (https://github.com, https://gitlab.com, https://bitbucket.org or your own)",
        HOST_URL_PATTERN,
        default="https://github.com",
    )
    return ConnectionSource(
        connection_arn=connection_arn,
        model_build=repositories["model_build"],
        model_deploy=repositories["model_deploy"],
        seed=settings.seed_repositories,
        host_url=host_url,
    )


def _compose(stack: Stack, settings: BuildDeployGitSettings) -> TemplateParts:
    source = connection_source(stack, settings, default_branch=settings.branch)
    build_deploy = BuildDeploySettings(
        **{name: getattr(settings, name) for name in BuildDeploySettings.names() if name != "source"}, source=source
    )
    return _compose_build_deploy(stack, build_deploy)


BUILD_DEPLOY_GIT = Template(
    template_id="build-deploy-git",
    # SageMaker's title ("... with third-party Git repositories using CodePipeline") is 113
    # characters; a Service Catalog product name takes at most 100.
    title="MLOps template for model building, training, and deployment with third-party Git repositories",
    description="SageMaker project: model building, training and deployment with third-party Git repositories "
    "(sagemaker-projects-cdk)",
    summary="build-deploy with the code in two existing GitHub, GitLab or Bitbucket repositories reached through an "
    "AWS CodeConnections connection: seeded through it when the project is created, associated with the project, "
    "no CodeCommit repository",
    settings=BuildDeployGitSettings,
    compose=_compose,
)


class BuildDeployGitStack(TemplateStack):
    """Model building, training and deployment (see ``BuildDeployStack``) from two existing
    repositories on GitHub, GitLab or Bitbucket, reached through an AWS CodeConnections
    connection: each is seeded when the project is created (unless it already holds code) and
    associated with the project (``AWS::SageMaker::CodeRepository``).

    Settings: ``BuildDeployGitSettings``; any other keyword is an ``aws_cdk.Stack`` property.
    """

    TEMPLATE = BUILD_DEPLOY_GIT
