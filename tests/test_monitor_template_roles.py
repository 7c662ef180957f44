"""The roles of the monitoring template (build-deploy-monitor), standalone and as a Studio product.

- The roles it shares with build-deploy hold the same policies there (resolved with the same
  parameters), so build-deploy's checks (tests/seed/test_role_sufficiency.py, the deployer's
  schema check) cover them here too.
- The monitor deployer may do what CloudFormation's handlers need for every resource of the
  monitor stage template (cfn-lint's schemas), on the names the stage stacks use.
- The monitor build role may make every call the monitor seed's build.py makes (recorded in moto).
"""

from __future__ import annotations

import json
import re

import pytest
from cfn_roles import granted_actions, listed_permissions, missing, needed_permissions, statements_allowing, unexplained
from role_checks import all_templates, role_policy_with_managed, roles

from iam_eval import Resolver

REGION, ACCOUNT = "us-east-1", "123456789012"
PROJECT_NAME, PROJECT_ID = "churn", "p-0123456789ab"
PARAMETERS = {"SageMakerProjectName": PROJECT_NAME, "SageMakerProjectId": PROJECT_ID}
#: The build-deploy roles whose policies the monitoring template must not change.
SHARED = re.compile(
    r"(ModelBuildRole|ModelDeployBuildRole|ModelDeployTestStagingRole|ModelDeployRecordChangeProdRole|ModelDeployDeployerRole)[0-9A-F]{8}"
)
NAMES = ["build-deploy-monitor", "studio/build-deploy-monitor"]


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, dict]:
    return all_templates(assembly)


def _resolver(template: dict) -> Resolver:
    return Resolver(template, parameters=PARAMETERS, region=REGION, account=ACCOUNT)


@pytest.mark.parametrize("name", NAMES)
def test_the_build_deploy_roles_have_build_deploys_policies_in_the_monitor_template(templates, name):
    monitoring, build_deploy = templates[name], templates[name.replace("build-deploy-monitor", "build-deploy")]
    shared = [r for r in roles(monitoring) if SHARED.fullmatch(r)]
    assert len(shared) == 5, shared
    for role_id in shared:
        assert role_id in roles(build_deploy), role_id
        here = role_policy_with_managed(_resolver(monitoring), role_id)
        there = role_policy_with_managed(_resolver(build_deploy), role_id)
        assert [s.document for s in here.sources] == [s.document for s in there.sources], role_id


# ------------------------------------------------------------------ the monitor deployer

STAGE = "prod"
STACK_NAME = f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}-monitor-{STAGE}"
PATH = f"/sagemaker-projects/{PROJECT_ID}/"
SAGEMAKER = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
#: What the monitor stage stack names (CloudFormation names the role, policy and alarms after the stack).
MONITORING_ROLE = f"arn:aws:iam::{ACCOUNT}:role{PATH}{STACK_NAME}-MonitorsRole70FE5A3D-1A2B3C4D5E6F"
MONITORING_POLICY = f"arn:aws:iam::{ACCOUNT}:policy{PATH}{STACK_NAME}-MonitorsPolicy89450764-1A2B3C4D5E6F"
ALARM = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK_NAME}-MonitorsDataQualityAlarm3639CAB9-1A2B3C4D5E6F"
PREFIX = f"{PROJECT_ID}-{STAGE}"
TARGETS: dict[str, dict[str, str]] = {
    "AWS::IAM::Role": {"iam": MONITORING_ROLE},
    "AWS::IAM::ManagedPolicy": {"iam": MONITORING_POLICY, "iam:AttachRolePolicy": MONITORING_ROLE, "iam:DetachRolePolicy": MONITORING_ROLE},
    "AWS::CloudWatch::Alarm": {"cloudwatch": ALARM},
    "AWS::SageMaker::MonitoringSchedule": {
        "sagemaker": f"{SAGEMAKER}:monitoring-schedule/{PREFIX}-data-quality",
        "iam:PassRole": MONITORING_ROLE,
    },
    **{
        f"AWS::SageMaker::{kind}JobDefinition": {
            "sagemaker": f"{SAGEMAKER}:{resource}-job-definition/{PREFIX}-{slug}-0a1b2c3d",
            "iam:PassRole": MONITORING_ROLE,
        }
        for kind, resource, slug in (
            ("DataQuality", "data-quality", "data-quality"),
            ("ModelQuality", "model-quality", "model-quality"),
            ("ModelBias", "model-bias", "model-bias"),
            ("ModelExplainability", "model-explainability", "explainability"),
        )
    },
}
#: Handler permissions the role leaves out, and why (as tests/unit/constructs/monitor/test_monitor_permissions.py).
NOT_NEEDED = {
    **dict.fromkeys(
        ["iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachUserPolicy"],
        "the monitor stage attaches its policy to its role only",
    ),
    **dict.fromkeys(
        ["iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"], "the monitoring role has no permissions boundary"
    ),
    "iam:PutRolePolicy": "the monitoring role has no inline policy (a managed policy under the project's path)",
    "iam:UpdateAssumeRolePolicy": "the monitoring role trusts sagemaker.amazonaws.com, a constant",
}
#: Handler permissions IAM cannot scope to a resource.
UNSCOPED = {"sagemaker:ListMonitoringSchedule"}


