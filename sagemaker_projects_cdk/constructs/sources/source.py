"""Where a pipeline's code comes from, independent of the Git host.

A pipeline construct takes a :class:`PipelineSource` and asks it for its source action; it
never knows whether the code lives in CodeCommit or in GitHub, GitLab or Bitbucket through
an AWS CodeConnections connection. A new host is a new subclass, not a pipeline change.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from typing import Any, Optional

from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..._internal.validation import check_pattern, invalid, is_unresolved
from .connection import (
    check_connection_arn,
    check_full_name,
    check_git_suffix,
    check_host_url,
    connection_use_statement,
)

#: Git branch names this library accepts: 1-255 letters, digits and ``._/-``, starting with a
#: letter, digit or ``_`` (so no ``@{``, ``~``, ``^``, ``:``, space or leading ``-``), and the
#: rules of ``BRANCH_RULES``: a subset of what ``git check-ref-format --branch`` accepts.
BRANCH_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}"
#: The rest of git's rules, each a lookahead and what it refuses.
BRANCH_RULES: tuple[tuple[str, str], ...] = (
    (r"(?!HEAD$)", "not 'HEAD'"),
    (r"(?!.*\.\.)", "no '..'"),
    (r"(?!.*//)", "no '//'"),
    (r"(?!.*/\.)", "no path component starting with '.'"),
    (r"(?!.*\.lock(/|$))", "no path component ending in '.lock'"),
    (r"(?!.*[/.]$)", "not ending in '/' or '.'"),
)
#: ``BRANCH_PATTERN`` with ``BRANCH_RULES``, for a CloudFormation parameter's ``AllowedPattern``
#: (the same set of names ``check_branch`` accepts).
BRANCH_ALLOWED_PATTERN = "".join(rule for rule, _ in BRANCH_RULES) + BRANCH_PATTERN
BRANCH_EXPECTED = (
    "a Git branch name of 1-255 letters, digits and '._/-' starting with a letter, digit or '_' (no '@{'), "
    + ", ".join(why for _, why in BRANCH_RULES)
)


def check_branch(branch: str, setting: str = "branch") -> str:
    """Check a Git branch name, raising a ``ValueError`` naming ``setting``, the value and the
    rule it breaks; a token is left to the parameter's pattern."""
    if is_unresolved(branch):
        return branch
    check_pattern(setting, branch, BRANCH_PATTERN, BRANCH_EXPECTED)
    for rule, why in BRANCH_RULES:
        if re.match(rule, branch) is None:
            raise invalid(setting, branch, f"{BRANCH_EXPECTED} (breaks: {why})")
    return branch


