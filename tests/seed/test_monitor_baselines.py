"""The monitor seed reads what the model-build seed registers: the DriftCheckBaselines entries
of the register step, and the analysis configurations the SDK stages for its Clarify checks.

The model-build pipeline is built offline (conftest's ``built_pipeline``); its staged files
are what the SageMaker Python SDK produced, not hand-written copies.
"""

from __future__ import annotations

import json

import pytest

from monitor_support import load_build_module
from seed_support import BuiltPipeline, all_steps

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

build = load_build_module()


def _baselines(built_pipeline: BuiltPipeline) -> dict:
    return all_steps(built_pipeline.definition)["RegisterAbaloneModel"]["Arguments"]["DriftCheckBaselines"]


def test_every_baseline_a_monitor_needs_is_one_the_build_pipeline_registers(built_pipeline: BuiltPipeline) -> None:
    registered = _baselines(built_pipeline)
    for monitor, needed in build.REQUIRED_BASELINES.items():
        for section, item, check in needed:
            assert "S3Uri" in registered[section][item], (monitor, section, item)
            step = f"{check}Check"
            uri = registered[section][item]["S3Uri"]
            # Each one comes from the check step build.py names in its error message.
            assert step in json.dumps(uri) or item == "ConfigFile", (monitor, uri)
    # The bias merge reads both halves.
    assert set(registered["Bias"]) == {"PreTrainingConstraints", "PostTrainingConstraints", "ConfigFile"}


def test_the_registered_explainability_config_is_rewritten_for_the_deployed_model(built_pipeline: BuiltPipeline) -> None:
    uri = _baselines(built_pipeline)["Explainability"]["ConfigFile"]["S3Uri"]
    registered = json.loads(built_pipeline.staged[uri])
    # The SDK leaves the model out: the check's model was a pipeline step's, gone by now.
    assert "model_name" not in registered.get("predictor", {})
    rewritten = build.explainability_config_for(registered, "churn-p-abc123def456-staging-model", uri, "p-abc123def456-clarify")
    assert rewritten["predictor"]["model_name"] == "churn-p-abc123def456-staging-model"
    assert rewritten["methods"]["shap"] == registered["methods"]["shap"]
    assert rewritten["headers"] == registered["headers"] and "rings" not in rewritten["headers"]
    # The shadow endpoints keep the names the model-build checks give theirs: <project id>-clarify.
    assert rewritten["predictor"] == {**registered["predictor"], "model_name": "churn-p-abc123def456-staging-model"}


def test_the_registered_bias_config_is_a_monitoring_analysis_config(built_pipeline: BuiltPipeline) -> None:
    """Model bias monitoring takes the registered configuration as it is: label, facet, headers."""
    uri = _baselines(built_pipeline)["Bias"]["ConfigFile"]["S3Uri"]
    config = json.loads(built_pipeline.staged[uri])
    assert {"label", "label_values_or_threshold", "facet", "headers"} <= set(config)
    assert config["headers"][0] == config["label"] == "rings"
