"""The baseline a target (staging, prod) account runs once per tooling account: plain CloudFormation.

A tooling account's deploy pipelines deploy the stage stacks of its SageMaker projects into
other accounts. Each such target account deploys this template once, with its own
credentials, from the console, ``aws cloudformation deploy`` or a StackSet: it needs no CDK
bootstrap (no ``BootstrapVersion`` parameter or rule, no bootstrap bucket or roles, no
assets). It creates, with the names the tooling side derives from its own account id
(``constructs/deploy/targets.py``):

- ``sagemaker-projects-<tooling>-actions``: trusted by the tooling account only (optionally
  with an external id and an AWS Organizations condition); deploys the stage stacks
  ``sagemaker-*-deploy-*`` with the deployer role, runs the staging tests;
- ``sagemaker-projects-<tooling>-deployer``: CloudFormation's role for those stacks;
- ``sagemaker-projects-<tooling>-endpoint``: the SageMaker execution role of their models;
- a KMS key with rotation, ``alias/sagemaker-projects-<tooling>``, for endpoint volumes and
  captured data in this account (in the region the baseline is deployed in).

IAM names are global: deploy it once per account (in any one region) and tooling account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aws_cdk import CfnOutput, CfnParameter, Environment, IStackSynthesizer, LegacyStackSynthesizer, Stack
from constructs import Construct

from .._internal.patterns import ACCOUNT_ID
from .._internal.validation import check_account_id
from ..constructs.targets import (
    TargetAccountKey,
    TargetActionsRole,
    TargetDeployerRole,
    TargetEndpointRole,
    ToolingAccountTrust,
)
from ..constructs.targets.trust import (
    EXTERNAL_ID_PATTERN,
    EXTERNAL_ID_RULE,
    ORGANIZATION_ID_PATTERN,
    ORGANIZATION_ID_RULE,
    check_external_id,
    check_organization_id,
)
from .template import TemplateSettings, setting

#: The stack name ``build_app`` gives the baseline (``make synth`` writes ``cdk.out/TargetAccount.template.json``).
TARGET_ACCOUNT_STACK_NAME = "sagemaker-projects-target-account"
DESCRIPTION = (
    "Target-account baseline for SageMaker project deployments from a tooling account: the roles its deploy "
    "pipelines use here and a KMS key (sagemaker-projects-cdk); no CDK bootstrap needed"
)


@dataclass(frozen=True, kw_only=True)
class TargetAccountSettings(TemplateSettings):
    """The baseline's settings; each one not given is a CloudFormation parameter."""

    tooling_account_id: Optional[str] = setting(
        None,
        doc="the 12-digit id of the account whose deploy pipelines deploy here. Default: parameter `ToolingAccountId` "
        "(required)",
        parameter="ToolingAccountId",
        check=check_account_id,
    )
    external_id: Optional[str] = setting(
        None,
        doc="the external id the tooling side must pass to assume the actions role (`sts:ExternalId`); empty for "
        "none. Default: parameter `ExternalId` (empty)",
        parameter="ExternalId",
        check=check_external_id,
    )
    organization_id: Optional[str] = setting(
        None,
        doc="the AWS Organizations id the tooling account must belong to (`aws:PrincipalOrgID`); empty for none. "
        "Default: parameter `OrganizationId` (empty)",
        parameter="OrganizationId",
        check=check_organization_id,
    )


