"""The target account's deployer role: what CloudFormation's handlers need for the stage template.

As ``tests/unit/constructs/deploy/test_deployer_role.py`` does for a project's own deployer:
for every resource type of the endpoint stage template, and of the data capture bucket a
stage stack may create in its own account (``ANTICIPATED``), the role must allow every
create, read, update and delete handler permission (tests/cfn_roles.py) on the resources a
stage stack of *any* project of the tooling account names, but those listed with the reason
they are not needed, and nothing else but the documented extras. Its conditions (the project
tag on SageMaker resources, grants for AWS services only) are evaluated with iam_eval.
"""

from __future__ import annotations

import json

import pytest
from cfn_roles import (
    ACCOUNT,
    PARTITION,
    REGION,
    granted_actions,
    listed_permissions,
    missing,
    needed_permissions,
    policy_length,
    stale,
    statements_allowing,
    unexplained,
)
from conftest import TOOLING

from iam_eval import Policy, Resolver, role_policy_documents
from sagemaker_projects_cdk.stacks.endpoint_stage import STAGE_TEMPLATE_PATH

PARAMETERS = {"ToolingAccountId": TOOLING}
PROJECT_NAME, PROJECT_ID, STAGE = "churn", "p-abc123def456", "staging"
STACK_NAME = f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}-deploy-{STAGE}"
ENDPOINT_NAME = f"{PROJECT_NAME}-{PROJECT_ID}-{STAGE}"
#: Resources a stage stack may create in its own account besides today's stage template:
#: the bucket captured data is written to, and its policy (issue 13).
ANTICIPATED = [{"Type": "AWS::S3::Bucket"}, {"Type": "AWS::S3::BucketPolicy"}]

_UNUSED_BUCKET_FEATURE = "the data capture bucket does not use this S3 feature"
NOT_NEEDED = {
    **dict.fromkeys(
        ["iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachUserPolicy"],
        "the stage template attaches its policy to its role only",
    ),
    **dict.fromkeys(
        ["iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"],
        "the stage template's role has no permissions boundary",
    ),
    "iam:PutRolePolicy": "the stage template's role has no inline policy; the deployer must not write arbitrary inline "
    "permissions into project roles",
    "iam:UpdateAssumeRolePolicy": "the stage template's role trusts sagemaker.amazonaws.com, a constant; the deployer must "
    "not make project roles assumable by anyone else",
    **dict.fromkeys(
        ["application-autoscaling:PutScheduledAction", "application-autoscaling:DeleteScheduledAction"],
        "the stage template's scalable target has no scheduled actions",
    ),
    **dict.fromkeys(
        ["lambda:PutProvisionedConcurrencyConfig", "lambda:GetProvisionedConcurrencyConfig",
         "lambda:DeleteProvisionedConcurrencyConfig"],
        "the scalable target is a SageMaker variant, not a Lambda function",
    ),
    **dict.fromkeys(
        [
            "s3:PutAccelerateConfiguration", "s3:PutAnalyticsConfiguration", "s3:PutBucketAbac", "s3:PutBucketCORS",
            "s3:PutBucketNotification", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketReplication",
            "s3:PutBucketWebsite", "s3:PutIntelligentTieringConfiguration", "s3:PutInventoryConfiguration",
            "s3:PutMetricsConfiguration", "s3:PutObjectLockConfiguration", "s3:PutReplicationConfiguration",
            "s3:CreateBucketMetadataTableConfiguration", "s3:DeleteBucketMetadataTableConfiguration",
            "s3:UpdateBucketMetadataAnnotationTableConfiguration", "s3:UpdateBucketMetadataInventoryTableConfiguration",
            "s3:UpdateBucketMetadataJournalTableConfiguration", "s3:DeleteBucketAnalyticsConfiguration",
            "s3:DeleteBucketCors", "s3:DeleteBucketMetricsConfiguration", "s3:DeleteBucketReplication",
            "s3:DeleteBucketWebsite",
        ],
        _UNUSED_BUCKET_FEATURE,
    ),
    **dict.fromkeys(
        ["s3tables:CreateNamespace", "s3tables:CreateTable", "s3tables:CreateTableBucket", "s3tables:GetTable",
         "s3tables:GetTableMetadataLocation", "s3tables:PutTableBucketPolicy", "s3tables:PutTableEncryption",
         "s3tables:PutTablePolicy", "s3tables:UpdateTableMetadataLocation"],
        "S3 metadata tables (S3 Tables) are not configured on the data capture bucket",
    ),
    **dict.fromkeys(
        ["s3:PutBucketAcl", "s3:PutObjectAcl"],
        "the data capture bucket enforces bucket-owner ownership: ACLs are disabled",
    ),
    "s3:DeleteObject": "only for a metadata table configuration; the deployer never touches captured data",
    "s3:DeleteBucketEncryption": "the data capture bucket is always KMS-encrypted; its encryption is replaced, never removed",
    "s3:DeleteBucketLifecycle": "the data capture bucket's lifecycle rules are replaced, never removed",
}
#: Handler permissions needed by some of the types but not by this one, and why.
NOT_NEEDED_FOR = {
    ("iam:PassRole", "AWS::S3::Bucket"): "only to pass a replication role: the data capture bucket is not replicated",
}
EXTRAS = {
    "sagemaker:DescribeModelPackage": "CreateModel from a model package (ModelPackageName) reads the version as the caller, "
    "in the tooling account's registry",
    "kms:CreateGrant": "CreateEndpoint with an endpoint config that names a KMS key has SageMaker create a grant for the "
    "caller (kms:GrantIsForAWSResource)",
    "sagemaker:UpdateEndpointWeightsAndCapacities": "Application Auto Scaling requires it of whoever registers a SageMaker "
    "variant and puts its scaling policy",
}

