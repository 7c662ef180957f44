"""Private networking: every job, model and build of a project in the given VPC subnets.

One setting, :class:`PrivateNetwork`, that every template and construct accepts: the VPC,
its subnets and security groups. Off by default (None). Given, it puts

- the CodeBuild projects in the VPC (``VpcConfig``; their roles may create the network
  interfaces CodeBuild documents, ``ec2:CreateNetworkInterfacePermission`` only in the given
  subnets and for CodeBuild),
- the SageMaker models (real-time, asynchronous, batch) and the monitoring schedules'
  jobs in the subnets (``VpcConfig``/``NetworkConfig``); the stage templates' models always
  with network isolation (they have no setting for it), the monitoring jobs never (Clarify
  calls the endpoint),
- the model-build SageMaker pipeline's processing, training and check jobs in the subnets
  (the build's CodeBuild environment names them: ``PRIVATE_SUBNET_IDS``,
  ``PRIVATE_SECURITY_GROUP_IDS``, and ``PRIVATE_NETWORK_ISOLATION``, ``true`` or ``false``,
  whether its processing and training jobs and its model are isolated; the seed pipeline
  reads them).

Subnets without security groups, or the reverse, is refused at synth with a ``ValueError``
naming the setting. Values that are CloudFormation tokens (a template's parameters) are left
to CloudFormation: :meth:`PrivateNetwork.from_parameters` declares the template's parameters,
a rule that they are given together, and the condition under which the network applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from aws_cdk import (
    Aws,
    CfnCondition,
    CfnParameter,
    CfnResource,
    CfnRule,
    CfnRuleAssertion,
    CfnWaitConditionHandle,
    Fn,
    Stack,
    Token,
    Tokenization,
)
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct

from .._internal.validation import check_pattern, invalid, is_unresolved
from ..compliance import acknowledge, acknowledge_wildcards

#: The CodeBuild environment variables (the VPC id; comma-separated ids) the seed code reads.
VPC_VARIABLE = "PRIVATE_VPC_ID"
SUBNETS_VARIABLE = "PRIVATE_SUBNET_IDS"
SECURITY_GROUPS_VARIABLE = "PRIVATE_SECURITY_GROUP_IDS"
#: ``true`` or ``false``: the model build's processing and training jobs (and its model) isolated.
ISOLATION_VARIABLE = "PRIVATE_NETWORK_ISOLATION"
#: The template parameters, when the setting is not given.
VPC_PARAMETER, SUBNETS_PARAMETER, SECURITY_GROUPS_PARAMETER = "PrivateVpcId", "PrivateSubnetIds", "PrivateSecurityGroupIds"
PARAMETERS = (VPC_PARAMETER, SUBNETS_PARAMETER, SECURITY_GROUPS_PARAMETER)

VPC_ID = r"vpc-[0-9a-f]{8,17}"
SUBNET_ID = r"subnet-[0-9a-f]{8,17}"
SECURITY_GROUP_ID = r"sg-[0-9a-f]{8,17}"
#: SageMaker's limits: 1 to 16 subnets, 1 to 5 security groups (CodeBuild's are the same).
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5

#: What SageMaker's execution role needs to run jobs and models in a VPC (SageMaker Developer
#: Guide, "Give SageMaker access to resources in your Amazon VPC"), describes first.
SAGEMAKER_DESCRIBE_ACTIONS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
SAGEMAKER_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
#: CodeBuild's service role for a project in a VPC (CodeBuild User Guide, "Allow CodeBuild
#: access to AWS services required to create a VPC network interface") holds the same
#: describes, creates and deletes network interfaces (scoped here to the network's VPC), and
#: ``ec2:CreateNetworkInterfacePermission`` only for CodeBuild and the given subnets.


def is_list_token(values: Any) -> bool:
    """True when ``values`` is a list token (a ``CommaDelimitedList`` parameter's value)."""
    return isinstance(values, (list, tuple)) and Tokenization.reverse_list(list(values)) is not None


def _ids(setting: str, values: Any, pattern: str, kind: str, most: int) -> None:
    if is_list_token(values):
        return
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise invalid(setting, values, f"a sequence of {kind} ids, e.g. ('{pattern.split('-')[0]}-0123456789abcdef0',)")
    if len(values) > most:
        raise invalid(setting, values, f"at most {most} {kind} ids")
    for value in values:
        if not is_unresolved(value):
            check_pattern(setting, value, pattern, f"{kind} ids ({pattern})")


@dataclass(frozen=True, kw_only=True)
class PrivateNetwork:
    """The VPC every job, model and build of a project runs in.

    :param vpc_id: the VPC of the subnets (CodeBuild's ``VpcConfig`` names it).
    :param subnet_ids: private subnets (1 to 16) with the VPC endpoints the jobs need
        (docs/guide/networking.md); given together with ``security_group_ids``.
    :param security_group_ids: security groups (1 to 5) of the network interfaces; given
        together with ``subnet_ids``.
    :param network_isolation: the model build's processing and training jobs and its model
        without any network access from the container (SageMaker still reads and writes their
        S3 data and pulls their image); False for scripts that call AWS APIs or download
        packages. The build reads it as ``PRIVATE_NETWORK_ISOLATION``. The stage templates'
        models are isolated either way (they have no setting for it). Default: True.
    :param condition: a CloudFormation condition under which the network applies (the
        templates' parameters left empty: off). Default: None, always.
    """

    vpc_id: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    network_isolation: bool = True
    condition: Optional[CfnCondition] = None

    def __post_init__(self) -> None:
        for name in ("subnet_ids", "security_group_ids"):
            value = getattr(self, name)
            if isinstance(value, list) and not is_list_token(value):  # frozen: a list becomes a tuple
                object.__setattr__(self, name, tuple(value))
        subnets, groups = self.subnet_ids, self.security_group_ids
        known = [not is_list_token(v) and isinstance(v, (list, tuple)) for v in (subnets, groups)]
        if all(known):
            if subnets and not groups:
                raise invalid(
                    "private_network.security_group_ids", tuple(groups),
                    f"security group ids with the subnets {tuple(subnets)} (subnets and security groups are given together)",
                )
            if groups and not subnets:
                raise invalid(
                    "private_network.subnet_ids", tuple(subnets),
                    f"subnet ids with the security groups {tuple(groups)} (subnets and security groups are given together)",
                )
            if not subnets:
                raise invalid("private_network", "no subnets and no security groups", "subnet and security group ids, or None for no private network")
        _ids("private_network.subnet_ids", subnets, SUBNET_ID, "subnet", MAX_SUBNETS)
        _ids("private_network.security_group_ids", groups, SECURITY_GROUP_ID, "security group", MAX_SECURITY_GROUPS)
        if not is_unresolved(self.vpc_id):
            check_pattern("private_network.vpc_id", self.vpc_id, VPC_ID, f"a VPC id ({VPC_ID})")
        if not isinstance(self.network_isolation, bool):
            raise invalid("private_network.network_isolation", self.network_isolation, "True or False")

    @classmethod
    def from_parameters(cls, stack: Stack, *, network_isolation: bool = True, prefix: str = "Private") -> PrivateNetwork:
        """The network as the parameters ``<prefix>VpcId``, ``<prefix>SubnetIds`` and
        ``<prefix>SecurityGroupIds`` of ``stack`` (all empty by default: off), a rule that they
        are given together, and the condition ``<prefix>NetworkOn``."""
        vpc = CfnParameter(
            stack, f"{prefix}VpcId", type="String", default="", allowed_pattern=f"^({VPC_ID})?$",
            description="VPC of the private subnets every job, model and build runs in; empty: no private network",
            constraint_description="must be a VPC id or empty",
        )
        subnets = CfnParameter(
            stack, f"{prefix}SubnetIds", type="CommaDelimitedList", default="",
            description="Private subnet ids (comma-separated), given with the security groups; empty: no private network",
        )
        groups = CfnParameter(
            stack, f"{prefix}SecurityGroupIds", type="CommaDelimitedList", default="",
            description="Security group ids (comma-separated), given with the subnets; empty: no private network",
        )
        # Rules allow no Fn::Join: an empty list parameter is the one-element list [""].
        no_subnets = Fn.condition_each_member_equals(subnets.value_as_list, "")
        no_groups = Fn.condition_each_member_equals(groups.value_as_list, "")
        no_vpc = Fn.condition_equals(vpc.value_as_string, "")
        CfnRule(
            stack,
            f"{prefix}NetworkTogether",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_or(
                        Fn.condition_and(no_vpc, no_subnets, no_groups),
                        Fn.condition_and(
                            Fn.condition_not(no_vpc), Fn.condition_not(no_subnets), Fn.condition_not(no_groups),
                            # No empty member: a stray comma ("subnet-a," or "subnet-a,,subnet-b").
                            Fn.condition_not(Fn.condition_contains(subnets.value_as_list, "")),
                            Fn.condition_not(Fn.condition_contains(groups.value_as_list, "")),
                        ),
                    ),
                    assert_description=f"{prefix}VpcId, {prefix}SubnetIds and {prefix}SecurityGroupIds are given "
                    "together (subnets without security groups, or the reverse, are refused; ids separated by commas, "
                    "no spaces, no trailing comma), or all left empty",
                )
            ],
        )
        on = CfnCondition(
            stack, f"{prefix}NetworkOn", expression=Fn.condition_not(Fn.condition_equals(Fn.join("", subnets.value_as_list), ""))
        )
        return cls(
            vpc_id=vpc.value_as_string,
            subnet_ids=subnets.value_as_list,
            security_group_ids=groups.value_as_list,
            network_isolation=network_isolation,
            condition=on,
        )

    # ------------------------------------------------------------------ rendering

    def when(self, value: Any, otherwise: Any = None) -> Any:
        """``value`` under the network's condition (``otherwise``, default ``AWS::NoValue``, when
        it does not hold); ``value`` itself when there is no condition."""
        if self.condition is None:
            return value
        return Fn.condition_if(self.condition.logical_id, value, Aws.NO_VALUE if otherwise is None else otherwise)

    def comma_separated(self, ids: Sequence[str]) -> str:
        """``ids`` as one comma-separated string (an environment variable's value)."""
        if is_list_token(ids):
            return Fn.join(",", list(ids))
        return Fn.join(",", list(ids)) if any(is_unresolved(i) for i in ids) else ",".join(ids)

    def environment(self) -> dict[str, str]:
        """The environment variables that name the subnets and security groups to the seed code
        (empty strings when the condition does not hold), and whether its jobs are isolated."""
        values = {
            VPC_VARIABLE: self.vpc_id,
            SUBNETS_VARIABLE: self.comma_separated(self.subnet_ids),
            SECURITY_GROUPS_VARIABLE: self.comma_separated(self.security_group_ids),
        }
        named = {name: Token.as_string(self.when(value, "")) for name, value in values.items()}
        return {**named, ISOLATION_VARIABLE: "true" if self.network_isolation else "false"}

    def sagemaker_vpc_config(self) -> Any:
        """A SageMaker model's ``VpcConfig`` under the condition (the typed property without one)."""
        if self.condition is None:
            return sagemaker.CfnModel.VpcConfigProperty(
                subnets=list(self.subnet_ids), security_group_ids=list(self.security_group_ids)
            )
        return self.when({"Subnets": list(self.subnet_ids), "SecurityGroupIds": list(self.security_group_ids)})

    def subnet_arns(self, stack: Stack) -> Any:
        """The subnets' ARNs (a list, or a list token built with Fn::Split when the ids are one)."""
        return _arns(stack, "subnet", self.subnet_ids)

    # ------------------------------------------------------------------ applying

    def apply_to_codebuild(self, project: codebuild.Project) -> None:
        """Put ``project`` in the VPC and let its role create the network interfaces CodeBuild needs."""
        cfn = project.node.default_child
        assert isinstance(cfn, codebuild.CfnProject)
        cfn.add_property_override(
            "VpcConfig",
            self.when({"VpcId": self.vpc_id, "Subnets": list(self.subnet_ids), "SecurityGroupIds": list(self.security_group_ids)}),
        )
        role = project.role
        if role is None:  # an imported role: its owner grants the network permissions
            return
        stack = Stack.of(project)
        interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
        policy = iam.ManagedPolicy(
            project,
            "PrivateNetworkPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=list(SAGEMAKER_DESCRIBE_ACTIONS), resources=["*"]),
                iam.PolicyStatement(
                    actions=["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"], resources=[interfaces]
                ),
                _create_in_vpc(self, stack),
                iam.PolicyStatement(
                    actions=["ec2:CreateNetworkInterfacePermission"],
                    resources=[interfaces],
                    conditions={
                        "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                        "ArnLike": {"ec2:Subnet": self.subnet_arns(stack)},
                    },
                ),
            ],
        )
        self._conditional(policy)
        # CodeBuild checks the role's EC2 permissions when the project is created.
        self._after(cfn, policy)
        self.acknowledge_empty_defaults(cfn)
        acknowledge_wildcards(
            policy,
            "CodeBuild creates and deletes its build containers' network interfaces with ids it chooses, in subnets "
            "and security groups of the given VPC only (ec2:Vpc condition), and its ec2:Describe* calls have no "
            "resource type; CreateNetworkInterfacePermission is limited to the given subnets and to CodeBuild by "
            "condition (CodeBuild User Guide's VPC policy)",
            *sagemaker_wildcards(stack),
        )

    def grant_sagemaker(
        self, scope: Construct, role: iam.IRole, construct_id: str = "PrivateNetworkPolicy"
    ) -> iam.ManagedPolicy:
        """Let ``role`` (a SageMaker execution role) create the network interfaces of its jobs and
        models in the given subnets and security groups, as SageMaker documents for VPC jobs."""
        stack = Stack.of(scope)
        policy = iam.ManagedPolicy(scope, construct_id, roles=[role], statements=sagemaker_statements(self, stack))
        self._conditional(policy)
        acknowledge_wildcards(
            policy,
            "SageMaker creates and deletes its jobs' and models' network interfaces with ids it chooses, in the given "
            "VPC only (ec2:Vpc condition on the subnets and security groups); the ec2:Describe* calls have no "
            "resource type",
            *sagemaker_wildcards(stack),
        )
        return policy

    def acknowledge_empty_defaults(self, resource: IConstruct) -> None:
        """Acknowledge on ``resource`` (which holds this network's VPC configuration) the
        validator's findings on the parameters' empty defaults: the configuration exists only
        under the condition that they are given."""
        if self.condition is None:
            return
        acknowledge(
            resource,
            "the VPC configuration exists only under the condition that the private network parameters are "
            "given; the validator checks it with their empty defaults",
            "CloudFormation-Validate::E1150",
            "CloudFormation-Validate::E1151",
            "CloudFormation-Validate::E1154",
            "CloudFormation-Validate::F3031",
        )

    def _after(self, resource: CfnResource, policy: iam.ManagedPolicy) -> None:
        """``resource`` is created after ``policy`` (DependsOn may not name a conditional
        resource: it waits for a handle that refers to the policy when it exists)."""
        if self.condition is None:
            resource.node.add_dependency(policy)
            return
        cfn_policy = policy.node.default_child
        assert isinstance(cfn_policy, CfnResource)
        ready = CfnWaitConditionHandle(policy, "Ready")
        ready.cfn_options.metadata = {"Policy": Fn.condition_if(self.condition.logical_id, cfn_policy.ref, "")}
        resource.node.add_dependency(ready)

    def _conditional(self, construct: IConstruct) -> None:
        if self.condition is None:
            return
        cfn = construct.node.default_child
        assert isinstance(cfn, CfnResource)
        cfn.cfn_options.condition = self.condition


