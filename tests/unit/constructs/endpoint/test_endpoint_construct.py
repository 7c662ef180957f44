"""ModelEndpoint: what it synthesizes, for the instance, serverless, VPC and local-storage cases.

One stack holding every case is synthesized once (with the three security packs, so a
finding fails the module) and shared by the tests.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Capture, Match, Template

from sagemaker_projects_cdk.compliance import acknowledge, add_security_packs
from sagemaker_projects_cdk.constructs.endpoint import (
    MODEL_PACKAGE_TAG,
    Autoscaling,
    BlueGreenRollout,
    InstanceVariant,
    ModelEndpoint,
    RollbackAlarms,
    ServerlessVariant,
    TrafficShift,
    TrafficStep,
)

PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-p-abc123/7"
#: The KMS key of another project's bucket, where its model package's artifacts are.
OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
#: Actions that IAM lets no policy scope to a resource.
UNSCOPABLE = {"cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"} | {
    f"ec2:Describe{kind}" for kind in ("DhcpOptions", "NetworkInterfaces", "SecurityGroups", "Subnets", "Vpcs")
}


@pytest.fixture(scope="module")
def endpoint_cases():
    app = App()
    stack = Stack(app, "Endpoints")
    key = kms.Key(stack, "ProjectKey", enable_key_rotation=True)
    bucket = s3.Bucket.from_bucket_attributes(stack, "ProjectBucket", bucket_name="project-bucket", encryption_key=key)
    cases = SimpleNamespace()
    cases.default = ModelEndpoint(stack, "Realtime", model_package_arn=PACKAGE, bucket=bucket, endpoint_name="churn-staging")
    cases.gpu = ModelEndpoint(
        stack,
        "Gpu",
        model_package_arn=PACKAGE,
        bucket=bucket,
        variant=InstanceVariant(instance_type="ml.g5.xlarge", initial_instance_count=4),
        autoscaling=Autoscaling(min_capacity=2, max_capacity=8, target_invocations_per_instance=150),
        rollout=BlueGreenRollout(
            traffic=TrafficShift.canary(TrafficStep.instances(1), wait_interval=Duration.minutes(10)),
            termination_wait=Duration.minutes(10),
            alarms=RollbackAlarms(error_threshold=5, latency_threshold=Duration.millis(250), latency_statistic="p99"),
        ),
        alarm_actions=[cloudwatch_actions.SnsAction(sns.Topic(stack, "Alerts", master_key=key))],
    )
    cases.serverless = ModelEndpoint(
        stack,
        "Serverless",
        model_package_arn=PACKAGE,
        variant=ServerlessVariant(memory_size_mb=3072, max_concurrency=10, provisioned_concurrency=2),
    )
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        private_subnet_ids=["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
    )
    cases.vpc = ModelEndpoint(
        stack,
        "Private",
        model_package_arn=PACKAGE,
        vpc=vpc,
        image_repositories=[ecr.Repository.from_repository_name(stack, "Images", "churn-inference")],
        rollout=BlueGreenRollout(traffic=TrafficShift.all_at_once(), alarms=None),
    )
    # A package registered by another project: artifacts in its bucket, with its key.
    cases.foreign = ModelEndpoint(
        stack,
        "Foreign",
        model_package_arn=PACKAGE,
        bucket=bucket,
        model_artifacts_bucket=s3.Bucket.from_bucket_attributes(
            stack,
            "OtherBucket",
            bucket_name="other-project-bucket",
            encryption_key=kms.Key.from_key_arn(stack, "OtherKey", OTHER_KEY),
        ),
    )
    # Artifacts in a bucket with S3-managed encryption; no project bucket, so no capture.
    cases.sse_s3 = ModelEndpoint(
        stack,
        "SseS3",
        model_package_arn=PACKAGE,
        model_artifacts_bucket=s3.Bucket.from_bucket_name(stack, "SharedBucket", "sagemaker-eu-west-1-123456789012"),
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    cases.grant = cases.default.grant_invoke(caller)
    acknowledge(
        caller.node.find_child("DefaultPolicy"),
        "test caller only",
        "HIPAA.Security-IAMNoInlinePolicy",
        "NIST.800.53.R5-IAMNoInlinePolicy",
    )
    add_security_packs(app)
    app.synth()  # raises on any unacknowledged finding of the three packs
    cases.stack = stack
    cases.template = Template.from_stack(stack)
    return cases


def _logical_id(cases, construct) -> str:
    return cases.stack.get_logical_id(construct)


def _resource(cases, construct) -> dict:
    return cases.template.to_json()["Resources"][_logical_id(cases, construct)]


def test_model_serves_the_package_with_network_isolation(endpoint_cases):
    c = endpoint_cases
    model = _resource(c, c.default.model)
    assert model["Properties"]["PrimaryContainer"] == {"ModelPackageName": PACKAGE}
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert model["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": [_logical_id(c, c.default.role.node.default_child), "Arn"]}
    # The role's policy exists before SageMaker checks the model.
    assert _logical_id(c, c.default.policy.node.default_child) in model["DependsOn"]
    assert {"Key": MODEL_PACKAGE_TAG, "Value": PACKAGE} in model["Properties"]["Tags"]


def test_endpoint_config_encrypts_and_captures_to_the_bucket(endpoint_cases):
    c = endpoint_cases
    key_arn = {"Fn::GetAtt": [_logical_id(c, c.default.key.node.default_child), "Arn"]}
    props = _resource(c, c.default.endpoint_config)["Properties"]
    assert props["KmsKeyId"] == key_arn
    assert props["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": {"Fn::GetAtt": [_logical_id(c, c.default.model), "ModelName"]},
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1,
            "InitialVariantWeight": 1,
        }
    ]
    capture = props["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 100
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["DestinationS3Uri"] == "s3://project-bucket/data-capture"
    assert capture["KmsKeyId"] == key_arn
    assert capture["CaptureContentTypeHeader"] == {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}


def test_default_rollout_is_blue_green_all_at_once_with_both_alarms(endpoint_cases):
    c = endpoint_cases
    alarm_names = [{"Ref": _logical_id(c, alarm.node.default_child)} for alarm in c.default.alarms]
    c.template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "EndpointName": "churn-staging",
            "EndpointConfigName": {"Fn::GetAtt": [_logical_id(c, c.default.endpoint_config), "EndpointConfigName"]},
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
                    "TerminationWaitInSeconds": 300,
                    "MaximumExecutionTimeoutInSeconds": 3600,
                },
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarm_names]},
            },
        },
    )
    assert len(alarm_names) == 2


def test_rollback_alarms_watch_5xx_errors_and_latency_of_the_variant(endpoint_cases):
    c = endpoint_cases
    dimensions = [{"Name": "EndpointName", "Value": "churn-staging"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    errors = _resource(c, c.default.errors_alarm.node.default_child)["Properties"]
    assert errors["Namespace"] == "AWS/SageMaker"
    assert errors["MetricName"] == "Invocation5XXErrors"
    assert errors["Statistic"] == "Sum"
    assert errors["Dimensions"] == dimensions
    assert (errors["Threshold"], errors["ComparisonOperator"], errors["EvaluationPeriods"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
        2,
    )
    assert errors["TreatMissingData"] == "notBreaching"
    latency = _resource(c, c.default.latency_alarm.node.default_child)["Properties"]
    expression = Capture()
    Template.from_json({"Resources": {"A": {"Type": "X", "Properties": latency}}}).has_resource_properties(
        "X",
        {
            "Threshold": 1000,
            "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": Match.array_with(
                [
                    Match.object_like({"Expression": expression, "ReturnData": True}),
                    Match.object_like(
                        {
                            "MetricStat": {
                                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": dimensions},
                                "Period": 60,
                                "Stat": "p90",
                            },
                            "ReturnData": False,
                        }
                    ),
                ]
            ),
        },
    )
    # ModelLatency is in microseconds; the threshold is compared in milliseconds.
    assert expression.as_string().endswith("/ 1000")


def test_role_policy_is_scoped_and_has_no_wildcard_action(endpoint_cases):
    template = endpoint_cases.template.to_json()
    statements = [
        (logical_id, statement)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements
    for logical_id, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert not [a for a in actions if "*" in a], (logical_id, actions)
        if "*" in resources:
            assert set(actions) <= UNSCOPABLE, (logical_id, actions)
    # No AWS-managed policy anywhere (no AmazonSageMakerFullAccess).
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            assert "ManagedPolicyArns" not in resource["Properties"]


def test_role_writes_captured_data_only_under_the_prefix_and_reads_only_its_alarms(endpoint_cases):
    c = endpoint_cases
    document = _resource(c, c.default.policy.node.default_child)["Properties"]["PolicyDocument"]
    by_action = {}
    for statement in document["Statement"]:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            by_action[action] = statement
    put = by_action["s3:PutObject"]["Resource"]
    assert put["Fn::Join"][1][-1] == ":s3:::project-bucket/data-capture/*"
    assert by_action["cloudwatch:PutMetricData"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}
    }
    alarm_arns = by_action["cloudwatch:DescribeAlarms"]["Resource"]
    assert [arn["Fn::Join"][1][-1] for arn in alarm_arns] == [
        {"Ref": _logical_id(c, alarm.node.default_child)} for alarm in c.default.alarms
    ]
    logs = by_action["logs:PutLogEvents"]["Resource"]
    assert logs["Fn::Join"][1][-1] == ":log-group:/aws/sagemaker/Endpoints/churn-staging:*"
    assert "ecr:GetAuthorizationToken" not in by_action  # no private images: no ECR access


def _statements_by_action(cases, endpoint) -> dict[str, list[dict]]:
    document = _resource(cases, endpoint.policy.node.default_child)["Properties"]["PolicyDocument"]
    by_action: dict[str, list[dict]] = {}
    for statement in document["Statement"]:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            by_action.setdefault(action, []).append(statement)
    return by_action


def _s3_tail(statement: dict) -> str:
    """The literal end of an ``arn:<partition>:s3:::...`` resource."""
    return statement["Resource"]["Fn::Join"][1][-1]


def test_by_default_artifacts_are_read_from_the_project_bucket_with_the_project_key(endpoint_cases):
    c = endpoint_cases
    assert c.default.model_artifacts_bucket.bucket_name == "project-bucket"
    assert c.default.model_artifacts_key is c.default.key
    by_action = _statements_by_action(c, c.default)
    assert [_s3_tail(s) for s in by_action["s3:GetObject"]] == [":s3:::project-bucket/*"]
    assert [_s3_tail(s) for s in by_action["s3:ListBucket"]] == [":s3:::project-bucket"]
    # One KMS statement: the project key reads the artifacts and writes captured data.
    assert len(by_action["kms:Decrypt"]) == 1 and "kms:GenerateDataKey" in by_action["kms:Decrypt"][0]["Action"]


def test_artifacts_of_another_project_are_read_from_its_bucket_with_its_key(endpoint_cases):
    c = endpoint_cases
    assert c.foreign.model_artifacts_key.key_arn == OTHER_KEY
    by_action = _statements_by_action(c, c.foreign)
    # Read-only on the other bucket; the project bucket only receives captured data.
    assert [_s3_tail(s) for s in by_action["s3:GetObject"]] == [":s3:::other-project-bucket/*"]
    assert [_s3_tail(s) for s in by_action["s3:ListBucket"]] == [":s3:::other-project-bucket"]
    assert [_s3_tail(s) for s in by_action["s3:PutObject"]] == [":s3:::project-bucket/data-capture/*"]
    assert "other-project-bucket" not in str(by_action["s3:PutObject"])
    project_key = {"Fn::GetAtt": [_logical_id(c, c.foreign.key.node.default_child), "Arn"]}
    project, other = by_action["kms:Decrypt"]
    assert (project["Resource"], project["Action"]) == (project_key, ["kms:Decrypt", "kms:GenerateDataKey"])
    # The other key: decrypt only, and only through S3 in the endpoint's region.
    assert other == {
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": OTHER_KEY,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]}
            }
        },
    }
    # Captured data is still encrypted with the project key, into the project bucket.
    capture = _resource(c, c.foreign.endpoint_config)["Properties"]["DataCaptureConfig"]
    assert (capture["DestinationS3Uri"], capture["KmsKeyId"]) == ("s3://project-bucket/data-capture", project_key)


def test_artifacts_without_kms_need_no_key_grant(endpoint_cases):
    c = endpoint_cases
    assert c.sse_s3.model_artifacts_key is None
    by_action = _statements_by_action(c, c.sse_s3)
    assert [_s3_tail(s) for s in by_action["s3:GetObject"]] == [":s3:::sagemaker-eu-west-1-123456789012/*"]
    assert "s3:PutObject" not in by_action
    # Only the construct's own key (volumes), no grant on any other key.
    own_key = {"Fn::GetAtt": [_logical_id(c, c.sse_s3.key.node.default_child), "Arn"]}
    assert [s["Resource"] for s in by_action["kms:Decrypt"]] == [own_key]
    assert "DataCaptureConfig" not in _resource(c, c.sse_s3.endpoint_config)["Properties"]


def test_a_model_artifacts_key_overrides_the_buckets_key():
    stack = Stack(App(), "GivenKey")
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "project-bucket")
    key = kms.Key.from_key_arn(stack, "ArtifactsKey", OTHER_KEY)
    endpoint = ModelEndpoint(stack, "Endpoint", model_package_arn=PACKAGE, bucket=bucket, model_artifacts_key=key)
    assert endpoint.model_artifacts_bucket is bucket and endpoint.model_artifacts_key is key
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "kms:Decrypt", "Resource": OTHER_KEY, "Condition": Match.any_value()})]
                )
            }
        },
    )


def test_serverless_variant_has_no_capture_rollout_isolation_or_instances(endpoint_cases):
    c = endpoint_cases
    config = _resource(c, c.serverless.endpoint_config)["Properties"]
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 10,
        "ProvisionedConcurrency": 2,
    }
    assert "InstanceType" not in config["ProductionVariants"][0]
    assert "DataCaptureConfig" not in config
    assert "KmsKeyId" in config
    assert "DeploymentConfig" not in _resource(c, c.serverless.endpoint)["Properties"]
    assert _resource(c, c.serverless.model)["Properties"]["EnableNetworkIsolation"] is False
    assert c.serverless.alarms == [] and c.serverless.scalable_target is None
    # Without a bucket or key the construct makes its own key, with rotation.
    assert _resource(c, c.serverless.key.node.default_child)["Properties"]["EnableKeyRotation"] is True


def test_local_storage_instances_get_no_volume_key_but_encrypted_capture(endpoint_cases):
    c = endpoint_cases
    config = _resource(c, c.gpu.endpoint_config)["Properties"]
    assert "KmsKeyId" not in config
    assert "KmsKeyId" in config["DataCaptureConfig"]


def test_canary_rollout_and_autoscaling(endpoint_cases):
    c = endpoint_cases
    policy = _resource(c, c.gpu.endpoint)["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 600,
    }
    assert policy["TerminationWaitInSeconds"] == 600
    latency = _resource(c, c.gpu.latency_alarm.node.default_child)["Properties"]
    assert latency["Threshold"] == 250 and latency["Metrics"][1]["MetricStat"]["Stat"] == "p99"
    assert len(latency["AlarmActions"]) == 1

    target_id = _logical_id(c, c.gpu.scalable_target.node.default_child)
    target = c.template.to_json()["Resources"][target_id]
    assert target["DependsOn"] == [_logical_id(c, c.gpu.endpoint)]
    props = target["Properties"]
    assert props["ServiceNamespace"] == "sagemaker"
    assert props["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (props["MinCapacity"], props["MaxCapacity"]) == (2, 8)
    assert props["ResourceId"] == f"endpoint/{c.gpu.endpoint_name}/variant/AllTraffic"
    assert props["RoleARN"]["Fn::Join"][1][-1].endswith(
        ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    c.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "ScalingTargetId": {"Ref": target_id},
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                "TargetValue": 150,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        },
    )


def test_vpc_model_gets_subnets_a_security_group_and_scoped_ec2_access(endpoint_cases):
    c = endpoint_cases
    vpc_config = _resource(c, c.vpc.model)["Properties"]["VpcConfig"]
    assert vpc_config["Subnets"] == ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    assert vpc_config["SecurityGroupIds"] == [
        {"Fn::GetAtt": [_logical_id(c, c.vpc.security_groups[0].node.default_child), "GroupId"]}
    ]
    statements = _resource(c, c.vpc.policy.node.default_child)["Properties"]["PolicyDocument"]["Statement"]
    create = next(s for s in statements if "ec2:CreateNetworkInterface" in s["Action"])
    rendered = str(create["Resource"])
    assert "subnet/subnet-0aaaaaaaaaaaaaaa1" in rendered and "network-interface/*" in rendered
    pull = next(s for s in statements if "ecr:BatchGetImage" in s["Action"])
    assert "repository/churn-inference" in str(pull["Resource"])
    # A rollout without alarms: blue/green still, no automatic rollback.
    deployment = _resource(c, c.vpc.endpoint)["Properties"]["DeploymentConfig"]
    assert "AutoRollbackConfiguration" not in deployment and c.vpc.alarms == []


def test_grant_invoke_allows_invoking_this_endpoint_only(endpoint_cases):
    c = endpoint_cases
    assert c.grant.success
    c.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                        "Effect": "Allow",
                        "Resource": {"Ref": _logical_id(c, c.default.endpoint)},
                    }
                ]
            }
        },
    )


def test_metrics_name_the_endpoint_and_variant(endpoint_cases):
    endpoint = endpoint_cases.default
    invocations = endpoint.metric_invocations()
    assert (invocations.namespace, invocations.metric_name, invocations.statistic) == ("AWS/SageMaker", "Invocations", "Sum")
    assert invocations.dimensions == {"EndpointName": "churn-staging", "VariantName": "AllTraffic"}
    assert endpoint.metric_5xx_errors().metric_name == "Invocation5XXErrors"
    assert endpoint.metric_4xx_errors().metric_name == "Invocation4XXErrors"
    latency = endpoint.metric_model_latency(statistic="p99", period=Duration.minutes(5))
    assert (latency.metric_name, latency.statistic, latency.period.to_seconds()) == ("ModelLatency", "p99", 300)
    assert endpoint.metric_overhead_latency().metric_name == "OverheadLatency"


def test_default_endpoint_names_are_unique_and_valid(endpoint_cases):
    names = [endpoint_cases.gpu.endpoint_name, endpoint_cases.serverless.endpoint_name, endpoint_cases.vpc.endpoint_name]
    assert len(set(names)) == 3
    for name in names:
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name


def test_a_given_role_gets_the_policy_and_no_role_is_created():
    stack = Stack(App(), "GivenRole")
    role = iam.Role.from_role_arn(stack, "Existing", "arn:aws:iam::123456789012:role/ml-endpoints", mutable=False)
    endpoint = ModelEndpoint(stack, "Endpoint", model_package_arn=PACKAGE, role=role)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Role", 0)
    template.has_resource_properties("AWS::IAM::ManagedPolicy", {"Roles": ["ml-endpoints"]})
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/ml-endpoints"}
    )
    assert endpoint.role is role
