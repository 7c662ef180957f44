"""The monitor seed's build step (build.py): configuration checks, then each stage's endpoint
followed to the model version it serves and that version's baselines, against moto.

Configuration checks run without AWS. The rest runs build.build in this process under
moto's mock (an approved version with DriftCheckBaselines, a model with PrimaryContainer, an
endpoint configuration with data capture), and main() once as the pipeline runs it: a
subprocess against a local moto server.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from monitor_support import (
    ACCOUNT,
    BIAS_CONFIG,
    BUCKET,
    CONTRACT_PARAMETERS,
    DRIFT_CHECK_BASELINES,
    EXPLAINABILITY_CONFIG,
    GROUP,
    KEY_ARN,
    OTHER_ACCOUNT,
    POST_TRAINING,
    PRE_TRAINING,
    PROJECT_ID,
    PROJECT_NAME,
    REGION,
    SEED,
    TOPIC_ARN,
    baseline_uri,
    capture_config,
    config_dir,
    copy_seed,
    deploy_endpoint,
    environment,
    load_build_module,
    placeholder_template,
    put_baselines,
    register_version,
)
from sagemaker_projects_cdk._internal.validation import INSTANCE_FAMILIES
from support import moto_environment

build = load_build_module()
GROUND_TRUTH = f"s3://{BUCKET}/ground-truth/staging"


def _config(name: str = "staging-config.json") -> dict[str, Any]:
    return json.loads((SEED / name).read_text())


def _params(output: Path, stage: str = "staging") -> dict[str, str]:
    return json.loads((output / f"{stage}-params.json").read_text())["Parameters"]


# ----------------------------------------------------------------- configuration (no AWS)


def test_shipped_stage_configs_are_valid() -> None:
    for name in ("staging-config.json", "prod-config.json"):
        settings, problems = build.check_stage_config(name, _config(name))
        assert problems == [] and settings is not None, problems
        assert settings["monitors"] == dict.fromkeys(build.MONITORS, True)
        # Hourly, jobs within the hour, the abalone model's regression output in column 0.
        assert (settings["schedule_expression"], settings["max_runtime_seconds"]) == ("cron(0 * ? * * *)", 3600)
        assert (settings["instance_type"], settings["instance_count"], settings["volume_size_gb"]) == ("ml.m5.xlarge", 1, 20)
        assert (settings["problem_type"], settings["inference_attribute"]) == ("Regression", "0")


def test_the_instance_families_match_the_library() -> None:
    # build.py runs without this library; its copy of the list must not drift.
    assert build.INSTANCE_FAMILIES == INSTANCE_FAMILIES


@pytest.mark.parametrize(
    "expression, seconds",
    [
        ("cron(0 * ? * * *)", 3600),
        ("cron(0 6 ? * * *)", 86400),
        ("cron(0 0/6 ? * * *)", 6 * 3600),
        ("cron(0 24 ? * * *)", None),
        ("cron(0 0/25 ? * * *)", None),
        ("cron(30 * ? * * *)", None),
        ("rate(1 hour)", None),
    ],
)
def test_schedule_periods(expression: str, seconds: int | None) -> None:
    assert build.schedule_period_seconds(expression) == seconds


def _broken(**changes: Any) -> dict[str, Any]:
    config = _config()
    for key, value in changes.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    return config


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"monitors": None}, "monitors: missing (expected an object"),
        (
            {"monitors": {"data_quality": "yes", "model_quality": True, "model_bias": True, "explainability": True}},
            "monitors.data_quality: 'yes' is a str, expected true or false",
        ),
        ({"monitors": {"data_qualty": True}}, "monitors.data_qualty: unknown key"),
        (
            {"schedule_expression": "rate(1 hour)"},
            "schedule_expression: invalid 'rate(1 hour)': expected a Model Monitor schedule",
        ),
        (
            {"max_runtime_seconds": 7200},
            "max_runtime_seconds: invalid 7200: expected at most the schedule's period (3600 seconds",
        ),
        ({"instance_type": "m5.xlarge"}, "instance_type: invalid 'm5.xlarge': expected an instance type"),
        ({"instance_count": 0}, "instance_count: invalid 0: expected a whole number from 1 to 100"),
        ({"volume_size_gb": "20"}, "volume_size_gb: '20' is a str"),
        ({"ground_truth_s3_uri": "bucket/prefix"}, "ground_truth_s3_uri: invalid 'bucket/prefix': expected an S3 prefix"),
        (
            {"problem_type": "Classification"},
            "problem_type: invalid 'Classification': expected one of Regression, BinaryClassification",
        ),
        ({"probability_attribute": "1"}, "probability_attribute: invalid '1': a Regression model has no probability"),
        (
            {"problem_type": "BinaryClassification", "inference_attribute": ""},
            "inference_attribute: missing: a BinaryClassification model needs",
        ),
        (
            {"problem_type": "BinaryClassification", "probability_threshold_attribute": "half"},
            "probability_threshold_attribute: invalid 'half'",
        ),
        ({"alarms": {"EndpointName": 1}}, "alarms.EndpointName: invalid name: EndpointName is set by other keys"),
        ({"alarms": {"DriftThreshold": [1]}}, "alarms.DriftThreshold: [1] is a list, expected a number or a string"),
        ({"colour": "blue"}, "colour: unknown key"),
    ],
)
def test_each_bad_config_is_named_with_what_is_expected(changes: dict[str, Any], expected: str) -> None:
    settings, problems = build.check_stage_config("staging-config.json", _broken(**changes))
    assert settings is None
    assert any(problem.startswith("staging-config.json: ") and expected in problem for problem in problems), problems


def test_a_daily_schedule_allows_longer_jobs() -> None:
    settings, problems = build.check_stage_config(
        "staging-config.json", _broken(schedule_expression="cron(0 3 ? * * *)", max_runtime_seconds=7200)
    )
    assert problems == [] and settings is not None
    # The shipped stage template takes what build.py allows for a daily schedule.
    shipped = json.loads((SEED / "monitor-stage.template.json").read_text())
    for seconds in ("7200", "86400"):
        problems = build.check_against_template(shipped, "staging-params.json", {"MaxRuntimeInSeconds": seconds})
        assert not [p for p in problems if "MaxRuntimeInSeconds" in p], problems


def test_bad_configs_environment_and_template_are_reported_together_before_any_aws_call(tmp_path: Path) -> None:
    configs = config_dir(tmp_path / "config")
    staging = json.loads((configs / "staging-config.json").read_text())
    staging["instance_count"] = 0
    (configs / "staging-config.json").write_text(json.dumps(staging))
    (configs / "prod-config.json").write_text("{not json")
    (configs / "monitor-stage.template.json").unlink()
    env = environment(ARTIFACT_KMS_KEY_ARN="alias/project", STAGE_ACCOUNTS=f"{OTHER_ACCOUNT},", NOTIFICATION_TOPIC_ARN="topic")
    del env["SAGEMAKER_PROJECT_ID"]
    with pytest.raises(build.BuildError) as raised:
        build.build(["staging", "prod"], configs, tmp_path / "out", env, session=object())  # no AWS: a session would fail
    message = str(raised.value)
    assert message.startswith("the monitoring configuration is invalid; nothing was written:")
    for expected in (
        "staging-config.json: instance_count: invalid 0",
        "prod-config.json: not valid JSON",
        "monitor-stage.template.json: cannot be read as JSON",
        "environment: SAGEMAKER_PROJECT_ID is not set",
        "environment: ARTIFACT_KMS_KEY_ARN 'alias/project' is not a KMS key ARN",
        "environment: NOTIFICATION_TOPIC_ARN 'topic' is not an SNS topic ARN",
        f"environment: stage staging is in account {OTHER_ACCOUNT} (STAGE_ACCOUNTS) but STAGE_ROLE_ARNS names no role there",
        "but STAGE_EXECUTION_ROLE_ARNS names no role there",
    ):
        assert expected in message, (expected, message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "variables, expected",
    [
        (
            {"STAGE_ACCOUNTS": OTHER_ACCOUNT},
            "STAGE_ACCOUNTS has 1 entries, expected one per stage of DEPLOY_STAGES (staging, prod)",
        ),
        ({"STAGE_ACCOUNTS": "12345,"}, "STAGE_ACCOUNTS: stage staging: '12345' is not a 12-digit account id"),
        (
            {
                "STAGE_ACCOUNTS": f",{OTHER_ACCOUNT}",
                "STAGE_ROLE_ARNS": f",arn:aws:iam::{ACCOUNT}:role/x",
                "STAGE_EXECUTION_ROLE_ARNS": f",arn:aws:iam::{OTHER_ACCOUNT}:role/y",
            },
            f"stage prod: STAGE_ROLE_ARNS role arn:aws:iam::{ACCOUNT}:role/x is not in account {OTHER_ACCOUNT}",
        ),
        (
            {"STAGE_ROLE_ARNS": f"arn:aws:iam::{OTHER_ACCOUNT}:role/x,"},
            "stage staging: STAGE_ROLE_ARNS names a role but STAGE_ACCOUNTS names no account",
        ),
    ],
)
def test_bad_stage_targets_are_named(variables: dict[str, str], expected: str) -> None:
    _, problems = build.stage_targets(["staging", "prod"], variables)
    assert any(expected in problem for problem in problems), problems


def test_stages_come_from_the_pipeline_environment_in_order() -> None:
    assert build.stages_from({}) == ["staging", "prod"]
    assert build.stages_from({"DEPLOY_STAGES": " qa , staging,prod "}) == ["qa", "staging", "prod"]


def test_definition_version_covers_job_definitions_only() -> None:
    parameters = {"InstanceType": "ml.m5.xlarge", "ScheduleExpression": "cron(0 * ? * * *)", "NotificationTopicArn": ""}
    version = build.definition_version(parameters, {})
    assert len(version) == 8 and int(version, 16) >= 0
    assert (
        build.definition_version({**parameters, "ScheduleExpression": "cron(0 0 ? * * *)", "NotificationTopicArn": TOPIC_ARN}, {})
        == version
    )
    assert build.definition_version({**parameters, "InstanceType": "ml.m5.2xlarge"}, {}) != version
    assert build.definition_version(parameters, {"x.json": b"{}"}) != build.definition_version(parameters, {"x.json": b"[]"})
    expected = hashlib.sha256(b"InstanceType=ml.m5.xlarge\n").hexdigest()[:8]
    assert version == expected
    # Alarm settings (the configs' "alarms") never reach a job definition.
    alarm = {"DataQualityAlarmMetricName": "feature_baseline_drift_length", "DataQualityAlarmThreshold": "0.2"}
    assert build.definition_version({**parameters, **alarm}, {}) == version
    # The stage template's content does: the same parameters through another template.
    with_template = build.definition_version(parameters, {}, b'{"Resources": {}}')
    assert with_template != version
    assert build.definition_version(parameters, {}, b'{"Resources": {"X": {}}}') != with_template


# ------------------------------------------------------------------------------ against moto


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A boto3 session on moto's mock with the project's bucket and baselines in it."""
    import boto3
    from moto import mock_aws

    moto_environment(monkeypatch, tmp_path, REGION)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        put_baselines(session.client("s3"))
        yield session


