"""The deploy seed's build step (build.py): stage configuration checks and model version choice.

Configuration checks run without AWS. The model-registry tests run build.py as the pipeline
does (a subprocess, boto3 only) against a local moto server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_deploy_support import (
    PROJECT_BUCKET,
    SEED,
    aws_environment,
    client,
    copy_seed,
    load_build_module,
    moto_server,
    register_versions,
    run_script,
    unique,
)
from sagemaker_projects_cdk._internal.validation import INSTANCE_FAMILIES

build = load_build_module()
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
#: Another project's bucket and key, where a shared model package group keeps its artifacts.
OTHER_BUCKET = "sagemaker-project-p-0ther0project"
OTHER_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/9876fedc-12ab-34cd-56ef-1234567890ab"


def _environment(url: str, group: str, **extra: str) -> dict[str, str]:
    return aws_environment(
        url,
        MODEL_PACKAGE_GROUP_NAME=group,
        SAGEMAKER_PROJECT_NAME="churn",
        SAGEMAKER_PROJECT_ID="p-abc123def456",
        ARTIFACT_BUCKET=PROJECT_BUCKET,
        ARTIFACT_KMS_KEY_ARN=KEY_ARN,
        **extra,
    )


def _config(name: str = "staging-config.json") -> dict:
    return json.loads((SEED / name).read_text())


# ----------------------------------------------------------------- configuration (no AWS)


def test_shipped_stage_configs_are_valid():
    for name in ("staging-config.json", "prod-config.json"):
        settings, problems = build.check_stage_config(name, _config(name))
        assert problems == [] and settings is not None, problems
    staging, _ = build.check_stage_config("staging-config.json", _config())
    assert staging["smoke_test"] == {"rows": 10, "max_latency_ms": 2000, "label_column": 0}
    prod, _ = build.check_stage_config("prod-config.json", _config("prod-config.json"))
    assert (prod["traffic"], prod["step_type"], prod["step_size"]) == ("CANARY", "INSTANCE_COUNT", 1)


def test_the_instance_families_match_the_library():
    # build.py runs without this library; its copy of the list must not drift.
    assert build.INSTANCE_FAMILIES == INSTANCE_FAMILIES


def _broken(mutate) -> dict:
    config = _config()
    mutate(config)
    return config


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c.pop("instance_type"), "staging-config.json: instance_type: missing (expected an instance type"),
        (lambda c: c["autoscaling"].pop("max_capacity"), "autoscaling.max_capacity: missing (expected a whole number from 1 to 1000)"),
        (lambda c: c.update(instance_count="1"), "instance_count: '1' is a str, expected a whole number from 1 to 1000"),
        (lambda c: c.update(instance_count=True), "instance_count: True is a bool, expected a whole number"),
        (lambda c: c["data_capture"].update(enabled="yes"), "data_capture.enabled: 'yes' is a str, expected bool"),
        (lambda c: c["data_capture"].update(sampling_percentage=150), "data_capture.sampling_percentage: invalid 150: expected a whole number from 0 to 100"),
        (lambda c: c.update(instance_type="ml.m5.mega"), "instance_type: invalid 'ml.m5.mega': expected an instance type 'ml.<family>.<size>' of a known family"),
        (lambda c: c.update(instance_type="ml.z9.large"), "instance_type: invalid 'ml.z9.large'"),
        (lambda c: c.update(instance_typo="ml.m5.large"), "instance_typo: unknown key (expected one of"),
        (lambda c: c["rollout"].update(traffic="SLOW"), "rollout.traffic: invalid 'SLOW': expected one of ALL_AT_ONCE, CANARY, LINEAR"),
        (lambda c: c["rollout"].update(traffic="CANARY"), "rollout.step: missing (expected an object"),
        (
            lambda c: c["rollout"].update(traffic="CANARY", step={"type": "INSTANCE_COUNT", "size": 1}),
            "rollout.step.size: invalid 1 instance(s): expected a canary of at most 50% of instance_count (1)",
        ),
        (
            lambda c: c["rollout"].update(traffic="LINEAR", step={"type": "CAPACITY_PERCENT", "size": 60}),
            "rollout.step.size: invalid 60%: expected linear steps of 10% to 50% of the fleet",
        ),
        (lambda c: c["rollout"].update(step={"type": "CAPACITY_PERCENT", "size": 10}), "rollout.step: not allowed with ALL_AT_ONCE"),
        (
            lambda c: c["rollout"].update(maximum_execution_timeout_seconds=600, wait_interval_seconds=600),
            "rollout.maximum_execution_timeout_seconds: invalid 600: expected more than the waits it covers",
        ),
        (
            lambda c: c["autoscaling"].update(enabled=True, min_capacity=2, max_capacity=3),
            "instance_count: invalid 1: expected between autoscaling min_capacity (2) and max_capacity (3)",
        ),
        (lambda c: c["alarms"].update(latency_threshold_ms=0), "alarms.latency_threshold_ms: invalid 0: expected a whole number from 1 to 60000"),
        (lambda c: c["smoke_test"].update(label_column="first"), "smoke_test.label_column: invalid 'first'"),
        (lambda c: c.update(alarms=[]), "alarms: [] is a list, expected object"),
    ],
)
def test_each_bad_config_is_named_with_what_is_expected(mutate, expected):
    settings, problems = build.check_stage_config("staging-config.json", _broken(mutate))
    assert settings is None
    assert any(expected in problem for problem in problems), problems


def test_bad_configs_fail_the_build_with_one_message_and_write_nothing(tmp_path):
    config_dir = copy_seed(tmp_path / "repo")
    staging = _config()
    staging.pop("alarms")
    staging["instance_count"] = "two"
    (config_dir / "staging-config.json").write_text(json.dumps(staging))
    prod = _config("prod-config.json")
    prod["instance_type"] = "ml.m5.gigantic"
    (config_dir / "prod-config.json").write_text(json.dumps(prod))
    out = tmp_path / "out"

    # No AWS at all: the configuration is checked before any call.
    env = _environment("http://127.0.0.1:9", "churn-p-abc123def456")
    result = run_script(SEED / "build.py", ["--config-dir", str(config_dir), "--output-dir", str(out)], env)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "build.py: the deployment configuration is invalid; nothing was written:"
    assert lines[1:] == [
        "  - staging-config.json: instance_count: 'two' is a str, expected a whole number from 1 to 1000",
        "  - staging-config.json: alarms: missing (expected object)",
        "  - prod-config.json: instance_type: invalid 'ml.m5.gigantic': expected an instance type "
        "'ml.<family>.<size>' of a known family, e.g. 'ml.m5.large'",
    ]
    assert not out.exists()


def test_missing_environment_and_invalid_json_are_reported_together(tmp_path):
    config_dir = copy_seed(tmp_path / "repo")
    (config_dir / "prod-config.json").write_text("{not json")
    env = _environment("http://127.0.0.1:9", "")
    env.pop("ARTIFACT_KMS_KEY_ARN")
    result = run_script(SEED / "build.py", ["--config-dir", str(config_dir), "--output-dir", str(tmp_path / "out")], env)
    assert result.returncode == 1
    assert "prod-config.json: not valid JSON" in result.stderr
    assert "environment: MODEL_PACKAGE_GROUP_NAME is not set (the project's model package group)" in result.stderr
    assert "environment: ARTIFACT_KMS_KEY_ARN is not set" in result.stderr


PROJECT_ENVIRONMENT = {
    "MODEL_PACKAGE_GROUP_NAME": "churn-p-abc123def456",
    "SAGEMAKER_PROJECT_NAME": "churn",
    "SAGEMAKER_PROJECT_ID": "p-abc123def456",
    "ARTIFACT_BUCKET": PROJECT_BUCKET,
    "ARTIFACT_KMS_KEY_ARN": KEY_ARN,
}


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({}, (PROJECT_BUCKET, KEY_ARN)),
        # Empty (a template parameter left blank) is the same as unset.
        ({"MODEL_ARTIFACT_BUCKET": "", "MODEL_ARTIFACT_KMS_KEY_ARN": " "}, (PROJECT_BUCKET, KEY_ARN)),
        ({"MODEL_ARTIFACT_BUCKET": PROJECT_BUCKET}, (PROJECT_BUCKET, KEY_ARN)),
        # Another bucket: the project key does not encrypt it; no key means not KMS-encrypted.
        ({"MODEL_ARTIFACT_BUCKET": OTHER_BUCKET}, (OTHER_BUCKET, "")),
        ({"MODEL_ARTIFACT_BUCKET": OTHER_BUCKET, "MODEL_ARTIFACT_KMS_KEY_ARN": OTHER_KEY_ARN}, (OTHER_BUCKET, OTHER_KEY_ARN)),
        ({"MODEL_ARTIFACT_KMS_KEY_ARN": OTHER_KEY_ARN}, (PROJECT_BUCKET, OTHER_KEY_ARN)),
    ],
)
def test_model_artifact_bucket_and_key_default_to_the_projects(overrides, expected):
    env, problems = build.read_environment(["staging"], {**PROJECT_ENVIRONMENT, **overrides})
    assert problems == []
    assert (env["MODEL_ARTIFACT_BUCKET"], env["MODEL_ARTIFACT_KMS_KEY_ARN"]) == expected
    parameters = build.stage_parameters("staging", _settings(), env, "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1")
    assert (parameters["ModelArtifactBucketName"], parameters["ModelArtifactKmsKeyArn"]) == expected
    # Captured data always goes to the project's own bucket, with its key.
    assert (parameters["ArtifactBucketName"], parameters["ArtifactKmsKeyArn"]) == (PROJECT_BUCKET, KEY_ARN)
    template = json.loads((SEED / "endpoint-stage.template.json").read_text())
    assert build.check_against_template(template, "staging-params.json", parameters) == []


def _settings() -> dict:
    settings, problems = build.check_stage_config("staging-config.json", _config())
    assert problems == []
    return settings


def test_bad_model_artifact_settings_are_reported_before_any_aws_call(tmp_path):
    env = _environment(
        "http://127.0.0.1:9",
        "churn-p-abc123def456",
        MODEL_ARTIFACT_BUCKET="s3://other-bucket",
        MODEL_ARTIFACT_KMS_KEY_ARN="alias/other-project",
    )
    result = run_script(SEED / "build.py", ["--config-dir", str(copy_seed(tmp_path / "repo")), "--output-dir", str(tmp_path / "out")], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "build.py: the deployment configuration is invalid; nothing was written:",
        "  - environment: MODEL_ARTIFACT_BUCKET 's3://other-bucket' is not an S3 bucket name "
        "(3 to 63 lower-case letters, digits, dots and hyphens)",
        "  - environment: MODEL_ARTIFACT_KMS_KEY_ARN 'alias/other-project' is not a KMS key ARN "
        "('arn:<partition>:kms:<region>:<account>:key/<key id>'; not an alias); leave it empty when the "
        "model artifacts are not KMS-encrypted",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "url, bucket",
    [
        ("s3://sagemaker-project-p-1/churn/train/output/model.tar.gz", "sagemaker-project-p-1"),
        ("s3://bucket.with.dots/model.tar.gz", "bucket.with.dots"),
        ("https://my-bucket.s3.amazonaws.com/a/model.tar.gz", "my-bucket"),
        ("https://my.bucket.s3.eu-west-1.amazonaws.com/a/model.tar.gz", "my.bucket"),
        ("https://my-bucket.s3-eu-west-1.amazonaws.com/model.tar.gz", "my-bucket"),
        ("https://my-bucket.s3.dualstack.eu-west-1.amazonaws.com/model.tar.gz", "my-bucket"),
        ("https://s3.eu-west-1.amazonaws.com/my-bucket/a/model.tar.gz", "my-bucket"),
        ("https://s3.cn-north-1.amazonaws.com.cn/my-bucket/model.tar.gz", "my-bucket"),
        ("https://example.com/model.tar.gz", None),
    ],
)
def test_the_bucket_of_a_model_data_url(url, bucket):
    assert build.s3_bucket_of(url) == bucket


def _package(*containers: dict) -> dict:
    return {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/shared-models/3",
        "InferenceSpecification": {"Containers": list(containers)},
    }


def test_every_kind_of_model_data_location_is_checked():
    package = _package(
        {"Image": "i", "ModelDataUrl": f"s3://{PROJECT_BUCKET}/a/model.tar.gz"},
        {"Image": "i"},  # no model data (a Marketplace or built-in container)
        {
            "Image": "i",
            "ModelDataSource": {"S3DataSource": {"S3Uri": f"s3://{PROJECT_BUCKET}/b/", "S3DataType": "S3Prefix"}},
            "AdditionalModelDataSources": [{"ChannelName": "draft", "S3DataSource": {"S3Uri": f"s3://{OTHER_BUCKET}/draft/"}}],
        },
    )
    assert build.model_data_locations(package) == [
        f"s3://{PROJECT_BUCKET}/a/model.tar.gz",
        f"s3://{PROJECT_BUCKET}/b/",
        f"s3://{OTHER_BUCKET}/draft/",
    ]
    env = {"MODEL_ARTIFACT_BUCKET": PROJECT_BUCKET}
    with pytest.raises(build.BuildError, match=rf"has its model artifacts in bucket '{OTHER_BUCKET}' \(s3://{OTHER_BUCKET}/draft/\)"):
        build.check_model_artifacts(package, env)
    build.check_model_artifacts(_package({"Image": "i"}), env)  # nothing to read: nothing to check


def test_artifacts_spread_over_buckets_cannot_be_served_from_one():
    package = _package(
        {"Image": "i", "ModelDataUrl": f"s3://{OTHER_BUCKET}/a/model.tar.gz"},
        {"Image": "i", "ModelDataUrl": "s3://third-bucket/b/model.tar.gz"},
    )
    with pytest.raises(build.BuildError) as error:
        build.check_model_artifacts(package, {"MODEL_ARTIFACT_BUCKET": PROJECT_BUCKET})
    message = str(error.value)
    assert f"has its model artifacts in buckets '{OTHER_BUCKET}', 'third-bucket'" in message
    assert "An endpoint reads model artifacts from one S3 bucket: register a version whose artifacts are all in one bucket" in message


#: An image the project built: in this account's ECR (the package's account and region), by digest.
OWN_IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-p-abc123def456-inference@sha256:{'b' * 64}"


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ([OWN_IMAGE], "sagemaker-p-abc123def456-inference"),
        ([OWN_IMAGE, OWN_IMAGE.split("@")[0] + ":v2"], "sagemaker-p-abc123def456-inference"),
        (["123456789012.dkr.ecr.us-east-1.amazonaws.com/team/serving:1.0"], "team/serving"),
        # AWS's image (the stage role pulls those already), another account's, another region's.
        (["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"], ""),
        ([OWN_IMAGE.replace("123456789012", "210987654321")], ""),
        ([OWN_IMAGE.replace("us-east-1", "eu-west-1")], ""),
        (["public.ecr.aws/x/y:1"], ""),
    ],
)
def test_the_packages_image_repository_in_this_account(images, expected):
    assert build.own_image_repository(_package(*({"Image": image} for image in images))) == expected


def test_images_in_two_repositories_of_this_account_are_refused():
    second = OWN_IMAGE.replace("-inference@", "-other@")
    with pytest.raises(build.BuildError, match="images of 2 ECR repositories of this account .*-inference, .*-other"):
        build.own_image_repository(_package({"Image": OWN_IMAGE}, {"Image": second}))


def test_only_stages_in_this_account_name_the_image_repository():
    settings = build.check_stage_config("staging-config.json", _config())[0]
    env = {**_environment("http://x", "g"), "MODEL_ARTIFACT_BUCKET": PROJECT_BUCKET, "MODEL_ARTIFACT_KMS_KEY_ARN": KEY_ARN}
    arn = _package()["ModelPackageArn"]
    here = build.stage_parameters("staging", settings, env, arn, None, "sagemaker-p-abc123def456-inference")
    elsewhere = build.stage_parameters(
        "staging", settings, env, arn, {"account": "222222222222", "execution_role_arn": _endpoint_role("222222222222")}, "r"
    )
    assert (here["ModelImageRepositoryName"], elsewhere["ModelImageRepositoryName"]) == ("sagemaker-p-abc123def456-inference", "")


# ----------------------------------------------------------------- model registry (moto)


@pytest.fixture(scope="module")
def deploy_build_moto():
    with moto_server() as url:
        yield url


@pytest.mark.integration
def test_build_picks_the_newest_approved_version_and_writes_the_stage_files(deploy_build_moto, tmp_path):
    url = deploy_build_moto
    group = unique("churn-build-")
    sagemaker = client(url, "sagemaker")
    arns = register_versions(
        sagemaker,
        group,
        ["Approved", "Rejected", "Approved", "PendingManualApproval", "Rejected"],
        metadata={"TestDataS3Uri": "s3://bucket/run-1/test/test.csv"},
    )
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], _environment(url, group))
    assert result.returncode == 0, result.stderr
    # Version 3 is the newest approved: not the first approved (1), not newer pending/rejected ones.
    assert f"deploying {arns[2]}" in result.stdout

    assert sorted(p.name for p in out.iterdir()) == [
        "endpoint-stage.template.json",
        "prod-params.json",
        "staging-params.json",
        "staging-test.json",
    ]
    assert (out / "endpoint-stage.template.json").read_bytes() == (SEED / "endpoint-stage.template.json").read_bytes()
    staging = json.loads((out / "staging-params.json").read_text())
    assert staging["Parameters"] == {
        "SageMakerProjectName": "churn",
        "SageMakerProjectId": "p-abc123def456",
        "StageName": "staging",
        "ModelPackageArn": arns[2],
        "ArtifactBucketName": "sagemaker-project-p-abc123def456",
        "ArtifactKmsKeyArn": KEY_ARN,
        # The group is this project's: its artifacts are in the project bucket, with the project key.
        "ModelArtifactBucketName": "sagemaker-project-p-abc123def456",
        "ModelArtifactKmsKeyArn": KEY_ARN,
        # In this account: the stage stack's own model role; AWS's image, no repository of this account.
        "ExecutionRoleArn": "",
        "ModelImageRepositoryName": "",
        "InstanceType": "ml.m5.large",
        "InstanceCount": "1",
        "EnableDataCapture": "true",
        "DataCaptureSamplingPercentage": "100",
        "EnableAutoscaling": "false",
        "MinCapacity": "1",
        "MaxCapacity": "1",
        "TargetInvocationsPerInstance": "70",
        "TrafficRoutingType": "ALL_AT_ONCE",
        "TrafficStepType": "CAPACITY_PERCENT",
        "TrafficStepSize": "10",
        "TrafficWaitIntervalSeconds": "300",
        "TerminationWaitSeconds": "0",
        "MaximumExecutionTimeoutSeconds": "3600",
        "ErrorAlarmThreshold": "1",
        "LatencyAlarmThresholdMs": "1000",
        # No private network in this build's environment.
        "PrivateVpcId": "",
        "PrivateSubnetIds": "",
        "PrivateSecurityGroupIds": "",
    }
    assert staging["Tags"] == {
        "sagemaker:project-name": "churn",
        "sagemaker:project-id": "p-abc123def456",
        "sagemaker:deployment-stage": "staging",
    }
    prod = json.loads((out / "prod-params.json").read_text())["Parameters"]
    assert (prod["StageName"], prod["ModelPackageArn"], prod["TrafficRoutingType"], prod["TrafficStepType"]) == (
        "prod",
        arns[2],
        "CANARY",
        "INSTANCE_COUNT",
    )
    test_settings = json.loads((out / "staging-test.json").read_text())
    assert test_settings == {
        "endpoint_name": "churn-p-abc123def456-staging",
        "region": "us-east-1",
        "model_package_arn": arns[2],
        "content_type": "text/csv",
        "accept": "text/csv",
        "test_data_s3_uri": "s3://bucket/run-1/test/test.csv",
        "rows": 10,
        "max_latency_ms": 2000,
        "label_column": 0,
    }


@pytest.mark.integration
def test_a_package_with_artifacts_in_another_projects_bucket_fails_with_what_to_set(deploy_build_moto, tmp_path):
    url = deploy_build_moto
    group = unique("shared-models-")
    sagemaker = client(url, "sagemaker")
    arn = register_versions(sagemaker, group, ["Approved"], artifact_bucket=OTHER_BUCKET)[0]
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], _environment(url, group))
    assert result.returncode == 1
    assert result.stderr == (
        f"build.py: model package {arn} has its model artifacts in bucket '{OTHER_BUCKET}' "
        f"(s3://{OTHER_BUCKET}/{group}/model.tar.gz), but this project's endpoints read model artifacts only from "
        f"bucket '{PROJECT_BUCKET}', so SageMaker could not load the model. Set the model-deploy template's source "
        f"model artifact bucket (MODEL_ARTIFACT_BUCKET of this build step) to '{OTHER_BUCKET}' and its KMS key "
        "(MODEL_ARTIFACT_KMS_KEY_ARN) to the key that encrypts that bucket, empty when its objects are not "
        "KMS-encrypted; then run this pipeline again (Release change).\n"
    )
    assert result.stdout == "" and not out.exists()


@pytest.mark.integration
def test_a_package_of_another_project_deploys_with_its_bucket_and_key(deploy_build_moto, tmp_path):
    url = deploy_build_moto
    group = unique("shared-models-")
    arns = register_versions(client(url, "sagemaker"), group, ["Approved", "Approved"], artifact_bucket=OTHER_BUCKET)
    out = tmp_path / "build"
    env = _environment(url, group, MODEL_ARTIFACT_BUCKET=OTHER_BUCKET, MODEL_ARTIFACT_KMS_KEY_ARN=OTHER_KEY_ARN)
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], env)
    assert result.returncode == 0, result.stderr
    assert f"deploying {arns[1]}" in result.stdout
    for stage in ("staging", "prod"):
        parameters = json.loads((out / f"{stage}-params.json").read_text())["Parameters"]
        assert {k: v for k, v in parameters.items() if "Artifact" in k} == {
            # Captured data: this project's bucket and key. Model artifacts: the other project's.
            "ArtifactBucketName": PROJECT_BUCKET,
            "ArtifactKmsKeyArn": KEY_ARN,
            "ModelArtifactBucketName": OTHER_BUCKET,
            "ModelArtifactKmsKeyArn": OTHER_KEY_ARN,
        }

    # Artifacts not KMS-encrypted: the bucket alone, and the key parameter is left empty.
    env.pop("MODEL_ARTIFACT_KMS_KEY_ARN")
    result = run_script(SEED / "build.py", ["--output-dir", str(out), "--stages", "staging"], env)
    assert result.returncode == 0, result.stderr
    parameters = json.loads((out / "staging-params.json").read_text())["Parameters"]
    assert (parameters["ModelArtifactBucketName"], parameters["ModelArtifactKmsKeyArn"]) == (OTHER_BUCKET, "")


STAGING_ACCOUNT, PROD_ACCOUNT = "222222222222", "333333333333"


def _endpoint_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/sagemaker-projects-cdk/sagemaker-projects-123456789012-endpoint"


@pytest.mark.integration
def test_stages_in_other_accounts_get_their_account_storage_and_role(deploy_build_moto, tmp_path):
    """The version is read from this (the tooling) account's registry; each stage's parameters
    carry its account: a stage elsewhere captures into its own stack's bucket and key (empty
    parameters) and runs as the role named for it, and still reads the model from this bucket."""
    url = deploy_build_moto
    group = unique("churn-accounts-")
    arns = register_versions(client(url, "sagemaker"), group, ["Approved"])
    out = tmp_path / "build"
    env = _environment(
        url,
        group,
        STAGE_ACCOUNTS=f"{STAGING_ACCOUNT},",
        STAGE_EXECUTION_ROLE_ARNS=f"{_endpoint_role(STAGING_ACCOUNT)},",
    )
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], env)
    assert result.returncode == 0, result.stderr
    staging = json.loads((out / "staging-params.json").read_text())["Parameters"]
    prod = json.loads((out / "prod-params.json").read_text())["Parameters"]
    assert staging["ModelPackageArn"] == prod["ModelPackageArn"] == arns[0]
    assert (staging["ArtifactBucketName"], staging["ArtifactKmsKeyArn"], staging["ExecutionRoleArn"]) == (
        "",
        "",
        _endpoint_role(STAGING_ACCOUNT),
    )
    assert (staging["ModelArtifactBucketName"], staging["ModelArtifactKmsKeyArn"]) == (PROJECT_BUCKET, KEY_ARN)
    assert (prod["ArtifactBucketName"], prod["ArtifactKmsKeyArn"], prod["ExecutionRoleArn"]) == (PROJECT_BUCKET, KEY_ARN, "")


@pytest.mark.integration
def test_a_version_on_the_projects_own_image_names_its_repository_for_the_stages_here(deploy_build_moto, tmp_path):
    """The image-build-deploy model build registers the project's inference image: the stage
    in this account names its repository (the stage stack's own role pulls it), the stage in
    another account does not (its role pulls through the repository policy)."""
    url = deploy_build_moto
    group = unique("churn-own-image-")
    arns = register_versions(client(url, "sagemaker"), group, ["Approved"], image=OWN_IMAGE)
    out = tmp_path / "build"
    env = _environment(
        url, group, STAGE_ACCOUNTS=f"{STAGING_ACCOUNT},", STAGE_EXECUTION_ROLE_ARNS=f"{_endpoint_role(STAGING_ACCOUNT)},"
    )
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], env)
    assert result.returncode == 0, result.stderr
    assert f"deploying {arns[0]}" in result.stdout
    staging = json.loads((out / "staging-params.json").read_text())["Parameters"]
    prod = json.loads((out / "prod-params.json").read_text())["Parameters"]
    assert (staging["ModelImageRepositoryName"], prod["ModelImageRepositoryName"]) == ("", "sagemaker-p-abc123def456-inference")


@pytest.mark.integration
def test_a_stage_template_without_the_image_parameter_is_refused_for_a_projects_image(deploy_build_moto, tmp_path):
    """A deploy repository seeded before projects built their own images: its template cannot
    let the model role pull the image, so nothing is written (AWS's images still deploy)."""
    url = deploy_build_moto
    seed = copy_seed(tmp_path / "seed")
    template_path = seed / "endpoint-stage.template.json"
    template = json.loads(template_path.read_text())
    del template["Parameters"]["ModelImageRepositoryName"]
    template_path.write_text(json.dumps(template))
    out = tmp_path / "build"
    aws_group = unique("churn-old-template-")
    register_versions(client(url, "sagemaker"), aws_group, ["Approved"])
    result = run_script(SEED / "build.py", ["--output-dir", str(out), "--config-dir", str(seed)], _environment(url, aws_group))
    assert result.returncode == 0, result.stderr
    assert "ModelImageRepositoryName" not in json.loads((out / "staging-params.json").read_text())["Parameters"]

    group = unique("churn-old-template-own-")
    register_versions(client(url, "sagemaker"), group, ["Approved"], image=OWN_IMAGE)
    out = tmp_path / "build-own"
    result = run_script(SEED / "build.py", ["--output-dir", str(out), "--config-dir", str(seed)], _environment(url, group))
    assert result.returncode == 1
    assert "has no parameter ModelImageRepositoryName, so the staging endpoint's model role could not pull" in result.stderr
    assert "'sagemaker-p-abc123def456-inference'" in result.stderr and not out.exists()


@pytest.mark.parametrize(
    ("accounts", "roles", "expected"),
    [
        ("222222222222", "", "STAGE_ACCOUNTS has 1 entries, expected one per stage of DEPLOY_STAGES (staging, prod)"),
        ("22222222222,", "x,", "STAGE_ACCOUNTS: stage staging: '22222222222' is not a 12-digit account id or empty"),
        ("222222222222,", ",", "stage staging: STAGE_ACCOUNTS and STAGE_EXECUTION_ROLE_ARNS are given together or not at all"),
        (
            "222222222222,",
            "arn:aws:iam::333333333333:role/r,",
            "stage staging: the execution role arn:aws:iam::333333333333:role/r is not in account 222222222222",
        ),
    ],
)
def test_bad_stage_targets_are_reported_before_any_aws_call(tmp_path, accounts, roles, expected):
    env = {**_environment("http://127.0.0.1:1", "g"), "STAGE_ACCOUNTS": accounts, "STAGE_EXECUTION_ROLE_ARNS": roles}
    result = run_script(SEED / "build.py", ["--output-dir", str(tmp_path / "b")], env)
    assert result.returncode == 1
    assert expected in result.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.integration
def test_no_approved_version_fails_with_the_group_and_what_to_do(deploy_build_moto, tmp_path):
    url = deploy_build_moto
    group = unique("churn-pending-")
    register_versions(client(url, "sagemaker"), group, ["PendingManualApproval", "Rejected", "PendingManualApproval"])
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], _environment(url, group))
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.startswith(f"build.py: no approved model package in model package group '{group}' (region us-east-1)")
    assert "found 2 PendingManualApproval, 1 Rejected" in message
    assert "Approve a version in SageMaker Studio" in message and "--model-approval-status Approved" in message
    assert len(message.splitlines()) == 1 and not out.exists()


