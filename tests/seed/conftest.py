"""Fixtures for the tests of the model-build seed code: one offline pipeline build per session.

Every test here (and the build) runs with ``check_each_schema_once``: the SDK re-checks
its config schema against the JSON Schema metaschema on each config lookup, which was most
of the time of every pipeline build; the config itself is still validated each time.
"""

from __future__ import annotations

import json
import sys
from typing import Iterator

import pytest

sys.dont_write_bytecode = True

from seed_support import (  # noqa: E402  (bytecode off before the seed code is imported)
    BUCKET,
    PREFIX,
    BuiltPipeline,
    NetworkGuard,
    build_project_pipeline,
    check_each_schema_once,
    offline_environment,
    seed_code_caches,
    seed_subprocess_env,
)


@pytest.fixture(scope="session")
def built_pipeline(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    """Import the SDK and build the pipeline with the network unplugged and no credentials.

    The guard and the offline environment are removed once the pipeline is built, so they
    do not linger over the rest of the session.
    """
    guard = NetworkGuard()
    with pytest.MonkeyPatch.context() as patch:
        check_each_schema_once(patch)
        offline_environment(patch, tmp_path_factory.mktemp("offline"))
        guard.install(patch)
        from pipelines.abalone.pipeline import code_artifacts, staged_objects

        pipeline = build_project_pipeline()
        text = pipeline.definition()
        uris = {name: a.s3_uri for name, a in code_artifacts(BUCKET, PREFIX).items()}
        staged = {uri: item.body for uri, item in staged_objects(pipeline).items()}
    return BuiltPipeline(json.loads(text), text, list(guard.attempts), uris, staged)


@pytest.fixture(scope="session", autouse=True)
def _no_caches_left_in_the_seed_code() -> Iterator[None]:
    """The seed folders are hashed into CDK assets: no test may leave bytecode or caches there."""
    before = seed_code_caches()
    yield
    new = sorted(set(seed_code_caches()) - set(before))
    assert new == [], f"tests left caches in sagemaker_projects_cdk/seed_code: {new}"


@pytest.fixture(autouse=True)
def _sdk_schema_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    check_each_schema_once(monkeypatch)


@pytest.fixture
def seed_env() -> dict[str, str]:
    """Environment for a subprocess started in the seed folder: no bytecode written."""
    return seed_subprocess_env()
