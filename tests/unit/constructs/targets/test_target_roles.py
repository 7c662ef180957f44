"""The baseline's actions and endpoint roles may do what runs with them, and not much more.

The actions role (``sagemaker-projects-<tooling>-actions``), as the tooling account's
pipelines use it (CodePipeline user guide, the CloudFormation action reference; aws-cdk-lib's
``CloudFormationCreateUpdateStackAction``, the only CloudFormation action the tooling pipeline
uses, in its CREATE_UPDATE and REPLACE_ON_FAILURE modes): CodePipeline's CloudFormation action
reads its input artifacts from the tooling account's artifact bucket (decrypting through S3
with the tooling key) and, on the stage stack, calls ``DescribeStacks``, ``CreateStack``,
``UpdateStack``, ``DescribeStackEvents`` (its error messages) and ``DeleteStack`` (replace on
failure), passing the deployer role to CloudFormation; the staging tests
(``seed_code/model_deploy/test/test_endpoint.py``) describe the endpoint, its configuration
and model and invoke it (the test set is read with the build's own role in the tooling
account, not with this one); the change record's snapshot describes the stage stack.

The endpoint role (``sagemaker-projects-<tooling>-endpoint``), as SageMaker uses a model's
execution role (as ``tests/test_service_roles.py`` checks the stage stack's own model role):
pull the image, read ``ModelDataUrl`` in the tooling account, write captured data here,
logs, metrics, the rollback alarms.
"""

from __future__ import annotations

import json

import pytest
from conftest import TOOLING
from role_checks import RoleCheck, missing, request, role_policy_with_managed, unneeded

from iam_eval import Resolver
from sagemaker_projects_cdk.stacks.serving_stages import BATCH_TEMPLATE_PATH

REGION, ACCOUNT = "us-east-1", "123456789012"
PARAMETERS = {"ToolingAccountId": TOOLING}
STACK = "sagemaker-churn-p-abc123def456-deploy-staging"
STACK_ARN = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
ENDPOINT = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-p-abc123def456-staging"
TAGGED = {"aws:ResourceTag/sagemaker:project-id": "p-abc123def456"}
TOOLING_BUCKET = "sagemaker-project-p-abc123def456"
TOOLING_KEY = f"arn:aws:kms:{REGION}:{TOOLING}:key/0b1c2d3e-project-key"
IN_TOOLING = {"aws:ResourceAccount": TOOLING}
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
#: The XGBoost image's registry account in us-east-1 (SageMaker's algorithm images).
XGBOOST_ACCOUNT = "683313688378"

_CDK_GRANT = "aws-cdk-lib grants it to the role of a CloudFormationCreateUpdateStackAction (DescribeStack*, GetTemplate*, " \
    "GetStackPolicy, SetStackPolicy), as the same-account branch of the tooling pipeline holds it"
ACTIONS_NOT_NEEDED = {
    "s3:GetObjectVersion": "AWS's default CodePipeline service role policy reads artifact versions (a versioned store)",
    **dict.fromkeys(
        [f"cloudformation:{a}" for a in ("DescribeStackResources", "GetTemplate",
                                         "GetTemplateSummary", "GetStackPolicy", "SetStackPolicy")],
        _CDK_GRANT,
    ),
}
#: s3:ListBucket on the tooling buckets (ModelArtifactBuckets) lets SageMaker tell a missing model artifact
#: (404) from a denied one (403); Model Monitor's jobs need the action on the stage buckets anyway.
ENDPOINT_NOT_NEEDED: dict[str, str] = {}


def _role(template: dict, prefix: str) -> tuple[Resolver, str]:
    resolver = Resolver(template, parameters=PARAMETERS, region=REGION, account=ACCOUNT)
    (role_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith(prefix)]
    return resolver, role_id


