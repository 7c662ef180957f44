"""MonitorStageStack: the per-stage Model Monitor template, and the copy the monitor seed carries.

The template is synthesized once; each combination of monitors and ground truth is then
evaluated the way CloudFormation would (``iam_eval.Resolver``: conditions, ``Fn::If``,
``AWS::NoValue``, the Region mapping), and the requests CloudFormation would send are
validated against SageMaker's API model (botocore).
"""

from __future__ import annotations

import itertools
import json
import re

import botocore.session
import pytest
from aws_cdk import App
from botocore.validate import ParamValidator
from role_checks import RoleCheck, missing, request, role_policy_with_managed, unneeded

from iam_eval import Resolver
from sagemaker_projects_cdk.compliance import add_security_packs
from sagemaker_projects_cdk.constructs.monitor import MONITOR_REGIONS, image_uris
from sagemaker_projects_cdk.constructs.monitor.images import ANALYZER_ACCOUNTS, CLARIFY_ACCOUNTS
from sagemaker_projects_cdk.stacks.monitor_stage import (
    REGENERATE_COMMAND,
    STAGE_TEMPLATE_PATH,
    MonitorStageStack,
    render_stage_template,
    synth_stage_template,
)
from support import REPO

REGION = "eu-west-1"
ACCOUNT = "123456789012"
BUCKET = "sagemaker-project-p-abc123def456"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:sagemaker-churn-p-abc123def456-notifications"
BASE = f"s3://{BUCKET}/monitoring/staging/0a1b2c3d"

CONTRACT_PARAMETERS = {
    "SageMakerProjectName", "SageMakerProjectId", "StageName", "EndpointName", "DataCaptureS3Uri", "OutputS3Uri",
    "KmsKeyArn", "ExecutionRoleArn", "DefinitionVersion", "EnableDataQuality", "EnableModelQuality", "EnableModelBias",
    "EnableExplainability", "DataQualityBaselineStatisticsUri", "DataQualityBaselineConstraintsUri",
    "ModelQualityBaselineConstraintsUri", "ModelBiasAnalysisConfigUri", "ModelBiasBaselineConstraintsUri",
    "ExplainabilityAnalysisConfigUri", "ExplainabilityBaselineConstraintsUri", "GroundTruthS3Uri", "ProblemType",
    "InferenceAttribute", "ProbabilityAttribute", "ProbabilityThresholdAttribute", "ScheduleExpression", "InstanceType",
    "InstanceCount", "VolumeSizeInGB", "MaxRuntimeInSeconds", "NotificationTopicArn",
}  # fmt: skip
#: Parameters this template adds to the contract (all with defaults).
ADDED_PARAMETERS = {
    "DataQualityAlarmMetricName", "DataQualityAlarmThreshold", "ModelQualityAlarmMetricName",
    "ModelQualityAlarmThreshold", "ModelQualityAlarmComparison",
    "PrivateVpcId", "PrivateSubnetIds", "PrivateSecurityGroupIds",
}  # fmt: skip
MONITORS = {
    "DataQuality": "EnableDataQuality",
    "ModelQuality": "EnableModelQuality",
    "ModelBias": "EnableModelBias",
    "ModelExplainability": "EnableExplainability",
}
SLUGS = {
    "DataQuality": "data-quality",
    "ModelQuality": "model-quality",
    "ModelBias": "model-bias",
    "ModelExplainability": "explainability",
}
SAGEMAKER_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def stage_parameters(**overrides: str) -> dict[str, str]:
    """What the monitor seed's build.py writes for a stage, every monitor on, with ground truth."""
    return {
        "SageMakerProjectName": "churn",
        "SageMakerProjectId": "p-abc123def456",
        "StageName": "staging",
        "EndpointName": "churn-p-abc123def456-staging",
        "DataCaptureS3Uri": f"s3://{BUCKET}/data-capture",
        "OutputS3Uri": f"s3://{BUCKET}/monitoring-reports/staging/",
        "KmsKeyArn": KEY,
        "ExecutionRoleArn": "",
        "DefinitionVersion": "0a1b2c3d",
        "EnableDataQuality": "true",
        "EnableModelQuality": "true",
        "EnableModelBias": "true",
        "EnableExplainability": "true",
        "DataQualityBaselineStatisticsUri": f"{BASE}/data-quality/statistics.json",
        "DataQualityBaselineConstraintsUri": f"{BASE}/data-quality/constraints.json",
        "ModelQualityBaselineConstraintsUri": f"{BASE}/model-quality/constraints.json",
        "ModelBiasAnalysisConfigUri": f"{BASE}/model-bias/analysis_config.json",
        "ModelBiasBaselineConstraintsUri": f"{BASE}/model-bias/constraints.json",
        "ExplainabilityAnalysisConfigUri": f"{BASE}/explainability/analysis_config.json",
        "ExplainabilityBaselineConstraintsUri": f"{BASE}/explainability/constraints.json",
        "GroundTruthS3Uri": f"s3://{BUCKET}/ground-truth/staging",
        "ProblemType": "Regression",
        "InferenceAttribute": "0",
        "NotificationTopicArn": TOPIC,
        "DataQualityAlarmMetricName": "feature_baseline_drift_length",
        "ModelQualityAlarmMetricName": "rmse",
        "ModelQualityAlarmThreshold": "2.5",
        **overrides,
    }