class PipelineSource(abc.ABC):
    """The source stage of a CodePipeline: a repository and a branch on some Git host."""

    branch: str

    @abc.abstractmethod
    def action(self, *, output: codepipeline.Artifact, action_name: str = "Source") -> codepipeline.IAction:
        """The CodePipeline source action that fetches ``branch`` into ``output``."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """A short human-readable name of the repository (for outputs and docs)."""

    def grant_clone(self, grantee: iam.IGrantable) -> None:
        """Let the build that reads the action's output (``grantee``) fetch it, when the
        output is a reference to clone rather than a zip. Default: nothing to grant."""
        return None


@dataclass(frozen=True, kw_only=True)
class CodeCommitSource(PipelineSource):
    """A CodeCommit repository; pushes to ``branch`` start the pipeline (EventBridge)."""

    repository: codecommit.IRepository
    branch: str = "main"

    def __post_init__(self) -> None:
        check_branch(self.branch)

    def action(self, *, output: codepipeline.Artifact, action_name: str = "Source") -> codepipeline.IAction:
        return actions.CodeCommitSourceAction(
            action_name=action_name,
            repository=self.repository,
            branch=self.branch,
            output=output,
            trigger=actions.CodeCommitTrigger.EVENTS,
        )

    @property
    def description(self) -> str:
        return self.repository.repository_name


@dataclass(frozen=True, kw_only=True)
class CodeConnectionsSource(PipelineSource):
    """A GitHub, GitLab or Bitbucket repository reached through an AWS CodeConnections connection.

    The repository is ``full_name`` (``owner/repo``; may be a token, e.g. a parameter), or
    ``owner`` and ``repo``; ``connection_arn`` is a connection an administrator has
    completed in the console and tagged ``sagemaker=true``.

    :param branch: the branch the pipeline follows; a push to it starts the pipeline.
        Default: ``main``.
    :param full_clone: hand the build a full Git clone (``CODEBUILD_CLONE_REF``) instead of
        a zip of the commit, for builds that read Git history. The build's role then uses the
        connection too (``grant_clone``). Default: false (CodePipeline still gives the build
        the commit id as ``CODEBUILD_RESOLVED_SOURCE_VERSION``).

    The pipeline's source action role may use the connection only when it is tagged
    ``sagemaker=true``, and only for this repository (see :func:`~.connection.connection_use_statement`); aws-cdk-lib's own
    action would grant ``codestar-connections:UseConnection`` with no condition.
    """

    connection_arn: str
    owner: Optional[str] = None
    repo: Optional[str] = None
    full_name: Optional[str] = None
    branch: str = "main"
    full_clone: bool = False

    def __post_init__(self) -> None:
        check_branch(self.branch)
        check_connection_arn("connection_arn", self.connection_arn)
        if self.full_name is not None:
            if self.owner is not None or self.repo is not None:
                raise invalid("owner and repo", (self.owner, self.repo), "none when full_name is given")
            check_full_name("full_name", self.full_name)
        else:
            for setting, value in (("owner", self.owner), ("repo", self.repo)):
                check_pattern(setting, value or "", r"[A-Za-z0-9_.][A-Za-z0-9_./-]{0,199}", "a repository owner or name on the Git host")
            check_git_suffix("repo", self.repo or "")

    @property
    def repository_id(self) -> str:
        """``owner/repo`` (CodePipeline's ``FullRepositoryId``)."""
        return self.full_name if self.full_name is not None else f"{self.owner}/{self.repo}"

    def action(self, *, output: codepipeline.Artifact, action_name: str = "Source") -> codepipeline.IAction:
        return ConnectionSourceAction(
            action_name=action_name,
            connection_arn=self.connection_arn,
            repository_id=self.repository_id,
            branch=self.branch,
            output=output,
            full_clone=self.full_clone,
        )

    def grant_clone(self, grantee: iam.IGrantable) -> None:
        if self.full_clone:
            grantee.grant_principal.add_to_principal_policy(
                connection_use_statement(self.connection_arn, full_names=[self.repository_id])
            )

    @property
    def description(self) -> str:
        return self.repository_id


class ConnectionSourceAction(actions.Action):
    """CodePipeline's ``CodeStarSourceConnection`` source action, with a scoped grant.

    Its configuration is aws-cdk-lib's ``CodeStarConnectionsSourceAction``'s (connection,
    ``FullRepositoryId``, branch, ``DetectChanges``, ``CODEBUILD_CLONE_REF`` for a full
    clone); its role gets :func:`~.connection.connection_use_statement` (tag and
    repository conditions, both service prefixes) instead of an unconditioned
    ``codestar-connections:UseConnection``, and reads and writes the artifact store, object
    ACLs included (``s3:PutObjectAcl``, as aws-cdk-lib's action grants).
    """

    def __init__(
        self,
        *,
        action_name: str,
        connection_arn: str,
        repository_id: str,
        branch: str,
        output: codepipeline.Artifact,
        full_clone: bool = False,
    ) -> None:
        super().__init__(
            action_name=action_name,
            category=codepipeline.ActionCategory.SOURCE,
            owner="AWS",
            provider="CodeStarSourceConnection",
            artifact_bounds=codepipeline.ActionArtifactBounds(min_inputs=0, max_inputs=0, min_outputs=1, max_outputs=1),
            outputs=[output],
        )
        self._connection_arn = connection_arn
        self._repository_id = repository_id
        self._branch = branch
        self._full_clone = full_clone

    def _bound(
        self, scope: Construct, stage: codepipeline.IStage, *, bucket: s3.IBucket, role: iam.IRole
    ) -> codepipeline.ActionConfig:
        role.add_to_principal_policy(
            connection_use_statement(self._connection_arn, full_names=[self._repository_id])
        )
        bucket.grant_read_write(role)
        # CodePipeline uploads the source output (a zip, or the clone reference) with an ACL:
        # without s3:PutObjectAcl the action fails "Upload to S3 failed ... Access Denied"
        # (aws/aws-cdk#13557; aws-cdk-lib's CodeStarConnectionsSourceAction grants it always).
        bucket.grant_put_acl(role)
        configuration: dict[str, Any] = {
            "ConnectionArn": self._connection_arn,
            "FullRepositoryId": self._repository_id,
            "BranchName": self._branch,
            "DetectChanges": True,
        }
        if self._full_clone:
            configuration["OutputArtifactFormat"] = "CODEBUILD_CLONE_REF"
        return codepipeline.ActionConfig(configuration=configuration)


#: The repositories of a project, by the seed code they start with.
REPOSITORY_PARTS = ("model_build", "model_deploy", "model_monitor")


@dataclass(frozen=True, kw_only=True)
class GitRepository:
    """One existing repository on a Git host reached through a connection.

    :param full_name: ``owner/repo`` (GitLab: ``group/subgroup/repo``); may be a token.
    :param branch: the branch the project seeds and its pipeline follows (created by the
        seeding when absent). Default: ``main``.
    """

    full_name: str
    branch: str = "main"

    def __post_init__(self) -> None:
        check_full_name("full_name", self.full_name)
        check_branch(self.branch)


@dataclass(frozen=True, kw_only=True)
class ConnectionSource:
    """Where a project's code lives when it is not in CodeCommit: existing GitHub, GitLab or
    Bitbucket repositories reached through one AWS CodeConnections connection.

    :param connection_arn: the connection (completed in the console, tagged ``sagemaker=true``).
    :param model_build: the model-building repository (templates with a model-build half).
    :param model_deploy: the model-deployment repository (templates with a model-deploy half).
    :param model_monitor: the model-monitoring repository (templates with monitoring).
    :param seed: push the seed code into each repository when the project is created (a
        repository that already holds code is left alone; a missing branch is created from the
        default branch, seeded unless that holds code). Default: true.
    :param host_url: the Git host's https address, for the repositories' association with
        the SageMaker project (``<host_url>/<full name>.git``). Default: ``https://github.com``.

    With a connection source a template creates no CodeCommit repository.
    """

    connection_arn: str
    model_build: Optional[GitRepository] = None
    model_deploy: Optional[GitRepository] = None
    model_monitor: Optional[GitRepository] = None
    seed: bool = True
    host_url: str = "https://github.com"

    def __post_init__(self) -> None:
        check_connection_arn("connection_arn", self.connection_arn)
        check_host_url("host_url", self.host_url)
        for part in REPOSITORY_PARTS:
            value = getattr(self, part)
            if value is not None and not isinstance(value, GitRepository):
                raise invalid(part, value, "a GitRepository(full_name='owner/repo', branch=...) or None")
        if self.model_build is None and self.model_deploy is None:
            raise invalid("model_build and model_deploy", None, "at least one GitRepository")
        if not isinstance(self.seed, bool):
            raise invalid("seed", self.seed, "True or False")

    def repository(self, part: str) -> GitRepository:
        """The repository of ``part`` (``model_build``, ``model_deploy``, ``model_monitor``); a ``ValueError``
        naming the setting when the template needs it and it was not given."""
        repository = getattr(self, part) if part in REPOSITORY_PARTS else None
        if repository is None:
            raise invalid(f"source.{part}", None, f"a GitRepository: this template has a {part.replace('_', '-')} repository")
        return repository

    def pipeline_source(self, part: str) -> CodeConnectionsSource:
        """The pipeline source of ``part``'s repository."""
        repository = self.repository(part)
        return CodeConnectionsSource(
            connection_arn=self.connection_arn, full_name=repository.full_name, branch=repository.branch
        )
