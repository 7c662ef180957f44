"""The monitoring template's monitor build role may make every call of the monitor seed's build.py.

build.py runs in moto in this process (the shapes of tests/seed/monitor_support.py: an approved
version with DriftCheckBaselines, a model with PrimaryContainer, an endpoint config with data
capture, tagged as the endpoint stage tags them), its botocore calls are recorded
(call_recorder) and each IAM request they make is evaluated against the role's policies in the
synthesized build-deploy-monitor template, resolved with the same bucket, key and project
(iam_eval). What the role holds that no call needs is listed with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from call_recorder import IamRequest, iam_requests, install, read_calls
from iam_eval import Policy, Resolver, action_matches, role_policy_documents
from monitor_support import (
    ACCOUNT,
    BASELINE_FILES,
    BUCKET,
    KEY_ARN,
    PROJECT_ID,
    PROJECT_NAME,
    REGION,
    baseline_uri,
    capture_config,
    config_dir,
    deploy_endpoint,
    environment,
    load_build_module,
    register_version,
)
from support import moto_environment

TEMPLATE_ID = "build-deploy-monitor"
GROUND_TRUTH = f"s3://{BUCKET}/ground-truth/staging"
CDK_CODEBUILD = "aws-cdk-lib's CodeBuild project grant: CodeBuild itself writes the build's logs and test reports"
CDK_KEY = "aws-cdk-lib's grant on the project key with the bucket grants (artifacts, logs)"
CDK_BUCKET = "aws-cdk-lib's bucket grants: CodeBuild reads the source artifact and writes the output artifact"
#: What the role allows that build.py does not call, and why.
NOT_CALLED = {
    **dict.fromkeys(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], CDK_CODEBUILD),
    **dict.fromkeys(
        ["codebuild:BatchPutCodeCoverages", "codebuild:BatchPutTestCases", "codebuild:CreateReport",
         "codebuild:CreateReportGroup", "codebuild:UpdateReport"],
        CDK_CODEBUILD,
    ),
    **dict.fromkeys(["kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*"], CDK_KEY),
    **dict.fromkeys(
        ["s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:List*", "s3:PutObjectLegalHold",
         "s3:PutObjectRetention", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"],
        CDK_BUCKET,
    ),
    **dict.fromkeys(
        ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackageGroup"],
        "the group's read grant the deploy pipeline's build also gets (ModelDeployPipeline); build.py follows the "
        "endpoint to its version instead of listing the group",
    ),
}  # fmt: skip

pytestmark = [
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning"),
]


def _put_encrypted_baselines(s3: Any) -> None:
    """The baselines in the project bucket, encrypted with the project key as its default
    encryption (constructs/project/storage.py) encrypts what the model build writes."""
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}}]
        },
    )
    for name, body in BASELINE_FILES.items():
        _, _, key = baseline_uri(name)[len("s3://") :].partition("/")
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())


def _tag(sagemaker: Any, name: str) -> None:
    """The endpoint stage's tags on the stage's model and endpoint config (the role reads only those)."""
    tags = [{"Key": "sagemaker:project-id", "Value": PROJECT_ID}, {"Key": "sagemaker:project-name", "Value": PROJECT_NAME}]
    for kind, arn_name in (("model", f"{name}-model"), ("endpoint-config", f"{name}-config")):
        sagemaker.add_tags(ResourceArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{arn_name}", Tags=tags)


def _requests(log: Path, sagemaker: Any) -> list[IamRequest]:
    tags: dict[str, dict[str, str]] = {}
    for listing, key, arn_key in (
        ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn"),
        ("list_models", "Models", "ModelArn"),
        ("list_endpoints", "Endpoints", "EndpointArn"),
    ):
        for item in getattr(sagemaker, listing)()[key]:
            arn = item[arn_key]
            tags[arn.lower()] = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    found = []
    for call in read_calls(log):
        for request in iam_requests(call, ACCOUNT):
            context = dict(request.context)
            for key, value in tags.get(request.resource.lower(), {}).items():
                context[f"aws:ResourceTag/{key}"] = value
            found.append(IamRequest(request.action, request.resource, context, request.call))
    assert found, f"no AWS call recorded in {log}"
    return found


def _policy(template: dict) -> tuple[str, Policy]:
    (project_id,) = [
        i for i, r in template["Resources"].items() if r["Type"] == "AWS::CodeBuild::Project" and i.startswith("ModelMonitorBuild")
    ]
    role_id = template["Resources"][project_id]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]

    def logical_id(kind: str, prefix: str) -> str:
        (found,) = [i for i, r in template["Resources"].items() if r["Type"] == kind and i.startswith(prefix)]
        return found

    resolver = Resolver(
        template,
        parameters={"SageMakerProjectName": PROJECT_NAME, "SageMakerProjectId": PROJECT_ID},
        physical_ids={logical_id("AWS::S3::Bucket", "ArtifactsBucket"): BUCKET},
        attributes={(logical_id("AWS::KMS::Key", "ArtifactsKey"), "Arn"): KEY_ARN},
        region=REGION,
        account=ACCOUNT,
    )
    return role_id, Policy(role_policy_documents(resolver, role_id))


#: Which endpoints exist when the build runs.
SCENARIOS = {"both endpoints in service": ("staging", "prod"), "no endpoint yet": (), "staging only": ("staging",)}


@pytest.fixture(scope="module")
def runs(assembly, tmp_path_factory) -> dict[str, list[IamRequest]]:
    import boto3
    from moto import mock_aws

    build = load_build_module()
    found = {}
    patch = pytest.MonkeyPatch()
    try:
        moto_environment(patch, tmp_path_factory.mktemp("aws"), REGION)
        for number, (name, stages) in enumerate(SCENARIOS.items()):
            with mock_aws():
                session = boto3.session.Session(region_name=REGION)
                _put_encrypted_baselines(session.client("s3"))
                sagemaker = session.client("sagemaker")
                if stages:
                    arn = register_version(sagemaker)
                    for stage in stages:
                        deploy_endpoint(sagemaker, stage, arn, capture_config())
                        _tag(sagemaker, f"{PROJECT_NAME}-{PROJECT_ID}-{stage}")
                work = tmp_path_factory.mktemp(f"monitor-build-{number}")
                configs = config_dir(work / "config", ground_truth_s3_uri=GROUND_TRUTH)
                log = work / "calls.jsonl"
                uninstall = install(log)
                try:
                    build.build(["staging", "prod"], configs, work / "out", environment(), session=session)
                finally:
                    uninstall()
                assert sorted(p.name for p in (work / "out").iterdir()) == [
                    "monitor-stage.template.json", "prod-params.json", "staging-params.json",
                ]  # fmt: skip
                found[name] = _requests(log, sagemaker)
    finally:
        patch.undo()
    return found


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_monitor_build_role_may_make_every_call_of_build_py(assembly, runs, scenario):
    role_id, policy = _policy(assembly.templates[TEMPLATE_ID])
    requests = runs[scenario]
    if SCENARIOS[scenario]:
        assert {r.action for r in requests} >= {
            "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel",
            "sagemaker:DescribeModelPackage", "s3:GetObject", "s3:PutObject",
        }  # fmt: skip
    else:
        assert {r.action for r in requests} == {"sagemaker:DescribeEndpoint"}
    missing = [
        f"{role_id} may not {r.action} on {r.resource} (needed by {r.call}; context {dict(r.context)})"
        for r in requests
        if not policy.allowed(r.action, r.resource, r.context)
    ]
    assert missing == []


def test_the_monitor_build_role_holds_nothing_no_call_needs(assembly, runs):
    role_id, policy = _policy(assembly.templates[TEMPLATE_ID])
    requests = [r for found in runs.values() for r in found]
    problems = []
    for pattern, statement in policy.allowed_actions():
        needed = any(action_matches(pattern, r.action) for r in requests)
        if not needed and pattern not in NOT_CALLED:
            problems.append(f"{role_id} allows {pattern} ({statement.source}), which no recorded call needs")
        if needed and pattern in NOT_CALLED:
            problems.append(f"{role_id}: {pattern} is listed as not called by build.py, but a recorded call needs it")
    assert problems == []
    # Another project's models and configs (not tagged with this project's id) are refused.
    described = next(r for r in requests if r.action == "sagemaker:DescribeModel")
    other = {**dict(described.context), "aws:ResourceTag/sagemaker:project-id": "p-other0000000"}
    assert not policy.allowed(described.action, described.resource, other)
    # Writes under monitoring/ (and, through aws-cdk-lib's pipeline artifact grant, anywhere in the
    # project bucket: CodePipeline's artifacts are in it); never in another bucket.
    assert policy.allowed("s3:PutObject", f"arn:aws:s3:::{BUCKET}/monitoring/staging/0a1b2c3d/x", {})
    assert not policy.allowed("s3:PutObject", "arn:aws:s3:::another-bucket/monitoring/staging/0a1b2c3d/x", {})
