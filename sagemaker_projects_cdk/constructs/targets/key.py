"""The target account's KMS key for what stage stacks keep there: endpoint volumes and captured data."""

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

    Its key policy is KMS's default (the account decides through IAM): the baseline's
    ``deployer`` role may describe it and let SageMaker create grants on it (endpoint
    volumes), and its ``endpoint`` role may encrypt and decrypt with it (captured data).
    It lives in the region the baseline is deployed in.

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
