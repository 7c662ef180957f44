"""What a ``ModelEndpoint``'s model needs from IAM, as the statements of one policy.

``model_needs`` writes the statements (the model container's logs, SageMaker's instance
metrics, the KMS keys, the model artifacts, the captured data, private ECR images, network
interfaces in a VPC) and keeps, next to each wildcard resource, the reason it cannot be
narrower, so ``ModelNeeds.acknowledge`` can accept exactly those findings on the policy.
The construct creates the ``iam.ManagedPolicy`` from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ...compliance import acknowledge_wildcards, nag_resource
from .settings import DataCapture


@dataclass(frozen=True, kw_only=True)
class ModelNeeds:
    """The statements of the model's policy and why some of them cannot be narrower."""

    #: The policy's statements, in order.
    statements: list[iam.PolicyStatement]
    #: Wildcard resources by the reason they cannot be narrower.
    wildcards: dict[str, list[str]] = field(default_factory=dict)
    #: Actions (described) that IAM accepts only on ``*``.
    no_resource_type: list[str] = field(default_factory=list)

    def acknowledge(self, policy: iam.ManagedPolicy) -> None:
        """Acknowledge on ``policy`` its wildcard resources, each with its reason."""
        for reason, arns in self.wildcards.items():
            acknowledge_wildcards(policy, reason, *arns)
        acknowledge_wildcards(
            policy,
            "these actions have no resource type, so IAM accepts only '*': " + "; ".join(self.no_resource_type),
            "*",
        )


