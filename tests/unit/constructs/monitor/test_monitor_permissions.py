"""monitor_deployer_statements: what CloudFormation's handlers need for the monitor stage template.

For every resource type of the monitor stage template, the statements must allow every create,
read, update and delete handler permission (cfn-lint's resource schemas, tests/cfn_roles.py) on
the resource the stage stack names, but those listed below with the reason they are not
needed, and nothing else but the documented extras.
"""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from cfn_roles import (
    ACCOUNT,
    PARTITION,
    REGION,
    granted_actions,
    listed_permissions,
    missing,
    needed_permissions,
    stale,
    statements_allowing,
    unexplained,
)

from sagemaker_projects_cdk.constructs.deploy.deployer_role import stage_iam_path
from sagemaker_projects_cdk.constructs.monitor import monitor_deployer_statements
from sagemaker_projects_cdk.constructs.monitor.permissions import project_monitor_deployer_statements
from sagemaker_projects_cdk.stacks.monitor_stage import STAGE_TEMPLATE_PATH
from support import new_app

PROJECT_NAME = "churn"
PROJECT_ID = "p-abc123def456"
STAGE = "staging"
STACK_NAME = f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}-monitor-{STAGE}"
SAGEMAKER = f"arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}"
PATH = stage_iam_path(PROJECT_ID)
ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role{PATH}{STACK_NAME}-MonitorsRole70FE5A3D-1A2B3C4D5E6F"
POLICY = f"arn:{PARTITION}:iam::{ACCOUNT}:policy{PATH}{STACK_NAME}-MonitorsPolicy89450764-1A2B3C4D5E6F"
ALARM = f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK_NAME}-MonitorsDataQualityAlarm3639CAB9-1A2B3C4D5E6F"
PREFIX = f"{PROJECT_ID}-{STAGE}"

NOT_NEEDED = {
    **dict.fromkeys(
        ["iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachUserPolicy"],
        "the monitor stage attaches its policy to its role only",
    ),
    **dict.fromkeys(
        ["iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"],
        "the monitoring role has no permissions boundary",
    ),
    "iam:PutRolePolicy": "the monitoring role has no inline policy (a managed policy under the project's path)",
    "iam:UpdateAssumeRolePolicy": "the monitoring role trusts sagemaker.amazonaws.com, a constant",
}
#: Actions the statements hold that no handler schema of the template's types lists, and why.
EXTRAS: dict[str, str] = {}

#: The resource each handler permission acts on, per resource type (by action, else by service).
TARGETS: dict[str, dict[str, str]] = {
    "AWS::IAM::Role": {"iam": ROLE},
    "AWS::IAM::ManagedPolicy": {"iam": POLICY, "iam:AttachRolePolicy": ROLE, "iam:DetachRolePolicy": ROLE},
    "AWS::CloudWatch::Alarm": {"cloudwatch": ALARM},
    "AWS::SageMaker::MonitoringSchedule": {
        "sagemaker": f"{SAGEMAKER}:monitoring-schedule/{PREFIX}-data-quality",
        "iam:PassRole": ROLE,
    },
    **{
        f"AWS::SageMaker::{kind}JobDefinition": {
            "sagemaker": f"{SAGEMAKER}:{resource}-job-definition/{PREFIX}-{slug}-0a1b2c3d",
            "iam:PassRole": ROLE,
        }
        for kind, resource, slug in (
            ("DataQuality", "data-quality", "data-quality"),
            ("ModelQuality", "model-quality", "model-quality"),
            ("ModelBias", "model-bias", "model-bias"),
            ("ModelExplainability", "model-explainability", "explainability"),
        )
    },
}
#: Handler permissions IAM cannot scope to a resource.
UNSCOPED = {"sagemaker:ListMonitoringSchedule"}


@pytest.fixture(scope="module")
def template_resources() -> list[dict]:
    return list(json.loads(STAGE_TEMPLATE_PATH.read_text())["Resources"].values())


@pytest.fixture(scope="module")
def document() -> dict:
    stack = Stack(new_app(), "Deployer", env={"account": ACCOUNT, "region": REGION})
    statements = project_monitor_deployer_statements(stack, project_id=PROJECT_ID)
    policy = iam.ManagedPolicy(stack, "Policy", statements=statements)
    return json.loads(json.dumps(stack.resolve((policy.node.default_child).policy_document)))  # type: ignore[union-attr]  # an L1 ManagedPolicy


def test_statements_allow_every_handler_permission_of_the_monitor_stage(template_resources, document):
    needed = needed_permissions(template_resources, untyped=["AWS::CloudFormation::WaitConditionHandle"])
    granted = granted_actions([document])
    assert missing(needed, granted, NOT_NEEDED) == []
    problems = []
    for action, resource_types in sorted(needed.items()):
        if action in NOT_NEEDED:
            continue
        for resource_type in sorted(resource_types):
            targets = TARGETS[resource_type]
            arn = "*" if action in UNSCOPED else targets.get(action) or targets[action.split(":")[0]]
            if not statements_allowing([document], action, arn):
                problems.append(f"{action} on {arn} ({resource_type})")
    assert problems == []


def test_statements_hold_nothing_else(template_resources, document):
    types = {r["Type"] for r in template_resources}
    listed = listed_permissions(types)
    granted = granted_actions([document])
    assert unexplained(granted, listed, EXTRAS) == []
    assert stale(NOT_NEEDED, listed) == []
    assert stale(EXTRAS, granted - listed) == []


def test_statements_stay_within_the_project(document):
    other = "p-other0000000"
    for action, arn in (
        ("sagemaker:CreateMonitoringSchedule", f"{SAGEMAKER}:monitoring-schedule/{other}-staging-data-quality"),
        ("sagemaker:DeleteDataQualityJobDefinition", f"{SAGEMAKER}:data-quality-job-definition/{other}-staging-data-quality-0"),
        ("iam:PassRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects/{other}/r"),
        (
            "cloudwatch:PutMetricAlarm",
            f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:sagemaker-x-{other}-monitor-staging-A",
        ),
        ("iam:CreateRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/admin"),
    ):
        assert not statements_allowing([document], action, arn), (action, arn)
    (pass_role,) = [s for s in document["Statement"] if s.get("Sid") == "PassMonitoringRoles"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_created_roles_need_their_policies():
    stack = Stack(new_app(), "Deployer")
    with pytest.raises(ValueError, match="created_policies"):
        monitor_deployer_statements(
            stack, name_pattern="p-1-*", alarms="*", pass_roles=["*"], created_roles="arn:aws:iam::1:role/x"
        )
