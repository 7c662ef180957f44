"""Project identity: the SageMaker project name and id every template is built around.

When SageMaker Studio (through Service Catalog or an S3 template) provisions a template it
passes two CloudFormation parameters, ``SageMakerProjectName`` and ``SageMakerProjectId``.
From a workstation (``cdk deploy``) the same values may be plain strings. ``ProjectIdentity``
accepts either, declares the parameters when they are not given, and derives every name,
ARN pattern and tag from them, so the constructs downstream never care which case they are in.
"""

from __future__ import annotations

import hashlib
import re
from typing import Optional

from aws_cdk import ArnFormat, CfnParameter, Stack, Tags
from constructs import Construct

from ..._internal.validation import check_pattern, invalid, is_unresolved

#: Studio's constraints on the project name (CreateProject's ProjectName).
PROJECT_NAME_PATTERN = r"^[a-zA-Z](-*[a-zA-Z0-9])*"
PROJECT_NAME_MAX_LENGTH = 32
#: CreateProject's ProjectId is 1 to 20 letters, digits and inner hyphens; this library takes
#: lower-case ids only (as Studio generates them): SageMaker lower-cases names in most ARNs,
#: and IAM patterns built from an id with capitals would never match them.
PROJECT_ID_PATTERN = r"^[a-z0-9](-*[a-z0-9])*"
PROJECT_ID_MAX_LENGTH = 20
#: Studio generates ids of ``p-`` and 12 characters. The ``SageMakerProjectId`` parameter takes
#: no more, so that every name built from parameters stays within its limit.
PROJECT_ID_PARAMETER_MAX_LENGTH = 14
#: The longest ``<name>-<id>``: the tightest name built from it is the endpoint
#: ``<name>-<id>-<stage>`` (SageMaker: 63 characters; stage names: up to 15).
NAME_ID_MAX_LENGTH = 47
#: The longest base job name (``<id>-<job>``, see ``ProjectIdentity.job_prefix``): the
#: SageMaker Python SDK keeps at most 39 characters of one (63 less a 23-character timestamp
#: and its hyphen); SageMaker Pipelines appends its own suffix at run time.
JOB_BASE_NAME_MAX_LENGTH = 39

PROJECT_NAME_TAG = "sagemaker:project-name"
PROJECT_ID_TAG = "sagemaker:project-id"


def default_project_name(stack_name: str) -> str:
    """A valid project name derived from a stack name, for ``cdk deploy`` without input."""
    name = re.sub(r"[^a-zA-Z0-9]+", "-", stack_name).strip("-") or "project"
    if not name[0].isalpha():
        name = "p" + name
    return name[:PROJECT_NAME_MAX_LENGTH].rstrip("-")


def default_project_id(stack_path: str) -> str:
    """A stable, Studio-shaped id (``p-`` and 12 characters) derived from a stack's construct path."""
    return "p-" + hashlib.sha256(stack_path.encode()).hexdigest()[:12]


