"""The deploy pipeline end to end on a local moto server: build, deploy staging, test, update.

moto deploys the SageMaker model, endpoint configuration and endpoint (and IAM) from the
stage template and skips what it does not implement (the alarms, autoscaling). moto names
endpoints itself, ignoring ``EndpointName``, so the tests find the endpoint from the stack.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_deploy_support import (
    SEED,
    aws_environment,
    client,
    moto_server,
    queue_endpoint_results,
    register_versions,
    run_script,
    unique,
)

pytestmark = [
    pytest.mark.integration,
    # moto's CloudFormation skips AWS::CloudWatch::Alarm and AWS::ApplicationAutoScaling::*
    # (moto 5.2.5), warning once per resource; the unit tests cover those resources.
    pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning"),
]

PROJECT, PROJECT_ID = "churn", "p-abc123def456"
TEST_ROWS = [f"{label},{i}.5,{i}.25,0.{i}" for i, label in enumerate([3, 7, 9, 11, 4, 6, 8, 10, 12, 5, 2, 1], start=1)]


@pytest.fixture(scope="module")
def deploy_stage_world(tmp_path_factory):
    """A moto server with a project bucket and key, a group with one approved version, built once."""
    with moto_server() as url:
        s3, kms, sagemaker = client(url, "s3"), client(url, "kms"), client(url, "sagemaker")
        bucket = f"sagemaker-project-{PROJECT_ID}"
        s3.create_bucket(Bucket=bucket)
        key_arn = kms.create_key(Description="project key")["KeyMetadata"]["Arn"]
        s3.put_object(Bucket=bucket, Key="run-1/test/test.csv", Body="\n".join(TEST_ROWS).encode() + b"\n")
        group = unique("churn-stage-")
        first = register_versions(
            sagemaker, group, ["Approved"], metadata={"TestDataS3Uri": f"s3://{bucket}/run-1/test/test.csv"}, artifact_bucket=bucket
        )[0]
        env = aws_environment(
            url,
            MODEL_PACKAGE_GROUP_NAME=group,
            SAGEMAKER_PROJECT_NAME=PROJECT,
            SAGEMAKER_PROJECT_ID=PROJECT_ID,
            ARTIFACT_BUCKET=bucket,
            ARTIFACT_KMS_KEY_ARN=key_arn,
        )
        out = tmp_path_factory.mktemp("build-1")
        built = run_script(SEED / "build.py", ["--output-dir", str(out)], env)
        assert built.returncode == 0, built.stderr
        yield {"url": url, "env": env, "group": group, "first": first, "out": out, "bucket": bucket}


def _deploy(cfn, stack: str, out: Path, stage: str, *, update: bool = False) -> dict:
    template = (out / "endpoint-stage.template.json").read_text()
    config = json.loads((out / f"{stage}-params.json").read_text())
    action = cfn.update_stack if update else cfn.create_stack
    action(
        StackName=stack,
        TemplateBody=template,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in config["Parameters"].items()],
        Tags=[{"Key": k, "Value": v} for k, v in config["Tags"].items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]


def _served_package(sagemaker, endpoint_name: str) -> str:
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return model["PrimaryContainer"]["ModelPackageName"]


def _outputs(stack: dict) -> dict:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_staging_deploys_in_service_and_updates_in_place_to_a_new_version(deploy_stage_world, tmp_path):
    world = deploy_stage_world
    url, out = world["url"], world["out"]
    cfn, sagemaker = client(url, "cloudformation"), client(url, "sagemaker")
    stack_name = f"sagemaker-{PROJECT}-{PROJECT_ID}-deploy-staging"

    created = _deploy(cfn, stack_name, out, "staging")
    assert created["StackStatus"] == "CREATE_COMPLETE"
    endpoint_name, endpoint_arn = _outputs(created)["EndpointName"], _outputs(created)["EndpointArn"]
    endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    assert endpoint["EndpointStatus"] == "InService"
    assert _served_package(sagemaker, endpoint_name) == world["first"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{world['bucket']}/data-capture"

    # A newer version is approved: the pipeline builds again and updates the stack.
    second = register_versions_more(sagemaker, world["group"], "Approved")
    rebuilt = tmp_path / "build-2"
    result = run_script(SEED / "build.py", ["--output-dir", str(rebuilt)], world["env"])
    assert result.returncode == 0, result.stderr
    assert f"deploying {second}" in result.stdout

    updated = _deploy(cfn, stack_name, rebuilt, "staging", update=True)
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    # In place: the same endpoint, now on a new configuration serving the new version.
    assert _outputs(updated)["EndpointArn"] == endpoint_arn
    after = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] != endpoint["EndpointConfigName"]
    assert _served_package(sagemaker, endpoint_name) == second
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"]}
    assert tags["model-package-arn"] == second
    assert (tags["sagemaker:project-name"], tags["sagemaker:project-id"]) == (PROJECT, PROJECT_ID)


def _model_policy(url: str, stack_name: str) -> dict[str, list[dict]]:
    """The deployed model role's policy statements, by action."""
    cfn, iam = client(url, "cloudformation"), client(url, "iam")
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    (arn,) = [r["PhysicalResourceId"] for r in resources if r.get("ResourceType") == "AWS::IAM::ManagedPolicy"]
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    by_action: dict[str, list[dict]] = {}
    for statement in document["Statement"]:
        for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            by_action.setdefault(action, []).append(statement)
    return by_action