def model_needs(
    scope: Construct,
    *,
    endpoint_name: str,
    key: kms.IKey,
    model_artifacts_bucket: Optional[s3.IBucket],
    model_artifacts_key: Optional[kms.IKey],
    bucket: Optional[s3.IBucket],
    data_capture: Optional[DataCapture],
    image_repositories: Sequence[ecr.IRepository],
    vpc: Optional[ec2.IVpc],
    vpc_subnets: Optional[ec2.SubnetSelection],
) -> ModelNeeds:
    """What the model of the endpoint ``scope`` needs, for one customer-managed policy on its role.

    :param endpoint_name: the endpoint's name (its log group is named after it).
    :param key: the key of volumes and captured data.
    :param model_artifacts_bucket: where the artifacts are read from, or None (no S3 read).
    :param model_artifacts_key: the key the artifacts are decrypted with, or None.
    :param bucket: the project bucket, where captured data is written.
    :param data_capture: the data capture settings in effect, or None.
    :param image_repositories: private ECR repositories the images are pulled from.
    :param vpc: the VPC of the model's network interfaces, or None.
    :param vpc_subnets: the subnets in ``vpc``.
    """
    stack = Stack.of(scope)
    log_group = _log_group_arn(stack, endpoint_name)
    statements = [
        # The model container's logs.
        iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[log_group],
        ),
        # Instance metrics of the endpoint, in SageMaker's namespace only.
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
        ),
        # Read SSE-KMS model artifacts; write SSE-KMS captured data.
        iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]),
    ]
    artifacts_key = model_artifacts_key
    if artifacts_key is not None and artifacts_key is not key and artifacts_key.key_arn != key.key_arn:
        # Another key for the artifacts: decrypt only, and only when S3 asks (GetObject).
        statements.append(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[artifacts_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.{stack.url_suffix}"}},
            )
        )
    wildcards: dict[str, list[str]] = {
        "SageMaker names the endpoint's log streams (one per instance) at run time; scoped to this "
        "endpoint's own log group": [log_group],
    }
    no_resource_type = ["cloudwatch:PutMetricData (limited to the /aws/sagemaker/Endpoints namespace by condition)"]
    source = model_artifacts_bucket
    if source is not None:
        artifacts = source.arn_for_objects("*")
        statements.append(iam.PolicyStatement(actions=["s3:GetObject"], resources=[artifacts]))
        statements.append(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[source.bucket_arn]))
        if source is bucket:
            wildcards[
                "model artifact keys are chosen by the build pipeline's training jobs at run time; "
                "read-only, in the project's bucket only"
            ] = [artifacts]
        else:
            wildcards[
                "model artifact keys are chosen at run time by the training jobs of the project that "
                "registered the model package; read-only, in the one bucket given as holding its artifacts"
            ] = [artifacts]
    if bucket is not None:
        if data_capture is not None:
            captured = bucket.arn_for_objects(f"{data_capture.prefix}/*")
            statements.append(iam.PolicyStatement(actions=["s3:PutObject"], resources=[captured]))
            wildcards[
                "SageMaker writes captured data under '<prefix>/<endpoint>/<variant>/<date>/' keys it "
                "chooses; write-only, under the capture prefix only"
            ] = [captured]
    if image_repositories:
        statements += [
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[repository.repository_arn for repository in image_repositories],
            ),
        ]
        no_resource_type.append("ecr:GetAuthorizationToken")
        foreign = [r.repository_arn for r in image_repositories if "*" in nag_resource(scope, r.repository_arn)]
        if foreign:
            wildcards[
                "AWS's built-in algorithm and framework images live in per-region AWS-owned accounts; "
                "pull only, on the named repositories"
            ] = foreign
    if vpc is not None:
        subnets = vpc.select_subnets(**subnet_selection(vpc_subnets)).subnet_ids
        interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
        groups = stack.format_arn(service="ec2", resource="security-group", resource_name="*")
        statements += [
            iam.PolicyStatement(
                actions=[
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[
                    interfaces,
                    groups,
                    *(stack.format_arn(service="ec2", resource="subnet", resource_name=s) for s in subnets),
                ],
            ),
        ]
        no_resource_type.append("ec2:Describe* calls (listed one by one)")
        wildcards[
            "SageMaker creates the model's network interfaces with ids it chooses, in the given subnets"
        ] = [interfaces, groups]
    return ModelNeeds(statements=statements, wildcards=wildcards, no_resource_type=no_resource_type)


def describe_alarms_statement(scope: Construct, alarms: Sequence[cloudwatch.Alarm]) -> iam.PolicyStatement:
    """Let the model's role read the state of the rollback ``alarms`` (and no other alarm)."""
    stack = Stack.of(scope)
    return iam.PolicyStatement(
        actions=["cloudwatch:DescribeAlarms"],
        resources=[
            stack.format_arn(
                service="cloudwatch",
                resource="alarm",
                resource_name=alarm.alarm_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for alarm in alarms
        ],
    )


def subnet_selection(selection: Optional[ec2.SubnetSelection]) -> dict:
    """``selection`` as keyword arguments of ``IVpc.select_subnets`` (its given fields only).

    Shared by the policy (the subnets the role may create interfaces in) and the model's
    VPC configuration, so both name the same subnets.
    """
    if selection is None:
        return {}
    return {
        key: value
        for key, value in {
            "availability_zones": selection.availability_zones,
            "one_per_az": selection.one_per_az,
            "subnet_filters": selection.subnet_filters,
            "subnet_group_name": selection.subnet_group_name,
            "subnets": selection.subnets,
            "subnet_type": selection.subnet_type,
        }.items()
        if value is not None
    }


def _log_group_arn(stack: Stack, endpoint_name: str) -> str:
    """The ARN of the endpoint's log group, with ``:*`` for its log streams."""
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"/aws/sagemaker/Endpoints/{endpoint_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def async_statements(
    *, bucket: s3.IBucket, locations: Any, topics: Sequence[Any], wildcards: dict[str, list[str]]
) -> list[iam.PolicyStatement]:
    """What an asynchronous endpoint's model needs: read the requests under the input prefix,
    write responses and failures under theirs, publish to the notification topics. The reasons
    the object keys are wildcards are added to ``wildcards``."""
    requests = bucket.arn_for_objects(f"{locations.input}/*")
    answers = [bucket.arn_for_objects(f"{locations.output}/*"), bucket.arn_for_objects(f"{locations.failure}/*")]
    statements = [
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[requests]),
        iam.PolicyStatement(actions=["s3:PutObject"], resources=answers),
    ]
    wildcards[
        "clients choose the keys of asynchronous requests under the endpoint's input prefix (read-only there)"
    ] = [requests]
    wildcards[
        "SageMaker names each asynchronous response and failure object after the request's inference id; "
        "write-only, under this endpoint's output and failure prefixes"
    ] = answers
    if topics:
        statements.append(iam.PolicyStatement(actions=["sns:Publish"], resources=[t.topic_arn for t in topics]))
    return statements