def sagemaker_wildcards(stack: Stack) -> list[str]:
    """The wildcard resources of :func:`sagemaker_statements`."""
    return [
        "*",
        stack.format_arn(service="ec2", resource="network-interface", resource_name="*"),
        *(_shared_arn(stack, kind, "*") for kind in ("subnet", "security-group")),
    ]


def _shared_arn(stack: Stack, kind: str, name: str) -> str:
    """An EC2 ARN of ``kind`` in any account: a VPC shared through AWS RAM belongs to another
    account (its subnets, security groups and the VPC itself carry the owner's account id)."""
    return stack.format_arn(service="ec2", resource=kind, resource_name=name, account="*")


def sagemaker_statements(network: PrivateNetwork, stack: Stack) -> list[iam.PolicyStatement]:
    """The statements of :meth:`PrivateNetwork.grant_sagemaker`: describes on ``*``; network
    interfaces (ids SageMaker chooses) created and deleted, in subnets and with security groups
    of the given VPC only."""
    interfaces = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
    return [
        iam.PolicyStatement(actions=list(SAGEMAKER_DESCRIBE_ACTIONS), resources=["*"]),
        iam.PolicyStatement(actions=list(SAGEMAKER_INTERFACE_ACTIONS), resources=[interfaces]),
        _create_in_vpc(network, stack),
    ]


