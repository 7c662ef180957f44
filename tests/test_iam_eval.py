"""The tests' IAM policy evaluator (tests/iam_eval.py): intrinsic functions, matching, conditions."""

from __future__ import annotations

import pytest

from iam_eval import EvalError, Policy, PolicySource, Resolver, condition_holds, role_policy

PARTITION_ARN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "Bucket"}, "/*"]]}


def _template(**extra) -> dict:
    template = {
        "Parameters": {
            "ProjectId": {"Type": "String", "Default": "p-default"},
            "SourceBucket": {"Type": "String", "Default": ""},
            "Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
        },
        "Conditions": {
            "HasSource": {"Fn::Not": [{"Fn::Equals": [{"Ref": "SourceBucket"}, ""]}]},
            "Both": {"Fn::And": [{"Condition": "HasSource"}, {"Fn::Equals": ["x", "x"]}]},
        },
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "data-${ProjectId}"}}},
            "Key": {"Type": "AWS::KMS::Key"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "builder", "ManagedPolicyArns": [{"Ref": "Managed"}]}},
            "Other": {"Type": "AWS::IAM::Role"},
            "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": _doc({"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"})}},
            "Attached": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "attached",
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": PARTITION_ARN}),
                },
            },
            "NotOurs": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyName": "n", "Roles": [{"Ref": "Other"}], "PolicyDocument": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})},
            },
            "Conditional": {
                "Type": "AWS::IAM::Policy",
                "Condition": "HasSource",
                "Properties": {
                    "PolicyName": "c",
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${SourceBucket}/*"}}),
                },
            },
        },
    }
    template["Resources"].update(extra)
    return template


def _doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_intrinsic_functions_resolve_with_sample_values():
    resolver = Resolver(_template(), parameters={"ProjectId": "p-given"})
    assert resolver.resolve({"Ref": "ProjectId"}) == "p-given"
    assert resolver.resolve({"Ref": "Names"}) == ["a", "b"]
    assert resolver.resolve({"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${!Literal}"}) == "arn:aws:x:us-east-1:123456789012:${Literal}"
    assert resolver.resolve({"Fn::Sub": ["${A}-${Named.Arn}", {"A": {"Ref": "ProjectId"}}]}) == "p-given-arn:aws:s3:::data-p-given"
    assert resolver.resolve({"Fn::GetAtt": ["Bucket", "Arn"]}) == "arn:aws:s3:::bucket-sample"
    key_arn = resolver.resolve({"Fn::GetAtt": "Key.Arn"})
    assert key_arn.startswith("arn:aws:kms:us-east-1:123456789012:key/") and key_arn.endswith(resolver.resolve({"Ref": "Key"}))
    assert resolver.resolve({"Fn::GetAtt": ["Role", "Arn"]}) == "arn:aws:iam::123456789012:role/builder"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}) == "b"
    assert resolver.resolve(["x", {"Ref": "AWS::NoValue"}, {"Fn::If": ["HasSource", "yes", {"Ref": "AWS::NoValue"}]}]) == ["x"]
    assert resolver.condition("HasSource") is False and resolver.condition("Both") is False
    given = Resolver(_template(), parameters={"SourceBucket": "theirs"}, region="eu-west-1", account="111122223333")
    assert given.condition("Both") is True
    assert given.resolve({"Fn::If": ["HasSource", {"Ref": "SourceBucket"}, {"Ref": "Bucket"}]}) == "theirs"
    assert given.resolve({"Fn::GetAtt": ["Key", "Arn"]}).startswith("arn:aws:kms:eu-west-1:111122223333:key/")


def test_overrides_name_real_resources():
    resolver = Resolver(
        _template(),
        physical_ids={"Bucket": "my-bucket"},
        attributes={("Key", "Arn"): "arn:aws:kms:us-east-1:123456789012:key/k"},
    )
    assert resolver.resolve(PARTITION_ARN) == "arn:aws:s3:::my-bucket/*"
    assert resolver.resolve({"Fn::GetAtt": ["Key", "Arn"]}) == "arn:aws:kms:us-east-1:123456789012:key/k"


@pytest.mark.parametrize(
    "value, message",
    [
        ({"Fn::ImportValue": "x"}, "unknown intrinsic function Fn::ImportValue"),
        ({"Ref": "Nothing"}, "neither a parameter nor a resource"),
        ({"Fn::GetAtt": ["Bucket", "WebsiteURL"]}, "no sample value known"),
        ({"Fn::If": ["Missing", "a", "b"]}, "unknown condition Missing"),
        ({"Ref": "AWS::NotPseudo"}, "unknown pseudo parameter"),
    ],
)
def test_unknown_intrinsics_fail_loudly(value, message):
    with pytest.raises(EvalError, match=message):
        Resolver(_template()).resolve(value)


def test_undeclared_parameters_are_refused():
    with pytest.raises(EvalError, match="not declared"):
        Resolver(_template(), parameters={"Typo": "x"})


def test_a_roles_policies_are_collected_from_every_attachment():
    policy = role_policy(_template(), "Role", physical_ids={"Bucket": "b"})
    assert sorted(s.name for s in policy.sources) == ["Attached", "Managed"]
    assert policy.allowed("s3:GetObject", "arn:aws:s3:::b/k")
    assert policy.allowed("SageMaker:DescribeModel", "arn:aws:sagemaker:us-east-1:123456789012:model/m")  # case-insensitive action
    assert not policy.allowed("s3:PutObject", "arn:aws:s3:::b/k")
    assert not policy.allowed("s3:GetObject", "arn:aws:s3:::theirs/k")
    # A policy under a true condition counts; the other role's policy never does.
    with_source = role_policy(_template(), "Role", parameters={"SourceBucket": "theirs"})
    assert sorted(s.name for s in with_source.sources) == ["Attached", "Conditional", "Managed"]
    assert with_source.allowed("s3:GetObject", "arn:aws:s3:::theirs/k")
    assert not with_source.allowed("iam:CreateUser", "*")


def test_a_managed_policy_outside_the_template_cannot_be_evaluated():
    template = _template(Outside={"Type": "AWS::IAM::Role", "Properties": {"ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}})
    with pytest.raises(EvalError, match="not in the template"):
        role_policy(template, "Outside")
    with pytest.raises(EvalError, match="not an AWS::IAM::Role"):
        role_policy(template, "Bucket")


def _policy(*statements) -> Policy:
    return Policy([PolicySource("p", _doc(*statements))])


def test_wildcards_in_actions_and_resources():
    policy = _policy({"Effect": "Allow", "Action": ["s3:Get*", "kms:Decrypt"], "Resource": ["arn:aws:s3:::b?cket/data/*", "arn:aws:kms:*:*:key/k"]})
    assert policy.allowed("s3:GetObjectVersion", "arn:aws:s3:::bucket/data/x/y")
    assert policy.allowed("KMS:decrypt", "arn:aws:kms:eu-west-1:1:key/k")
    assert not policy.allowed("s3:PutObject", "arn:aws:s3:::bucket/data/x")
    assert not policy.allowed("s3:GetObject", "arn:aws:s3:::bucket/other")  # not under data/
    assert not policy.allowed("s3:GetObject", "arn:aws:s3:::BUCKET/data/x")  # resources are case-sensitive
    assert not policy.allowed("s3:GetObject", "arn:aws:s3:::buckets/data/x")  # ? is one character


def test_explicit_deny_wins_and_not_action_not_resource():
    policy = _policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "arn:aws:s3:::locked/*"},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "NotResource": "arn:aws:s3:::scratch"},
    )
    assert policy.allowed("s3:GetObject", "arn:aws:s3:::locked/x")
    decision = policy.decide("s3:PutObject", "arn:aws:s3:::locked/x")
    assert not decision and decision.by == ("p[1]",)
    assert policy.allowed("s3:PutObject", "arn:aws:s3:::open/x")
    assert policy.allowed("s3:DeleteBucket", "arn:aws:s3:::scratch")
    assert not policy.allowed("s3:DeleteBucket", "arn:aws:s3:::other")
    assert not _policy().allowed("s3:GetObject", "*")  # implicit deny


def test_conditions():
    via_s3 = _policy(
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, "Bool": {"aws:SecureTransport": "true"}},
        }
    )
    assert via_s3.allowed("kms:Decrypt", "k", {"KMS:ViaService": "s3.us-east-1.amazonaws.com", "aws:SecureTransport": True})
    assert not via_s3.allowed("kms:Decrypt", "k", {"kms:ViaService": "s3.us-east-1.amazonaws.com"})  # every operator must hold
    assert not via_s3.allowed("kms:Decrypt", "k", {"kms:ViaService": "sqs.us-east-1.amazonaws.com", "aws:SecureTransport": "true"})
    assert not via_s3.allowed("kms:Decrypt", "k")  # a key missing from the request: no match


@pytest.mark.parametrize(
    "operator, values, context, expected",
    [
        ("StringLike", ["p-*", "q"], {"k": "p-1"}, True),
        ("StringLike", "p-?", {"k": "p-12"}, False),
        ("StringNotEquals", ["a", "b"], {"k": "c"}, True),
        ("StringNotEquals", ["a", "b"], {"k": "b"}, False),
        ("StringNotEquals", "a", {}, True),  # negated operators hold for a missing key
        ("StringEqualsIfExists", "a", {}, True),
        ("StringEqualsIfExists", "a", {"k": "b"}, False),
        ("ArnLike", "arn:aws:iam::*:role/x-*", {"k": "arn:aws:iam::1:role/x-y"}, True),
        ("ArnLike", "arn:aws:iam::*:role/x", {"k": "arn:aws:iam::1:role/x-y"}, False),
        ("ArnEquals", "arn:aws:s3:::b", {"k": "arn:aws:s3:::b"}, True),
        ("ArnLike", "arn:aws:*", {"k": "arn:aws:s3:::b"}, False),  # six parts each matched on their own
        ("NumericLessThan", "10", {"k": "9"}, True),
        ("NumericLessThan", "10", {"k": 10}, False),
        ("Bool", "false", {"k": False}, True),
        ("Null", "true", {}, True),
        ("Null", "false", {}, False),
        ("Null", "false", {"k": "x"}, True),
        ("ForAnyValue:StringEquals", ["a", "b"], {"k": ["c", "b"]}, True),
        ("ForAnyValue:StringEquals", ["a"], {}, False),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringEquals", ["a"], {"k": ["a", "c"]}, False),
        ("ForAllValues:StringEquals", ["a"], {}, True),
        ("ForAllValues:StringLike", ["sagemaker:*"], {"k": ["sagemaker:project-id"]}, True),
    ],
)
def test_condition_operators(operator, values, context, expected):
    assert condition_holds(operator, "k", values, context) is expected


@pytest.mark.parametrize(
    "operator, context, message",
    [
        ("DateLessThan", {"k": "2020"}, "unknown condition operator DateLessThan"),
        ("IpAddress", {"k": "1.2.3.4"}, "unknown condition operator"),
        ("StringEquals", {"k": ["a", "b"]}, "multi-valued"),
    ],
)
def test_unknown_operators_and_unqualified_multi_valued_keys_fail_loudly(operator, context, message):
    with pytest.raises(EvalError, match=message):
        condition_holds(operator, "k", "a", context)


def test_unresolvable_policies_fail_loudly():
    with pytest.raises(EvalError, match="policy variables"):
        _policy({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username}/*"}).allowed("s3:GetObject", "x")
    with pytest.raises(EvalError, match="not a string"):
        _policy({"Effect": "Allow", "Action": "s3:*", "Resource": {"Ref": "Bucket"}})
    with pytest.raises(EvalError, match="Version"):
        Policy([PolicySource("old", {"Statement": []})])
    with pytest.raises(EvalError, match="Principal"):
        _policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})
