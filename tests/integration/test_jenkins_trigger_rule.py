"""The Jenkins trigger's rule, as build-deploy-jenkins synthesizes it, in moto's EventBridge:
only this project's group's approvals reach the target, with the version's ARN where the
target's query parameter reads it.

Its pattern is taken from the synthesized template (resolved with a project's name and id) and
put on a rule in moto with an SQS target: moto delivers to queues, not to API destinations.
"""

from __future__ import annotations

import json

import pytest
from test_model_approval_rule import _receive, state_change_event

from iam_eval import Resolver

pytestmark = pytest.mark.integration

PROJECT, PROJECT_ID = "churn", "p-abc123def456"
GROUP = f"{PROJECT}-{PROJECT_ID}"


def _jenkins_rule(template: dict) -> dict:
    (rule,) = [
        r for i, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule" and i.startswith("JenkinsTrigger")
    ]
    return rule


def test_only_this_groups_approvals_reach_the_jenkins_trigger(aws, assembly):
    template = assembly.templates["build-deploy-jenkins"]
    rule = _jenkins_rule(template)
    resolver = Resolver(template, parameters={"SageMakerProjectName": PROJECT, "SageMakerProjectId": PROJECT_ID})
    pattern = resolver.resolve(rule["Properties"]["EventPattern"])
    assert pattern["detail"] == {"ModelPackageGroupName": [GROUP], "ModelApprovalStatus": ["Approved"]}
    (target,) = rule["Properties"]["Targets"]
    # Where the query parameter reads the version's ARN from: the event's detail.
    assert target["HttpParameters"]["QueryStringParameters"] == {"MODEL_PACKAGE_ARN": "$.detail.ModelPackageArn"}

    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName="jenkins-trigger")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="jenkins-trigger", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="jenkins-trigger", Targets=[{"Id": "queue", "Arn": arn}])
    result = events.put_events(
        Entries=[
            state_change_event(GROUP, "Approved"),
            state_change_event(GROUP, "Rejected"),
            state_change_event(GROUP, "PendingManualApproval"),
            state_change_event("another-group", "Approved"),
            state_change_event(f"{GROUP}-2", "Approved"),
        ]
    )
    assert result["FailedEntryCount"] == 0
    delivered = _receive(sqs, url)
    assert [(e["detail"]["ModelPackageGroupName"], e["detail"]["ModelApprovalStatus"]) for e in delivered] == [(GROUP, "Approved")]
    # The JSON path of the target's query parameter finds the version's ARN in what is delivered.
    assert delivered[0]["detail"]["ModelPackageArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/3"
