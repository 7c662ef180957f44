"""Checks for roles that CloudFormation uses: enough for the templates' handlers, no broader.

The reference is the CloudFormation resource schemas that cfn-lint ships: each lists the
permissions its create, read, update and delete handlers call. A role test states, with a
reason each, the handler permissions the role leaves out (``NOT_NEEDED``) and the actions it
holds that no handler lists (``EXTRAS``); these helpers compute the findings.

Resources: ``resolve`` turns a template's ARN expressions into plain strings with fixed
sample values (partition ``aws``, region ``us-east-1``, account ``123456789012``, the
parameters given), so a test can check that a statement granting an action names a pattern
that matches the ARN of the resource a handler acts on (IAM wildcards: ``*`` and ``?``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import cfnlint.data.schemas

SCHEMAS = Path(cfnlint.data.schemas.__file__).parent
HANDLERS = ("create", "read", "update", "delete")

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"
PSEUDO_PARAMETERS = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}


#: Application Auto Scaling's service-linked role for SageMaker variants, in the sample account.
LINKED_ROLE = (
    f"arn:{PARTITION}:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
#: A scalable target of a SageMaker variant (Application Auto Scaling generates the id).
SCALABLE_TARGET = f"arn:{PARTITION}:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/056f3a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"


def stage_alarms(stack_name: str, endpoint_name: str) -> tuple[str, str]:
    """The ARNs of a stage stack's errors alarm (CloudFormation names it after the stack) and of
    an alarm Application Auto Scaling creates for its endpoint variant's target-tracking policy."""
    alarm = f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{stack_name}-EndpointErrorsAlarm6803A3F1-1A2B3C4D5E6F"
    tracking_alarm = (
        f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-endpoint/{endpoint_name}/variant/AllTraffic-"
        "AlarmHigh-01234567-89ab-cdef-0123-456789abcdef"
    )
    return alarm, tracking_alarm


def autoscaling_targets(*, alarm: str, tracking_alarm: str) -> dict[str, dict[str, str]]:
    """The resource each handler permission of the stage template's alarm and autoscaling types
    acts on (by action, else by service prefix; ``*``: an action IAM cannot scope)."""
    return {
        "AWS::CloudWatch::Alarm": {"cloudwatch": alarm},
        "AWS::ApplicationAutoScaling::ScalableTarget": {
            "application-autoscaling": SCALABLE_TARGET,
            "application-autoscaling:DescribeScalableTargets": "*",
            "application-autoscaling:DescribeScheduledActions": "*",
            "cloudwatch": tracking_alarm,
            "iam": LINKED_ROLE,
        },
        "AWS::ApplicationAutoScaling::ScalingPolicy": {
            "application-autoscaling": SCALABLE_TARGET,
            "application-autoscaling:DescribeScalingPolicies": "*",
            "cloudwatch:GetMetricData": "*",
        },
    }


@cache
def _provider_index() -> dict[str, str]:
    return json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())


def handler_permissions(resource_type: str) -> dict[str, set[str]] | None:
    """Permissions per handler (create, read, update, delete, list) of a resource type, or
    None for a type without a schema (legacy and custom types)."""
    index = _provider_index()
    if resource_type not in index:
        return None
    schema = json.loads((SCHEMAS / "resources" / f"{index[resource_type]}.json").read_text())
    return {name: set(handler.get("permissions", [])) for name, handler in schema.get("handlers", {}).items()}


def needed_permissions(resources: Iterable[dict], *, untyped: Iterable[str] = ()) -> dict[str, set[str]]:
    """What the handlers of ``resources`` (template resource dicts) call, as action -> the
    resource types whose handlers list it: create, read and update for every type, delete
    for types of which a resource is not retained. Types in ``untyped`` may lack a schema."""
    resources = list(resources)
    needed: dict[str, set[str]] = {}
    for resource_type in sorted({r["Type"] for r in resources}):
        handlers = handler_permissions(resource_type)
        if handlers is None:
            assert resource_type in set(untyped), f"{resource_type} has no schema"
            continue
        deleted = any(r["Type"] == resource_type and r.get("DeletionPolicy") != "Retain" for r in resources)
        for handler in HANDLERS if deleted else HANDLERS[:3]:
            for action in handlers.get(handler, set()):
                needed.setdefault(action, set()).add(resource_type)
    return needed


