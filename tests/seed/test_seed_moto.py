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
from support import moto_environment

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]


COMMIT = "4f2a9c1d0b7e6a5f4c3b2a1908f7e6d5c4b3a291"
DATA_KEY = "datasets/abalone/abalone.csv"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """moto's AWS with the project's versioned bucket, its KMS key and the data set copied
    into it (as the stack does), and CodeBuild's environment."""
    import boto3
    from moto import mock_aws

    moto_environment(monkeypatch, tmp_path, REGION)
    with mock_aws():
        key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=BUCKET, Key=DATA_KEY, Body=b"M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        yield {**PROJECT_ENVIRONMENT, "ARTIFACT_KMS_KEY_ARN": key_arn, "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT}


#: Every AWS API call a build makes: what the CodeBuild role needs (plus iam:PassRole on the
#: execution role, and ListPipelineExecutionSteps when an execution fails).
FIRST_BUILD_CALLS = {
    ("s3", "HeadObject"),
    ("sagemaker", "ListModelPackages"),  # no approved version yet: the checks are skipped
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
        all_steps(built_pipeline.definition)["TrainAbaloneModel"]["Arguments"]["OutputDataConfig"]["KmsKeyId"],
        aws["ARTIFACT_KMS_KEY_ARN"],
    )
    assert definition == json.loads(offline)

    tags = sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {"Key": "sagemaker:project-name", "Value": "abalone"} in tags
    assert {"Key": "sagemaker:project-id", "Value": "p-abc123def456"} in tags

    s3 = boto3.client("s3", region_name=REGION)
    # The scripts and the check steps' staged configurations, where the definition names them.
    assert len(built_pipeline.staged) == 5  # 3 Clarify analysis configs, 2 monitoring configs
    for uri in [*built_pipeline.code_uris.values(), *built_pipeline.staged]:
        assert uri in built_pipeline.definition_json, uri
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


def test_run_pipeline_starts_with_the_commit_and_the_input_data_version(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The execution's SourceCommitId is CodeBuild's commit; InputDataVersionId and
    InputDataETag are those of the input data object's current version (the second build,
    after the data changed, records the new version)."""
    import boto3

    from pipelines import run_pipeline

    s3 = boto3.client("s3", region_name=REGION)
    sagemaker = boto3.client("sagemaker", region_name=REGION)

    def started_with() -> dict[str, str]:
        out = capsys.readouterr().out
        (arn,) = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("execution started: ")]
        parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
        assert f"  InputDataVersionId = {s3.head_object(Bucket=BUCKET, Key=DATA_KEY)['VersionId']}" in out
        return {p["Name"]: p["Value"] for p in parameters}

    from pipelines.abalone import settings

    first = s3.head_object(Bucket=BUCKET, Key=DATA_KEY)
    assert run_pipeline.main(["--no-wait"], environ=aws) == 0
    assert started_with() == {
        "SourceCommitId": COMMIT,
        "InputDataVersionId": first["VersionId"],
        "InputDataETag": first["ETag"].strip('"'),
        **settings.first_run_parameters(),  # no approved version in the group yet
    }

    s3.put_object(Bucket=BUCKET, Key=DATA_KEY, Body=b"F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,9\n")
    second = s3.head_object(Bucket=BUCKET, Key=DATA_KEY)
    assert second["VersionId"] != first["VersionId"]
    assert run_pipeline.main(["--no-wait"], environ={**aws, "CODEBUILD_RESOLVED_SOURCE_VERSION": "0" * 40}) == 0
    assert started_with() == {
        "SourceCommitId": "0" * 40,
        "InputDataVersionId": second["VersionId"],
        "InputDataETag": second["ETag"].strip('"'),
        **settings.first_run_parameters(),
    }


def test_run_pipeline_stops_before_any_change_when_the_input_data_url_is_not_s3(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import run_pipeline

    recorder = ApiCalls()
    recorder.install(monkeypatch)
    assert run_pipeline.main(["--no-wait"], environ={**aws, "INPUT_DATA_URL": "https://example.com/abalone.csv"}) == 2
    assert capsys.readouterr().err.startswith("error: invalid input data URL")
    assert recorder.calls == []  # nothing read, uploaded or started


@pytest.mark.parametrize(
    ("url", "warning"),
    [
        (f"s3://{BUCKET}/datasets/abalone/", "is a prefix, not one object"),
        (f"s3://{BUCKET}/datasets/abalone", "is not one object (a prefix?)"),
    ],
)
def test_a_folder_of_input_data_still_runs_without_a_recorded_version(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str], url: str, warning: str
) -> None:
    """The processing step reads the input as a prefix: a folder worked before lineage, and
    still does; its version is 'not-recorded' and a warning says why."""
    import boto3

    from pipelines import run_pipeline
    from pipelines.config import ProjectConfig

    s3 = boto3.client("s3", region_name=REGION)
    config = ProjectConfig.from_env({**aws, "INPUT_DATA_URL": url})
    parameters = run_pipeline.lineage_parameters(s3, config)
    assert (parameters["InputDataVersionId"], parameters["InputDataETag"]) == ("not-recorded", "not-recorded")
    assert warning in capsys.readouterr().err


def test_input_data_this_build_may_not_read_still_runs_without_a_recorded_version(capsys: pytest.CaptureFixture[str]) -> None:
    """Data only the pipeline's execution role may read: the build goes on, as it did before."""
    from botocore.exceptions import ClientError

    from pipelines import run_pipeline

    class Denied:
        def head_object(self, **_kwargs):
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    assert run_pipeline.input_data_lineage(Denied(), "s3://other-bucket/abalone.csv") == {
        "InputDataVersionId": "not-recorded",
        "InputDataETag": "not-recorded",
    }
    assert "may not read input data s3://other-bucket/abalone.csv" in capsys.readouterr().err


def test_an_unversioned_bucket_records_the_etag_only(aws: dict[str, str]) -> None:
    import boto3

    from pipelines import run_pipeline
    from pipelines.config import ProjectConfig

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="unversioned", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="unversioned", Key="data.csv", Body=b"I,0.3,0.2,0.1,0.2,0.1,0.05,0.06,7\n")
    config = ProjectConfig.from_env({**aws, "INPUT_DATA_URL": "s3://unversioned/data.csv"})
    assert run_pipeline.lineage_parameters(s3, config) == {
        "SourceCommitId": COMMIT,
        "InputDataVersionId": "not-recorded",
        "InputDataETag": s3.head_object(Bucket="unversioned", Key="data.csv")["ETag"].strip('"'),
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
    assert described["CustomerMetadataProperties"] == request["CustomerMetadataProperties"]
    assert described["CustomerMetadataProperties"][deploy_key] == request["CustomerMetadataProperties"]["TestDataS3Uri"]
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
