"""Shared fixtures: one synthesis of every template per test session, shared by all tests.

A synth costs seconds (jsii start-up, aws-cdk-lib, three security packs), so tests read
templates from one cloud assembly instead of synthesizing per test.
"""

from __future__ import annotations

import pytest

from support import Assembly, synth_all


@pytest.fixture(scope="session")
def assembly(tmp_path_factory) -> Assembly:
    """Every template, synthesized once with the security packs on."""
    return synth_all(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def template_ids() -> list[str]:
    from sagemaker_projects_cdk.stacks import TEMPLATES

    return list(TEMPLATES)