def _get(session: Any, uri: str) -> tuple[Any, dict[str, Any]]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    response = session.client("s3").get_object(Bucket=bucket, Key=key)
    return json.loads(response["Body"].read()), response


def _deploy_both(session: Any, baselines: dict[str, Any] | None = DRIFT_CHECK_BASELINES) -> str:
    sagemaker = session.client("sagemaker")
    arn = register_version(sagemaker, baselines)
    for stage in ("staging", "prod"):
        deploy_endpoint(sagemaker, stage, arn, capture_config())
    return arn


def test_every_monitor_gets_its_baselines_from_the_version_the_endpoint_serves(aws: Any, tmp_path: Path) -> None:
    arn = _deploy_both(aws)
    configs = config_dir(tmp_path / "config", ground_truth_s3_uri=GROUND_TRUTH, alarms={"DataQualityDriftThreshold": 0.2})
    template = placeholder_template({**CONTRACT_PARAMETERS, "DataQualityDriftThreshold": {"Type": "Number", "Default": 0.1}})
    (configs / "monitor-stage.template.json").write_text(json.dumps(template))
    out = tmp_path / "out"
    outputs = build.build(["staging", "prod"], configs, out, environment(), session=aws)

    assert sorted(path.name for path in out.iterdir()) == [
        "monitor-stage.template.json",
        "prod-params.json",
        "staging-params.json",
    ]
    assert json.loads((out / "monitor-stage.template.json").read_text()) == template
    written = json.loads((out / "staging-params.json").read_text())
    assert written["Tags"] == {
        "sagemaker:project-name": PROJECT_NAME,
        "sagemaker:project-id": PROJECT_ID,
        "sagemaker:deployment-stage": "staging",
    }
    params = written["Parameters"]
    version = params["DefinitionVersion"]
    prefix = f"s3://{BUCKET}/monitoring/staging/{version}"
    assert params == {
        "SageMakerProjectName": PROJECT_NAME,
        "SageMakerProjectId": PROJECT_ID,
        "StageName": "staging",
        "EndpointName": f"{PROJECT_NAME}-{PROJECT_ID}-staging",
        # Read from the endpoint configuration, not assumed.
        "DataCaptureS3Uri": f"s3://{BUCKET}/data-capture",
        "OutputS3Uri": f"s3://{BUCKET}/monitoring-reports/staging/",
        "KmsKeyArn": KEY_ARN,
        "ExecutionRoleArn": "",
        "DefinitionVersion": version,
        "EnableDataQuality": "true",
        "EnableModelQuality": "true",
        "EnableModelBias": "true",
        "EnableExplainability": "true",
        "DataQualityBaselineStatisticsUri": baseline_uri("dq-statistics.json"),
        "DataQualityBaselineConstraintsUri": baseline_uri("dq-constraints.json"),
        "ModelQualityBaselineConstraintsUri": baseline_uri("mq-constraints.json"),
        "ModelBiasAnalysisConfigUri": baseline_uri("bias-config.json"),
        "ModelBiasBaselineConstraintsUri": f"{prefix}/model-bias-constraints.json",
        "ExplainabilityAnalysisConfigUri": f"{prefix}/explainability-analysis-config.json",
        "ExplainabilityBaselineConstraintsUri": baseline_uri("shap.json"),
        "GroundTruthS3Uri": GROUND_TRUTH,
        "ProblemType": "Regression",
        "InferenceAttribute": "0",
        "ProbabilityAttribute": "",
        "ProbabilityThresholdAttribute": "",
        "ScheduleExpression": "cron(0 * ? * * *)",
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": "1",
        "VolumeSizeInGB": "20",
        "MaxRuntimeInSeconds": "3600",
        "NotificationTopicArn": TOPIC_ARN,
        "DataQualityDriftThreshold": "0.2",
    }
    assert len(version) == 8 and all(ch in "0123456789abcdef" for ch in version)

    # One bias baseline holding both checks' metrics, as the ModelBiasJobDefinition takes it.
    merged, response = _get(aws, params["ModelBiasBaselineConstraintsUri"])
    assert merged == {
        "version": "1.0",
        "pre_training_bias_metrics": PRE_TRAINING["pre_training_bias_metrics"],
        "post_training_bias_metrics": POST_TRAINING["post_training_bias_metrics"],
    }
    assert (response["ServerSideEncryption"], response["SSEKMSKeyId"]) == ("aws:kms", KEY_ARN)
    # The explainability configuration names the deployed model for the shadow endpoint.
    explain, _ = _get(aws, params["ExplainabilityAnalysisConfigUri"])
    assert explain["predictor"] == {
        **EXPLAINABILITY_CONFIG["predictor"],
        "model_name": f"{PROJECT_NAME}-{PROJECT_ID}-staging-model",
    }
    assert (explain["methods"], explain["headers"]) == (EXPLAINABILITY_CONFIG["methods"], EXPLAINABILITY_CONFIG["headers"])
    # The bias analysis configuration is the registered one, unchanged.
    assert _get(aws, params["ModelBiasAnalysisConfigUri"])[0] == BIAS_CONFIG

    prod = _params(out, "prod")
    assert (
        prod["EndpointName"] == f"{PROJECT_NAME}-{PROJECT_ID}-prod" and prod["OutputS3Uri"] == f"s3://{BUCKET}/monitoring-reports/prod/"
    )
    assert prod["ExplainabilityAnalysisConfigUri"].startswith(f"s3://{BUCKET}/monitoring/prod/{prod['DefinitionVersion']}/")
    assert outputs["stages"]["staging"]["model_package_arn"] == arn
    assert outputs["stages"]["staging"]["monitors"] == list(build.MONITORS)
    assert outputs["stages"]["staging"]["uploaded"] == [
        params["ModelBiasBaselineConstraintsUri"],
        params["ExplainabilityAnalysisConfigUri"],
    ]


