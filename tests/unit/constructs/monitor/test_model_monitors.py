"""ModelMonitors with plain values (a library user's app): names, images, conditions, bad input."""

from __future__ import annotations

import re

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs import (
    DataQualityMonitor,
    ExplainabilityMonitor,
    ModelAttributes,
    ModelBiasMonitor,
    ModelMonitors,
    ModelQualityMonitor,
    MonitoringResources,
    ViolationAlarm,
)
from sagemaker_projects_cdk.constructs.monitor import image_uris
from support import new_app

BASE = "s3://bucket/monitoring/prod/0a1b2c3d"
LONGEST_ID = "p" + "-a" * 9 + "b"  # 20 characters, ProjectIdentity's longest id
LONGEST_STAGE = "s" * 15


def monitors(stack: Stack, **overrides) -> ModelMonitors:
    settings = dict(
        endpoint_name="churn-p-abc123def456-prod",
        name_prefix="p-abc123def456-prod",
        definition_version="0a1b2c3d",
        data_capture_s3_uri="s3://bucket/data-capture",
        output_s3_uri="s3://bucket/monitoring-reports/prod/",
        data_quality=DataQualityMonitor(
            statistics_uri=f"{BASE}/statistics.json",
            constraints_uri=f"{BASE}/constraints.json",
            alarm=ViolationAlarm(metric_name="feature_baseline_drift_length", threshold=0.2),
        ),
        model_quality=ModelQualityMonitor(constraints_uri=f"{BASE}/mq.json"),
        model_bias=ModelBiasMonitor(analysis_config_uri=f"{BASE}/bias.json", constraints_uri=f"{BASE}/bc.json"),
        explainability=ExplainabilityMonitor(analysis_config_uri=f"{BASE}/ex.json", constraints_uri=f"{BASE}/ec.json"),
        ground_truth_s3_uri="s3://bucket/ground-truth",
    )
    settings.update(overrides)
    return ModelMonitors(stack, "Monitors", **settings)


def stack() -> Stack:
    return Stack(new_app(), "App", env={"account": "123456789012", "region": "eu-west-1"})


def test_plain_values_need_no_condition_and_use_the_regions_images():
    s = stack()
    built = monitors(s)
    template = Template.from_stack(s).to_json()
    assert "Conditions" not in template and "Mappings" not in template
    assert set(built.monitors) == {"DataQuality", "ModelQuality", "ModelBias", "ModelExplainability"}
    images = {
        r["Type"]: next(v for k, v in r["Properties"].items() if k.endswith("AppSpecification"))["ImageUri"]
        for r in template["Resources"].values()
        if r["Type"].endswith("JobDefinition")
    }
    assert images["AWS::SageMaker::DataQualityJobDefinition"] == image_uris("eu-west-1")["Analyzer"]
    assert images["AWS::SageMaker::ModelBiasJobDefinition"] == image_uris("eu-west-1")["Clarify"]
    # No key given: no KMS property at all.
    assert "KmsKeyId" not in str(template) and "VolumeKmsKeyId" not in str(template)
    assert built.schedule_names["ModelExplainability"] == "p-abc123def456-prod-explainability"


def test_without_ground_truth_there_is_no_model_quality_or_bias():
    s = stack()
    built = monitors(s, ground_truth_s3_uri=None)
    assert set(built.monitors) == {"DataQuality", "ModelExplainability"}
    built_off = monitors(
        stack(), data_quality=DataQualityMonitor(statistics_uri=f"{BASE}/s.json", constraints_uri=f"{BASE}/c.json", enabled=False)
    )
    assert "DataQuality" not in built_off.monitors


def test_the_longest_id_and_stage_fit():
    s = stack()
    monitors(s, name_prefix=f"{LONGEST_ID}-{LONGEST_STAGE}", definition_version="ffffffff")
    template = Template.from_stack(s).to_json()
    names = [r["Properties"].get("JobDefinitionName") or r["Properties"].get("MonitoringScheduleName") for r in template["Resources"].values()
             if r["Type"].startswith("AWS::SageMaker::")]  # fmt: skip
    assert len(names) == 8
    for name in names:
        assert len(name) <= 63 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name_prefix": f"{LONGEST_ID}-{LONGEST_STAGE}-xyz"}, r"invalid name_prefix .*at most 63"),
        ({"name_prefix": "-bad"}, "invalid name_prefix '-bad'"),
        ({"definition_version": "0A1B2C3D"}, "invalid definition_version '0A1B2C3D'"),
        ({"output_s3_uri": "bucket/reports"}, "invalid output_s3_uri 'bucket/reports'"),
        ({"model": ModelAttributes(problem_type="Classification")}, "invalid model.problem_type 'Classification'"),
        ({"model": ModelAttributes(probability_threshold_attribute="half")}, "invalid model.probability_threshold_attribute"),
        ({"resources": MonitoringResources(max_runtime_in_seconds=7200)}, "invalid resources.max_runtime_in_seconds 7200"),
        ({"resources": MonitoringResources(schedule_expression="rate(1 hour)")}, "invalid resources.schedule_expression"),
        ({"resources": MonitoringResources(instance_type="m5.xlarge")}, "invalid resources.instance_type 'm5.xlarge'"),
        ({"kms_key_arn": "alias/project"}, "invalid kms_key_arn 'alias/project'"),
        (
            {
                "data_quality": DataQualityMonitor(
                    statistics_uri=f"{BASE}/s.json",
                    constraints_uri=f"{BASE}/c.json",
                    alarm=ViolationAlarm(metric_name="m", threshold=1, comparison="Above"),
                )
            },
            "invalid data_quality.alarm.comparison 'Above'",
        ),  # fmt: skip
    ],
)
def test_bad_input_names_the_setting(overrides, message):
    with pytest.raises(ValueError, match=message):
        monitors(stack(), **overrides)


def test_a_daily_schedule_allows_a_longer_runtime():
    monitors(stack(), resources=MonitoringResources(schedule_expression="cron(0 0 ? * * *)", max_runtime_in_seconds=7200))


def test_an_unknown_region_is_refused():
    s = Stack(new_app(), "App", env={"account": "123456789012", "region": "us-gov-east-1"})
    with pytest.raises(ValueError, match="invalid region 'us-gov-east-1'"):
        monitors(s)


def test_a_given_role_creates_none():
    s = stack()
    built = monitors(s, execution_role_arn="arn:aws:iam::123456789012:role/monitoring")
    assert built.role is None
    Template.from_stack(s).resource_count_is("AWS::IAM::Role", 0)


def test_every_job_definition_tells_its_container_to_publish_cloudwatch_metrics():
    """Without publish_cloudwatch_metrics=Enabled the analyzer and Clarify write reports but no
    metrics, and the violation alarms never see data. The property is the one each type's
    CloudFormation schema (cfn-lint's) declares on its app specification."""
    import json

    from cfn_roles import SCHEMAS, _provider_index

    s = stack()
    monitors(s)
    resources = Template.from_stack(s).to_json()["Resources"]
    definitions = {r["Type"]: r["Properties"] for r in resources.values() if r["Type"].endswith("JobDefinition")}
    assert len(definitions) == 4
    for resource_type, properties in definitions.items():
        kind = resource_type.split("::")[-1].removesuffix("JobDefinition")
        schema = json.loads((SCHEMAS / "resources" / f"{_provider_index()[resource_type]}.json").read_text())
        spec_name = f"{kind}AppSpecification"
        assert spec_name in schema["properties"], resource_type
        assert "Environment" in schema["definitions"][spec_name]["properties"], resource_type
        assert properties[spec_name]["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}, resource_type
