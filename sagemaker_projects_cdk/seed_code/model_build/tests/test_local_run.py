"""The local run: preprocess -> train -> evaluate -> condition on the shipped data set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import local_run
from pipelines.abalone import settings


def test_local_run_meets_the_target_and_would_register(
    tmp_path: Path, abalone_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = local_run.main(["--data", str(abalone_csv), "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    rmse = report["regression_metrics"]["rmse"]["value"]
    assert rmse <= 2.2
    assert report["regression_metrics"]["mse"]["value"] <= settings.DEFAULT_MSE_THRESHOLD
    assert f"-> {settings.REGISTER_STEP}" in out
    assert (tmp_path / "model" / "model.tar.gz").is_file()


def test_a_strict_threshold_takes_the_fail_branch(
    tmp_path: Path, abalone_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = local_run.main(
        ["--data", str(abalone_csv), "--output", str(tmp_path), "--mse-threshold", "0.5"]
    )
    assert status == 1
    assert f"> threshold 0.5 -> {settings.FAIL_STEP}" in capsys.readouterr().out


def test_training_uses_the_pipeline_hyperparameters() -> None:
    params, rounds = local_run.booster_arguments()
    assert rounds == settings.HYPERPARAMETERS["num_round"]
    assert params == {k: v for k, v in settings.HYPERPARAMETERS.items() if k != "num_round"}