class ProjectIdentity(Construct):
    """The SageMaker project a stack belongs to, as plain strings or CloudFormation tokens.

    :param project_name: the SageMaker project name. Default: a ``SageMakerProjectName``
        parameter (1-32 characters, ``^[a-zA-Z](-*[a-zA-Z0-9])*``, as Studio passes it) whose
        default is derived from the stack name.
    :param project_id: the SageMaker project id: 1-20 lower-case letters, digits and inner
        hyphens. Default: a ``SageMakerProjectId`` parameter (1-14 characters, as Studio
        generates them) whose default is a stable id derived from the stack's path.
    :param tag: tag every taggable resource in the stack with ``sagemaker:project-name`` and
        ``sagemaker:project-id``. Default: True.

    Resolved values are validated with Studio's rules, and ``<name>-<id>`` may have at most
    47 characters (a parameter counts as its longest value: 32 for the name, 14 for the id) so
    that every name built from it fits its limit; tokens are left to CloudFormation.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: Optional[str] = None,
        project_id: Optional[str] = None,
        tag: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if project_name is None:
            project_name = CfnParameter(
                stack,
                "SageMakerProjectName",
                type="String",
                description="Name of the project",
                min_length=1,
                max_length=PROJECT_NAME_MAX_LENGTH,
                allowed_pattern=PROJECT_NAME_PATTERN,
                default=default_project_name(stack.stack_name),
            ).value_as_string
        if project_id is None:
            project_id = CfnParameter(
                stack,
                "SageMakerProjectId",
                type="String",
                description="Service generated Id of the project",
                min_length=1,
                max_length=PROJECT_ID_PARAMETER_MAX_LENGTH,
                allowed_pattern=PROJECT_ID_PATTERN,
                default=default_project_id(stack.node.path),
            ).value_as_string
        check_project_name("project_name", project_name)
        check_project_id("project_id", project_id)
        check_name_id_length(project_name, project_id)

        #: The project name (a string or a token).
        self.project_name: str = project_name
        #: The project id (a string or a token).
        self.project_id: str = project_id
        if tag:
            Tags.of(stack).add(PROJECT_NAME_TAG, project_name)
            Tags.of(stack).add(PROJECT_ID_TAG, project_id)

    @property
    def is_resolved(self) -> bool:
        """True when name and id are known at synth time (``cdk deploy`` with strings)."""
        return not (is_unresolved(self.project_name) or is_unresolved(self.project_id))

    @property
    def name_id(self) -> str:
        """``<name>-<id>``: the model package group and SageMaker pipeline name, the job prefix."""
        return f"{self.project_name}-{self.project_id}"

    @property
    def job_prefix(self) -> str:
        """``<id>``: how the names of the SageMaker jobs the project's pipeline runs begin.

        Jobs are named ``<id>-<step>-<suffix SageMaker Pipelines adds>``: a job name has at most
        63 characters, too few for the project name as well.
        """
        return self.project_id

    def job_arns(self, resource: str) -> list[str]:
        """The ARN pattern of this project's SageMaker jobs of type ``resource`` (e.g.
        ``training-job``): ``<id>-*``. Project ids are lower case, as SageMaker keeps them in ARNs."""
        return [
            Stack.of(self).format_arn(
                service="sagemaker",
                resource=resource,
                resource_name=f"{self.job_prefix}-*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
        ]

    def resource_name(self, suffix: str) -> str:
        """``sagemaker-<name>-<id>-<suffix>``: the names SageMaker's own templates use."""
        return f"sagemaker-{self.name_id}-{suffix}"

    def sagemaker_arn(self, resource: str, name_pattern: str = "") -> list[str]:
        """ARNs of this project's SageMaker ``resource`` (e.g. ``pipeline``) named ``<name>-<id><name_pattern>``.

        SageMaker lower-cases names in many ARNs and IAM compares ARNs case-sensitively, so a
        resolved name gives both spellings. A name only known at deploy time (Studio) is
        matched as ``*-<id>``: project ids that Studio generates are lower case and unique.
        """
        if self.is_resolved:
            names = dict.fromkeys([self.name_id + name_pattern, (self.name_id + name_pattern).lower()])
        else:
            names = {f"*-{self.project_id}{name_pattern}": None}
        stack = Stack.of(self)
        return [
            stack.format_arn(
                service="sagemaker",
                resource=resource,
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
            for name in names
        ]


def check_project_name(setting: str, value: str) -> str:
    """Studio's rule for project names (a token is left to CloudFormation)."""
    expected = f"1 to {PROJECT_NAME_MAX_LENGTH} characters matching {PROJECT_NAME_PATTERN}"
    return _check_project_value(setting, value, PROJECT_NAME_PATTERN, PROJECT_NAME_MAX_LENGTH, expected)


def check_project_id(setting: str, value: str) -> str:
    """Studio's rule for project ids, lower case only (a token is left to CloudFormation)."""
    expected = (
        f"1 to {PROJECT_ID_MAX_LENGTH} characters: lower-case letters, digits and inner hyphens "
        f"({PROJECT_ID_PATTERN}; SageMaker lower-cases names in ARNs)"
    )
    return _check_project_value(setting, value, PROJECT_ID_PATTERN, PROJECT_ID_MAX_LENGTH, expected)


def check_name_id_length(project_name: str, project_id: str) -> None:
    """``<name>-<id>`` fits in 47 characters; a token counts as the longest value its parameter takes."""
    name_length = PROJECT_NAME_MAX_LENGTH if is_unresolved(project_name) else len(project_name)
    id_length = PROJECT_ID_PARAMETER_MAX_LENGTH if is_unresolved(project_id) else len(project_id)
    if is_unresolved(project_name) and is_unresolved(project_id):
        return
    if name_length + 1 + id_length > NAME_ID_MAX_LENGTH:
        shown = "<parameter SageMakerProjectName, up to 32 characters>" if is_unresolved(project_name) else project_name
        shown_id = "<parameter SageMakerProjectId, up to 14 characters>" if is_unresolved(project_id) else project_id
        raise invalid(
            "project_name and project_id",
            f"{shown}-{shown_id}",
            f"'<project_name>-<project_id>' of at most {NAME_ID_MAX_LENGTH} characters "
            f"(the endpoint '<name>-<id>-<stage>' has at most 63, stage names up to 15)",
        )


def _check_project_value(setting: str, value: str, pattern: str, max_length: int, expected: str) -> str:
    check_pattern(setting, value, pattern, expected)
    if not is_unresolved(value) and len(value) > max_length:
        raise invalid(setting, value, expected)
    return value