def _create_in_vpc(network: PrivateNetwork, stack: Stack) -> iam.PolicyStatement:
    """``ec2:CreateNetworkInterface`` on the subnets and security groups of ``network``'s VPC only."""
    subnets, groups = (_shared_arn(stack, kind, "*") for kind in ("subnet", "security-group"))
    vpc_arn = _shared_arn(stack, "vpc", network.vpc_id)
    return iam.PolicyStatement(
        actions=["ec2:CreateNetworkInterface"], resources=[subnets, groups], conditions={"ArnLike": {"ec2:Vpc": vpc_arn}}
    )


def _arns(stack: Stack, kind: str, ids: Sequence[str]) -> Any:
    """The EC2 ARNs of ``ids`` of resource type ``kind``. For a list token: Fn::Split of
    Fn::Join, whose delimiter must be a literal string, so partition, region and account are
    ``*`` there (subnet and security group ids are unique: the ARN names one resource still)."""
    if is_list_token(ids):
        prefix = f"arn:*:ec2:*:*:{kind}/"
        return Fn.split(",", Fn.join("", [prefix, Fn.join("," + prefix, list(ids))]))
    return [_shared_arn(stack, kind, i) for i in ids]



def grant_network_in_policy(policy: iam.ManagedPolicy, network: PrivateNetwork, conditional: Any = None) -> None:
    """Add :func:`sagemaker_statements` to ``policy`` (a SageMaker model's or job's), each
    present only under ``network``'s condition when it has one: the resource that waits for
    the policy waits for them too. ``conditional``: the policy's ``ConditionalStatements``
    when it has one already (two would each write the statement list)."""
    from .._internal.resource_policy import ConditionalStatements

    stack = Stack.of(policy)
    statements = sagemaker_statements(network, stack)
    if network.condition is None:
        policy.add_statements(*statements)
    else:
        cfn = policy.node.default_child
        assert isinstance(cfn, CfnResource)
        conditional = conditional or ConditionalStatements(cfn, "PolicyDocument", policy.document)
        for statement in statements:
            # IAM has no optional statement, and moto (the tests' CloudFormation) refuses a
            # policy whose statement list holds AWS::NoValue: off, the same statement denies.
            denied = iam.PolicyStatement(effect=iam.Effect.DENY, actions=statement.actions, resources=statement.resources)
            conditional.add(statement, network.condition, otherwise=denied)
    acknowledge_wildcards(
        policy,
        "SageMaker creates and deletes the network interfaces of the model or job with ids it chooses, in the given "
        "VPC only (ec2:Vpc condition on the subnets and security groups); the ec2:Describe* calls have no resource "
        "type",
        *sagemaker_wildcards(stack),
    )
