"""Names of a stage's monitoring schedules and job definitions.

SageMaker allows 63 characters for both (``CreateMonitoringSchedule``'s
``MonitoringScheduleName`` and the job definitions' ``JobDefinitionName``:
``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``), too few for ``<project name>-<project id>-<stage>-...``
with a 32-character name. So, like the jobs of the model build pipeline, they start with the
project id (lower case, unique per account and Region) and the stage:

- schedule: ``<prefix>-<monitor>``, e.g. ``p-abc123def456-staging-data-quality``;
- job definition: ``<prefix>-<monitor>-<definition version>``: a definition cannot be
  updated, CloudFormation replaces it, and a replacement needs a new name; the version (8
  lower-case hex characters the monitor build computes from the definition's inputs) changes
  whenever the definition does.

The prefix is ``<project id>-<stage>``: at most 20 + 1 + 15 = 36 characters; the longest name,
``<prefix>-explainability-<version>``, then has 36 + 24 = 60.
"""

from __future__ import annotations

import re

from ..._internal.validation import check_pattern, invalid, is_unresolved

#: SageMaker's rule for schedule and job definition names.
MONITOR_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
MONITOR_NAME_MAX_LENGTH = 63
#: The definition version: 8 lower-case hexadecimal characters.
DEFINITION_VERSION_PATTERN = r"[0-9a-f]{8}"
#: Each monitor's name part (and CloudFormation ``MonitoringType``).
MONITOR_SLUGS = {
    "DataQuality": "data-quality",
    "ModelQuality": "model-quality",
    "ModelBias": "model-bias",
    "ModelExplainability": "explainability",
}
_LONGEST_SUFFIX = 1 + max(len(slug) for slug in MONITOR_SLUGS.values()) + 1 + 8
#: The longest name prefix every name fits with.
NAME_PREFIX_MAX_LENGTH = MONITOR_NAME_MAX_LENGTH - _LONGEST_SUFFIX


def check_name_prefix(setting: str, value: str) -> str:
    """A resolved prefix: SageMaker's name rule, and short enough for the longest name."""
    expected = (
        f"1 to {NAME_PREFIX_MAX_LENGTH} letters, digits and inner hyphens (the job definition "
        f"'<prefix>-explainability-<version>' has at most {MONITOR_NAME_MAX_LENGTH} characters)"
    )
    check_pattern(setting, value, MONITOR_NAME_PATTERN, expected)
    if not is_unresolved(value) and len(value) > NAME_PREFIX_MAX_LENGTH:
        raise invalid(setting, value, expected)
    return value


def check_definition_version(setting: str, value: str) -> str:
    return check_pattern(setting, value, DEFINITION_VERSION_PATTERN, "8 lower-case hexadecimal characters")


def schedule_name(prefix: str, monitoring_type: str) -> str:
    return f"{prefix}-{MONITOR_SLUGS[monitoring_type]}"


def job_definition_name(prefix: str, monitoring_type: str, version: str) -> str:
    return f"{prefix}-{MONITOR_SLUGS[monitoring_type]}-{version}"


def fits(name: str) -> bool:
    """A resolved name SageMaker accepts."""
    return len(name) <= MONITOR_NAME_MAX_LENGTH and re.fullmatch(MONITOR_NAME_PATTERN, name) is not None
