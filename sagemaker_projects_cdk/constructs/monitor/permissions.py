"""What CloudFormation's role needs to deploy, update and delete a ``ModelMonitors``.

The statements follow the handler permissions of the CloudFormation resource schemas of
``AWS::SageMaker::{DataQuality,ModelQuality,ModelBias,ModelExplainability}JobDefinition``,
``AWS::SageMaker::MonitoringSchedule``, ``AWS::CloudWatch::Alarm`` and, when the stack
creates the monitoring role, ``AWS::IAM::Role`` and ``AWS::IAM::ManagedPolicy``
(``tests/unit/constructs/monitor/test_monitor_permissions.py`` checks them against cfn-lint's
copies). The roles that deploy monitor stage stacks (a project's own deployer, a target
account's) differ only in how narrowly the names are scoped, so the scopes are parameters.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..deploy._stage_permissions import ALARM_ACTIONS, created_role_statements

#: The IAM resource type of each monitor's job definition.
JOB_DEFINITION_RESOURCES = (
    "data-quality-job-definition",
    "model-quality-job-definition",
    "model-bias-job-definition",
    "model-explainability-job-definition",
)
JOB_DEFINITION_ACTIONS = tuple(
    f"sagemaker:{verb}{kind}JobDefinition"
    for kind in ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")
    for verb in ("Create", "Describe", "Delete")
)
SCHEDULE_ACTIONS = (
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:DescribeMonitoringSchedule",
    "sagemaker:UpdateMonitoringSchedule",
    "sagemaker:DeleteMonitoringSchedule",
)


def monitor_arns(scope: Construct, name_pattern: str) -> tuple[list[str], str]:
    """The ARN patterns of the job definitions and the schedules named ``name_pattern``."""
    stack = Stack.of(scope)

    def arn(resource: str) -> str:
        return stack.format_arn(
            service="sagemaker", resource=resource, resource_name=name_pattern, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

    return [arn(r) for r in JOB_DEFINITION_RESOURCES], arn("monitoring-schedule")


def monitor_deployer_statements(
    scope: Construct,
    *,
    name_pattern: str,
    alarms: str,
    pass_roles: Sequence[str],
    created_roles: Optional[str] = None,
    created_policies: Optional[str] = None,
    create_conditions: Optional[Mapping[str, Any]] = None,
    manage_conditions: Optional[Mapping[str, Any]] = None,
) -> list[iam.PolicyStatement]:
    """The statements a role needs to deploy monitor stage stacks (``ModelMonitors``).

    :param scope: a construct in the stack the statements go to (ARNs use its partition,
        Region and account).
    :param name_pattern: the names of the schedules and job definitions, e.g.
        ``<project id>-*`` (SageMaker lower-cases names in these ARNs: the pattern is lower case).
    :param alarms: the ARN pattern of the stacks' alarms (CloudFormation names them
        ``<stack name>-<logical id>-<suffix>``).
    :param pass_roles: the ARN patterns of the roles the jobs may run as (passed to SageMaker only).
    :param created_roles: the ARN pattern of the monitoring roles the stacks create (when none is
        given); None: the stacks create no role. Default: None.
    :param created_policies: their policies' ARN pattern (with ``created_roles``).
    :param create_conditions: conditions on creating (and tagging) job definitions and schedules,
        e.g. a required tag (a target account's deployer). Default: none.
    :param manage_conditions: conditions on reading, updating and deleting them, e.g. a tag they
        carry. Default: none.
    """
    definitions, schedules = monitor_arns(scope, name_pattern)
    creates = [a for a in (*JOB_DEFINITION_ACTIONS, *SCHEDULE_ACTIONS) if ":Create" in a]
    manages = [a for a in (*JOB_DEFINITION_ACTIONS, *SCHEDULE_ACTIONS) if ":Create" not in a]
    statements = [
        iam.PolicyStatement(
            sid="CreateMonitors",
            actions=[*creates, "sagemaker:AddTags"],
            resources=[*definitions, schedules],
            conditions=dict(create_conditions) if create_conditions else None,
        ),
        iam.PolicyStatement(
            sid="ManageMonitors",
            actions=[*manages, "sagemaker:ListTags"],
            resources=[*definitions, schedules],
            conditions=dict(manage_conditions) if manage_conditions else None,
        ),
        iam.PolicyStatement(sid="MonitorAlarms", actions=list(ALARM_ACTIONS), resources=[alarms]),
        iam.PolicyStatement(
            sid="PassMonitoringRoles",
            actions=["iam:PassRole"],
            resources=list(pass_roles),
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]
    if created_roles is not None:
        if created_policies is None:
            raise ValueError("invalid created_policies None: expected the policies' ARN pattern with created_roles")
        statements += created_role_statements("Monitoring", roles=created_roles, policies=created_policies)
    return statements


def project_monitor_scopes(scope: Construct, project_id: str) -> dict[str, str]:
    """The ARN patterns a project's own deployer is scoped to for its monitor stage stacks
    (``sagemaker-<name>-<id>-monitor-<stage>``): alarms, and the roles and policies under the
    project's stage IAM path (``stage_iam_path``)."""
    from ..deploy.deployer_role import stage_iam_path

    stack = Stack.of(scope)
    path = stage_iam_path(project_id).strip("/")
    return {
        "alarms": stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"sagemaker-*-{project_id}-monitor-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
        "roles": stack.format_arn(service="iam", region="", resource="role", resource_name=f"{path}/*"),
        "policies": stack.format_arn(service="iam", region="", resource="policy", resource_name=f"{path}/*"),
    }


def project_monitor_deployer_statements(scope: Construct, *, project_id: str) -> list[iam.PolicyStatement]:
    """``monitor_deployer_statements`` for one project deploying its monitor stage stacks in its own
    account: names ``<project id>-*``, the stacks' alarms, the monitoring role the stacks create
    under the project's stage IAM path (created, changed, passed to SageMaker).

    The caller acknowledges the wildcards on its policy: ``monitor_arns(scope, f"{project_id}-*")``
    and ``project_monitor_scopes(scope, project_id)``'s values (names chosen per stage and
    definition version; CloudFormation names the alarms, roles and policies after the stack).
    """
    scopes = project_monitor_scopes(scope, project_id)
    return monitor_deployer_statements(
        scope,
        name_pattern=f"{project_id}-*",
        alarms=scopes["alarms"],
        pass_roles=[scopes["roles"]],
        created_roles=scopes["roles"],
        created_policies=scopes["policies"],
    )
