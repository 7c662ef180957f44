"""The project's notifications: the topic and its policies, the rules' patterns, and the
message each kind of event becomes (rendered from sample events shaped as AWS documents them)."""

from __future__ import annotations

import copy

import pytest
from aws_cdk import Environment
from aws_cdk.assertions import Template
from eventbridge_render import matches, render

from sagemaker_projects_cdk.stacks import BuildDeploySettings, BuildDeployStack, ModelBuildStack
from support import new_app

ACCOUNT, REGION = "111122223333", "eu-west-1"
NAME, PROJECT_ID = "churn", "p-abc123def456"
NAME_ID = f"{NAME}-{PROJECT_ID}"
BUILD_PIPELINE = f"sagemaker-{NAME_ID}-modelbuild"
DEPLOY_PIPELINE = f"sagemaker-{NAME_ID}-modeldeploy"
CHAT_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:team-chat"


@pytest.fixture(scope="module")
def template() -> dict:
    stack = BuildDeployStack(
        new_app(),
        "Ops",
        project_name=NAME,
        project_id=PROJECT_ID,
        notification_emails=("ml-team@example.com",),
        notification_topic_arns=(CHAT_TOPIC,),
        env=Environment(account=ACCOUNT, region=REGION),
    )
    return Template.from_stack(stack).to_json()


