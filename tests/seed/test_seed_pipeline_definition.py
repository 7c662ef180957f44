"""The seed pipeline's definition: built offline, valid for every API it will call."""

from __future__ import annotations

import re
from typing import Any

import pytest

from seed_support import (
    BUCKET,
    EXECUTION_ARN,
    EXECUTION_ID,
    KMS_KEY_ARN,
    PREFIX,
    PROJECT_ID,
    ROLE_ARN,
    STEP_OUTPUTS,
    BuiltPipeline,
    all_steps,
    parameter_defaults,
    resolve,
)

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

#: Step name -> (SageMaker API the step calls, job-name field, expected job-name prefix)
JOB_STEPS = {
    "PreprocessAbaloneData": ("CreateProcessingJob", "ProcessingJobName", f"{PROJECT_ID}-preprocess"),
    "TrainAbaloneModel": ("CreateTrainingJob", "TrainingJobName", f"{PROJECT_ID}-train"),
    "EvaluateAbaloneModel": ("CreateProcessingJob", "ProcessingJobName", f"{PROJECT_ID}-evaluate"),
}


def sagemaker_operation(name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker").operation_model(name)


def validate(operation: str, request: dict[str, Any]) -> None:
    """Run botocore's own client-side parameter validation; raise on any problem."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(request, sagemaker_operation(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def test_the_definition_is_built_with_no_network_and_no_credentials(
    built_pipeline: BuiltPipeline,
) -> None:
    assert built_pipeline.network_attempts == []
    names = [step["Name"] for step in built_pipeline.definition["Steps"]]
    assert names == [
        "PreprocessAbaloneData",
        "DataQualityCheck",
        "DataBiasCheck",
        "TrainAbaloneModel",
        "CreateAbaloneModel",
        "TransformAbaloneTestData",
        "ModelQualityCheck",
        "ModelBiasCheck",
        "ModelExplainabilityCheck",
        "EvaluateAbaloneModel",
        "CheckMseAbaloneEvaluation",
    ]
    assert len(built_pipeline.definition_json.encode()) < 100 * 1024  # sent inline


@pytest.mark.parametrize("step_name", sorted(JOB_STEPS))
def test_job_steps_pass_botocore_validation_with_the_project_prefix(
    built_pipeline: BuiltPipeline, step_name: str
) -> None:
    operation, name_field, prefix = JOB_STEPS[step_name]
    definition = built_pipeline.definition
    arguments = all_steps(definition)[step_name]["Arguments"]
    assert arguments[name_field] == prefix
    assert arguments["RoleArn"] == ROLE_ARN
    validate(operation, resolve(arguments, parameter_defaults(definition)))


def test_the_register_step_passes_botocore_validation(built_pipeline: BuiltPipeline) -> None:
    definition = built_pipeline.definition
    step = all_steps(definition)["RegisterAbaloneModel"]
    assert step["Type"] == "RegisterModel"
    request = resolve(step["Arguments"], parameter_defaults(definition))
    assert request["ModelPackageGroupName"] == PREFIX
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    assert request["CustomerMetadataProperties"]["TestDataS3Uri"] == f"{STEP_OUTPUTS['S3Output.S3Uri']}/test.csv"
    validate("CreateModelPackage", request)


#: What the CreateModelPackage API accepts as a customer metadata value (botocore checks
#: neither the length nor the pattern; the pattern's \p{L}\p{Z}\p{N} reduced to ASCII here).
METADATA_VALUE = re.compile(r"[A-Za-z0-9 _.:/=+\-@]{1,256}")


def test_the_registered_model_records_where_its_test_set_is(built_pipeline: BuiltPipeline) -> None:
    """TestDataS3Uri: the preprocessing step's test output, where preprocess.py writes test.csv."""
    from pipelines.abalone import preprocess

    definition = built_pipeline.definition
    steps = all_steps(definition)
    metadata = steps["RegisterAbaloneModel"]["Arguments"]["CustomerMetadataProperties"]
    test_output = (
        "Steps.PreprocessAbaloneData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"
    )
    assert metadata["TestDataS3Uri"] == {"Std:Join": {"On": "/", "Values": [{"Get": test_output}, "test.csv"]}}

    defaults = parameter_defaults(definition)
    preprocessing = resolve(steps["PreprocessAbaloneData"]["Arguments"], defaults)
    outputs = preprocessing["ProcessingOutputConfig"]["Outputs"]
    (output,) = [o for o in outputs if o["OutputName"] == "test"]
    # The job uploads the container folder <base dir>/test, where preprocess.py writes test.csv.
    assert output["S3Output"]["LocalPath"] == str(preprocess.DEFAULT_BASE_DIR / "test")
    uri = f"{output['S3Output']['S3Uri']}/test.csv"
    assert uri == f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/preprocess/test/test.csv"
    assert METADATA_VALUE.fullmatch(uri), uri


#: The lineage a registered version records (README, "Lineage"): key -> pipeline variable.
LINEAGE_REFERENCES = {
    "SourceCommitId": {"Get": "Parameters.SourceCommitId"},
    "InputDataS3Uri": {"Get": "Parameters.InputDataUrl"},
    "InputDataVersionId": {"Get": "Parameters.InputDataVersionId"},
    "InputDataETag": {"Get": "Parameters.InputDataETag"},
    "PipelineExecutionArn": {"Get": "Execution.PipelineExecutionArn"},
}


def test_the_registered_model_records_its_lineage(built_pipeline: BuiltPipeline) -> None:
    """Commit, data version and execution come from parameters and the execution; image and
    hyperparameters are those of the training step; every entry fits CreateModelPackage."""
    from pipelines.abalone import settings

    definition = built_pipeline.definition
    steps = all_steps(definition)
    metadata = steps["RegisterAbaloneModel"]["Arguments"]["CustomerMetadataProperties"]
    for key, reference in LINEAGE_REFERENCES.items():
        assert metadata[key] == reference, key
    defaults = parameter_defaults(definition)
    for name in ("SourceCommitId", "InputDataVersionId", "InputDataETag"):
        assert defaults[name] == "not-recorded"  # an execution nobody gave them to says so

    training = steps["TrainAbaloneModel"]["Arguments"]
    assert metadata["TrainingImage"] == training["AlgorithmSpecification"]["TrainingImage"]
    hyperparameters = {k.removeprefix("Hyperparameter."): v for k, v in metadata.items() if k.startswith("Hyperparameter.")}
    assert hyperparameters == training["HyperParameters"] == {k: str(v) for k, v in settings.HYPERPARAMETERS.items()}
    assert set(metadata) == {"TestDataS3Uri", "TrainingImage", *LINEAGE_REFERENCES, *(f"Hyperparameter.{k}" for k in hyperparameters)}

    # Resolved as at run time, every key and value is one CreateModelPackage accepts.
    resolved = resolve(metadata, {**defaults, "SourceCommitId": "9f1c2e" * 6 + "abcd", "InputDataETag": "d41d8cd98f00b204e9800998ecf8427e"})
    assert resolved["PipelineExecutionArn"] == EXECUTION_ARN
    assert resolved["InputDataS3Uri"] == f"s3://{BUCKET}/datasets/abalone/abalone.csv"
    assert len(resolved) <= 50
    for key, value in resolved.items():
        assert 1 <= len(key) <= 128 and METADATA_VALUE.fullmatch(key), key
        assert len(value) <= 256 and METADATA_VALUE.fullmatch(value), (key, value)


def test_every_job_output_is_in_the_project_bucket_and_encrypted(
    built_pipeline: BuiltPipeline,
) -> None:
    definition = built_pipeline.definition
    steps = all_steps(definition)
    defaults = parameter_defaults(definition)
    for name in ("PreprocessAbaloneData", "EvaluateAbaloneModel"):
        arguments = resolve(steps[name]["Arguments"], defaults)
        outputs = arguments["ProcessingOutputConfig"]
        assert outputs["KmsKeyId"] == KMS_KEY_ARN
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS_KEY_ARN
        for output in outputs["Outputs"]:
            assert output["S3Output"]["S3Uri"].startswith(f"s3://{BUCKET}/{PREFIX}/")
        for source in arguments["ProcessingInputs"]:
            assert source["S3Input"]["S3Uri"].startswith(f"s3://{BUCKET}/")
    training = resolve(steps["TrainAbaloneModel"]["Arguments"], defaults)
    assert training["OutputDataConfig"]["S3OutputPath"].startswith(f"s3://{BUCKET}/{PREFIX}/")
    assert training["OutputDataConfig"]["KmsKeyId"] == KMS_KEY_ARN
    assert training["ResourceConfig"]["VolumeKmsKeyId"] == KMS_KEY_ARN


def test_the_input_data_default_is_the_copy_in_the_project_bucket(
    built_pipeline: BuiltPipeline,
) -> None:
    defaults = parameter_defaults(built_pipeline.definition)
    assert defaults["InputDataUrl"] == f"s3://{BUCKET}/datasets/abalone/abalone.csv"


def test_the_condition_gates_registration_on_test_mse_with_a_fail_step(
    built_pipeline: BuiltPipeline,
) -> None:
    steps = all_steps(built_pipeline.definition)
    condition = steps["CheckMseAbaloneEvaluation"]["Arguments"]
    (check,) = condition["Conditions"]
    assert check["Type"] == "LessThanOrEqualTo"
    json_get = check["LeftValue"]["Std:JsonGet"]
    assert json_get["PropertyFile"] == {
        "Get": "Steps.EvaluateAbaloneModel.PropertyFiles.EvaluationReport"
    }
    assert json_get["Path"] == "regression_metrics.mse.value"
    assert check["RightValue"] == {"Get": "Parameters.MseThreshold"}
    assert [s["Name"] for s in condition["IfSteps"]] == ["RegisterAbaloneModel"]
    assert [s["Name"] for s in condition["ElseSteps"]] == ["MseAboveThreshold"]
    message = steps["MseAboveThreshold"]["Arguments"]["ErrorMessage"]["Std:Join"]
    assert "threshold" in message["Values"][0]
    property_files = steps["EvaluateAbaloneModel"]["PropertyFiles"]
    assert property_files == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]


