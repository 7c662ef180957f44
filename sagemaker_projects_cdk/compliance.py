"""Security packs (cdk-nag 3) and the one way this library acknowledges a finding.

cdk-nag 3 runs as CDK validation plugins: ``app.synth()`` fails while any finding is
neither fixed nor acknowledged. Acknowledgements sit on the narrowest construct that
causes the finding and always carry the reason a reviewer would read.

checkov (run by the tests on every synthesized template) reads its acknowledgements from
the template itself: ``checkov_skip`` writes them into the resource's ``Metadata``.
"""

from __future__ import annotations

import json
import re

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
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
        if fn == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
            # A part of a split value (e.g. of a connection ARN parameter): never a wildcard.
            index, listed = arg
            if isinstance(listed, dict) and set(listed) == {"Fn::Split"}:
                separator, text = listed["Fn::Split"]
                return f"<{_render(text)}[{separator}{index}]>"
        if fn == "Fn::If":
            # cdk-nag prints any other function as JSON.stringify does (no spaces).
            return json.dumps(value, separators=(",", ":"))
    raise ValueError(f"invalid ARN {value!r}: expected strings, Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select of Fn::Split and Fn::If only")


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


#: What the scanners ask of every Lambda function, and why none of it fits a function that
#: aws-cdk-lib provides for CloudFormation to invoke once per resource change (bucket
#: deployments, custom resources): (reason, cdk-nag rule ids, checkov check ids).
CDK_FUNCTION_FINDINGS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "no reserved concurrency: Lambda refuses a reservation that leaves fewer than 100 unreserved "
        "executions, so it would fail the stack in accounts with a reduced concurrency quota (new "
        "accounts have one), and CloudFormation invokes the function once per resource change",
        ("HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency"),
        ("CKV_AWS_115",),
    ),
    (
        "no dead-letter queue: CloudFormation reports a failed invocation as the resource's failure "
        "in the stack events, so a queue would keep events that nobody replays",
        ("HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"),
        ("CKV_AWS_116",),
    ),
    (
        "no VPC: it calls only AWS APIs through their regional endpoints and these templates create "
        "no VPC; one with NAT or endpoints for this function alone adds cost and nothing to protect",
        ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"),
        ("CKV_AWS_117",),
    ),
    (
        "its runtime is chosen by aws-cdk-lib and moves with its releases",
        ("AwsSolutions-L1",),
        (),
    ),
)
_BASIC_EXECUTION_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def acknowledge_deployment_function(function: IConstruct, *, purpose: str) -> None:
    """Acknowledge, for cdk-nag and checkov alike, the concurrency, dead-letter queue and VPC
    findings on a function of this library that CloudFormation invokes once per resource
    change (a custom resource's handler); ``purpose`` says what it does."""
    _acknowledge_function(function, purpose, CDK_FUNCTION_FINDINGS[:3])


def _acknowledge_function(
    function: IConstruct, purpose: str, findings: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
) -> None:
    for reason, rule_ids, check_ids in findings:
        text = f"{purpose}; {reason}"
        acknowledge(function, text, *rule_ids)
        for check_id in check_ids:
            checkov_skip(function, check_id, text)


def acknowledge_cdk_function(function: IConstruct, *, purpose: str, role: IConstruct | None = None) -> None:
    """Acknowledge, for cdk-nag and checkov alike, the Lambda findings on a function that
    aws-cdk-lib provides (``purpose`` says what it does, e.g. "AwsCustomResource function runs
    once per template change to copy a template") and, with ``role``, its
    AWSLambdaBasicExecutionRole. Call it for every such function a construct adds (custom
    resources, providers, bucket deployments): ``CDK_FUNCTION_FINDINGS`` lists what it covers."""
    _acknowledge_function(function, f"aws-cdk-lib's {purpose}", CDK_FUNCTION_FINDINGS)
    if role is not None:
        acknowledge(
            role,
            "AWSLambdaBasicExecutionRole only lets the function write its own logs",
            f"AwsSolutions-IAM4[Policy::{_BASIC_EXECUTION_ROLE}]",
        )


#: A checkov check id: ``CKV_AWS_18``, ``CKV2_AWS_62``...
_CHECKOV_ID = re.compile(r"CKV2?_[A-Z0-9]+_[0-9]+")


def checkov_skip(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip checkov's ``check_id`` on ``construct``'s CloudFormation resource (an L1, or an L2
    whose default child is one) and say why, as ``acknowledge`` does for cdk-nag.

    Written into the resource's template metadata, where checkov reads suppressions:
    ``Metadata: {checkov: {skip: [{id, comment}]}}``, merged with what is already there. A
    second skip of the same check on the same resource (a singleton function that several
    constructs use) adds its reason to the comment.
    """
    if not reason.strip():
        raise ValueError("invalid reason '': expected the reason a reviewer would accept")
    if not _CHECKOV_ID.fullmatch(check_id):
        raise ValueError(f"invalid check_id {check_id!r}: expected a checkov check id such as 'CKV_AWS_18'")
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise ValueError(
            f"invalid construct {construct.node.path!r}: expected a CloudFormation resource or a construct whose default child is one"
        )
    checkov = dict(resource.get_metadata("checkov") or {})
    skips = [dict(skip) for skip in checkov.get("skip", [])]
    same = next((skip for skip in skips if skip.get("id") == check_id), None)
    if same is None:
        skips.append({"id": check_id, "comment": reason})
    elif reason not in same["comment"].split(" | "):
        same["comment"] = f"{same['comment']} | {reason}"
    resource.add_metadata("checkov", {**checkov, "skip": skips})
