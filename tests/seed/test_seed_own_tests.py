"""The seed repository's own tests pass, run as CodeBuild runs them, and leave no files."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Dict

import pytest
from seed_support import SEED_ROOT, seed_files

pytestmark = pytest.mark.seed


def test_the_seed_tests_pass_and_write_nothing_into_the_seed_folder(
    seed_env: Dict[str, str],
) -> None:
    before = seed_files()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=SEED_ROOT,
        env=seed_env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 20, summary
    assert "skipped" not in summary and "failed" not in summary
    assert seed_files() == before
