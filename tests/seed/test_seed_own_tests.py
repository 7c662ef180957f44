"""The seed repository's own tests pass, run as CodeBuild runs them, and leave no files.

CodeBuild runs ``python -m pytest -q`` in the seed folder. This runs the same pytest
session in this process (``pytest.main`` from the seed folder, so its ``pytest.ini`` and
``conftest.py`` apply), with the seed's own modules imported anew but the SageMaker SDK
and xgboost, already imported by the other tests, reused: a new process would spend most
of its time importing them again. As in every test here, ``jsonschema.validate`` checks
the SDK's config schema once instead of at each call (see ``conftest.py``).
"""

from __future__ import annotations

import re

import pytest

from seed_support import SEED_ROOT, fresh_seed_imports, seed_files

pytestmark = pytest.mark.seed


def test_the_seed_tests_pass_and_write_nothing_into_the_seed_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = seed_files()
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.chdir(SEED_ROOT)
    with fresh_seed_imports():
        status = pytest.main(["-q", "-p", "no:cacheprovider"])
    monkeypatch.undo()
    captured = capsys.readouterr()
    output = captured.out.strip()
    summary = output.splitlines()[-1] if output else ""
    assert status == 0, captured.out[-3000:] + captured.err[-3000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 20, summary
    assert "skipped" not in summary and "failed" not in summary
    assert seed_files() == before
