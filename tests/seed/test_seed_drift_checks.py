"""The model-build seed's drift checks: their steps, parameters and registered baselines as
built offline, their jobs' requests as botocore validates them, and how run_pipeline
chooses their parameters against moto's model registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_support import (
    BUCKET,
    KMS_KEY_ARN,
    PREFIX,
    PROJECT_ID,
    REGION,
    ROLE_ARN,
    SEED_ROOT,
    STEP_OUTPUTS,
    BuiltPipeline,
    all_steps,
    parameter_defaults,
    resolve,
)
from support import moto_environment

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

#: The parameter names of SageMaker's own examples and documentation ("SageMaker Pipelines
#: integration with Model Monitor and Clarify", aws/amazon-sagemaker-examples), written out
#: here so that a rename in settings.py is noticed.
CHECK_PARAMETERS = {
    "DataQualityCheck": ("QualityCheck", "DATA_QUALITY", "SkipDataQualityCheck", "RegisterNewDataQualityBaseline",
                         "DataQualitySuppliedStatistics", "DataQualitySuppliedConstraints"),
    "DataBiasCheck": ("ClarifyCheck", "DATA_BIAS", "SkipDataBiasCheck", "RegisterNewDataBiasBaseline",
                      None, "DataBiasSuppliedBaselineConstraints"),
    "ModelQualityCheck": ("QualityCheck", "MODEL_QUALITY", "SkipModelQualityCheck", "RegisterNewModelQualityBaseline",
                          "ModelQualitySuppliedStatistics", "ModelQualitySuppliedConstraints"),
    "ModelBiasCheck": ("ClarifyCheck", "MODEL_BIAS", "SkipModelBiasCheck", "RegisterNewModelBiasBaseline",
                       None, "ModelBiasSuppliedBaselineConstraints"),
    "ModelExplainabilityCheck": ("ClarifyCheck", "MODEL_EXPLAINABILITY", "SkipModelExplainabilityCheck",
                                 "RegisterNewModelExplainabilityBaseline", None,
                                 "ModelExplainabilitySuppliedBaselineConstraints"),
}
IMAGES = {"QualityCheck": "sagemaker-model-monitor-analyzer", "ClarifyCheck": "sagemaker-clarify-processing"}


def validate(operation: str, request: dict[str, Any]) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


# ------------------------------------------------------------------ the definition, offline


@pytest.mark.parametrize("step_name", sorted(CHECK_PARAMETERS))
def test_each_check_step_has_sagemakers_parameters_and_a_valid_job(built_pipeline: BuiltPipeline, step_name: str) -> None:
    step_type, check_type, skip, register, statistics, constraints = CHECK_PARAMETERS[step_name]
    definition = built_pipeline.definition
    step = all_steps(definition)[step_name]
    assert (step["Type"], step["CheckType"]) == (step_type, check_type)
    assert step["SkipCheck"] == {"Get": f"Parameters.{skip}"}
    assert step["RegisterNewBaseline"] == {"Get": f"Parameters.{register}"}
    assert step["SuppliedBaselineConstraints"] == {"Get": f"Parameters.{constraints}"}
    if statistics:
        assert step["SuppliedBaselineStatistics"] == {"Get": f"Parameters.{statistics}"}
    assert step["ModelPackageGroupName"] == PREFIX  # where the latest approved baselines are
    assert step["FailOnViolation"] is True
    defaults = parameter_defaults(definition)
    assert (defaults[skip], defaults[register], defaults[constraints]) == (False, False, "")
    types = {p["Name"]: p["Type"] for p in definition["Parameters"]}
    assert (types[skip], types[register], types[constraints]) == ("Boolean", "Boolean", "String")

    # The job: a CreateProcessingJob request of SageMaker's own image for the region, named
    # with the project id, encrypted with the project key, writing into the project bucket.
    request = resolve(step["Arguments"], defaults)
    validate("CreateProcessingJob", request)
    image = request["AppSpecification"]["ImageUri"]
    assert f".dkr.ecr.{REGION}.amazonaws.com/{IMAGES[step_type]}" in image
    assert request["ProcessingJobName"].startswith(f"{PROJECT_ID}-") and len(request["ProcessingJobName"]) <= 39
    assert request["RoleArn"] == ROLE_ARN
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == KMS_KEY_ARN
    assert request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS_KEY_ARN
    for output in request["ProcessingOutputConfig"]["Outputs"]:
        assert output["S3Output"]["S3Uri"].startswith(f"s3://{BUCKET}/{PREFIX}/")
    for item in request["ProcessingInputs"]:
        assert item["S3Input"]["S3Uri"].startswith(f"s3://{BUCKET}/{PREFIX}/")


def test_the_data_checks_read_the_training_split_and_gate_training(built_pipeline: BuiltPipeline) -> None:
    steps = all_steps(built_pipeline.definition)
    train = "Steps.PreprocessAbaloneData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    test = "Steps.PreprocessAbaloneData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"

    def dataset(name: str) -> Any:
        inputs = steps[name]["Arguments"]["ProcessingInputs"]
        (data,) = [i for i in inputs if i["InputName"] in ("baseline_dataset_input", "dataset")]
        return data["S3Input"]["S3Uri"]

    assert dataset("DataQualityCheck") == dataset("DataBiasCheck") == {"Get": train}
    assert dataset("ModelBiasCheck") == dataset("ModelExplainabilityCheck") == {"Get": test}
    assert dataset("ModelQualityCheck") == {"Get": "Steps.TransformAbaloneTestData.TransformOutput.S3OutputPath"}
    assert set(steps["TrainAbaloneModel"]["DependsOn"]) == {"DataQualityCheck", "DataBiasCheck"}
    # Model quality reads "label,prediction" lines: the transform joins each test line (label
    # first) with its prediction and keeps the first and last columns.
    environment = steps["ModelQualityCheck"]["Arguments"]["Environment"]
    assert (environment["ground_truth_attribute"], environment["inference_attribute"]) == ("_c0", "_c1")
    assert environment["problem_type"] == "Regression"
    transform = steps["TransformAbaloneTestData"]["Arguments"]
    assert transform["DataProcessing"] == {"InputFilter": "$[1:]", "OutputFilter": "$[0,-1]", "JoinSource": "Input"}


def test_the_model_and_the_transform_pass_botocore_validation(built_pipeline: BuiltPipeline) -> None:
    definition = built_pipeline.definition
    steps = all_steps(definition)
    defaults = parameter_defaults(definition)
    model = resolve(steps["CreateAbaloneModel"]["Arguments"], defaults)
    # One model per execution, named with the project id (the execution role's pattern).
    assert steps["CreateAbaloneModel"]["Arguments"]["ModelName"] == {
        "Std:Join": {"On": "-", "Values": [PROJECT_ID, "model", {"Get": "Execution.PipelineExecutionId"}]}
    }
    assert model["ExecutionRoleArn"] == ROLE_ARN
    validate("CreateModel", model)
    transform = resolve(steps["TransformAbaloneTestData"]["Arguments"], defaults)
    assert transform["TransformJobName"] == f"{PROJECT_ID}-transform"
    assert transform["ModelName"] == STEP_OUTPUTS["ModelName"]
    assert transform["TransformOutput"]["KmsKeyId"] == KMS_KEY_ARN
    validate("CreateTransformJob", transform)
    for name in ("ModelBiasCheck", "ModelExplainabilityCheck"):
        assert steps[name]["ModelName"] == {"Get": "Steps.CreateAbaloneModel.ModelName"}


def test_the_registered_version_carries_model_metrics_and_drift_baselines(built_pipeline: BuiltPipeline) -> None:
    definition = built_pipeline.definition
    register = all_steps(definition)["RegisterAbaloneModel"]["Arguments"]

    def source(step: str, prop: str) -> dict[str, Any]:
        return {"ContentType": "application/json", "S3Uri": {"Get": f"Steps.{step}.{prop}"}}

    metrics = register["ModelMetrics"]
    assert metrics["ModelQuality"]["Statistics"]["S3Uri"]["Std:Join"]["Values"][-1] == "evaluation.json"
    assert metrics["ModelQuality"]["Constraints"] == source("ModelQualityCheck", "CalculatedBaselineConstraints")
    assert metrics["ModelDataQuality"] == {
        "Statistics": source("DataQualityCheck", "CalculatedBaselineStatistics"),
        "Constraints": source("DataQualityCheck", "CalculatedBaselineConstraints"),
    }
    assert metrics["Bias"] == {
        "PreTrainingReport": source("DataBiasCheck", "CalculatedBaselineConstraints"),
        "PostTrainingReport": source("ModelBiasCheck", "CalculatedBaselineConstraints"),
    }
    assert metrics["Explainability"] == {"Report": source("ModelExplainabilityCheck", "CalculatedBaselineConstraints")}

    baselines = register["DriftCheckBaselines"]
    assert baselines["ModelQuality"] == {
        "Statistics": source("ModelQualityCheck", "BaselineUsedForDriftCheckStatistics"),
        "Constraints": source("ModelQualityCheck", "BaselineUsedForDriftCheckConstraints"),
    }
    assert baselines["ModelDataQuality"] == {
        "Statistics": source("DataQualityCheck", "BaselineUsedForDriftCheckStatistics"),
        "Constraints": source("DataQualityCheck", "BaselineUsedForDriftCheckConstraints"),
    }
    bias, explainability = baselines["Bias"], baselines["Explainability"]
    assert bias["PreTrainingConstraints"] == source("DataBiasCheck", "BaselineUsedForDriftCheckConstraints")
    assert bias["PostTrainingConstraints"] == source("ModelBiasCheck", "BaselineUsedForDriftCheckConstraints")
    assert explainability["Constraints"] == source("ModelExplainabilityCheck", "BaselineUsedForDriftCheckConstraints")
    # The config files monitors read: staged by the build (run_pipeline uploads them), in the
    # project bucket, content-addressed; the explainability one names no label column.
    bias_config = json.loads(built_pipeline.staged[bias["ConfigFile"]["S3Uri"]])
    assert bias_config["label"] == "rings" and bias_config["facet"][0]["name_or_index"] == "sex_F"
    explain_config = json.loads(built_pipeline.staged[explainability["ConfigFile"]["S3Uri"]])
    assert "rings" not in explain_config["headers"] and "shap" in explain_config["methods"]
    for uri in built_pipeline.staged:
        assert uri.startswith(f"s3://{BUCKET}/{PREFIX}/check-config/"), uri
    validate("CreateModelPackage", resolve(register, parameter_defaults(definition)))


def test_the_definition_is_the_same_on_every_build(built_pipeline: BuiltPipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No timestamp, UUID or random model name: an unchanged repository upserts an unchanged pipeline."""
    from seed_support import NetworkGuard, build_project_pipeline, offline_environment

    offline_environment(monkeypatch, tmp_path)
    guard = NetworkGuard()
    guard.install(monkeypatch)
    from pipelines.abalone.pipeline import staged_objects

    pipeline = build_project_pipeline()
    assert json.loads(pipeline.definition()) == built_pipeline.definition
    assert {uri: item.body for uri, item in staged_objects(pipeline).items()} == built_pipeline.staged
    assert guard.attempts == []


