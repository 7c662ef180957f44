"""run_pipeline's failure reporting and configuration errors, without AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_support import PREFIX, PROJECT_ENVIRONMENT, PROJECT_ID, NetworkGuard, all_steps, offline_environment

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

EXECUTION_ARN = f"arn:aws:sagemaker:eu-west-1:111122223333:pipeline/{PREFIX}/execution/x1"


class FakePaginator:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        assert kwargs == {"PipelineExecutionArn": EXECUTION_ARN}
        return iter(self.pages)


class FakeSageMaker:
    """Answers describe_pipeline_execution with a scripted list of statuses."""

    def __init__(self, statuses: list[str], reason: str = "") -> None:
        self.statuses = statuses
        self.reason = reason
        self.describe_calls = 0

    def describe_pipeline_execution(self, PipelineExecutionArn: str) -> dict[str, Any]:
        assert PipelineExecutionArn == EXECUTION_ARN
        status = self.statuses[min(self.describe_calls, len(self.statuses) - 1)]
        self.describe_calls += 1
        return {
            "PipelineExecutionArn": EXECUTION_ARN,
            "PipelineExecutionStatus": status,
            "FailureReason": self.reason,
        }

    def get_paginator(self, name: str) -> FakePaginator:
        assert name == "list_pipeline_execution_steps"
        return FakePaginator(
            [
                {
                    "PipelineExecutionSteps": [
                        {
                            "StepName": "MseAboveThreshold",
                            "StepStatus": "Failed",
                            "FailureReason": "The test MSE is above the threshold 6.0",
                            "Metadata": {"Fail": {"ErrorMessage": "The test MSE..."}},
                        },
                        {"StepName": "CheckMseAbaloneEvaluation", "StepStatus": "Succeeded"},
                    ]
                },
                {
                    "PipelineExecutionSteps": [
                        {
                            "StepName": "TrainAbaloneModel",
                            "StepStatus": "Failed",
                            "FailureReason": "ClientError: bad instance type",
                            "Metadata": {"TrainingJob": {"Arn": "arn:training-job/x"}},
                        }
                    ]
                },
            ]
        )


def test_waiting_polls_until_the_execution_ends() -> None:
    from pipelines.run_pipeline import wait_for_execution

    client = FakeSageMaker(["Executing", "Executing", "Failed"])
    slept: list[float] = []
    description = wait_for_execution(client, EXECUTION_ARN, poll_seconds=7, sleep=slept.append)
    assert description["PipelineExecutionStatus"] == "Failed"
    assert slept == [7, 7]


def test_waiting_gives_up_after_the_timeout() -> None:
    from pipelines.run_pipeline import wait_for_execution

    client = FakeSageMaker(["Executing"])
    ticks = iter([0.0, 5.0, 11.0])
    description = wait_for_execution(
        client,
        EXECUTION_ARN,
        poll_seconds=1,
        timeout_seconds=10,
        sleep=lambda _: None,
        clock=lambda: next(ticks),
    )
    assert description["PipelineExecutionStatus"] == "Executing"
    assert client.describe_calls == 2


def test_failure_lines_name_the_reason_and_every_failed_step() -> None:
    from pipelines.run_pipeline import failure_lines

    client = FakeSageMaker(["Failed"], reason="Step failure: One or multiple steps failed.")
    lines = failure_lines(client, client.describe_pipeline_execution(EXECUTION_ARN))
    assert lines == [
        "pipeline execution Failed: Step failure: One or multiple steps failed.",
        f"  execution: {EXECUTION_ARN}",
        "  step MseAboveThreshold Failed: The test MSE is above the threshold 6.0",
        "  step TrainAbaloneModel Failed: ClientError: bad instance type (arn:training-job/x)",
    ]


def test_a_failed_execution_fails_the_build_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from pipelines import run_pipeline

    offline_environment(monkeypatch, tmp_path)
    client = FakeSageMaker(["Failed"], reason="Step failure: One or multiple steps failed.")

    class FakePipeline:
        sagemaker_session = type("Session", (), {"sagemaker_client": client})()
        steps: list[Any] = []  # no check step: nothing staged

        def upsert(self, **kwargs: Any) -> dict[str, str]:
            assert kwargs["tags"][0] == {"Key": "sagemaker:project-name", "Value": "abalone"}
            return {"PipelineArn": f"arn:aws:sagemaker:eu-west-1:111122223333:pipeline/{PREFIX}"}

        def start(self, parameters: dict[str, str]) -> Any:
            started.append(parameters)
            return type("Execution", (), {"arn": EXECUTION_ARN})()

    import pipelines.abalone.pipeline as pipeline_module

    uploads: list[str] = []
    started: list[dict[str, str]] = []
    monkeypatch.setattr(pipeline_module, "get_pipeline", lambda **kwargs: FakePipeline())
    data = {"InputDataVersionId": "v1", "InputDataETag": "e1"}
    monkeypatch.setattr(run_pipeline, "input_data_lineage", lambda client, url: data)
    checks = {"SkipDataQualityCheck": "True", "RegisterNewDataQualityBaseline": "True"}
    monkeypatch.setattr(run_pipeline, "drift_check_parameters", lambda client, group: dict(checks))
    monkeypatch.setattr(
        run_pipeline, "upload_code", lambda client, artifacts, key: uploads.extend(artifacts)
    )
    status = run_pipeline.main(["--poll-seconds", "0"], environ=PROJECT_ENVIRONMENT)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert uploads == ["preprocess", "evaluate"]
    # Outside CodeBuild no commit is known: the execution says so.
    assert started == [{"SourceCommitId": "not-recorded", **data, **checks}]
    assert err[0] == "error: pipeline execution Failed: Step failure: One or multiple steps failed."
    assert "  step MseAboveThreshold Failed: The test MSE is above the threshold 6.0" in err


def test_missing_configuration_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines import run_pipeline

    environ = {k: v for k, v in PROJECT_ENVIRONMENT.items() if k != "SAGEMAKER_PIPELINE_ROLE_ARN"}
    assert run_pipeline.main([], environ=environ) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: missing environment variable(s): SAGEMAKER_PIPELINE_ROLE_ARN"
    ]


def test_dry_run_prints_the_definition_and_calls_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from pipelines import run_pipeline

    offline_environment(monkeypatch, tmp_path)
    guard = NetworkGuard()
    guard.install(monkeypatch)
    # A pipeline named apart from the project: jobs still carry the project id.
    environ = {**PROJECT_ENVIRONMENT, "SAGEMAKER_PIPELINE_NAME": "custom-pipeline"}
    assert run_pipeline.main(["--dry-run"], environ=environ) == 0
    definition = json.loads(capsys.readouterr().out)
    assert guard.attempts == []
    assert {p["Name"] for p in definition["Parameters"]} >= {"InputDataUrl", "MseThreshold"}
    preprocess = definition["Steps"][0]["Arguments"]
    assert preprocess["ProcessingJobName"] == f"{PROJECT_ID}-preprocess"
    output = preprocess["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert output["Std:Join"]["Values"][1:3] == [
        PROJECT_ENVIRONMENT["ARTIFACT_BUCKET"],
        "custom-pipeline",
    ]


#: The longest projects: a 32-character name with a Studio id ("p-" and 12), and the longest
#: id (20) with the longest name that leaves '<name>-<id>' within 47 characters.
LONGEST_PROJECTS = [("n" * 32, "p-" + "a" * 12), ("n" * 26, "p-" + "b" * 18)]
#: Job step -> (step name, job-name field): the jobs the pipeline starts.
JOBS = {
    "preprocess": ("PreprocessAbaloneData", "ProcessingJobName"),
    "train": ("TrainAbaloneModel", "TrainingJobName"),
    "evaluate": ("EvaluateAbaloneModel", "ProcessingJobName"),
}


@pytest.mark.parametrize(("name", "project_id"), LONGEST_PROJECTS)
def test_job_names_keep_the_whole_project_id_for_the_longest_projects(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, project_id: str
) -> None:
    """The execution role may run jobs named '<id>-*' only: the SDK cuts base job names to 39
    characters (63 less its 23-character timestamp and a hyphen), so a '<name>-<id>-<job>'
    base would lose the id's end, and SageMaker Pipelines adds a suffix of its own."""
    from pipelines import run_pipeline

    offline_environment(monkeypatch, tmp_path)
    NetworkGuard().install(monkeypatch)
    environ = {
        **PROJECT_ENVIRONMENT,
        "SAGEMAKER_PROJECT_NAME": name,
        "SAGEMAKER_PROJECT_ID": project_id,
        "SAGEMAKER_PROJECT_NAME_ID": f"{name}-{project_id}",
        "SAGEMAKER_PIPELINE_NAME": f"{name}-{project_id}",
        "MODEL_PACKAGE_GROUP_NAME": f"{name}-{project_id}",
    }
    assert run_pipeline.main(["--dry-run"], environ=environ) == 0
    steps = all_steps(json.loads(capsys.readouterr().out))
    for job, (step, field) in JOBS.items():
        job_name = steps[step]["Arguments"][field]
        assert job_name == f"{project_id}-{job}"
        assert len(job_name) <= 39, job_name