def _resolve(value, resources):
    """Patterns with the pipelines' names in place of their Refs."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and resources.get(value["Ref"], {}).get("Type") == "AWS::CodePipeline::Pipeline":
            return resources[value["Ref"]]["Properties"]["Name"]
        return {k: _resolve(v, resources) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, resources) for v in value]
    return value


def _rules(template: dict) -> dict[str, dict]:
    """Notification rules by description, patterns resolved."""
    resources = template["Resources"]
    return {
        r["Properties"]["Description"]: _resolve(r["Properties"], resources)
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Events::Rule" and logical_id.startswith("Notifications")
    }


def _rule(template: dict, kind: str) -> dict:
    (rule,) = [r for d, r in _rules(template).items() if kind in d]
    return rule


def _event(detail_type: str, source: str, detail: dict, resources: list[str]) -> dict:
    return {
        "version": "0",
        "id": "01234567-EXAMPLE",
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2024-05-06T07:08:09Z",
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


# Shapes from the CodePipeline, SageMaker and CloudWatch event documentation.
PIPELINE_FAILED = _event(
    "CodePipeline Pipeline Execution State Change",
    "aws.codepipeline",
    {
        "pipeline": DEPLOY_PIPELINE,
        "execution-id": "12345678-1234-5678-abcd-12345678abcd",
        "start-time": "2024-05-06T07:00:00.000Z",
        "state": "FAILED",
        "version": 4.0,
        "pipeline-execution-attempt": 1.0,
    },
    [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{DEPLOY_PIPELINE}"],
)
APPROVAL_STARTED = _event(
    "CodePipeline Action Execution State Change",
    "aws.codepipeline",
    {
        "pipeline": DEPLOY_PIPELINE,
        "execution-id": "12345678-1234-5678-abcd-12345678abcd",
        "stage": "DeployStaging",
        "action-execution-id": "47f821c5-a902-44b2-ae61-b878d31ecd21",
        "action": "ApproveDeployment",
        "state": "STARTED",
        "region": REGION,
        "type": {"owner": "AWS", "provider": "Manual", "category": "Approval", "version": "1"},
        "version": 2.0,
    },
    [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{DEPLOY_PIPELINE}"],
)
MODEL_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{NAME_ID}/3"
MODEL_PACKAGE = _event(
    "SageMaker Model Package State Change",
    "aws.sagemaker",
    {
        "ModelPackageGroupName": NAME_ID,
        "ModelPackageVersion": 3,
        "ModelPackageArn": MODEL_ARN,
        "CreationTime": "2024-05-06T07:08:09Z",
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "PendingManualApproval",
        "MetadataProperties": {"GeneratedBy": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{NAME_ID}/execution/x1"},
    },
    [MODEL_ARN],
)
EXECUTION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{NAME_ID}/execution/p4jn9xou8a8s"
SAGEMAKER_PIPELINE_FAILED = _event(
    "SageMaker Model Building Pipeline Execution Status Change",
    "aws.sagemaker",
    {
        "pipelineExecutionDisplayName": "execution-1715000000",
        "currentPipelineExecutionStatus": "Failed",
        "previousPipelineExecutionStatus": "Executing",
        "executionStartTime": "2024-05-06T07:00:00Z",
        "executionEndTime": "2024-05-06T07:08:00Z",
        # SageMaker lower-cases the pipeline name in its ARNs.
        "pipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{NAME_ID}".lower(),
        "pipelineExecutionArn": EXECUTION_ARN,
    },
    [EXECUTION_ARN],
)
ALARM_NAME = f"sagemaker-{NAME_ID}-deploy-prod-EndpointErrorsAlarm1A2B3C4D-0123ABCD"
ENDPOINT_ALARM = _event(
    "CloudWatch Alarm State Change",
    "aws.cloudwatch",
    {
        "alarmName": ALARM_NAME,
        "state": {
            "value": "ALARM",
            "reason": "Threshold Crossed: 1 datapoint [3.0 (06/05/24 07:07:00)] was greater than or equal to the threshold (1.0).",
            "timestamp": "2024-05-06T07:08:09.000+0000",
        },
        "previousState": {"value": "OK"},
        "configuration": {
            "description": f"Rolls back a deployment of SageMaker endpoint {NAME_ID}-prod when the model returns "
            "server errors (Invocation5XXErrors)"
        },
    },
    [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ALARM_NAME}"],
)


def _with(event: dict, **detail) -> dict:
    changed = copy.deepcopy(event)
    changed["detail"].update(detail)
    return changed


def _message(rule: dict, event: dict) -> str:
    assert matches(rule["EventPattern"], event)
    return render(rule["Targets"][0]["InputTransformer"], event)


def test_the_topic_is_encrypted_with_the_project_key_and_refuses_plain_http(template):
    resources = template["Resources"]
    (topic,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::Topic"]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["ArtifactsKeyA4B22E2B", "Arn"]}
    assert topic["Properties"]["TopicName"] == f"sagemaker-{NAME_ID}-notifications"
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "sns:Publish",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": "*",
        "Resource": {"Ref": "NotificationsTopicAE679CBD"},
        "Sid": "AllowPublishThroughSSLOnly",
    } in statements
    (events,) = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert events["Action"] == "sns:Publish" and events["Effect"] == "Allow"
    assert events["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/*"}
    }


def test_the_key_lets_eventbridge_encrypt_for_this_topic_only(template):
    key = template["Resources"]["ArtifactsKeyA4B22E2B"]["Properties"]["KeyPolicy"]["Statement"]
    (statement,) = [s for s in key if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:sagemaker-{NAME_ID}-notifications"
    assert statement["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}}


def test_subscribers_are_the_emails_and_topics_given(template):
    resources = template["Resources"]
    (subscription,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ml-team@example.com"
    for rule in _rules(template).values():
        assert [t["Id"] for t in rule["Targets"]] == ["ProjectTopic", "Subscriber0"]
        assert rule["Targets"][1]["Arn"] == CHAT_TOPIC
        assert rule["Targets"][0]["InputTransformer"] == rule["Targets"][1]["InputTransformer"]
        assert "RoleArn" not in rule["Targets"][0]  # SNS targets use the topic policy


def test_no_subscriber_by_default():
    stack = ModelBuildStack(new_app(), "Plain", project_name=NAME, project_id=PROJECT_ID)
    template = Template.from_stack(stack).to_json()
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"]
    for rule in _rules(template).values():
        assert [t["Id"] for t in rule["Targets"]] == ["ProjectTopic"]


def test_rule_patterns(template):
    assert _rule(template, "CodePipeline executions fails")["EventPattern"] == {
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": {"state": ["FAILED"], "pipeline": [BUILD_PIPELINE, DEPLOY_PIPELINE]},
    }
    assert _rule(template, "waits for a person's approval")["EventPattern"] == {
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Action Execution State Change"],
        "detail": {"state": ["STARTED"], "type": {"category": ["Approval"]}, "pipeline": [DEPLOY_PIPELINE]},
    }
    registered = _rule(template, "registered and waits")["EventPattern"]
    assert registered["detail"] == {
        "ModelPackageGroupName": [NAME_ID],
        "ModelApprovalStatus": ["PendingManualApproval"],
        "ModelPackageStatus": ["Completed"],
    }
    assert _rule(template, "approved or rejected")["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    assert _rule(template, "rollback alarm")["EventPattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": [{"prefix": f"sagemaker-{NAME_ID}-deploy-"}], "state": {"value": ["ALARM"]}},
    }
    sagemaker = _rule(template, "SageMaker pipeline fails")["EventPattern"]
    assert sagemaker["detail"]["pipelineArn"] == [
        {"equals-ignore-case": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{NAME_ID}"}
    ]


def test_a_failed_pipeline_execution_reads_as_a_message(template):
    text = _message(_rule(template, "CodePipeline executions fails"), PIPELINE_FAILED)
    assert text == (
        f"[{NAME}] Pipeline {DEPLOY_PIPELINE} failed\n"
        "\n"
        f"What: the CodePipeline {DEPLOY_PIPELINE} stopped with an execution that FAILED.\n"
        f"Project: {NAME} (id {PROJECT_ID})\n"
        "Execution: 12345678-1234-5678-abcd-12345678abcd\n"
        f"Region {REGION}, account {ACCOUNT}, at 2024-05-06T07:08:09Z\n"
        f"See which action failed and why: https://{REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
        f"{DEPLOY_PIPELINE}/executions/12345678-1234-5678-abcd-12345678abcd/timeline?region={REGION}"
    )
    rule = _rule(template, "CodePipeline executions fails")
    assert not matches(rule["EventPattern"], _with(PIPELINE_FAILED, state="SUCCEEDED"))
    assert not matches(rule["EventPattern"], _with(PIPELINE_FAILED, pipeline="another-teams-pipeline"))


def test_a_waiting_approval_reads_as_a_message(template):
    text = _message(_rule(template, "waits for a person's approval"), APPROVAL_STARTED)
    assert text.startswith(f"[{NAME}] Approval waiting in {DEPLOY_PIPELINE} (stage DeployStaging)\n")
    assert "(action ApproveDeployment of stage DeployStaging)" in text
    assert text.endswith(
        f"https://{REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{DEPLOY_PIPELINE}/view?region={REGION}"
    )
    build_action = _with(APPROVAL_STARTED, type={"owner": "AWS", "provider": "CodeBuild", "category": "Build", "version": "1"})
    assert not matches(_rule(template, "waits for a person's approval")["EventPattern"], build_action)


def test_a_registered_model_version_reads_as_a_message(template):
    text = _message(_rule(template, "registered and waits"), MODEL_PACKAGE)
    assert text.startswith(f"[{NAME}] Model version 3 of {NAME_ID} registered: waiting for approval\n")
    assert f"Model version: {MODEL_ARN}\n" in text
    assert text.endswith(
        f"aws sagemaker update-model-package --region {REGION} --model-package-arn {MODEL_ARN} --model-approval-status Approved"
    )
    in_progress = _with(MODEL_PACKAGE, ModelPackageStatus="InProgress")
    assert not matches(_rule(template, "registered and waits")["EventPattern"], in_progress)


def test_an_approved_or_rejected_version_reads_as_a_message(template):
    rule = _rule(template, "approved or rejected")
    for status in ("Approved", "Rejected"):
        text = _message(rule, _with(MODEL_PACKAGE, ModelApprovalStatus=status))
        assert text.startswith(f"[{NAME}] Model version 3 of {NAME_ID} {status}\n")
        assert f"describe-model-package --region {REGION} --model-package-name {MODEL_ARN}" in text
    assert not matches(rule["EventPattern"], MODEL_PACKAGE)
    assert not matches(rule["EventPattern"], _with(MODEL_PACKAGE, ModelApprovalStatus="Approved", ModelPackageGroupName="other"))


def test_a_failed_sagemaker_pipeline_execution_reads_as_a_message(template):
    rule = _rule(template, "SageMaker pipeline fails")
    text = _message(rule, SAGEMAKER_PIPELINE_FAILED)
    assert text.startswith(f"[{NAME}] SageMaker pipeline execution execution-1715000000 failed\n")
    assert f"--pipeline-execution-arn {EXECUTION_ARN}" in text
    assert not matches(rule["EventPattern"], _with(SAGEMAKER_PIPELINE_FAILED, currentPipelineExecutionStatus="Succeeded"))


def test_an_endpoint_rollback_alarm_reads_as_a_message(template):
    rule = _rule(template, "rollback alarm")
    text = _message(rule, ENDPOINT_ALARM)
    assert text.startswith(f"[{NAME}] Endpoint alarm {ALARM_NAME} is in ALARM\n")
    assert f"What: Rolls back a deployment of SageMaker endpoint {NAME_ID}-prod when the model returns" in text
    assert "Why: Threshold Crossed: 1 datapoint" in text
    assert text.endswith(f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#alarmsV2:alarm/{ALARM_NAME}")
    back_to_ok = copy.deepcopy(ENDPOINT_ALARM)
    back_to_ok["detail"]["state"]["value"] = "OK"
    assert not matches(rule["EventPattern"], back_to_ok)
    assert not matches(rule["EventPattern"], _with(ENDPOINT_ALARM, alarmName="sagemaker-other-p-1-deploy-prod-Errors"))


def test_model_build_only_has_no_deploy_rules():
    stack = ModelBuildStack(new_app(), "BuildOnly", project_name=NAME, project_id=PROJECT_ID)
    descriptions = set(_rules(Template.from_stack(stack).to_json()))
    assert not [d for d in descriptions if "person's approval" in d or "alarm" in d]
    assert any("SageMaker pipeline fails" in d for d in descriptions)


@pytest.mark.parametrize(
    ("settings", "named", "shown"),
    [
        ({"notification_emails": ("not-an-address",)}, "notification_emails", "'not-an-address'"),
        ({"notification_emails": "team@example.com"}, "notification_emails", "'team@example.com'"),
        (
            {"notification_topic_arns": (f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue",)},
            "notification_topic_arns",
            "arn:aws:sqs",
        ),
        ({"notification_topic_arns": tuple(f"{CHAT_TOPIC}{i}" for i in range(5))}, "notification_topic_arns", "at most 4"),
    ],
)
def test_bad_subscribers_are_refused_naming_the_setting(settings, named, shown):
    with pytest.raises(ValueError, match=f"invalid {named} ") as refused:
        BuildDeploySettings(**settings)
    assert shown in str(refused.value)


def test_the_dashboard_counts_instances_per_minute_whatever_the_period():
    """CloudWatch raises a graph's period over long ranges (1,440 points at most): the
    instance widget divides the CPU sample count by the period's minutes."""
    import json as _json

    from aws_cdk.assertions import Template

    from sagemaker_projects_cdk.stacks import BuildDeployStack
    from support import new_app

    stack = BuildDeployStack(new_app(), "Dash", project_name="churn", project_id="p-abc123def456")
    (dashboard,) = Template.from_stack(stack).find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = _json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))
    instances = [w for w in body["widgets"] if w["properties"].get("title", "").endswith("instances (CPU samples per minute)")]
    assert [w["properties"]["title"].split(" ")[0] for w in instances] == ["staging", "prod"]
    for widget in instances:
        (expression, sample) = widget["properties"]["metrics"]
        assert expression[0]["expression"] == "samples / (PERIOD(samples) / 60)"
        assert sample[:3] == ["/aws/sagemaker/Endpoints", "CPUUtilization", "EndpointName"]
