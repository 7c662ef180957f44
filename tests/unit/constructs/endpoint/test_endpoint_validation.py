"""Bad endpoint settings fail at synth with a clear ValueError; tokens are left to CloudFormation.

Nothing here synthesizes: settings check themselves when created, the construct when built.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, CfnParameter, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from sagemaker_projects_cdk.constructs.endpoint import (
    Autoscaling,
    BlueGreenRollout,
    DataCapture,
    InstanceVariant,
    ModelEndpoint,
    RollbackAlarms,
    ServerlessVariant,
    TrafficShift,
    TrafficStep,
)

PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-p-abc123/7"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def endpoint_stack() -> Stack:
    return Stack(App(), "Validation")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: InstanceVariant(instance_type="ml.q9.xlarge"), r"invalid instance_type 'ml\.q9\.xlarge': expected a SageMaker instance type"),
        (lambda: InstanceVariant(instance_type="m5.large"), r"invalid instance_type 'm5\.large'"),
        (lambda: InstanceVariant(instance_type="ml.m5.huge"), r"invalid instance_type 'ml\.m5\.huge'"),
        (lambda: InstanceVariant(initial_instance_count=0), r"invalid initial_instance_count 0: expected a whole number from 1 to 1000"),
        (lambda: InstanceVariant(initial_instance_count=1.5), r"invalid initial_instance_count 1\.5"),
        (lambda: InstanceVariant(variant_name="all traffic"), r"invalid variant_name 'all traffic'"),
        (
            lambda: InstanceVariant(model_data_download_timeout=Duration.seconds(30)),
            r"invalid model_data_download_timeout '30 seconds': expected whole seconds from 60 to 3600",
        ),
        (lambda: ServerlessVariant(memory_size_mb=1500), r"invalid memory_size_mb 1500: expected one of 1024, 2048, 3072, 4096, 5120, 6144"),
        (lambda: ServerlessVariant(max_concurrency=0), r"invalid max_concurrency 0: expected a whole number from 1 to 200"),
        (lambda: ServerlessVariant(max_concurrency=201), r"invalid max_concurrency 201"),
        (
            lambda: ServerlessVariant(max_concurrency=5, provisioned_concurrency=6),
            r"invalid provisioned_concurrency 6: expected a whole number from 1 to 5",
        ),
        (lambda: DataCapture(sampling_percentage=101), r"invalid sampling_percentage 101: expected a whole number from 0 to 100"),
        (lambda: DataCapture(sampling_percentage=-1), r"invalid sampling_percentage -1"),
        (lambda: DataCapture(capture_input=False, capture_output=False), r"invalid capture_input/capture_output .*at least one of them True"),
        (lambda: DataCapture(prefix="/captured/"), r"invalid prefix '/captured/': expected an S3 key prefix"),
        (lambda: DataCapture(enabled="yes"), r"invalid enabled 'yes': expected True, False or a token"),
        (lambda: Autoscaling(min_capacity=0), r"invalid min_capacity 0: expected a whole number from 1 to 1000"),
        (lambda: Autoscaling(min_capacity=3, max_capacity=2), r"invalid max_capacity 2: expected at least min_capacity \(3\)"),
        (lambda: Autoscaling(target_invocations_per_instance=0), r"invalid target_invocations_per_instance 0"),
        (lambda: TrafficStep(unit="PERCENT", value=10), r"invalid step unit 'PERCENT': expected one of 'CAPACITY_PERCENT', 'INSTANCE_COUNT'"),
        (lambda: TrafficStep.percent(0), r"invalid step value 0: expected a whole number from 1 to 100"),
        (lambda: TrafficShift.canary(TrafficStep.percent(60)), r"invalid canary size '60%': expected at most 50% of the fleet"),
        (lambda: TrafficShift.linear(TrafficStep.percent(5)), r"invalid linear step size '5%': expected 10% to 50% of the fleet"),
        (lambda: TrafficShift(mode="BLUE"), r"invalid traffic mode 'BLUE': expected one of 'ALL_AT_ONCE', 'CANARY', 'LINEAR'"),
        (lambda: TrafficShift(mode="CANARY"), r"invalid step None: expected a TrafficStep for CANARY"),
        (lambda: TrafficShift(step=TrafficStep.percent(10)), r"invalid step .*: expected no step with ALL_AT_ONCE"),
        (lambda: TrafficShift.all_at_once(wait_interval=Duration.hours(2)), r"invalid wait_interval '2 hours': expected whole seconds from 0 to 3600"),
        (lambda: RollbackAlarms(error_threshold=0), r"invalid error_threshold 0: expected a whole number from 1 to 1000000"),
        (lambda: RollbackAlarms(latency_threshold=Duration.seconds(61)), r"invalid latency_threshold '1 minute 1 second': expected 1 ms to 60 s"),
        (lambda: RollbackAlarms(latency_threshold=Duration.millis(0)), r"invalid latency_threshold .*: expected 1 ms to 60 s"),
        (lambda: RollbackAlarms(latency_statistic="p42"), r"invalid latency_statistic 'p42'"),
        (lambda: RollbackAlarms(period=Duration.seconds(30)), r"invalid period '30 seconds': expected whole seconds from 60 to 300"),
        (lambda: RollbackAlarms(period=Duration.seconds(90)), r"invalid period '1 minute 30 seconds': expected whole minutes"),
        (lambda: RollbackAlarms(evaluation_periods=0), r"invalid evaluation_periods 0"),
        (
            lambda: BlueGreenRollout(maximum_execution_timeout=Duration.minutes(5)),
            r"invalid maximum_execution_timeout '5 minutes': expected whole seconds from 600 to 28800",
        ),
        (
            lambda: BlueGreenRollout(
                traffic=TrafficShift.linear(TrafficStep.percent(25), wait_interval=Duration.minutes(10)),
                maximum_execution_timeout=Duration.minutes(30),
            ),
            r"invalid maximum_execution_timeout '30 minutes': expected more than the waits it covers "
            r"\(4 x wait_interval \+ termination_wait = 2700 seconds\)",
        ),
    ],
)
def test_bad_settings_raise_a_clear_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_every_problem_of_a_group_is_reported_at_once():
    with pytest.raises(ValueError) as error:
        InstanceVariant(instance_type="ml.q9.xlarge", initial_instance_count=0, variant_name="-")
    lines = str(error.value).splitlines()
    assert [line.split()[1] for line in lines] == ["instance_type", "initial_instance_count", "variant_name"]


@pytest.mark.parametrize(
    "props, match",
    [
        ({"model_package_arn": "churn-p-abc123/7"}, r"invalid model_package_arn 'churn-p-abc123/7': expected a versioned model package ARN"),
        (
            {"model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/churn"},
            r"invalid model_package_arn",
        ),
        ({"endpoint_name": "churn_staging"}, r"invalid endpoint_name 'churn_staging': expected 1 to 63 letters, digits and inner hyphens"),
        ({"variant": ServerlessVariant(), "rollout": BlueGreenRollout()}, r"invalid rollout 'given': expected none with a ServerlessVariant"),
        ({"variant": ServerlessVariant(), "network_isolation": True}, r"invalid network_isolation 'given': expected none with a ServerlessVariant"),
        ({"variant": ServerlessVariant(), "autoscaling": Autoscaling()}, r"invalid autoscaling 'given'"),
        ({"variant": ServerlessVariant(), "data_capture": DataCapture()}, r"invalid data_capture 'given'"),
        ({"data_capture": DataCapture()}, r"invalid data_capture 'without bucket': expected a bucket to capture into"),
        (
            {"variant": InstanceVariant(initial_instance_count=5), "autoscaling": Autoscaling(min_capacity=1, max_capacity=4)},
            r"invalid initial_instance_count 5: expected between autoscaling min_capacity \(1\) and max_capacity \(4\)",
        ),
        (
            {"rollout": BlueGreenRollout(traffic=TrafficShift.canary(TrafficStep.instances(1)))},
            r"invalid canary size '1 instance\(s\)': expected at most 50% of the fleet \(1 instance\(s\)\)",
        ),
        (
            {
                "variant": InstanceVariant(initial_instance_count=4),
                "rollout": BlueGreenRollout(traffic=TrafficShift.linear(TrafficStep.instances(3))),
            },
            r"invalid linear step size '3 instance\(s\)': expected 10% to 50% of the fleet \(4 instance\(s\)\)",
        ),
    ],
)
def test_bad_endpoint_props_raise_a_clear_value_error(endpoint_stack, props, match):
    with pytest.raises(ValueError, match=match):
        ModelEndpoint(endpoint_stack, "Endpoint", **{"model_package_arn": PACKAGE, **props})


def test_a_model_artifacts_key_needs_a_bucket_to_read_from(endpoint_stack):
    key = kms.Key.from_key_arn(endpoint_stack, "Key", KEY)
    with pytest.raises(
        ValueError,
        match=r"invalid model_artifacts_key 'without a bucket': expected a model_artifacts_bucket \(or bucket\) "
        r"the artifacts are read from",
    ):
        ModelEndpoint(endpoint_stack, "Endpoint", model_package_arn=PACKAGE, model_artifacts_key=key)


def test_serverless_with_a_vpc_is_rejected(endpoint_stack):
    vpc = ec2.Vpc.from_vpc_attributes(
        endpoint_stack, "Vpc", vpc_id="vpc-1", availability_zones=["a"], private_subnet_ids=["subnet-1"]
    )
    with pytest.raises(ValueError, match=r"invalid vpc 'given': expected none with a ServerlessVariant"):
        ModelEndpoint(endpoint_stack, "Endpoint", model_package_arn=PACKAGE, variant=ServerlessVariant(), vpc=vpc)


def test_the_construct_reports_all_its_problems_together(endpoint_stack):
    with pytest.raises(ValueError) as error:
        ModelEndpoint(
            endpoint_stack,
            "Endpoint",
            model_package_arn="nope",
            endpoint_name="bad name",
            data_capture=DataCapture(),
        )
    assert len(str(error.value).splitlines()) == 3


def test_tokens_are_left_to_cloudformation(endpoint_stack):
    def number(name: str):
        return CfnParameter(endpoint_stack, name, type="Number").value_as_number

    def string(name: str):
        return CfnParameter(endpoint_stack, name, type="String").value_as_string

    endpoint = ModelEndpoint(
        endpoint_stack,
        "Endpoint",
        model_package_arn=string("Package"),
        endpoint_name=string("Name"),
        variant=InstanceVariant(instance_type=string("Type"), initial_instance_count=number("Count")),
        bucket=s3.Bucket.from_bucket_name(endpoint_stack, "Bucket", "bucket"),
        data_capture=DataCapture(enabled=string("Capture"), sampling_percentage=number("Percent")),
        autoscaling=Autoscaling(min_capacity=number("Min"), max_capacity=number("Max"), enabled=string("Scale")),
        rollout=BlueGreenRollout(
            traffic=TrafficShift(
                mode=string("Mode"),
                step=TrafficStep(unit=string("Unit"), value=number("Step")),
                wait_interval=Duration.seconds(number("Wait")),
            ),
            termination_wait=Duration.seconds(number("Termination")),
            maximum_execution_timeout=Duration.seconds(number("Timeout")),
            alarms=RollbackAlarms(error_threshold=number("Errors"), latency_threshold=Duration.millis(number("Latency"))),
        ),
    )
    assert endpoint.scalable_target is not None and len(endpoint.alarms) == 2


def test_a_token_latency_threshold_must_be_in_milliseconds(endpoint_stack):
    seconds = CfnParameter(endpoint_stack, "LatencySeconds", type="Number").value_as_number
    with pytest.raises(ValueError, match=r"invalid latency_threshold .*: expected Duration\.millis\(\.\.\.\) when the value is a token"):
        RollbackAlarms(latency_threshold=Duration.seconds(seconds))
