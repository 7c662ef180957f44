"""Settings shared by the SageMaker pipeline and the local run.

Kept free of third-party imports so the local run never loads the SageMaker SDK.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple, Union

# Version of the SageMaker built-in XGBoost container that trains the model and runs the
# preprocessing and evaluation scripts; the local run uses the matching xgboost package.
XGBOOST_FRAMEWORK_VERSION = "3.2-0"

# Hyperparameters of the built-in XGBoost algorithm. The local run passes the same values
# to xgboost.train: "num_round" becomes num_boost_round, the rest are booster parameters.
HYPERPARAMETERS: Dict[str, Union[int, float, str]] = {
    "objective": "reg:squarederror",
    "eval_metric": "rmse",
    "num_round": 50,
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.7,
    "seed": 42,
}

# The model is registered only when its test mean squared error is at most this value.
DEFAULT_MSE_THRESHOLD = 6.0

# Customer metadata key of the registered model version holding the S3 URI of the test
# split (test/test.csv: headerless CSV, label first); the model-deploy project's staging
# tests read their test rows from it.
TEST_DATA_METADATA_KEY = "TestDataS3Uri"

# Lineage: customer metadata keys of every registered model version (README, "Lineage").
# Values are strings of at most 256 characters from letters, digits, spaces and _.:/=+-@
# (CreateModelPackage's limits: at most 50 keys of at most 128 characters).
SOURCE_COMMIT_METADATA_KEY = "SourceCommitId"  # commit of this repository that built it
INPUT_DATA_METADATA_KEY = "InputDataS3Uri"  # the InputDataUrl of the execution
INPUT_DATA_VERSION_METADATA_KEY = "InputDataVersionId"  # that object's S3 version id
INPUT_DATA_ETAG_METADATA_KEY = "InputDataETag"  # that object's ETag (no quotes)
TRAINING_IMAGE_METADATA_KEY = "TrainingImage"  # the training container image URI
HYPERPARAMETER_METADATA_PREFIX = "Hyperparameter."  # one key per hyperparameter
PIPELINE_EXECUTION_METADATA_KEY = "PipelineExecutionArn"  # the execution that registered it
# The value of a lineage parameter nobody set (an execution started from Studio, say).
NOT_RECORDED = "not-recorded"
# The container images of the processing jobs, the training job and the model (registered,
# and served by the batch transform and Clarify); default: AWS's XGBoost image. run_pipeline
# sets them to the project's own images when it builds them.
PROCESSING_IMAGE_PARAMETER = "ProcessingImageUri"
TRAINING_IMAGE_PARAMETER = "TrainingImageUri"
INFERENCE_IMAGE_PARAMETER = "InferenceImageUri"
# The pipeline parameters run_pipeline sets at start for the lineage metadata.
SOURCE_COMMIT_PARAMETER = "SourceCommitId"
INPUT_DATA_VERSION_PARAMETER = "InputDataVersionId"
INPUT_DATA_ETAG_PARAMETER = "InputDataETag"

# What CreateModelPackage accepts in CustomerMetadataProperties.
METADATA_MAX_ENTRIES = 50
METADATA_KEY_MAX_LENGTH = 128
METADATA_VALUE_MAX_LENGTH = 256
METADATA_CHARACTERS = re.compile(r"[\w .:/=+\-@]*")


def check_metadata_text(what: str, text: str, max_length: int) -> None:
    """Raise ValueError unless ``text`` is a valid customer metadata key or value."""
    if not 1 <= len(text) <= max_length or not METADATA_CHARACTERS.fullmatch(text):
        raise ValueError(
            f"invalid {what} {text!r}: expected 1-{max_length} letters, digits, spaces "
            "or _.:/=+-@, as model package customer metadata"
        )

# Step caching (README, "Step caching"): the preprocessing and training steps reuse the
# outputs of a successful run of the same step with the same arguments that started at most
# this long ago, an ISO 8601 duration of years, months, weeks, days, hours or minutes
# (SageMaker's ExpireAfter), not zero; "off" (or empty) runs every step every time. CodeBuild passes
# the template's PipelineStepCacheExpiry as PIPELINE_STEP_CACHE_EXPIRY.
DEFAULT_STEP_CACHE_EXPIRY = "P30D"
STEP_CACHE_OFF = "off"
STEP_CACHE_EXPIRY_PATTERN = re.compile(r"P(?=\d|T\d)(?=[^1-9]*[1-9])(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?)?")


def step_cache_expiry(name: str, value: Optional[str]) -> Optional[str]:
    """``value`` as the cached steps' ExpireAfter, or None when it turns step caching off.

    Raises:
        ValueError: naming ``name``, for anything but an ISO 8601 duration (P30D, P2W,
            PT12H, P1DT6H), "off" or empty.
    """
    text = (value or "").strip()
    if not text or text.lower() == STEP_CACHE_OFF:
        return None
    if not STEP_CACHE_EXPIRY_PATTERN.fullmatch(text):
        raise ValueError(
            f"invalid {name} {value!r}: expected an ISO 8601 duration of years, months, weeks, "
            f"days, hours or minutes (P30D, P2W, PT12H, P1DT6H), not zero, or '{STEP_CACHE_OFF}' to turn "
            "step caching off"
        )
    return text


DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
DEFAULT_MODEL_APPROVAL_STATUS = "PendingManualApproval"

# Step names, as shown in SageMaker Studio; the local run prints the same ones.
PREPROCESS_STEP = "PreprocessAbaloneData"
TRAIN_STEP = "TrainAbaloneModel"
EVALUATE_STEP = "EvaluateAbaloneModel"
CONDITION_STEP = "CheckMseAbaloneEvaluation"
REGISTER_STEP = "RegisterAbaloneModel"
FAIL_STEP = "MseAboveThreshold"

# Drift checks (README, "Baselines and drift checks"). Each check is a job of SageMaker's own
# containers (Model Monitor's analyzer, Clarify); its step computes a baseline and, unless
# skipped, compares it with the baseline of the latest approved version in the model package
# group (or with one supplied as a parameter). The parameter names are those of SageMaker's
# documentation and examples, so what they say applies here.
#   check name -> (step name, job, Skip* parameter, RegisterNew*Baseline parameter,
#                  supplied-baseline parameters)
DATA_QUALITY_STEP = "DataQualityCheck"
DATA_BIAS_STEP = "DataBiasCheck"
CREATE_MODEL_STEP = "CreateAbaloneModel"
TRANSFORM_STEP = "TransformAbaloneTestData"
MODEL_QUALITY_STEP = "ModelQualityCheck"
MODEL_BIAS_STEP = "ModelBiasCheck"
MODEL_EXPLAINABILITY_STEP = "ModelExplainabilityCheck"
CHECKS: Dict[str, Tuple[str, str, str, str, Tuple[str, ...]]] = {
    "DataQuality": (
        DATA_QUALITY_STEP,
        "data-qual",
        "SkipDataQualityCheck",
        "RegisterNewDataQualityBaseline",
        ("DataQualitySuppliedStatistics", "DataQualitySuppliedConstraints"),
    ),
    "DataBias": (
        DATA_BIAS_STEP,
        "data-bias",
        "SkipDataBiasCheck",
        "RegisterNewDataBiasBaseline",
        ("DataBiasSuppliedBaselineConstraints",),
    ),
    "ModelQuality": (
        MODEL_QUALITY_STEP,
        "model-qual",
        "SkipModelQualityCheck",
        "RegisterNewModelQualityBaseline",
        ("ModelQualitySuppliedStatistics", "ModelQualitySuppliedConstraints"),
    ),
    "ModelBias": (
        MODEL_BIAS_STEP,
        "model-bias",
        "SkipModelBiasCheck",
        "RegisterNewModelBiasBaseline",
        ("ModelBiasSuppliedBaselineConstraints",),
    ),
    "ModelExplainability": (
        MODEL_EXPLAINABILITY_STEP,
        "explain",
        "SkipModelExplainabilityCheck",
        "RegisterNewModelExplainabilityBaseline",
        ("ModelExplainabilitySuppliedBaselineConstraints",),
    ),
}


def first_run_parameters() -> Dict[str, str]:
    """What the first execution starts with: every check skipped, every baseline registered.

    With no approved version in the group there is no baseline to check against yet.
    "True" is what the SDK's own ``Pipeline.start`` sends for a Python ``True``.
    """
    parameters: Dict[str, str] = {}
    for _step, _job, skip, register, _supplied in CHECKS.values():
        parameters[skip] = "True"
        parameters[register] = "True"
    return parameters


# Bias checks: the facet (a sensitive group) and what counts as the positive outcome.
# Abalone have no protected attribute; the seed measures females (sex_F = 1) against the
# others, with "more than BIAS_LABEL_THRESHOLD rings" (older than about the median) as the
# positive outcome. Replace both with your own data's facet and outcome.
BIAS_FACET = "sex_F"
BIAS_FACET_THRESHOLD = 0.5
BIAS_LABEL_THRESHOLD = 10.0
# Explainability: SHAP values from this many samples per record (seeded: reproducible).
SHAP_SAMPLES = 100
SHAP_SEED = 42
# Instances of the batch transform and of the temporary endpoint Clarify serves the model
# on for the model bias and explainability checks (it deletes it afterwards).
TRANSFORM_INSTANCE_TYPE = "ml.m5.xlarge"
CLARIFY_ENDPOINT_INSTANCE_TYPE = "ml.m5.xlarge"

# Jobs are named "<job prefix>-<job>-<suffix SageMaker Pipelines adds>". The SDK keeps at most
# 39 characters of a base job name (63, less a 23-character timestamp and its hyphen): a
# longer one would be cut, and the job would no longer match the execution role's pattern.
JOBS = ("preprocess", "train", "evaluate", "transform", *(check[1] for check in CHECKS.values()))
JOB_BASE_NAME_MAX_LENGTH = 39
JOB_PREFIX_MAX_LENGTH = JOB_BASE_NAME_MAX_LENGTH - 1 - max(len(job) for job in JOBS)
