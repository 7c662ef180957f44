"""What the tooling account and a target (staging, prod) account agree on before either exists.

A target account runs the baseline (``TargetAccountStack``) once per tooling account. It
holds five roles with names derived from the tooling account's id alone, so the tooling
side can name them in its pipeline and in its bucket, key and group policies before they
exist (as ``aws:PrincipalArn`` conditions on an account principal, never as role
principals, which CloudFormation and IAM refuse while the role does not exist):

- ``actions``: assumed by the tooling account's deploy pipeline (its CloudFormation actions)
  and by its build projects that act in the target (the staging tests); it deploys stage
  stacks with the ``deployer`` role.
- ``deployer``: CloudFormation's service role for the stage stacks in the target account.
- ``endpoint``: the SageMaker execution role of the target account's models and endpoints.
- ``transform`` and ``trigger``: the roles a batch stage's state machine (Step Functions) and
  its rules (EventBridge) run as; build.py names them for a batch stage in another account.

A stage stack in a target account creates its own retained storage (a KMS key, a bucket for
captured data and one for its access logs); the buckets are named
``<prefix><stack uuid>`` with the prefixes ``STAGE_DATA_BUCKET_PREFIX`` and
``STAGE_LOG_BUCKET_PREFIX``, so the baseline's roles can be scoped to exactly those buckets
(not SageMaker's default bucket ``sagemaker-<region>-<account>`` or any other ``sagemaker-*``).
"""

from __future__ import annotations

from typing import Literal

from aws_cdk import Fn, Stack, Token

#: The IAM path of the baseline's roles in a target account.
TARGET_ROLE_PATH = "/sagemaker-projects-cdk/"

#: The stage stack's captured-data bucket in a target account: this prefix and the stack's
#: UUID (the last part of ``AWS::StackId``, 36 characters): 61 characters, S3 allows 63.
STAGE_DATA_BUCKET_PREFIX = "sagemaker-projects-stage-"
#: The stage stack's access-log bucket in a target account: this prefix and the stack's UUID.
STAGE_LOG_BUCKET_PREFIX = "sagemaker-projects-slogs-"

TargetRole = Literal["actions", "deployer", "endpoint", "transform", "trigger"]
TARGET_ROLES: tuple[TargetRole, ...] = ("actions", "deployer", "endpoint", "transform", "trigger")


def target_role_name(tooling_account: str, role: TargetRole) -> str:
    """``sagemaker-projects-<tooling account>-<role>`` (at most 43 characters); the tooling
    account may be a token (``Aws.ACCOUNT_ID`` on the tooling side)."""
    if role not in TARGET_ROLES:
        raise ValueError(f"invalid target role {role!r}: expected one of {', '.join(TARGET_ROLES)}")
    if Token.is_unresolved(tooling_account):
        return Fn.join("", ["sagemaker-projects-", tooling_account, f"-{role}"])
    return f"sagemaker-projects-{tooling_account}-{role}"


def target_role_arn(scope_stack: Stack, *, target_account: str, tooling_account: str, role: TargetRole) -> str:
    """The ARN of a baseline role in ``target_account`` (either may be a token)."""
    return scope_stack.format_arn(
        service="iam",
        region="",
        account=target_account,
        resource="role",
        resource_name=TARGET_ROLE_PATH.strip("/") + "/" + target_role_name(tooling_account, role),
    )

