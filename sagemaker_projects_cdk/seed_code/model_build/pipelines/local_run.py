"""Run the abalone pipeline's logic on this machine, without AWS and without Docker.

preprocess -> train (xgboost, the pipeline's hyperparameters) -> evaluate -> condition,
on the same scripts the pipeline runs, then print the metrics and the decision::

    python -m pipelines.local_run --data data/abalone.csv --output local-run

The drift checks (data quality, data bias, model quality, model bias, explainability) run
SageMaker's Model Monitor and Clarify containers: the local run skips them and says so.

The output folder receives train/, validation/, test/, model/model.tar.gz and
evaluation/evaluation.json, laid out as in the SageMaker jobs. Exit status: 0 when the
model would be registered, 1 when the condition fails (as the pipeline's Fail step),
2 on bad input.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from pipelines.abalone import evaluate, preprocess, settings

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "abalone.csv"
# Threads xgboost trains with. The data set is small: one thread trains it fastest, and a
# busy machine cannot slow it down many times over (with several threads, each of the 50
# rounds waits for the slowest one). On this data the model comes out byte for byte the
# same with 1 to 8 threads.
TRAINING_THREADS = 1


@dataclass(frozen=True)
class LocalRunResult:
    """What the local run measured and decided."""

    mse: float
    rmse: float
    threshold: float
    seconds: float

    @property
    def passed(self) -> bool:
        """True when the pipeline's condition holds and the model would be registered."""
        return self.mse <= self.threshold


def booster_arguments(
    hyperparameters: Mapping[str, Any] = settings.HYPERPARAMETERS,
) -> Tuple[Dict[str, Any], int]:
    """Split the built-in algorithm's hyperparameters into (xgboost params, num_boost_round)."""
    params = {key: value for key, value in hyperparameters.items() if key != "num_round"}
    return params, int(hyperparameters["num_round"])


def _read_split(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(path, delimiter=",", ndmin=2)
    return table[:, 1:], table[:, 0]


def train(base_dir: Path) -> Path:
    """Train on ``train/`` (watching ``validation/``) and write ``model/model.tar.gz``.

    The archive holds ``xgboost-model``, as the SageMaker training job's artefact does.
    """
    import xgboost

    features, labels = _read_split(base_dir / "train" / "train.csv")
    validation = _read_split(base_dir / "validation" / "validation.csv")
    params, rounds = booster_arguments()
    booster = xgboost.train(
        {**params, "nthread": TRAINING_THREADS},
        xgboost.DMatrix(features, label=labels),
        num_boost_round=rounds,
        evals=[(xgboost.DMatrix(validation[0], label=validation[1]), "validation")],
        verbose_eval=False,
    )
    model_bytes = bytes(booster.save_raw(raw_format="ubj"))
    model_dir = base_dir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".train-", dir=base_dir))
    try:
        staged = staging / evaluate.MODEL_ARCHIVE
        with tarfile.open(staged, "w:gz") as tar:
            info = tarfile.TarInfo(evaluate.MODEL_FILE)
            info.size = len(model_bytes)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(model_bytes))
        target = model_dir / evaluate.MODEL_ARCHIVE
        os.replace(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"train: {rounds} rounds on {len(labels)} rows -> {target}")
    return target


#: The pipeline steps the local run does not run: they need SageMaker's containers.
SKIPPED_STEPS = (
    (settings.DATA_QUALITY_STEP, "Model Monitor analyzer container"),
    (settings.DATA_BIAS_STEP, "Clarify container"),
    (settings.CREATE_MODEL_STEP, "a SageMaker model"),
    (settings.TRANSFORM_STEP, "a batch transform job"),
    (settings.MODEL_QUALITY_STEP, "Model Monitor analyzer container"),
    (settings.MODEL_BIAS_STEP, "Clarify container and endpoint"),
    (settings.MODEL_EXPLAINABILITY_STEP, "Clarify container and endpoint"),
)


def _skip(*steps: str) -> None:
    for step, needs in SKIPPED_STEPS:
        if step in steps:
            print(f"[{step}] skipped locally: runs in SageMaker ({needs})")


def run(
    data: Path, output: Path, mse_threshold: float = settings.DEFAULT_MSE_THRESHOLD
) -> LocalRunResult:
    """Run preprocess, train, evaluate and the condition; return the result.

    The check steps, the model and the batch transform are skipped, each with a line saying so.
    """
    started = time.perf_counter()
    print(f"[{settings.PREPROCESS_STEP}]")
    preprocess.run(output, input_path=data)
    _skip(settings.DATA_QUALITY_STEP, settings.DATA_BIAS_STEP)
    print(f"[{settings.TRAIN_STEP}]")
    train(output)
    _skip(*(step for step, _needs in SKIPPED_STEPS[2:]))
    print(f"[{settings.EVALUATE_STEP}]")
    report = evaluate.run(output)
    metrics = report["regression_metrics"]
    return LocalRunResult(
        mse=metrics["mse"]["value"],
        rmse=metrics["rmse"]["value"],
        threshold=mse_threshold,
        seconds=time.perf_counter() - started,
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="headerless abalone CSV (default: data/abalone.csv)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("local-run"),
        help="folder receiving every step's output (default: %(default)s)",
    )
    parser.add_argument(
        "--mse-threshold",
        type=float,
        default=settings.DEFAULT_MSE_THRESHOLD,
        help="register the model when test MSE <= this (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        result = run(args.data, args.output, args.mse_threshold)
    except (preprocess.InputDataError, evaluate.InputDataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    verdict = "<=" if result.passed else ">"
    next_step = settings.REGISTER_STEP if result.passed else settings.FAIL_STEP
    print(f"[{settings.CONDITION_STEP}]")
    print(f"test MSE  {result.mse:.4f}")
    print(f"test RMSE {result.rmse:.4f}")
    print(f"decision: MSE {result.mse:.4f} {verdict} threshold {result.threshold:g} -> {next_step}")
    print(f"done in {result.seconds:.1f} s; outputs in {args.output}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
