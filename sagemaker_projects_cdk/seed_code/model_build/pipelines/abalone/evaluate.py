"""Score the trained XGBoost model on the test split and write ``evaluation.json``.

This file is a self-contained script. The pipeline uploads it on its own and runs it in
the SageMaker XGBoost container as a processing job, and the local run imports it, so it
uses only the standard library, numpy and xgboost (no SageMaker SDK, no imports from
this repo).

Input, under the base folder:

    model/model.tar.gz   the training job's artefact, holding ``xgboost-model``
                         (a bare ``model/xgboost-model`` file is accepted too)
    test/test.csv        headerless CSV, label first, as written by preprocess.py

Output: ``evaluation/evaluation.json`` in the model registry's regression-metrics
layout, which the pipeline reads through a PropertyFile::

    {"regression_metrics": {"mse":  {"value": ..., "standard_deviation": ...},
                            "rmse": {"value": ...},
                            "mae":  {"value": ...}},
     "test_rows": ...}

Usage::

    python evaluate.py                   # in the container
    python evaluate.py --base-dir out    # locally
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

DEFAULT_BASE_DIR = Path("/opt/ml/processing")
MODEL_FILE = "xgboost-model"
MODEL_ARCHIVE = "model.tar.gz"
REPORT_FILE = "evaluation.json"
# SageMaker shows the first kilobyte of this file as the processing job's exit message.
CONTAINER_MESSAGE_FILE = Path("/opt/ml/output/message")


class InputDataError(ValueError):
    """The model or test data cannot be used; the message names the file, row and column."""


def load_test_data(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """Read the headerless test CSV: returns (labels, features).

    Raises:
        InputDataError: the file is missing, empty, ragged or holds a non-number.
    """
    name = path.name
    if not path.is_file():
        raise InputDataError(f"{name}: no such file: {path}")
    rows: List[List[float]] = []
    width: Optional[int] = None
    with path.open(newline="", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.reader(handle), start=1):
            if not any(cell.strip() for cell in row):
                continue
            if width is None:
                width = len(row)
                if width < 2:
                    raise InputDataError(
                        f"{name}: row {row_number}: expected a label and at least one "
                        f"feature, found {width} column"
                    )
            elif len(row) != width:
                raise InputDataError(
                    f"{name}: row {row_number}: expected {width} columns, found {len(row)}"
                )
            values = []
            for column, cell in enumerate(row, start=1):
                text = cell.strip()
                try:
                    value = float(text)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    raise InputDataError(
                        f"{name}: row {row_number}, column {column}: {text!r} is not a number"
                    )
                values.append(value)
            rows.append(values)
    if not rows:
        raise InputDataError(f"{name}: no data rows")
    table = np.asarray(rows, dtype=np.float64)
    return table[:, 0], table[:, 1:]


def read_model_bytes(model_dir: Path) -> bytes:
    """Return the ``xgboost-model`` bytes from ``model_dir``'s ``model.tar.gz`` or bare file."""
    archive = model_dir / MODEL_ARCHIVE
    if archive.is_file():
        try:
            with tarfile.open(archive, "r:gz") as tar:
                member = tar.getmember(MODEL_FILE)
                source = tar.extractfile(member) if member.isfile() else None
                if source is None:
                    raise InputDataError(f"{MODEL_ARCHIVE}: {MODEL_FILE!r} is not a regular file")
                with source:
                    return source.read()
        except KeyError:
            raise InputDataError(f"{MODEL_ARCHIVE}: holds no {MODEL_FILE!r}") from None
        except (tarfile.TarError, OSError) as error:
            raise InputDataError(
                f"{MODEL_ARCHIVE}: not a readable tar.gz archive ({error})"
            ) from None
    bare = model_dir / MODEL_FILE
    if bare.is_file():
        return bare.read_bytes()
    raise InputDataError(f"{model_dir}: no {MODEL_ARCHIVE} or {MODEL_FILE} found")


def load_model(model_dir: Path) -> Any:
    """Load the XGBoost booster from ``model_dir`` (archive or bare model file)."""
    import xgboost  # imported here so the CSV checks above work without xgboost

    booster = xgboost.Booster()
    try:
        booster.load_model(bytearray(read_model_bytes(model_dir)))
    except xgboost.core.XGBoostError as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise InputDataError(f"{MODEL_FILE}: not an XGBoost model ({first_line})") from None
    return booster


def regression_report(labels: np.ndarray, predictions: np.ndarray) -> Dict[str, Any]:
    """Mean squared error (and its spread), root MSE and mean absolute error."""
    errors = predictions - labels
    squared = errors**2
    mse = float(squared.mean())
    return {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": float(squared.std())},
            "rmse": {"value": math.sqrt(mse)},
            "mae": {"value": float(np.abs(errors).mean())},
        },
        "test_rows": int(labels.shape[0]),
    }


def write_report(report: Dict[str, Any], output_dir: Path) -> Path:
    """Write ``evaluation.json`` into ``output_dir`` atomically (staged next to it)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".evaluate-", dir=output_dir.parent))
    try:
        staged = staging / REPORT_FILE
        staged.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        target = output_dir / REPORT_FILE
        os.replace(staged, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run(base_dir: Path) -> Dict[str, Any]:
    """Evaluate ``<base_dir>/model`` on ``<base_dir>/test`` into ``<base_dir>/evaluation``."""
    labels, features = load_test_data(base_dir / "test" / "test.csv")
    booster = load_model(base_dir / "model")
    expected = booster.num_features()
    if features.shape[1] != expected:
        raise InputDataError(
            f"test.csv: has {features.shape[1]} feature columns, the model expects {expected}"
        )
    import xgboost

    predictions = booster.predict(xgboost.DMatrix(features))
    report = regression_report(labels, predictions)
    target = write_report(report, base_dir / "evaluation")
    metrics = report["regression_metrics"]
    print(
        f"evaluate: {report['test_rows']} test rows, mse {metrics['mse']['value']:.4f}, "
        f"rmse {metrics['rmse']['value']:.4f} -> {target}"
    )
    return report


def report_failure(message: str) -> None:
    """Print ``message`` as one line; in a SageMaker container also keep it as the exit message."""
    print(f"error: {message}", file=sys.stderr)
    if CONTAINER_MESSAGE_FILE.parent.is_dir():
        try:
            CONTAINER_MESSAGE_FILE.write_text(message[:1024], encoding="utf-8")
        except OSError:
            pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-dir",
        type=Path,
        default=DEFAULT_BASE_DIR,
        help="folder holding model/ and test/, receiving evaluation/ (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        run(args.base_dir)
    except InputDataError as error:
        report_failure(str(error))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