# ------------------------------------------------------- run_pipeline's choice, against moto


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    moto_environment(monkeypatch, tmp_path, REGION)
    with mock_aws():
        client = boto3.client("sagemaker", region_name=REGION)
        client.create_model_package_group(ModelPackageGroupName=PREFIX)
        yield client


def _version(client: Any, approved: bool, baselines: dict[str, Any] | None = None) -> str:
    extra = {"DriftCheckBaselines": baselines} if baselines else {}
    arn = client.create_model_package(
        ModelPackageGroupName=PREFIX,
        InferenceSpecification={
            "Containers": [{"Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **extra,
    )["ModelPackageArn"]
    if approved:
        client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return str(arn)


def _file(name: str) -> dict[str, str]:
    return {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{PREFIX}/x/{name}.json"}


ALL_BASELINES = {
    "ModelQuality": {"Statistics": _file("mq-statistics"), "Constraints": _file("mq-constraints")},
    "ModelDataQuality": {"Statistics": _file("dq-statistics"), "Constraints": _file("dq-constraints")},
    "Bias": {
        "ConfigFile": _file("bias-config"),
        "PreTrainingConstraints": _file("pre"),
        "PostTrainingConstraints": _file("post"),
    },
    "Explainability": {"Constraints": _file("shap"), "ConfigFile": _file("shap-config")},
}
EVERY_CHECK_SKIPPED = {
    name: "True"
    for check in CHECK_PARAMETERS.values()
    for name in check[2:4]
}


def test_the_first_execution_skips_every_check_and_registers_new_baselines(registry: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines import run_pipeline

    _version(registry, approved=False, baselines=ALL_BASELINES)  # pending: not a baseline yet
    assert run_pipeline.drift_check_parameters(registry, PREFIX) == EVERY_CHECK_SKIPPED
    assert "has no approved version yet" in capsys.readouterr().out


def test_later_executions_check_against_the_latest_approved_version(registry: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines import run_pipeline

    _version(registry, approved=True, baselines={"Bias": ALL_BASELINES["Bias"]})  # the oldest
    latest = _version(registry, approved=True, baselines=ALL_BASELINES)
    _version(registry, approved=False)  # newer, but not approved
    # The parameters' defaults: every check compares with the latest approved baselines.
    assert run_pipeline.drift_check_parameters(registry, PREFIX) == {}
    assert f"comparing with the baselines of approved version {latest}" in capsys.readouterr().out


def test_a_check_whose_baseline_the_approved_version_lacks_is_skipped_and_registers_one(
    registry: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A version approved before the checks existed (or registered by hand): the checks it has
    no baseline for would fail; they run as on a first execution, the others compare."""
    from pipelines import run_pipeline

    _version(registry, approved=True, baselines=ALL_BASELINES)
    partial = {k: v for k, v in ALL_BASELINES.items() if k != "Explainability"}
    partial["Bias"] = {"PreTrainingConstraints": _file("pre")}
    latest = _version(registry, approved=True, baselines=partial)
    assert run_pipeline.drift_check_parameters(registry, PREFIX) == {
        "SkipModelBiasCheck": "True",
        "RegisterNewModelBiasBaseline": "True",
        "SkipModelExplainabilityCheck": "True",
        "RegisterNewModelExplainabilityBaseline": "True",
    }
    out = capsys.readouterr().out
    assert f"approved version {latest} has no baseline for ModelBias, ModelExplainability" in out


def test_a_registry_the_build_may_not_read_stops_it_with_the_missing_permission(capsys: pytest.CaptureFixture[str]) -> None:
    from botocore.exceptions import ClientError

    from pipelines import run_pipeline

    class Denied:
        def list_model_packages(self, **_kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListModelPackages")

    with pytest.raises(run_pipeline.RegistryError, match="sagemaker:ListModelPackages"):
        run_pipeline.drift_check_parameters(Denied(), PREFIX)


# -------------------------------------------------------------------------- the local run


def test_the_local_run_says_which_steps_it_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines import local_run

    assert local_run.main(["--data", str(SEED_ROOT / "data" / "abalone.csv"), "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for step in (*CHECK_PARAMETERS, "CreateAbaloneModel", "TransformAbaloneTestData"):
        assert f"[{step}] skipped locally: runs in SageMaker" in out, step