def _actions_requests(deployer_arn: str) -> list:
    said = "CodePipeline's CloudFormation action"
    calls = ("DescribeStacks", "CreateStack", "UpdateStack", "DescribeStackEvents", "DeleteStack")
    artifact = f"arn:aws:s3:::{TOOLING_BUCKET}/sagemaker-churn-p-abc123/BuildArtif/xyz789"
    return [
        *(request(f"cloudformation:{call}", STACK_ARN, said) for call in calls),
        request("iam:PassRole", deployer_arn, said, {"iam:PassedToService": "cloudformation.amazonaws.com"}),
        request("s3:GetObject", artifact, said + " input", IN_TOOLING),
        request("kms:Decrypt", TOOLING_KEY, said + " input", VIA_S3),
        request("sagemaker:DescribeEndpoint", ENDPOINT, "staging tests", TAGGED),
        request("sagemaker:InvokeEndpoint", ENDPOINT, "staging tests", TAGGED),
        request("sagemaker:DescribeEndpointConfig", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/endpointconfig-1a2b", "staging tests", TAGGED),
        request("sagemaker:DescribeModel", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/endpointmodel-1a2b", "staging tests", TAGGED),
        request("cloudformation:DescribeStacks", STACK_ARN, "change record snapshot"),
        *_queue_test_requests(),
    ]


STAGE_BUCKET = "sagemaker-projects-stage-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
STAGE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1c2d3e4f-stage-key"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:p-abc123def456-staging-transform"


def _queue_test_requests() -> list:
    """The staging tests of an asynchronous and a batch stage in this account
    (``test_endpoint.py``'s ``run_async`` and ``run_batch``; the calls are recorded against moto in
    ``tests/seed/test_target_staging_roles.py``)."""
    here = {"aws:ResourceAccount": ACCOUNT}
    base = f"arn:aws:s3:::{STAGE_BUCKET}/async-inference/churn-p-abc123def456-staging"
    batch = f"arn:aws:s3:::{STAGE_BUCKET}/batch-transform/staging"
    stage_key = {**TAGGED, **VIA_S3}
    return [
        request("cloudformation:DescribeStackResource", STACK_ARN, "staging tests: the stage's own bucket"),
        request("s3:PutObject", f"{base}/input/test-0a1b/row-0.csv", "async test: a request", here),
        request("kms:GenerateDataKey", STAGE_KEY, "async test: a request (SSE-KMS)", stage_key),
        request("sagemaker:InvokeEndpointAsync", ENDPOINT, "async test", TAGGED),
        request("s3:ListBucket", f"arn:aws:s3:::{STAGE_BUCKET}", "async test: an answer not there yet is a 404", here),
        request("s3:GetObject", f"{base}/output/0a1b-2c3d.out", "async test: an answer", here),
        request("s3:GetObject", f"{base}/failure/0a1b-2c3d-error.out", "async test: a failure", here),
        request("kms:Decrypt", STAGE_KEY, "async test: an answer (SSE-KMS)", stage_key),
        request("s3:PutObject", f"{batch}/test-input/test-0a1b/rows.csv", "batch test: the rows", here),
        request("states:StartExecution", MACHINE, "batch test: a run"),
        request("states:DescribeExecution", MACHINE.replace(":stateMachine:", ":execution:") + ":test-0a1b", "batch test"),
        request("states:StopExecution", MACHINE.replace(":stateMachine:", ":execution:") + ":test-0a1b", "batch test: timeout"),
        request("s3:GetObject", f"{batch}/output/test-0a1b/rows.csv.out", "batch test: the output", here),
    ]


def test_the_actions_role_may_do_what_the_tooling_pipelines_do_here(baseline):
    resolver, role_id = _role(baseline, "ActionsRole")
    (deployer_id,) = [k for k, r in baseline["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("DeployerRole")]
    deployer_arn = resolver.get_att(deployer_id, "Arn")
    check = RoleCheck(f"target-account {role_id}", role_policy_with_managed(resolver, role_id), _actions_requests(deployer_arn), ACTIONS_NOT_NEEDED)
    assert missing(check) == []
    assert unneeded(check) == []


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("cloudformation:CreateStack", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/production-database/0a1b", {}),
        ("cloudformation:DeleteStack", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/sagemaker-projects-target-account/0a1b", {}),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-endpoint",
         {"iam:PassedToService": "cloudformation.amazonaws.com"}),
        ("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/secret.csv", {"aws:ResourceAccount": "999999999999"}),
        ("s3:GetObject", "arn:aws:s3:::sagemaker-capture/data.jsonl", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:PutObject", f"arn:aws:s3:::{TOOLING_BUCKET}/x", IN_TOOLING),
        ("kms:Decrypt", TOOLING_KEY, {}),
        ("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/not-a-project", {}),
        ("sagemaker:DeleteEndpoint", ENDPOINT, TAGGED),
        ("cloudformation:CreateChangeSet", STACK_ARN, {}),
        ("s3:GetBucketVersioning", f"arn:aws:s3:::{TOOLING_BUCKET}", IN_TOOLING),
        # The staging tests write requests and rows, and read answers, under those prefixes only.
        ("s3:PutObject", f"arn:aws:s3:::{STAGE_BUCKET}/data-capture/x.jsonl", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:PutObject", f"arn:aws:s3:::{STAGE_BUCKET}/batch-transform/staging/output/run/x.out", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:GetObject", f"arn:aws:s3:::{STAGE_BUCKET}/data-capture/x.jsonl", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:GetObject", f"arn:aws:s3:::{STAGE_BUCKET}/async-inference/e/output/x.out", {"aws:ResourceAccount": "999999999999"}),
        ("s3:PutObject", f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}/async-inference/e/input/x", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:ListBucket", f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}", {"aws:ResourceAccount": ACCOUNT}),
        ("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other-key", VIA_S3),
        ("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1c2d3e4f-stage-key", TAGGED),
        ("sagemaker:InvokeEndpointAsync", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/not-a-project", {}),
        ("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:payroll", {}),
        ("states:StopExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:payroll:run-1", {}),
    ],
)
def test_the_actions_role_may_not(baseline, action, resource, context):
    resolver, role_id = _role(baseline, "ActionsRole")
    assert not role_policy_with_managed(resolver, role_id).allowed(action, resource, context)


def test_the_deployer_is_passed_to_cloudformation_only(baseline):
    resolver, role_id = _role(baseline, "ActionsRole")
    (deployer_id,) = [k for k, r in baseline["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("DeployerRole")]
    policy = role_policy_with_managed(resolver, role_id)
    deployer = resolver.get_att(deployer_id, "Arn")
    assert policy.allowed("iam:PassRole", deployer, {"iam:PassedToService": "cloudformation.amazonaws.com"})
    assert not policy.allowed("iam:PassRole", deployer, {"iam:PassedToService": "lambda.amazonaws.com"})


CAPTURE_BUCKET = "sagemaker-projects-stage-0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def _endpoint_requests() -> list:
    name = "churn-p-abc123def456-staging"
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}"
    stream = f"{group}:log-stream:AllTraffic/i-0123456789abcdef0"
    capture = f"arn:aws:s3:::{CAPTURE_BUCKET}/data-capture/{name}/AllTraffic/2025/01/01/00/capture.jsonl"
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK}-EndpointErrorsAlarm6803A3F1-1A2B3C4D5E6F"
    images = [f"arn:aws:ecr:{REGION}:{XGBOOST_ACCOUNT}:repository/sagemaker-xgboost", f"arn:aws:ecr:{REGION}:{TOOLING}:repository/churn-inference"]
    return [
        request("ecr:GetAuthorizationToken", "*", "image"),
        *(
            request(f"ecr:{a}", image, "image")
            for image in images
            for a in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage")
        ),
        request("s3:GetObject", f"arn:aws:s3:::{TOOLING_BUCKET}/churn/exec-1/train/job/output/model.tar.gz", "ModelDataUrl", IN_TOOLING),
        request("kms:Decrypt", TOOLING_KEY, "ModelDataUrl (SSE-KMS)", VIA_S3),
        # The stage key's policy grants this role GenerateDataKey and Decrypt (EncryptByExecutionRole): a key
        # policy naming a principal of the key's account needs no identity policy.
        request("s3:PutObject", capture, "data capture", {"aws:ResourceAccount": ACCOUNT}),
        request("logs:CreateLogGroup", f"{group}:log-stream:", "logs"),
        request("logs:DescribeLogStreams", f"{group}:log-stream:", "logs"),
        request("logs:CreateLogStream", stream, "logs"),
        request("logs:PutLogEvents", stream, "logs"),
        request("cloudwatch:PutMetricData", "*", "metrics", {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}),
        request("cloudwatch:DescribeAlarms", alarm, "auto-rollback"),
        *_monitoring_requests(name),
    ]


def _monitoring_requests(endpoint: str) -> list:
    """What Model Monitor's jobs of a monitor stage stack do as this role (``ExecutionRoleArn``): read
    the captured data and write reports in the stage's bucket, read the baselines the monitor build
    uploaded to the tooling account's bucket, log, publish metrics, and run Clarify's shadow endpoint."""
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs"
    stream = f"{group}:log-stream:model-monitoring-202501010000-0123abcd/algo-1-1735689600"
    here = {"aws:ResourceAccount": ACCOUNT}
    # The prefix the monitor seed's build.py writes (<project id>-clarify), lower case as in ARNs.
    shadow = "p-abc123def456-clarify-20250101000000-0123"
    return [
        request("s3:ListBucket", f"arn:aws:s3:::{CAPTURE_BUCKET}", "monitoring: captured hours listed", here),
        request("s3:GetObject", f"arn:aws:s3:::{CAPTURE_BUCKET}/data-capture/{endpoint}/AllTraffic/2025/01/01/00/c.jsonl",
                "monitoring: captured data", here),
        request("s3:PutObject", f"arn:aws:s3:::{CAPTURE_BUCKET}/monitoring-reports/staging/{endpoint}/x/constraint_violations.json",
                "monitoring: reports", here),
        request("s3:GetObject", f"arn:aws:s3:::{TOOLING_BUCKET}/monitoring/staging/0a1b2c3d/constraints.json",
                "monitoring: baselines in the tooling bucket", IN_TOOLING),
        request("kms:Decrypt", TOOLING_KEY, "monitoring: baselines (SSE-KMS)", VIA_S3),
        request("logs:DescribeLogStreams", f"{group}:log-stream:", "monitoring logs"),
        request("logs:CreateLogStream", stream, "monitoring logs"),
        request("logs:PutLogEvents", stream, "monitoring logs"),
        *(
            request("cloudwatch:PutMetricData", "*", "monitoring metrics", {"cloudwatch:namespace": f"aws/sagemaker/Endpoints/{kind}-metrics"})
            for kind in ("data", "model", "bias", "explainability")
        ),
        *(
            request(f"sagemaker:{action}", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{shadow}", "Clarify's shadow endpoint")
            for action, kind in (
                ("CreateEndpointConfig", "endpoint-config"), ("DescribeEndpointConfig", "endpoint-config"),
                ("CreateEndpoint", "endpoint"), ("DescribeEndpoint", "endpoint"),
                ("InvokeEndpoint", "endpoint"), ("DeleteEndpoint", "endpoint"), ("DeleteEndpointConfig", "endpoint-config"),
            )
        ),
    ]  # fmt: skip


def test_the_endpoint_role_may_do_what_sagemaker_does_with_it(baseline):
    resolver, role_id = _role(baseline, "EndpointRole")
    check = RoleCheck(
        f"target-account {role_id}", role_policy_with_managed(resolver, role_id), _endpoint_requests(), ENDPOINT_NOT_NEEDED,
    )
    assert missing(check) == []
    assert unneeded(check) == []


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("s3:GetObject", "arn:aws:s3:::another-account-bucket/model.tar.gz", {"aws:ResourceAccount": "999999999999"}),
        ("s3:PutObject", f"arn:aws:s3:::{TOOLING_BUCKET}/data-capture/x.jsonl", IN_TOOLING),
        ("s3:PutObject", "arn:aws:s3:::private-bucket/x.jsonl", {"aws:ResourceAccount": ACCOUNT}),
        ("kms:Decrypt", TOOLING_KEY, {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}),
        ("ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:999999999999:repository/someone-else", {}),
        ("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Billing"}),
        ("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:x", {}),
        # SageMaker's default bucket, a native SageMaker project's, Studio's, the stage's access logs.
        ("s3:PutObject", f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}/x.jsonl", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:PutObject", "arn:aws:s3:::sagemaker-project-p-abc123def456/x.jsonl", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:PutObject", f"arn:aws:s3:::sagemaker-studio-{ACCOUNT}-abc/x", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:PutObject", "arn:aws:s3:::sagemaker-projects-slogs-0a1b2c3d-4e5f-6789-abcd-ef0123456789/x", {"aws:ResourceAccount": ACCOUNT}),
        # A stage bucket's name in another account.
        ("s3:PutObject", f"arn:aws:s3:::{CAPTURE_BUCKET}/x.jsonl", {"aws:ResourceAccount": "999999999999"}),
        # Model Monitor reads the stage buckets only, and runs Clarify's shadow endpoints only.
        ("s3:GetObject", f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}/x.jsonl", {"aws:ResourceAccount": ACCOUNT}),
        ("s3:ListBucket", f"arn:aws:s3:::sagemaker-{REGION}-{ACCOUNT}", {"aws:ResourceAccount": ACCOUNT}),
        ("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-p-abc123def456-prod", {}),
        ("sagemaker:DeleteEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-p-abc123def456-prod", {}),
    ],
)
def test_the_endpoint_role_may_not(baseline, action, resource, context):
    resolver, role_id = _role(baseline, "EndpointRole")
    assert not role_policy_with_managed(resolver, role_id).allowed(action, resource, context)


def test_the_endpoint_role_uses_no_key_of_this_account_directly(baseline):
    """Captured data: the stage key's policy grants the role; endpoint volumes: a grant
    SageMaker creates with the deployer's permissions. The account's other keys are out of reach."""
    resolver, role_id = _role(baseline, "EndpointRole")
    policy = role_policy_with_managed(resolver, role_id)
    for key in (f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other-key", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/stage-key"):
        for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"):
            for context in ({}, VIA_S3):
                assert not policy.allowed(action, key, context), (action, key, context)


BASELINE_ROLES = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}"
JOB = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/p-abc123def456-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
SYNC_RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"


def test_the_transform_role_may_do_what_a_batch_stages_state_machine_does(baseline):
    """Step Functions' ``createTransformJob.sync`` (Step Functions developer guide, IAM policies for
    SageMaker: CreateTransformJob, DescribeTransformJob, StopTransformJob, ListTags; AddTags for
    the tag Step Functions puts on a .sync job, aws-cdk#26012; the events rule, the
    model role passed): the transform job's volumes are encrypted with the stage key (a grant for
    SageMaker, which KMS describes first)."""
    resolver, role_id = _role(baseline, "TransformRole")
    said = "the batch stage's state machine (createTransformJob.sync)"
    requests = [
        *(request(f"sagemaker:{a}", JOB, said) for a in ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob")),
        request("sagemaker:AddTags", JOB, said + ": its MANAGED_BY_AWS tag on the job"),
        request("sagemaker:ListTags", JOB, said),
        request("iam:PassRole", f"{BASELINE_ROLES}-endpoint", said, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
        *(request(f"events:{a}", SYNC_RULE, said) for a in ("PutTargets", "PutRule", "DescribeRule")),
        request("kms:CreateGrant", STAGE_KEY, "VolumeKmsKeyId", {**TAGGED, "kms:GrantIsForAWSResource": True}),
        request("kms:DescribeKey", STAGE_KEY, "VolumeKmsKeyId", TAGGED),
    ]
    check = RoleCheck(f"target-account {role_id}", role_policy_with_managed(resolver, role_id), requests, {})
    assert missing(check) == []
    assert unneeded(check) == []
    policy = role_policy_with_managed(resolver, role_id)
    assert not policy.allowed("iam:PassRole", f"{BASELINE_ROLES}-endpoint", {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not policy.allowed("iam:PassRole", f"{BASELINE_ROLES}-deployer", {"iam:PassedToService": "sagemaker.amazonaws.com"})
    assert not policy.allowed("kms:CreateGrant", STAGE_KEY, {**TAGGED, "kms:GrantIsForAWSResource": False})
    assert not policy.allowed("kms:CreateGrant", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other-key", {"kms:GrantIsForAWSResource": True})
    assert not policy.allowed("sagemaker:CreateTrainingJob", JOB.replace("transform-job", "training-job"), {})
    assert not policy.allowed("events:PutRule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/other", {})


@pytest.mark.parametrize("path", ["target account", "same account"])
def test_the_role_calling_create_transform_job_may_grant_on_the_volume_key_for_aws_resources_only(baseline, path):
    """One rule for both paths: whichever role calls CreateTransformJob (the baseline's transform
    role in a target account, the batch stage's own state machine role in its own account) may
    create a grant on the stage key (VolumeKmsKeyId) for an AWS resource only, and on no other key."""
    if path == "target account":
        resolver, role_id = _role(baseline, "TransformRole")
        policy, key, context = role_policy_with_managed(resolver, role_id), STAGE_KEY, TAGGED
    else:
        stage = json.loads(BATCH_TEMPLATE_PATH.read_text(encoding="utf-8"))
        key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab"
        parameters = {
            "SageMakerProjectName": "churn", "SageMakerProjectId": "p-abc123def456", "StageName": "staging",
            "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn-p-abc123def456/3",
            "ArtifactBucketName": TOOLING_BUCKET, "ArtifactKmsKeyArn": key, "ModelArtifactBucketName": TOOLING_BUCKET,
            "ExecutionRoleArn": "", "StateMachineRoleArn": "", "TriggerRoleArn": "",
        }  # fmt: skip
        resolver = Resolver(stage, parameters=parameters, region=REGION, account=ACCOUNT)
        (role_id,) = [k for k, r in stage["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("TransformStarterRole")]
        policy, context = role_policy_with_managed(resolver, role_id), {}
    assert policy.allowed("sagemaker:CreateTransformJob", JOB, context)
    assert policy.allowed("kms:CreateGrant", key, {**context, "kms:GrantIsForAWSResource": True})
    assert not policy.allowed("kms:CreateGrant", key, {**context, "kms:GrantIsForAWSResource": False})
    assert not policy.allowed("kms:CreateGrant", key, context)
    other = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other-key"
    assert not policy.allowed("kms:CreateGrant", other, {"kms:GrantIsForAWSResource": True})


def test_the_trigger_role_only_starts_batch_stages_state_machines(baseline):
    resolver, role_id = _role(baseline, "TriggerRole")
    requests = [request("states:StartExecution", MACHINE, "EventBridge: the schedule and after-deployment rules")]
    check = RoleCheck(f"target-account {role_id}", role_policy_with_managed(resolver, role_id), requests, {})
    assert missing(check) == []
    assert unneeded(check) == []
    policy = role_policy_with_managed(resolver, role_id)
    assert not policy.allowed("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:payroll", {})


@pytest.mark.parametrize(("prefix", "service"), [("TransformRole", "states.amazonaws.com"), ("TriggerRole", "events.amazonaws.com")])
def test_the_batch_roles_trust_their_service_only(baseline, prefix, service):
    _, role_id = _role(baseline, prefix)
    (statement,) = baseline["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": service} and statement["Action"] == "sts:AssumeRole"
    # Only for this account's state machines and rules (the confused deputy).
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