def _monitor_stage_resources() -> list[dict]:
    from sagemaker_projects_cdk.stacks.monitor_stage import STAGE_TEMPLATE_PATH

    return list(json.loads(STAGE_TEMPLATE_PATH.read_text())["Resources"].values())


def _deployer_documents(template: dict) -> list[dict]:
    role_id = _role(template, "ModelMonitorDeployerRole")
    return [s.document for s in role_policy_with_managed(_resolver(template), role_id).sources]


def _role(template: dict, pattern: str) -> str:
    (found,) = [r for r in roles(template) if re.fullmatch(pattern + r"[0-9A-F]{8}", r)]
    return found


@pytest.mark.parametrize("name", NAMES)
def test_the_monitor_deployer_allows_every_handler_permission_of_the_monitor_stage_template(templates, name):
    resources = _monitor_stage_resources()
    documents = _deployer_documents(templates[name])
    needed = needed_permissions(resources, untyped=["AWS::CloudFormation::WaitConditionHandle"])
    granted = granted_actions(documents)
    assert missing(needed, granted, NOT_NEEDED) == []
    problems = []
    for action, resource_types in sorted(needed.items()):
        if action in NOT_NEEDED:
            continue
        for resource_type in sorted(resource_types):
            targets = TARGETS[resource_type]
            arn = "*" if action in UNSCOPED else targets.get(action) or targets[action.split(":")[0]]
            if not statements_allowing(documents, action, arn):
                problems.append(f"{action} on {arn} ({resource_type})")
    assert problems == []
    # Nothing but what the monitor stage's resource types list.
    assert unexplained(granted, listed_permissions({r["Type"] for r in resources}), {}) == []
    # Within the project: another project's schedules, roles and alarms, and IAM elsewhere, are refused.
    other = "p-other0000000"
    for action, arn in (
        ("sagemaker:CreateMonitoringSchedule", f"{SAGEMAKER}:monitoring-schedule/{other}-prod-data-quality"),
        ("sagemaker:DeleteDataQualityJobDefinition", f"{SAGEMAKER}:data-quality-job-definition/{other}-prod-data-quality-0"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/sagemaker-projects/{other}/r"),
        ("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:sagemaker-x-{other}-monitor-prod-A"),
        ("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:sagemaker-{PROJECT_NAME}-{PROJECT_ID}-deploy-prod-A"),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/admin"),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/sagemaker-project-deployers/x"),
    ):
        assert not statements_allowing(documents, action, arn), (action, arn)


@pytest.mark.parametrize("name", NAMES)
def test_the_monitor_deployer_is_assumed_by_cloudformation_only_and_lives_on_the_deployers_path(templates, name):
    template = templates[name]
    deployer = _role(template, "ModelMonitorDeployerRole")
    role = template["Resources"][deployer]
    assert role["Properties"]["Path"] == "/sagemaker-project-deployers/"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}
