"""Tests of pipelines/abalone/preprocess.py: validation, encoding, scaling, splitting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.abalone import preprocess

GOOD_ROW = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15"


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_splits_cover_every_row_once_with_a_fixed_seed(abalone_csv: Path) -> None:
    data = preprocess.load_abalone(abalone_csv)
    first = preprocess.split_indices(len(data))
    again = preprocess.split_indices(len(data))
    joined = np.concatenate([first["train"], first["validation"], first["test"]])
    assert sorted(joined.tolist()) == list(range(len(data)))
    assert {name: len(rows) for name, rows in first.items()} == {
        "train": 2923,
        "validation": 626,
        "test": 627,
    }
    for name in first:
        assert np.array_equal(first[name], again[name])


def test_outputs_are_label_first_scaled_and_one_hot(tmp_path: Path, abalone_csv: Path) -> None:
    written = preprocess.run(tmp_path, input_path=abalone_csv)
    assert set(written) == {"train", "validation", "test"}
    train = np.loadtxt(written["train"], delimiter=",")
    assert train.shape[1] == 1 + len(preprocess.FEATURES)
    measurements = train[:, 1:8]
    assert np.allclose(measurements.mean(axis=0), 0.0, atol=1e-6)
    assert np.allclose(measurements.std(axis=0), 1.0, atol=1e-6)
    one_hot = train[:, 8:]
    assert set(np.unique(one_hot).tolist()) == {0.0, 1.0}
    assert np.all(one_hot.sum(axis=1) == 1.0)
    assert train[:, 0].min() >= 1 and train[:, 0].max() <= 29  # rings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test", "train", "validation"]


def test_the_container_layout_is_found_without_arguments(tmp_path: Path, abalone_csv: Path) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "any-name.csv").write_bytes(abalone_csv.read_bytes())
    assert preprocess.main(["--base-dir", str(tmp_path)]) == 0
    assert (tmp_path / "test" / "test.csv").is_file()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([GOOD_ROW, "M,0.4,0.3"], "bad.csv: row 2: expected 9 columns"),
        (
            [GOOD_ROW, GOOD_ROW.replace("0.365", "abc")],
            "bad.csv: row 2, column 'diameter': 'abc' is not a number",
        ),
        (
            [GOOD_ROW, GOOD_ROW.replace("M,", "X,", 1)],
            "bad.csv: row 2, column 'sex': 'X' is not one of F, I, M",
        ),
        (
            [GOOD_ROW, GOOD_ROW.replace(",15", ",nan")],
            "bad.csv: row 2, column 'rings': 'nan' is not a finite number",
        ),
        ([""], "bad.csv: no data rows"),
        ([GOOD_ROW] * 2, "too few to split"),
    ],
)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    source = write_csv(tmp_path / "bad.csv", lines)
    output = tmp_path / "out"
    with pytest.raises(preprocess.InputDataError, match=message.replace("(", r"\(")) as caught:
        preprocess.run(output, input_path=source)
    assert "\n" not in str(caught.value)
    assert not output.exists() or not any(output.iterdir())


def test_command_line_reports_a_missing_file_on_one_line(tmp_path: Path, repo_root: Path) -> None:
    script = repo_root / "pipelines" / "abalone" / "preprocess.py"
    result = subprocess.run(
        [
            sys.executable,
            "-B",
            str(script),
            "--base-dir",
            str(tmp_path / "out"),
            "--input",
            str(tmp_path / "abalone.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: abalone.csv: no such file: {tmp_path / 'abalone.csv'}"
    ]
    assert not (tmp_path / "out").exists()