@pytest.mark.integration
def test_an_unknown_group_fails_with_a_hint_to_run_the_build_pipeline(deploy_build_moto, tmp_path):
    group = unique("churn-missing-")
    result = run_script(SEED / "build.py", ["--output-dir", str(tmp_path / "b")], _environment(deploy_build_moto, group))
    assert result.returncode == 1
    assert f"model package group '{group}' was not found in region us-east-1" in result.stderr
    assert "Run the model-build pipeline first" in result.stderr


@pytest.mark.integration
def test_an_instance_type_the_package_cannot_serve_is_rejected(deploy_build_moto, tmp_path):
    url = deploy_build_moto
    group = unique("churn-types-")
    register_versions(client(url, "sagemaker"), group, ["Approved"])
    config_dir = copy_seed(tmp_path / "repo")
    prod = _config("prod-config.json")
    prod["instance_type"] = "ml.c5.xlarge"
    (config_dir / "prod-config.json").write_text(json.dumps(prod))
    result = run_script(
        SEED / "build.py",
        ["--config-dir", str(config_dir), "--output-dir", str(tmp_path / "out")],
        _environment(url, group),
    )
    assert result.returncode == 1
    assert "prod-config.json: instance_type 'ml.c5.xlarge' is not one that" in result.stderr
    assert "supports for real-time inference (ml.t2.medium, ml.m5.large, ml.m5.xlarge)" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_test_data_location_can_be_overridden(deploy_build_moto, tmp_path):
    url = deploy_build_moto
    group = unique("churn-override-")
    register_versions(client(url, "sagemaker"), group, ["Approved"])  # no TestDataS3Uri metadata
    out = tmp_path / "out"
    env = _environment(url, group, TEST_DATA_S3_URI="s3://data/holdout.csv")
    result = run_script(SEED / "build.py", ["--output-dir", str(out), "--stages", "staging"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "staging-test.json").read_text())["test_data_s3_uri"] == "s3://data/holdout.csv"
    assert not (out / "prod-params.json").exists()


