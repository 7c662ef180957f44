"""BatchTransform: the model, the state machine's one transform task (its request, as SageMaker
reads it), the least-privilege roles, the schedule and after-deployment rules, and bad input.

One stack holding every case is synthesized once with the three security packs.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from aws_cdk import App, CfnParameter, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from iam_eval import role_policy
from sagemaker_projects_cdk.compliance import acknowledge, acknowledge_wildcards, add_security_packs
from sagemaker_projects_cdk.constructs.endpoint import MODEL_PACKAGE_TAG, BatchTransform, TransformSettings

PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-p-abc123/7"


@pytest.fixture(scope="module")
def cases():
    app = App()
    stack = Stack(app, "Batches", env={"account": "123456789012", "region": "eu-west-1"})
    key = kms.Key(stack, "ProjectKey", enable_key_rotation=True)
    bucket = s3.Bucket.from_bucket_attributes(stack, "ProjectBucket", bucket_name="project-bucket", encryption_key=key)
    c = SimpleNamespace(stack=stack, key=key)
    c.daily = BatchTransform(
        stack,
        "Daily",
        model_package_arn=PACKAGE,
        bucket=bucket,
        schedule="cron(0 2 * * ? *)",
        job_name_prefix="p-abc123",
        settings=TransformSettings(
            instance_type="ml.c5.xlarge",
            instance_count=2,
            max_payload_mb=20,
            split_type="Line",
            join_source="Input",
            batch_strategy="SingleRecord",
        ),
    )
    c.local = BatchTransform(
        stack,
        "Local",
        model_package_arn=PACKAGE,
        bucket=bucket,
        run_on_deploy=False,
        input_prefix="scoring/in",
        output_prefix="scoring/out",
        settings=TransformSettings(instance_type="ml.g5.xlarge", split_type="RecordIO", content_type="application/x-recordio"),
    )
    c.tokens = BatchTransform(
        stack,
        "Tokens",
        model_package_arn=PACKAGE,
        bucket=bucket,
        schedule=CfnParameter(stack, "Schedule", type="String").value_as_string,
        settings=TransformSettings(
            instance_type=CfnParameter(stack, "InstanceType", type="String").value_as_string,
            instance_count=CfnParameter(stack, "InstanceCount", type="Number").value_as_number,
            split_type=CfnParameter(stack, "SplitType", type="String").value_as_string,
        ),
    )
    operator = iam.Role(stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    c.daily.grant_start(operator)
    acknowledge(
        operator.node.find_child("DefaultPolicy"),
        "test operator only",
        "HIPAA.Security-IAMNoInlinePolicy",
        "NIST.800.53.R5-IAMNoInlinePolicy",
    )
    acknowledge_wildcards(operator.node.find_child("DefaultPolicy"), "runs are named at start", c.daily.executions_arn)
    c.operator = operator
    add_security_packs(app)
    app.synth()
    c.json = Template.from_stack(stack).to_json()
    c.resources = c.json["Resources"]
    return c


def _lid(c, construct) -> str:
    return c.stack.get_logical_id(construct if hasattr(construct, "cfn_options") else construct.node.default_child)


def _get(c, construct) -> dict:
    return c.resources[_lid(c, construct)]


def _definition(c, transform) -> dict:
    """The state machine's definition as Step Functions reads it, each CloudFormation token (a Ref,
    GetAtt or If CloudFormation substitutes) in its place: whole values become the token's object,
    tokens within a string become ``<json of the token>``."""
    parts = _get(c, transform.state_machine)["Properties"]["DefinitionString"]["Fn::Join"][1]
    tokens: list = []
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
            continue
        tokens.append(part)
        marker = f"@@{len(tokens) - 1}@@"
        # A number token stands outside quotes (the definition holds the number itself).
        text += f'"{marker}"' if text.endswith('":') else marker
    return _restore(json.loads(text), tokens)


def _restore(value, tokens):
    if isinstance(value, dict):
        return {k: _restore(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, tokens) for v in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"@@(\d+)@@", value)
        if whole:
            return tokens[int(whole.group(1))]
        return re.sub(r"@@(\d+)@@", lambda m: f"<{json.dumps(tokens[int(m.group(1))], sort_keys=True)}>", value)
    return value


def test_the_task_runs_a_transform_job_and_waits_for_it(cases):
    c = cases
    state = _definition(c, c.daily)["States"]["Transform"]
    assert state["Resource"].endswith(":states:::sagemaker:createTransformJob.sync")
    p = state["Parameters"]
    assert p["TransformJobName.$"] == "States.Format('p-abc123-{}', States.UUID())"
    assert p["ModelName"] == {"Fn::GetAtt": [_lid(c, c.daily.model), "ModelName"]}
    assert p["MaxPayloadInMB"] == 20 and p["BatchStrategy"] == "SingleRecord"
    assert p["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://project-bucket/batch-transform/input/"}},
        "ContentType": "text/csv",
        "SplitType": "Line",
        "CompressionType": "None",
    }
    out = p["TransformOutput"]
    assert out["S3OutputPath.$"] == "States.Format('s3://project-bucket/batch-transform/output/{}', $$.Execution.Name)"
    assert out["AssembleWith"] == "Line" and out["Accept"] == "text/csv"
    key = {"Fn::GetAtt": [c.stack.get_logical_id(c.key.node.default_child), "Arn"]}
    assert out["KmsKeyId"] == key
    assert p["TransformResources"]["InstanceType"] == "ml.c5.xlarge" and p["TransformResources"]["InstanceCount"] == 2
    assert p["TransformResources"]["VolumeKmsKeyId"] == key
    assert p["DataProcessing"] == {"JoinSource": "Input"}
    # SageMaker's job name limit: prefix, hyphen and a 36-character UUID.
    assert len("p-abc123") + 1 + 36 <= 63


def test_local_storage_instances_get_no_volume_key_and_records_are_not_joined_by_line(cases):
    p = _definition(cases, cases.local)["States"]["Transform"]["Parameters"]
    assert "VolumeKmsKeyId" not in p["TransformResources"]
    assert p["TransformOutput"]["AssembleWith"] == "None"
    assert p["TransformInput"]["SplitType"] == "RecordIO"
    assert p["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://project-bucket/scoring/in/"


def test_token_settings_are_decided_at_deploy_time(cases):
    c = cases
    p = _definition(c, c.tokens)["States"]["Transform"]["Parameters"]
    assert p["TransformResources"]["InstanceType"] == {"Ref": "InstanceType"}
    assert p["TransformResources"]["InstanceCount"] == {"Ref": "InstanceCount"}
    assert p["TransformOutput"]["AssembleWith"]["Fn::If"][1:] == ["Line", "None"]
    assert p["TransformResources"]["VolumeKmsKeyId"]["Fn::If"][1] == ""
    rule = _get(c, c.tokens.schedule_rule)
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "Schedule"}
    assert c.json["Conditions"][rule["Condition"]] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Schedule"}, ""]}]}


def test_model_serves_the_package_isolated(cases):
    model = _get(cases, cases.daily.model)["Properties"]
    assert model["PrimaryContainer"] == {"ModelPackageName": PACKAGE}
    assert model["EnableNetworkIsolation"] is True
    assert {"Key": MODEL_PACKAGE_TAG, "Value": PACKAGE} in model["Tags"]


def _statements(c, policy) -> list[dict]:
    return _get(c, policy)["Properties"]["PolicyDocument"]["Statement"]


def _actions(statement) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def test_the_starter_may_only_run_this_transforms_jobs_and_pass_its_model_role(cases):
    c = cases
    statements = _statements(c, c.daily.starter_policy)
    jobs = next(s for s in statements if "sagemaker:CreateTransformJob" in _actions(s))
    assert set(_actions(jobs)) == {
        "sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
        "sagemaker:AddTags", "sagemaker:ListTags",
    }  # fmt: skip
    assert jobs["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:eu-west-1:123456789012:transform-job/p-abc123-*"]]
    }
    passing = next(s for s in statements if "iam:PassRole" in _actions(s))
    assert passing["Resource"] == {"Fn::GetAtt": [_lid(c, c.daily.role), "Arn"]}
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    rule = next(s for s in statements if "events:PutRule" in _actions(s))
    assert rule["Resource"]["Fn::Join"][1][-1].endswith(":rule/StepFunctionsGetEventsForSageMakerTransformJobsRule")
    assert _get(c, c.daily.state_machine)["Properties"]["RoleArn"] == {"Fn::GetAtt": [_lid(c, c.daily.starter_role), "Arn"]}


def test_the_default_job_name_prefix_is_lower_case_so_the_starter_may_create_the_job(cases):
    """SageMaker lower-cases a transform job's name in its ARN and IAM compares ARNs
    case-sensitively: a mixed-case prefix (Names.unique_resource_name's) would be denied."""
    c = cases
    prefix = c.local.job_name_prefix
    assert prefix == prefix.lower() and re.fullmatch(r"[a-z0-9](-*[a-z0-9]){0,25}", prefix), prefix
    starter = role_policy(c.json, _lid(c, c.local.starter_role))
    job = f"arn:aws:sagemaker:eu-west-1:123456789012:transform-job/{prefix}-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    for action in ("sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
                   "sagemaker:AddTags", "sagemaker:ListTags"):  # fmt: skip
        assert starter.allowed(action, job), action
    assert not starter.allowed("sagemaker:CreateTransformJob", job.replace(f"/{prefix}-", "/other-"))


