"""Shared test setup: import the repo's ``pipelines`` package, write no bytecode."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.dont_write_bytecode = True
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The root of this model-build repository."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def abalone_csv(repo_root: Path) -> Path:
    """The abalone data set shipped with the repository."""
    return repo_root / "data" / "abalone.csv"