def test_the_definition_version_is_stable_and_follows_the_job_definitions(aws: Any, tmp_path: Path) -> None:
    _deploy_both(aws)
    threshold = {"DataQualityDriftThreshold": {"Type": "Number", "Default": 0.1}}
    configs = config_dir(tmp_path / "config", template=placeholder_template({**CONTRACT_PARAMETERS, **threshold}))

    def version(**changes: Any) -> str:
        for name in ("staging-config.json",):
            config = {**_config(name), **changes}
            (configs / name).write_text(json.dumps(config))
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        build.build(["staging"], configs, out, environment(), session=aws)
        return _params(out)["DefinitionVersion"]

    first = version()
    assert version() == first  # same endpoint, same files: same job definitions, nothing replaced
    assert version(schedule_expression="cron(0 0/2 ? * * *)") == first  # the schedule is not in a job definition
    assert version(instance_type="ml.m5.2xlarge") != first
    assert version(monitors={**_config()["monitors"], "explainability": False}) != first
    # Alarm settings are not in a job definition: changing them replaces no job definition.
    assert version(alarms={"DataQualityDriftThreshold": 0.3}) == version(alarms={"DataQualityDriftThreshold": 0.2})


def test_a_changed_stage_template_renames_the_job_definitions(aws: Any, tmp_path: Path) -> None:
    """Job definition names are create-only: a template that changes a definition with the same
    parameters must give it a new name, so the version covers the template build.py copies."""
    _deploy_both(aws)
    template = placeholder_template()
    versions = []
    for n, changed in enumerate((template, template, {**template, "Description": "a changed job definition"})):
        configs = config_dir(tmp_path / f"config{n}", template=changed)
        out = tmp_path / f"out{n}"
        build.build(["staging"], configs, out, environment(), session=aws)
        versions.append(_params(out)["DefinitionVersion"])
        assert (out / "monitor-stage.template.json").read_bytes() == (configs / "monitor-stage.template.json").read_bytes()
    assert versions[0] == versions[1]
    assert versions[2] != versions[0]


