"""Who may assume a target account's ``actions`` role: the tooling account, and no one else.

``ToolingAccountTrust`` holds the tooling account's id and the two optional conditions a
target account may add to that trust, both of which the tooling side's callers satisfy
without passing anything:

- an AWS Organizations id (``aws:PrincipalOrgID``): the caller's account must belong to it;
- the SageMaker project tag (``aws:PrincipalTag/sagemaker:project-id`` present): the caller
  must be a role tagged with a project id. Every role of the tooling templates that assumes
  the ``actions`` role carries it (``ProjectIdentity`` tags every resource of a project
  stack): the deploy pipeline's role (CodePipeline assumes a stage's ``actions`` role with
  it), the staging tests' and the change record's CodeBuild roles.

Each value may be a string or a CloudFormation token (a parameter); a token that may be
empty (or ``false``) at deployment becomes a CloudFormation condition, so one template
covers every combination.

There is no external id (``sts:ExternalId``) on purpose: CodePipeline cannot pass one when
it assumes an action's ``RoleArn``, so a trust requiring it would make the role unusable
for the pipeline's CloudFormation actions. An external id guards against a confused deputy
(a third party's service acting for several customers); here the caller is the customer's
own tooling account, named as the only principal.

The trust names the tooling *account* (``arn:<partition>:iam::<account>:root``), never one of
its roles: IAM refuses a trust policy naming a role that does not exist yet, and the tooling
account decides with its own identity policies which of its roles may assume the target's
(the deploy pipeline's actions and its staging tests).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from aws_cdk import CfnCondition, Fn
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..._internal.validation import check_account_id, check_pattern, is_unresolved
from ..project.identity import PROJECT_ID_TAG

#: An AWS Organizations id: ``o-`` and 10 to 32 lower-case letters or digits.
ORGANIZATION_ID_PATTERN = r"o-[a-z0-9]{10,32}"
ORGANIZATION_ID_RULE = "an AWS Organizations id: 'o-' and 10 to 32 lower-case letters or digits"
#: The principal tag the ``require_project_tag`` condition asks for.
PROJECT_PRINCIPAL_TAG = f"aws:PrincipalTag/{PROJECT_ID_TAG}"


def check_organization_id(setting: str, value: str) -> str:
    """An AWS Organizations id, or empty for none (a token is left to CloudFormation)."""
    return value if value == "" else check_pattern(setting, value, ORGANIZATION_ID_PATTERN, ORGANIZATION_ID_RULE + ", or empty for none")


class ToolingAccountTrust(Construct):
    """The trust of a role that the tooling account assumes, with its optional conditions.

    :param tooling_account: the tooling account's 12-digit id (a string or a token).
    :param organization_id: the AWS Organizations id the caller's account must belong to
        (``aws:PrincipalOrgID``); ``None`` or empty for none; a token may be empty at
        deployment: the condition then drops out. Default: none.
    :param require_project_tag: the caller must carry the ``sagemaker:project-id`` tag
        (``aws:PrincipalTag``): True, False, or a token that is ``"true"`` or ``"false"`` at
        deployment. Default: False.

    Resolved values are checked (``ValueError`` naming the setting); tokens are left to
    CloudFormation (give the parameter an ``AllowedPattern`` or ``AllowedValues``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tooling_account: str,
        organization_id: Optional[str] = None,
        require_project_tag: Union[bool, str] = False,
    ) -> None:
        check_account_id("tooling_account", tooling_account)
        if organization_id is not None:
            check_organization_id("organization_id", organization_id)
        super().__init__(scope, construct_id)
        #: The tooling account's id.
        self.tooling_account: str = tooling_account
        #: The organization id (a string, a token, or None).
        self.organization_id: Optional[str] = organization_id or None
        #: Whether the caller must carry the project tag (a bool or a token).
        self.require_project_tag: Union[bool, str] = require_project_tag
        # name -> (operator, key, value), and the condition it holds under (None: always).
        self._entries: dict[str, tuple[str, str, str]] = {}
        self._conditions: dict[str, Optional[CfnCondition]] = {}
        if self.organization_id is not None:
            self._entries["OrganizationId"] = ("StringEquals", "aws:PrincipalOrgID", self.organization_id)
            self._conditions["OrganizationId"] = (
                CfnCondition(
                    self, "OrganizationIdGiven", expression=Fn.condition_not(Fn.condition_equals(self.organization_id, ""))
                )
                if is_unresolved(self.organization_id)
                else None
            )
        if isinstance(require_project_tag, str) and is_unresolved(require_project_tag):
            self._entries["ProjectTag"] = ("Null", PROJECT_PRINCIPAL_TAG, "false")
            self._conditions["ProjectTag"] = CfnCondition(
                self, "ProjectTagRequired", expression=Fn.condition_equals(require_project_tag, "true")
            )
        elif require_project_tag is True:
            self._entries["ProjectTag"] = ("Null", PROJECT_PRINCIPAL_TAG, "false")
            self._conditions["ProjectTag"] = None
        elif require_project_tag is not False:
            raise ValueError(f"invalid require_project_tag {require_project_tag!r}: expected True, False or a token")

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
        present = list(self._entries)
        if not present:
            return None

        def block(names: list[str]) -> dict[str, Any]:
            merged: dict[str, dict[str, str]] = {}
            for name in names:
                operator, key, value = self._entries[name]
                merged.setdefault(operator, {})[key] = value
            return merged

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