def test_buildspecs_carry_what_build_writes_to_the_staging_tests():
    import fnmatch

    import yaml

    spec = yaml.safe_load((SEED / "buildspec.yml").read_text())
    commands = spec["phases"]["build"]["commands"]
    assert commands[0] == "python build.py --output-dir build"
    assert spec["artifacts"]["base-directory"] == "build"
    written = [
        "endpoint-stage.template.json",
        "staging-params.json",
        "prod-params.json",
        "staging-test.json",
        "test/test_endpoint.py",
        "test/buildspec.yml",
        "test/requirements.txt",
        "prod-change.json",
        "change/change_record.py",
        "change/buildspec.yml",
        "change/requirements.txt",
    ]
    for name in written:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in spec["artifacts"]["files"]), name
    assert "cp test/test_endpoint.py test/buildspec.yml requirements.txt build/test/" in commands[1]
    assert commands[2] == "mkdir -p build/change && cp change/change_record.py change/buildspec.yml requirements.txt build/change/"
    change_spec = yaml.safe_load((SEED / "change" / "buildspec.yml").read_text())
    assert change_spec["phases"]["install"]["commands"] == ["python -m pip install --quiet -r change/requirements.txt"]
    # The pipeline's change-record step sets STAGE_NAME to the stage it records.
    # One project, two steps: the snapshot exports the version served before the deployment.
    assert change_spec["env"]["exported-variables"] == ["PREVIOUS_MODEL_PACKAGE_ARN"]
    (block,) = change_spec["phases"]["build"]["commands"]
    _check_change_buildspec_block(block)
    test_spec = yaml.safe_load((SEED / "test" / "buildspec.yml").read_text())
    assert test_spec["phases"]["install"]["commands"] == ["python -m pip install --quiet -r test/requirements.txt"]
    # The pipeline's test step sets STAGE_NAME to the stage it tests (see ModelDeployPipeline).
    assert test_spec["phases"]["build"]["commands"] == [
        'python test/test_endpoint.py --config "${STAGE_NAME:?STAGE_NAME is set by the pipeline test action}-test.json" --report test-report.json'
    ]
    assert [line for line in (SEED / "requirements.txt").read_text().splitlines() if not line.startswith("#")] == ["boto3>=1.40,<2"]