def test_a_new_model_behind_the_endpoint_changes_the_explainability_definition(aws: Any, tmp_path: Path) -> None:
    sagemaker = aws.client("sagemaker")
    arn = register_version(sagemaker)
    deploy_endpoint(sagemaker, "staging", arn, capture_config())
    configs = config_dir(tmp_path / "config")
    build.build(["staging"], configs, tmp_path / "a", environment(), session=aws)
    name = f"{PROJECT_NAME}-{PROJECT_ID}-staging"
    sagemaker.create_model(
        ModelName=f"{name}-model-2",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/model",
        PrimaryContainer={"ModelPackageName": arn},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config-2",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model-2",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        DataCaptureConfig=capture_config(),
    )
    sagemaker.delete_endpoint(EndpointName=name)  # moto has no UpdateEndpoint; the result is the same
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config-2")
    build.build(["staging"], configs, tmp_path / "b", environment(), session=aws)
    before, after = _params(tmp_path / "a"), _params(tmp_path / "b")
    assert before["DefinitionVersion"] != after["DefinitionVersion"]
    assert _get(aws, after["ExplainabilityAnalysisConfigUri"])[0]["predictor"]["model_name"] == f"{name}-model-2"
    assert _get(aws, before["ExplainabilityAnalysisConfigUri"])[0]["predictor"]["model_name"] == f"{name}-model"


def test_without_ground_truth_model_quality_and_bias_stay_off_and_the_build_says_so(aws: Any, tmp_path: Path) -> None:
    _deploy_both(aws)
    outputs = build.build(["staging"], config_dir(tmp_path / "config"), tmp_path / "out", environment(), session=aws)
    params = _params(tmp_path / "out")
    assert [params[p] for p in ("EnableDataQuality", "EnableModelQuality", "EnableModelBias", "EnableExplainability")] == [
        "true",
        "false",
        "false",
        "true",
    ]
    assert (
        params["GroundTruthS3Uri"]
        == params["ModelQualityBaselineConstraintsUri"]
        == params["ModelBiasBaselineConstraintsUri"]
        == ""
    )
    assert params["ModelBiasAnalysisConfigUri"] == ""
    notes = outputs["stages"]["staging"]["notes"]
    assert any("model_quality is on in staging-config.json but ground_truth_s3_uri is empty" in note for note in notes), notes
    assert outputs["stages"]["staging"]["uploaded"] == [params["ExplainabilityAnalysisConfigUri"]]


def test_a_staging_endpoint_that_does_not_exist_yet_turns_the_monitors_off_without_failing(aws: Any, tmp_path: Path) -> None:
    register_version(aws.client("sagemaker"))
    configs = config_dir(tmp_path / "config", ground_truth_s3_uri=GROUND_TRUTH)
    outputs = build.build(["staging", "prod"], configs, tmp_path / "out", environment(), session=aws)
    for stage in ("staging", "prod"):
        params = _params(tmp_path / "out", stage)
        assert {params[p] for p in build.ENABLE_PARAMETERS.values()} == {"false"}
        assert {params[p] for p in (*build.BASELINE_PARAMETERS, "DataCaptureS3Uri", "OutputS3Uri", "KmsKeyArn")} == {""}
        assert params["EndpointName"] == f"{PROJECT_NAME}-{PROJECT_ID}-{stage}"
        assert build.check_against_template(placeholder_template(), "x", params) == []
        notes = outputs["stages"][stage]["notes"]
        assert any(
            f"endpoint {PROJECT_NAME}-{PROJECT_ID}-{stage} does not exist yet" in note and "every monitor" in note
            for note in notes
        ), notes
        assert outputs["stages"][stage]["monitors"] == [] and outputs["stages"][stage]["uploaded"] == []
    assert (tmp_path / "out" / "monitor-stage.template.json").is_file()


