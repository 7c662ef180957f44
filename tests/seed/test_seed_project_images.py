"""The model build runs the project's own processing, training and inference images
(image-build-deploy): run_pipeline picks the newest created version of each image
SAGEMAKER_IMAGE_NAMES lists (botocore's Stubber: moto has no image versions), and the pipeline
definition runs the jobs and the models (registered, and the one the batch transform and
Clarify serve) with the ProcessingImageUri, TrainingImageUri and InferenceImageUri parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from seed_support import PREFIX, PROJECT_ENVIRONMENT, BuiltPipeline, offline_environment

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

ACCOUNT = "111122223333"
IMAGE = f"sagemaker-{PREFIX}-training"
REPOSITORY = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{IMAGE}"
DIGEST = "sha256:" + "a" * 64


def _summary(version: int, status: str) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:image-version/{IMAGE}/{version}"
    return {
        "ImageArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:image/{IMAGE}",
        "ImageVersionArn": arn,
        "ImageVersionStatus": status,
        "Version": version,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
    }


def _client() -> Any:
    return boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


LIST = {"ImageName": IMAGE, "SortBy": "VERSION", "SortOrder": "DESCENDING"}


def test_the_newest_created_version_is_picked_and_failed_or_creating_ones_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines import run_pipeline

    client = _client()
    with Stubber(client) as stub:
        versions = [_summary(5, "CREATING"), _summary(4, "CREATE_FAILED"), _summary(3, "CREATED"), _summary(2, "CREATED")]
        stub.add_response("list_image_versions", {"ImageVersions": versions}, LIST)
        stub.add_response(
            "describe_image_version",
            {"BaseImage": f"{REPOSITORY}@{DIGEST}", "ContainerImage": f"{REPOSITORY}@{DIGEST}", "Version": 3},
            {"ImageName": IMAGE, "Version": 3},
        )
        parameters = run_pipeline.image_parameters(client, {"training": IMAGE})
        stub.assert_no_pending_responses()
    assert parameters == {"TrainingImageUri": f"{REPOSITORY}@{DIGEST}"}
    assert f"the training job runs version 3 of SageMaker image {IMAGE}" in capsys.readouterr().out


def test_the_next_page_is_read_when_the_first_has_no_created_version() -> None:
    from pipelines import run_pipeline

    client = _client()
    with Stubber(client) as stub:
        stub.add_response("list_image_versions", {"ImageVersions": [_summary(9, "CREATE_FAILED")], "NextToken": "t"}, LIST)
        stub.add_response("list_image_versions", {"ImageVersions": [_summary(8, "CREATED")]}, {**LIST, "NextToken": "t"})
        stub.add_response("describe_image_version", {"BaseImage": f"{REPOSITORY}@{DIGEST}"}, {"ImageName": IMAGE, "Version": 8})
        assert run_pipeline.newest_created_image(client, IMAGE) == (8, f"{REPOSITORY}@{DIGEST}")
        stub.assert_no_pending_responses()


def test_an_image_without_a_created_version_falls_back_to_awss(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines import run_pipeline

    client = _client()
    with Stubber(client) as stub:
        stub.add_response("list_image_versions", {"ImageVersions": [_summary(1, "CREATE_FAILED")]}, LIST)
        processing = {**LIST, "ImageName": "sagemaker-x-processing"}
        stub.add_response("list_image_versions", {"ImageVersions": []}, processing)
        assert run_pipeline.image_parameters(client, {"training": IMAGE, "processing": "sagemaker-x-processing"}) == {}
        stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert f"SageMaker image {IMAGE} has no created version yet: the training job runs AWS's image" in out
    assert "SageMaker image sagemaker-x-processing has no created version yet: the processing jobs run AWS's image" in out


def test_an_image_the_build_may_not_read_names_the_missing_permission() -> None:
    from pipelines import run_pipeline

    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("list_image_versions", "AccessDeniedException", "denied", expected_params=LIST)
        with pytest.raises(run_pipeline.RegistryError, match="sagemaker:ListImageVersions"):
            run_pipeline.image_parameters(client, {"training": IMAGE})


@pytest.mark.parametrize(
    "value", ["training", "training=", "serving=x", "training=a,training=b", "=x"]
)
def test_a_bad_image_list_is_a_configuration_error(value: str) -> None:
    from pipelines import run_pipeline
    from pipelines.config import ConfigError

    with pytest.raises(ConfigError, match="SAGEMAKER_IMAGE_NAMES"):
        run_pipeline.parse_image_names(value)


def test_the_image_list_parses_and_an_empty_one_means_awss_images() -> None:
    from pipelines import run_pipeline

    assert run_pipeline.parse_image_names("") == {}
    assert run_pipeline.parse_image_names("processing=p, training=t") == {"processing": "p", "training": "t"}
    assert run_pipeline.parse_image_names("inference=i") == {"inference": "i"}


class _Pipeline:
    steps: list[Any] = []

    def __init__(self, started: list[dict[str, str]]) -> None:
        self.started = started

    def upsert(self, **_kwargs: Any) -> dict[str, str]:
        return {"PipelineArn": f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/{PREFIX}"}

    def start(self, parameters: dict[str, str]) -> Any:
        self.started.append(parameters)
        return type("Execution", (), {"arn": "arn:x"})()


def _run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environ: dict[str, str], picked: dict[str, Any]) -> tuple[int, list[dict[str, str]]]:
    offline_environment(monkeypatch, tmp_path)  # before the SDK is imported: it reads the Region
    import pipelines.abalone.pipeline as pipeline_module
    from pipelines import run_pipeline

    started: list[dict[str, str]] = []
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda **kwargs: _Pipeline(started))
    monkeypatch.setattr(run_pipeline, "input_data_lineage", lambda client, url: {})
    monkeypatch.setattr(run_pipeline, "drift_check_parameters", lambda client, group: {})
    monkeypatch.setattr(run_pipeline, "upload_code", lambda *args: None)
    asked: list[str] = []

    def newest(client: Any, name: str) -> Any:
        asked.append(name)
        return picked.get(name)

    monkeypatch.setattr(run_pipeline, "newest_created_image", newest)
    status = run_pipeline.main(["--no-wait"], environ=environ)
    picked["asked"] = asked
    return status, started


def test_the_execution_starts_with_the_projects_images(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environ = {**PROJECT_ENVIRONMENT, "SAGEMAKER_IMAGE_NAMES": "processing=p-image,training=t-image,inference=i-image"}
    picked: dict[str, Any] = {"p-image": (2, "p@sha256:1"), "t-image": None, "i-image": (7, "i@sha256:2")}
    status, started = _run(monkeypatch, tmp_path, environ, picked)
    assert status == 0
    assert picked["asked"] == ["p-image", "t-image", "i-image"]
    assert started[0]["ProcessingImageUri"] == "p@sha256:1"
    assert started[0]["InferenceImageUri"] == "i@sha256:2"
    assert "TrainingImageUri" not in started[0]


def test_without_the_image_list_no_image_is_looked_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    picked: dict[str, Any] = {}
    status, started = _run(monkeypatch, tmp_path, dict(PROJECT_ENVIRONMENT), picked)
    assert status == 0
    assert picked["asked"] == []
    assert not {"ProcessingImageUri", "TrainingImageUri", "InferenceImageUri"} & set(started[0])


def test_a_bad_image_list_stops_the_build_before_any_call(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picked: dict[str, Any] = {}
    environ = {**PROJECT_ENVIRONMENT, "SAGEMAKER_IMAGE_NAMES": "serving=i"}
    status, started = _run(monkeypatch, tmp_path, environ, picked)
    assert (status, started, picked["asked"]) == (2, [], [])
    assert "SAGEMAKER_IMAGE_NAMES" in capsys.readouterr().err


def test_the_jobs_and_the_models_run_the_image_parameters(built_pipeline: BuiltPipeline) -> None:
    definition = built_pipeline.definition
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    aws_image = defaults["ProcessingImageUri"]
    assert defaults["TrainingImageUri"] == defaults["InferenceImageUri"] == aws_image
    assert "sagemaker-xgboost" in aws_image
    steps = {}

    def collect(items: list[dict[str, Any]]) -> None:
        for step in items:
            steps[step["Name"]] = step
            arguments = step.get("Arguments", {})
            collect(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))

    collect(definition["Steps"])
    processing = {"Get": "Parameters.ProcessingImageUri"}
    training = {"Get": "Parameters.TrainingImageUri"}
    inference = {"Get": "Parameters.InferenceImageUri"}
    assert steps["PreprocessAbaloneData"]["Arguments"]["AppSpecification"]["ImageUri"] == processing
    assert steps["EvaluateAbaloneModel"]["Arguments"]["AppSpecification"]["ImageUri"] == processing
    assert steps["TrainAbaloneModel"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == training
    registers = [s for s in steps.values() if s["Type"] == "RegisterModel"]
    assert registers, sorted(steps)
    for register in registers:
        request = register["Arguments"]
        assert [c["Image"] for c in request["InferenceSpecification"]["Containers"]] == [inference]
        assert request["CustomerMetadataProperties"]["TrainingImage"] == training
    # The model the batch transform and the Clarify checks serve (they name it, not an image).
    (model,) = [s for s in steps.values() if s["Type"] == "Model"]
    assert model["Arguments"]["PrimaryContainer"]["Image"] == inference
    model_name = {"Get": f"Steps.{model['Name']}.ModelName"}
    transforms = [s for s in steps.values() if s["Type"] == "Transform"]
    assert [t["Arguments"]["ModelName"] for t in transforms] == [model_name]