def test_a_package_of_another_project_is_served_from_its_bucket_with_its_key(deploy_stage_world, tmp_path):
    world = deploy_stage_world
    url = world["url"]
    s3, kms, sagemaker = client(url, "s3"), client(url, "kms"), client(url, "sagemaker")
    other_bucket = "sagemaker-project-p-0ther0project"
    s3.create_bucket(Bucket=other_bucket)
    other_key = kms.create_key(Description="the other project's key")["KeyMetadata"]["Arn"]
    group = unique("shared-models-")
    package = register_versions(sagemaker, group, ["Approved"], artifact_bucket=other_bucket)[0]
    env = {**world["env"], "MODEL_PACKAGE_GROUP_NAME": group, "MODEL_ARTIFACT_BUCKET": other_bucket}
    project_key = env["ARTIFACT_KMS_KEY_ARN"]

    for key, stack_name in ((other_key, "shared-kms-deploy-staging"), ("", "shared-sse-s3-deploy-staging")):
        out = tmp_path / stack_name
        built = run_script(SEED / "build.py", ["--output-dir", str(out), "--stages", "staging"], {**env, "MODEL_ARTIFACT_KMS_KEY_ARN": key})
        assert built.returncode == 0, built.stderr
        stack = _deploy(client(url, "cloudformation"), stack_name, out, "staging")
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert _served_package(sagemaker, _outputs(stack)["EndpointName"]) == package

        by_action = _model_policy(url, stack_name)
        assert [s["Resource"] for s in by_action["s3:GetObject"]] == [f"arn:aws:s3:::{other_bucket}/*"]
        assert [s["Resource"] for s in by_action["s3:PutObject"]] == [f"arn:aws:s3:::{world['bucket']}/data-capture/*"]
        via_s3 = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
        # The project key (captured data), then the artifacts' key through S3 only; without
        # one, that statement names the project key again and so grants nothing more.
        assert [(s["Resource"], s.get("Condition")) for s in by_action["kms:Decrypt"]] == [
            (project_key, None),
            (key or project_key, via_s3),
        ]


def test_a_version_on_the_projects_own_image_deploys_with_a_role_that_pulls_it(deploy_stage_world, deploy_staging_endpoint, tmp_path):
    """The model build registered the project's inference image (in this account's ECR): the
    deployed stage role pulls that repository and AWS's images, and no other repository."""
    world = deploy_stage_world
    url = world["url"]
    sagemaker = client(url, "sagemaker")
    repository = f"sagemaker-{PROJECT_ID}-inference"
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{repository}@sha256:{'c' * 64}"
    group = unique("churn-own-image-")
    package = register_versions(sagemaker, group, ["Approved"], artifact_bucket=world["bucket"], image=image)[0]
    out = tmp_path / "build"
    env = {**world["env"], "MODEL_PACKAGE_GROUP_NAME": group}
    built = run_script(SEED / "build.py", ["--output-dir", str(out), "--stages", "staging"], env)
    assert built.returncode == 0, built.stderr
    stack_name = "own-image-deploy-staging"
    stack = _deploy(client(url, "cloudformation"), stack_name, out, "staging")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert _served_package(sagemaker, _outputs(stack)["EndpointName"]) == package
    (pull,) = _model_policy(url, stack_name)["ecr:BatchGetImage"]
    assert pull["Resource"] == [
        f"arn:aws:ecr:us-east-1:123456789012:repository/{repository}",
        "arn:aws:ecr:us-east-1:*:repository/sagemaker-xgboost",
    ]
    # Without a repository of this account (AWS's image), the entry repeats AWS's repository.
    (pull,) = _model_policy(url, "sagemaker-churn-tests-deploy-staging")["ecr:BatchGetImage"]
    assert pull["Resource"] == ["arn:aws:ecr:us-east-1:*:repository/sagemaker-xgboost"] * 2


