"""Constants and helpers for the tests of the model-build seed code (``seed_code/model_build``).

The seed folder is zipped into a CDK asset, so nothing here may write into it: no
bytecode, no pytest cache.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

sys.dont_write_bytecode = True

REPO = Path(__file__).resolve().parents[2]
SEED_ROOT = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_build"
#: The model-deploy seed, whose build step and staging tests read what the model build registers.
DEPLOY_SEED_ROOT = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy"
if str(SEED_ROOT) not in sys.path:
    sys.path.insert(0, str(SEED_ROOT))

REGION = "eu-west-1"
ACCOUNT = "111122223333"
PROJECT_NAME = "abalone"
PROJECT_ID = "p-abc123def456"
PREFIX = f"{PROJECT_NAME}-{PROJECT_ID}"
BUCKET = f"sagemaker-project-{PROJECT_ID}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-pipeline"

#: What the CDK stack's CodeBuild project sets (KMS key added per test where needed).
PROJECT_ENVIRONMENT: dict[str, str] = {
    "SAGEMAKER_PROJECT_NAME": PROJECT_NAME,
    "SAGEMAKER_PROJECT_ID": PROJECT_ID,
    "SAGEMAKER_PROJECT_NAME_ID": PREFIX,
    "SAGEMAKER_PIPELINE_NAME": PREFIX,
    "MODEL_PACKAGE_GROUP_NAME": PREFIX,
    "SAGEMAKER_PIPELINE_ROLE_ARN": ROLE_ARN,
    "ARTIFACT_BUCKET": BUCKET,
    "INPUT_DATA_URL": f"s3://{BUCKET}/datasets/abalone/abalone.csv",
    "PROCESSING_INSTANCE_TYPE": "ml.m5.xlarge",
    "TRAINING_INSTANCE_TYPE": "ml.m5.xlarge",
    "AWS_REGION": REGION,
}
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def seed_subprocess_env() -> dict[str, str]:
    """Environment for a subprocess started in the seed folder: no bytecode written."""
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def offline_environment(patch: pytest.MonkeyPatch, tmp: Path) -> None:
    """No credentials, no shared config, no instance metadata; Region set; no role checks."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    patch.setenv("AWS_DEFAULT_REGION", REGION)
    patch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")


#: Schemas already checked against their metaschema, by (id, validator class); see below.
_CHECKED_SCHEMAS: dict[tuple[int, type], Any] = {}


def check_each_schema_once(patch: pytest.MonkeyPatch) -> None:
    """Make ``jsonschema.validate`` check a given schema against its metaschema only once.

    SDK 3.27 validates its defaults config with ``jsonschema.validate`` on every config
    lookup (about 45 per pipeline build), and each call first re-checks the SDK's large
    config schema against the JSON Schema metaschema: about 0.2 s a call, most of a build's
    time. The config itself is still validated on every call, as before; only the check of
    the (unchanging) schema is remembered.
    """
    import jsonschema
    from jsonschema import exceptions, validators

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        if cls is None:
            cls = validators.validator_for(schema)
        key = (id(schema), cls)
        if _CHECKED_SCHEMAS.get(key) is not schema:
            cls.check_schema(schema)
            _CHECKED_SCHEMAS[key] = schema  # kept alive, so its id is never reused
        error = exceptions.best_match(cls(schema, *args, **kwargs).iter_errors(instance))
        if error is not None:
            raise error

    patch.setattr(jsonschema, "validate", validate)


def _is_seed_module(name: str, test_modules: Any) -> bool:
    return name in ("conftest", "pipelines", *test_modules) or name.startswith("pipelines.")


@contextmanager
def fresh_seed_imports() -> Iterator[None]:
    """Import the seed's own modules anew inside the block, as in a new process in the seed folder.

    The seed's ``pipelines`` package, its ``conftest`` and its test modules are taken out of
    ``sys.modules`` (so they are imported again, from the seed folder's files), and the seed
    folder comes first on ``sys.path``, as ``python -m pytest`` run there puts it. Third-party
    modules (the SageMaker SDK, xgboost) stay imported. Both are put back afterwards.
    """
    test_modules = {path.stem for path in (SEED_ROOT / "tests").glob("*.py")}
    saved_path = list(sys.path)
    saved = {n: m for n, m in sys.modules.items() if _is_seed_module(n, test_modules)}
    for name in saved:
        del sys.modules[name]
    sys.path[:] = [str(SEED_ROOT)] + [entry for entry in saved_path if entry != str(SEED_ROOT)]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if _is_seed_module(n, test_modules)]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path[:] = saved_path


