"""Where each deployment stage lands, seen from the tooling account (the pipeline's).

A stage's ``account`` is empty (this account), a 12-digit id or a token (a template
parameter such as ``StagingAccountId``). Whether it is *another* account is decided at synth
when both it and the stack's account are known, otherwise at deployment by a CloudFormation
condition ``<Stage>InOtherAccount`` (not empty and not ``AWS::AccountId``): one template then
serves a single account and several, and a target that turns out to be this account gets no
grant and no role of the target-account baseline (which does not exist there).

Regions: only the pipeline's own region is supported. CodePipeline needs an artifact bucket
(and key) in each region an action runs in, which one CloudFormation template cannot create
in another region (aws-cdk-lib does it with support stacks, which need ``cdk bootstrap`` in
every target). A resolved other region is refused at synth, naming the setting; a token is
checked at deployment by a template rule ``<Stage>RegionIsThisRegion``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union, cast

from aws_cdk import Aws, CfnCondition, CfnResource, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..._internal.resource_policy import ConditionalStatements
from ..._internal.validation import invalid
from .stages import DeployStage
from .targets import TARGET_ROLE_PATH, TargetRole, target_role_arn, target_role_name


@dataclass(frozen=True)
class StageTarget:
    """One stage's account and region, and whether the account is another one.

    :param stage: the stage.
    :param account: its account: ``""`` for this one, 12 digits, or a token.
    :param region: its region: ``""`` for this one, a region name, or a token.
    :param other_account: True or False when known at synth; otherwise the condition that
        holds when the account is another one.
    """

    stage: DeployStage
    account: str
    region: str
    other_account: Union[bool, CfnCondition]

    @property
    def may_be_other_account(self) -> bool:
        """True unless the stage is known at synth to be in this account."""
        return self.other_account is not False

    @property
    def condition(self) -> Optional[CfnCondition]:
        """The condition deciding at deployment, or None when decided at synth."""
        return self.other_account if isinstance(self.other_account, CfnCondition) else None

    def pick(self, other: Any, same: Any) -> Any:
        """``other`` when the stage is in another account, else ``same`` (``Fn::If`` when decided at deployment)."""
        if isinstance(self.other_account, CfnCondition):
            return Fn.condition_if(self.other_account.logical_id, other, same)
        return other if self.other_account else same

    def pick_string(self, other: str, same: str) -> str:
        value = self.pick(other, same)
        return value if isinstance(value, str) else value.to_string()

    def role_arn(self, scope: Construct, role: TargetRole) -> str:
        """The ARN of a baseline role in the stage's account (meaningful only when it is another),
        as ``targets.py`` names it; an ``Fn::Sub`` when an account is a token (cfn-lint prefers
        it to an ``Fn::Join`` with an empty delimiter)."""
        stack = Stack.of(scope)
        account: Optional[str] = self.account
        if Token.is_unresolved(self.account):
            resolved = stack.resolve(self.account)
            account = f"${{{resolved['Ref']}}}" if isinstance(resolved, dict) and set(resolved) == {"Ref"} else None
        if account is None or (not Token.is_unresolved(self.account) and not Token.is_unresolved(stack.account)):
            return target_role_arn(stack, target_account=self.account, tooling_account=stack.account, role=role)
        tooling = "${AWS::AccountId}" if Token.is_unresolved(stack.account) else stack.account
        return Fn.sub(f"arn:${{AWS::Partition}}:iam::{account}:role{TARGET_ROLE_PATH}{target_role_name(tooling, role)}")


def role_policy_statements(role: iam.IRole) -> ConditionalStatements:
    """Statements in ``role``'s default policy that hold only under a condition (a stage in
    another account decided at deployment), as ``Fn::If`` entries of its ``Statement`` list.

    A separate conditional policy would be a resource of its own, which CloudFormation may
    create after a resource that needs the grant at creation: CodePipeline checks that its role
    may assume each action's ``RoleArn`` when the pipeline is created or updated, and
    aws-cdk-lib makes the pipeline (like a custom resource of ``LifecycleFunction``) depend on
    its role's default policy only. Call it once per role (a second one would replace the first's
    statements); the role must have a default policy already.
    """
    policy = role.node.find_child("DefaultPolicy")
    if not isinstance(policy, iam.Policy):
        raise TypeError(f"{role.node.path}/DefaultPolicy is not an iam.Policy")
    return ConditionalStatements(cast(CfnResource, policy.node.default_child), "PolicyDocument", policy.document)


def stage_targets(scope: Construct, stages: Sequence[DeployStage], *, setting_names: Optional[dict[str, tuple[str, str]]] = None) -> tuple[StageTarget, ...]:
    """Each stage's target, with the conditions and rules a token needs (created in ``scope``).

    :param setting_names: per stage name, the names of the settings its account and region came
        from (for error messages). Default: ``stage '<name>' account`` / ``region``.
    """
    stack = Stack.of(scope)
    targets = []
    for stage in stages:
        account_setting, region_setting = (setting_names or {}).get(
            stage.name, (f"stage {stage.name!r} account", f"stage {stage.name!r} region")
        )
        account = stage.account or ""
        region = stage.region or ""
        other: Union[bool, CfnCondition]
        if not Token.is_unresolved(account) and account == "":
            other = False
        elif not Token.is_unresolved(account) and not Token.is_unresolved(stack.account):
            if account == stack.account:
                raise invalid(
                    account_setting,
                    account,
                    f"another account than the pipeline's own ({stack.account}), or '' (empty) for the pipeline's account: "
                    "a target must run the target-account baseline, which the pipeline's account does not",
                )
            other = True
        else:
            expression = Fn.condition_not(Fn.condition_equals(account, Aws.ACCOUNT_ID))
            if Token.is_unresolved(account):
                expression = Fn.condition_and(Fn.condition_not(Fn.condition_equals(account, "")), expression)
            other = CfnCondition(scope, f"{stage.title}InOtherAccount", expression=expression)
        if region and not Token.is_unresolved(region):
            if not Token.is_unresolved(stack.region) and region != stack.region:
                raise invalid(
                    region_setting,
                    region,
                    f"'' (empty) or the pipeline's own region {stack.region}: CodePipeline needs an artifact bucket and key "
                    "in every region it deploys to, which this template cannot create in another region "
                    "(deploy the project in the target region instead)",
                )
        if Token.is_unresolved(region) or (region and Token.is_unresolved(stack.region)):
            this_region = Fn.condition_equals(region, Aws.REGION)
            CfnRule(
                scope,
                f"{stage.title}RegionIsThisRegion",
                assertions=[
                    CfnRuleAssertion(
                        assert_=Fn.condition_or(Fn.condition_equals(region, ""), this_region)
                        if Token.is_unresolved(region)
                        else this_region,
                        assert_description=f"The {stage.name} region must be empty or this stack's region: the deploy "
                        "pipeline deploys into its own region only (CodePipeline needs an artifact bucket in each region)",
                    )
                ],
            )
        targets.append(StageTarget(stage=stage, account=account, region=region, other_account=other))
    return tuple(targets)