def register_versions_more(sagemaker, group: str, status: str) -> str:
    """One more version in an existing group."""
    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


@pytest.fixture(scope="module")
def deploy_staging_endpoint(deploy_stage_world):
    """A staging stack of its own, for the staging-test script."""
    world = deploy_stage_world
    stack = _deploy(client(world["url"], "cloudformation"), "sagemaker-churn-tests-deploy-staging", world["out"], "staging")
    settings = json.loads((world["out"] / "staging-test.json").read_text())
    # moto names endpoints itself; point the settings at the one it made.
    settings["endpoint_name"] = _outputs(stack)["EndpointName"]
    return settings


def _run_staging_tests(world, settings: dict, tmp_path: Path):
    config = tmp_path / "staging-test.json"
    config.write_text(json.dumps(settings))
    report = tmp_path / "test-report.json"
    result = run_script(SEED / "test" / "test_endpoint.py", ["--config", str(config), "--report", str(report)], world["env"])
    return result, json.loads(report.read_text())


def test_staging_tests_pass_on_a_healthy_endpoint(deploy_stage_world, deploy_staging_endpoint, tmp_path):
    world, settings = deploy_stage_world, deploy_staging_endpoint
    # One prediction per row sent alone, then ten for the batch of ten rows.
    queue_endpoint_results(world["url"], [f"{i}.25" for i in range(10)] + ["\n".join(["7.5"] * 10)])
    result, report = _run_staging_tests(world, settings, tmp_path)
    assert result.returncode == 0, result.stderr
    assert report["passed"] is True and report["rows"] == 10
    assert report["model_package_arn"] == world["first"]
    assert report["latency_ms"]["p90"] <= settings["max_latency_ms"]


def test_staging_tests_fail_the_pipeline_on_bad_responses(deploy_stage_world, deploy_staging_endpoint, tmp_path):
    world = deploy_stage_world
    settings = {**deploy_staging_endpoint, "rows": 3, "label_column": None}
    # Rows are sent with their label this time, so moto sees new requests and takes new results.
    queue_endpoint_results(world["url"], ["oops", "1.0,2.0", "4.5", "1.0\n2.0"])
    result, report = _run_staging_tests(world, settings, tmp_path)
    assert result.returncode == 1
    assert report["passed"] is False
    assert report["failures"][0].startswith("row 0: response b'oops' is not numeric predictions")
    assert report["failures"][1] == "row 1: expected 1 prediction, got 2: b'1.0,2.0'"
    assert report["failures"][2] == "batch of 3 rows: expected 3 predictions, got 2"
    assert len(report["failures"]) == 3
    assert "endpoint tests FAILED" in result.stderr


def test_staging_tests_fail_when_the_endpoint_serves_another_version(deploy_stage_world, deploy_staging_endpoint, tmp_path):
    world = deploy_stage_world
    stale = {**deploy_staging_endpoint, "model_package_arn": world["first"].rsplit("/", 1)[0] + "/999"}
    result, report = _run_staging_tests(world, stale, tmp_path)
    assert result.returncode == 1
    assert "(did the deployment roll back?)" in report["failures"][0]


def test_staging_tests_fail_without_test_data(deploy_stage_world, deploy_staging_endpoint, tmp_path):
    result, report = _run_staging_tests(deploy_stage_world, {**deploy_staging_endpoint, "test_data_s3_uri": None}, tmp_path)
    assert result.returncode == 1
    assert report["failures"][0].startswith("no test data: register the model package with CustomerMetadataProperties")


# ----------------------------------------------------------------- a stage in another account

TOOLING_ACCOUNT, STAGING_ACCOUNT = "123456789012", "222222222222"  # moto's default account is the tooling one
BASELINE_PATH = "/sagemaker-projects-cdk/"


def _baseline_role(role: str) -> str:
    return f"arn:aws:iam::{STAGING_ACCOUNT}:role{BASELINE_PATH}sagemaker-projects-{TOOLING_ACCOUNT}-{role}"


