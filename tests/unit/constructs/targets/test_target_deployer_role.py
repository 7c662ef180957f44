"""The target account's deployer role: what CloudFormation's handlers need for the stage template.

As ``tests/unit/constructs/deploy/test_deployer_role.py`` does for a project's own deployer:
for every resource type of the endpoint stage template *as a stage in another account
deploys it* (``ArtifactBucketName`` and ``ArtifactKmsKeyArn`` empty, ``ExecutionRoleArn`` the
baseline's ``endpoint`` role: conditions resolved, so the stage's own role and policy are
absent and its own key and buckets present), the role must allow every create, read, update
and delete handler permission (tests/cfn_roles.py) on the resources a stage stack of *any*
project of the tooling account names, but those listed with the reason they are not needed,
and nothing else but the documented extras. Its conditions (the project tag on SageMaker
resources and keys, this account for buckets, grants for AWS services only) are evaluated
with iam_eval; so is what it may not do: create or change any IAM role or policy.
"""

from __future__ import annotations

import json

import pytest
from cfn_roles import (
    ACCOUNT,
    LINKED_ROLE,
    PARTITION,
    REGION,
    autoscaling_targets,
    granted_actions,
    listed_permissions,
    missing,
    needed_permissions,
    policy_length,
    stage_alarms,
    stale,
    statements_allowing,
    unexplained,
)
from conftest import TOOLING

from iam_eval import Policy, Resolver, role_policy_documents
from sagemaker_projects_cdk.stacks.endpoint_stage import STAGE_TEMPLATE_PATH
from sagemaker_projects_cdk.stacks.monitor_stage import STAGE_TEMPLATE_PATH as MONITOR_TEMPLATE_PATH
from sagemaker_projects_cdk.stacks.serving_stages import ASYNC_TEMPLATE_PATH, BATCH_TEMPLATE_PATH

PARAMETERS = {"ToolingAccountId": TOOLING}
PROJECT_NAME, PROJECT_ID, STAGE = "churn", "p-abc123def456", "staging"
STACK_NAME = f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}-deploy-{STAGE}"
ENDPOINT_NAME = f"{PROJECT_NAME}-{PROJECT_ID}-{STAGE}"
BASELINE_ENDPOINT_ROLE = f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-endpoint"
#: The stage template's parameters as build.py writes them for a stage in another account.
STAGE_IN_OTHER_ACCOUNT = {
    "StageName": STAGE,
    "ModelPackageArn": f"arn:{PARTITION}:sagemaker:{REGION}:{TOOLING}:model-package/{PROJECT_NAME}-{PROJECT_ID}/3",
    "ArtifactBucketName": "",
    "ArtifactKmsKeyArn": "",
    "ExecutionRoleArn": BASELINE_ENDPOINT_ROLE,
    "ModelArtifactBucketName": f"sagemaker-project-{PROJECT_ID}",
    "ModelArtifactKmsKeyArn": f"arn:{PARTITION}:kms:{REGION}:{TOOLING}:key/0b1c2d3e-project-key",
}