def test_a_missing_endpoint_is_an_error_when_endpoints_are_required(aws: Any, tmp_path: Path) -> None:
    with pytest.raises(build.BuildError) as raised:
        build.build(
            ["staging"], config_dir(tmp_path / "config"), tmp_path / "out", environment(), session=aws, require_endpoints=True
        )
    message = str(raised.value)
    assert f"stage staging: endpoint {PROJECT_NAME}-{PROJECT_ID}-staging does not exist yet" in message
    assert "--require-endpoints" in message and "InService" in message
    assert not (tmp_path / "out").exists()


def test_a_stage_whose_monitors_are_all_off_needs_no_endpoint(aws: Any, tmp_path: Path) -> None:
    configs = config_dir(tmp_path / "config", monitors=dict.fromkeys(build.MONITORS, False))
    outputs = build.build(["staging"], configs, tmp_path / "out", environment(), session=aws, require_endpoints=True)
    assert {_params(tmp_path / "out")[p] for p in build.ENABLE_PARAMETERS.values()} == {"false"}
    assert any("every monitor is off" in note for note in outputs["stages"]["staging"]["notes"])


@pytest.mark.parametrize(
    "capture, expected",
    [
        (None, "captures no data, so every monitoring job would find no input"),
        ({**capture_config(), "EnableCapture": False}, "captures no data"),
        (capture_config(modes=("Input",)), "captures Input, not both requests (Input) and responses (Output)"),
        (capture_config(percentage=0), "samples 0% of its requests"),
    ],
)
def test_an_endpoint_without_usable_data_capture_fails_with_what_to_do(
    aws: Any, tmp_path: Path, capture: Any, expected: str
) -> None:
    sagemaker = aws.client("sagemaker")
    deploy_endpoint(sagemaker, "staging", register_version(sagemaker), capture)
    with pytest.raises(build.BuildError) as raised:
        build.build(["staging"], config_dir(tmp_path / "config"), tmp_path / "out", environment(), session=aws)
    message = str(raised.value)
    assert message.startswith("the monitors cannot be set up; nothing was written:")
    assert f"stage staging: endpoint {PROJECT_NAME}-{PROJECT_ID}-staging (configuration" in message and expected in message
    assert '"data_capture": {"enabled": true, "sampling_percentage": 100}' in message
    assert not (tmp_path / "out").exists()


def test_a_version_without_baselines_fails_naming_each_missing_one(aws: Any, tmp_path: Path) -> None:
    _deploy_both(aws, baselines=None)
    configs = config_dir(tmp_path / "config", ground_truth_s3_uri=GROUND_TRUTH)
    with pytest.raises(build.BuildError) as raised:
        build.build(["staging", "prod"], configs, tmp_path / "out", environment(), session=aws)
    message = str(raised.value)
    for stage in ("staging", "prod"):
        assert f"stage {stage}: model package arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/1" in message
    for expected in (
        "data_quality needs DriftCheckBaselines.ModelDataQuality.Statistics (the model-build pipeline's DataQuality check registers it)",
        "model_quality needs DriftCheckBaselines.ModelQuality.Constraints",
        "model_bias needs DriftCheckBaselines.Bias.PostTrainingConstraints",
        "explainability needs DriftCheckBaselines.Explainability.ConfigFile",
        "RegisterNew<Check>Baseline=True",
        "or turn those monitors off in staging-config.json",
    ):
        assert expected in message, (expected, message)
    assert not (tmp_path / "out").exists()
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="monitoring/")


def test_only_the_baselines_of_monitors_that_are_on_are_needed(aws: Any, tmp_path: Path) -> None:
    _deploy_both(aws, baselines={"ModelDataQuality": DRIFT_CHECK_BASELINES["ModelDataQuality"]})
    monitors = {**dict.fromkeys(build.MONITORS, False), "data_quality": True}
    build.build(["staging"], config_dir(tmp_path / "config", monitors=monitors), tmp_path / "out", environment(), session=aws)
    params = _params(tmp_path / "out")
    assert params["EnableDataQuality"] == "true" and params["DataQualityBaselineConstraintsUri"] == baseline_uri(
        "dq-constraints.json"
    )


def test_bias_without_pre_training_constraints_keeps_the_post_training_metrics(aws: Any, tmp_path: Path) -> None:
    bias = {key: value for key, value in DRIFT_CHECK_BASELINES["Bias"].items() if key != "PreTrainingConstraints"}
    _deploy_both(aws, baselines={**DRIFT_CHECK_BASELINES, "Bias": bias})
    outputs = build.build(
        ["staging"],
        config_dir(tmp_path / "config", ground_truth_s3_uri=GROUND_TRUTH),
        tmp_path / "out",
        environment(),
        session=aws,
    )
    merged, _ = _get(aws, _params(tmp_path / "out")["ModelBiasBaselineConstraintsUri"])
    assert merged == {"version": "1.0", "post_training_bias_metrics": POST_TRAINING["post_training_bias_metrics"]}
    assert any("no pre-training bias constraints" in note for note in outputs["stages"]["staging"]["notes"])


