"""Fixtures for the tests of the model-build seed code: one offline pipeline build per session."""

from __future__ import annotations

import json
import os
import sys
from typing import Dict, Iterator

import pytest

sys.dont_write_bytecode = True

from seed_support import (  # noqa: E402  (bytecode off before the seed code is imported)
    BUCKET,
    KMS_KEY_ARN,
    PREFIX,
    PROJECT_ENVIRONMENT,
    REGION,
    ROLE_ARN,
    BuiltPipeline,
    NetworkGuard,
    offline_environment,
)


@pytest.fixture(scope="session")
def built_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltPipeline]:
    """Import the SDK and build the pipeline with the network unplugged and no credentials."""
    guard = NetworkGuard()
    with pytest.MonkeyPatch.context() as patch:
        offline_environment(patch, tmp_path_factory.mktemp("offline"))
        guard.install(patch)
        from pipelines.abalone.pipeline import code_artifacts, get_pipeline

        pipeline = get_pipeline(
            region=REGION,
            role_arn=ROLE_ARN,
            artifact_bucket=BUCKET,
            pipeline_name=PREFIX,
            model_package_group_name=PREFIX,
            kms_key_arn=KMS_KEY_ARN,
            input_data_url=PROJECT_ENVIRONMENT["INPUT_DATA_URL"],
        )
        text = pipeline.definition()
        uris = {name: a.s3_uri for name, a in code_artifacts(BUCKET, PREFIX).items()}
        yield BuiltPipeline(json.loads(text), text, list(guard.attempts), uris)


@pytest.fixture
def seed_env() -> Dict[str, str]:
    """Environment for a subprocess started in the seed folder: no bytecode written."""
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    return env
