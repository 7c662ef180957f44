"""Names of a project's image resources, and the checks shared by the image constructs.

The ECR repository and the SageMaker image of one type share a name:
``sagemaker-<project id>-<type>``, e.g. ``sagemaker-p-abc123def456-processing``.

- ECR repository names are lower case only (``[a-z0-9]+([._-][a-z0-9]+)*``, 2-256
  characters) and CloudFormation cannot lower-case a project name it receives as a
  parameter; SageMaker image names allow 63 characters (``[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}``),
  too few for ``sagemaker-<name>-<id>-<type>`` with a 32-character name. Project ids are lower
  case (``ProjectIdentity``), unique per account and Region, and at most 20 characters: the
  longest name is 10 + 20 + 1 + 10 = 41 characters.
- SageMaker lower-cases image names in ARNs: an all-lower-case name makes the ARN that IAM
  policies and event patterns name the same as the one SageMaker uses.

The project name is still shown: in the SageMaker image's display name and in the tags that
``ProjectIdentity`` puts on every resource.
"""

from __future__ import annotations

import re

from aws_cdk import CfnParameter, Stack

from ..._internal.validation import invalid, is_unresolved
from ..project.identity import ProjectIdentity
from .base_images import IMAGE_TYPES

#: ECR's repository name rule (one path segment; ``CreateRepository``'s pattern).
ECR_REPOSITORY_NAME_PATTERN = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
ECR_REPOSITORY_NAME_MAX_LENGTH = 256
#: SageMaker's image name rule (``CreateImage``'s ``ImageName``).
IMAGE_NAME_PATTERN = r"[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}"
IMAGE_NAME_MAX_LENGTH = 63
#: The project ids both rules accept inside ``sagemaker-<id>-<type>``: ``ProjectIdentity``'s
#: pattern without consecutive hyphens (Studio's ``p-`` and 12 characters always match).
IMAGE_PROJECT_ID_PATTERN = r"^[a-z0-9](-?[a-z0-9])*$"
IMAGE_PROJECT_ID_CONSTRAINT = (
    "lower-case letters and digits with single hyphens between them: the project's ECR repositories "
    "and SageMaker images are named sagemaker-<project id>-<type>"
)


def check_image_type(setting: str, value: str) -> str:
    """One of ``processing``, ``training``, ``inference`` (image types are never tokens: they decide
    which resources exist)."""
    if value not in IMAGE_TYPES:
        raise invalid(setting, value, "one of " + ", ".join(repr(t) for t in IMAGE_TYPES))
    return value


def check_image_types(setting: str, values: object) -> tuple[str, ...]:
    """Distinct image types, in any order (none is allowed: a template without images)."""
    if isinstance(values, str) or not isinstance(values, (list, tuple, set, frozenset)):
        raise invalid(setting, values, "a list of distinct image types from " + ", ".join(IMAGE_TYPES))
    types = list(values)
    for value in types:
        check_image_type(setting, value)
    if len(set(types)) != len(types):
        raise invalid(setting, types, "distinct image types (each at most once)")
    return tuple(t for t in IMAGE_TYPES if t in types)


def image_resource_name(project: ProjectIdentity, image_type: str) -> str:
    """``sagemaker-<project id>-<type>``: the ECR repository and SageMaker image name of one type.

    A resolved project id is checked against both services' rules (``ProjectIdentity`` allows
    consecutive hyphens, which neither ECR nor SageMaker images accept). When the id is
    ``ProjectIdentity``'s ``SageMakerProjectId`` parameter, its ``AllowedPattern`` becomes
    ``IMAGE_PROJECT_ID_PATTERN``, so CloudFormation refuses an id with ``--`` before creating
    anything (Studio's ids, ``p-`` and 12 characters, always fit). Another token (a parameter of
    the caller's) must refuse consecutive hyphens itself: CloudFormation rules cannot look inside
    a string.
    """
    check_image_type("image_type", image_type)
    name = f"sagemaker-{project.project_id}-{image_type}"
    if is_unresolved(project.project_id):
        _refuse_double_hyphens_in_the_id_parameter(project)
    else:
        fits = (
            re.fullmatch(ECR_REPOSITORY_NAME_PATTERN, name)
            and re.fullmatch(IMAGE_NAME_PATTERN, name)
            and len(name) <= IMAGE_NAME_MAX_LENGTH
        )
        if not fits:
            raise invalid(
                "project_id",
                project.project_id,
                "lower-case letters and digits with single hyphens between them, so that "
                f"{name!r} is a valid ECR repository and SageMaker image name",
            )
    return name


def _refuse_double_hyphens_in_the_id_parameter(project: ProjectIdentity) -> None:
    stack = Stack.of(project)
    parameter = stack.node.try_find_child("SageMakerProjectId")
    if isinstance(parameter, CfnParameter) and stack.resolve(project.project_id) == {"Ref": stack.resolve(parameter.logical_id)}:
        parameter.allowed_pattern = IMAGE_PROJECT_ID_PATTERN
        parameter.constraint_description = IMAGE_PROJECT_ID_CONSTRAINT
