"""Bad input to the container scripts and the local run: one clear line, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seed_support import SEED_ROOT

pytestmark = pytest.mark.seed

SCRIPTS = SEED_ROOT / "pipelines" / "abalone"
GOOD = "F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,9.0"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=SEED_ROOT, env=env, capture_output=True, text=True, check=False
    )


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*")] if folder.exists() else []


def abalone_with(tmp_path: Path, bad_line: str, at_row: int) -> Path:
    lines = (SEED_ROOT / "data" / "abalone.csv").read_text().splitlines()[:40]
    lines[at_row - 1] = bad_line
    path = tmp_path / "abalone.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("bad_line", "row", "expected"),
    [
        (
            GOOD.replace("0.42", "abc"),
            17,
            "abalone.csv: row 17, column 'diameter': 'abc' is not a number",
        ),
        (
            GOOD.rsplit(",", 1)[0],
            5,
            "abalone.csv: row 5: expected 9 columns (sex, length, diameter, height, "
            "whole_weight, shucked_weight, viscera_weight, shell_weight, rings), found 8",
        ),
        (GOOD + ",1.0", 40, "abalone.csv: row 40: expected 9 columns"),
        (
            GOOD.replace("F,", "female,"),
            2,
            "abalone.csv: row 2, column 'sex': 'female' is not one of F, I, M",
        ),
        (GOOD.replace("9.0", ""), 3, "abalone.csv: row 3, column 'rings': '' is not a number"),
    ],
)
def test_preprocess_names_file_row_and_column(
    tmp_path: Path, seed_env: dict[str, str], bad_line: str, row: int, expected: str
) -> None:
    source = abalone_with(tmp_path, bad_line, row)
    output = tmp_path / "out"
    result = run(
        [str(SCRIPTS / "preprocess.py"), "--base-dir", str(output), "--input", str(source)],
        seed_env,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {expected}")
    assert result.stdout == ""
    assert files_under(output) == []


def test_preprocess_reports_a_missing_file(tmp_path: Path, seed_env: dict[str, str]) -> None:
    result = run(
        [str(SCRIPTS / "preprocess.py"), "--base-dir", str(tmp_path), "--input", "nowhere.csv"],
        seed_env,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: nowhere.csv: no such file: nowhere.csv"]
    assert files_under(tmp_path) == []


def test_preprocess_in_container_layout_needs_exactly_one_csv(
    tmp_path: Path, seed_env: dict[str, str]
) -> None:
    (tmp_path / "input").mkdir()
    result = run([str(SCRIPTS / "preprocess.py"), "--base-dir", str(tmp_path)], seed_env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'input'}: expected exactly one .csv file, found none"
    ]
    assert files_under(tmp_path) == [tmp_path / "input"]


def test_evaluate_names_the_bad_test_row(tmp_path: Path, seed_env: dict[str, str]) -> None:
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "test.csv").write_text(
        "9.0,1,0,0,0,0,0,0,1,0,0\n7.0,1,0,0,x,0,0,0,1,0,0\n"
    )
    result = run([str(SCRIPTS / "evaluate.py"), "--base-dir", str(tmp_path)], seed_env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: test.csv: row 2, column 5: 'x' is not a number"
    ]
    assert not (tmp_path / "evaluation").exists()


def test_the_local_run_stops_before_writing_anything(
    tmp_path: Path, seed_env: dict[str, str]
) -> None:
    source = abalone_with(tmp_path, GOOD.replace("0.53", "0,53"), 17)
    output = tmp_path / "run"
    result = run(
        ["-m", "pipelines.local_run", "--data", str(source), "--output", str(output)], seed_env
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: abalone.csv: row 17: expected 9 columns (sex, length, diameter, height, "
        "whole_weight, shucked_weight, viscera_weight, shell_weight, rings), found 10"
    ]
    assert files_under(output) == []