SAGEMAKER = f"arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}"
ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects/{PROJECT_ID}/{STACK_NAME}-EndpointRole47E61C54-1A2B3C4D5E6F"
POLICY = f"arn:{PARTITION}:iam::{ACCOUNT}:policy/sagemaker-projects/{PROJECT_ID}/{STACK_NAME}-EndpointPolicyA1BBD448-1A2B3C4D5E6F"
BASELINE_ENDPOINT_ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-endpoint"
LINKED_ROLE = (
    f"arn:{PARTITION}:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
ALARM = f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK_NAME}-EndpointErrorsAlarm6803A3F1-1A2B3C4D5E6F"
TRACKING_ALARM = (
    f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:TargetTracking-endpoint/{ENDPOINT_NAME}/variant/AllTraffic-"
    "AlarmHigh-01234567-89ab-cdef-0123-456789abcdef"
)
SCALABLE_TARGET = f"arn:{PARTITION}:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/056f3a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
#: CloudFormation names a bucket after its stack and logical id, lower case, 63 characters at most.
BUCKET = f"arn:{PARTITION}:s3:::{STACK_NAME[:40]}-capturebucket-1a2b3c4d5e6f"
TOOLING_KEY = f"arn:{PARTITION}:kms:{REGION}:{TOOLING}:key/0b1c2d3e-project-key"
TARGETS: dict[str, dict[str, str]] = {
    "AWS::IAM::Role": {"iam": ROLE, "iam:AttachRolePolicy": ROLE},
    "AWS::IAM::ManagedPolicy": {"iam": POLICY, "iam:AttachRolePolicy": ROLE, "iam:DetachRolePolicy": ROLE},
    "AWS::SageMaker::Model": {"sagemaker": f"{SAGEMAKER}:model/endpointmodel-1a2b3c4d5e6f", "iam:PassRole": ROLE},
    "AWS::SageMaker::EndpointConfig": {
        "sagemaker": f"{SAGEMAKER}:endpoint-config/endpointconfig-1a2b3c4d5e6f",
        "kms:DescribeKey": "<keys>",
        "iam:PassRole": ROLE,
    },
    "AWS::SageMaker::Endpoint": {"sagemaker": f"{SAGEMAKER}:endpoint/{ENDPOINT_NAME.lower()}"},
    "AWS::CloudWatch::Alarm": {"cloudwatch": ALARM},
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "application-autoscaling": SCALABLE_TARGET,
        "application-autoscaling:DescribeScalableTargets": "*",
        "application-autoscaling:DescribeScheduledActions": "*",
        "cloudwatch": TRACKING_ALARM,
        "iam": LINKED_ROLE,
    },
    "AWS::ApplicationAutoScaling::ScalingPolicy": {
        "application-autoscaling": SCALABLE_TARGET,
        "application-autoscaling:DescribeScalingPolicies": "*",
        "cloudwatch:GetMetricData": "*",
    },
    "AWS::S3::Bucket": {"s3": BUCKET},
    "AWS::S3::BucketPolicy": {"s3": BUCKET},
}
EXTRA_TARGETS = {
    "sagemaker:DescribeModelPackage": f"arn:{PARTITION}:sagemaker:{REGION}:{TOOLING}:model-package/{PROJECT_NAME}-{PROJECT_ID}/3",
    "kms:CreateGrant": "<keys>",
    "sagemaker:UpdateEndpointWeightsAndCapacities": f"{SAGEMAKER}:endpoint/{ENDPOINT_NAME.lower()}",
}


@pytest.fixture(scope="module")
def stage_resources() -> list[dict]:
    return list(json.loads(STAGE_TEMPLATE_PATH.read_text())["Resources"].values()) + ANTICIPATED


def _documents(template: dict) -> list[dict]:
    """The deployer's policy documents, resolved with the sample values (iam_eval's)."""
    resolver = Resolver(template, parameters=PARAMETERS)
    return [
        resolver.resolve(r["Properties"]["PolicyDocument"])
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("Deployer")
    ]