def test_processing_code_is_referenced_at_its_content_addressed_keys(
    built_pipeline: BuiltPipeline,
) -> None:
    steps = all_steps(built_pipeline.definition)
    for step_name, script in (
        ("PreprocessAbaloneData", "preprocess"),
        ("EvaluateAbaloneModel", "evaluate"),
    ):
        inputs = {
            item["InputName"]: item["S3Input"]["S3Uri"]
            for item in steps[step_name]["Arguments"]["ProcessingInputs"]
        }
        assert inputs["code"] == built_pipeline.code_uris[script]
        assert inputs["code"].startswith(f"s3://{BUCKET}/{PREFIX}/code/")


#: The arguments SageMaker builds each cached step's cache key from (developer guide, "Default
#: cache key attributes by pipeline step type"); instance types and job names are not in it.
CACHE_KEY_FIELDS = {
    "PreprocessAbaloneData": ("AppSpecification", "Environment", "ProcessingInputs"),
    # Its Environment is in the key too; the training step sets none.
    "TrainAbaloneModel": ("AlgorithmSpecification", "HyperParameters", "InputDataConfig"),
}


def test_building_the_pipeline_again_gives_the_same_cache_keys(
    built_pipeline: BuiltPipeline, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each build upserts a new definition: anything in a cached step's key that changed from
    one build to the next (a timestamp, a random name, a dict order) would miss the cache on
    every run, and step caching would never reuse anything."""
    import json

    from seed_support import NetworkGuard, build_project_pipeline, offline_environment

    with pytest.MonkeyPatch.context() as patch:
        offline_environment(patch, tmp_path_factory.mktemp("offline-again"))
        NetworkGuard().install(patch)
        again = json.loads(build_project_pipeline().definition())
    first, second = all_steps(built_pipeline.definition), all_steps(again)
    for step_name, fields in CACHE_KEY_FIELDS.items():
        assert first[step_name]["CacheConfig"]["Enabled"] is True, step_name
        for name in fields:
            assert name in first[step_name]["Arguments"], (step_name, name)
            assert first[step_name]["Arguments"][name] == second[step_name]["Arguments"][name], (step_name, name)
        assert first[step_name]["Arguments"].get("Environment") == second[step_name]["Arguments"].get("Environment")
    # The lineage parameters that tell one input from another reach the preprocessing key.
    environment = json.dumps(first["PreprocessAbaloneData"]["Arguments"]["Environment"])
    assert "InputDataVersionId" in environment and "InputDataETag" in environment
