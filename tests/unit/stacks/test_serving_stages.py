"""The asynchronous and batch stage templates: fresh synths checked in, within CloudFormation's
inline size, clean under cfn-lint, the parameters build.py writes, and what their roles may do
(evaluated with iam_eval as IAM would, for the stage's own role and for a stage in another account).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from iam_eval import ACCOUNT, REGION, Resolver, role_policy
from sagemaker_projects_cdk.stacks.endpoint_stage import STAGE_TEMPLATE_PATH
from sagemaker_projects_cdk.stacks.serving_stages import (
    ASYNC_TEMPLATE_PATH,
    BATCH_TEMPLATE_PATH,
    REGENERATE_COMMAND,
    render_serving_template,
    synth_async_template,
    synth_batch_template,
)

PROJECT_ID = "p-0123456789ab"
REQUIRED = {
    "SageMakerProjectName": "abalone",
    "SageMakerProjectId": PROJECT_ID,
    "StageName": "staging",
    "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/abalone-{PROJECT_ID}/3",
    "ArtifactBucketName": f"sagemaker-project-{PROJECT_ID}",
    "ArtifactKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab",
    "ModelArtifactBucketName": f"sagemaker-project-{PROJECT_ID}",
    "ExecutionRoleArn": "",
}
#: The batch stage's own: its state machine and rules run as roles it creates.
BATCH_REQUIRED = {**REQUIRED, "StateMachineRoleArn": "", "TriggerRoleArn": ""}
BUCKET = f"arn:aws:s3:::sagemaker-project-{PROJECT_ID}"
COMMON = {
    "SageMakerProjectName", "SageMakerProjectId", "StageName", "ModelPackageArn", "ArtifactBucketName",
    "ArtifactKmsKeyArn", "ExecutionRoleArn", "ModelArtifactBucketName", "ModelArtifactKmsKeyArn", "ModelImageRepositoryName",
    "PrivateVpcId", "PrivateSubnetIds", "PrivateSecurityGroupIds",
}  # fmt: skip


@pytest.fixture(scope="module")
def async_template() -> dict:
    return synth_async_template(security_packs=True)


@pytest.fixture(scope="module")
def batch_template() -> dict:
    return synth_batch_template(security_packs=True)


@pytest.mark.parametrize("kind", ["async", "batch"])
def test_checked_in_templates_are_fresh_synths(kind, async_template, batch_template):
    path, template = {"async": (ASYNC_TEMPLATE_PATH, async_template), "batch": (BATCH_TEMPLATE_PATH, batch_template)}[kind]
    assert path.read_text(encoding="utf-8") == render_serving_template(template), (
        f"{path.name} is stale: regenerate it with '{REGENERATE_COMMAND}' and commit it"
    )


@pytest.mark.parametrize("path", [ASYNC_TEMPLATE_PATH, BATCH_TEMPLATE_PATH], ids=lambda p: p.name)
def test_checked_in_templates_fit_a_create_stack_call_inline(path):
    size = path.stat().st_size
    assert size <= 51_200, f"{path.name} is {size} bytes: more than CloudFormation takes inline"
    # Headroom for what comes next (VPC settings): at most 80 % of the limit.
    assert size <= 0.8 * 51_200, size


def test_cfn_lint_reports_nothing_on_the_checked_in_templates():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "--", str(ASYNC_TEMPLATE_PATH), str(BATCH_TEMPLATE_PATH)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_all_stage_templates_share_the_common_parameters(async_template, batch_template):
    endpoint = json.loads(STAGE_TEMPLATE_PATH.read_text())
    for template in (endpoint, async_template, batch_template):
        assert set(template["Parameters"]) >= COMMON
    assert set(async_template["Parameters"]) - COMMON == {
        "InstanceType", "InstanceCount", "MaxConcurrentInvocationsPerInstance", "EnableDataCapture",
        "DataCaptureSamplingPercentage", "EnableAutoscaling", "MinCapacity", "MaxCapacity", "TargetBacklogPerInstance",
    }  # fmt: skip
    assert set(batch_template["Parameters"]) - COMMON == {
        "InstanceType", "InstanceCount", "MaxPayloadInMB", "SplitType", "JoinSource", "BatchStrategy", "ContentType", "Schedule",
        "StateMachineRoleArn", "TriggerRoleArn",
    }  # fmt: skip
    batch = batch_template["Parameters"]
    assert batch["SplitType"]["AllowedValues"] == ["Line", "None", "RecordIO", "TFRecord"]
    assert batch["JoinSource"]["AllowedValues"] == ["None", "Input"]
    schedule = batch["Schedule"]["AllowedPattern"]
    for good in ("", "rate(1 day)", "rate(6 hours)", "cron(0 2 * * ? *)"):
        assert re.fullmatch(schedule.strip("^$"), good), good
    for bad in ("daily", "rate(1 days)", "cron(0 2 * *)", "cron(0 2 * * * *)"):
        assert not re.fullmatch(schedule.strip("^$"), bad), bad
    assert async_template["Parameters"]["MinCapacity"]["MinValue"] == 0
    assert async_template["Parameters"]["MaxConcurrentInvocationsPerInstance"]["MinValue"] == 1


def _role(template, prefix: str) -> str:
    (role,) = [i for i, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and i.startswith(prefix)]
    return role


def test_async_model_role_reads_requests_writes_answers_and_publishes(async_template):
    policy = role_policy(async_template, _role(async_template, "EndpointRole"), parameters=REQUIRED)
    base = f"{BUCKET}/async-inference/abalone-{PROJECT_ID}-staging"
    assert policy.allowed("s3:GetObject", f"{base}/input/request-1.csv")
    assert policy.allowed("s3:PutObject", f"{base}/output/1f2e.out")
    assert policy.allowed("s3:PutObject", f"{base}/failure/1f2e-error.out")
    assert not policy.allowed("s3:PutObject", f"{base}/input/request-1.csv")
    # Another endpoint's answers are not this model's to write (the bucket is readable: model artifacts).
    assert not policy.allowed("s3:PutObject", f"{BUCKET}/async-inference/other-endpoint/output/x")
    resources = async_template["Resources"]
    topics = [i for i, r in resources.items() if r["Type"] == "AWS::SNS::Topic"]
    assert len(topics) == 2
    for topic in topics:
        assert resources[topic]["Properties"]["KmsMasterKeyId"] == {
            "Fn::If": ["StageOwnStorage", {"Fn::GetAtt": ["StageStorageKey3261DDDD", "Arn"]}, {"Ref": "ArtifactKmsKeyArn"}]
        }
    published = [
        s for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"] if s.get("Action") == "sns:Publish"
    ]  # fmt: skip
    assert published and sorted(ref["Ref"] for ref in published[0]["Resource"]) == sorted(topics)
    assert policy.allowed("kms:GenerateDataKey", REQUIRED["ArtifactKmsKeyArn"])
    # Evaluated as IAM would: publish to the stage's two topics, and no other.
    resolver = Resolver(async_template, parameters=REQUIRED, region=REGION, account=ACCOUNT)
    for topic in topics:
        arn = resolver.resolve({"Ref": topic})
        assert arn.startswith(f"arn:aws:sns:{REGION}:{ACCOUNT}:"), arn
        assert policy.allowed("sns:Publish", arn), arn
    assert not policy.allowed("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:billing-alerts")
    assert not policy.allowed("sns:Subscribe", resolver.resolve({"Ref": topics[0]}))


def test_async_endpoint_scales_to_zero_and_back(async_template):
    resources = async_template["Resources"]
    target = next(r for r in resources.values() if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["MinCapacity"] == {"Ref": "MinCapacity"}
    alarm = next(r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == "HasBacklogWithoutCapacity")
    condition = async_template["Conditions"][alarm["Condition"]]
    assert {"Fn::Equals": [{"Ref": "MinCapacity"}, "0"]} in condition["Fn::And"]
    resolver = Resolver(async_template, parameters=REQUIRED)
    assert resolver.condition(alarm["Condition"]) is True  # the defaults scale to zero
    assert Resolver(async_template, parameters={**REQUIRED, "MinCapacity": "1"}).condition(alarm["Condition"]) is False


def test_async_stage_in_another_account_lets_the_given_role_read_write_and_publish(async_template):
    resources = async_template["Resources"]
    bucket_policy = json.dumps(resources["StageStorageBucketPolicy520F13CE"]["Properties"]["PolicyDocument"])
    for prefix in ("data-capture/*", "/output/*", "/failure/*", "/input/*"):
        assert prefix in bucket_policy, prefix
    topic_policies = [r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    assert len(topic_policies) == 2
    for policy in topic_policies:
        text = json.dumps(policy["Properties"]["PolicyDocument"])
        assert "PublishByExecutionRole" in text and "StageGivenExecutionRole" in text


def test_batch_roles_are_least_privilege(batch_template):
    model = role_policy(batch_template, _role(batch_template, "TransformRole"), parameters=BATCH_REQUIRED)
    base = f"{BUCKET}/batch-transform/staging"
    assert model.allowed("s3:GetObject", f"{base}/input/day-1.csv")
    assert model.allowed("s3:PutObject", f"{base}/output/run-1/day-1.csv.out")
    assert not model.allowed("s3:PutObject", f"{base}/input/day-1.csv")
    assert not model.allowed("s3:PutObject", f"{BUCKET}/batch-transform/prod/output/run-1/x.out")
    assert model.allowed("s3:ListBucket", BUCKET, {"s3:prefix": "batch-transform/staging/input/"})
    assert not model.allowed("s3:ListBucket", BUCKET, {"s3:prefix": "other/"})
    starter = role_policy(batch_template, _role(batch_template, "TransformStarterRole"), parameters=BATCH_REQUIRED)
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/{PROJECT_ID}-0c6e9f0e-1111-2222-3333-444455556666"
    for action in ("sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
                   "sagemaker:AddTags", "sagemaker:ListTags"):  # fmt: skip
        assert starter.allowed(action, job), action
        assert not starter.allowed(action, f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/p-other-0c6e9f0e")
    assert not starter.allowed("sagemaker:CreateTrainingJob", "*")
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"
    assert starter.allowed("events:PutRule", rule) and not starter.allowed("events:PutRule", rule + "2")
    trigger = role_policy(batch_template, _role(batch_template, "TransformTriggerRole"), parameters=BATCH_REQUIRED)
    assert [a for a, _ in trigger.allowed_actions()] == ["states:StartExecution"]


def test_a_batch_stage_given_roles_creates_none_and_runs_as_them(batch_template):
    """In another account (ExecutionRoleArn given), the state machine and the rules run as the given
    StateMachineRoleArn and TriggerRoleArn (the target baseline's transform and trigger roles):
    no role or policy of the stack exists, and nothing waits on one that does not."""
    baseline = "arn:aws:iam::210987654321:role/sagemaker-projects-cdk/sagemaker-projects-123456789012"
    given = {
        **BATCH_REQUIRED, "ArtifactBucketName": "", "ArtifactKmsKeyArn": "", "ExecutionRoleArn": f"{baseline}-endpoint",
        "StateMachineRoleArn": f"{baseline}-transform", "TriggerRoleArn": f"{baseline}-trigger", "Schedule": "rate(1 day)",
    }  # fmt: skip
    resolver = Resolver(batch_template, parameters=given, region=REGION, account=ACCOUNT)
    resources = batch_template["Resources"]
    present = {i for i, r in resources.items() if "Condition" not in r or resolver.condition(r["Condition"])}
    assert not [i for i in present if resources[i]["Type"].startswith("AWS::IAM::")]
    (machine,) = [i for i in present if resources[i]["Type"] == "AWS::StepFunctions::StateMachine"]
    assert resolver.resolve(resources[machine]["Properties"]["RoleArn"]) == f"{baseline}-transform"
    (model,) = [i for i in present if resources[i]["Type"] == "AWS::SageMaker::Model"]
    assert resolver.resolve(resources[model]["Properties"]["ExecutionRoleArn"]) == f"{baseline}-endpoint"
    rules = [i for i in present if resources[i]["Type"] == "AWS::Events::Rule"]
    assert len(rules) == 2
    for rule in rules:
        (target,) = resources[rule]["Properties"]["Targets"]
        assert resolver.resolve(target["RoleArn"]) == f"{baseline}-trigger"
    for logical_id in present:
        assert set(resources[logical_id].get("DependsOn", [])) <= present, logical_id
    # The own roles' template (this account) runs as the stack's own roles.
    own = Resolver(batch_template, parameters=BATCH_REQUIRED, region=REGION, account=ACCOUNT)
    starter = _role(batch_template, "TransformStarterRole")
    assert own.resolve(resources[machine]["Properties"]["RoleArn"]) == own.get_att(starter, "Arn")


def test_the_run_roles_are_given_with_the_execution_role(batch_template):
    (assertion_machine, assertion_trigger) = batch_template["Rules"]["RunRolesWithExecutionRole"]["Assertions"]
    assert assertion_machine["AssertDescription"] == "StateMachineRoleArn is given exactly when ExecutionRoleArn is"
    assert assertion_trigger["AssertDescription"] == "TriggerRoleArn is given exactly when ExecutionRoleArn is"
    for assertion, parameter in ((assertion_machine, "StateMachineRoleArn"), (assertion_trigger, "TriggerRoleArn")):
        for execution_role, run_role, holds in (("", "", True), ("r", "r", True), ("r", "", False), ("", "r", False)):
            values = {**BATCH_REQUIRED, "ExecutionRoleArn": execution_role, "StateMachineRoleArn": "", "TriggerRoleArn": "", parameter: run_role}
            resolver = Resolver(batch_template, parameters=values, region=REGION, account=ACCOUNT)
            assert resolver.resolve(assertion["Assert"]) is holds, (parameter, execution_role, run_role)


def test_batch_runs_after_each_deployment_and_on_the_schedule_when_given(batch_template):
    resources = batch_template["Resources"]
    rules = {i: r for i, r in resources.items() if r["Type"] == "AWS::Events::Rule"}
    deployed = next(r for r in rules.values() if "EventPattern" in r["Properties"])
    assert deployed["Properties"]["EventPattern"]["detail"]["stack-id"] == [{"Ref": "AWS::StackId"}]
    scheduled = next(r for r in rules.values() if "ScheduleExpression" in r["Properties"])
    assert Resolver(batch_template, parameters=BATCH_REQUIRED).condition(scheduled["Condition"]) is False
    assert Resolver(batch_template, parameters={**BATCH_REQUIRED, "Schedule": "rate(1 day)"}).condition(scheduled["Condition"]) is True
