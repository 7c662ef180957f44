"""``python -m pipelines.lineage``: a registered version's lineage from moto's model registry, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_support import (
    ACCOUNT,
    BUCKET,
    EXECUTION_ARN,
    EXECUTION_ID,
    PREFIX,
    PROJECT_ID,
    REGION,
    SEED_ROOT,
    STEP_OUTPUTS,
    BuiltPipeline,
    all_steps,
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
DATA_VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
DATA_ETAG = "9b2cf535f27731c974343645a3985328"
TRAINING_JOB = f"{PROJECT_ID}-train-x7k2m9q4w1"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, built_pipeline: BuiltPipeline) -> Iterator[dict[str, Any]]:
    """moto's registry holding the version the pipeline would register, its training job, and a
    version registered by hand (no lineage metadata)."""
    import boto3
    from moto import mock_aws

    moto_environment(monkeypatch, tmp_path, REGION)
    definition = built_pipeline.definition
    steps = all_steps(definition)
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        # The training job as the pipeline starts it (its channels: the preprocessing outputs).
        training = resolve(steps["TrainAbaloneModel"]["Arguments"], parameter_defaults(definition))
        training["TrainingJobName"] = TRAINING_JOB
        training["OutputDataConfig"]["S3OutputPath"] = f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/train"
        training["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/preprocess/train"
        training["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/preprocess/validation"
        sagemaker.create_training_job(**{k: v for k, v in training.items() if k not in ("Environment", "RetryStrategy")})
        model_data = sagemaker.describe_training_job(TrainingJobName=TRAINING_JOB)["ModelArtifacts"]["S3ModelArtifacts"]

        # The register request as the execution resolves it, with run_pipeline's parameters.
        parameters = {
            **parameter_defaults(definition),
            "SourceCommitId": COMMIT,
            "InputDataVersionId": DATA_VERSION,
            "InputDataETag": DATA_ETAG,
        }
        request = resolve(steps["RegisterAbaloneModel"]["Arguments"], parameters)
        request["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] = model_data
        sagemaker.create_model_package_group(ModelPackageGroupName=PREFIX)
        arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
        # (moto's UpdateModelPackage drops the metadata it is not given again; AWS keeps it.)
        sagemaker.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus="Approved",
            ApprovalDescription="MSE 3.98 reviewed",
            CustomerMetadataProperties=request["CustomerMetadataProperties"],
        )
        by_hand = {k: v for k, v in request.items() if k != "CustomerMetadataProperties"}
        unrecorded = sagemaker.create_model_package(**by_hand)["ModelPackageArn"]
        yield {"arn": arn, "unrecorded": unrecorded, "model_data": model_data, "client": sagemaker}


def run(capsys: pytest.CaptureFixture[str], *argv: str, client: Any = None) -> tuple[int, str, str]:
    from pipelines import lineage

    status = lineage.main(list(argv), sagemaker_client=client)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_lineage_of_a_registered_version(registry: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.abalone import settings

    status, out, err = run(capsys, registry["arn"])
    assert (status, err) == (0, "")
    rows = {}
    for line in out.splitlines():
        if line.startswith("  "):
            name, _, value = line.strip().partition("  ")
            rows[name] = value.strip()
    assert out.splitlines()[0] == f"model package version {registry['arn']}"
    assert rows["group"] == f"{PREFIX}, version 1"
    assert rows["approval"] == "Approved"
    assert rows["approval note"] == "MSE 3.98 reviewed"
    assert rows["commit"] == COMMIT
    assert rows["pipeline execution"] == EXECUTION_ARN
    assert rows["input"] == f"s3://{BUCKET}/datasets/abalone/abalone.csv"
    assert rows["version id"] == DATA_VERSION
    assert rows["etag"] == DATA_ETAG
    assert rows["test split"] == f"{STEP_OUTPUTS['S3Output.S3Uri']}/test.csv"
    assert rows["image"].endswith("/sagemaker-xgboost:3.2-0")
    assert rows["hyperparameters"] == " ".join(f"{k}={v}" for k, v in sorted(settings.HYPERPARAMETERS.items()))
    assert rows["training job"] == f"arn:aws:sagemaker:{REGION}:{registry['arn'].split(':')[4]}:training-job/{TRAINING_JOB} (Completed)"
    assert rows["job image"] == rows["image"]
    assert rows["channel train"] == f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/preprocess/train"
    assert rows["channel validation"] == f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/preprocess/validation"
    assert rows["model data"] == registry["model_data"]
    assert "CloudTrail" in rows["history"]
    assert "missing lineage metadata" not in out


@pytest.mark.parametrize(
    "argument",
    [
        "not-an-arn",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{PREFIX}",  # a group, not a version
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{PREFIX}",  # no version number
        f"arn:aws:s3:::{BUCKET}/model-package/{PREFIX}/1",
    ],
)
def test_a_bad_arn_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argument: str) -> None:
    status, out, err = run(capsys, argument, client=object())  # no AWS call is made
    assert (status, out) == (2, "")
    assert err.splitlines() == [
        f"error: invalid model package version ARN {argument!r}: expected "
        "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>"
    ]


def test_a_version_that_does_not_exist(registry: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    missing = registry["arn"].rsplit("/", 1)[0] + "/99"
    status, out, err = run(capsys, missing)
    assert (status, out) == (1, "")
    assert err.startswith(f"error: no model package version {missing}: ")


def test_a_version_without_lineage_metadata(registry: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, registry["unrecorded"])
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        f"error: {registry['unrecorded']} has no lineage metadata (none of SourceCommitId, InputDataS3Uri, "
        "InputDataVersionId, InputDataETag, TrainingImage, PipelineExecutionArn): it was not registered by "
        "this pipeline, or before it recorded lineage"
    ]


def _client_of_user_allowed(actions: list[str]) -> Any:
    """A SageMaker client of a new IAM user that may call ``actions`` only (moto enforces it)."""
    import boto3

    iam = boto3.client("iam", region_name=REGION)
    name = "reader-" + "-".join(a.split(":")[1] for a in actions) if actions else "nobody"
    iam.create_user(UserName=name)
    if actions:
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName="lineage", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


@pytest.mark.parametrize(
    ("allowed", "denied"),
    [([], "sagemaker:DescribeModelPackage"), (["sagemaker:DescribeModelPackage"], "sagemaker:DescribeTrainingJob")],
)
def test_a_missing_permission_is_named(
    registry: dict[str, Any], capsys: pytest.CaptureFixture[str], allowed: list[str], denied: str
) -> None:
    from moto.core.authorization import enable_iam_authentication

    client = _client_of_user_allowed(allowed)
    with enable_iam_authentication():
        status, out, err = run(capsys, registry["arn"], client=client)
    assert (status, out) == (1, "")
    resource = registry["arn"] if denied.endswith("ModelPackage") else TRAINING_JOB
    assert err.startswith(f"error: not allowed to call {denied} on {resource}: ")


def test_the_command_runs_as_a_module_from_the_repository_root(seed_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.lineage", "arn:aws:sagemaker:eu-west-1:111122223333:model-package/x"],
        cwd=SEED_ROOT,
        env=seed_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid model package version ARN")
    assert done.stdout == ""
