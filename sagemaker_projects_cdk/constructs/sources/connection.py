"""AWS CodeConnections (formerly CodeStar Connections): the checks of a connection's ARN and a
repository's full name, and the one IAM statement every role that uses a connection gets.

A connection's ARN comes in two spellings, ``arn:<partition>:codeconnections:...`` (created
since the service's rename in 2024) and ``arn:<partition>:codestar-connections:...`` (older),
and IAM knows both action prefixes, ``codeconnections:UseConnection`` and
``codestar-connections:UseConnection`` (Service Authorization Reference, "Actions, resources,
and condition keys for AWS CodeConnections" and "... for AWS CodeStar Connections"). A role
here gets both actions on both spellings of the one connection it is given, so it works
whichever spelling and prefix the calling service checks.

Conditions (keys from the same reference; ``UseConnection`` supports them all):

- ``aws:ResourceTag/sagemaker`` = ``true`` (any case), as SageMaker's own project roles
  (``AmazonSageMakerServiceCatalogProducts*``) require: an administrator opts a connection in
  by tagging it;
- ``<prefix>:FullRepositoryId`` is one of the project's repositories, when the request names
  one (``...IfExists``: "applies only to UseConnection requests for access to a specific
  repository").

No ``<prefix>:ProviderPermissionsRequired`` condition: which value, if any, CodePipeline and
CodeBuild put in their requests is not documented, and SageMaker's own project roles condition
``UseConnection`` only on the tag; a wrong guess would deny the pipeline its source.
"""

from __future__ import annotations

from typing import Sequence

from aws_cdk import Fn
from aws_cdk import aws_iam as iam

from ..._internal.validation import check_pattern, invalid, is_unresolved

#: The two service prefixes (and ARN service names) of AWS CodeConnections.
SERVICES = ("codeconnections", "codestar-connections")

#: A connection's ARN, either spelling, any partition.
CONNECTION_ARN_PATTERN = (
    r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}"
)
#: A repository's full name on its host: ``owner/repo`` (GitLab: ``group/subgroup/repo``),
#: segments of letters, digits and ``_.-``, none of them ``.`` or ``..``, not ending in ``.git``
#: (any case: that is the clone URL's suffix, not part of the name CodePipeline's
#: ``FullRepositoryId`` takes).
FULL_NAME_PATTERN = (
    r"(?!.*\.[Gg][Ii][Tt]$)(?!\.\.?(/|$))[A-Za-z0-9_.-]{1,100}(/(?!\.\.?(/|$))[A-Za-z0-9_.-]{1,100}){1,4}"
)

#: A Git host's https address (``https://github.com``, ``https://gitlab.example.com``).
HOST_URL_PATTERN = r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*"

#: The tag an administrator puts on a connection to let SageMaker projects use it.
OPT_IN_TAG = "sagemaker"


def check_connection_arn(setting: str, value: str) -> str:
    """A CodeConnections connection ARN (``codeconnections`` or ``codestar-connections``)."""
    return check_pattern(
        setting,
        value,
        CONNECTION_ARN_PATTERN,
        "the ARN of a CodeConnections connection, "
        "arn:aws:codeconnections:<region>:<account>:connection/<id> (or codestar-connections)",
    )


def check_git_suffix(setting: str, value: str) -> str:
    """Refuse a repository name ending in ``.git`` (any case), saying to drop it."""
    if not is_unresolved(value) and isinstance(value, str) and value.lower().endswith(".git"):
        raise invalid(setting, value, f"the repository's name without the clone URL's '.git': drop it ({value[:-4]!r})")
    return value


def check_full_name(setting: str, value: str) -> str:
    """A repository's full name ``owner/repo`` on its Git host (no trailing ``.git``)."""
    check_git_suffix(setting, value)
    return check_pattern(
        setting,
        value,
        FULL_NAME_PATTERN,
        "a repository's full name 'owner/repo' (letters, digits and '_.-' around one '/'; "
        "GitLab subgroups: 'group/subgroup/repo'; no trailing '.git')",
    )


def check_host_url(setting: str, value: str) -> str:
    """A Git host's https address, without a trailing ``/``."""
    return check_pattern(setting, value, HOST_URL_PATTERN, "the Git host's https address, e.g. 'https://github.com'")


def connection_arns(connection_arn: str) -> list[str]:
    """Both spellings of ``connection_arn`` (``codeconnections``, then ``codestar-connections``);
    for a token, CloudFormation functions that rebuild them from its parts."""
    if not is_unresolved(connection_arn):
        arn, partition, _service, rest = connection_arn.split(":", 3)
        return [f"{arn}:{partition}:{service}:{rest}" for service in SERVICES]
    parts = Fn.split(":", connection_arn, 6)  # six Fn::Select tokens
    return [Fn.join(":", [parts[0], parts[1], service, parts[3], parts[4], parts[5]]) for service in SERVICES]


def connection_use_statement(connection_arn: str, *, full_names: Sequence[str]) -> iam.PolicyStatement:
    """``UseConnection`` (both prefixes) on both spellings of ``connection_arn``, for a
    connection tagged ``sagemaker=true``, for the repositories ``full_names``."""
    conditions: dict[str, dict[str, object]] = {
        "StringEqualsIgnoreCase": {f"aws:ResourceTag/{OPT_IN_TAG}": "true"},
        # Git hosts compare repository names without case.
        "StringEqualsIgnoreCaseIfExists": {f"{service}:FullRepositoryId": list(full_names) for service in SERVICES},
    }
    return iam.PolicyStatement(
        actions=[f"{service}:UseConnection" for service in SERVICES],
        resources=connection_arns(connection_arn),
        conditions=conditions,
    )
