"""Shared fixtures: one synthesis of every template per test session, shared by all tests.

A synth costs seconds (jsii start-up, aws-cdk-lib, three security packs), so tests read
templates from one cloud assembly instead of synthesizing per test (and per xdist worker).
"""

from __future__ import annotations

import os
import shutil

import pytest

from support import Assembly, load_assembly, synth_all

try:
    import fcntl
except ImportError:  # Windows: every xdist worker synthesizes its own
    fcntl = None


@pytest.fixture(scope="session")
def assembly(tmp_path_factory) -> Assembly:
    """Every template, synthesized once with the security packs on.

    Under pytest-xdist the workers share one synth (about 25 s of CPU): the first worker to
    need it synthesizes into the run's common temporary folder while holding a lock, the
    others wait for the lock and read the same files. No test writes into the assembly."""
    if "PYTEST_XDIST_WORKER" not in os.environ or fcntl is None:
        return synth_all(tmp_path_factory.mktemp("cdk.out"))
    shared = tmp_path_factory.getbasetemp().parent / "cdk.out.shared"
    complete = shared.with_name("cdk.out.complete")
    with open(tmp_path_factory.getbasetemp().parent / "cdk.out.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not complete.exists():
                # A failed synth leaves no marker: the next worker synthesizes (and fails) again.
                shutil.rmtree(shared, ignore_errors=True)
                synth_all(shared)
                complete.write_text("")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return load_assembly(shared)


@pytest.fixture(scope="session")
def template_ids() -> list[str]:
    from sagemaker_projects_cdk.stacks import TEMPLATES

    return list(TEMPLATES)