def test_baseline_files_that_are_not_what_the_checks_write_are_refused(aws: Any, tmp_path: Path) -> None:
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key=f"{GROUP}/checks/post.json", Body=json.dumps(PRE_TRAINING).encode())
    _deploy_both(aws)
    with pytest.raises(build.BuildError) as raised:
        build.build(
            ["staging", "prod"],
            config_dir(tmp_path / "config", ground_truth_s3_uri=GROUND_TRUTH),
            tmp_path / "out",
            environment(),
            session=aws,
        )
    message = str(raised.value)
    assert f"post-training bias constraints {baseline_uri('post.json')} have no 'post_training_bias_metrics'" in message


def test_explainability_config_rewrite() -> None:
    registered = {**EXPLAINABILITY_CONFIG, "predictor": {"endpoint_name": "other", "endpoint_name_prefix": "x"}}
    rewritten = build.explainability_config_for(registered, "m-1", "s3://b/k", "p-1-clarify")
    assert rewritten["predictor"] == {
        "model_name": "m-1",
        "endpoint_name_prefix": "p-1-clarify",
        "content_type": "text/csv",
        "accept_type": "text/csv",
    }
    assert registered["predictor"]["endpoint_name"] == "other"  # the registered one is left as it was
    with pytest.raises(build.BuildError, match="has no 'methods.shap' section"):
        build.explainability_config_for({"methods": {"report": {}}}, "m-1", "s3://b/k", "p-1-clarify")


@pytest.mark.parametrize("containers, package", [(True, True), (False, False)])
def test_a_model_not_deployed_from_a_package_in_primary_container_fails(
    aws: Any, tmp_path: Path, containers: bool, package: bool
) -> None:
    sagemaker = aws.client("sagemaker")
    arn = register_version(sagemaker)
    deploy_endpoint(sagemaker, "staging", arn if package else None, capture_config(), containers=containers)
    with pytest.raises(build.BuildError) as raised:
        build.build(["staging"], config_dir(tmp_path / "config"), tmp_path / "out", environment(), session=aws)
    message = str(raised.value)
    how = (
        "has several containers (Containers), not one PrimaryContainer" if containers else "was not created from a model package"
    )
    assert f"model {PROJECT_NAME}-{PROJECT_ID}-staging-model of endpoint {PROJECT_NAME}-{PROJECT_ID}-staging {how}" in message


def test_parameters_the_template_does_not_declare_fail_before_anything_is_uploaded(aws: Any, tmp_path: Path) -> None:
    _deploy_both(aws)
    template = placeholder_template({name: spec for name, spec in CONTRACT_PARAMETERS.items() if name != "GroundTruthS3Uri"})
    configs = config_dir(tmp_path / "config", template=template, alarms={"DriftThreshold": 1})
    with pytest.raises(build.BuildError) as raised:
        build.build(["staging"], configs, tmp_path / "out", environment(), session=aws)
    message = str(raised.value)
    assert "staging-params.json: parameter GroundTruthS3Uri is not in monitor-stage.template.json" in message
    assert "staging-params.json: parameter DriftThreshold is not in monitor-stage.template.json" in message
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="monitoring/")


def test_a_stage_in_another_account_is_read_through_its_role(aws: Any, tmp_path: Path) -> None:
    import boto3

    sagemaker = aws.client("sagemaker")
    arn = register_version(sagemaker)
    deploy_endpoint(sagemaker, "staging", arn, capture_config())
    # Prod's endpoint, bucket and key are in the other account; the registry stays here.
    reader = f"arn:aws:iam::{OTHER_ACCOUNT}:role/sagemaker-projects-actions"
    monitoring = f"arn:aws:iam::{OTHER_ACCOUNT}:role/sagemaker-projects-endpoint"
    credentials = aws.client("sts").assume_role(RoleArn=reader, RoleSessionName="setup")["Credentials"]
    other = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    assert other.client("sts").get_caller_identity()["Account"] == OTHER_ACCOUNT
    other_key = f"arn:aws:kms:{REGION}:{OTHER_ACCOUNT}:key/abcd1234-12ab-34cd-56ef-1234567890ab"
    deploy_endpoint(
        other.client("sagemaker"), "prod", arn, capture_config(bucket="stage-bucket-prod", key=other_key), role=monitoring
    )
    env = environment(
        STAGE_ACCOUNTS=f",{OTHER_ACCOUNT}", STAGE_ROLE_ARNS=f",{reader}", STAGE_EXECUTION_ROLE_ARNS=f",{monitoring}"
    )
    build.build(["staging", "prod"], config_dir(tmp_path / "config"), tmp_path / "out", env, session=aws)
    prod = _params(tmp_path / "out", "prod")
    assert (prod["DataCaptureS3Uri"], prod["OutputS3Uri"], prod["KmsKeyArn"]) == (
        "s3://stage-bucket-prod/data-capture",
        "s3://stage-bucket-prod/monitoring-reports/prod/",
        other_key,
    )
    assert prod["ExecutionRoleArn"] == monitoring and _params(tmp_path / "out")["ExecutionRoleArn"] == ""
    # The baselines and the files built from them stay in this project's bucket.
    assert prod["DataQualityBaselineConstraintsUri"] == baseline_uri("dq-constraints.json")
    assert (
        _get(aws, prod["ExplainabilityAnalysisConfigUri"])[0]["predictor"]["model_name"]
        == f"{PROJECT_NAME}-{PROJECT_ID}-prod-model"
    )
    # Without the role, this account has no prod endpoint: read through the role it is found.
    assert build.endpoint_name(environment(), "prod") not in {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}


