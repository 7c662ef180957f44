"""Reading the project's settings from CodeBuild's environment variables."""

from __future__ import annotations

import pytest

from pipelines.config import ConfigError, ProjectConfig

ENVIRONMENT = {
    "SAGEMAKER_PROJECT_NAME": "abalone",
    "SAGEMAKER_PROJECT_ID": "p-abc123def456",
    "SAGEMAKER_PROJECT_NAME_ID": "abalone-p-abc123def456",
    "SAGEMAKER_PIPELINE_ROLE_ARN": "arn:aws:iam::111122223333:role/pipeline",
    "ARTIFACT_BUCKET": "artifacts",
    "AWS_REGION": "eu-west-1",
}


def test_defaults_follow_the_project_prefix() -> None:
    config = ProjectConfig.from_env(ENVIRONMENT)
    assert config.pipeline_name == "abalone-p-abc123def456"
    assert config.job_prefix == "p-abc123def456"
    assert config.model_package_group_name == "abalone-p-abc123def456"
    assert config.input_data_url == "s3://artifacts/datasets/abalone/abalone.csv"
    assert config.kms_key_arn is None
    assert config.processing_instance_type == "ml.m5.xlarge"
    assert config.source_commit is None
    assert config.tags == [
        {"Key": "sagemaker:project-name", "Value": "abalone"},
        {"Key": "sagemaker:project-id", "Value": "p-abc123def456"},
    ]


def test_the_commit_comes_from_codebuild() -> None:
    environ = {**ENVIRONMENT, "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123abcd" * 5}
    assert ProjectConfig.from_env(environ).source_commit == "0123abcd" * 5


def test_every_missing_variable_is_named_at_once() -> None:
    partial = {k: v for k, v in ENVIRONMENT.items() if k not in ("ARTIFACT_BUCKET", "AWS_REGION")}
    with pytest.raises(ConfigError, match="ARTIFACT_BUCKET, AWS_REGION"):
        ProjectConfig.from_env(partial)


def test_step_caching_is_on_for_30_days_unless_the_build_says_otherwise() -> None:
    assert ProjectConfig.from_env(ENVIRONMENT).step_cache_expiry == "P30D"
    environ = {**ENVIRONMENT, "PIPELINE_STEP_CACHE_EXPIRY": "PT12H"}
    assert ProjectConfig.from_env(environ).step_cache_expiry == "PT12H"
    for off in ("off", "OFF", "", " "):
        environ = {**ENVIRONMENT, "PIPELINE_STEP_CACHE_EXPIRY": off}
        assert ProjectConfig.from_env(environ).step_cache_expiry is None, off


@pytest.mark.parametrize("bad", ["30", "30d", "P", "PT", "P1.5D", "P1S", "PT1S", "never", "P30D "+"x", "P0D", "PT0M"])
def test_a_malformed_cache_expiry_is_named(bad: str) -> None:
    environ = {**ENVIRONMENT, "PIPELINE_STEP_CACHE_EXPIRY": bad}
    with pytest.raises(ConfigError, match=r"invalid PIPELINE_STEP_CACHE_EXPIRY .*ISO 8601 duration"):
        ProjectConfig.from_env(environ)