def listed_permissions(resource_types: Iterable[str]) -> set[str]:
    """Every permission any handler (list included) of ``resource_types`` names."""
    listed: set[str] = set()
    for resource_type in resource_types:
        for permissions in (handler_permissions(resource_type) or {}).values():
            listed |= permissions
    return listed


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def allow_statements(documents: Iterable[dict]) -> Iterator[dict]:
    """The Allow statements of ``documents``, both branches of a conditional one
    (``{"Fn::If": [condition, statement, {"Ref": "AWS::NoValue"}]}``, a stage in another account)."""
    for document in documents:
        for statement in document["Statement"]:
            for branch in statement["Fn::If"][1:] if set(statement) == {"Fn::If"} else [statement]:
                if branch != {"Ref": "AWS::NoValue"} and branch["Effect"] == "Allow":
                    yield branch


def granted_actions(documents: Iterable[dict]) -> set[str]:
    return {action for statement in allow_statements(documents) for action in as_list(statement["Action"])}


def missing(needed: Iterable[str], granted: set[str], not_needed: Mapping[str, str]) -> list[str]:
    """Handler permissions neither granted nor explained."""
    return sorted(set(needed) - set(not_needed) - granted)


def unexplained(granted: set[str], listed: set[str], extras: Mapping[str, str]) -> list[str]:
    """Granted actions that no handler lists and no extra explains."""
    return sorted(granted - listed - set(extras))


def stale(explained: Mapping[str, str], relevant: set[str]) -> list[str]:
    """Entries of NOT_NEEDED / EXTRAS that no longer apply (keep the lists honest)."""
    return sorted(set(explained) - relevant)


def resolve(value, template: dict | None = None, parameters: Mapping[str, str] | None = None) -> list[str]:
    """The plain strings a template expression stands for, with sample values: pseudo
    parameters, ``parameters`` by name, ``Fn::GetAtt [<KMS key>, Arn]`` as
    ``arn:aws:kms:us-east-1:123456789012:key/<logical id>``, both branches of ``Fn::If``."""
    parameters = parameters or {}
    resources = (template or {}).get("Resources", {})

    def strings(value) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        if "Ref" in value:
            name = value["Ref"]
            if name in PSEUDO_PARAMETERS:
                return [PSEUDO_PARAMETERS[name]]
            if name in parameters:
                return [parameters[name]]
            raise AssertionError(f"no sample value for Ref {name}")
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            joined = [""]
            for index, part in enumerate(parts):
                joined = [j + (separator if index else "") + s for j in joined for s in strings(part)]
            return joined
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if resources.get(logical_id, {}).get("Type") == "AWS::KMS::Key" and attribute == "Arn":
                return [f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{logical_id}"]
            raise AssertionError(f"no sample value for GetAtt {logical_id}.{attribute}")
        if "Fn::If" in value:
            _, yes, no = value["Fn::If"]
            return strings(yes) + strings(no)
        raise AssertionError(f"cannot resolve {value}")

    return strings(value)


def matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: ``*`` any run of characters, ``?`` one character, else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def statements_allowing(documents: Iterable[dict], action: str, arn: str, template: dict | None = None,
                        parameters: Mapping[str, str] | None = None) -> list[dict]:
    """Allow statements that grant ``action`` on a resource pattern matching ``arn`` (use
    ``"*"`` for actions IAM cannot scope: only a Resource ``"*"`` matches it literally)."""
    found = []
    for statement in allow_statements(documents):
        if action not in as_list(statement["Action"]):
            continue
        patterns = resolve(as_list(statement["Resource"]), template, parameters)
        if arn == "*" and "*" in patterns or arn != "*" and any(matches(p, arn) for p in patterns):
            found.append(statement)
    return found


def policy_length(document: dict, template: dict | None = None, parameters: Mapping[str, str] | None = None) -> int:
    """A policy's size as IAM counts it (whitespace excluded), resolved with sample values."""

    def plain(value):
        if isinstance(value, dict) and any(k == "Ref" or k.startswith("Fn::") for k in value):
            return resolve(value, template, parameters)[0]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return len(re.sub(r"\s", "", json.dumps(plain(document))))
