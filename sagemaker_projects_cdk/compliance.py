"""Security packs (cdk-nag 3) and the one way this library acknowledges a finding.

cdk-nag 3 runs as CDK validation plugins: ``app.synth()`` fails while any finding is
neither fixed nor acknowledged. Acknowledgements sit on the narrowest construct that
causes the finding and always carry the reason a reviewer would read.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks
from constructs import IConstruct

#: The packs every template must pass.
SECURITY_PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks)


def add_security_packs(app: App) -> None:
    """Run the AwsSolutions, HIPAA Security and NIST 800-53 R5 packs when ``app`` synthesizes."""
    Validations.of(app).add_plugins(*(pack(app) for pack in SECURITY_PACKS))


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge ``rule_ids`` (e.g. ``AwsSolutions-IAM5[Action::s3:GetObject*]``) on ``scope``."""
    if not reason.strip():
        raise ValueError("invalid reason '': expected the reason a reviewer would accept")
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))


def wildcard_finding(scope: IConstruct, resource: str) -> str:
    """The finding id of a wildcard ``resource`` (an ARN, tokens allowed, or ``*``) in a policy
    below ``scope``: ``AwsSolutions-IAM5[Resource::<resource as cdk-nag prints it>]``."""
    return f"AwsSolutions-IAM5[Resource::{nag_resource(scope, resource)}]"


def acknowledge_wildcards(scope: IConstruct, reason: str, *resources: str) -> None:
    """Acknowledge, on ``scope`` (a policy), the wildcard ``resources`` it grants and why they
    cannot be narrower; ``*`` stands for actions that have no resource type in IAM."""
    acknowledge(scope, reason, *(wildcard_finding(scope, resource) for resource in resources))


def nag_resource(scope: IConstruct, value: str) -> str:
    """A resource ARN as cdk-nag writes it in a finding id (``AwsSolutions-IAM5[Resource::...]``).

    cdk-nag prints ``{"Ref": "X"}`` as ``<X>`` and ``{"Fn::GetAtt": ["L", "A"]}`` as ``<L.A>``;
    this renders an ARN that holds tokens the same way, so acknowledgements name exactly
    the finding they accept.
    """
    return _render(Stack.of(scope).resolve(value))


def _render(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if fn == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([^}]+)\}", r"<\1>", arg)
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(_render(part) for part in parts)
    raise ValueError(f"invalid ARN {value!r}: expected strings, Ref, Fn::GetAtt, Fn::Sub and Fn::Join only")


#: Wildcard actions that aws-cdk-lib's own grants produce: ``grant_read``/``grant_read_write``
#: on a bucket and its KMS key (object-version variants of the same operations), and the
#: read-only stack calls of its CodePipeline CloudFormation actions.
CDK_GRANT_WILDCARD_ACTIONS = (
    "cloudformation:DescribeStack*",
    "cloudformation:GetTemplate*",
    "s3:GetObject*",
    "s3:GetBucket*",
    "s3:List*",
    "s3:DeleteObject*",
    "s3:Abort*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)


def acknowledge_cdk_grants(policy: IConstruct, *, reason: str, resources: tuple[str, ...] = ()) -> None:
    """Acknowledge what aws-cdk-lib's grants write into a role's inline ``DefaultPolicy``.

    ``reason`` says which grant it is and what it is limited to; ``resources`` are the
    wildcard resource ARNs (tokens allowed) that the grant scopes to this project. Only
    findings present in the policy are acknowledged, so a later change that adds another
    wildcard is still reported.
    """
    document = Stack.of(policy).resolve(policy.document)  # type: ignore[attr-defined]  # an iam.Policy, found by id
    actions: set[str] = set()
    present: set[str] = set()
    for statement in document.get("Statement", []):
        for key, found in (("Action", actions), ("Resource", present)):
            values = statement.get(key, [])
            values = values if isinstance(values, list) else [values]
            found.update(value if key == "Action" else _render(value) for value in values)
    rule_ids = [f"AwsSolutions-IAM5[Action::{action}]" for action in CDK_GRANT_WILDCARD_ACTIONS if action in actions]
    rendered = dict.fromkeys(nag_resource(policy, resource) for resource in resources)
    rule_ids += [f"AwsSolutions-IAM5[Resource::{r}]" for r in rendered if r in present]
    rule_ids += ["HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"]
    acknowledge(policy, reason + "; the inline policy belongs to this one role and is deleted with it", *rule_ids)


#: What the packs ask of every Lambda function: none of it fits a function that aws-cdk-lib
#: provides to run once per deployment (bucket deployments, custom resources).
_CDK_FUNCTION_RULES = (
    "AwsSolutions-L1",
    "HIPAA.Security-LambdaConcurrency",
    "HIPAA.Security-LambdaDLQ",
    "HIPAA.Security-LambdaInsideVPC",
    "NIST.800.53.R5-LambdaConcurrency",
    "NIST.800.53.R5-LambdaDLQ",
    "NIST.800.53.R5-LambdaInsideVPC",
)
_BASIC_EXECUTION_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def acknowledge_cdk_function(function: IConstruct, *, purpose: str, role: IConstruct | None = None) -> None:
    """Acknowledge the Lambda findings on a function aws-cdk-lib provides (``purpose`` says what
    it does once per deployment) and, with ``role``, its AWSLambdaBasicExecutionRole."""
    acknowledge(
        function,
        f"aws-cdk-lib's {purpose}; it needs no VPC, reserved concurrency or dead-letter queue "
        "(CloudFormation reports its failures) and its runtime is chosen by aws-cdk-lib",
        *_CDK_FUNCTION_RULES,
    )
    if role is not None:
        acknowledge(
            role,
            "AWSLambdaBasicExecutionRole only lets the function write its own logs",
            f"AwsSolutions-IAM4[Policy::{_BASIC_EXECUTION_ROLE}]",
        )
