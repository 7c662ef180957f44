"""The deploy seed's build step for each way to serve: a stage configuration's ``kind``
(realtime, async, batch) picks the stage template build.py writes and the parameters it fills.

Configuration checks run without AWS; the build itself runs as the pipeline runs it (a
subprocess, boto3 only) against a local moto server.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from model_deploy_support import (
    PROJECT_BUCKET,
    SEED,
    aws_environment,
    client,
    load_build_module,
    moto_server,
    register_versions,
    run_script,
    unique,
)
from sagemaker_projects_cdk.constructs.endpoint.batch import BATCH_STRATEGIES, JOIN_SOURCES, SCHEDULE_EXPRESSION, SPLIT_TYPES

build = load_build_module()
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

ASYNC = {
    "kind": "async",
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "max_concurrent_invocations_per_instance": 4,
    "data_capture": {"enabled": True, "sampling_percentage": 100},
    "autoscaling": {"enabled": True, "min_capacity": 0, "max_capacity": 2, "target_backlog_per_instance": 5},
    "smoke_test": {"rows": 5, "timeout_seconds": 900, "label_column": 0},
}
BATCH = {
    "kind": "batch",
    "instance_type": "ml.m5.large",
    "instance_count": 1,
    "max_payload_mb": 6,
    "split_type": "Line",
    "join_source": "None",
    "batch_strategy": "MultiRecord",
    "content_type": "text/csv",
    "schedule": "rate(1 day)",
    "smoke_test": {"rows": 5, "timeout_seconds": 1800, "label_column": 0},
}


def test_build_checks_batch_settings_as_the_library_does():
    assert build.SCHEDULE_EXPRESSION.pattern == SCHEDULE_EXPRESSION
    assert (build.SPLIT_TYPES, build.JOIN_SOURCES, build.BATCH_STRATEGIES) == (SPLIT_TYPES, JOIN_SOURCES, BATCH_STRATEGIES)


def test_each_kind_names_a_template_of_the_seed():
    assert build.KIND_TEMPLATES["realtime"] == build.TEMPLATE_FILE
    for name in build.KIND_TEMPLATES.values():
        assert (SEED / name).is_file(), name


@pytest.mark.parametrize("config", [ASYNC, BATCH], ids=["async", "batch"])
def test_valid_configurations_of_each_kind(config):
    settings, problems = build.check_stage_config("staging-config.json", config)
    assert problems == [] and settings["kind"] == config["kind"]
    parameters = build.stage_parameters(
        "staging",
        settings,
        {"SAGEMAKER_PROJECT_NAME": "churn", "SAGEMAKER_PROJECT_ID": "p-abc123def456", "ARTIFACT_BUCKET": PROJECT_BUCKET,
         "ARTIFACT_KMS_KEY_ARN": KEY_ARN, build.MODEL_ARTIFACT_BUCKET: PROJECT_BUCKET, build.MODEL_ARTIFACT_KMS_KEY_ARN: KEY_ARN},
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-p-abc123def456/3",
    )  # fmt: skip
    template = json.loads((SEED / build.KIND_TEMPLATES[config["kind"]]).read_text())
    assert build.check_against_template(template, "staging-params.json", parameters) == []
    assert set(parameters) == set(template["Parameters"])  # every parameter written, none unknown


def _with(base: dict, **changes) -> dict:
    config = json.loads(json.dumps(base))
    for dotted, value in changes.items():
        node = config
        *path, last = dotted.split("__")
        for part in path:
            node = node[part]
        node[last] = value
    return config


@pytest.mark.parametrize(
    "config, expected",
    [
        (_with(ASYNC, max_concurrent_invocations_per_instance=0), "max_concurrent_invocations_per_instance: invalid 0: expected a whole number from 1 to 1000"),
        (_with(ASYNC, autoscaling__min_capacity=3), "autoscaling.max_capacity: invalid 2: expected at least min_capacity (3)"),
        (_with(ASYNC, instance_count=3), "instance_count: invalid 3: expected at most autoscaling max_capacity (2)"),
        (_with(ASYNC, rollout={}), "rollout: unknown key"),
        (_with(BATCH, schedule="every day"), "schedule: invalid 'every day': expected a schedule expression"),
        (_with(BATCH, schedule="rate(1 days)"), "schedule: invalid 'rate(1 days)'"),
        (_with(BATCH, schedule="cron(0 2 * * * *)"), "schedule: invalid 'cron(0 2 * * * *)': expected a schedule expression"),
        (_with(BATCH, instance_count=0), "instance_count: invalid 0: expected a whole number from 1 to 100"),
        (_with(BATCH, max_payload_mb=-1), "max_payload_mb: invalid -1: expected a whole number from 0 to 100"),
        (_with(BATCH, batch_strategy="All"), "batch_strategy: invalid 'All'"),
        (_with(BATCH, split_type="Lines"), "split_type: invalid 'Lines': expected one of None, Line, RecordIO, TFRecord"),
        (_with(BATCH, join_source="Output"), "join_source: invalid 'Output'"),
        (_with(BATCH, max_payload_mb=101), "max_payload_mb: invalid 101"),
        (_with(BATCH, smoke_test={"rows": 5, "max_latency_ms": 100}), "smoke_test.max_latency_ms: unknown key"),
        (_with(BATCH, kind="stream"), "kind: invalid 'stream': expected one of 'realtime', 'async', 'batch'"),
    ],
)
def test_bad_settings_name_the_setting(config, expected):
    settings, problems = build.check_stage_config("staging-config.json", config)
    assert settings is None and any(expected in p for p in problems), problems


def test_a_schedule_may_be_empty_for_runs_after_deployments_only():
    settings, problems = build.check_stage_config("prod-config.json", _with(BATCH, schedule=""))
    assert problems == [] and settings["schedule"] == ""


@pytest.fixture(scope="module")
def kinds_moto():
    with moto_server() as url:
        yield url


def _seed(tmp_path: Path, staging: dict, prod: dict) -> Path:
    config_dir = tmp_path / "seed"
    config_dir.mkdir()
    for name in build.KIND_TEMPLATES.values():
        shutil.copyfile(SEED / name, config_dir / name)
    (config_dir / "staging-config.json").write_text(json.dumps(staging))
    (config_dir / "prod-config.json").write_text(json.dumps(prod))
    return config_dir


def _environment(url: str, group: str) -> dict[str, str]:
    return aws_environment(
        url,
        MODEL_PACKAGE_GROUP_NAME=group,
        SAGEMAKER_PROJECT_NAME="churn",
        SAGEMAKER_PROJECT_ID="p-abc123def456",
        ARTIFACT_BUCKET=PROJECT_BUCKET,
        ARTIFACT_KMS_KEY_ARN=KEY_ARN,
        TESTED_STAGES="staging",
    )


@pytest.mark.integration
@pytest.mark.parametrize("config", [ASYNC, BATCH], ids=["async", "batch"])
def test_build_writes_the_kinds_template_where_the_pipeline_deploys_it(kinds_moto, tmp_path, config):
    group = unique("churn-kinds-")
    arns = register_versions(client(kinds_moto, "sagemaker"), group, ["Approved"], metadata={"TestDataS3Uri": "s3://b/test.csv"})
    prod = {k: v for k, v in config.items() if k != "smoke_test"}
    config_dir = _seed(tmp_path, config, prod)
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--config-dir", str(config_dir), "--output-dir", str(out)], _environment(kinds_moto, group))
    assert result.returncode == 0, result.stderr
    kind_template = SEED / build.KIND_TEMPLATES[config["kind"]]
    # The pipeline deploys endpoint-stage.template.json: it holds the kind's template.
    assert (out / build.TEMPLATE_FILE).read_bytes() == kind_template.read_bytes()
    template = json.loads(kind_template.read_text())
    for stage in ("staging", "prod"):
        parameters = json.loads((out / f"{stage}-params.json").read_text())["Parameters"]
        assert build.check_against_template(template, stage, parameters) == []
        assert parameters["ModelPackageArn"] == arns[0] and parameters["StageName"] == stage
    test = json.loads((out / "staging-test.json").read_text())
    assert test["kind"] == config["kind"] and test["bucket"] == PROJECT_BUCKET
    assert test["stack_name"] == "sagemaker-churn-p-abc123def456-deploy-staging"
    assert test["timeout_seconds"] == config["smoke_test"]["timeout_seconds"]
    if config["kind"] == "async":
        assert test["input_prefix"] == "async-inference/churn-p-abc123def456-staging/input"
        assert parameters["MinCapacity"] == "0" and parameters["MaxConcurrentInvocationsPerInstance"] == "4"
    else:
        assert (test["test_input_prefix"], test["output_prefix"]) == ("batch-transform/staging/test-input", "batch-transform/staging/output")
        assert parameters["Schedule"] == "rate(1 day)" and parameters["SplitType"] == "Line"


@pytest.mark.integration
def test_stages_of_different_kinds_are_refused_before_anything_is_written(kinds_moto, tmp_path):
    group = unique("churn-mixed-")
    register_versions(client(kinds_moto, "sagemaker"), group, ["Approved"])
    config_dir = _seed(tmp_path, {k: v for k, v in ASYNC.items() if k != "smoke_test"}, BATCH)
    out = tmp_path / "build"
    result = run_script(SEED / "build.py", ["--config-dir", str(config_dir), "--output-dir", str(out)], _environment(kinds_moto, group) | {"TESTED_STAGES": ""})
    assert result.returncode == 1
    assert "every stage serves the same way; found staging: async, prod: batch" in result.stderr
    assert not out.exists()


TARGET, TOOLING = "210987654321", "123456789012"
BASELINE = f"arn:aws:iam::{TARGET}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}"
ENV = {
    "SAGEMAKER_PROJECT_NAME": "churn", "SAGEMAKER_PROJECT_ID": "p-abc123def456", "ARTIFACT_BUCKET": PROJECT_BUCKET,
    "ARTIFACT_KMS_KEY_ARN": KEY_ARN, build.MODEL_ARTIFACT_BUCKET: PROJECT_BUCKET, build.MODEL_ARTIFACT_KMS_KEY_ARN: KEY_ARN,
}  # fmt: skip
PACKAGE = f"arn:aws:sagemaker:us-east-1:{TOOLING}:model-package/churn-p-abc123def456/3"


def test_a_batch_stage_in_another_account_runs_as_the_baselines_transform_and_trigger_roles():
    settings, problems = build.check_stage_config("prod-config.json", BATCH)
    assert problems == []
    target = {"account": TARGET, "execution_role_arn": f"{BASELINE}-endpoint"}
    parameters = build.stage_parameters("prod", settings, ENV, PACKAGE, target)
    assert parameters["ExecutionRoleArn"] == f"{BASELINE}-endpoint"
    assert (parameters["StateMachineRoleArn"], parameters["TriggerRoleArn"]) == (f"{BASELINE}-transform", f"{BASELINE}-trigger")
    assert parameters["ArtifactBucketName"] == parameters["ArtifactKmsKeyArn"] == ""  # the stage's own storage
    template = json.loads((SEED / build.KIND_TEMPLATES["batch"]).read_text())
    assert build.check_against_template(template, "prod-params.json", parameters) == []
    # In this account the stack creates the roles itself.
    here = build.stage_parameters("staging", settings, ENV, PACKAGE)
    assert here["StateMachineRoleArn"] == here["TriggerRoleArn"] == here["ExecutionRoleArn"] == ""
    assert build.check_against_template(template, "staging-params.json", here) == []
    # Other kinds' templates have no such parameters.
    async_settings, _ = build.check_stage_config("prod-config.json", ASYNC)
    assert "StateMachineRoleArn" not in build.stage_parameters("prod", async_settings, ENV, PACKAGE, target)


def test_a_batch_stage_in_another_account_needs_the_baselines_endpoint_role_before_aws_is_called(tmp_path):
    config_dir = _seed(tmp_path, BATCH, {k: v for k, v in BATCH.items() if k != "smoke_test"})
    environ = {
        **ENV, "MODEL_PACKAGE_GROUP_NAME": "g", "DEPLOY_STAGES": "staging,prod", "STAGE_ACCOUNTS": f",{TARGET}",
        "STAGE_EXECUTION_ROLE_ARNS": f",arn:aws:iam::{TARGET}:role/sagemaker-projects/endpoint",
    }  # fmt: skip
    with pytest.raises(build.BuildError, match=r"prod-config.json: kind: a batch stage in another account runs its state "
                       r"machine and rules as the target-account baseline's 'transform' and 'trigger' roles.*"
                       rf"arn:aws:iam::{TARGET}:role/sagemaker-projects/endpoint, which is not one"):
        build.build(["staging", "prod"], config_dir, tmp_path / "out", environ, session=object())


def test_a_baseline_role_of_another_tooling_account_is_refused_before_aws_is_called(tmp_path):
    """A baseline serves the tooling account it was deployed for: its deployer passes only its own
    roles. This pipeline's account is ARTIFACT_KMS_KEY_ARN's (123456789012)."""
    config_dir = _seed(tmp_path, BATCH, {k: v for k, v in BATCH.items() if k != "smoke_test"})
    other = f"arn:aws:iam::{TARGET}:role/sagemaker-projects-cdk/sagemaker-projects-999999999999-endpoint"
    environ = {
        **ENV, "MODEL_PACKAGE_GROUP_NAME": "g", "DEPLOY_STAGES": "staging,prod", "STAGE_ACCOUNTS": f",{TARGET}",
        "STAGE_EXECUTION_ROLE_ARNS": f",{other}",
    }  # fmt: skip
    with pytest.raises(build.BuildError, match=rf"STAGE_EXECUTION_ROLE_ARNS: stage prod: {other} is the endpoint role of a "
                       rf"target-account baseline for tooling account 999999999999, but this pipeline's tooling account "
                       rf"is {TOOLING} \(ARTIFACT_KMS_KEY_ARN's\)"):
        build.build(["staging", "prod"], config_dir, tmp_path / "out", environ, session=object())


class _Registry:
    """A session whose SageMaker knows one approved version (``MODEL_PACKAGE_ARN``)."""

    region_name = "us-east-1"

    def client(self, name):
        assert name == "sagemaker", name
        package = {
            "ModelPackageArn": PACKAGE, "ModelPackageGroupName": "churn-p-abc123def456", "ModelApprovalStatus": "Approved",
            "InferenceSpecification": {"Containers": [{
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                "ModelDataUrl": f"s3://{PROJECT_BUCKET}/churn/model.tar.gz",
            }]},
        }  # fmt: skip
        return SimpleNamespace(describe_model_package=lambda **_: package, exceptions=SimpleNamespace(ClientError=Exception))


def test_a_batch_stage_in_another_account_with_a_template_from_before_is_a_problem(tmp_path):
    """A batch-stage.template.json from before batch stages in other accounts has no
    StateMachineRoleArn or TriggerRoleArn: its stack would create roles the baseline's deployer
    may not create. build.py says so (as for ModelImageRepositoryName) instead of dropping them."""
    config_dir = _seed(tmp_path, BATCH, {k: v for k, v in BATCH.items() if k != "smoke_test"})
    path = config_dir / build.KIND_TEMPLATES["batch"]
    template = json.loads(path.read_text())
    for name in ("StateMachineRoleArn", "TriggerRoleArn"):
        del template["Parameters"][name]
    path.write_text(json.dumps(template))
    environ = {
        **ENV, "MODEL_PACKAGE_GROUP_NAME": "churn-p-abc123def456", "MODEL_PACKAGE_ARN": PACKAGE,
        "DEPLOY_STAGES": "staging,prod", "STAGE_ACCOUNTS": f",{TARGET}", "STAGE_EXECUTION_ROLE_ARNS": f",{BASELINE}-endpoint",
    }  # fmt: skip
    with pytest.raises(build.BuildError) as raised:
        build.build(["staging", "prod"], config_dir, tmp_path / "out", environ, session=_Registry())
    message = str(raised.value)
    for name, role in (("StateMachineRoleArn", "transform"), ("TriggerRoleArn", "trigger")):
        assert (f"{build.TEMPLATE_FILE}: has no parameter {name}, so the prod batch stage in another account could not "
                f"run as the target-account baseline's role {BASELINE}-{role}") in message  # fmt: skip
    assert "staging batch stage" not in message  # this account's stage creates its own roles: the old template serves it


def _deploy(cfn, stack: str, out: Path, stage: str) -> dict:
    config = json.loads((out / f"{stage}-params.json").read_text())
    cfn.create_stack(
        StackName=stack,
        TemplateBody=(out / build.TEMPLATE_FILE).read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in config["Parameters"].items()],
        Tags=[{"Key": k, "Value": v} for k, v in config["Tags"].items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]


@pytest.mark.integration
@pytest.mark.parametrize("config", [ASYNC, BATCH], ids=["async", "batch"])
def test_the_written_stage_deploys_in_moto(kinds_moto, tmp_path, config):
    """What build.py writes deploys as CloudFormation deploys it (moto: the stack completes and
    creates the model; what moto implements of each kind's resources is created)."""
    group = unique("churn-deploy-")
    s3, kms = client(kinds_moto, "s3"), client(kinds_moto, "kms")
    s3.create_bucket(Bucket=PROJECT_BUCKET)
    key_arn = kms.create_key(Description="project key")["KeyMetadata"]["Arn"]
    register_versions(client(kinds_moto, "sagemaker"), group, ["Approved"], metadata={"TestDataS3Uri": "s3://b/t.csv"})
    config_dir = _seed(tmp_path, config, {k: v for k, v in config.items() if k != "smoke_test"})
    out = tmp_path / "build"
    environment = _environment(kinds_moto, group) | {"ARTIFACT_KMS_KEY_ARN": key_arn}
    result = run_script(SEED / "build.py", ["--config-dir", str(config_dir), "--output-dir", str(out)], environment)
    assert result.returncode == 0, result.stderr
    cfn = client(kinds_moto, "cloudformation")
    stack = _deploy(cfn, unique("sagemaker-churn-deploy-staging-"), out, "staging")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    created = {r.get("ResourceType") for r in cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]}
    assert "AWS::SageMaker::Model" in created
    outputs = {o["OutputKey"] for o in stack.get("Outputs", [])}
    if config["kind"] == "async":
        assert {"AWS::SageMaker::Endpoint", "AWS::SNS::Topic"} <= created
        assert {"EndpointName", "SuccessTopicArn", "ErrorTopicArn"} <= outputs
    else:
        assert {"AWS::StepFunctions::StateMachine", "AWS::Events::Rule"} <= created
        assert "StateMachineArn" in outputs
    if config["kind"] == "async":
        # The staging test against the deployed endpoint: moto writes each queued answer to S3.
        rows = ["0,1,2", "1,3,4", "0,5,6"]
        s3.put_object(Bucket=PROJECT_BUCKET, Key="test/test.csv", Body=("\n".join(rows) + "\n").encode())
        settings = json.loads((out / "staging-test.json").read_text())
        settings["test_data_s3_uri"] = f"s3://{PROJECT_BUCKET}/test/test.csv"
        # moto names CloudFormation's endpoints itself (it ignores EndpointName): use the stack's.
        settings["endpoint_name"] = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["EndpointName"]
        (out / "staging-test.json").write_text(json.dumps(settings))
        request = urllib.request.Request(
            f"{kinds_moto}/moto-api/static/sagemaker/async-endpoint-results",
            data=json.dumps({"results": [{"data": "0.5"} for _ in rows]}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()
        tested = run_script(
            SEED / "test" / "test_endpoint.py",
            ["--config", str(out / "staging-test.json"), "--report", str(out / "report.json")],
            environment,
        )
        assert tested.returncode == 0, tested.stderr
        report = json.loads((out / "report.json").read_text())
        assert report["passed"] and report["kind"] == "async" and report["rows"] == len(rows)


@pytest.mark.integration
def test_a_batch_stage_with_the_baselines_roles_deploys_in_moto_and_creates_no_iam(kinds_moto):
    """The batch stage as build.py writes it for another account (moto plays that account):
    the stack creates its own storage, no role or policy, and its state machine and rules run
    as the given roles."""
    account = "123456789012"  # moto's
    baseline = f"arn:aws:iam::{account}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}"
    settings, _ = build.check_stage_config("prod-config.json", BATCH)
    env = {**ENV, "SAGEMAKER_PROJECT_ID": "p-0ther0accnt1"}
    parameters = build.stage_parameters("prod", settings, env, PACKAGE, {"account": account, "execution_role_arn": f"{baseline}-endpoint"})
    cfn = client(kinds_moto, "cloudformation")
    name = unique("sagemaker-churn-deploy-prod-")
    template = json.loads((SEED / build.KIND_TEMPLATES["batch"]).read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            del resource["Properties"]["Tags"]  # moto 5's CloudFormation fails on a key's tags (KeyError 'TagKey')
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    created = {r["LogicalResourceId"]: r["ResourceType"] for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]}
    assert not [t for t in created.values() if t.startswith("AWS::IAM::")]
    assert {"AWS::KMS::Key", "AWS::S3::Bucket", "AWS::StepFunctions::StateMachine", "AWS::SageMaker::Model"} <= set(created.values())
    machine = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["StateMachineArn"]
    assert client(kinds_moto, "stepfunctions").describe_state_machine(stateMachineArn=machine)["roleArn"] == f"{baseline}-transform"
    events = client(kinds_moto, "events")
    rules = [r for r in events.list_rules()["Rules"] if r["Name"] == "p-0ther0accnt1-prod-deployed"]
    assert len(rules) == 1
    (target,) = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
    assert (target["Arn"], target["RoleArn"]) == (machine, f"{baseline}-trigger")