_UNUSED_BUCKET_FEATURE = "the stage's buckets do not use this S3 feature"
NOT_NEEDED = {
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
        "S3 metadata tables (S3 Tables) are not configured on the stage's buckets",
    ),
    **dict.fromkeys(
        ["s3:PutBucketAcl", "s3:PutObjectAcl"],
        "the stage's buckets grant no ACL (bucket-owner ownership; log delivery by bucket policy)",
    ),
    "s3:DeleteObject": "only for a metadata table configuration; the deployer never touches captured data",
    "s3:DeleteBucketEncryption": "the stage's buckets are always encrypted; their encryption is replaced, never removed",
    "s3:DeleteBucketLifecycle": "the stage's buckets' lifecycle rules are replaced, never removed",
}
#: Handler permissions needed by some of the types but not by this one, and why.
NOT_NEEDED_FOR = {
    ("iam:PassRole", "AWS::S3::Bucket"): "only to pass a replication role: the stage's buckets are not replicated",
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
#: Types without a resource schema (no handler permissions): the handle the model waits on.
UNTYPED = ["AWS::CloudFormation::WaitConditionHandle"]
#: The stage stack's errors alarm and a target-tracking alarm of its endpoint's variant.
ALARM, TRACKING_ALARM = stage_alarms(STACK_NAME, ENDPOINT_NAME)
#: The stage stack's own buckets: <prefix><stack uuid> (stacks/endpoint_stage.py).
STACK_UUID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
BUCKET = f"arn:{PARTITION}:s3:::sagemaker-projects-stage-{STACK_UUID}"
LOG_BUCKET = f"arn:{PARTITION}:s3:::sagemaker-projects-slogs-{STACK_UUID}"
#: The stage stack's own key (tagged with the project id like every resource of the stack).
STAGE_KEY = f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/1c2d3e4f-stage-key"
TOOLING_KEY = f"arn:{PARTITION}:kms:{REGION}:{TOOLING}:key/0b1c2d3e-project-key"
#: Another key of the target account, not a project's (no project tag).
OTHER_KEY = f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/2d3e4f5a-other-key"
TAGGED = {"aws:ResourceTag/sagemaker:project-id": PROJECT_ID}
TARGETS: dict[str, dict[str, str]] = {
    "AWS::KMS::Key": {"kms": STAGE_KEY, "kms:CreateKey": "*"},
    "AWS::SageMaker::Model": {"sagemaker": f"{SAGEMAKER}:model/endpointmodel-1a2b3c4d5e6f", "iam:PassRole": BASELINE_ENDPOINT_ROLE},
    "AWS::SageMaker::EndpointConfig": {
        "sagemaker": f"{SAGEMAKER}:endpoint-config/endpointconfig-1a2b3c4d5e6f",
        "kms:DescribeKey": STAGE_KEY,
        "iam:PassRole": BASELINE_ENDPOINT_ROLE,
    },
    "AWS::SageMaker::Endpoint": {"sagemaker": f"{SAGEMAKER}:endpoint/{ENDPOINT_NAME.lower()}"},
    **autoscaling_targets(alarm=ALARM, tracking_alarm=TRACKING_ALARM),
    "AWS::S3::Bucket": {"s3": "<buckets>"},
    "AWS::S3::BucketPolicy": {"s3": "<buckets>"},
}
#: Handler permissions of the asynchronous stage's resources the deployer leaves out, and why.
ASYNC_NOT_NEEDED = {
    "sns:Subscribe": "the asynchronous stage's topics have no subscriptions in the template",
    "sns:Unsubscribe": "the asynchronous stage's topics have no subscriptions in the template",
    "iam:GetRole": "the topics have no delivery-status logging roles",
    "iam:PassRole": "the topics have no delivery-status logging roles (the endpoint role is passed to SageMaker only)",
}
EXTRA_TARGETS = {
    "sagemaker:DescribeModelPackage": f"arn:{PARTITION}:sagemaker:{REGION}:{TOOLING}:model-package/{PROJECT_NAME}-{PROJECT_ID}/3",
    "kms:CreateGrant": STAGE_KEY,
    "sagemaker:UpdateEndpointWeightsAndCapacities": f"{SAGEMAKER}:endpoint/{ENDPOINT_NAME.lower()}",
}


@pytest.fixture(scope="module")
def stage_resources() -> list[dict]:
    """The stage template's resources that exist when a stage in another account deploys it."""
    template = json.loads(STAGE_TEMPLATE_PATH.read_text())
    resolver = Resolver(template, parameters=STAGE_IN_OTHER_ACCOUNT, account=ACCOUNT)
    return [r for r in template["Resources"].values() if "Condition" not in r or resolver.condition(r["Condition"])]


@pytest.fixture(scope="module")
def async_stage_resources() -> list[dict]:
    """The asynchronous stage template's resources in another account."""
    template = json.loads(ASYNC_TEMPLATE_PATH.read_text())
    resolver = Resolver(template, parameters=STAGE_IN_OTHER_ACCOUNT, account=ACCOUNT)
    return [r for r in template["Resources"].values() if "Condition" not in r or resolver.condition(r["Condition"])]


def test_deployer_allows_every_handler_permission_of_the_async_stage_template(baseline, async_stage_resources):
    """Every handler permission of the asynchronous stage's resources in another account (what the
    real-time stage has too is checked above), on the topics it names."""
    types = {r["Type"] for r in async_stage_resources}
    assert not [t for t in types if t.startswith("AWS::IAM::")]
    needed = needed_permissions(async_stage_resources)
    documents = _documents(baseline)
    missing_actions = missing(needed, granted_actions(documents), {**NOT_NEEDED, **ASYNC_NOT_NEEDED})
    assert not missing_actions
    topic = f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:sagemaker-churn-p-abc123def456-deploy-staging-EndpointSuccessTopic-1A2B"
    policy = _policy(baseline)
    for action in sorted(a for a in needed if a.startswith("sns:") and a not in ASYNC_NOT_NEEDED):
        assert policy.allowed(action, topic), action
        assert not policy.allowed(action, topic.replace("sagemaker-churn", "other-churn")), action


BASELINE_ROLE = BASELINE_ENDPOINT_ROLE.removesuffix("-endpoint")
#: The batch stage template's parameters as build.py writes them for a stage in another account.
BATCH_IN_OTHER_ACCOUNT = {
    **STAGE_IN_OTHER_ACCOUNT,
    "Schedule": "rate(1 day)",
    "StateMachineRoleArn": f"{BASELINE_ROLE}-transform",
    "TriggerRoleArn": f"{BASELINE_ROLE}-trigger",
}
#: Handler permissions of the batch stage's resources the deployer leaves out, and why.
BATCH_NOT_NEEDED = {
    "kms:Decrypt": "the state machine is not encrypted with a customer-managed key (EncryptionConfiguration)",
    "kms:GenerateDataKey": "the state machine is not encrypted with a customer-managed key (EncryptionConfiguration)",
    "s3:GetObject": "the state machine's definition is inline (no DefinitionS3Location)",
    "s3:GetObjectVersion": "the state machine's definition is inline (no DefinitionS3Location)",
}


@pytest.fixture(scope="module")
def batch_stage_resources() -> list[dict]:
    """The batch stage template's resources in another account (given the baseline's roles)."""
    template = json.loads(BATCH_TEMPLATE_PATH.read_text())
    resolver = Resolver(template, parameters=BATCH_IN_OTHER_ACCOUNT, account=ACCOUNT)
    return [r for r in template["Resources"].values() if "Condition" not in r or resolver.condition(r["Condition"])]


def test_deployer_allows_every_handler_permission_of_the_batch_stage_template(baseline, batch_stage_resources):
    """Every handler permission of the batch stage's resources in another account, on the state
    machine and rules it names; it passes the baseline's transform and trigger roles to their
    services only."""
    types = {r["Type"] for r in batch_stage_resources}
    assert not [t for t in types if t.startswith("AWS::IAM::")]
    assert {"AWS::StepFunctions::StateMachine", "AWS::Events::Rule", "AWS::SageMaker::Model"} <= types
    needed = needed_permissions(batch_stage_resources, untyped=UNTYPED)
    not_needed = {**NOT_NEEDED, **BATCH_NOT_NEEDED}
    granted = granted_actions(_documents(baseline))
    assert not missing(needed, granted, not_needed)
    policy = _policy(baseline)
    machine = f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{PROJECT_ID}-{STAGE}-transform"
    rules = [f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{PROJECT_ID}-{STAGE}-{s}" for s in ("schedule", "deployed")]
    for action in sorted(a for a in needed if a.startswith("states:") and a in granted):
        assert policy.allowed(action, machine), action
        assert not policy.allowed(action, machine.replace("-transform", "-other")), action
    for action in sorted(a for a in needed if a.startswith("events:") and a in granted):
        for rule in rules:
            assert policy.allowed(action, rule), (action, rule)
        assert not policy.allowed(action, f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/billing-alerts"), action
    for role, service, other in (("transform", "states", "events"), ("trigger", "events", "states")):
        arn = f"{BASELINE_ROLE}-{role}"
        assert policy.allowed("iam:PassRole", arn, {"iam:PassedToService": f"{service}.amazonaws.com"}), role
        assert not policy.allowed("iam:PassRole", arn, {"iam:PassedToService": f"{other}.amazonaws.com"}), role
        assert not policy.allowed("iam:PassRole", arn, {"iam:PassedToService": "sagemaker.amazonaws.com"}), role


def test_the_batch_explanations_are_current(batch_stage_resources):
    needed = set(needed_permissions(batch_stage_resources, untyped=UNTYPED))
    assert not stale(BATCH_NOT_NEEDED, needed)


def test_the_stage_in_another_account_creates_its_storage_and_no_iam(stage_resources):
    types = sorted(r["Type"] for r in stage_resources)
    assert not [t for t in types if t.startswith("AWS::IAM::")]
    assert types.count("AWS::KMS::Key") == 1 and types.count("AWS::S3::Bucket") == 2
    assert "AWS::ApplicationAutoScaling::ScalableTarget" in types and "AWS::SageMaker::Endpoint" in types


def _documents(template: dict) -> list[dict]:
    """The deployer's policy documents, resolved with the sample values (iam_eval's)."""
    resolver = Resolver(template, parameters=PARAMETERS)
    return [
        resolver.resolve(r["Properties"]["PolicyDocument"])
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("Deployer")
    ]


def _policy(template: dict) -> Policy:
    resolver = Resolver(template, parameters=PARAMETERS)
    (role_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("DeployerRole")]
    return Policy(role_policy_documents(resolver, role_id))


def test_deployer_allows_every_handler_permission_of_the_stage_template(baseline, stage_resources):
    needed = needed_permissions(stage_resources, untyped=UNTYPED)
    assert not missing(needed, granted_actions(_documents(baseline)), NOT_NEEDED)


def test_deployer_allows_them_on_the_resources_any_stage_stack_names(baseline, stage_resources):
    documents = _documents(baseline)
    wrong = []
    checks = [
        (action, resource_type, TARGETS[resource_type].get(action) or TARGETS[resource_type][action.split(":")[0]])
        for action, resource_types in sorted(needed_permissions(stage_resources, untyped=UNTYPED).items())
        if action not in NOT_NEEDED
        for resource_type in sorted(resource_types)
        if (action, resource_type) not in NOT_NEEDED_FOR
    ]
    checks += [(action, "extra", arn) for action, arn in EXTRA_TARGETS.items()]
    for action, resource_type, arn in checks:
        for target in [BUCKET, LOG_BUCKET] if arn == "<buckets>" else [arn]:
            if not statements_allowing(documents, action, target, baseline, PARAMETERS):
                wrong.append(f"{action} on {target} ({resource_type})")
    assert not wrong, "\n".join(wrong)


def test_deployer_holds_nothing_unexplained(baseline, stage_resources, monitor_resources, async_stage_resources, batch_stage_resources):
    granted = granted_actions(_documents(baseline))
    types = {r["Type"] for r in (*stage_resources, *monitor_resources, *async_stage_resources, *batch_stage_resources)}
    assert not unexplained(granted, listed_permissions(types), EXTRAS)


def test_the_explanations_are_current(stage_resources):
    assert not stale(NOT_NEEDED, set(needed_permissions(stage_resources, untyped=UNTYPED)))
    assert not stale(EXTRAS, set(EXTRA_TARGETS))
    needed = needed_permissions(stage_resources, untyped=UNTYPED)
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


def test_keys_only_the_stage_stacks_own(baseline):
    """A key is created only with the project tag; it is managed and granted to SageMaker
    (endpoint volumes) only when it carries one: not the account's other keys, not the tooling keys."""
    policy = _policy(baseline)
    requested = {"aws:RequestTag/sagemaker:project-id": PROJECT_ID}
    assert policy.allowed("kms:CreateKey", "*", requested)
    assert not policy.allowed("kms:CreateKey", "*", {})
    assert policy.allowed("kms:TagResource", STAGE_KEY, requested)
    for action in ("kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:DescribeKey", "kms:GetKeyPolicy"):
        assert policy.allowed(action, STAGE_KEY, TAGGED), action
        assert not policy.allowed(action, STAGE_KEY, {}), f"{action} on a key that is not a project's"
        assert not policy.allowed(action, OTHER_KEY, {}), f"{action} on another key of the account"
    assert policy.allowed("kms:CreateGrant", STAGE_KEY, {**TAGGED, "kms:GrantIsForAWSResource": True})
    assert not policy.allowed("kms:CreateGrant", STAGE_KEY, {**TAGGED, "kms:GrantIsForAWSResource": False})
    assert not policy.allowed("kms:CreateGrant", OTHER_KEY, {"kms:GrantIsForAWSResource": True})
    for action in ("kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt"):
        assert not policy.allowed(action, TOOLING_KEY, {**TAGGED, "kms:GrantIsForAWSResource": True}), action
    for action in ("kms:ScheduleKeyDeletion", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"):
        assert not policy.allowed(action, STAGE_KEY, TAGGED), action


@pytest.mark.parametrize(
    "action",
    ["iam:CreateRole", "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:AttachRolePolicy", "iam:PutRolePolicy",
     "iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:TagRole",
     "iam:CreateUser", "iam:CreateAccessKey"],
)
@pytest.mark.parametrize(
    "arn",
    [
        f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects/{PROJECT_ID}/backdoor",
        f"arn:{PARTITION}:iam::{ACCOUNT}:role/admin",
        f"arn:{PARTITION}:iam::{ACCOUNT}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-deployer",
        f"arn:{PARTITION}:iam::{ACCOUNT}:policy/sagemaker-projects/{PROJECT_ID}/backdoor",
        f"arn:{PARTITION}:iam::{ACCOUNT}:user/backdoor",
    ],
)
def test_the_deployer_may_not_create_or_change_any_iam_role_or_policy(baseline, action, arn):
    assert not _policy(baseline).allowed(action, arn, {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"})


def test_the_deployer_holds_no_iam_action_but_passing_the_endpoint_role_and_the_autoscaling_linked_role(baseline):
    granted = {a for a in granted_actions(_documents(baseline)) if a.startswith("iam:")}
    assert granted == {"iam:PassRole", "iam:CreateServiceLinkedRole"}
    policy = _policy(baseline)
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert policy.allowed("iam:PassRole", BASELINE_ENDPOINT_ROLE, passed)
    assert not policy.allowed("iam:PassRole", BASELINE_ENDPOINT_ROLE, {"iam:PassedToService": "lambda.amazonaws.com"})
    for other in ("sagemaker-projects/p-abc/any-role", "any-role", f"sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-deployer"):
        assert not policy.allowed("iam:PassRole", f"arn:{PARTITION}:iam::{ACCOUNT}:role/{other}", passed), other
    assert not policy.allowed(
        "iam:CreateServiceLinkedRole", LINKED_ROLE, {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
    )


def test_the_deployer_reaches_only_the_stage_stacks_buckets(baseline):
    policy = _policy(baseline)
    here = {"aws:ResourceAccount": ACCOUNT}
    for bucket in (BUCKET, LOG_BUCKET):
        assert policy.allowed("s3:CreateBucket", bucket, {})
        assert policy.allowed("s3:PutBucketPolicy", bucket, here)
        assert not policy.allowed("s3:PutBucketPolicy", bucket, {"aws:ResourceAccount": "999999999999"})
        assert not policy.allowed("s3:DeleteBucket", bucket, here), "the stage's buckets are retained"
        assert not policy.allowed("s3:GetObject", f"{bucket}/data-capture/x.jsonl", here)
    for other in (
        f"sagemaker-{REGION}-{ACCOUNT}",  # SageMaker's default bucket
        f"sagemaker-project-{PROJECT_ID}",  # a native SageMaker project's
        f"sagemaker-studio-{ACCOUNT}-abcdef",  # Studio's
        "other-bucket",
    ):
        for action in ("s3:CreateBucket", "s3:PutBucketPolicy", "s3:PutEncryptionConfiguration", "s3:PutBucketLogging"):
            assert not policy.allowed(action, f"arn:{PARTITION}:s3:::{other}", here), (action, other)


def test_deployer_cannot_touch_the_baseline_or_other_resources(baseline):
    policy = _policy(baseline)
    for action, arn in (
        ("cloudwatch:DeleteAlarms", f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:billing"),
        ("sagemaker:DeleteEndpoint", f"{SAGEMAKER}:endpoint/not-a-project"),
        ("kms:PutKeyPolicy", OTHER_KEY),
    ):
        assert not policy.allowed(action, arn, {}), (action, arn)


def test_deployer_policies_fit_in_iam_managed_policies(baseline):
    for document in _documents(baseline):
        assert policy_length(document, baseline, PARAMETERS) < 6144


# ------------------------------------------------------------------ the monitor stage stacks

MONITOR_STACK_NAME = f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}-monitor-{STAGE}"
MONITOR_PREFIX = f"{PROJECT_ID}-{STAGE}"
#: The monitor stage template's parameters for a stage in another account: every monitor on, the
#: baseline's endpoint role as the jobs' role (so the stack creates no IAM), the stage's own key.
MONITOR_IN_OTHER_ACCOUNT = {
    "SageMakerProjectName": PROJECT_NAME,
    "SageMakerProjectId": PROJECT_ID,
    "StageName": STAGE,
    "EndpointName": ENDPOINT_NAME,
    "DataCaptureS3Uri": f"s3://sagemaker-projects-stage-{STACK_UUID}/data-capture",
    "OutputS3Uri": f"s3://sagemaker-projects-stage-{STACK_UUID}/monitoring-reports/{STAGE}/",
    "KmsKeyArn": STAGE_KEY,
    "ExecutionRoleArn": BASELINE_ENDPOINT_ROLE,
    "DefinitionVersion": "0a1b2c3d",
    **dict.fromkeys(["EnableDataQuality", "EnableModelQuality", "EnableModelBias", "EnableExplainability"], "true"),
    **{
        name: f"s3://sagemaker-project-{PROJECT_ID}/monitoring/{STAGE}/0a1b2c3d/{name}.json"
        for name in (
            "DataQualityBaselineStatisticsUri", "DataQualityBaselineConstraintsUri", "ModelQualityBaselineConstraintsUri",
            "ModelBiasAnalysisConfigUri", "ModelBiasBaselineConstraintsUri", "ExplainabilityAnalysisConfigUri",
            "ExplainabilityBaselineConstraintsUri",
        )
    },
    "GroundTruthS3Uri": f"s3://sagemaker-projects-stage-{STACK_UUID}/ground-truth",
    "DataQualityAlarmMetricName": "feature_baseline_drift_length",
    "ModelQualityAlarmMetricName": "rmse",
}  # fmt: skip
MONITOR_ALARM = f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:{MONITOR_STACK_NAME}-MonitorsDataQualityAlarm3639CAB9-1A2B3C4D5E6F"
MONITOR_TARGETS: dict[str, dict[str, str]] = {
    "AWS::CloudWatch::Alarm": {"cloudwatch": MONITOR_ALARM},
    "AWS::SageMaker::MonitoringSchedule": {
        "sagemaker": f"{SAGEMAKER}:monitoring-schedule/{MONITOR_PREFIX}-data-quality",
        "iam:PassRole": BASELINE_ENDPOINT_ROLE,
    },
    **{
        f"AWS::SageMaker::{kind}JobDefinition": {
            "sagemaker": f"{SAGEMAKER}:{resource}-job-definition/{MONITOR_PREFIX}-{slug}-0a1b2c3d",
            "iam:PassRole": BASELINE_ENDPOINT_ROLE,
        }
        for kind, resource, slug in (
            ("DataQuality", "data-quality", "data-quality"),
            ("ModelQuality", "model-quality", "model-quality"),
            ("ModelBias", "model-bias", "model-bias"),
            ("ModelExplainability", "model-explainability", "explainability"),
        )
    },
}


@pytest.fixture(scope="module")
def monitor_resources() -> list[dict]:
    """The monitor stage template's resources when a stage in another account deploys it."""
    template = json.loads(MONITOR_TEMPLATE_PATH.read_text())
    resolver = Resolver(template, parameters=MONITOR_IN_OTHER_ACCOUNT, account=ACCOUNT)
    return [r for r in template["Resources"].values() if "Condition" not in r or resolver.condition(r["Condition"])]


def test_the_monitor_stage_in_another_account_creates_no_iam(monitor_resources):
    types = sorted(r["Type"] for r in monitor_resources)
    assert not [t for t in types if t.startswith("AWS::IAM::")]
    assert types.count("AWS::SageMaker::MonitoringSchedule") == 4 and types.count("AWS::CloudWatch::Alarm") == 2


def test_deployer_allows_every_handler_permission_of_the_monitor_stage_on_its_resources(baseline, monitor_resources):
    documents = _documents(baseline)
    policy = _policy(baseline)
    needed = needed_permissions(monitor_resources, untyped=UNTYPED)
    assert not missing(needed, granted_actions(documents), {})
    wrong = []
    for action, resource_types in sorted(needed.items()):
        for resource_type in sorted(resource_types):
            targets = MONITOR_TARGETS[resource_type]
            arn = "*" if action == "sagemaker:ListMonitoringSchedule" else targets.get(action) or targets[action.split(":")[0]]
            context: dict = {"iam:PassedToService": "sagemaker.amazonaws.com"}
            if action.startswith("sagemaker:"):
                # Created with the project's tag, handled later because it carries it.
                context |= {"aws:RequestTag/sagemaker:project-id": PROJECT_ID, **TAGGED}
            if action != "sagemaker:ListMonitoringSchedule" and not policy.allowed(action, arn, context):
                wrong.append(f"{action} on {arn} ({resource_type})")
    assert not wrong, "\n".join(wrong)


def test_monitors_must_carry_a_project_id(baseline):
    policy = _policy(baseline)
    schedule = f"{SAGEMAKER}:monitoring-schedule/{MONITOR_PREFIX}-data-quality"
    definition = f"{SAGEMAKER}:data-quality-job-definition/{MONITOR_PREFIX}-data-quality-0a1b2c3d"
    for action, arn in (("sagemaker:CreateMonitoringSchedule", schedule), ("sagemaker:CreateDataQualityJobDefinition", definition)):
        assert policy.allowed(action, arn, {"aws:RequestTag/sagemaker:project-id": PROJECT_ID}), action
        assert not policy.allowed(action, arn, {}), f"{action} without the project tag"
    for action, arn in (("sagemaker:DeleteMonitoringSchedule", schedule), ("sagemaker:DeleteDataQualityJobDefinition", definition)):
        assert policy.allowed(action, arn, TAGGED), action
        assert not policy.allowed(action, arn, {}), f"{action} on a schedule that is not a project's"
    other_alarm = f"arn:{PARTITION}:cloudwatch:{REGION}:{ACCOUNT}:alarm:billing"
    assert policy.allowed("cloudwatch:PutMetricAlarm", MONITOR_ALARM) and not policy.allowed("cloudwatch:PutMetricAlarm", other_alarm)


@pytest.mark.parametrize("given", ["transform_role", "trigger_role"])
def test_one_batch_role_without_the_other_is_a_value_error_naming_the_missing_one(given):
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam

    from sagemaker_projects_cdk.constructs.targets.deployer_role import TargetDeployerRole

    stack = Stack(App(), "Baseline")
    role = iam.Role.from_role_arn(stack, "Given", f"arn:aws:iam::123456789012:role/sagemaker-projects-{TOOLING}-x")
    missing = {"transform_role": "trigger_role", "trigger_role": "transform_role"}[given]
    with pytest.raises(ValueError, match=rf"invalid {missing} None: expected a role whenever {given} is given"):
        TargetDeployerRole(stack, "Deployer", tooling_account=TOOLING, endpoint_role=role, **{given: role})