class _Stop(Exception):
    """Raised by a fake get_pipeline once it has seen its arguments."""


def _cache_expiry_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environ: dict[str, str], s3_client: Any
) -> Any:
    """The step_cache_expiry run_pipeline.main builds the pipeline with, given this S3."""
    import boto3

    import pipelines.abalone.pipeline as pipeline_module
    from pipelines import run_pipeline

    offline_environment(monkeypatch, tmp_path)
    seen: list[dict[str, Any]] = []

    def fake_get_pipeline(**kwargs: Any) -> Any:
        seen.append(kwargs)
        raise _Stop

    monkeypatch.setattr(pipeline_module, "get_pipeline", fake_get_pipeline)
    monkeypatch.setattr(pipeline_module, "get_session", lambda *args: None)
    monkeypatch.setattr(boto3.Session, "client", lambda self, name, **kw: s3_client)
    with pytest.raises(_Stop):
        run_pipeline.main(["--no-wait"], environ=environ)
    assert len(seen) == 1
    return seen[0]["step_cache_expiry"]


class _NoS3:
    def head_object(self, **kwargs: Any) -> Any:
        raise AssertionError(f"a prefix is not one object: no HeadObject expected ({kwargs})")


class _DeniedS3:
    def head_object(self, **_kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")


class _VersionedS3:
    def head_object(self, **_kwargs: Any) -> dict[str, str]:
        return {"VersionId": "v7", "ETag": '"0123abcd"'}


def test_a_prefix_as_input_turns_step_caching_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """New files under the same prefix give the same cache key: caching would reuse old results."""
    environ = {**PROJECT_ENVIRONMENT, "INPUT_DATA_URL": "s3://bucket/datasets/abalone/"}
    assert _cache_expiry_used(monkeypatch, tmp_path, environ, _NoS3()) is None
    assert "step caching off: input version unknown" in capsys.readouterr().out


def test_input_this_build_may_not_read_turns_step_caching_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _cache_expiry_used(monkeypatch, tmp_path, dict(PROJECT_ENVIRONMENT), _DeniedS3()) is None
    assert "step caching off: input version unknown" in capsys.readouterr().out


def test_a_recorded_input_version_keeps_step_caching(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _cache_expiry_used(monkeypatch, tmp_path, dict(PROJECT_ENVIRONMENT), _VersionedS3()) == "P30D"
    assert "step caching off" not in capsys.readouterr().out