@pytest.fixture(scope="module")
def template() -> dict:
    """A fresh synth, with the security packs on (a finding raises)."""
    return synth_stage_template(security_packs=True)


def active(resolver: Resolver, template: dict) -> dict[str, dict]:
    """The resources CloudFormation creates with the resolver's parameters, resolved."""
    return {
        logical_id: {"Type": r["Type"], "Properties": resolver.resolve(r.get("Properties", {}))}
        for logical_id, r in template["Resources"].items()
        if "Condition" not in r or resolver.condition(r["Condition"])
    }


# ------------------------------------------------------------------ the checked-in copy


def test_checked_in_template_is_a_fresh_synth(template):
    assert STAGE_TEMPLATE_PATH.read_text(encoding="utf-8") == render_stage_template(template), (
        f"{STAGE_TEMPLATE_PATH.name} is stale: regenerate it with '{REGENERATE_COMMAND}' and commit it"
    )


def test_checked_in_template_fits_what_cloudformation_takes_inline():
    """CodePipeline's CloudFormation action passes the template inline (TemplateBody: at most
    51,200 bytes). Indented, this template was 62.5 kB; compact, 43.2 kB."""
    size = STAGE_TEMPLATE_PATH.stat().st_size
    assert size <= 51_200, f"{STAGE_TEMPLATE_PATH.name} is {size} bytes: more than CloudFormation takes inline"


def test_project_feature_flags_do_not_change_the_template(template):
    app = App(context=json.loads((REPO / "cdk.json").read_text())["context"])
    stack = MonitorStageStack(app, "MonitorStage")
    add_security_packs(app)
    assert app.synth().get_stack_artifact(stack.artifact_id).template == template


def test_template_needs_no_bootstrap_and_has_no_assets_or_metadata(template):
    text = json.dumps(template)
    assert "BootstrapVersion" not in template["Parameters"]
    assert set(template["Rules"]) == {f"{t}Inputs" for t in MONITORS} | {"MonitorLocations", "PrivateNetworkTogether"}
    assert "CDKMetadata" not in template["Resources"]
    assert not re.search(r"AssetParameters|cdk-hnb659fds|aws:cdk:|aws:asset", text)
    assert "arn:aws:" not in text