def test_stages_come_from_the_pipeline_environment_in_order():
    assert build.stages_from({"DEPLOY_STAGES": "qa, staging,prod"}) == ["qa", "staging", "prod"]
    assert build.stages_from({"DEPLOY_STAGES": ""}) == list(build.DEFAULT_STAGES)
    assert build.stages_from({}) == ["staging", "prod"]


def test_the_build_writes_files_for_the_stages_the_pipeline_names(tmp_path):
    # A stage without its <stage>-config.json is named in the failure, before any AWS call.
    config_dir = copy_seed(tmp_path / "seed")
    env = {"DEPLOY_STAGES": "qa,prod", "MODEL_PACKAGE_GROUP_NAME": "g", "SAGEMAKER_PROJECT_NAME": "churn",
           "SAGEMAKER_PROJECT_ID": "p-abc123def456", "ARTIFACT_BUCKET": PROJECT_BUCKET, "ARTIFACT_KMS_KEY_ARN": KEY_ARN}
    result = run_script(SEED / "build.py", ["--config-dir", str(config_dir), "--output-dir", str(tmp_path / "out")], env)
    assert result.returncode == 1
    assert "qa-config.json" in result.stderr and "staging-config.json" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_tested_stage_without_smoke_test_fails_before_anything_is_deployed(tmp_path):
    config_dir = copy_seed(tmp_path / "seed")
    prod = json.loads((config_dir / "prod-config.json").read_text())
    assert "smoke_test" not in prod
    env = {"DEPLOY_STAGES": "staging,prod", "TESTED_STAGES": "staging,prod", "MODEL_PACKAGE_GROUP_NAME": "g",
           "SAGEMAKER_PROJECT_NAME": "churn", "SAGEMAKER_PROJECT_ID": "p-abc123def456",
           "ARTIFACT_BUCKET": PROJECT_BUCKET, "ARTIFACT_KMS_KEY_ARN": KEY_ARN}
    result = run_script(SEED / "build.py", ["--config-dir", str(config_dir), "--output-dir", str(tmp_path / "out")], env)
    assert result.returncode == 1
    assert "prod-config.json: smoke_test: missing (the pipeline tests stage 'prod' after deploying it)" in result.stderr
    assert "staging-config.json: smoke_test" not in result.stderr
    assert not (tmp_path / "out").exists()