def test_the_model_role_reads_the_input_and_writes_the_output_only(cases):
    c = cases
    statements = _statements(c, c.local.policy)
    gets = [json.dumps(s["Resource"]) for s in statements if _actions(s) == ["s3:GetObject"]]
    puts = [json.dumps(s["Resource"]) for s in statements if "s3:PutObject" in _actions(s)]
    assert any("scoring/in/*" in g for g in gets)
    assert len(puts) == 1 and "scoring/out/*" in puts[0] and "scoring/in" not in puts[0]
    listing = next(s for s in statements if _actions(s) == ["s3:ListBucket"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["scoring/in/*", "scoring/in"]}}


def test_rules_run_on_the_schedule_and_after_each_deployment(cases):
    c = cases
    schedule = _get(c, c.daily.schedule_rule)["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    deployed = _get(c, c.daily.deploy_rule)["Properties"]
    assert deployed["EventPattern"] == {
        "source": ["aws.cloudformation"],
        "detail-type": ["CloudFormation Stack Status Change"],
        "detail": {"stack-id": [{"Ref": "AWS::StackId"}], "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]}},
    }
    for props in (schedule, deployed):
        (target,) = props["Targets"]
        assert target["Arn"] == {"Ref": _lid(c, c.daily.state_machine)}
        assert target["RoleArn"] == {"Fn::GetAtt": [_lid(c, c.daily.trigger_role), "Arn"]}
    trigger = _statements(c, c.daily.trigger_policy)
    assert trigger == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": _lid(c, c.daily.state_machine)}}]
    assert c.local.schedule_rule is None and c.local.deploy_rule is None


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: TransformSettings(split_type="Lines"), r"invalid split_type 'Lines': expected one of 'None', 'Line', 'RecordIO', 'TFRecord'"),
        (lambda: TransformSettings(join_source="Output"), r"invalid join_source 'Output'"),
        (lambda: TransformSettings(batch_strategy="Many"), r"invalid batch_strategy 'Many'"),
        (lambda: TransformSettings(max_payload_mb=101), r"invalid max_payload_mb 101"),
        (lambda: TransformSettings(instance_count=0), r"invalid instance_count 0"),
        (lambda: TransformSettings(instance_count=101), r"invalid instance_count 101"),
        (lambda: TransformSettings(max_payload_mb=-1), r"invalid max_payload_mb -1"),
        (
            lambda: TransformSettings(max_concurrent_transforms=5, max_payload_mb=21),
            r"invalid max_concurrent_transforms 5: .*max_concurrent_transforms \(5\) times max_payload_mb \(21\) must not exceed 100",
        ),
        (lambda: TransformSettings(split_type="line"), r"invalid split_type 'line'"),
        (lambda: TransformSettings(instance_type="ml.q9.large"), r"invalid instance_type 'ml\.q9\.large'"),
        (lambda: TransformSettings(content_type="csv"), r"invalid content_type 'csv'"),
    ],
)
def test_bad_transform_settings_raise_a_value_error_naming_the_setting(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_concurrent_transforms_times_payload_may_reach_100_mb():
    assert TransformSettings(max_concurrent_transforms=5, max_payload_mb=20).max_concurrent_transforms == 5
    assert TransformSettings(max_concurrent_transforms=1000, max_payload_mb=0).max_payload_mb == 0  # streaming


def _transform(**props):
    stack = Stack(App(), "Bad")
    key = kms.Key(stack, "K")
    props.setdefault("bucket", s3.Bucket.from_bucket_attributes(stack, "B", bucket_name="project-bucket", encryption_key=key))
    return BatchTransform(stack, "T", model_package_arn=props.pop("model_package_arn", PACKAGE), **props)


@pytest.mark.parametrize(
    "props, match",
    [
        ({"schedule": "every day"}, r"invalid schedule 'every day': expected a schedule expression"),
        ({"schedule": "rate(0 days)"}, r"invalid schedule 'rate\(0 days\)'"),
        ({"schedule": "rate(1 days)"}, r"invalid schedule"),
        ({"schedule": "cron(0 2 * * ?)"}, r"invalid schedule 'cron\(0 2 \* \* \?\)'"),
        # EventBridge takes a value in one of the two day fields only (the other is '?').
        ({"schedule": "cron(0 2 * * * *)"}, r"invalid schedule 'cron\(0 2 \* \* \* \*\)'"),
        ({"schedule": "cron(0 2 ? * ? *)"}, r"invalid schedule"),
        ({"schedule": "cron(zero two * * ? *)"}, r"invalid schedule"),
        ({"job_name_prefix": "a" * 27}, r"invalid job_name_prefix"),
        ({"job_name_prefix": "Nightly-Scoring"}, r"invalid job_name_prefix 'Nightly-Scoring': expected 1 to 26 lower-case"),
        ({"output_prefix": "batch-transform/input/out"}, r"invalid output_prefix .*a run would read its own output"),
        ({"model_package_arn": "churn"}, r"invalid model_package_arn 'churn'"),
    ],
)
def test_bad_batch_transform_props_raise_a_value_error(props, match):
    with pytest.raises(ValueError, match=match):
        _transform(**props)


@pytest.mark.parametrize(
    "expression",
    ["rate(1 day)", "rate(12 hours)", "rate(5 minutes)", "cron(0 2 * * ? *)", "cron(15 10 ? * 6L 2026-2030)",
     "cron(0/15 * ? * MON-FRI *)", "cron(0 8 1,15 * ? *)", "cron(0 18 ? * 6#3 *)"],
)
def test_good_schedules_are_accepted(expression):
    assert _transform(schedule=expression).schedule_rule is not None


def test_a_bucket_without_a_key_needs_one():
    stack = Stack(App(), "NoKey")
    with pytest.raises(ValueError, match=r"invalid key None: expected a KMS key \(the bucket has none\)"):
        BatchTransform(stack, "T", model_package_arn=PACKAGE, bucket=s3.Bucket.from_bucket_name(stack, "B", "plain"))


def test_grant_start_lets_an_operator_start_and_follow_runs_only(cases):
    c = cases
    policy = next(r for lid, r in c.resources.items() if lid.startswith("OperatorDefaultPolicy"))
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [(_actions(s), s["Resource"]) for s in statements][0] == (
        ["states:StartExecution"], {"Ref": _lid(c, c.daily.state_machine)}
    )
    assert _actions(statements[1]) == ["states:DescribeExecution"]
    assert ":execution:" in json.dumps(statements[1]["Resource"])


def test_a_test_run_reads_its_own_folder_under_the_test_prefix():
    stack = Stack(App(), "TestRuns")
    key = kms.Key(stack, "K", enable_key_rotation=True)
    bucket = s3.Bucket.from_bucket_attributes(stack, "B", bucket_name="project-bucket", encryption_key=key)
    transform = BatchTransform(
        stack, "T", model_package_arn=PACKAGE, bucket=bucket, test_input_prefix="batch-transform/test-input", job_name_prefix="p-abc"
    )
    c = SimpleNamespace(stack=stack, resources=Template.from_stack(stack).to_json()["Resources"])
    definition = _definition(c, transform)
    assert definition["StartAt"] == "TestInput"
    choice = definition["States"]["TestInput"]
    assert choice["Choices"] == [{"Variable": "$.test_run", "IsPresent": True, "Next": "TransformTestInput"}]
    assert choice["Default"] == "Transform"
    scheduled = definition["States"]["Transform"]["Parameters"]
    tested = definition["States"]["TransformTestInput"]["Parameters"]
    assert tested["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri.$"] == (
        "States.Format('s3://project-bucket/batch-transform/test-input/{}/', $.test_run)"
    )
    # Everything else is the scheduled run's.
    assert {k: v for k, v in tested.items() if k != "TransformInput"} == {k: v for k, v in scheduled.items() if k != "TransformInput"}
    statements = c.resources[stack.get_logical_id(transform.policy.node.default_child)]["Properties"]["PolicyDocument"]["Statement"]
    reads = json.dumps([s["Resource"] for s in statements if s["Action"] == "s3:GetObject"])
    assert "batch-transform/test-input/*" in reads and "batch-transform/input/*" in reads
