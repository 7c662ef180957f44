"""The pipeline definition: steps, job names, parameters, condition and registration.

Built offline: no credentials are needed and no AWS call is made.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator

import pytest

from pipelines.abalone import settings

PREFIX = "abalone-p-abc123def456"
PROJECT_ID = "p-abc123def456"
BUCKET = "artifacts-bucket"
ROLE = "arn:aws:iam::111122223333:role/pipeline"
KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OFFLINE_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


@pytest.fixture(scope="module")
def definition() -> Iterator[Dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in OFFLINE_ENVIRONMENT.items():
            patch.setenv(name, value)
        pytest.importorskip("sagemaker.mlops")
        from pipelines.abalone.pipeline import get_pipeline

        pipeline = get_pipeline(
            region="eu-west-1",
            role_arn=ROLE,
            artifact_bucket=BUCKET,
            pipeline_name=PREFIX,
            model_package_group_name=PREFIX,
            kms_key_arn=KMS_KEY,
            job_prefix=PROJECT_ID,
        )
        yield json.loads(pipeline.definition())


def steps_by_name(definition: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    found: Dict[str, Dict[str, Any]] = {}
    for step in definition["Steps"]:
        found[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step["Arguments"].get(branch, []):
                found[inner["Name"]] = inner
    return found


def test_steps_and_job_name_prefixes(definition: Dict[str, Any]) -> None:
    steps = steps_by_name(definition)
    assert (
        steps[settings.PREPROCESS_STEP]["Arguments"]["ProcessingJobName"]
        == f"{PROJECT_ID}-preprocess"
    )
    assert steps[settings.TRAIN_STEP]["Arguments"]["TrainingJobName"] == f"{PROJECT_ID}-train"
    assert (
        steps[settings.EVALUATE_STEP]["Arguments"]["ProcessingJobName"] == f"{PROJECT_ID}-evaluate"
    )
    assert steps[settings.REGISTER_STEP]["Type"] == "RegisterModel"
    assert steps[settings.FAIL_STEP]["Type"] == "Fail"


def test_parameters_and_defaults(definition: Dict[str, Any]) -> None:
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert defaults == {
        "InputDataUrl": f"s3://{BUCKET}/datasets/abalone/abalone.csv",
        "ProcessingInstanceType": "ml.m5.xlarge",
        "ProcessingInstanceCount": 1,
        "TrainingInstanceType": "ml.m5.xlarge",
        "TrainingInstanceCount": 1,
        "ModelApprovalStatus": "PendingManualApproval",
        "MseThreshold": settings.DEFAULT_MSE_THRESHOLD,
        # Lineage: run_pipeline sets them at start.
        "SourceCommitId": "not-recorded",
        "InputDataVersionId": "not-recorded",
        "InputDataETag": "not-recorded",
        # Images: AWS's XGBoost image, unless run_pipeline sets the project's own.
        "ProcessingImageUri": defaults["TrainingImageUri"],
        "TrainingImageUri": defaults["InferenceImageUri"],
        "InferenceImageUri": defaults["ProcessingImageUri"],
        # Drift checks: compare with the latest approved version's baselines by default;
        # run_pipeline skips them and registers new baselines until one is approved.
        **{
            name: False
            for _step, _job, skip, register, _supplied in settings.CHECKS.values()
            for name in (skip, register)
        },
        **{
            name: ""
            for _step, _job, _skip, _register, supplied in settings.CHECKS.values()
            for name in supplied
        },
    }


def test_check_steps_and_registered_baselines(definition: Dict[str, Any]) -> None:
    steps = steps_by_name(definition)
    for _check, (step, job, skip, register, _supplied) in settings.CHECKS.items():
        assert steps[step]["Type"] in ("QualityCheck", "ClarifyCheck")
        assert steps[step]["SkipCheck"] == {"Get": f"Parameters.{skip}"}
        assert steps[step]["RegisterNewBaseline"] == {"Get": f"Parameters.{register}"}
        assert steps[step]["Arguments"]["ProcessingJobName"] == f"{PROJECT_ID}-{job}"
    register_step = steps[settings.REGISTER_STEP]["Arguments"]
    assert set(register_step["DriftCheckBaselines"]) == {
        "ModelQuality",
        "ModelDataQuality",
        "Bias",
        "Explainability",
    }
    assert set(register_step["DriftCheckBaselines"]["Bias"]) == {
        "ConfigFile",
        "PreTrainingConstraints",
        "PostTrainingConstraints",
    }


def test_the_first_run_skips_every_check_and_registers_new_baselines() -> None:
    parameters = settings.first_run_parameters()
    assert len(parameters) == 2 * len(settings.CHECKS)
    assert set(parameters.values()) == {"True"}


def test_condition_reads_the_test_mse_from_the_evaluation_report(
    definition: Dict[str, Any],
) -> None:
    condition = steps_by_name(definition)[settings.CONDITION_STEP]["Arguments"]["Conditions"][0]
    assert condition["Type"] == "LessThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "regression_metrics.mse.value"
    assert condition["RightValue"] == {"Get": "Parameters.MseThreshold"}


def test_training_uses_the_shared_hyperparameters(definition: Dict[str, Any]) -> None:
    arguments = steps_by_name(definition)[settings.TRAIN_STEP]["Arguments"]
    assert arguments["HyperParameters"] == {k: str(v) for k, v in settings.HYPERPARAMETERS.items()}
    assert arguments["OutputDataConfig"]["KmsKeyId"] == KMS_KEY
    assert arguments["AlgorithmSpecification"]["TrainingImage"] == {"Get": "Parameters.TrainingImageUri"}
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert "sagemaker-xgboost:" + settings.XGBOOST_FRAMEWORK_VERSION in defaults["TrainingImageUri"]


def test_registration_targets_the_project_group_with_metrics(definition: Dict[str, Any]) -> None:
    arguments = steps_by_name(definition)[settings.REGISTER_STEP]["Arguments"]
    assert arguments["ModelPackageGroupName"] == PREFIX
    assert arguments["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    statistics = arguments["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"


def test_registration_records_where_the_test_set_is(definition: Dict[str, Any]) -> None:
    # The model-deploy project's staging tests send rows of this file to the endpoint.
    arguments = steps_by_name(definition)[settings.REGISTER_STEP]["Arguments"]
    test_output = (
        f"Steps.{settings.PREPROCESS_STEP}.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    )
    assert arguments["CustomerMetadataProperties"][settings.TEST_DATA_METADATA_KEY] == {
        "Std:Join": {"On": "/", "Values": [{"Get": test_output}, "test.csv"]}
    }


def test_registration_records_the_lineage(definition: Dict[str, Any]) -> None:
    metadata = steps_by_name(definition)[settings.REGISTER_STEP]["Arguments"][
        "CustomerMetadataProperties"
    ]
    assert metadata["SourceCommitId"] == {"Get": "Parameters.SourceCommitId"}
    assert metadata["InputDataS3Uri"] == {"Get": "Parameters.InputDataUrl"}
    assert metadata["InputDataVersionId"] == {"Get": "Parameters.InputDataVersionId"}
    assert metadata["InputDataETag"] == {"Get": "Parameters.InputDataETag"}
    assert metadata["PipelineExecutionArn"] == {"Get": "Execution.PipelineExecutionArn"}
    train = steps_by_name(definition)[settings.TRAIN_STEP]["Arguments"]
    assert metadata["TrainingImage"] == train["AlgorithmSpecification"]["TrainingImage"]
    recorded = {
        key.split(".", 1)[1]: value
        for key, value in metadata.items()
        if key.startswith("Hyperparameter.")
    }
    assert recorded == train["HyperParameters"]
    assert len(metadata) <= 50


def test_a_hyperparameter_the_registry_would_reject_stops_the_build() -> None:
    from pipelines.abalone.pipeline import lineage_metadata

    with pytest.raises(ValueError, match="Hyperparameter.tags"):
        lineage_metadata(
            image_uri="image:1",
            hyperparameters={"tags": "a,b"},
            input_data="s3://b/k",
            source_commit="c",
            input_data_version="v",
            input_data_etag="e",
        )


def test_scripts_are_referenced_where_run_pipeline_uploads_them(definition: Dict[str, Any]) -> None:
    from pipelines.abalone.pipeline import code_artifacts

    artifacts = code_artifacts(BUCKET, PREFIX)
    steps = steps_by_name(definition)
    for step_name, script in (
        (settings.PREPROCESS_STEP, "preprocess"),
        (settings.EVALUATE_STEP, "evaluate"),
    ):
        arguments = steps[step_name]["Arguments"]
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in arguments["ProcessingInputs"]}
        assert inputs["code"] == artifacts[script].s3_uri
        assert inputs["code"].startswith(f"s3://{BUCKET}/{PREFIX}/code/")
        assert arguments["AppSpecification"]["ContainerEntrypoint"][-1].endswith(f"/{script}.py")


#: What SageMaker compares to decide whether a step reruns (its cache key), by step type
#: (SageMaker developer guide, "Default cache key attributes by pipeline step type").
CACHE_KEY = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": ("AlgorithmSpecification", "HyperParameters", "InputDataConfig", "Environment"),
}


def test_preprocessing_and_training_are_cached_and_nothing_after_them(
    definition: Dict[str, Any],
) -> None:
    steps = steps_by_name(definition)
    cached = {name for name, step in steps.items() if "CacheConfig" in step}
    assert cached == {settings.PREPROCESS_STEP, settings.TRAIN_STEP}
    for name in cached:
        assert steps[name]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}


def test_new_data_under_the_same_url_is_a_new_preprocessing_cache_key(
    definition: Dict[str, Any],
) -> None:
    # run_pipeline sets both parameters from the input object (HeadObject) at every start.
    environment = steps_by_name(definition)[settings.PREPROCESS_STEP]["Arguments"]["Environment"]
    assert environment == {
        "INPUT_DATA_VERSION_ID": {"Get": f"Parameters.{settings.INPUT_DATA_VERSION_PARAMETER}"},
        "INPUT_DATA_ETAG": {"Get": f"Parameters.{settings.INPUT_DATA_ETAG_PARAMETER}"},
    }


def test_a_change_to_the_evaluation_alone_keeps_the_cached_steps_keys(
    definition: Dict[str, Any],
) -> None:
    # evaluate.py is uploaded at a content-addressed key: editing it changes that key, which
    # only the evaluation step's arguments hold; preprocessing and training keep their keys.
    steps = steps_by_name(definition)
    evaluate_code = [
        item["S3Input"]["S3Uri"]
        for item in steps[settings.EVALUATE_STEP]["Arguments"]["ProcessingInputs"]
        if item["InputName"] == "code"
    ]
    assert len(evaluate_code) == 1 and evaluate_code[0].endswith("/evaluate.py")
    for name in (settings.PREPROCESS_STEP, settings.TRAIN_STEP):
        step = steps[name]
        key = {field: step["Arguments"].get(field) for field in CACHE_KEY[step["Type"]]}
        assert "evaluate" not in json.dumps(key), name
        assert "PipelineExecutionId" not in json.dumps(key), name  # else no run would match another


def test_step_caching_off_and_malformed_expiries() -> None:
    pytest.importorskip("sagemaker.mlops")
    from pipelines.abalone.pipeline import step_cache

    assert step_cache("P2W") is not None and step_cache("P2W").config == {
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P2W"}
    }
    for off in (None, "", "off"):
        assert step_cache(off) is None
    with pytest.raises(ValueError, match="invalid step_cache_expiry '30 days'"):
        step_cache("30 days")
