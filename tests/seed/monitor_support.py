"""Helpers for the model-monitor seed tests: its build.py as a module, a project's AWS world in moto.

Not a conftest: plain functions and constants the test modules use.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SEED = Path(__file__).resolve().parents[2] / "sagemaker_projects_cdk" / "seed_code" / "model_monitor"
REGION = "us-east-1"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "222233334444"
PROJECT_NAME = "churn"
PROJECT_ID = "p-abc123def456"
BUCKET = f"sagemaker-project-{PROJECT_ID}"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUP = f"{PROJECT_NAME}-{PROJECT_ID}"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:sagemaker-{PROJECT_ID}-notifications"
MODEL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/model"

#: The parameters of the monitor stage template (monitor-contract.md); the tests' placeholder
#: template declares them, with the contract's defaults where it gives one.
CONTRACT_PARAMETERS: dict[str, dict[str, Any]] = {
    **{name: {"Type": "String"} for name in ("SageMakerProjectName", "SageMakerProjectId", "StageName", "EndpointName")},
    **{
        name: {"Type": "String", "Default": ""}
        for name in (
            "DataCaptureS3Uri",
            "OutputS3Uri",
            "KmsKeyArn",
            "ExecutionRoleArn",
            "DataQualityBaselineStatisticsUri",
            "DataQualityBaselineConstraintsUri",
            "ModelQualityBaselineConstraintsUri",
            "ModelBiasAnalysisConfigUri",
            "ModelBiasBaselineConstraintsUri",
            "ExplainabilityAnalysisConfigUri",
            "ExplainabilityBaselineConstraintsUri",
            "GroundTruthS3Uri",
            "InferenceAttribute",
            "ProbabilityAttribute",
            "ProbabilityThresholdAttribute",
            "NotificationTopicArn",
            "DataQualityAlarmMetricName",
        )
    },
    "DataQualityAlarmThreshold": {"Type": "String", "Default": "0.1"},
    "DefinitionVersion": {"Type": "String", "AllowedPattern": "[0-9a-f]{8}"},
    **{
        name: {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"]}
        for name in ("EnableDataQuality", "EnableModelQuality", "EnableModelBias", "EnableExplainability")
    },
    "ProblemType": {
        "Type": "String",
        "Default": "Regression",
        "AllowedValues": ["Regression", "BinaryClassification", "MulticlassClassification"],
    },
    "ScheduleExpression": {"Type": "String", "Default": "cron(0 * ? * * *)"},
    "InstanceType": {"Type": "String", "Default": "ml.m5.xlarge"},
    "InstanceCount": {"Type": "Number", "Default": 1, "MinValue": 1, "MaxValue": 100},
    "VolumeSizeInGB": {"Type": "Number", "Default": 20, "MinValue": 1, "MaxValue": 16384},
    "MaxRuntimeInSeconds": {"Type": "Number", "Default": 3600, "MinValue": 1, "MaxValue": 86400},
}


def load_build_module() -> ModuleType:
    """``seed_code/model_monitor/build.py`` as a module (no bytecode is written into the seed)."""
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location("model_monitor_build", SEED / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def placeholder_template(parameters: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A stand-in for monitor-stage.template.json: the contract's parameters, one resource."""
    return {
        "Parameters": parameters if parameters is not None else CONTRACT_PARAMETERS,
        "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }


def config_dir(tmp: Path, template: dict[str, Any] | None = None, **changes: Any) -> Path:
    """The shipped stage configs (each updated with ``changes``) and a placeholder template, in ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("staging-config.json", "prod-config.json"):
        config = json.loads((SEED / name).read_text())
        config.update(changes)
        (tmp / name).write_text(json.dumps(config))
    (tmp / "monitor-stage.template.json").write_text(json.dumps(template or placeholder_template()))
    return tmp


def environment(**extra: str) -> dict[str, str]:
    """What the monitor pipeline's CodeBuild sets (this account's stages)."""
    return {
        "SAGEMAKER_PROJECT_NAME": PROJECT_NAME,
        "SAGEMAKER_PROJECT_ID": PROJECT_ID,
        "ARTIFACT_BUCKET": BUCKET,
        "ARTIFACT_KMS_KEY_ARN": KEY_ARN,
        "MODEL_PACKAGE_GROUP_NAME": GROUP,
        "NOTIFICATION_TOPIC_ARN": TOPIC_ARN,
        "AWS_REGION": REGION,
        **extra,
    }


def baseline_uri(name: str) -> str:
    return f"s3://{BUCKET}/{GROUP}/checks/{name}"


#: What the model-build pipeline's check steps write (the shapes of Clarify's and Model
#: Monitor's analysis files), by the object key under baseline_uri().
PRE_TRAINING = {
    "version": "1.0",
    "pre_training_bias_metrics": {
        "label": "rings",
        "label_value_or_threshold": "(10.0, inf)",
        "facets": {"sex_F": [{"value_or_threshold": "(0.5, inf)", "metrics": [{"name": "CI", "value": 0.37}]}]},
    },
}
POST_TRAINING = {
    "version": "1.0",
    "post_training_bias_metrics": {
        "label": "rings",
        "label_value_or_threshold": "(10.0, inf)",
        "facets": {"sex_F": [{"value_or_threshold": "(0.5, inf)", "metrics": [{"name": "DPPL", "value": -0.21}]}]},
    },
}
#: As the model-build seed stages it (tests/seed/test_seed_drift_checks.py checks that half).
BIAS_CONFIG = {
    "facet": [{"name_or_index": "sex_F", "value_or_threshold": [0.5]}],
    "headers": [
        "rings",
        "length",
        "diameter",
        "height",
        "whole_weight",
        "shucked_weight",
        "viscera_weight",
        "shell_weight",
        "sex_F",
        "sex_I",
        "sex_M",
    ],
    "label": "rings",
    "label_values_or_threshold": [10.0],
}
EXPLAINABILITY_CONFIG = {
    "headers": [
        "length",
        "diameter",
        "height",
        "whole_weight",
        "shucked_weight",
        "viscera_weight",
        "shell_weight",
        "sex_F",
        "sex_I",
        "sex_M",
    ],
    "methods": {
        "shap": {"agg_method": "mean_abs", "num_samples": 100, "save_local_shap_values": True, "seed": 42, "use_logit": False}
    },
    "predictor": {
        "accept_type": "text/csv",
        "content_type": "text/csv",
        "endpoint_name_prefix": f"{PROJECT_ID}-clarify",
        "initial_instance_count": 1,
        "instance_type": "ml.m5.xlarge",
    },
}
BASELINE_FILES: dict[str, Any] = {
    "dq-statistics.json": {"version": 0.0, "dataset": {"item_count": 100}, "features": []},
    "dq-constraints.json": {"version": 0.0, "features": []},
    "mq-statistics.json": {"version": 0.0, "regression_metrics": {}},
    "mq-constraints.json": {
        "version": 0.0,
        "regression_constraints": {"mse": {"threshold": 6.0, "comparison_operator": "GreaterThanThreshold"}},
    },
    "pre.json": PRE_TRAINING,
    "post.json": POST_TRAINING,
    "bias-config.json": BIAS_CONFIG,
    "shap.json": {
        "version": "1.0",
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": {"length": 0.5}, "expected_value": 9.9}}},
    },
    "shap-config.json": EXPLAINABILITY_CONFIG,
}


def _source(name: str) -> dict[str, str]:
    return {"ContentType": "application/json", "S3Uri": baseline_uri(name)}


#: DriftCheckBaselines as the model-build seed's register step writes them (same keys as
#: pipelines/abalone/pipeline.py; test_seed_drift_checks.py checks that side).
DRIFT_CHECK_BASELINES = {
    "ModelDataQuality": {"Statistics": _source("dq-statistics.json"), "Constraints": _source("dq-constraints.json")},
    "ModelQuality": {"Statistics": _source("mq-statistics.json"), "Constraints": _source("mq-constraints.json")},
    "Bias": {
        "PreTrainingConstraints": _source("pre.json"),
        "PostTrainingConstraints": _source("post.json"),
        "ConfigFile": _source("bias-config.json"),
    },
    "Explainability": {"Constraints": _source("shap.json"), "ConfigFile": _source("shap-config.json")},
}


def put_baselines(s3: Any) -> None:
    s3.create_bucket(Bucket=BUCKET)
    for name, body in BASELINE_FILES.items():
        bucket, _, key = baseline_uri(name)[len("s3://") :].partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())


def register_version(sagemaker: Any, baselines: dict[str, Any] | None = DRIFT_CHECK_BASELINES, group: str = GROUP) -> str:
    """An approved version of ``group`` (created if need be) with ``baselines``; returns its ARN."""
    try:
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    except Exception as error:  # already there
        assert "already" in str(error).lower() or "exist" in str(error).lower(), error
    extra = {"DriftCheckBaselines": baselines} if baselines else {}
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": f"s3://{BUCKET}/{group}/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **extra,
    )["ModelPackageArn"]
    return str(arn)


def capture_config(
    bucket: str = BUCKET, key: str = KEY_ARN, modes: tuple[str, ...] = ("Input", "Output"), percentage: int = 100
) -> dict[str, Any]:
    """The endpoint stage's data capture (constructs/endpoint: ``data-capture`` in the stage bucket)."""
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": percentage,
        "DestinationS3Uri": f"s3://{bucket}/data-capture",
        "KmsKeyId": key,
        "CaptureOptions": [{"CaptureMode": mode} for mode in modes],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
    }


def deploy_endpoint(
    sagemaker: Any,
    stage: str,
    package_arn: str | None,
    capture: dict[str, Any] | None = None,
    *,
    role: str = MODEL_ROLE,
    containers: bool = False,
) -> str:
    """The stage's endpoint as the endpoint stage deploys it: a model of ``package_arn`` in
    PrimaryContainer (or, ``containers``, in Containers), a configuration with ``capture``."""
    name = f"{PROJECT_NAME}-{PROJECT_ID}-{stage}"
    model = f"{name}-model"
    container = (
        {"ModelPackageName": package_arn}
        if package_arn
        else {"Image": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"}
    )
    spec = {"Containers": [container]} if containers else {"PrimaryContainer": container}
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=role, **spec)
    extra = {"DataCaptureConfig": capture} if capture else {}
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
        **extra,
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    return model


def copy_seed(destination: Path, template: dict[str, Any] | None = None) -> Path:
    """The seed's build.py and configs, and a placeholder template, as a build would check them out."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("build.py", "staging-config.json", "prod-config.json"):
        shutil.copyfile(SEED / name, destination / name)
    (destination / "monitor-stage.template.json").write_text(json.dumps(template or placeholder_template()))
    return destination
