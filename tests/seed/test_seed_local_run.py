"""The documented local run, as a data scientist types it, from the seed folder.

The documented command runs once, in a new process (``documented_run``); the other tests
reuse its outputs and run the local run again in this process where they need a second run.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from seed_support import (
    DEPLOY_SEED_ROOT,
    SEED_ROOT,
    load_deploy_script,
    seed_files,
    seed_subprocess_env,
)

pytestmark = pytest.mark.seed

DATA = SEED_ROOT / "data" / "abalone.csv"
LOCAL_RUN = [sys.executable, "-m", "pipelines.local_run", "--data", "data/abalone.csv"]
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class DocumentedRun:
    """The documented command's process, how long it took, and where its outputs are."""

    process: subprocess.CompletedProcess[str]
    seconds: float
    output: Path
    seed_files_before: dict[str, int]
    seed_files_after: dict[str, int]

    def evaluation(self) -> dict[str, Any]:
        return json.loads((self.output / "evaluation" / "evaluation.json").read_text())


@pytest.fixture(scope="module")
def documented_run(tmp_path_factory: pytest.TempPathFactory) -> DocumentedRun:
    """``python -m pipelines.local_run`` in the seed folder, run once for this module."""
    output = tmp_path_factory.mktemp("local-run")
    before = seed_files()
    started = time.perf_counter()
    process = subprocess.run(
        [*LOCAL_RUN, "--output", str(output)],
        cwd=SEED_ROOT,
        env=seed_subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    return DocumentedRun(process, seconds, output, before, seed_files())


def test_the_local_run_prints_metrics_and_decision_within_budget(
    documented_run: DocumentedRun,
) -> None:
    result, output = documented_run.process, documented_run.output
    assert result.returncode == 0, result.stderr
    assert documented_run.seconds < 15, f"local run took {documented_run.seconds:.1f} s"

    report = documented_run.evaluation()
    metrics = report["regression_metrics"]
    assert metrics["rmse"]["value"] <= 2.2
    assert metrics["mse"]["value"] == pytest.approx(metrics["rmse"]["value"] ** 2)
    assert report["test_rows"] == 627
    assert f"test MSE  {metrics['mse']['value']:.4f}" in result.stdout
    assert f"test RMSE {metrics['rmse']['value']:.4f}" in result.stdout
    assert "<= threshold 6 -> RegisterAbaloneModel" in result.stdout
    assert sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file()) == [
        "evaluation/evaluation.json",
        "model/model.tar.gz",
        "test/test.csv",
        "train/train.csv",
        "validation/validation.csv",
    ]
    assert documented_run.seed_files_after == documented_run.seed_files_before


def test_the_local_run_is_deterministic(documented_run: DocumentedRun, tmp_path: Path) -> None:
    """A second run, in this process, repeats the documented run's splits and metrics."""
    from pipelines import local_run

    assert documented_run.process.returncode == 0, documented_run.process.stderr
    second = local_run.run(DATA, tmp_path)
    assert second.mse == documented_run.evaluation()["regression_metrics"]["mse"]["value"]
    for name in ("evaluation/evaluation.json", *(f"{split}/{split}.csv" for split in SPLITS)):
        assert (tmp_path / name).read_bytes() == (documented_run.output / name).read_bytes(), name


def test_a_model_over_the_threshold_takes_the_fail_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines import local_run

    status = local_run.main(
        ["--data", str(DATA), "--output", str(tmp_path), "--mse-threshold", "1.5"]
    )
    assert status == 1
    assert "> threshold 1.5 -> MseAboveThreshold" in capsys.readouterr().out
    assert (tmp_path / "evaluation" / "evaluation.json").is_file()


def test_the_test_split_is_what_the_staging_tests_send(documented_run: DocumentedRun) -> None:
    """test/test.csv (registered as TestDataS3Uri) reads as the deploy seed's staging tests expect.

    Those tests send the first rows of that file to the staging endpoint, without the
    ``label_column`` of the staging config: the rows must be headerless, label first, and
    what is left must be the model's features.
    """
    from botocore.response import StreamingBody

    from pipelines.abalone import evaluate, preprocess

    assert documented_run.process.returncode == 0, documented_run.process.stderr
    raw = (documented_run.output / "test" / "test.csv").read_bytes()
    lines = raw.decode("utf-8").splitlines()
    table = [[float(cell) for cell in line.split(",")] for line in lines]  # no header line
    assert len(table) == 627
    assert {len(row) for row in table} == {1 + len(preprocess.FEATURES)}
    assert all(row[0] == int(row[0]) and 1 <= row[0] <= 29 for row in table)  # rings first
    assert all(sorted(row[-3:]) == [0.0, 0.0, 1.0] for row in table)  # sex one-hot last

    staging = json.loads((DEPLOY_SEED_ROOT / "staging-config.json").read_text())["smoke_test"]
    label_column = staging["label_column"]
    assert label_column == 0

    class S3:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            assert (Bucket, Key) == ("bucket", "run/preprocess/test/test.csv")
            return {"Body": StreamingBody(io.BytesIO(raw), len(raw))}

    test_endpoint = load_deploy_script("test/test_endpoint.py")
    rows = test_endpoint.read_rows(
        S3(), "s3://bucket/run/preprocess/test/test.csv", staging["rows"], label_column
    )
    assert rows == [line.split(",", 1)[1] for line in lines[: staging["rows"]]]
    booster = evaluate.load_model(documented_run.output / "model")
    assert {len(row.split(",")) for row in rows} == {booster.num_features()}
