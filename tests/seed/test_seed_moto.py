"""The seed pipeline against moto's SageMaker, S3 and KMS: upsert, start, registry round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_support import (
    BUCKET,
    PREFIX,
    PROJECT_ENVIRONMENT,
    PROJECT_ID,
    REGION,
    ROLE_ARN,
    ApiCalls,
    BuiltPipeline,
    all_steps,
    load_deploy_script,
    parameter_defaults,
    resolve,
)

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """moto's AWS with the project's bucket and KMS key, and CodeBuild's environment."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    with mock_aws():
        key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield {**PROJECT_ENVIRONMENT, "ARTIFACT_KMS_KEY_ARN": key_arn}


#: Every AWS API call a build makes: what the CodeBuild role needs (plus iam:PassRole on the
#: execution role, and ListPipelineExecutionSteps when an execution fails).
FIRST_BUILD_CALLS = {
    ("s3", "PutObject"),
    ("sagemaker", "CreatePipeline"),
    ("sagemaker", "StartPipelineExecution"),
    ("sagemaker", "DescribePipelineExecution"),
}
LATER_BUILD_CALLS = FIRST_BUILD_CALLS | {
    ("sagemaker", "UpdatePipeline"),
    ("sagemaker", "ListTags"),
    ("sagemaker", "AddTags"),
}


def test_run_pipeline_uploads_code_upserts_starts_and_waits(
    aws: dict[str, str],
    built_pipeline: BuiltPipeline,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    from pipelines import run_pipeline

    recorder = ApiCalls()
    recorder.install(monkeypatch)
    assert run_pipeline.main(["--poll-seconds", "0"], environ=aws) == 0
    assert set(recorder.calls) == FIRST_BUILD_CALLS
    out = capsys.readouterr().out
    assert "pipeline execution Succeeded" in out

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    described = sagemaker.describe_pipeline(PipelineName=PREFIX)
    assert described["RoleArn"] == ROLE_ARN
    definition = json.loads(described["PipelineDefinition"])
    steps = all_steps(definition)
    assert steps["TrainAbaloneModel"]["Arguments"]["TrainingJobName"] == f"{PROJECT_ID}-train"
    # Same definition as the offline build, but for the KMS key moto generated.
    offline = built_pipeline.definition_json.replace(
        built_pipeline.definition["Steps"][1]["Arguments"]["OutputDataConfig"]["KmsKeyId"],
        aws["ARTIFACT_KMS_KEY_ARN"],
    )
    assert definition == json.loads(offline)

    tags = sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {"Key": "sagemaker:project-name", "Value": "abalone"} in tags
    assert {"Key": "sagemaker:project-id", "Value": "p-abc123def456"} in tags

    s3 = boto3.client("s3", region_name=REGION)
    for uri in built_pipeline.code_uris.values():
        key = uri.split(f"s3://{BUCKET}/", 1)[1]
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == aws["ARTIFACT_KMS_KEY_ARN"]

    # A second build updates the pipeline in place and starts a second execution.
    recorder.calls.clear()
    assert run_pipeline.main(["--poll-seconds", "0"], environ=aws) == 0
    assert set(recorder.calls) == LATER_BUILD_CALLS
    executions = sagemaker.list_pipeline_executions(PipelineName=PREFIX)
    assert len(executions["PipelineExecutionSummaries"]) == 2
    # (moto's AddTags appends where AWS overwrites by key, hence the set.)
    tags = sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {(t["Key"], t["Value"]) for t in tags} == {
        ("sagemaker:project-name", "abalone"),
        ("sagemaker:project-id", "p-abc123def456"),
    }


def test_the_register_request_round_trips_through_the_model_registry(
    aws: dict[str, str], built_pipeline: BuiltPipeline
) -> None:
    import boto3

    sagemaker = boto3.client("sagemaker", region_name=REGION)
    definition = built_pipeline.definition
    request = resolve(
        all_steps(definition)["RegisterAbaloneModel"]["Arguments"],
        parameter_defaults(definition),
    )
    sagemaker.create_model_package_group(ModelPackageGroupName=PREFIX)
    first = sagemaker.create_model_package(**request)["ModelPackageArn"]
    second = sagemaker.create_model_package(**request)["ModelPackageArn"]

    described = sagemaker.describe_model_package(ModelPackageName=first)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelPackageGroupName"] == PREFIX
    container = described["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"].endswith("model.tar.gz")
    assert "sagemaker-xgboost" in container["Image"]
    statistics = described["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["S3Uri"].endswith("/evaluation.json")
    # Where the model-deploy build looks for the staging tests' data.
    deploy_key = load_deploy_script("build.py").TEST_DATA_METADATA_KEY
    assert described["CustomerMetadataProperties"] == {
        deploy_key: request["CustomerMetadataProperties"]["TestDataS3Uri"]
    }
    assert described["CustomerMetadataProperties"][deploy_key].endswith("/test.csv")

    def latest_approved() -> Any:
        return sagemaker.list_model_packages(
            ModelPackageGroupName=PREFIX,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
        )["ModelPackageSummaryList"]

    assert latest_approved() == []
    sagemaker.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved")
    assert [p["ModelPackageArn"] for p in latest_approved()] == [first]
    sagemaker.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Approved")
    assert latest_approved()[0]["ModelPackageArn"] == second