def test_a_bare_capture_key_id_becomes_an_arn_in_the_endpoints_account() -> None:
    endpoint = f"arn:aws:sagemaker:{REGION}:{OTHER_ACCOUNT}:endpoint/x"
    assert build.key_arn("abcd-1234", endpoint) == f"arn:aws:kms:{REGION}:{OTHER_ACCOUNT}:key/abcd-1234"
    assert build.key_arn(KEY_ARN, endpoint) == KEY_ARN
    assert build.key_arn("", endpoint) == ""


# --------------------------------------------------------------------- as the pipeline runs it


def test_main_writes_the_files_and_says_what_it_did_against_a_moto_server(tmp_path: Path) -> None:
    from model_deploy_support import aws_environment, client, moto_server, run_script

    seed = copy_seed(tmp_path / "repo")
    with moto_server() as url:
        s3, sagemaker = client(url, "s3"), client(url, "sagemaker")
        put_baselines(s3)
        arn = register_version(sagemaker)
        deploy_endpoint(sagemaker, "staging", arn, capture_config())
        env = aws_environment(url, **environment())
        done = run_script(seed / "build.py", ["--output-dir", str(tmp_path / "build")], env, cwd=seed)
        assert done.returncode == 0, done.stderr
        staging = _params(tmp_path / "build")
        assert (
            f"build.py: staging: monitors data_quality, explainability of {arn}; definition {staging['DefinitionVersion']}"
            in done.stdout
        )
        assert f"build.py: staging: uploaded {staging['ExplainabilityAnalysisConfigUri']}" in done.stdout
        assert f"build.py: prod: NOTE: endpoint {PROJECT_NAME}-{PROJECT_ID}-prod does not exist yet" in done.stdout
        assert _params(tmp_path / "build", "prod")["EnableDataQuality"] == "false"

        failed = run_script(seed / "build.py", ["--output-dir", str(tmp_path / "strict"), "--require-endpoints"], env, cwd=seed)
        assert failed.returncode == 1
        assert failed.stderr.startswith("build.py: the monitors cannot be set up; nothing was written:")
        assert f"stage prod: endpoint {PROJECT_NAME}-{PROJECT_ID}-prod does not exist yet" in failed.stderr
        assert not (tmp_path / "strict").exists()
    assert not list(seed.glob("__pycache__"))


# --------------------------------------------------------------------------- the repository