class TargetAccountStack(Stack):
    """A target account's baseline for one tooling account (see the module's documentation).

    :param tooling_account_id: the tooling account's 12-digit id. Default: a required
        ``ToolingAccountId`` parameter.
    :param external_id: the ``sts:ExternalId`` the tooling side must pass; empty for none.
        Default: an ``ExternalId`` parameter (empty: none).
    :param organization_id: the AWS Organizations id (``o-...``) the tooling account must
        belong to; empty for none. Default: an ``OrganizationId`` parameter (empty: none).
    :param synthesizer: Default: ``LegacyStackSynthesizer()``: no bootstrap version parameter
        or rule, no asset manifest, and no bootstrap role in the cloud assembly either, so
        ``cdk deploy`` uses the caller's credentials as ``aws cloudformation deploy`` does
        (``BootstraplessSynthesizer`` still names the ``cdk-hnb659fds-*`` roles there, and
        ``CliCredentialsStackSynthesizer`` uploads the template to the bootstrap bucket). The
        stack uses no assets; its template stays under CloudFormation's 51,200-byte limit
        for a template passed inline.
    :param description: Default: a sentence naming the baseline.
    :param stack_name: Default: the construct id.
    :param env: Default: environment-agnostic.
    """

    def __init__(
        self,
        scope: Optional[Construct],
        construct_id: str,
        *,
        tooling_account_id: Optional[str] = None,
        external_id: Optional[str] = None,
        organization_id: Optional[str] = None,
        synthesizer: Optional[IStackSynthesizer] = None,
        description: Optional[str] = None,
        stack_name: Optional[str] = None,
        env: Optional[Environment] = None,
    ) -> None:
        # Checked before the stack exists: bad input leaves no half-built stack in the app.
        #: The settings the baseline was built with.
        self.settings = TargetAccountSettings(
            tooling_account_id=tooling_account_id, external_id=external_id, organization_id=organization_id
        )
        super().__init__(
            scope,
            construct_id,
            synthesizer=synthesizer or LegacyStackSynthesizer(),
            description=description or DESCRIPTION,
            stack_name=stack_name,
            env=env,
            analytics_reporting=False,
        )
        if tooling_account_id is None:
            tooling_account_id = CfnParameter(
                self,
                "ToolingAccountId",
                type="String",
                description="Id of the account whose SageMaker project pipelines deploy into this account",
                allowed_pattern=f"^{ACCOUNT_ID}$",
                constraint_description="must be a 12-digit AWS account id",
            ).value_as_string
        if external_id is None:
            external_id = CfnParameter(
                self,
                "ExternalId",
                type="String",
                description="External id the tooling account must pass to assume the actions role; empty for none",
                allowed_pattern=f"^({EXTERNAL_ID_PATTERN})?$",
                constraint_description=f"must be {EXTERNAL_ID_RULE}, or empty",
                default="",
            ).value_as_string
        if organization_id is None:
            organization_id = CfnParameter(
                self,
                "OrganizationId",
                type="String",
                description="AWS Organizations id (o-...) the tooling account must belong to; empty for none",
                allowed_pattern=f"^({ORGANIZATION_ID_PATTERN})?$",
                constraint_description=f"must be {ORGANIZATION_ID_RULE}, or empty",
                default="",
            ).value_as_string

        #: The tooling account and the conditions on its trust.
        self.trust = ToolingAccountTrust(
            self, "ToolingTrust", tooling_account=tooling_account_id, external_id=external_id, organization_id=organization_id
        )
        #: The key for endpoint volumes and captured data.
        self.key = TargetAccountKey(self, "Key", tooling_account=tooling_account_id)
        #: The SageMaker execution role.
        self.endpoint_role = TargetEndpointRole(self, "Endpoint", tooling_account=tooling_account_id, key=self.key.key)
        #: CloudFormation's role for the stage stacks.
        self.deployer_role = TargetDeployerRole(
            self, "Deployer", tooling_account=tooling_account_id, key=self.key.key, endpoint_role=self.endpoint_role.role
        )
        #: The role the tooling account's pipelines assume.
        self.actions_role = TargetActionsRole(self, "Actions", trust=self.trust, deployer_role=self.deployer_role.role)

        for output_id, value, text in (
            ("ActionsRoleArn", self.actions_role.role_arn, "Role the tooling account's deploy pipelines assume"),
            ("DeployerRoleArn", self.deployer_role.role_arn, "CloudFormation's role for the stage stacks"),
            ("EndpointRoleArn", self.endpoint_role.role_arn, "SageMaker execution role of the stages' models"),
            ("KeyArn", self.key.key_arn, "KMS key for endpoint volumes and captured data"),
            ("KeyAlias", self.key.alias.alias_name, "The key's alias"),
        ):
            CfnOutput(self, output_id, value=value, description=text)
