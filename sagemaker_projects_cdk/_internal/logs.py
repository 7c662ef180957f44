"""CloudWatch log groups encrypted with the project's key and retained."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def encrypted_log_group(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    construct_id: str = "Logs",
) -> logs.LogGroup:
    """A CloudWatch log group encrypted with ``encryption_key`` and retained.

    CloudWatch Logs may only use the key for log groups of this account and region (the key
    policy's encryption-context condition).
    """
    stack = Stack.of(scope)
    if isinstance(encryption_key, kms.Key):
        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
                        )
                    }
                },
            ),
            allow_no_op=True,
        )
    return logs.LogGroup(
        scope,
        construct_id,
        encryption_key=encryption_key,
        retention=retention,
        removal_policy=RemovalPolicy.RETAIN,
    )
