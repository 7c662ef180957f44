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

import pytest
from conftest import TOOLING
from role_checks import RoleCheck, missing, request, role_policy_with_managed, unneeded

from iam_eval import Resolver

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
        [f"cloudformation:{a}" for a in ("DescribeStackResource", "DescribeStackResources", "GetTemplate",
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
