"""The monitoring template's two rules, deployed into moto's CloudFormation: which events reach
their targets (the staging or prod endpoint reaching InService; a prod drift alarm going into ALARM)."""

from __future__ import annotations

import json
import time

import pytest
from aws_cdk import BootstraplessSynthesizer, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs

from sagemaker_projects_cdk.constructs.deploy.monitor_pipeline import endpoint_in_service_pattern
from sagemaker_projects_cdk.constructs.project.identity import ProjectIdentity
from sagemaker_projects_cdk.stacks.components.monitoring import drift_alarm_pattern
from support import new_app

pytestmark = pytest.mark.integration

NAME, PROJECT_ID = "Churn", "p-abc123def456"
STAGING = f"{NAME}-{PROJECT_ID}-staging"
PROD = f"{NAME}-{PROJECT_ID}-prod"


def _props(pattern: dict) -> dict:
    return {"source": pattern["source"], "detail_type": pattern["detail-type"], "detail": pattern["detail"]}


@pytest.fixture(scope="module")
def rules_template() -> dict:
    app = new_app()
    stack = Stack(app, "MonitorRules", synthesizer=BootstraplessSynthesizer())
    project = ProjectIdentity(stack, "Project", project_name=NAME, project_id=PROJECT_ID)
    for rule_id, pattern in (
        ("Endpoint", endpoint_in_service_pattern(STAGING, PROD)),
        ("Drift", drift_alarm_pattern(project, "prod")),
    ):
        queue = sqs.Queue(stack, f"{rule_id}Target", enforce_ssl=True)
        events.Rule(stack, rule_id, event_pattern=events.EventPattern(**_props(pattern)), targets=[targets.SqsQueue(queue)])
    return app.synth().get_stack_by_name("MonitorRules").template


def _endpoint_event(name: str, status: str) -> dict:
    """A PutEvents entry shaped like AWS's "SageMaker Endpoint State Change" example."""
    detail = {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name.lower()}",
        "EndpointConfigName": f"{name}-config",
        "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
        "EndpointStatus": status,
        "CreationTime": 1592411992203.0,
        "LastModifiedTime": 1592411994287.0,
        "Tags": {},
    }
    return {"Source": "aws.sagemaker", "DetailType": "SageMaker Endpoint State Change", "Resources": [detail["EndpointArn"]], "Detail": json.dumps(detail)}


def _alarm_event(name: str, state: str) -> dict:
    detail = {"alarmName": name, "state": {"value": state, "reason": "Threshold Crossed"}, "previousState": {"value": "OK"}}
    return {"Source": "aws.cloudwatch", "DetailType": "CloudWatch Alarm State Change", "Resources": [], "Detail": json.dumps(detail)}


def _receive(sqs_client, url: str) -> list[dict]:
    messages, deadline = [], time.monotonic() + 3
    while time.monotonic() < deadline:
        batch = sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        messages += [json.loads(m["Body"]) for m in batch]
        if not batch and messages:
            break
        time.sleep(0.2)
    return messages


def test_only_the_staging_and_prod_endpoints_in_service_and_prod_drift_alarms_are_delivered(aws, rules_template):
    cfn, sqs_client, eventbridge = aws("cloudformation"), aws("sqs"), aws("events")
    cfn.create_stack(StackName="monitor-rules", TemplateBody=json.dumps(rules_template))
    assert cfn.describe_stacks(StackName="monitor-rules")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    urls = {q.rsplit("/", 1)[1]: q for q in sqs_client.list_queues()["QueueUrls"]}
    endpoint_url = next(u for n, u in urls.items() if "EndpointTarget" in n)
    drift_url = next(u for n, u in urls.items() if "DriftTarget" in n)
    prod_alarm = f"sagemaker-{NAME}-{PROJECT_ID}-monitor-prod-MonitorsDataQualityAlarm3639CAB9-1A2B3C4D5E6F"
    entries = [
        _endpoint_event(STAGING, "IN_SERVICE"),
        _endpoint_event(STAGING, "InService"),
        _endpoint_event(STAGING.lower(), "IN_SERVICE"),  # the name matched ignoring case
        _endpoint_event(STAGING, "UPDATING"),
        _endpoint_event(PROD, "IN_SERVICE"),  # prod's monitors follow each prod deployment
        _endpoint_event(PROD.lower(), "InService"),
        _endpoint_event(PROD, "UPDATING"),
        _endpoint_event(f"{NAME}-{PROJECT_ID}-qa", "IN_SERVICE"),
        _endpoint_event(f"Other-{PROJECT_ID}-staging", "IN_SERVICE"),
        _alarm_event(prod_alarm, "ALARM"),
        _alarm_event(prod_alarm, "OK"),
        _alarm_event(prod_alarm.replace("-prod-", "-staging-"), "ALARM"),
        _alarm_event(f"sagemaker-{NAME}-{PROJECT_ID}-deploy-prod-Errors-1A2B", "ALARM"),
    ]
    # PutEvents takes at most 10 entries a call.
    for start in range(0, len(entries), 10):
        result = eventbridge.put_events(Entries=entries[start : start + 10])
        assert result["FailedEntryCount"] == 0
    endpoints = _receive(sqs_client, endpoint_url)
    assert sorted((e["detail"]["EndpointName"], e["detail"]["EndpointStatus"]) for e in endpoints) == sorted(
        [(STAGING, "IN_SERVICE"), (STAGING, "InService"), (STAGING.lower(), "IN_SERVICE"), (PROD, "IN_SERVICE"), (PROD.lower(), "InService")]
    )
    drifts = _receive(sqs_client, drift_url)
    assert [(e["detail"]["alarmName"], e["detail"]["state"]["value"]) for e in drifts] == [(prod_alarm, "ALARM")]
