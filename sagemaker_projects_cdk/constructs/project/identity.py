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
#: CreateProject's ProjectId: 1 to 20 characters, letters, digits and inner hyphens.
PROJECT_ID_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*"
PROJECT_ID_MAX_LENGTH = 20

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
    :param project_id: the SageMaker project id. Default: a ``SageMakerProjectId`` parameter
        (1-20 characters) whose default is a stable id derived from the stack's path.
    :param tag: tag every taggable resource in the stack with ``sagemaker:project-name`` and
        ``sagemaker:project-id``. Default: True.

    Resolved values are validated with Studio's rules; tokens are left to CloudFormation.
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
                max_length=PROJECT_ID_MAX_LENGTH,
                allowed_pattern=PROJECT_ID_PATTERN,
                default=default_project_id(stack.node.path),
            ).value_as_string
        check_project_name("project_name", project_name)
        check_project_id("project_id", project_id)

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
    return _check_project_value(setting, value, PROJECT_NAME_PATTERN, PROJECT_NAME_MAX_LENGTH)


def check_project_id(setting: str, value: str) -> str:
    """Studio's rule for project ids (a token is left to CloudFormation)."""
    return _check_project_value(setting, value, PROJECT_ID_PATTERN, PROJECT_ID_MAX_LENGTH)


def _check_project_value(setting: str, value: str, pattern: str, max_length: int) -> str:
    check_pattern(setting, value, pattern, f"1 to {max_length} characters matching {pattern}")
    if not is_unresolved(value) and len(value) > max_length:
        raise invalid(setting, value, f"1 to {max_length} characters matching {pattern}")
    return value
