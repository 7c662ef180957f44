"""The baseline a target (staging, prod) account runs once per tooling account: plain CloudFormation.

A tooling account's deploy pipelines deploy the stage stacks of its SageMaker projects into
other accounts. Each such target account deploys this template once, with its own
credentials, from the console, ``aws cloudformation deploy`` or a StackSet: it needs no CDK
bootstrap (no ``BootstrapVersion`` parameter or rule, no bootstrap bucket or roles, no
assets). It creates, with the names the tooling side derives from its own account id
(``constructs/deploy/targets.py``):

- ``sagemaker-projects-<tooling>-actions``: trusted by the tooling account only (optionally
  only by its roles tagged with a SageMaker project id, and only when it belongs to an AWS
  Organizations organization); deploys the stage stacks ``sagemaker-*-deploy-*`` (and the monitor stage stacks ``sagemaker-*-monitor-*``) with the
  deployer role, runs the staging tests;
- ``sagemaker-projects-<tooling>-deployer``: CloudFormation's role for those stacks; it
  creates no IAM role or policy (a stage stack here runs its model as the endpoint role);
- ``sagemaker-projects-<tooling>-endpoint``: the SageMaker execution role of their models;
- ``sagemaker-projects-<tooling>-transform`` and ``-trigger``: the roles a batch stage's state
  machine (Step Functions, running transform jobs as the endpoint role) and its rules
  (EventBridge, starting the state machine) run as.

It creates no KMS key: a stage stack in a target account creates its own retained key for its
captured data and endpoint volumes (``stacks/endpoint_stage.py``).

Reach: the baseline serves *every* project of ONE tooling account (the role names carry the
tooling account's id; a second tooling account gets a second baseline with its own roles).
Its roles are scoped by the conventions all those projects' stage stacks follow (stack names
``sagemaker-*-deploy-*``, the ``sagemaker:project-id`` tag, bucket names
``sagemaker-projects-stage-<uuid>``), not by one project's id: one project's pipeline can
deploy, describe or invoke another project's stage stack and endpoint in this account.
Projects that must be isolated from each other belong to different tooling accounts (or
different target accounts).

Deploy it once per target account and tooling account, in any one region: it holds only IAM
roles, whose names are global (a second copy in another region of the same account would fail
on names that exist), and their policies name the stage resources of every region. The tooling
side deploys stages into its own region only today (``cross_account``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from aws_cdk import (
    CfnOutput,
    CfnParameter,
    Environment,
    IStackSynthesizer,
    LegacyStackSynthesizer,
    Stack,
)
from constructs import Construct

from .._internal.patterns import ACCOUNT_ID
from .._internal.validation import check_account_id, invalid
from ..constructs.targets import (
    TargetActionsRole,
    TargetDeployerRole,
    TargetEndpointRole,
    TargetTransformRole,
    TargetTriggerRole,
    ToolingAccountTrust,
)
from ..constructs.targets.trust import ORGANIZATION_ID_PATTERN, ORGANIZATION_ID_RULE, check_organization_id
from .template import TemplateSettings, setting

#: The stack name ``build_app`` gives the baseline (``make synth`` writes ``cdk.out/TargetAccount.template.json``).
TARGET_ACCOUNT_STACK_NAME = "sagemaker-projects-target-account"
DESCRIPTION = (
    "Target-account baseline for SageMaker project deployments from a tooling account: the roles its deploy "
    "pipelines use here (sagemaker-projects-cdk); no CDK bootstrap needed"
)


def _check_flag(setting_name: str, value: bool) -> bool:
    if not isinstance(value, bool):
        raise invalid(setting_name, value, "True or False")
    return value


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
    organization_id: Optional[str] = setting(
        None,
        doc="the AWS Organizations id the tooling account must belong to (`aws:PrincipalOrgID`); empty for none. "
        "Default: parameter `OrganizationId` (empty)",
        parameter="OrganizationId",
        check=check_organization_id,
    )
    require_project_principal_tag: Optional[bool] = setting(
        None,
        doc="only the tooling account's roles tagged `sagemaker:project-id` may assume the actions role (every role "
        "of the tooling templates that does is). Default: parameter `RequireProjectPrincipalTag` (`true`)",
        parameter="RequireProjectPrincipalTag",
        check=_check_flag,
    )


class TargetAccountStack(Stack):
    """A target account's baseline for one tooling account (see the module's documentation).

    :param tooling_account_id: the tooling account's 12-digit id. Default: a required
        ``ToolingAccountId`` parameter.
    :param organization_id: the AWS Organizations id (``o-...``) the tooling account must
        belong to; empty for none. Default: an ``OrganizationId`` parameter (empty: none).
    :param require_project_principal_tag: only roles carrying the ``sagemaker:project-id``
        tag may assume the actions role (``aws:PrincipalTag``; the tooling templates' pipeline
        role and CodeBuild roles carry it through ``ProjectIdentity``). Default: a
        ``RequireProjectPrincipalTag`` parameter (``true``).
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

    There is no external id setting: CodePipeline cannot pass ``sts:ExternalId`` when it
    assumes an action's role, so requiring one would break the deploy pipeline (see
    ``constructs/targets/trust.py``).
    """

    def __init__(
        self,
        scope: Optional[Construct],
        construct_id: str,
        *,
        tooling_account_id: Optional[str] = None,
        organization_id: Optional[str] = None,
        require_project_principal_tag: Optional[bool] = None,
        synthesizer: Optional[IStackSynthesizer] = None,
        description: Optional[str] = None,
        stack_name: Optional[str] = None,
        env: Optional[Environment] = None,
    ) -> None:
        # Checked before the stack exists: bad input leaves no half-built stack in the app.
        #: The settings the baseline was built with.
        self.settings = TargetAccountSettings(
            tooling_account_id=tooling_account_id,
            organization_id=organization_id,
            require_project_principal_tag=require_project_principal_tag,
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
        require_tag: Union[bool, str] = (
            require_project_principal_tag
            if require_project_principal_tag is not None
            else self._flag(
                "RequireProjectPrincipalTag",
                "true: only the tooling account's roles tagged sagemaker:project-id (its project pipelines and builds) "
                "may assume the actions role",
            )
        )
        #: The tooling account and the conditions on its trust.
        self.trust = ToolingAccountTrust(
            self,
            "ToolingTrust",
            tooling_account=tooling_account_id,
            organization_id=organization_id,
            require_project_tag=require_tag,
        )
        #: The SageMaker execution role.
        self.endpoint_role = TargetEndpointRole(self, "Endpoint", tooling_account=tooling_account_id)
        #: The role batch stages' state machines run as.
        self.transform_role = TargetTransformRole(
            self, "Transform", tooling_account=tooling_account_id, endpoint_role=self.endpoint_role.role
        )
        #: The role batch stages' rules start their state machines as.
        self.trigger_role = TargetTriggerRole(self, "Trigger", tooling_account=tooling_account_id)
        #: CloudFormation's role for the stage stacks.
        self.deployer_role = TargetDeployerRole(
            self,
            "Deployer",
            tooling_account=tooling_account_id,
            endpoint_role=self.endpoint_role.role,
            transform_role=self.transform_role.role,
            trigger_role=self.trigger_role.role,
        )
        #: The role the tooling account's pipelines assume.
        self.actions_role = TargetActionsRole(self, "Actions", trust=self.trust, deployer_role=self.deployer_role.role)
        for output_id, value, text in (
            ("ActionsRoleArn", self.actions_role.role_arn, "Role the tooling account's deploy pipelines assume"),
            ("DeployerRoleArn", self.deployer_role.role_arn, "CloudFormation's role for the stage stacks"),
            ("EndpointRoleArn", self.endpoint_role.role_arn, "SageMaker execution role of the stages' models"),
            ("TransformRoleArn", self.transform_role.role_arn, "Step Functions' role for batch stages' transforms"),
            ("TriggerRoleArn", self.trigger_role.role_arn, "EventBridge's role starting batch stages' transforms"),
        ):
            CfnOutput(self, output_id, value=value, description=text)

    def _flag(self, name: str, description: str) -> str:
        return CfnParameter(
            self, name, type="String", description=description, allowed_values=["true", "false"], default="true"
        ).value_as_string