def _in_staging(url: str, service: str):
    """A client acting in the staging account through its baseline's actions role (moto maps
    assumed-role credentials to the role's account)."""
    import boto3

    credentials = client(url, "sts").assume_role(RoleArn=_baseline_role("actions"), RoleSessionName="tests")["Credentials"]
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@pytest.fixture
def moto_kms_keys_from_cloudformation(monkeypatch):
    """moto 5 hands CloudFormation's ``Key``/``Value`` tags (it adds the stack's own) to KMS's
    tagger, which expects ``TagKey``/``TagValue``, and fails every ``AWS::KMS::Key``: convert
    them (the moto server runs in this process)."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        tags = [{"TagKey": t.get("Key", t.get("TagKey")), "TagValue": t.get("Value", t.get("TagValue"))} for t in properties.get("Tags", [])]
        patched = {**cloudformation_json, "Properties": {**properties, "Tags": tags}}
        return original(cls, resource_name, patched, account_id, region_name, **kwargs)

    monkeypatch.setattr(Key, "create_from_cloudformation_json", classmethod(create))


def test_a_stage_in_another_account_deploys_there_keeps_its_data_there_and_is_tested_through_its_role(
    deploy_stage_world, moto_kms_keys_from_cloudformation, tmp_path
):
    world = deploy_stage_world
    url = world["url"]
    assert _in_staging(url, "sts").get_caller_identity()["Account"] == STAGING_ACCOUNT
    # The baseline's endpoint role (TargetAccountStack creates it; moto enforces no policy).
    _in_staging(url, "iam").create_role(
        RoleName=f"sagemaker-projects-{TOOLING_ACCOUNT}-endpoint",
        Path=BASELINE_PATH,
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        ),
    )
    out = tmp_path / "build"
    env = {
        **world["env"],
        "STAGE_ACCOUNTS": f"{STAGING_ACCOUNT},",
        "STAGE_EXECUTION_ROLE_ARNS": f"{_baseline_role('endpoint')},",
        # Another test of this module may have registered a newer version without test-data metadata.
        "TEST_DATA_S3_URI": f"s3://{world['bucket']}/run-1/test/test.csv",
    }
    built = run_script(SEED / "build.py", ["--output-dir", str(out)], env)  # reads the tooling account's registry
    assert built.returncode == 0, built.stderr

    stack_name = f"sagemaker-{PROJECT}-{PROJECT_ID}-deploy-staging"
    buckets_before = {b["Name"] for b in _in_staging(url, "s3").list_buckets()["Buckets"]}
    stack = _deploy(_in_staging(url, "cloudformation"), stack_name, out, "staging")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    resources = {
        r["LogicalResourceId"]: r
        for r in _in_staging(url, "cloudformation").list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    }
    # Its own storage, no role of its own: the model runs as the baseline's endpoint role.
    assert {"StageStorageKey3261DDDD", "StageStorageBucket3206B1C6"} <= set(resources)
    assert "EndpointRole47E61C54" not in resources and "EndpointPolicyA1BBD448" not in resources
    capture_bucket = resources["StageStorageBucket3206B1C6"]["PhysicalResourceId"]
    assert capture_bucket in {b["Name"] for b in _in_staging(url, "s3").list_buckets()["Buckets"]} - buckets_before
    staging_sagemaker = _in_staging(url, "sagemaker")
    endpoint_name = _outputs(stack)["EndpointName"]
    endpoint = staging_sagemaker.describe_endpoint(EndpointName=endpoint_name)
    config = staging_sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = staging_sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["ExecutionRoleArn"] == _baseline_role("endpoint")
    served = model["PrimaryContainer"]["ModelPackageName"]  # the tooling account's newest approved version
    assert f"deploying {served}" in built.stdout and f":{TOOLING_ACCOUNT}:model-package/{world['group']}/" in served
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{capture_bucket}/data-capture"
    # Nothing of it in the tooling account.
    tooling_endpoints = {e["EndpointName"] for e in client(url, "sagemaker").list_endpoints()["Endpoints"]}
    assert endpoint_name not in tooling_endpoints

    # The staging tests: the endpoint through the staging role, the test set from the tooling bucket.
    settings = json.loads((out / "staging-test.json").read_text())
    settings["endpoint_name"] = endpoint_name
    config_file = tmp_path / "staging-test.json"
    config_file.write_text(json.dumps(settings))
    queue_endpoint_results(url, [f"{i}.25" for i in range(10)] + ["\n".join(["7.5"] * 10)], account=STAGING_ACCOUNT)
    report = tmp_path / "test-report.json"
    result = run_script(
        SEED / "test" / "test_endpoint.py",
        ["--config", str(config_file), "--report", str(report)],
        {**world["env"], "STAGE_ROLE_ARN": _baseline_role("actions")},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(report.read_text())["passed"] is True
    # Without the role, the tooling account has no such endpoint: the test fails.
    result = run_script(SEED / "test" / "test_endpoint.py", ["--config", str(config_file), "--report", str(report)], world["env"])
    assert result.returncode == 1
