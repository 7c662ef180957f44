"""Who may assume a target account's ``actions`` role: the tooling account, and no one else.

``ToolingAccountTrust`` holds the tooling account's id and the two optional conditions a
target account may add to that trust: an external id (``sts:ExternalId``, which the tooling
side must pass when it assumes the role) and an AWS Organizations id (``aws:PrincipalOrgID``,
the caller's account must belong to the organization). Each value may be a string or a
CloudFormation token (a parameter); a token that may be empty at deployment becomes a
CloudFormation condition, so one template covers every combination.

The trust names the tooling *account* (``arn:<partition>:iam::<account>:root``), never one of
its roles: IAM refuses a trust policy naming a role that does not exist yet, and the tooling
account decides with its own identity policies which of its roles may assume the target's
(the deploy pipeline's actions and its staging tests).
"""

from __future__ import annotations

from typing import Any, Optional

from aws_cdk import CfnCondition, Fn
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..._internal.validation import check_account_id, check_pattern, is_unresolved

#: An external id as STS takes it (``AssumeRole``'s ``ExternalId``): 2 to 1224 characters.
EXTERNAL_ID_PATTERN = r"[\w+=,.@:/-]{2,1224}"
EXTERNAL_ID_RULE = "2 to 1224 letters, digits and the characters _+=,.@:/- (STS AssumeRole's ExternalId)"
#: An AWS Organizations id: ``o-`` and 10 to 32 lower-case letters or digits.
ORGANIZATION_ID_PATTERN = r"o-[a-z0-9]{10,32}"
ORGANIZATION_ID_RULE = "an AWS Organizations id: 'o-' and 10 to 32 lower-case letters or digits"


def check_external_id(setting: str, value: str) -> str:
    """An external id, or empty for none (a token is left to CloudFormation)."""
    return value if value == "" else check_pattern(setting, value, EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE + ", or empty for none")


def check_organization_id(setting: str, value: str) -> str:
    """An AWS Organizations id, or empty for none (a token is left to CloudFormation)."""
    return value if value == "" else check_pattern(setting, value, ORGANIZATION_ID_PATTERN, ORGANIZATION_ID_RULE + ", or empty for none")


class ToolingAccountTrust(Construct):
    """The trust of a role that the tooling account assumes, with its optional conditions.

    :param tooling_account: the tooling account's 12-digit id (a string or a token).
    :param external_id: the ``sts:ExternalId`` the tooling side must pass; ``None`` or empty
        for none. A token may be empty at deployment: the condition then drops out.
        Default: none.
    :param organization_id: the AWS Organizations id the caller's account must belong to
        (``aws:PrincipalOrgID``); ``None`` or empty for none; a token may be empty.
        Default: none.

    Resolved values are checked (``ValueError`` naming the setting); tokens are left to
    CloudFormation (give the parameter an ``AllowedPattern``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tooling_account: str,
        external_id: Optional[str] = None,
        organization_id: Optional[str] = None,
    ) -> None:
        check_account_id("tooling_account", tooling_account)
        if external_id is not None:
            check_external_id("external_id", external_id)
        if organization_id is not None:
            check_organization_id("organization_id", organization_id)
        super().__init__(scope, construct_id)
        #: The tooling account's id.
        self.tooling_account: str = tooling_account
        #: The external id (a string, a token, or None).
        self.external_id: Optional[str] = external_id or None
        #: The organization id (a string, a token, or None).
        self.organization_id: Optional[str] = organization_id or None
        self._conditions: dict[str, Optional[CfnCondition]] = {}
        for name, value in (("ExternalId", self.external_id), ("OrganizationId", self.organization_id)):
            if value is not None and is_unresolved(value):
                self._conditions[name] = CfnCondition(
                    self, f"{name}Given", expression=Fn.condition_not(Fn.condition_equals(value, ""))
                )
            elif value is not None:
                self._conditions[name] = None

    @property
    def principal(self) -> iam.IPrincipal:
        """The tooling account as a principal (``arn:<partition>:iam::<account>:root``)."""
        return iam.AccountPrincipal(self.tooling_account)

    def condition_block(self) -> Any:
        """The trust statement's ``Condition``: a plain mapping, a CloudFormation ``Fn::If``
        that covers each combination of given and empty values, or None for no condition."""
        if not hasattr(self, "_block"):
            self._block = self._condition_block()
        return self._block

    def _condition_block(self) -> Any:
        entries = {"ExternalId": ("sts:ExternalId", self.external_id), "OrganizationId": ("aws:PrincipalOrgID", self.organization_id)}
        present = [name for name in entries if name in self._conditions]
        if not present:
            return None

        def block(names: list[str]) -> dict[str, Any]:
            return {"StringEquals": {entries[n][0]: entries[n][1] for n in names}}

        fixed = [n for n in present if self._conditions[n] is None]
        optional = [n for n in present if self._conditions[n] is not None]
        otherwise: Any = block(fixed) if fixed else Fn.ref("AWS::NoValue")
        if not optional:
            return otherwise

        def when(name: str, then: list[str], other: Any) -> Any:
            return Fn.condition_if(name, block(fixed + then), other)

        first = self._conditions[optional[0]]
        assert first is not None
        if len(optional) == 1:
            return when(first.logical_id, optional, otherwise)
        second = self._conditions[optional[1]]
        assert second is not None
        both = CfnCondition(self, "BothGiven", expression=Fn.condition_and(first, second))  # type: ignore[arg-type]  # a CfnCondition is a condition expression (jsii's stub lacks type_hint)
        return when(
            both.logical_id,
            optional,
            when(first.logical_id, optional[:1], when(second.logical_id, optional[1:], otherwise)),
        )

    def apply_to(self, role: iam.Role) -> None:
        """Put the conditions on ``role``'s trust statement (its first, assuming by ``principal``)."""
        block = self.condition_block()
        if block is None:
            return
        cfn_role = role.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        cfn_role.add_property_override("AssumeRolePolicyDocument.Statement.0.Condition", block)

    def role(self, scope: Construct, construct_id: str, **props: Any) -> iam.Role:
        """A new role that the tooling account may assume under these conditions."""
        role = iam.Role(scope, construct_id, assumed_by=self.principal, **props)
        self.apply_to(role)
        return role

