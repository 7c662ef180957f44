"""Where a pipeline's code comes from, independent of the Git host.

A pipeline construct takes a :class:`PipelineSource` and asks it for its source action; it
never knows whether the code lives in CodeCommit or in GitHub, GitLab or Bitbucket through
an AWS CodeConnections connection. A new host is a new subclass, not a pipeline change.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions

from ..._internal.validation import check_pattern, invalid, is_unresolved

#: Git branch names this library accepts: letters, digits, ``._/-``; no ``..``, ``//`` or
#: trailing ``/``, ``.`` or ``.lock`` (a conservative subset of git check-ref-format).
BRANCH_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}"


def check_branch(branch: str) -> str:
    """Check a Git branch name, raising ``ValueError`` naming the rule it breaks."""
    expected = (
        "a Git branch name of letters, digits and '._/-', starting with a letter, digit or '_', "
        "without '..' or '//' and not ending in '/', '.' or '.lock'"
    )
    check_pattern("branch", branch, BRANCH_PATTERN, expected)
    if not is_unresolved(branch) and (
        ".." in branch or "//" in branch or branch.endswith(("/", ".", ".lock"))
    ):
        raise invalid("branch", branch, expected)
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

    ``owner``/``repo`` name the repository on the host (``repository_id``); ``connection_arn``
    is the connection an administrator has already authorised in the console.
    """

    connection_arn: str
    owner: str
    repo: str
    branch: str = "main"

    def __post_init__(self) -> None:
        check_branch(self.branch)
        check_pattern(
            "connection_arn",
            self.connection_arn,
            r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}",
            "the ARN of a CodeConnections connection",
        )
        for setting, value in (("owner", self.owner), ("repo", self.repo)):
            check_pattern(setting, value, r"[A-Za-z0-9_.][A-Za-z0-9_./-]{0,199}", "a repository owner or name on the Git host")

    def action(self, *, output: codepipeline.Artifact, action_name: str = "Source") -> codepipeline.IAction:
        return actions.CodeStarConnectionsSourceAction(
            action_name=action_name,
            connection_arn=self.connection_arn,
            owner=self.owner,
            repo=self.repo,
            branch=self.branch,
            output=output,
            trigger_on_push=True,
        )

    @property
    def description(self) -> str:
        return f"{self.owner}/{self.repo}"
