"""Jenkins as a project's CI/CD: the role it assumes (no keys) and the trigger that starts its
deploy job when a model version is approved."""

from .role import JENKINS_ROLE_PATH, JenkinsRole
from .trigger import MODEL_PACKAGE_PARAMETER, JenkinsDeployTrigger, dead_letter_alarm_name, trigger_rule_name
from .values import (
    JENKINS_URL_PATTERN,
    JOB_NAME_PATTERN,
    REACHABILITY,
    SECRET_ARN_PATTERN,
    TRUST,
    check_jenkins_url,
    check_job_name,
    check_secret_arn,
)

__all__ = [
    "JENKINS_ROLE_PATH",
    "JENKINS_URL_PATTERN",
    "JOB_NAME_PATTERN",
    "MODEL_PACKAGE_PARAMETER",
    "REACHABILITY",
    "SECRET_ARN_PATTERN",
    "TRUST",
    "JenkinsDeployTrigger",
    "JenkinsRole",
    "check_jenkins_url",
    "check_job_name",
    "check_secret_arn",
    "dead_letter_alarm_name",
    "trigger_rule_name",
]
