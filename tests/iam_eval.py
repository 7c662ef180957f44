"""A small IAM identity-policy evaluator over synthesized CloudFormation templates (tests only).

``role_policy(template, role_id, ...)`` collects a role's identity policies (inline
``Policies``, ``AWS::IAM::Policy``/``RolePolicy`` and ``AWS::IAM::ManagedPolicy`` attached to
it by ``Roles``/``RoleName`` or ``ManagedPolicyArns``), resolves their intrinsic functions
with concrete sample values (:class:`Resolver`) and answers ``allowed(action, resource,
context)`` as IAM does for one identity-based policy set:

- actions match case-insensitively with ``*`` and ``?``; resources case-sensitively, with
  ``*`` and ``?`` (``Action``/``NotAction``, ``Resource``/``NotResource``);
- every condition operator of a statement must hold; condition keys are case-insensitive;
- an explicit ``Deny`` wins over any ``Allow``; nothing allowed is an implicit deny.

Anything it does not know (an intrinsic function, a resource type's ``Ref``/``GetAtt``, a
condition operator, a policy variable, a multi-valued key without ``ForAnyValue``/
``ForAllValues``) raises :class:`EvalError`: it never allows by guessing.
Not modelled: resource policies, permission boundaries, SCPs, session policies.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"

ContextValue = Union[str, bool, int, float, Sequence[str], None]


class EvalError(Exception):
    """Something the evaluator does not model: the test fails rather than guess."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


# ------------------------------------------------------------------------- templates