def test_every_setting_is_a_parameter_with_the_contracts_defaults(template):
    parameters = template["Parameters"]
    assert set(parameters) == CONTRACT_PARAMETERS | ADDED_PARAMETERS
    required = {name for name, spec in parameters.items() if "Default" not in spec}
    baselines = {
        "DataQualityBaselineStatisticsUri", "DataQualityBaselineConstraintsUri", "ModelQualityBaselineConstraintsUri",
        "ModelBiasAnalysisConfigUri", "ModelBiasBaselineConstraintsUri", "ExplainabilityAnalysisConfigUri",
        "ExplainabilityBaselineConstraintsUri",
    }  # fmt: skip
    # The baselines' URIs have no default (cfn-lint would check an empty one against the job definitions'
    # URI patterns), but take an empty value for a monitor that is off.
    assert required == {"StageName", "EndpointName", "DataCaptureS3Uri", "OutputS3Uri", "DefinitionVersion", *baselines}
    for name in ("DataCaptureS3Uri", "OutputS3Uri"):
        assert re.fullmatch(parameters[name]["AllowedPattern"].strip("^$"), "")
    for name in baselines:
        assert re.fullmatch(parameters[name]["AllowedPattern"].strip("^$"), "")
    defaults = {name: spec.get("Default") for name, spec in parameters.items()}
    assert defaults["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert defaults["InstanceType"] == "ml.m5.xlarge"
    assert (defaults["InstanceCount"], defaults["VolumeSizeInGB"], defaults["MaxRuntimeInSeconds"]) == (1, 20, 3600)
    # Up to a daily schedule's period (SageMaker: within the schedule's period; the monitor
    # seed's build.py checks the period of the schedule it writes).
    assert parameters["MaxRuntimeInSeconds"]["MaxValue"] == 86400
    assert parameters["ProblemType"]["AllowedValues"] == ["Regression", "BinaryClassification", "MulticlassClassification"]
    assert defaults["ProblemType"] == "Regression"
    for switch in MONITORS.values():
        assert parameters[switch]["AllowedValues"] == ["false", "true"]
    for name in ("KmsKeyArn", "ExecutionRoleArn", "GroundTruthS3Uri", "NotificationTopicArn", "ProbabilityThresholdAttribute"):
        assert defaults[name] == "" and re.fullmatch(parameters[name]["AllowedPattern"].strip("^$"), "")
    version = parameters["DefinitionVersion"]["AllowedPattern"].strip("^$")
    assert re.fullmatch(version, "0a1b2c3d") and not re.fullmatch(version, "0A1B2C3D") and not re.fullmatch(version, "0a1b2c3")
    schedule = parameters["ScheduleExpression"]["AllowedPattern"].strip("^$")
    for good in ("cron(0 * ? * * *)", "cron(0 0 ? * * *)", "cron(0 */6 ? * * *)".replace("*/6", "0/6")):
        assert re.fullmatch(schedule, good), good
    assert not re.fullmatch(schedule, "rate(1 hour)") and not re.fullmatch(schedule, "cron(30 * ? * * *)")


# ------------------------------------------------------------------ every combination


COMBINATIONS = [
    (dict(zip(MONITORS, flags, strict=True)), ground_truth)
    for flags in itertools.product([False, True], repeat=4)
    for ground_truth in (False, True)
]


def _combination_id(combination) -> str:
    flags, ground_truth = combination
    on = [t for t, f in flags.items() if f] or ["none"]
    return "+".join(on) + ("-groundtruth" if ground_truth else "")


@pytest.mark.parametrize("combination", COMBINATIONS, ids=[_combination_id(c) for c in COMBINATIONS])
def test_each_enabled_monitor_has_a_definition_a_schedule_and_an_alarm(template, combination):
    flags, ground_truth = combination
    parameters = stage_parameters(
        **{MONITORS[t]: str(on).lower() for t, on in flags.items()},
        GroundTruthS3Uri=f"s3://{BUCKET}/ground-truth/staging" if ground_truth else "",
    )
    resolver = Resolver(template, parameters=parameters, region=REGION, account=ACCOUNT)
    created = active(resolver, template)
    expected = {t for t, on in flags.items() if on and (ground_truth or t not in ("ModelQuality", "ModelBias"))}
    definitions = {
        r["Type"].split("::")[2].removesuffix("JobDefinition"): r for r in created.values() if r["Type"].endswith("JobDefinition")
    }
    schedules = {r["Properties"]["MonitoringScheduleConfig"]["MonitoringType"]: r for r in created.values() if r["Type"] == "AWS::SageMaker::MonitoringSchedule"}  # fmt: skip
    assert set(definitions) == expected
    assert set(schedules) == expected
    # Alarms: for the monitors this template alarms on (its parameters name one metric each).
    alarms = [r["Properties"] for r in created.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert sorted(a["Namespace"] for a in alarms) == sorted(
        {"DataQuality": "aws/sagemaker/Endpoints/data-metrics", "ModelQuality": "aws/sagemaker/Endpoints/model-metrics"}[t]
        for t in expected & {"DataQuality", "ModelQuality"}
    )
    for alarm in alarms:
        assert alarm["AlarmActions"] == [TOPIC] == alarm["OKActions"]
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["Endpoint"] == parameters["EndpointName"]
        assert dimensions["MonitoringSchedule"] in {s["Properties"]["MonitoringScheduleName"] for s in schedules.values()}
    outputs = {
        name
        for name, output in template["Outputs"].items()
        if "Condition" not in output or resolver.condition(output["Condition"])
    }
    assert outputs == {f"{t}ScheduleName" for t in expected}

    for monitoring_type in expected:
        definition = definitions[monitoring_type]["Properties"]
        schedule = schedules[monitoring_type]["Properties"]
        name = f"p-abc123def456-staging-{SLUGS[monitoring_type]}"
        assert schedule["MonitoringScheduleName"] == name
        assert (
            schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
            == definition["JobDefinitionName"]
            == f"{name}-0a1b2c3d"
        )
        assert schedule["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
        assert schedule["EndpointName"] == parameters["EndpointName"]
        _validate_with_sagemakers_api(monitoring_type, definition, schedule)
        # The role the stack creates (ExecutionRoleArn empty), and the KMS key everywhere.
        assert definition["RoleArn"] == resolver.get_att(_the(template, "AWS::IAM::Role"), "Arn")
        assert definition["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
        output_config = next(v for k, v in definition.items() if k.endswith("JobOutputConfig"))
        assert output_config["KmsKeyId"] == KEY
        assert output_config["MonitoringOutputs"][0]["S3Output"]["S3Uri"] == parameters["OutputS3Uri"]
        job_input = next(v for k, v in definition.items() if k.endswith("JobInput"))
        assert job_input["EndpointInput"]["EndpointName"] == parameters["EndpointName"]
        if monitoring_type in ("ModelQuality", "ModelBias"):
            assert job_input["GroundTruthS3Input"]["S3Uri"] == parameters["GroundTruthS3Uri"]
            assert job_input["EndpointInput"]["InferenceAttribute"] == "0"
            # Empty settings are absent, never empty.
            assert "ProbabilityAttribute" not in job_input["EndpointInput"]
            assert "ProbabilityThresholdAttribute" not in job_input["EndpointInput"]
        tags = {t["Key"]: t["Value"] for t in definition["Tags"]}
        assert tags == {"sagemaker:project-name": "churn", "sagemaker:project-id": "p-abc123def456"}


def _the(template: dict, kind: str) -> str:
    (found,) = [i for i, r in template["Resources"].items() if r["Type"] == kind]
    return found


def _validate_with_sagemakers_api(monitoring_type: str, definition: dict, schedule: dict) -> None:
    """The Create* requests CloudFormation sends are valid for SageMaker's API model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    validator = ParamValidator()
    operation = f"Create{monitoring_type}JobDefinition"
    report = validator.validate(_typed(definition), model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()
    request_ = {k: v for k, v in schedule.items() if k != "EndpointName"}  # CloudFormation's own property
    report = validator.validate(request_, model.operation_model("CreateMonitoringSchedule").input_shape)
    assert not report.has_errors(), report.generate_report()
    for name in (definition["JobDefinitionName"], schedule["MonitoringScheduleName"]):
        assert len(name) <= 63 and re.fullmatch(SAGEMAKER_NAME, name), name


#: Number parameters reach CloudFormation as strings; it converts them by the resource schema's types.
_NUMBERS = {"InstanceCount": int, "VolumeSizeInGB": int, "MaxRuntimeInSeconds": int, "ProbabilityThresholdAttribute": float}


def _typed(value):
    if isinstance(value, dict):
        return {k: _NUMBERS[k](v) if k in _NUMBERS else _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return value


def test_a_monitor_that_is_on_needs_its_uris(template):
    """The rules refuse an enabled monitor without its baselines (before anything is created)."""
    for monitoring_type, switch in MONITORS.items():
        (assertion,) = template["Rules"][f"{monitoring_type}Inputs"]["Assertions"]
        missing_uri = {
            "DataQuality": "DataQualityBaselineConstraintsUri",
            "ModelQuality": "ModelQualityBaselineConstraintsUri",
            "ModelBias": "ModelBiasAnalysisConfigUri",
            "ModelExplainability": "ExplainabilityBaselineConstraintsUri",
        }[monitoring_type]
        for parameters, holds in (
            (stage_parameters(), True),
            (stage_parameters(**{missing_uri: ""}), False),
            (stage_parameters(**{missing_uri: "", switch: "false"}), True),
        ):
            resolver = Resolver({**template, "Conditions": {}}, parameters=parameters)
            assert resolver.resolve(assertion["Assert"]) is holds, (monitoring_type, parameters.get(missing_uri))
        if monitoring_type in ("ModelQuality", "ModelBias"):
            # Without ground truth the monitor is not created: no baseline needed.
            resolver = Resolver(template, parameters=stage_parameters(**{missing_uri: "", "GroundTruthS3Uri": ""}))
            assert resolver.resolve(assertion["Assert"]) is True


def test_a_stage_without_an_endpoint_yet_deploys_nothing_but_a_handle(template):
    """The monitor build writes every monitor off, and empty locations, while the endpoint does not exist."""
    off = {switch: "false" for switch in MONITORS.values()}
    empty = dict.fromkeys(["DataCaptureS3Uri", "OutputS3Uri", "KmsKeyArn", "GroundTruthS3Uri", "NotificationTopicArn"], "")
    uris = {name: "" for name in template["Parameters"] if name.endswith(("ConstraintsUri", "StatisticsUri", "ConfigUri"))}
    resolver = Resolver(template, parameters=stage_parameters(**off, **empty, **uris), region=REGION, account=ACCOUNT)
    assert {r["Type"] for r in active(resolver, template).values()} == {"AWS::CloudFormation::WaitConditionHandle"}
    for rule in template["Rules"].values():
        (assertion,) = rule["Assertions"]
        assert resolver.resolve(assertion["Assert"]) is True
    # A monitor that is on needs the locations.
    (locations,) = template["Rules"]["MonitorLocations"]["Assertions"]
    on = Resolver(template, parameters=stage_parameters(**empty), region=REGION, account=ACCOUNT)
    assert on.resolve(locations["Assert"]) is False


def test_no_key_no_topic_and_a_given_role_leave_no_empty_values(template):
    role = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-projects/endpoint"
    parameters = stage_parameters(KmsKeyArn="", NotificationTopicArn="", ExecutionRoleArn=role)
    resolver = Resolver(template, parameters=parameters, region=REGION, account=ACCOUNT)
    created = active(resolver, template)
    assert not [r for r in created.values() if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy")]
    for resource in created.values():
        properties = resource["Properties"]
        if resource["Type"].endswith("JobDefinition"):
            assert properties["RoleArn"] == role
            assert "VolumeKmsKeyId" not in properties["JobResources"]["ClusterConfig"]
            assert "KmsKeyId" not in next(v for k, v in properties.items() if k.endswith("JobOutputConfig"))
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            assert "AlarmActions" not in properties and "OKActions" not in properties
    assert '""' not in json.dumps(
        [r["Properties"] for r in created.values() if r["Type"] != "AWS::CloudFormation::WaitConditionHandle"]
    )


def test_alarms_need_a_metric_name(template):
    parameters = stage_parameters(DataQualityAlarmMetricName="", ModelQualityAlarmMetricName="")
    created = active(Resolver(template, parameters=parameters), template)
    assert not [r for r in created.values() if r["Type"] == "AWS::CloudWatch::Alarm"]


# ------------------------------------------------------------------ names and images


def test_longest_project_name_id_and_stage_fit_sagemakers_names(template):
    parameters = template["Parameters"]
    longest = stage_parameters(
        SageMakerProjectName="a" * parameters["SageMakerProjectName"]["MaxLength"],
        SageMakerProjectId="p-" + "a" * (parameters["SageMakerProjectId"]["MaxLength"] - 2),
        StageName="s" * parameters["StageName"]["MaxLength"],
        DefinitionVersion="ffffffff",
    )
    created = active(Resolver(template, parameters=longest, region=REGION, account=ACCOUNT), template)
    names = [r["Properties"]["JobDefinitionName"] for r in created.values() if r["Type"].endswith("JobDefinition")]
    names += [
        r["Properties"]["MonitoringScheduleName"] for r in created.values() if r["Type"] == "AWS::SageMaker::MonitoringSchedule"
    ]
    assert len(names) == 8
    for name in names:
        assert len(name) <= 63 and re.fullmatch(SAGEMAKER_NAME, name), name
    assert max(len(n) for n in names) == len(f"p-{'a' * 12}-{'s' * 15}-explainability-ffffffff")


def test_images_come_from_the_region_mapping_as_the_sdk_knows_them(template):
    from sagemaker.core import image_uris as sdk_image_uris

    mapping = template["Mappings"]["MonitorImages"]
    assert set(mapping) == set(MONITOR_REGIONS) == set(ANALYZER_ACCOUNTS) & set(CLARIFY_ACCOUNTS)
    assert {"us-east-1", "eu-west-1", "cn-north-1"} <= set(mapping)
    for region, images in mapping.items():
        assert images == image_uris(region)
        assert images["Analyzer"] == sdk_image_uris.retrieve("model-monitor", region=region)
        assert images["Clarify"] == sdk_image_uris.retrieve("clarify", region=region)
    created = active(Resolver(template, parameters=stage_parameters(), region="us-east-1", account=ACCOUNT), template)
    images = {
        r["Type"]: next(v for k, v in r["Properties"].items() if k.endswith("AppSpecification"))["ImageUri"]
        for r in created.values()
        if r["Type"].endswith("JobDefinition")
    }
    assert images == {
        "AWS::SageMaker::DataQualityJobDefinition": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
        "AWS::SageMaker::ModelQualityJobDefinition": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer",
        "AWS::SageMaker::ModelBiasJobDefinition": "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0",
        "AWS::SageMaker::ModelExplainabilityJobDefinition": "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0",
    }


# ------------------------------------------------------------------ the monitoring role

MONITOR_NOT_NEEDED = {
    "logs:CreateLogGroup": "SageMaker creates /aws/sagemaker/ProcessingJobs on an account's first processing job",
}


@pytest.mark.parametrize("key", ["kms", "s3-managed"])
def test_the_monitoring_role_may_do_what_model_monitor_does_with_it(template, key):
    parameters = stage_parameters(KmsKeyArn=KEY if key == "kms" else "")
    resolver = Resolver(template, parameters=parameters, region=REGION, account=ACCOUNT)
    role_id = _the(template, "AWS::IAM::Role")
    trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}]
    endpoint = parameters["EndpointName"]
    hour = "AllTraffic/2025/01/01/00"
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs"
    stream = f"{group}:log-stream:model-monitoring-202501010000-0123abcd/algo-1-1735689600"

    def s3(uri: str) -> str:
        return "arn:aws:s3:::" + uri[len("s3://") :]

    requests = [
        request("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", "captured hours listed"),
        request("s3:GetObject", f"{s3(parameters['DataCaptureS3Uri'])}/{endpoint}/{hour}/capture.jsonl", "captured data"),
        request("s3:PutObject", f"{s3(parameters['OutputS3Uri'])}{endpoint}/schedule/2025/01/01/00/constraint_violations.json", "reports"),
        *(
            request("s3:GetObject", s3(parameters[name]), "baseline")
            for name in (
                "DataQualityBaselineStatisticsUri", "DataQualityBaselineConstraintsUri", "ModelQualityBaselineConstraintsUri",
                "ModelBiasAnalysisConfigUri", "ModelBiasBaselineConstraintsUri", "ExplainabilityAnalysisConfigUri",
                "ExplainabilityBaselineConstraintsUri",
            )
        ),
        request("s3:GetObject", f"{s3(parameters['GroundTruthS3Uri'])}/2025/01/01/00/labels.jsonl", "ground truth"),
        request("logs:CreateLogStream", stream, "logs"),
        request("logs:PutLogEvents", stream, "logs"),
        request("logs:DescribeLogStreams", f"{group}:log-stream:", "logs"),
        *(
            request("cloudwatch:PutMetricData", "*", "metrics", {"cloudwatch:namespace": f"aws/sagemaker/Endpoints/{kind}-metrics"})
            for kind in ("data", "model", "bias", "explainability")
        ),
        *(
            # The shadow endpoint prefix build.py writes: <project id>-clarify.
            request(f"sagemaker:{action}", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/p-abc123def456-clarify-0123abcd", "Clarify's shadow endpoint")
            for action, kind in (
                ("CreateEndpointConfig", "endpoint-config"), ("DescribeEndpointConfig", "endpoint-config"),
                ("CreateEndpoint", "endpoint"), ("DescribeEndpoint", "endpoint"),
                ("InvokeEndpoint", "endpoint"), ("DeleteEndpoint", "endpoint"), ("DeleteEndpointConfig", "endpoint-config"),
            )
        ),
    ]  # fmt: skip
    if key == "kms":
        requests += [
            request("kms:Decrypt", KEY, "captured data, baselines (SSE-KMS)"),
            request("kms:GenerateDataKey", KEY, "reports and volumes"),
            # VolumeKmsKeyId: SageMaker creates a grant on the key for the job's volumes, as the role.
            request("kms:CreateGrant", KEY, "volumes (VolumeKmsKeyId)", {"kms:GrantIsForAWSResource": "true"}),
        ]
    check = RoleCheck(
        f"monitor-stage {role_id} ({key})", role_policy_with_managed(resolver, role_id), requests, MONITOR_NOT_NEEDED
    )
    assert missing(check) == []
    assert unneeded(check) == []
    # Neither another bucket's objects nor another endpoint, nor metrics in other namespaces.
    assert not check.policy.allowed("s3:GetObject", "arn:aws:s3:::another-bucket/data.csv")
    assert not check.policy.allowed("s3:PutObject", f"arn:aws:s3:::{BUCKET}/data-capture/x")
    assert not check.policy.allowed("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}")
    assert not check.policy.allowed("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "Custom"})
    # Grants on the key for AWS resources (the job's volumes) only.
    assert not check.policy.allowed("kms:CreateGrant", KEY, {"kms:GrantIsForAWSResource": "false"})


def test_the_monitoring_role_loses_the_grants_of_monitors_that_are_off(template):
    parameters = stage_parameters(EnableExplainability="false", GroundTruthS3Uri="")
    resolver = Resolver(template, parameters=parameters, region=REGION, account=ACCOUNT)
    policy = role_policy_with_managed(resolver, _the(template, "AWS::IAM::Role"))
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/p-abc123def456-clarify-0"
    assert not policy.allowed("sagemaker:CreateEndpoint", endpoint)
    assert not policy.allowed("s3:GetObject", "arn:aws:s3:::" + parameters["ModelQualityBaselineConstraintsUri"][5:])
    assert policy.allowed("s3:GetObject", "arn:aws:s3:::" + parameters["DataQualityBaselineConstraintsUri"][5:])
