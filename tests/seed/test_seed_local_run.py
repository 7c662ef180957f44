"""The documented local run, as a data scientist types it, from the seed folder."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import pytest
from seed_support import SEED_ROOT, seed_files

pytestmark = pytest.mark.seed

LOCAL_RUN = [sys.executable, "-m", "pipelines.local_run", "--data", "data/abalone.csv"]


def test_the_local_run_prints_metrics_and_decision_within_budget(
    tmp_path: Path, seed_env: Dict[str, str]
) -> None:
    before = seed_files()
    started = time.perf_counter()
    result = subprocess.run(
        [*LOCAL_RUN, "--output", str(tmp_path)],
        cwd=SEED_ROOT,
        env=seed_env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert seconds < 15, f"local run took {seconds:.1f} s"

    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    metrics = report["regression_metrics"]
    assert metrics["rmse"]["value"] <= 2.2
    assert metrics["mse"]["value"] == pytest.approx(metrics["rmse"]["value"] ** 2)
    assert report["test_rows"] == 627
    assert f"test MSE  {metrics['mse']['value']:.4f}" in result.stdout
    assert f"test RMSE {metrics['rmse']['value']:.4f}" in result.stdout
    assert "<= threshold 6 -> RegisterAbaloneModel" in result.stdout
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "evaluation/evaluation.json",
        "model/model.tar.gz",
        "test/test.csv",
        "train/train.csv",
        "validation/validation.csv",
    ]
    assert seed_files() == before


def test_the_local_run_is_deterministic(tmp_path: Path) -> None:
    from pipelines import local_run

    first = local_run.run(SEED_ROOT / "data" / "abalone.csv", tmp_path / "a")
    second = local_run.run(SEED_ROOT / "data" / "abalone.csv", tmp_path / "b")
    assert first.mse == second.mse
    for split in ("train", "validation", "test"):
        assert (tmp_path / "a" / split / f"{split}.csv").read_bytes() == (
            tmp_path / "b" / split / f"{split}.csv"
        ).read_bytes()


def test_a_model_over_the_threshold_takes_the_fail_branch(
    tmp_path: Path, seed_env: Dict[str, str]
) -> None:
    result = subprocess.run(
        [*LOCAL_RUN, "--output", str(tmp_path), "--mse-threshold", "1.5"],
        cwd=SEED_ROOT,
        env=seed_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "> threshold 1.5 -> MseAboveThreshold" in result.stdout
    assert (tmp_path / "evaluation" / "evaluation.json").is_file()
