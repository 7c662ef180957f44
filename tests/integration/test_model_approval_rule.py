"""The approval rule, deployed into moto's CloudFormation: which SageMaker events reach its target."""

from __future__ import annotations

import json
import time

import pytest
from aws_cdk import BootstraplessSynthesizer, Stack
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs

from sagemaker_projects_cdk.constructs.registry.approval_rule import ModelApprovalRule
from support import new_app

pytestmark = pytest.mark.integration

GROUP = "churn-p-abc123def456"


def state_change_event(group: str, status: str) -> dict:
    """A PutEvents entry shaped like AWS's documented "SageMaker Model Package State Change" example."""
    detail = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": 3,
        "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/3",
        "CreationTime": 1700000000000,
        "InferenceSpecification": {
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "ModelDataUrl": "s3://bucket/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
    }
    return {
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Model Package State Change",
        "Resources": [detail["ModelPackageArn"]],
        "Detail": json.dumps(detail),
    }


@pytest.fixture(scope="module")
def rule_template() -> dict:
    app = new_app()
    # No bootstrap version parameter: moto has no CDK bootstrap SSM parameter.
    stack = Stack(app, "Approval", synthesizer=BootstraplessSynthesizer())
    queue = sqs.Queue(stack, "Target", enforce_ssl=True)
    ModelApprovalRule(stack, "OnApproval", model_package_group_name=GROUP, targets=[targets.SqsQueue(queue)])
    return app.synth().get_stack_by_name("Approval").template


def _receive(sqs_client, url: str) -> list[dict]:
    messages, deadline = [], time.monotonic() + 3
    while time.monotonic() < deadline:
        batch = sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        messages += [json.loads(m["Body"]) for m in batch]
        if not batch and messages:
            break
        time.sleep(0.2)
    return messages


def test_only_this_groups_approved_and_rejected_events_are_delivered(aws, rule_template):
    cfn, sqs_client, events = aws("cloudformation"), aws("sqs"), aws("events")
    cfn.create_stack(StackName="approval-rule", TemplateBody=json.dumps(rule_template))
    stack = cfn.describe_stacks(StackName="approval-rule")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = {r["ResourceType"]: r["PhysicalResourceId"] for r in cfn.list_stack_resources(StackName="approval-rule")["StackResourceSummaries"]}
    rule_name = resources["AWS::Events::Rule"]
    (rule_target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    url = sqs_client.get_queue_url(QueueName=rule_target["Arn"].rsplit(":", 1)[1])["QueueUrl"]

    result = events.put_events(
        Entries=[
            state_change_event(GROUP, "Approved"),
            state_change_event(GROUP, "PendingManualApproval"),
            state_change_event("another-group", "Approved"),
            state_change_event(GROUP, "Rejected"),
        ]
    )
    assert result["FailedEntryCount"] == 0

    delivered = _receive(sqs_client, url)
    assert sorted((e["detail"]["ModelPackageGroupName"], e["detail"]["ModelApprovalStatus"]) for e in delivered) == [
        (GROUP, "Approved"),
        (GROUP, "Rejected"),
    ]
    assert all(e["detail-type"] == "SageMaker Model Package State Change" for e in delivered)


def test_pattern_names_the_group_and_statuses(rule_template):
    (rule,) = [r for r in rule_template["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": [GROUP], "ModelApprovalStatus": ["Approved", "Rejected"]},
    }


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match=r"invalid statuses \['Approve'\]: expected one or more distinct of Approved"):
        ModelApprovalRule(Stack(new_app(), "S"), "R", model_package_group_name=GROUP, statuses=["Approve"])