@dataclass
class NetworkGuard:
    """Makes every socket connection and name lookup fail, and records the attempts."""

    attempts: list[str] = field(default_factory=list)

    def _refuse(self, what: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            self.attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise OSError(f"network use in an offline test: {what}")

        return refuse

    def install(self, patch: pytest.MonkeyPatch) -> None:
        patch.setattr(socket.socket, "connect", self._refuse("socket.connect"))
        patch.setattr(socket.socket, "connect_ex", self._refuse("socket.connect_ex"))
        patch.setattr(socket, "create_connection", self._refuse("create_connection"))
        patch.setattr(socket, "getaddrinfo", self._refuse("getaddrinfo"))


@dataclass(frozen=True)
class BuiltPipeline:
    """The pipeline definition as built offline, and what the build tried to reach."""

    definition: dict[str, Any]
    definition_json: str
    network_attempts: list[str]
    code_uris: dict[str, str]
    #: The check steps' staged files (Clarify configurations), by S3 URI: run_pipeline uploads them.
    staged: dict[str, bytes] = field(default_factory=dict)


def build_project_pipeline() -> Any:
    """The seed pipeline as the tests' project builds it (``get_pipeline`` with this module's
    project settings); the caller makes the environment offline first."""
    from pipelines.abalone.pipeline import get_pipeline

    return get_pipeline(
        region=REGION,
        role_arn=ROLE_ARN,
        artifact_bucket=BUCKET,
        pipeline_name=PREFIX,
        model_package_group_name=PREFIX,
        kms_key_arn=KMS_KEY_ARN,
        input_data_url=PROJECT_ENVIRONMENT["INPUT_DATA_URL"],
        job_prefix=PROJECT_ID,
    )


def load_deploy_script(relative_path: str) -> ModuleType:
    """A script of the model-deploy seed as a module (read only: no bytecode is written)."""
    sys.dont_write_bytecode = True
    path = DEPLOY_SEED_ROOT / relative_path
    name = "model_deploy_" + relative_path.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def all_steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step of a definition by name, including those inside condition branches."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(definition["Steps"])
    while pending:
        step = pending.pop(0)
        found[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            pending.extend(step["Arguments"].get(branch, []))
    return found


def seed_files() -> dict[str, int]:
    """Every file below the seed folder with its size: to prove a test left nothing behind."""
    return {
        str(path.relative_to(SEED_ROOT)): path.stat().st_size
        for path in SEED_ROOT.rglob("*")
        if path.is_file() or path.name in ("__pycache__", ".pytest_cache")
    }


def seed_code_caches() -> list[str]:
    """Bytecode and pytest caches anywhere below ``seed_code/`` (both seeds are CDK assets)."""
    root = SEED_ROOT.parent
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.name in ("__pycache__", ".pytest_cache") or path.suffix == ".pyc"
    )


#: Stand-ins for the values SageMaker Pipelines substitutes at run time.
EXECUTION_ID = "a1b2c3d4e5f6"
EXECUTION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{PREFIX}/execution/{EXECUTION_ID}"
STEP_OUTPUTS = {
    "ModelArtifacts.S3ModelArtifacts": f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/train/job/output/model.tar.gz",
    "S3Output.S3Uri": f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/step/output",
    "TransformOutput.S3OutputPath": f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/transform",
    # The model the Model step creates, named "<project id>-model-<execution id>".
    "ModelName": f"{PROJECT_ID}-model-{EXECUTION_ID}",
    # A check step's baselines: files in its output (or, when not registering new ones, the
    # latest approved version's).
    "CalculatedBaselineStatistics": f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/checks/step/statistics.json",
    "CalculatedBaselineConstraints": f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/checks/step/constraints.json",
    "BaselineUsedForDriftCheckStatistics": f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/checks/step/statistics.json",
    "BaselineUsedForDriftCheckConstraints": f"s3://{BUCKET}/{PREFIX}/{EXECUTION_ID}/checks/step/constraints.json",
}


def resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """Replace pipeline variables in step arguments by values of the right type.

    ``Parameters.X`` becomes the parameter's default, the execution id a fixed id, a step
    property a plausible S3 URI, ``Std:Join`` the joined string. Any other reference
    fails the test, so a new kind of variable is noticed rather than passed through.
    """
    if isinstance(value, list):
        return [resolve(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        reference = value["Get"]
        if reference.startswith("Parameters."):
            return parameters[reference.split(".", 1)[1]]
        if reference == "Execution.PipelineExecutionId":
            return EXECUTION_ID
        if reference == "Execution.PipelineExecutionArn":
            return EXECUTION_ARN
        for suffix, stand_in in STEP_OUTPUTS.items():
            if reference.startswith("Steps.") and reference.endswith(suffix):
                return stand_in
        raise AssertionError(f"unexpected pipeline variable {reference}")
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        return join["On"].join(str(resolve(item, parameters)) for item in join["Values"])
    return {key: resolve(item, parameters) for key, item in value.items()}


def parameter_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's parameters and their default values."""
    return {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}


@dataclass
class ApiCalls:
    """Records the (service, operation) of every AWS API call made through botocore."""

    calls: list[Any] = field(default_factory=list)

    def install(self, patch: pytest.MonkeyPatch) -> None:
        import botocore.client

        original = botocore.client.BaseClient._make_api_call
        calls = self.calls

        def record(client: Any, operation: str, params: Any) -> Any:
            calls.append((client.meta.service_model.service_name, operation))
            return original(client, operation, params)

        patch.setattr(botocore.client.BaseClient, "_make_api_call", record)
