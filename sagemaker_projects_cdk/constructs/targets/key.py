"""The baseline's KMS key in a target account (one per region the baseline is deployed in)."""

from __future__ import annotations

from aws_cdk import Fn, RemovalPolicy, Token
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..._internal.validation import check_account_id


def target_key_alias(tooling_account: str) -> str:
    """``alias/sagemaker-projects-<tooling account>``: how the tooling side names the key
    before it exists (SageMaker's ``KmsKeyId`` and S3's bucket encryption accept an alias)."""
    if Token.is_unresolved(tooling_account):
        return Fn.join("", ["alias/sagemaker-projects-", tooling_account])
    return f"alias/sagemaker-projects-{tooling_account}"


class TargetAccountKey(Construct):
    """A customer-managed key with yearly rotation, retained when the baseline is deleted.

    Its key policy is KMS's default (the account decides through IAM); none of the
    baseline's roles may use it. Today's stage template does not use it either: a stage stack
    in a target account creates its own retained key for its captured data and endpoint
    volumes (``stacks/endpoint_stage.py``). It lives in the region the baseline is deployed in.

    The key is retained when the baseline is deleted, its alias is not: deploying the
    baseline again creates a new key and the alias then names it.

    :param tooling_account: the tooling account's id (names the alias).
    """

    def __init__(self, scope: Construct, construct_id: str, *, tooling_account: str) -> None:
        check_account_id("tooling_account", tooling_account)
        super().__init__(scope, construct_id)
        #: The key.
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the endpoint volumes and captured data of SageMaker project stages deployed "
            "into this account by a tooling account's pipelines (sagemaker-projects-cdk)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        #: The alias, ``alias/sagemaker-projects-<tooling account>``.
        self.alias = kms.Alias(self, "Alias", alias_name=target_key_alias(tooling_account), target_key=self.key)

    @property
    def key_arn(self) -> str:
        return self.key.key_arn
