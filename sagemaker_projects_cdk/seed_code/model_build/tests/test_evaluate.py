"""Tests of pipelines/abalone/evaluate.py: metrics, report layout, bad model or test data."""

from __future__ import annotations

import io
import json
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest

from pipelines.abalone import evaluate


def make_model_dir(base: Path, n_features: int = 3) -> None:
    """Train a tiny booster on y = 2 * x0 and store it as the training job would."""
    import xgboost

    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, n_features))
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1},
        xgboost.DMatrix(features, label=2 * features[:, 0]),
        num_boost_round=30,
    )
    payload = bytes(booster.save_raw(raw_format="ubj"))
    (base / "model").mkdir(parents=True)
    with tarfile.open(base / "model" / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def write_test_csv(base: Path, rows: list[str]) -> None:
    (base / "test").mkdir(parents=True, exist_ok=True)
    (base / "test" / "test.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_regression_report_matches_hand_computed_values() -> None:
    report = evaluate.regression_report(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0]))
    metrics = report["regression_metrics"]
    assert metrics["mse"]["value"] == pytest.approx(5 / 3)
    assert metrics["rmse"]["value"] == pytest.approx(math.sqrt(5 / 3))
    assert metrics["mae"]["value"] == pytest.approx(1.0)
    assert metrics["mse"]["standard_deviation"] == pytest.approx(np.std([1.0, 0.0, 4.0]))
    assert report["test_rows"] == 3


def test_run_writes_the_report_the_pipeline_reads(tmp_path: Path) -> None:
    make_model_dir(tmp_path)
    write_test_csv(tmp_path, ["2.0,1.0,0.5,0.1", "-2.0,-1.0,0.2,0.3", "0.0,0.0,0.0,0.0"])
    report = evaluate.run(tmp_path)
    written = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert written == report
    assert written["regression_metrics"]["mse"]["value"] < 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluation", "model", "test"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["1.0,2.0,3.0,4.0", "1.0,2.0"], "test.csv: row 2: expected 4 columns, found 2"),
        (["1.0,2.0,3.0,4.0", "1.0,x,3.0,4.0"], "test.csv: row 2, column 2: 'x' is not a number"),
        (["1.0,2.0"], "test.csv: has 1 feature columns, the model expects 3"),
    ],
)
def test_bad_test_data_is_one_line_and_writes_no_report(
    tmp_path: Path, rows: list[str], message: str
) -> None:
    make_model_dir(tmp_path)
    write_test_csv(tmp_path, rows)
    with pytest.raises(evaluate.InputDataError, match=message) as caught:
        evaluate.run(tmp_path)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "evaluation").exists()


def test_a_missing_model_is_reported(tmp_path: Path) -> None:
    write_test_csv(tmp_path, ["1.0,2.0,3.0,4.0"])
    assert evaluate.main(["--base-dir", str(tmp_path)]) == 2
    assert not (tmp_path / "evaluation").exists()
