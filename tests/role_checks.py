"""Shared pieces of the role sufficiency checks: every template, and one role against its requests.

``all_templates(assembly)`` gives every synthesized template a role can live in, by a short
name: the TEMPLATES stacks (``model-build``...), the Studio stack (``studio``), its product
templates (``studio/<template id>``), the seeds' endpoint and monitor stages (``endpoint-stage``,
``monitor-stage``) and the
target-account baseline (``target-account``).

``RoleCheck`` holds a role's policy and the IAM requests (:class:`call_recorder.IamRequest`)
that what runs with it makes; ``missing`` lists the requests the policy denies and
``unneeded`` the allowed action patterns that no request needs and no reason explains (a
reason for an action a request does need is reported too: the reasons must stay true).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

HERE = Path(__file__).resolve().parent
if str(HERE / "seed") not in sys.path:  # call_recorder lives with the seed tests
    sys.path.append(str(HERE / "seed"))

from call_recorder import IamRequest  # noqa: E402
from iam_eval import Policy, Resolver, action_matches, role_policy_documents  # noqa: E402

REPO = HERE.parent
ENDPOINT_STAGE = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy" / "endpoint-stage.template.json"
MONITOR_STAGE = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_monitor" / "monitor-stage.template.json"
#: AWS managed policies that aws-cdk-lib attaches, as AWS publishes them (IAM console, policy version v1).
AWS_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}
        ],
    },
}


def all_templates(assembly: Any) -> dict[str, dict]:
    """Every template of the cloud assembly, the seeds' endpoint and monitor stages and the target-account baseline, by short name."""
    from sagemaker_projects_cdk.stacks import TEMPLATES

    found = dict(assembly.templates)
    found["studio"] = json.loads((assembly.outdir / "StudioTemplates.template.json").read_text())
    for path in sorted(assembly.outdir.glob("StudioTemplates*.product.template.json")):
        product = re.fullmatch(r"StudioTemplatesStudio(\w+?)Template[0-9A-F]{8}\.product\.template\.json", path.name)
        assert product, path.name
        (template_id,) = [t for t in TEMPLATES if t.replace("-", "") == product.group(1).lower()]
        found[f"studio/{template_id}"] = json.loads(path.read_text())
    found["endpoint-stage"] = json.loads(ENDPOINT_STAGE.read_text())
    found["monitor-stage"] = json.loads(MONITOR_STAGE.read_text())
    found["target-account"] = target_account_template(assembly)
    return found


def target_account_template(assembly: Any) -> dict:
    """The target-account baseline's template, synthesized by ``build_app`` beside the templates."""
    from sagemaker_projects_cdk.app import TARGET_ACCOUNT_STACK_ID

    return json.loads((assembly.outdir / f"{TARGET_ACCOUNT_STACK_ID}.template.json").read_text())


def roles(template: Mapping[str, Any]) -> list[str]:
    return [i for i, r in template.get("Resources", {}).items() if r["Type"] == "AWS::IAM::Role"]


def the_one(template: Mapping[str, Any], kind: str, prefix: str) -> str:
    """The logical id of the one resource of type ``kind`` whose id starts with ``prefix``."""
    (found,) = [i for i, r in template["Resources"].items() if r["Type"] == kind and i.startswith(prefix)]
    return found


def role_policy_with_managed(resolver: Resolver, role_id: str) -> Policy:
    """The role's policies, with the AWS managed policies it has (``AWS_MANAGED_POLICIES``)."""
    from iam_eval import PolicySource

    properties = resolver.resources[role_id].get("Properties", {})
    arns = resolver.resolve(properties.get("ManagedPolicyArns", []))
    aws_managed = [a for a in arns if a in AWS_MANAGED_POLICIES]
    if not aws_managed:
        return Policy(role_policy_documents(resolver, role_id))
    others = [a for a in properties["ManagedPolicyArns"] if resolver.resolve(a) not in AWS_MANAGED_POLICIES]
    stripped = dict(resolver.template)
    stripped["Resources"] = {
        **resolver.resources,
        role_id: {**resolver.resources[role_id], "Properties": {**properties, "ManagedPolicyArns": others}},
    }
    inner = Resolver(
        stripped, parameters=resolver.parameters, physical_ids=resolver.physical_ids, attributes=resolver.attributes,
        region=resolver.region, account=resolver.account, partition=resolver.partition,
    )
    sources = role_policy_documents(inner, role_id)
    sources += [PolicySource(arn, AWS_MANAGED_POLICIES[arn]) for arn in aws_managed]
    return Policy(sources)


@dataclass(frozen=True)
class RoleCheck:
    """One role: its policy, the requests made with it, and why it may allow more."""

    label: str
    policy: Policy
    requests: list[IamRequest]
    #: Allowed action patterns no request needs, with the reason they are there.
    not_needed: Mapping[str, str] = field(default_factory=dict)


def missing(check: RoleCheck) -> list[str]:
    return [
        f"{check.label} may not {r.action} on {r.resource} (needed by {r.call}; context {dict(r.context)})"
        for r in check.requests
        if not check.policy.allowed(r.action, r.resource, r.context)
    ]


def unneeded(check: RoleCheck) -> list[str]:
    problems = []
    for pattern, statement in check.policy.allowed_actions():
        needed = any(action_matches(pattern, r.action) for r in check.requests)
        if not needed and pattern not in check.not_needed:
            problems.append(f"{check.label} allows {pattern} ({statement.source}), which nothing it runs needs")
        if needed and pattern in check.not_needed:
            problems.append(f"{check.label}: {pattern} is listed as not needed, but a request needs it")
    return problems


def request(action: str, resource: str, why: str, context: Optional[Mapping[str, Any]] = None) -> IamRequest:
    return IamRequest(action, resource, dict(context or {}), why)


def via_s3(region: str, account: str, **more: Any) -> dict[str, Any]:
    return {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": account, **more}


def function_log_requests(resolver: Resolver, function_id: str) -> list[IamRequest]:
    """What Lambda's runtime does with the function's role: create its log stream and write to it,
    in the log group the function names (``LoggingConfig``), else ``/aws/lambda/<name>``."""
    properties = resolver.resources[function_id]["Properties"]
    logging = properties.get("LoggingConfig", {})
    if "LogGroup" in logging:
        group = resolver.resolve(logging["LogGroup"])
    else:
        group = f"/aws/lambda/{resolver.ref(function_id)}"
    stream = f"arn:aws:logs:{resolver.region}:{resolver.account}:log-group:{group}:log-stream:2025/01/01/[$LATEST]0123abcd"
    why = f"Lambda writes {function_id}'s logs"
    return [request("logs:CreateLogStream", stream, why), request("logs:PutLogEvents", stream, why)]


def function_of_role(template: Mapping[str, Any], role_id: str) -> str:
    """The one Lambda function that runs with ``role_id``."""
    (found,) = [
        i
        for i, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Role") == {"Fn::GetAtt": [role_id, "Arn"]}
    ]
    return found