def _check_change_buildspec_block(block: str) -> None:
    """Run the change buildspec's command as CodeBuild's shell would, with a stand-in python."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        calls = Path(tmp) / "calls"
        fake = Path(tmp) / "python"
        fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3\n')
        fake.chmod(0o755)
        env = {"PATH": f"{tmp}:{os.environ['PATH']}", "STAGE_NAME": "prod"}
        shown = "\necho \"exported=$PREVIOUS_MODEL_PACKAGE_ARN\""
        snapshot = subprocess.run(["bash", "-c", block + shown], env={**env, "CHANGE_RECORD_STEP": "snapshot"}, capture_output=True, text=True)
        assert snapshot.returncode == 0, snapshot.stderr
        assert "exported=arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3" in snapshot.stdout
        record = subprocess.run(["bash", "-c", block], env={**env, "CHANGE_RECORD_STEP": "record"}, capture_output=True, text=True)
        assert record.returncode == 0, record.stderr
        assert calls.read_text().splitlines() == [
            "change/change_record.py --snapshot --change prod-change.json",
            "change/change_record.py --change prod-change.json",
        ]
        # A failing snapshot fails the step (no empty export).
        fake.write_text("#!/bin/sh\nexit 3\n")
        failed = subprocess.run(["bash", "-c", block], env={**env, "CHANGE_RECORD_STEP": "snapshot"}, capture_output=True, text=True)
        assert failed.returncode != 0
        # Without STAGE_NAME the step stops, saying so.
        unset = subprocess.run(["bash", "-c", block], env={"PATH": env["PATH"]}, capture_output=True, text=True)
        assert unset.returncode != 0 and "STAGE_NAME is set by the pipeline change-record action" in unset.stderr