def _keys(template: dict) -> list[str]:
    """The baseline's key and a tooling account's project key."""
    (key_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"]
    return [Resolver(template, parameters=PARAMETERS).get_att(key_id, "Arn"), TOOLING_KEY]


def _policy(template: dict) -> Policy:
    resolver = Resolver(template, parameters=PARAMETERS)
    (role_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("DeployerRole")]
    return Policy(role_policy_documents(resolver, role_id))


def test_deployer_allows_every_handler_permission_of_the_stage_template(baseline, stage_resources):
    needed = needed_permissions(stage_resources)
    assert not missing(needed, granted_actions(_documents(baseline)), NOT_NEEDED)


def test_deployer_allows_them_on_the_resources_any_stage_stack_names(baseline, stage_resources):
    documents = _documents(baseline)
    wrong = []
    checks = [
        (action, resource_type, TARGETS[resource_type].get(action) or TARGETS[resource_type][action.split(":")[0]])
        for action, resource_types in sorted(needed_permissions(stage_resources).items())
        if action not in NOT_NEEDED
        for resource_type in sorted(resource_types)
        if (action, resource_type) not in NOT_NEEDED_FOR
    ]
    checks += [(action, "extra", arn) for action, arn in EXTRA_TARGETS.items()]
    for action, resource_type, arn in checks:
        for target in _keys(baseline) if arn == "<keys>" else [arn]:
            if not statements_allowing(documents, action, target, baseline, PARAMETERS):
                wrong.append(f"{action} on {target} ({resource_type})")
    assert not wrong, "\n".join(wrong)


def test_deployer_holds_nothing_unexplained(baseline, stage_resources):
    granted = granted_actions(_documents(baseline))
    assert not unexplained(granted, listed_permissions({r["Type"] for r in stage_resources}), EXTRAS)


def test_the_explanations_are_current(stage_resources):
    assert not stale(NOT_NEEDED, set(needed_permissions(stage_resources)))
    assert not stale(EXTRAS, set(EXTRA_TARGETS))
    needed = needed_permissions(stage_resources)
    assert all(t in needed.get(a, set()) for a, t in NOT_NEEDED_FOR)
    assert not set(EXTRAS) & listed_permissions({r["Type"] for r in stage_resources})


def test_sagemaker_resources_must_carry_a_project_id(baseline):
    policy = _policy(baseline)
    tag = "sagemaker:project-id"
    endpoint = f"{SAGEMAKER}:endpoint/{ENDPOINT_NAME.lower()}"
    for action, arn in (
        ("sagemaker:CreateModel", f"{SAGEMAKER}:model/endpointmodel-1a2b3c4d5e6f"),
        ("sagemaker:CreateEndpointConfig", f"{SAGEMAKER}:endpoint-config/endpointconfig-1a2b3c4d5e6f"),
        ("sagemaker:CreateEndpoint", endpoint),
    ):
        assert policy.allowed(action, arn, {f"aws:RequestTag/{tag}": PROJECT_ID}), action
        assert not policy.allowed(action, arn, {}), f"{action} without the project tag"
    for action in ("sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint"):
        assert policy.allowed(action, endpoint, {f"aws:ResourceTag/{tag}": PROJECT_ID}), action
        assert not policy.allowed(action, endpoint, {}), f"{action} on an endpoint that is not a project's"


def test_key_grants_only_for_aws_services(baseline):
    policy = _policy(baseline)
    for key in _keys(baseline):
        assert policy.allowed("kms:CreateGrant", key, {"kms:GrantIsForAWSResource": True})
        assert not policy.allowed("kms:CreateGrant", key, {"kms:GrantIsForAWSResource": False})
    assert not policy.allowed("kms:CreateGrant", "arn:aws:kms:us-east-1:999999999999:key/other", {"kms:GrantIsForAWSResource": True})
    assert not policy.allowed("kms:Decrypt", TOOLING_KEY, {})


def test_deployer_cannot_touch_the_baseline_or_other_iam(baseline):
    policy = _policy(baseline)
    baseline_role = f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-deployer"
    for action, arn in (
        ("iam:DeleteRole", baseline_role),
        ("iam:AttachRolePolicy", baseline_role),
        ("iam:CreateRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/admin"),
        ("iam:CreatePolicy", f"arn:{PARTITION}:iam::{ACCOUNT}:policy/admin"),
        ("iam:PassRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/any-role"),
        ("s3:PutBucketPolicy", f"arn:{PARTITION}:s3:::other-bucket"),
        ("s3:GetObject", f"{BUCKET}/data-capture/x.jsonl"),
        ("cloudwatch:DeleteAlarms", f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:billing"),
    ):
        assert not policy.allowed(action, arn, {}), (action, arn)
    attach = {"iam:PolicyARN": POLICY}
    assert policy.allowed("iam:AttachRolePolicy", ROLE, attach)
    assert not policy.allowed("iam:AttachRolePolicy", ROLE, {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"})
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert policy.allowed("iam:PassRole", ROLE, passed) and policy.allowed("iam:PassRole", BASELINE_ENDPOINT_ROLE, passed)
    assert not policy.allowed("iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"})


def test_deployer_policies_fit_in_iam_managed_policies(baseline):
    for document in _documents(baseline):
        assert policy_length(document, baseline, PARAMETERS) < 6144