@dataclass
class Resolver:
    """Resolves intrinsic functions of one template with concrete sample values.

    ``parameters`` override the parameters' defaults; ``physical_ids`` give a resource's
    ``Ref`` value (e.g. a bucket's name, a key's id, a role's name); ``attributes`` give
    ``Fn::GetAtt`` values by ``(logical id, attribute)``. Otherwise a resource's ``Ref`` is
    its name property when it has one, else derived from its logical id, and its ``Arn`` is
    built from that as AWS builds it.
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, str] = field(default_factory=dict)
    physical_ids: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    region: str = REGION
    account: str = ACCOUNT
    partition: str = PARTITION

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        unknown = sorted(set(self.parameters) - set(declared))
        if unknown:
            raise EvalError(f"parameters {unknown} are not declared by the template")

    @property
    def resources(self) -> Mapping[str, Any]:
        return self.template.get("Resources", {})

    # -- values

    def parameter(self, name: str) -> Any:
        declared = self.template.get("Parameters", {})[name]
        if name in self.parameters:
            value: Any = self.parameters[name]
        elif "Default" in declared:
            value = declared["Default"]
        else:
            raise EvalError(f"parameter {name} has no default and no value was given")
        if declared.get("Type", "String").startswith("CommaDelimitedList") or declared.get("Type", "").startswith("List<"):
            return [item.strip() for item in str(value).split(",")] if value != "" else []
        return str(value)

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": "SampleStack",
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/SampleStack/"
            "00000000-0000-0000-0000-000000000000",
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise EvalError(f"unknown pseudo parameter {name}")
        return values[name]

    def _prop(self, logical_id: str, name: str) -> Optional[str]:
        value = self.resources[logical_id].get("Properties", {}).get(name)
        return None if value is None else self.resolve(value)

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name not in self.resources:
            raise EvalError(f"Ref to {name}, which is neither a parameter nor a resource")
        if name in self.physical_ids:
            return self.physical_ids[name]
        kind = self.resources[name]["Type"]
        name_property = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::IAM::Role": "RoleName",
            "AWS::CodeBuild::Project": "Name",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::CodePipeline::Pipeline": "Name",
            "AWS::IAM::Policy": "PolicyName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName",
            "AWS::CloudWatch::Alarm": "AlarmName",
        }
        if kind in name_property:
            given = self._prop(name, name_property[kind])
            if given:
                return given
            return f"{name.lower()}-sample" if kind == "AWS::S3::Bucket" else name
        if kind in ("AWS::KMS::Key", "AWS::CodeCommit::Repository"):
            return str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        if kind == "AWS::IAM::ManagedPolicy":
            path = self._prop(name, "Path") or "/"
            return f"arn:{self.partition}:iam::{self.account}:policy{path}{self._prop(name, 'ManagedPolicyName') or name}"
        if kind == "AWS::SNS::Topic":
            return f"arn:{self.partition}:sns:{self.region}:{self.account}:{self._prop(name, 'TopicName') or name}"
        if kind == "AWS::StepFunctions::StateMachine":
            machine = self._prop(name, "StateMachineName") or name
            return f"arn:{self.partition}:states:{self.region}:{self.account}:stateMachine:{machine}"
        raise EvalError(f"Ref to {name} of type {kind}: no sample value known")

    def get_att(self, name: str, attribute: str) -> Any:
        if (name, attribute) in self.attributes:
            return self.attributes[(name, attribute)]
        if name not in self.resources:
            raise EvalError(f"Fn::GetAtt of {name}, which is not a resource")
        kind = self.resources[name]["Type"]
        p, r, a = self.partition, self.region, self.account
        builders = {
            ("AWS::S3::Bucket", "Arn"): lambda ref: f"arn:{p}:s3:::{ref}",
            ("AWS::KMS::Key", "Arn"): lambda ref: f"arn:{p}:kms:{r}:{a}:key/{ref}",
            ("AWS::KMS::Key", "KeyId"): lambda ref: ref,
            ("AWS::IAM::Role", "Arn"): lambda ref: f"arn:{p}:iam::{a}:role{self._prop(name, 'Path') or '/'}{ref}",
            ("AWS::CodeBuild::Project", "Arn"): lambda ref: f"arn:{p}:codebuild:{r}:{a}:project/{ref}",
            ("AWS::Logs::LogGroup", "Arn"): lambda ref: f"arn:{p}:logs:{r}:{a}:log-group:{ref}:*",
            ("AWS::SNS::Topic", "TopicArn"): lambda ref: ref,
            ("AWS::CodeCommit::Repository", "Arn"): lambda _: f"arn:{p}:codecommit:{r}:{a}:{self._prop(name, 'RepositoryName')}",
            ("AWS::CodeCommit::Repository", "Name"): lambda _: self._prop(name, "RepositoryName"),
            ("AWS::Lambda::Function", "Arn"): lambda ref: f"arn:{p}:lambda:{r}:{a}:function:{ref}",
            ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupArn"): lambda ref: (
                f"arn:{p}:sagemaker:{r}:{a}:model-package-group/{ref}"
            ),
        }
        if (kind, attribute) not in builders:
            raise EvalError(f"Fn::GetAtt {name}.{attribute} of type {kind}: no sample value known")
        return builders[(kind, attribute)](self.ref(name))

    # -- conditions

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise EvalError(f"unknown condition {name}")
        value = self.resolve(conditions[name])
        if not isinstance(value, bool):
            raise EvalError(f"condition {name} resolved to {value!r}, not a boolean")
        return value

    # -- intrinsic functions

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(logical, self.resolve(attribute))
        if name == "Fn::Join":
            separator, items = argument
            parts = self.resolve(items)
            if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
                raise EvalError(f"Fn::Join of {parts!r}: not a list of strings")
            return self.resolve(separator).join(parts)
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return left == right
        if name == "Fn::Not":
            (inner,) = argument
            return not self._boolean(inner)
        if name == "Fn::And":
            return all(self._boolean(item) for item in argument)
        if name == "Fn::Or":
            return any(self._boolean(item) for item in argument)
        if name == "Fn::EachMemberEquals":  # a rule's: every member of a list is the value
            items, value = (self.resolve(item) for item in argument)
            if not isinstance(items, list):
                raise EvalError(f"Fn::EachMemberEquals of {items!r}: not a list")
            return all(item == value for item in items)
        if name == "Fn::Select":
            index, items = argument
            chosen = self.resolve(items)
            position = int(self.resolve(index))
            if not isinstance(chosen, list) or not 0 <= position < len(chosen):
                raise EvalError(f"Fn::Select {position} of {chosen!r}: out of range")
            return chosen[position]
        if name == "Fn::Split":
            separator, text = argument
            resolved = self.resolve(text)
            if not isinstance(resolved, str):
                raise EvalError(f"Fn::Split of {resolved!r}: not a string")
            return resolved.split(self.resolve(separator))
        if name == "Fn::FindInMap":
            mapping, top, second = (self.resolve(item) for item in argument)
            try:
                return self.template["Mappings"][mapping][top][second]
            except KeyError as missing:
                raise EvalError(f"Fn::FindInMap {mapping}/{top}/{second}: {missing} not found") from None
        raise EvalError(f"unknown intrinsic function {name}")

    def _boolean(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if not isinstance(resolved, bool):
            raise EvalError(f"{value!r} resolved to {resolved!r}, not a boolean")
        return resolved

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                value = self.get_att(logical, attribute)
            else:
                value = self.ref(name)
            if not isinstance(value, str):
                raise EvalError(f"Fn::Sub ${{{name}}} resolved to {value!r}, not a string")
            return value

        return re.sub(r"\$\{([^}]+)\}", replace, text)


@dataclass(frozen=True)
class PolicySource:
    """One resolved policy document and where it came from (for failure messages)."""

    name: str
    document: Mapping[str, Any]


def role_policy_documents(resolver: Resolver, role_id: str) -> list[PolicySource]:
    """Every identity policy of ``role_id``, resolved."""
    resources = resolver.resources
    if resources.get(role_id, {}).get("Type") != "AWS::IAM::Role":
        raise EvalError(f"{role_id} is not an AWS::IAM::Role of the template")

    def active(logical_id: str) -> bool:
        condition = resources[logical_id].get("Condition")
        return condition is None or resolver.condition(condition)

    if not active(role_id):
        raise EvalError(f"role {role_id} is not created with these parameters (condition false)")
    role_ref = resolver.ref(role_id)
    role = resolver.resolve(resources[role_id].get("Properties", {}))
    found = [PolicySource(f"{role_id}.Policies[{p['PolicyName']}]", p["PolicyDocument"]) for p in role.get("Policies", [])]
    managed_by_arn = {
        resolver.ref(logical_id): logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and active(logical_id)
    }
    attached = set()
    for arn in role.get("ManagedPolicyArns", []):
        if arn not in managed_by_arn:
            raise EvalError(f"role {role_id} has managed policy {arn}, which is not in the template: cannot evaluate it")
        attached.add(managed_by_arn[arn])
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        if kind not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy") or not active(logical_id):
            continue
        properties = resource.get("Properties", {})
        if kind == "AWS::IAM::RolePolicy":
            targets = [resolver.resolve(properties.get("RoleName"))]
        else:
            targets = resolver.resolve(properties.get("Roles", []))
        if role_ref in targets or logical_id in attached:
            found.append(PolicySource(logical_id, resolver.resolve(properties["PolicyDocument"])))
    return found


# ------------------------------------------------------------------------- evaluation


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(expression, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, ignore_case=True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    if "${" in pattern:
        raise EvalError(f"policy variables are not modelled: {pattern}")
    return _glob(pattern).fullmatch(resource) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts is matched on its own."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_glob(p).fullmatch(v) is not None for p, v in zip(pattern_parts, value_parts, strict=True))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise EvalError(f"{value!r} is not a number") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: operator -> (match one context value against one policy value, negated)
_OPERATORS: dict[str, tuple[Any, bool]] = {
    "StringEquals": (lambda v, p: _text(v) == _text(p), False),
    "StringNotEquals": (lambda v, p: _text(v) == _text(p), True),
    "StringEqualsIgnoreCase": (lambda v, p: _text(v).lower() == _text(p).lower(), False),
    "StringNotEqualsIgnoreCase": (lambda v, p: _text(v).lower() == _text(p).lower(), True),
    "StringLike": (lambda v, p: _glob(_text(p)).fullmatch(_text(v)) is not None, False),
    "StringNotLike": (lambda v, p: _glob(_text(p)).fullmatch(_text(v)) is not None, True),
    "ArnEquals": (lambda v, p: _arn_like(_text(p), _text(v)), False),
    "ArnLike": (lambda v, p: _arn_like(_text(p), _text(v)), False),
    "ArnNotEquals": (lambda v, p: _arn_like(_text(p), _text(v)), True),
    "ArnNotLike": (lambda v, p: _arn_like(_text(p), _text(v)), True),
    "NumericEquals": (lambda v, p: _number(v) == _number(p), False),
    "NumericNotEquals": (lambda v, p: _number(v) == _number(p), True),
    "NumericLessThan": (lambda v, p: _number(v) < _number(p), False),
    "NumericLessThanEquals": (lambda v, p: _number(v) <= _number(p), False),
    "NumericGreaterThan": (lambda v, p: _number(v) > _number(p), False),
    "NumericGreaterThanEquals": (lambda v, p: _number(v) >= _number(p), False),
    "Bool": (lambda v, p: _text(v).lower() == _text(p).lower(), False),
}


def _lookup(context: Mapping[str, ContextValue], key: str) -> tuple[bool, ContextValue]:
    for name, value in context.items():
        if name.lower() == key.lower():
            return True, value
    return False, None


def condition_holds(operator: str, key: str, policy_values: Any, context: Mapping[str, ContextValue]) -> bool:
    """One ``operator: {key: values}`` entry of a Condition block."""
    set_operator = None
    base = operator
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if base.startswith(prefix):
            set_operator, base = prefix[:-1], base[len(prefix) :]
    if_exists = base.endswith("IfExists") and base != "Null"
    if if_exists:
        base = base[: -len("IfExists")]
    values = [_text(v) for v in _as_list(policy_values)]
    present, found = _lookup(context, key)
    if found is None:
        present = False
    if base == "Null":
        if set_operator or if_exists:
            raise EvalError(f"condition operator {operator} is not modelled")
        return any((v.lower() == "true") == (not present) for v in values)
    if base not in _OPERATORS:
        raise EvalError(f"unknown condition operator {operator}")
    match, negated = _OPERATORS[base]

    def one(value: Any) -> bool:
        hit = any(match(value, policy_value) for policy_value in values)
        return not hit if negated else hit

    if set_operator is None:
        if not present:
            return if_exists or negated
        if isinstance(found, (list, tuple)):
            raise EvalError(f"context key {key} is multi-valued: the policy needs ForAnyValue/ForAllValues ({operator})")
        return one(found)
    items = _as_list(found) if present else []
    if set_operator == "ForAnyValue":
        return any(one(item) for item in items)
    return all(one(item) for item in items)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: The statements that allowed or denied it, as "<policy>[<index>]".
    by: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Statement:
    source: str
    effect: str
    actions: tuple[str, ...]
    not_actions: bool
    resources: tuple[str, ...]
    not_resources: bool
    condition: Mapping[str, Mapping[str, Any]]

    @classmethod
    def parse(cls, source: str, raw: Mapping[str, Any]) -> Statement:
        known = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
        if set(raw) - known:
            raise EvalError(f"{source}: statement keys {sorted(set(raw) - known)} are not modelled (identity policies only)")
        if raw.get("Effect") not in ("Allow", "Deny"):
            raise EvalError(f"{source}: Effect {raw.get('Effect')!r}")
        if ("Action" in raw) == ("NotAction" in raw) or ("Resource" in raw) == ("NotResource" in raw):
            raise EvalError(f"{source}: needs exactly one of Action/NotAction and one of Resource/NotResource")
        for text in (*_as_list(raw.get("Action", raw.get("NotAction"))), *_as_list(raw.get("Resource", raw.get("NotResource")))):
            if not isinstance(text, str):
                raise EvalError(f"{source}: {text!r} is not a string (an unresolved intrinsic?)")
        return cls(
            source=source,
            effect=raw["Effect"],
            actions=tuple(_as_list(raw.get("Action", raw.get("NotAction")))),
            not_actions="NotAction" in raw,
            resources=tuple(_as_list(raw.get("Resource", raw.get("NotResource")))),
            not_resources="NotResource" in raw,
            condition=raw.get("Condition", {}),
        )

    def applies(self, action: str, resource: str, context: Mapping[str, ContextValue]) -> bool:
        action_hit = any(action_matches(p, action) for p in self.actions)
        if action_hit == self.not_actions:
            return False
        resource_hit = any(resource_matches(p, resource) for p in self.resources)
        if resource_hit == self.not_resources:
            return False
        return all(
            condition_holds(operator, key, values, context)
            for operator, entries in self.condition.items()
            for key, values in entries.items()
        )


class Policy:
    """A set of identity policy documents, evaluated together."""

    def __init__(self, sources: Iterable[PolicySource]) -> None:
        self.sources = list(sources)
        self.statements: list[Statement] = []
        for source in self.sources:
            version = source.document.get("Version")
            if version != "2012-10-17":
                raise EvalError(f"{source.name}: Version {version!r} (policy variables and semantics differ)")
            for index, raw in enumerate(_as_list(source.document.get("Statement", []))):
                self.statements.append(Statement.parse(f"{source.name}[{index}]", raw))

    def decide(self, action: str, resource: str, context: Optional[Mapping[str, ContextValue]] = None) -> Decision:
        context = context or {}
        applying = [s for s in self.statements if s.applies(action, resource, context)]
        denies = tuple(s.source for s in applying if s.effect == "Deny")
        if denies:
            return Decision(False, denies)
        allows = tuple(s.source for s in applying if s.effect == "Allow")
        return Decision(bool(allows), allows)

    def allowed(self, action: str, resource: str, context: Optional[Mapping[str, ContextValue]] = None) -> bool:
        return self.decide(action, resource, context).allowed

    def allowed_actions(self) -> list[tuple[str, Statement]]:
        """Every action pattern of an ``Allow`` statement, with its statement."""
        found = []
        for statement in self.statements:
            if statement.effect == "Allow":
                if statement.not_actions:
                    raise EvalError(f"{statement.source}: Allow with NotAction grants almost everything")
                found.extend((action, statement) for action in statement.actions)
        return found


def role_policy(template: Mapping[str, Any], role_id: str, **resolver_settings: Any) -> Policy:
    """The identity policies of ``role_id`` in ``template``, resolved (see :class:`Resolver`)."""
    resolver = Resolver(template, **resolver_settings)
    return Policy(role_policy_documents(resolver, role_id))
