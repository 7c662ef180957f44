"""Settings shared by the SageMaker pipeline and the local run.

Kept free of third-party imports so the local run never loads the SageMaker SDK.
"""

from __future__ import annotations

from typing import Dict, Union

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

DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
DEFAULT_MODEL_APPROVAL_STATUS = "PendingManualApproval"

# Step names, as shown in SageMaker Studio; the local run prints the same ones.
PREPROCESS_STEP = "PreprocessAbaloneData"
TRAIN_STEP = "TrainAbaloneModel"
EVALUATE_STEP = "EvaluateAbaloneModel"
CONDITION_STEP = "CheckMseAbaloneEvaluation"
REGISTER_STEP = "RegisterAbaloneModel"
FAIL_STEP = "MseAboveThreshold"

# Jobs are named "<job prefix>-<job>-<suffix SageMaker Pipelines adds>". The SDK keeps at most
# 39 characters of a base job name (63, less a 23-character timestamp and its hyphen): a
# longer one would be cut, and the job would no longer match the execution role's pattern.
JOBS = ("preprocess", "train", "evaluate")
JOB_BASE_NAME_MAX_LENGTH = 39
JOB_PREFIX_MAX_LENGTH = JOB_BASE_NAME_MAX_LENGTH - 1 - max(len(job) for job in JOBS)
