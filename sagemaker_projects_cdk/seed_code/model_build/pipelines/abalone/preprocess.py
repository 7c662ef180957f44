"""Prepare the abalone data set for training: validate, encode, scale and split.

This file is a self-contained script. The pipeline uploads it on its own and runs it in
the SageMaker XGBoost container as a processing job, and the local run imports it, so it
uses only the standard library and numpy (no SageMaker SDK, no imports from this repo).

Input: one headerless CSV of nine columns (see ``COLUMNS``), for example
``data/abalone.csv``. Output, under the base folder:

    train/train.csv  validation/validation.csv  test/test.csv

Each output is a headerless CSV with the label (``rings``) first, then the seven
measurements standardised with the training split's mean and standard deviation, then
the sex one-hot encoded as ``F, I, M``: the layout the built-in XGBoost algorithm reads.

Usage::

    python preprocess.py                                    # in the container
    python preprocess.py --base-dir out --input data/abalone.csv   # locally

A bad input (missing file, wrong number of columns, a value that is not a number) stops
the script with one line naming the file, row and column, and nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

COLUMNS: Tuple[str, ...] = (
    "sex",
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
    "rings",
)
MEASUREMENTS: Tuple[str, ...] = COLUMNS[1:-1]
LABEL = COLUMNS[-1]
SEX_CATEGORIES: Tuple[str, ...] = ("F", "I", "M")
FEATURES: Tuple[str, ...] = MEASUREMENTS + tuple(f"sex_{s}" for s in SEX_CATEGORIES)

DEFAULT_BASE_DIR = Path("/opt/ml/processing")
DEFAULT_SEED = 42
SPLIT_FRACTIONS: Tuple[Tuple[str, float], ...] = (
    ("train", 0.70),
    ("validation", 0.15),
    ("test", 0.15),
)
# SageMaker shows the first kilobyte of this file as the processing job's exit message.
CONTAINER_MESSAGE_FILE = Path("/opt/ml/output/message")


class InputDataError(ValueError):
    """The input data cannot be used; the message names the file, row and column."""


@dataclass(frozen=True)
class AbaloneData:
    """Validated rows of the abalone data set."""

    sex: np.ndarray  # (n,) of "F" / "I" / "M"
    measurements: np.ndarray  # (n, 7) float64, in MEASUREMENTS order
    rings: np.ndarray  # (n,) float64

    def __len__(self) -> int:
        return int(self.rings.shape[0])


def _parse_number(cell: str, where: str) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        raise InputDataError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputDataError(f"{where}: {text!r} is not a finite number")
    return value


def load_abalone(path: Path) -> AbaloneData:
    """Read and validate the headerless abalone CSV at ``path``.

    Blank lines are skipped; row numbers in messages are the file's line numbers.

    Raises:
        InputDataError: the file is missing, empty, or has a malformed row.
    """
    name = path.name
    if not path.is_file():
        raise InputDataError(f"{name}: no such file: {path}")
    sexes: List[str] = []
    numbers: List[List[float]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.reader(handle), start=1):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(COLUMNS):
                raise InputDataError(
                    f"{name}: row {row_number}: expected {len(COLUMNS)} columns "
                    f"({', '.join(COLUMNS)}), found {len(row)}"
                )
            sex = row[0].strip()
            if sex not in SEX_CATEGORIES:
                raise InputDataError(
                    f"{name}: row {row_number}, column 'sex': {sex!r} is not one of "
                    f"{', '.join(SEX_CATEGORIES)}"
                )
            sexes.append(sex)
            numbers.append(
                [
                    _parse_number(cell, f"{name}: row {row_number}, column {column!r}")
                    for column, cell in zip(COLUMNS[1:], row[1:])
                ]
            )
    if not numbers:
        raise InputDataError(f"{name}: no data rows")
    values = np.asarray(numbers, dtype=np.float64)
    return AbaloneData(sex=np.asarray(sexes), measurements=values[:, :-1], rings=values[:, -1])


def split_indices(n_rows: int, seed: int = DEFAULT_SEED) -> Dict[str, np.ndarray]:
    """Shuffle ``range(n_rows)`` with ``seed`` and cut it by ``SPLIT_FRACTIONS``.

    Raises:
        InputDataError: a split would be empty.
    """
    order = np.random.default_rng(seed).permutation(n_rows)
    n_train = int(round(n_rows * SPLIT_FRACTIONS[0][1]))
    n_validation = int(round(n_rows * SPLIT_FRACTIONS[1][1]))
    cuts = {
        "train": order[:n_train],
        "validation": order[n_train : n_train + n_validation],
        "test": order[n_train + n_validation :],
    }
    if any(len(part) == 0 for part in cuts.values()):
        raise InputDataError(
            f"{n_rows} data rows are too few to split into train, validation and test"
        )
    return cuts


def build_datasets(data: AbaloneData, seed: int = DEFAULT_SEED) -> Dict[str, np.ndarray]:
    """Return the train/validation/test matrices: label first, then ``FEATURES``.

    Measurements are standardised with the training split's statistics only, so nothing
    about the validation or test rows leaks into training.
    """
    parts = split_indices(len(data), seed)
    train_rows = data.measurements[parts["train"]]
    mean = train_rows.mean(axis=0)
    std = train_rows.std(axis=0)
    std[std == 0] = 1.0
    scaled = (data.measurements - mean) / std
    one_hot = (data.sex[:, None] == np.asarray(SEX_CATEGORIES)[None, :]).astype(np.float64)
    table = np.column_stack([data.rings, scaled, one_hot])
    return {name: table[rows] for name, rows in parts.items()}


def write_datasets(datasets: Dict[str, np.ndarray], base_dir: Path) -> Dict[str, Path]:
    """Write ``<base_dir>/<name>/<name>.csv`` for each data set, all or nothing.

    Files are written into a staging folder first and moved into place only once every
    file is complete, so a failure never leaves a half-written output behind.
    """
    base_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".preprocess-", dir=base_dir))
    try:
        for name, table in datasets.items():
            np.savetxt(staging / f"{name}.csv", table, fmt="%.10g", delimiter=",")
        written = {}
        for name in datasets:
            target = base_dir / name / f"{name}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / f"{name}.csv", target)
            written[name] = target
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def find_input_csv(input_dir: Path) -> Path:
    """Return the single ``*.csv`` file in ``input_dir`` (where the pipeline puts it)."""
    candidates = sorted(input_dir.glob("*.csv")) if input_dir.is_dir() else []
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise InputDataError(f"{input_dir}: expected exactly one .csv file, found {found}")
    return candidates[0]


def run(
    base_dir: Path, input_path: Optional[Path] = None, seed: int = DEFAULT_SEED
) -> Dict[str, Path]:
    """Preprocess ``input_path`` (default: the CSV in ``<base_dir>/input``) into ``base_dir``."""
    source = input_path if input_path is not None else find_input_csv(base_dir / "input")
    data = load_abalone(source)
    datasets = build_datasets(data, seed)
    written = write_datasets(datasets, base_dir)
    sizes = ", ".join(f"{name} {len(table)}" for name, table in datasets.items())
    print(f"preprocess: {len(data)} rows from {source.name} -> {sizes}")
    return written


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
        help="folder holding input/ and receiving train/, validation/, test/ "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--input",
        type=Path,
        default=None,
        help="input CSV (default: the single .csv in <base-dir>/input)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the train/validation/test shuffle (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        run(args.base_dir, args.input, args.seed)
    except InputDataError as error:
        report_failure(str(error))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