def test_the_repository_layout() -> None:
    names = {path.name for path in SEED.iterdir()}
    assert {"build.py", "buildspec.yml", "README.md", "requirements.txt", "staging-config.json", "prod-config.json"} <= names
    assert names <= {
        "build.py",
        "buildspec.yml",
        "README.md",
        "requirements.txt",
        "staging-config.json",
        "prod-config.json",
        "monitor-stage.template.json",
    }
    requirements = [line for line in (SEED / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert requirements == ["boto3>=1.40,<2"]
    imported: set[str] = set()
    for node in ast.walk(ast.parse((SEED / "build.py").read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported - {"__future__", "argparse", "hashlib", "json", "os", "re", "shutil", "sys", "pathlib", "typing"} == {"boto3"}


def test_the_buildspec_runs_build_py_and_ships_what_it_writes() -> None:
    import yaml

    spec = yaml.safe_load((SEED / "buildspec.yml").read_text())
    assert spec["phases"]["build"]["commands"] == ["python build.py --output-dir build"]
    assert spec["phases"]["install"]["commands"] == ["python -m pip install --quiet -r requirements.txt"]
    assert spec["artifacts"] == {"base-directory": "build", "files": ["monitor-stage.template.json", "*-params.json"]}


def test_the_readme_documents_every_variable_and_setting() -> None:
    readme = (SEED / "README.md").read_text()
    source = (SEED / "build.py").read_text()
    variables = {
        *build.REQUIRED_ENVIRONMENT,
        "MODEL_PACKAGE_GROUP_NAME",
        "DEPLOY_STAGES",
        "STAGE_ACCOUNTS",
        "STAGE_ROLE_ARNS",
        "STAGE_EXECUTION_ROLE_ARNS",
        "NOTIFICATION_TOPIC_ARN",
        "AWS_REGION",
    }
    for variable in variables:
        assert f"`{variable}`" in readme, variable
        assert variable in source, variable
    for key in build.TOP_LEVEL_KEYS | set(build.MONITORS):
        assert f"`{key}`" in readme, key
    for name in (
        "staging-params.json",
        "monitor-stage.template.json",
        "--require-endpoints",
        "model-bias-constraints.json",
        "explainability-analysis-config.json",
    ):
        assert name in readme, name


SHIPPED_TEMPLATE = SEED / "monitor-stage.template.json"


@pytest.mark.skipif(not SHIPPED_TEMPLATE.exists(), reason="monitor-stage.template.json is generated by the monitor stage stack")
def test_the_files_written_fit_the_shipped_template(aws: Any, tmp_path: Path) -> None:
    """What build.py writes, with monitors on and off, is what the generated template declares and accepts."""
    template = json.loads(SHIPPED_TEMPLATE.read_text())
    assert set(CONTRACT_PARAMETERS) <= set(template["Parameters"])
    sagemaker = aws.client("sagemaker")
    deploy_endpoint(sagemaker, "staging", register_version(sagemaker), capture_config())  # prod: not deployed yet
    configs = config_dir(tmp_path / "config", template=template, ground_truth_s3_uri=GROUND_TRUTH)
    build.build(["staging", "prod"], configs, tmp_path / "out", environment(), session=aws)
    assert {_params(tmp_path / "out")[p] for p in build.ENABLE_PARAMETERS.values()} == {"true"}
    assert {_params(tmp_path / "out", "prod")[p] for p in build.ENABLE_PARAMETERS.values()} == {"false"}
    for stage in ("staging", "prod"):
        assert build.check_against_template(template, stage, _params(tmp_path / "out", stage)) == []


def test_the_monitoring_role_may_run_the_shadow_endpoint_the_written_explainability_config_names(
    aws: Any, tmp_path: Path
) -> None:
    """The shadow endpoint prefix comes from what build.py uploads, the role from the shipped
    stage template resolved with the parameters build.py writes: they must agree, or every
    explainability run fails with AccessDenied on CreateEndpointConfig."""
    from iam_eval import Policy, Resolver, role_policy_documents

    _deploy_both(aws)
    shipped = json.loads((SEED / "monitor-stage.template.json").read_text())
    configs = config_dir(tmp_path / "config", template=shipped)
    out = tmp_path / "out"
    build.build(["staging"], configs, out, environment(), session=aws)
    params = _params(out)
    assert params["EnableExplainability"] == "true" and params["ExecutionRoleArn"] == ""
    prefix = _get(aws, params["ExplainabilityAnalysisConfigUri"])[0]["predictor"]["endpoint_name_prefix"]
    assert prefix.startswith(PROJECT_ID)

    resolver = Resolver(shipped, parameters=params, region=REGION, account=ACCOUNT)
    role_id = next(r for r, v in shipped["Resources"].items() if v["Type"] == "AWS::IAM::Role")
    policy = Policy(role_policy_documents(resolver, role_id))
    # SageMaker lower-cases endpoint names in ARNs; Clarify appends its own suffix to the prefix.
    shadow = f"{prefix}-20250101000000-0123".lower()
    for action, kind in (
        ("CreateEndpointConfig", "endpoint-config"),
        ("DescribeEndpointConfig", "endpoint-config"),
        ("CreateEndpoint", "endpoint"),
        ("DescribeEndpoint", "endpoint"),
        ("InvokeEndpoint", "endpoint"),
        ("DeleteEndpoint", "endpoint"),
        ("DeleteEndpointConfig", "endpoint-config"),
    ):
        assert policy.allowed(f"sagemaker:{action}", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{shadow}"), action
    # Reports, yes; the baselines build.py uploaded to the same bucket, never.
    def object_arn(uri: str) -> str:
        return "arn:aws:s3:::" + uri[len("s3://") :]

    assert policy.allowed("s3:PutObject", object_arn(params["OutputS3Uri"]) + "x/constraint_violations.json")
    assert not policy.allowed("s3:PutObject", object_arn(params["ExplainabilityAnalysisConfigUri"]))
    # Nothing else: not another project's shadow endpoints, not the stage endpoint itself.
    for other in ("p-otherproject1-clarify-x", "sagemaker-clarify-x", params["EndpointName"].lower()):
        assert not policy.allowed("sagemaker:CreateEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{other}"), other



@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_the_seeded_configs_create_a_data_quality_drift_alarm_and_no_model_quality_alarm(
    aws: Any, tmp_path: Path, stage: str
) -> None:
    """Drift becomes action by default: the shipped configs, through build.py, give the shipped
    stage template a data quality alarm on the drift metric of an abalone feature. The data
    quality baseline reads the headerless training split (label first), so its features are
    _c0 (rings), _c1 (length), ...; Model Monitor publishes feature_baseline_drift_<feature>.
    Model quality has no ground truth by default, so no model quality alarm."""
    import importlib.util

    from iam_eval import Resolver

    path = SEED.parent / "model_build" / "pipelines" / "abalone" / "preprocess.py"
    spec = importlib.util.spec_from_file_location("abalone_preprocess", path)
    assert spec is not None and spec.loader is not None
    preprocess = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(preprocess)
    training_columns = [preprocess.LABEL, *preprocess.FEATURES]  # the training split's layout
    baseline_features = {f"_c{i}": name for i, name in enumerate(training_columns)}

    _deploy_both(aws)
    shipped = json.loads((SEED / "monitor-stage.template.json").read_text())
    configs = config_dir(tmp_path / "config", template=shipped)
    for name in ("staging-config.json", "prod-config.json"):  # the configs exactly as shipped
        (configs / name).write_bytes((SEED / name).read_bytes())
    out = tmp_path / "out"
    build.build([stage], configs, out, environment(), session=aws)
    params = _params(out, stage)
    resolver = Resolver(shipped, parameters=params, region=REGION, account=ACCOUNT)
    alarms = {
        logical_id: resource
        for logical_id, resource in shipped["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resolver.condition(resource["Condition"])
    }
    assert len(alarms) == 1, sorted(alarms)
    (alarm,) = (resolver.resolve(a["Properties"]) for a in alarms.values())
    assert alarm["Namespace"] == "aws/sagemaker/Endpoints/data-metrics"
    metric = alarm["MetricName"]
    assert metric.startswith("feature_baseline_drift_")
    feature = metric[len("feature_baseline_drift_") :]
    assert baseline_features[feature] in preprocess.FEATURES  # a model input, not the label
    assert float(alarm["Threshold"]) > 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert {"Name": "Endpoint", "Value": params["EndpointName"]} in alarm["Dimensions"]
    assert alarm["AlarmActions"] == [TOPIC_ARN]
    assert params["EnableDataQuality"] == "true" and params["GroundTruthS3Uri"] == ""
