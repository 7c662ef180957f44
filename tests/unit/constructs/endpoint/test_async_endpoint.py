"""ModelEndpoint with async_inference: queue locations, KMS-encrypted topics, the model's policy,
backlog autoscaling down to zero (with the scale-from-zero alarm), and bad input.

One stack holding every case is synthesized once with the three security packs (a finding
fails the module).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aws_cdk import App, CfnParameter, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.compliance import acknowledge, acknowledge_wildcards, add_security_packs
from sagemaker_projects_cdk.constructs.endpoint import (
    AsyncInference,
    Autoscaling,
    BacklogScaling,
    InstanceVariant,
    ModelEndpoint,
    ServerlessVariant,
)

PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-p-abc123/7"


@pytest.fixture(scope="module")
def cases():
    app = App()
    stack = Stack(app, "AsyncEndpoints")
    key = kms.Key(stack, "ProjectKey", enable_key_rotation=True)
    bucket = s3.Bucket.from_bucket_attributes(stack, "ProjectBucket", bucket_name="project-bucket", encryption_key=key)
    c = SimpleNamespace(stack=stack, key=key)
    c.default = ModelEndpoint(
        stack, "Queued", model_package_arn=PACKAGE, bucket=bucket, endpoint_name="churn-async", async_inference=AsyncInference()
    )
    c.warm = ModelEndpoint(
        stack,
        "Warm",
        model_package_arn=PACKAGE,
        bucket=bucket,
        endpoint_name="churn-warm",
        variant=InstanceVariant(instance_type="ml.c5.xlarge", initial_instance_count=2),
        async_inference=AsyncInference(
            max_concurrent_invocations_per_instance=8,
            prefix="queue",
            notifications=False,
            scaling=BacklogScaling(min_capacity=1, max_capacity=4, target_backlog_per_instance=2),
        ),
    )
    c.fixed = ModelEndpoint(
        stack, "Fixed", model_package_arn=PACKAGE, bucket=bucket, endpoint_name="churn-fixed",
        async_inference=AsyncInference(scaling=None),
    )
    c.tokens = ModelEndpoint(
        stack,
        "Tokens",
        model_package_arn=PACKAGE,
        bucket=bucket,
        endpoint_name="churn-tokens",
        async_inference=AsyncInference(
            max_concurrent_invocations_per_instance=CfnParameter(stack, "Concurrency", type="Number").value_as_number,
            scaling=BacklogScaling(
                min_capacity=CfnParameter(stack, "MinCapacity", type="Number").value_as_number,
                enabled=CfnParameter(stack, "Scale", type="String").value_as_string,
            ),
        ),
    )
    client = iam.Role(stack, "Client", assumed_by=iam.AccountRootPrincipal())
    c.default.grant_invoke(client)
    acknowledge(
        client.node.find_child("DefaultPolicy"),
        "test client only",
        "HIPAA.Security-IAMNoInlinePolicy",
        "NIST.800.53.R5-IAMNoInlinePolicy",
    )
    acknowledge_wildcards(
        client.node.find_child("DefaultPolicy"),
        "test client: request and response keys are chosen per request",
        *(bucket.arn_for_objects(f"async-inference/churn-async/{p}/*") for p in ("input", "output", "failure")),
    )
    c.client = client
    add_security_packs(app)
    app.synth()  # raises on any unacknowledged finding of the three packs
    c.template = Template.from_stack(stack)
    c.resources = c.template.to_json()["Resources"]
    c.conditions = c.template.to_json().get("Conditions", {})
    return c


def _get(c, construct) -> dict:
    return c.resources[c.stack.get_logical_id(construct.node.default_child if not hasattr(construct, "cfn_options") else construct)]


def _lid(c, construct) -> str:
    return c.stack.get_logical_id(construct.node.default_child if not hasattr(construct, "cfn_options") else construct)


def test_responses_and_failures_go_to_the_bucket_encrypted_and_notified(cases):
    c = cases
    config = _get(c, c.default.endpoint_config)["Properties"]["AsyncInferenceConfig"]
    output = config["OutputConfig"]
    assert output["S3OutputPath"] == "s3://project-bucket/async-inference/churn-async/output"
    assert output["S3FailurePath"] == "s3://project-bucket/async-inference/churn-async/failure"
    assert output["KmsKeyId"] == {"Fn::GetAtt": [c.stack.get_logical_id(c.key.node.default_child), "Arn"]}
    assert output["NotificationConfig"] == {
        "SuccessTopic": {"Ref": _lid(c, c.default.success_topic)},
        "ErrorTopic": {"Ref": _lid(c, c.default.error_topic)},
    }
    assert "ClientConfig" not in config  # SageMaker's choice by default
    assert c.default.async_input_s3_uri == "s3://project-bucket/async-inference/churn-async/input"


def test_topics_are_encrypted_with_the_key_and_ssl_only(cases):
    c = cases
    key_ref = {"Fn::GetAtt": [c.stack.get_logical_id(c.key.node.default_child), "Arn"]}
    for topic in (c.default.success_topic, c.default.error_topic):
        assert _get(c, topic)["Properties"]["KmsMasterKeyId"] == key_ref
    policies = [r for r in c.resources.values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    assert len(policies) == 3 * 2  # default, fixed and tokens: two topics each
    for policy in policies:
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_model_role_reads_requests_writes_answers_and_publishes(cases):
    c = cases
    statements = _get(c, c.default.policy)["Properties"]["PolicyDocument"]["Statement"]
    by_action = {}
    for s in statements:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action.setdefault(action, []).append(s["Resource"])
    text = str(by_action["s3:GetObject"])
    assert "async-inference/churn-async/input/*" in text
    put = str(by_action["s3:PutObject"])
    assert "async-inference/churn-async/output/*" in put and "async-inference/churn-async/failure/*" in put
    assert "async-inference/churn-async/input" not in put
    assert by_action["sns:Publish"] == [[{"Ref": _lid(c, c.default.success_topic)}, {"Ref": _lid(c, c.default.error_topic)}]]
    # Without notifications, no topic and no publish.
    warm = _get(c, c.warm.policy)["Properties"]["PolicyDocument"]["Statement"]
    assert not any("sns:Publish" in str(s["Action"]) for s in warm)
    assert c.warm.success_topic is None and c.warm.error_topic is None


def test_client_config_and_prefix_are_passed_through(cases):
    c = cases
    config = _get(c, c.warm.endpoint_config)["Properties"]["AsyncInferenceConfig"]
    assert config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 8}
    assert config["OutputConfig"]["S3OutputPath"] == "s3://project-bucket/queue/churn-warm/output"
    assert "NotificationConfig" not in config["OutputConfig"]


def test_backlog_tracking_scales_to_zero_and_the_alarm_scales_from_zero(cases):
    c = cases
    target = _get(c, c.default.scalable_target)["Properties"]
    assert target["MinCapacity"] == 0 and target["MaxCapacity"] == 2
    assert target["ResourceId"] == "endpoint/churn-async/variant/AllTraffic"
    policies = {
        lid: r for lid, r in c.resources.items() if r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy" and lid.startswith("Queued")
    }
    tracking = [r for r in policies.values() if r["Properties"]["PolicyType"] == "TargetTrackingScaling"]
    steps = [(lid, r) for lid, r in policies.items() if r["Properties"]["PolicyType"] == "StepScaling"]
    assert len(tracking) == 1 and len(steps) == 1
    spec = tracking[0]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert spec["TargetValue"] == 5
    assert spec["CustomizedMetricSpecification"] == {
        "Dimensions": [{"Name": "EndpointName", "Value": "churn-async"}],
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Average",
    }
    step_config = steps[0][1]["Properties"]["StepScalingPolicyConfiguration"]
    assert step_config["AdjustmentType"] == "ChangeInCapacity"
    assert step_config["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    alarm = _get(c, c.default.scale_from_zero_alarm)["Properties"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity" and alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": "churn-async"}]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [{"Ref": steps[0][0]}]


def test_a_minimum_of_one_has_no_scale_from_zero_alarm(cases):
    c = cases
    assert c.warm.scale_from_zero_alarm is None
    assert _get(c, c.warm.scalable_target)["Properties"]["MinCapacity"] == 1
    assert c.fixed.scalable_target is None


def test_token_minimum_decides_the_alarm_at_deploy_time(cases):
    c = cases
    alarm = _get(c, c.tokens.scale_from_zero_alarm)
    condition = c.conditions[alarm["Condition"]]
    # Both: autoscaling enabled and a minimum of 0.
    enabled, zero = condition["Fn::And"]
    assert c.conditions[enabled["Condition"]] == {"Fn::Equals": [{"Ref": "Scale"}, "true"]}
    assert zero == {"Fn::Equals": [{"Ref": "MinCapacity"}, "0"]}
    # The step policy shares the alarm's condition; the target and tracking policy only "enabled".
    target = _get(c, c.tokens.scalable_target)
    assert target["Condition"] == enabled["Condition"]
    config = _get(c, c.tokens.endpoint_config)["Properties"]["AsyncInferenceConfig"]
    assert config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": {"Ref": "Concurrency"}}


def test_grant_invoke_covers_the_async_call_and_the_queue_objects(cases):
    c = cases
    policy = next(r for lid, r in c.resources.items() if lid.startswith("ClientDefaultPolicy"))
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "sagemaker:InvokeEndpointAsync" in actions and "sagemaker:InvokeEndpoint" not in actions
    assert {"s3:PutObject", "s3:GetObject", "kms:Decrypt"} <= actions


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: AsyncInference(max_concurrent_invocations_per_instance=0), r"invalid max_concurrent_invocations_per_instance 0: expected a whole number from 1 to 1000"),
        (lambda: AsyncInference(max_concurrent_invocations_per_instance=1001), r"max_concurrent_invocations_per_instance 1001"),
        (lambda: AsyncInference(prefix="/queue/"), r"invalid prefix '/queue/'"),
        (lambda: BacklogScaling(min_capacity=-1), r"invalid min_capacity -1"),
        (lambda: BacklogScaling(min_capacity=3, max_capacity=2), r"invalid max_capacity 2: expected at least min_capacity \(3\)"),
        (lambda: BacklogScaling(max_capacity=0), r"invalid max_capacity 0"),
        (lambda: BacklogScaling(target_backlog_per_instance=0), r"invalid target_backlog_per_instance 0"),
    ],
)
def test_bad_async_settings_raise_a_value_error_naming_the_setting(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _endpoint(stack, **props):
    bucket = s3.Bucket.from_bucket_name(stack, f"B{len(stack.node.children)}", "project-bucket")
    props.setdefault("bucket", bucket)
    return ModelEndpoint(stack, f"E{len(stack.node.children)}", model_package_arn=PACKAGE, **props)


@pytest.mark.parametrize(
    "props, match",
    [
        ({"variant": ServerlessVariant(), "async_inference": AsyncInference(), "bucket": None}, r"async_inference 'with a ServerlessVariant'"),
        ({"async_inference": AsyncInference(), "bucket": None}, r"async_inference 'without bucket'"),
        ({"async_inference": AsyncInference(), "autoscaling": Autoscaling()}, r"invalid autoscaling 'given with async_inference'"),
        (
            {"variant": InstanceVariant(initial_instance_count=3), "async_inference": AsyncInference()},
            r"invalid initial_instance_count 3: expected at most async_inference.scaling max_capacity \(2\)",
        ),
        ({"async_inference": "yes"}, r"invalid async_inference 'yes'"),
    ],
)
def test_bad_async_endpoint_props_raise_a_value_error(props, match):
    with pytest.raises(ValueError, match=match):
        _endpoint(Stack(App(), "Bad"), **props)


def test_a_real_time_endpoint_has_no_async_locations():
    stack = Stack(App(), "Realtime")
    endpoint = _endpoint(stack)
    with pytest.raises(ValueError, match="async_input_s3_uri"):
        _ = endpoint.async_input_s3_uri
    assert "AsyncInferenceConfig" not in Template.from_stack(stack).to_json()["Resources"][stack.get_logical_id(endpoint.endpoint_config)]["Properties"]
