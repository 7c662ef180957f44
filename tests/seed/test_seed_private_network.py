"""The seed pipeline in a private network: every job and the model in the subnets CodeBuild names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seed_support import PROJECT_ENVIRONMENT, NetworkGuard, all_steps, offline_environment, parameter_defaults, resolve

pytestmark = [
    pytest.mark.seed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
]

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
GROUPS = ["sg-0123456789abcdef0"]
NETWORK_ENVIRONMENT = {
    "PRIVATE_VPC_ID": "vpc-0123456789abcdef0",
    "PRIVATE_SUBNET_IDS": ",".join(SUBNETS),
    "PRIVATE_SECURITY_GROUP_IDS": " , ".join(GROUPS) + ",",
}
VPC = {"Subnets": SUBNETS, "SecurityGroupIds": GROUPS}
#: Step -> (where its job's network is, network isolation): the processing scripts and
#: XGBoost read and write through SageMaker's channels only; the check jobs are AWS's
#: analyzer and Clarify containers (Clarify calls SageMaker for its temporary endpoint).
JOBS = {
    "PreprocessAbaloneData": ("NetworkConfig", True),
    "EvaluateAbaloneModel": ("NetworkConfig", True),
    "DataQualityCheck": ("NetworkConfig", False),
    "DataBiasCheck": ("NetworkConfig", False),
    "ModelQualityCheck": ("NetworkConfig", False),
    "ModelBiasCheck": ("NetworkConfig", False),
    "ModelExplainabilityCheck": ("NetworkConfig", False),
}


def _definition(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, environ: dict[str, str]) -> dict[str, Any]:
    from pipelines import run_pipeline

    offline_environment(monkeypatch, tmp_path)
    guard = NetworkGuard()
    guard.install(monkeypatch)
    assert run_pipeline.main(["--dry-run"], environ=environ) == 0
    assert guard.attempts == []
    return json.loads(capsys.readouterr().out)


def _request(definition: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    """A step's request with the pipeline parameters at their defaults (a check step's job is
    in its ``CheckJobConfig`` form already: its arguments are the processing request)."""
    return resolve(step["Arguments"], parameter_defaults(definition))


@pytest.mark.parametrize("isolation", [None, "true", "false"])
def test_with_the_network_every_job_and_the_model_run_in_the_subnets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, isolation: str | None
) -> None:
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    # PRIVATE_NETWORK_ISOLATION (PrivateNetwork.network_isolation): unset, isolated.
    chosen = {} if isolation is None else {"PRIVATE_NETWORK_ISOLATION": isolation}
    isolates = isolation != "false"
    definition = _definition(monkeypatch, capsys, tmp_path, {**PROJECT_ENVIRONMENT, **NETWORK_ENVIRONMENT, **chosen})
    steps = all_steps(definition)
    model = get_session().get_service_model("sagemaker")

    def valid(operation: str, request: dict[str, Any]) -> None:
        report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
        assert not report.has_errors(), report.generate_report()

    for name, (field, isolated) in JOBS.items():
        request = _request(definition, steps[name])
        network = request[field]
        assert network["VpcConfig"] == VPC, name
        assert network.get("EnableNetworkIsolation", False) is (isolated and isolates), name  # False may be left out
        assert network["EnableInterContainerTrafficEncryption"] is True, name
        if steps[name]["Type"] == "Processing":
            valid("CreateProcessingJob", request)

    training = _request(definition, steps["TrainAbaloneModel"])
    assert training["VpcConfig"] == VPC
    assert training.get("EnableNetworkIsolation", False) is isolates
    assert training["EnableInterContainerTrafficEncryption"] is True
    valid("CreateTrainingJob", training)

    # The model the batch transform and Clarify's temporary endpoint serve.
    created = _request(definition, steps["CreateAbaloneModel"])
    assert created["VpcConfig"] == VPC
    assert created.get("EnableNetworkIsolation", False) is isolates


def test_a_network_isolation_that_is_not_true_or_false_stops_the_build(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines import run_pipeline

    environ = {**PROJECT_ENVIRONMENT, **NETWORK_ENVIRONMENT, "PRIVATE_NETWORK_ISOLATION": "yes"}
    assert run_pipeline.main(["--dry-run"], environ=environ) == 2
    assert capsys.readouterr().err.strip() == "error: PRIVATE_NETWORK_ISOLATION is 'yes': expected true or false"


def test_without_the_network_no_job_names_a_vpc(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = {name: "" for name in NETWORK_ENVIRONMENT}
    definition = _definition(monkeypatch, capsys, tmp_path, {**PROJECT_ENVIRONMENT, **empty})
    text = json.dumps(definition)
    assert "VpcConfig" not in text and "Subnets" not in text
    assert "EnableNetworkIsolation" not in text


@pytest.mark.parametrize(
    ("given", "missing"),
    [("PRIVATE_SUBNET_IDS", "PRIVATE_SECURITY_GROUP_IDS"), ("PRIVATE_SECURITY_GROUP_IDS", "PRIVATE_SUBNET_IDS")],
)
def test_subnets_without_security_groups_or_the_reverse_stop_the_build(
    capsys: pytest.CaptureFixture[str], given: str, missing: str
) -> None:
    from pipelines import run_pipeline

    environ = {**PROJECT_ENVIRONMENT, **NETWORK_ENVIRONMENT, missing: ""}
    assert run_pipeline.main(["--dry-run"], environ=environ) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {given} is set but {missing} is empty: the jobs' subnets and security groups are given together"
    )


def test_get_pipeline_refuses_subnets_without_security_groups() -> None:
    from pipelines.abalone.pipeline import get_pipeline

    with pytest.raises(ValueError, match=r"invalid subnet_ids \('subnet-0123456789abcdef0',\) and security_group_ids \(\): expected both or neither"):
        get_pipeline(
            region="us-east-1",
            role_arn="arn:aws:iam::111122223333:role/x",
            artifact_bucket="bucket",
            pipeline_name="p",
            model_package_group_name="p",
            subnet_ids=["subnet-0123456789abcdef0"],
        )
