"""The abalone model-build pipeline, defined with the SageMaker Python SDK v3.

    PreprocessAbaloneData -> TrainAbaloneModel -> EvaluateAbaloneModel
      -> CheckMseAbaloneEvaluation
           test MSE <= MseThreshold: RegisterAbaloneModel (into the model package group)
           otherwise:                MseAboveThreshold (a Fail step, with a message)

``get_pipeline`` builds the definition without calling AWS: every S3 location is given
explicitly, and the processing scripts are referenced at content-addressed keys that
``code_artifacts`` lists and ``pipelines.run_pipeline`` uploads before the upsert.

Jobs are named from the job prefix (the project id) with the SDK's custom job prefix
feature: ``<prefix>-preprocess``, ``<prefix>-train`` and ``<prefix>-evaluate`` are stored in
the definition, and SageMaker Pipelines appends a unique suffix to each at run time. A job
name has at most 63 characters: too few for the project name as well.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sagemaker.core import image_uris
from sagemaker.core.clarify import BiasConfig, DataConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.core.model_monitor import DatasetFormat
from sagemaker.core.network import NetworkConfig
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.training.configs import Compute, InputData, Networking, OutputDataConfig
from sagemaker.core.transformer import Transformer
from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import (
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.pipeline_definition_config import PipelineDefinitionConfig
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
from sagemaker.mlops.workflow.clarify_check_step import (
    ClarifyCheckStep,
    DataBiasCheckConfig,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.quality_check_step import (
    DataQualityCheckConfig,
    ModelQualityCheckConfig,
    QualityCheckStep,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep, TransformStep
from sagemaker.serve.configs import Network
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer

from pipelines.abalone import preprocess, settings

SCRIPTS_DIR = Path(__file__).resolve().parent
PROCESSING_ROOT = "/opt/ml/processing"
# The SDK's defaults file, reduced to one setting: no usage telemetry is sent.
SDK_CONFIG: Dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


@dataclass(frozen=True)
class CodeArtifact:
    """A processing script and the S3 location the pipeline definition expects it at."""

    local_path: Path
    s3_uri: str


def code_artifacts(artifact_bucket: str, pipeline_name: str) -> Dict[str, CodeArtifact]:
    """The processing scripts keyed by name, each at ``<pipeline>/code/<sha256>/<file>``.

    The key depends on the file's content, so an unchanged script keeps its URI and the
    pipeline definition only changes when the code does.
    """
    artifacts = {}
    for name in ("preprocess", "evaluate"):
        path = SCRIPTS_DIR / f"{name}.py"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        uri = f"s3://{artifact_bucket}/{pipeline_name}/code/{digest}/{path.name}"
        artifacts[name] = CodeArtifact(local_path=path, s3_uri=uri)
    return artifacts


def get_session(
    region: str, artifact_bucket: str, boto_session: Optional[Any] = None
) -> PipelineSession:
    """A PipelineSession on ``artifact_bucket`` with telemetry off and no SDK config files."""
    if boto_session is None:
        import boto3

        boto_session = boto3.Session(region_name=region)
    return PipelineSession(
        boto_session=boto_session,
        default_bucket=artifact_bucket,
        sagemaker_config=SDK_CONFIG,
    )


@dataclass(frozen=True)
class StagedObject:
    """A file the SDK writes to S3 while defining a check step, kept until run_pipeline uploads it.

    Clarify's analysis configurations: the check jobs read one, and the registered version's
    drift baselines name another (monitors of the deployed model read it).
    """

    s3_uri: str
    body: bytes


class _StagingSession(PipelineSession):
    """The check jobs' session: keeps what the SDK would upload instead of calling S3.

    Each file goes to ``s3://<bucket>/<pipeline>/check-config/<sha256>/<name>``: its content
    names it (as ``code_artifacts`` names the scripts), so the definition is the same for
    the same configuration and building it makes no AWS call. ``run_pipeline`` uploads
    ``staged`` before the upsert (``staged_objects``).
    """

    def __init__(self, *, root_uri: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root_uri = root_uri
        self.staged: Dict[str, StagedObject] = {}

    def stage(self, body: bytes, name: str) -> str:
        digest = hashlib.sha256(body).hexdigest()[:16]
        uri = f"{self.root_uri}/{digest}/{name}"
        self.staged[uri] = StagedObject(s3_uri=uri, body=body)
        return uri

    def upload_data(self, path: Any, bucket: Any = None, key_prefix: Any = "data", callback: Any = None, extra_args: Any = None) -> str:
        local = Path(path)
        if not local.is_file():
            raise ValueError(f"only single files are staged, not {path!r}")
        return self.stage(local.read_bytes(), local.name)

    def upload_string_as_file_body(self, body: Any, bucket: Any, key: Any, kms_key: Any = None) -> str:
        raise NotImplementedError(f"unexpected upload to s3://{bucket}/{key} while defining the pipeline")


class _CreateModelStep(ModelStep):
    """A ModelStep whose model is named ``<job prefix>-model-<pipeline execution id>``.

    SDK 3.27's ModelBuilder stores a random "model-<hex>" name in the definition: a new
    definition on every build, a second execution failing to create a model of the same
    name, and a name the execution role could not be scoped to.
    """

    def __init__(self, name: str, step_args: Any, job_prefix: str) -> None:
        super().__init__(name=name, step_args=step_args)
        self._model_name = Join(
            on="-", values=[job_prefix, "model", ExecutionVariables.PIPELINE_EXECUTION_ID]
        )

    @property
    def arguments(self) -> Dict[str, Any]:
        request = dict(super().arguments)
        request["ModelName"] = self._model_name
        return request


class _PrefixedCheckStep:
    """Keeps a check step's job-name prefix in the definition (as ``_PrefixedTrainingStep``).

    SDK 3.27's check steps store the placeholder "baseline-job" or "clarify-job" as the job
    name, whatever the check job config's base job name: a job the execution role, limited
    to jobs named with the project's id, could not start. They also store the check job
    config's ``NetworkConfig`` object itself, which the definition cannot serialize: its
    request form replaces it.
    """

    check_job_config: CheckJobConfig

    @property
    def arguments(self) -> Dict[str, Any]:
        request = super().arguments  # type: ignore[misc]
        request["ProcessingJobName"] = self.check_job_config.base_job_name
        network = request.get("NetworkConfig")
        if isinstance(network, NetworkConfig):
            request["NetworkConfig"] = network._to_request_dict()
        return request


class _QualityCheckStep(_PrefixedCheckStep, QualityCheckStep):
    pass


class _ClarifyCheckStep(_PrefixedCheckStep, ClarifyCheckStep):
    """A ClarifyCheckStep whose monitoring analysis configuration is staged, content-addressed.

    The SDK would upload it at definition time to a key with a timestamp and a random UUID:
    a different definition on every build, and an S3 call.
    """

    def _upload_monitoring_analysis_config(self) -> str:
        session = self.check_job_config.sagemaker_session

        def stage(analysis_config: Any, output_s3_uri: Any, job_definition_name: Any, kms_key: Any) -> str:
            body = json.dumps(analysis_config, sort_keys=True).encode()
            return session.stage(body, "monitoring_analysis_config.json")

        self._model_monitor._upload_analysis_config = stage
        return str(super()._upload_monitoring_analysis_config())


def staged_objects(pipeline: Pipeline) -> Dict[str, StagedObject]:
    """The files the pipeline's check steps expect in S3, by URI (``run_pipeline`` uploads them)."""
    found: Dict[str, StagedObject] = {}
    pending = list(pipeline.steps)
    while pending:
        step = pending.pop()
        pending.extend(getattr(step, "if_steps", None) or [])
        pending.extend(getattr(step, "else_steps", None) or [])
        config = getattr(step, "check_job_config", None)
        if config is not None and isinstance(config.sagemaker_session, _StagingSession):
            found.update(config.sagemaker_session.staged)
    return dict(sorted(found.items()))


class _PrefixedTrainingStep(TrainingStep):
    """A TrainingStep that keeps its job-name prefix in the pipeline definition.

    SDK 3.27's ModelTrainer drops ``TrainingJobName`` under a PipelineSession
    (aws/sagemaker-python-sdk#5776), which silently turns the custom job prefix off for
    training jobs; this puts the trainer's base job name back.
    """

    def __init__(
        self, name: str, step_args: Any, base_job_name: str, cache_config: Optional[CacheConfig] = None
    ) -> None:
        super().__init__(name=name, step_args=step_args, cache_config=cache_config)
        self._base_job_name = base_job_name

    @property
    def arguments(self) -> Dict[str, Any]:
        request = super().arguments
        request.setdefault("TrainingJobName", self._base_job_name)
        return request


def lineage_metadata(
    *,
    image_uri: Any,
    hyperparameters: Dict[str, Any],
    input_data: Any,
    source_commit: Any,
    input_data_version: Any,
    input_data_etag: Any,
) -> Dict[str, Any]:
    """The lineage entries of a registered version's customer metadata (see settings.py).

    The hyperparameters are fixed in the definition; the training image (the
    ``TrainingImageUri`` parameter, or a fixed URI) and the others are pipeline parameters or
    execution variables, resolved when the execution registers.

    Raises:
        ValueError: a fixed key or value that CreateModelPackage would reject.
    """
    fixed: Dict[str, str] = {}
    if isinstance(image_uri, str):
        fixed[settings.TRAINING_IMAGE_METADATA_KEY] = image_uri
    for name, value in hyperparameters.items():
        fixed[settings.HYPERPARAMETER_METADATA_PREFIX + name] = str(value)
    for key, value in fixed.items():
        settings.check_metadata_text("customer metadata key", key, settings.METADATA_KEY_MAX_LENGTH)
        settings.check_metadata_text(
            f"customer metadata value of {key}", value, settings.METADATA_VALUE_MAX_LENGTH
        )
    return {
        settings.SOURCE_COMMIT_METADATA_KEY: source_commit,
        settings.INPUT_DATA_METADATA_KEY: input_data,
        settings.INPUT_DATA_VERSION_METADATA_KEY: input_data_version,
        settings.INPUT_DATA_ETAG_METADATA_KEY: input_data_etag,
        settings.TRAINING_IMAGE_METADATA_KEY: image_uri,
        **fixed,
        settings.PIPELINE_EXECUTION_METADATA_KEY: ExecutionVariables.PIPELINE_EXECUTION_ARN,
    }


def _json(s3_uri: Any) -> MetricsSource:
    return MetricsSource(content_type="application/json", s3_uri=s3_uri)


def _s3_join(*parts: Any) -> Join:
    return Join(on="/", values=["s3:/", *parts])


def step_cache(expire_after: Optional[str]) -> Optional[CacheConfig]:
    """The CacheConfig of the steps that may reuse an earlier run (None: step caching off).

    SageMaker reuses a step's outputs when a successful run of it, started at most
    ``expire_after`` ago, had the same cache key: for a processing step its AppSpecification
    (image, code), Environment and ProcessingInputs; for a training step its
    AlgorithmSpecification (image), HyperParameters, InputDataConfig and Environment. Output
    locations, job names and instance types are not part of it.
    """
    expiry = settings.step_cache_expiry("step_cache_expiry", expire_after)
    return None if expiry is None else CacheConfig(enable_caching=True, expire_after=expiry)


def _processing_input(name: str, source: Any, local_dir: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=source,
            local_path=f"{PROCESSING_ROOT}/{local_dir}",
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def _processing_output(name: str, destination: Any) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=destination,
            local_path=f"{PROCESSING_ROOT}/{name}",
            s3_upload_mode="EndOfJob",
        ),
    )


def get_pipeline(
    *,
    region: str,
    role_arn: str,
    artifact_bucket: str,
    pipeline_name: str,
    model_package_group_name: str,
    kms_key_arn: Optional[str] = None,
    input_data_url: Optional[str] = None,
    processing_instance_type: str = settings.DEFAULT_INSTANCE_TYPE,
    training_instance_type: str = settings.DEFAULT_INSTANCE_TYPE,
    job_prefix: Optional[str] = None,
    step_cache_expiry: Optional[str] = settings.DEFAULT_STEP_CACHE_EXPIRY,
    sagemaker_session: Optional[PipelineSession] = None,
    subnet_ids: Sequence[str] = (),
    security_group_ids: Sequence[str] = (),
    network_isolation: bool = True,
) -> Pipeline:
    """Build the abalone pipeline; no AWS call is made.

    Args:
        region: AWS Region of the pipeline and its container images.
        role_arn: execution role of the pipeline and of every job it starts.
        artifact_bucket: bucket for code, data splits, model and evaluation, all under
            ``s3://<artifact_bucket>/<pipeline_name>/``.
        pipeline_name: pipeline name.
        model_package_group_name: model package group the model is registered into.
        kms_key_arn: KMS key for job volumes and outputs (None: the bucket's default).
        input_data_url: default of the ``InputDataUrl`` parameter
            (default: ``s3://<artifact_bucket>/datasets/abalone/abalone.csv``).
        processing_instance_type: default of ``ProcessingInstanceType``.
        training_instance_type: default of ``TrainingInstanceType``.
        job_prefix: start of every job name (default: ``pipeline_name``), at most
            ``settings.JOB_PREFIX_MAX_LENGTH`` (28) characters; jobs are named
            ``<job_prefix>-preprocess``, ``-train`` and ``-evaluate`` plus a run-time suffix.
        step_cache_expiry: how long the preprocessing and training steps may reuse an
            earlier run with the same arguments, an ISO 8601 duration (default ``P30D``);
            None, empty or ``"off"``: every step runs every time (see ``step_cache``).
        sagemaker_session: a PipelineSession (default: ``get_session(region, bucket)``).
        subnet_ids: private subnets every job and the model run in, with
            ``security_group_ids`` (default: none, SageMaker's network). Then the processing
            and training jobs and the model run with network isolation (their containers read
            and write S3 only through SageMaker's channels), training encrypts traffic between
            its instances, and the check jobs run in the subnets without isolation: Clarify
            calls SageMaker to serve the model on a temporary endpoint, and both Clarify and
            Model Monitor's analyzer are AWS's containers whose network use is not documented.
        security_group_ids: the security groups of the jobs' network interfaces.
        network_isolation: in the subnets, the processing and training jobs and the model
            run with network isolation (default True); False for scripts that need the
            network (the check jobs are never isolated).

    Raises:
        ValueError: the job prefix is too long to be kept whole in the job names, a
            hyperparameter does not fit the registered version's customer metadata,
            ``step_cache_expiry`` is not a duration, or the
            subnets are given without security groups or the reverse.
    """
    job_prefix = job_prefix or pipeline_name
    if len(job_prefix) > settings.JOB_PREFIX_MAX_LENGTH:
        raise ValueError(
            f"invalid job_prefix {job_prefix!r}: expected at most {settings.JOB_PREFIX_MAX_LENGTH} "
            f"characters, so that '<job_prefix>-<job>' fits the {settings.JOB_BASE_NAME_MAX_LENGTH} "
            "characters of a base job name that the SageMaker SDK keeps"
        )
    cache = step_cache(step_cache_expiry)
    subnets, groups = list(subnet_ids), list(security_group_ids)
    if bool(subnets) != bool(groups):
        raise ValueError(
            f"invalid subnet_ids {tuple(subnets)!r} and security_group_ids {tuple(groups)!r}: expected both "
            "or neither (the jobs' subnets and security groups are given together)"
        )
    private = bool(subnets)

    def network(isolated: bool) -> Optional[NetworkConfig]:
        """A processing or check job's network: the subnets, isolated when ``isolated``."""
        if not private:
            return None
        return NetworkConfig(
            subnets=subnets,
            security_group_ids=groups,
            enable_network_isolation=isolated,
            encrypt_inter_container_traffic=True,
        )

    session = sagemaker_session or get_session(region, artifact_bucket)
    input_data = ParameterString(
        name="InputDataUrl",
        default_value=input_data_url or f"s3://{artifact_bucket}/datasets/abalone/abalone.csv",
    )
    processing_type = ParameterString(
        name="ProcessingInstanceType", default_value=processing_instance_type
    )
    processing_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    training_type = ParameterString(
        name="TrainingInstanceType", default_value=training_instance_type
    )
    training_count = ParameterInteger(name="TrainingInstanceCount", default_value=1)
    approval_status = ParameterString(
        name="ModelApprovalStatus",
        default_value=settings.DEFAULT_MODEL_APPROVAL_STATUS,
        enum_values=["PendingManualApproval", "Approved", "Rejected"],
    )
    mse_threshold = ParameterFloat(
        name="MseThreshold", default_value=settings.DEFAULT_MSE_THRESHOLD
    )
    # Lineage, set by run_pipeline at start: the commit of this code and the version of the
    # input data object it read (an execution started otherwise records "not-recorded").
    source_commit, data_version, data_etag = (
        ParameterString(name=name, default_value=settings.NOT_RECORDED)
        for name in (
            settings.SOURCE_COMMIT_PARAMETER,
            settings.INPUT_DATA_VERSION_PARAMETER,
            settings.INPUT_DATA_ETAG_PARAMETER,
        )
    )

    # Drift checks: per check, Skip<Check>Check, RegisterNew<Check>Baseline and the supplied
    # baselines (empty: the latest approved version's); run_pipeline sets the first two.
    check_parameters: Dict[str, Dict[str, Any]] = {}
    for check, (_step, _job, skip, register, supplied) in settings.CHECKS.items():
        check_parameters[check] = {
            "skip_check": ParameterBoolean(name=skip, default_value=False),
            "register_new_baseline": ParameterBoolean(name=register, default_value=False),
            **{
                ("supplied_baseline_statistics" if name.endswith("Statistics") else "supplied_baseline_constraints"): ParameterString(name=name, default_value="")
                for name in supplied
            },
        }

    # AWS's XGBoost image. The processing jobs, the training job and the model (registered,
    # and the one the batch transform and Clarify serve) run the image their parameter
    # names: AWS's by default; run_pipeline sets the newest version of the project's own
    # image when the project builds one (SAGEMAKER_IMAGE_NAMES).
    image_uri = image_uris.retrieve(
        framework="xgboost", region=region, version=settings.XGBOOST_FRAMEWORK_VERSION
    )
    processing_image, training_image, inference_image = (
        ParameterString(name=name, default_value=image_uri)
        for name in (
            settings.PROCESSING_IMAGE_PARAMETER,
            settings.TRAINING_IMAGE_PARAMETER,
            settings.INFERENCE_IMAGE_PARAMETER,
        )
    )
    code = code_artifacts(artifact_bucket, pipeline_name)
    run_root: Tuple[Any, ...] = (
        artifact_bucket,
        pipeline_name,
        ExecutionVariables.PIPELINE_EXECUTION_ID,
    )

    def processor(job: str, instance_count: Any, env: Optional[Dict[str, Any]] = None) -> ScriptProcessor:
        return ScriptProcessor(
            role=role_arn,
            image_uri=processing_image,
            command=["python3"],
            instance_type=processing_type,
            instance_count=instance_count,
            base_job_name=f"{job_prefix}-{job}",
            volume_kms_key=kms_key_arn,
            output_kms_key=kms_key_arn,
            env=env,
            sagemaker_session=session,
            # The scripts read their inputs and write their outputs through the channels only.
            network_config=network(isolated=network_isolation),
        )

    # 1. Preprocess: validate, one-hot encode the sex, scale, split 70/15/15. Cached: the
    #    input object's version and ETag (set by run_pipeline at start) are in its
    #    environment, so new data under the same InputDataUrl is a new cache key.
    step_preprocess = ProcessingStep(
        name=settings.PREPROCESS_STEP,
        cache_config=cache,
        step_args=processor(
            "preprocess",
            processing_count,
            env={"INPUT_DATA_VERSION_ID": data_version, "INPUT_DATA_ETAG": data_etag},
        ).run(
            code=code["preprocess"].s3_uri,
            inputs=[_processing_input("input", input_data, "input")],
            outputs=[
                _processing_output(split, _s3_join(*run_root, "preprocess", split))
                for split in ("train", "validation", "test")
            ],
        ),
    )
    splits = step_preprocess.properties.ProcessingOutputConfig.Outputs
    train_split = splits["train"].S3Output.S3Uri
    test_split = splits["test"].S3Output.S3Uri

    # The check jobs: SageMaker's Model Monitor analyzer and Clarify containers, whose image
    # URIs the SDK looks up for the region; their analysis configurations are staged.
    check_session = _StagingSession(
        root_uri=f"s3://{artifact_bucket}/{pipeline_name}/check-config",
        boto_session=session.boto_session,
        default_bucket=artifact_bucket,
        sagemaker_config=SDK_CONFIG,
    )

    def check_job(check: str) -> CheckJobConfig:
        return CheckJobConfig(
            role=role_arn,
            instance_count=1,
            instance_type=processing_type,
            volume_kms_key=kms_key_arn,
            output_kms_key=kms_key_arn,
            base_job_name=f"{job_prefix}-{settings.CHECKS[check][1]}",
            sagemaker_session=check_session,
            network_config=network(isolated=False),
        )

    def check_output(check: str) -> Join:
        return _s3_join(*run_root, "checks", check)

    def clarify_data(check: str, dataset: Any) -> DataConfig:
        # Headerless CSV, label first: the splits as preprocess.py writes them.
        return DataConfig(
            s3_data_input_path=dataset,
            s3_output_path=check_output(check),
            s3_analysis_config_output_path=check_session.root_uri,
            headers=[preprocess.LABEL, *preprocess.FEATURES],
            label=preprocess.LABEL,
            dataset_type="text/csv",
        )

    bias = BiasConfig(
        label_values_or_threshold=[settings.BIAS_LABEL_THRESHOLD],
        facet_name=settings.BIAS_FACET,
        facet_values_or_threshold=[settings.BIAS_FACET_THRESHOLD],
    )

    # 1a. Data quality of the training split: statistics and constraints (Model Monitor).
    step_data_quality = _QualityCheckStep(
        name=settings.DATA_QUALITY_STEP,
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=train_split,
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=check_output("DataQuality"),
        ),
        check_job_config=check_job("DataQuality"),
        model_package_group_name=model_package_group_name,
        **check_parameters["DataQuality"],
    )
    # 1b. Pre-training bias of the training split (Clarify).
    step_data_bias = _ClarifyCheckStep(
        name=settings.DATA_BIAS_STEP,
        clarify_check_config=DataBiasCheckConfig(
            data_config=clarify_data("DataBias", train_split),
            data_bias_config=bias,
            kms_key=kms_key_arn,
        ),
        check_job_config=check_job("DataBias"),
        model_package_group_name=model_package_group_name,
        **check_parameters["DataBias"],
    )

    # 2. Train with the built-in XGBoost algorithm. Cached: the same splits (a reused
    #    preprocessing run's), image and hyperparameters reuse the trained model.
    train_job = f"{job_prefix}-train"
    trainer = ModelTrainer(
        training_image=training_image,
        role=role_arn,
        base_job_name=train_job,
        sagemaker_session=session,
        hyperparameters=dict(settings.HYPERPARAMETERS),
        compute=Compute(
            instance_type=training_type,
            instance_count=training_count,
            volume_kms_key_id=kms_key_arn,
        ),
        output_data_config=OutputDataConfig(
            s3_output_path=_s3_join(*run_root, "train"), kms_key_id=kms_key_arn
        ),
        # XGBoost reads its channels and writes the model through SageMaker: no network needed.
        networking=Networking(
            subnets=subnets,
            security_group_ids=groups,
            enable_network_isolation=network_isolation,
            enable_inter_container_traffic_encryption=True,
        )
        if private
        else None,
    )
    step_train = _PrefixedTrainingStep(
        name=settings.TRAIN_STEP,
        step_args=trainer.train(
            input_data_config=[
                InputData(
                    channel_name=channel,
                    data_source=splits[channel].S3Output.S3Uri,
                    content_type="text/csv",
                )
                for channel in ("train", "validation")
            ]
        ),
        base_job_name=train_job,
        cache_config=cache,
    )
    # A drifted training set stops the execution before it trains.
    step_train.add_depends_on([step_data_quality, step_data_bias])
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts

    # The model (served by the batch transform and Clarify's temporary endpoint) runs in the
    # subnets, isolated: SageMaker downloads its artefact and image for it.
    model_network = (
        Network(subnets=subnets, security_group_ids=groups, enable_network_isolation=network_isolation)
        if private
        else None
    )

    # 2a. A SageMaker model of the trained artefact, for the batch transform and Clarify.
    step_create_model = _CreateModelStep(
        name=settings.CREATE_MODEL_STEP,
        step_args=ModelBuilder(
            s3_model_data_url=model_data,
            image_uri=inference_image,
            role_arn=role_arn,
            sagemaker_session=session,
            dependencies={},
            network=model_network,
        ).build(),
        job_prefix=job_prefix,
    )
    model_name = step_create_model.properties.ModelName

    # 2b. Predictions for the test split. Each output line is the input line (label first)
    #     joined with its prediction, reduced to "label,prediction": _c0 and _c1 below.
    transformer = Transformer(
        model_name=model_name,
        instance_type=settings.TRANSFORM_INSTANCE_TYPE,
        instance_count=1,
        accept="text/csv",
        assemble_with="Line",
        output_path=_s3_join(*run_root, "transform"),
        output_kms_key=kms_key_arn,
        volume_kms_key=kms_key_arn,
        base_transform_job_name=f"{job_prefix}-transform",
        sagemaker_session=session,
    )
    step_transform = TransformStep(
        name=settings.TRANSFORM_STEP,
        step_args=transformer.transform(
            data=test_split,
            content_type="text/csv",
            split_type="Line",
            input_filter="$[1:]",
            join_source="Input",
            output_filter="$[0,-1]",
        ),
    )

    # 2c. Model quality (regression metrics) of those predictions (Model Monitor).
    step_model_quality = _QualityCheckStep(
        name=settings.MODEL_QUALITY_STEP,
        quality_check_config=ModelQualityCheckConfig(
            baseline_dataset=step_transform.properties.TransformOutput.S3OutputPath,
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=check_output("ModelQuality"),
            problem_type="Regression",
            ground_truth_attribute="_c0",
            inference_attribute="_c1",
        ),
        check_job_config=check_job("ModelQuality"),
        model_package_group_name=model_package_group_name,
        **check_parameters["ModelQuality"],
    )

    # 2d. Post-training bias and SHAP explanations on the test split: Clarify serves the model
    #     on a temporary endpoint named "<job prefix>-clarify-..." and deletes it afterwards.
    def clarify_model() -> ModelConfig:
        return ModelConfig(
            model_name=model_name,
            instance_type=settings.CLARIFY_ENDPOINT_INSTANCE_TYPE,
            instance_count=1,
            accept_type="text/csv",
            content_type="text/csv",
            endpoint_name_prefix=f"{job_prefix}-clarify",
        )

    model_bias_config = ModelBiasCheckConfig(
        data_config=clarify_data("ModelBias", test_split),
        data_bias_config=bias,
        model_config=clarify_model(),
        model_predicted_label_config=ModelPredictedLabelConfig(),
        kms_key=kms_key_arn,
    )
    step_model_bias = _ClarifyCheckStep(
        name=settings.MODEL_BIAS_STEP,
        clarify_check_config=model_bias_config,
        check_job_config=check_job("ModelBias"),
        model_package_group_name=model_package_group_name,
        **check_parameters["ModelBias"],
    )
    explainability_config = ModelExplainabilityCheckConfig(
        data_config=clarify_data("ModelExplainability", test_split),
        model_config=clarify_model(),
        explainability_config=SHAPConfig(
            num_samples=settings.SHAP_SAMPLES, agg_method="mean_abs", seed=settings.SHAP_SEED
        ),
        kms_key=kms_key_arn,
    )
    step_model_explainability = _ClarifyCheckStep(
        name=settings.MODEL_EXPLAINABILITY_STEP,
        clarify_check_config=explainability_config,
        check_job_config=check_job("ModelExplainability"),
        model_package_group_name=model_package_group_name,
        **check_parameters["ModelExplainability"],
    )

    # 3. Evaluate on the test split; evaluation.json is read back through a PropertyFile.
    #    Not cached (nor are the checks, the model, the transform and the registration):
    #    each execution measures, checks and registers what it trained or reused.
    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    step_evaluate = ProcessingStep(
        name=settings.EVALUATE_STEP,
        step_args=processor("evaluate", 1).run(
            code=code["evaluate"].s3_uri,
            inputs=[
                _processing_input("model", model_data, "model"),
                _processing_input("test", splits["test"].S3Output.S3Uri, "test"),
            ],
            outputs=[_processing_output("evaluation", _s3_join(*run_root, "evaluate"))],
        ),
        property_files=[evaluation_report],
    )

    # 4. Register into the project's model package group, with the evaluation as metrics
    #    and, as customer metadata, the test split's location (the staging tests read it)
    #    and the version's lineage: code commit, input data version, image,
    #    hyperparameters and pipeline execution.
    test_data_uri = Join(on="/", values=[splits["test"].S3Output.S3Uri, "test.csv"])
    evaluation_uri = step_evaluate.properties.ProcessingOutputConfig.Outputs[
        "evaluation"
    ].S3Output.S3Uri
    metadata = {
        settings.TEST_DATA_METADATA_KEY: test_data_uri,
        **lineage_metadata(
            image_uri=training_image,
            hyperparameters=settings.HYPERPARAMETERS,
            input_data=input_data,
            source_commit=source_commit,
            input_data_version=data_version,
            input_data_etag=data_etag,
        ),
    }
    if len(metadata) > settings.METADATA_MAX_ENTRIES:
        raise ValueError(
            f"invalid customer metadata: {len(metadata)} entries, expected at most "
            f"{settings.METADATA_MAX_ENTRIES} (fewer hyperparameters in settings.HYPERPARAMETERS)"
        )
    model = ModelBuilder(
        s3_model_data_url=model_data,
        image_uri=inference_image,
        role_arn=role_arn,
        sagemaker_session=session,
        # The default ({"auto": True}) makes register() resolve a code bucket through
        # S3 calls although this model has no inference code to upload.
        dependencies={},
        network=model_network,
    )
    step_register = ModelStep(
        name=settings.REGISTER_STEP,
        step_args=model.register(
            model_package_group_name=model_package_group_name,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.large", "ml.m5.xlarge"],
            transform_instances=["ml.m5.large", "ml.m5.xlarge"],
            approval_status=approval_status,
            # What this execution measured: the evaluation report and every check's new baseline.
            model_metrics=ModelMetrics(
                model_statistics=_json(Join(on="/", values=[evaluation_uri, "evaluation.json"])),
                model_constraints=_json(step_model_quality.properties.CalculatedBaselineConstraints),
                model_data_statistics=_json(step_data_quality.properties.CalculatedBaselineStatistics),
                model_data_constraints=_json(step_data_quality.properties.CalculatedBaselineConstraints),
                bias_pre_training=_json(step_data_bias.properties.CalculatedBaselineConstraints),
                bias_post_training=_json(step_model_bias.properties.CalculatedBaselineConstraints),
                explainability=_json(step_model_explainability.properties.CalculatedBaselineConstraints),
            ),
            # What monitors and later checks compare with: the new baselines when
            # RegisterNew<Check>Baseline is true, otherwise those the check used.
            drift_check_baselines=DriftCheckBaselines(
                model_statistics=_json(step_model_quality.properties.BaselineUsedForDriftCheckStatistics),
                model_constraints=_json(step_model_quality.properties.BaselineUsedForDriftCheckConstraints),
                model_data_statistics=_json(step_data_quality.properties.BaselineUsedForDriftCheckStatistics),
                model_data_constraints=_json(step_data_quality.properties.BaselineUsedForDriftCheckConstraints),
                bias_pre_training_constraints=_json(step_data_bias.properties.BaselineUsedForDriftCheckConstraints),
                bias_post_training_constraints=_json(step_model_bias.properties.BaselineUsedForDriftCheckConstraints),
                bias_config_file=FileSource(
                    s3_uri=model_bias_config.monitoring_analysis_config_uri, content_type="application/json"
                ),
                explainability_constraints=_json(
                    step_model_explainability.properties.BaselineUsedForDriftCheckConstraints
                ),
                explainability_config_file=FileSource(
                    s3_uri=explainability_config.monitoring_analysis_config_uri,
                    content_type="application/json",
                ),
            ),
            customer_metadata_properties=metadata,
        ),
    )

    # 5. Fail with a message when the model is not good enough.
    step_fail = FailStep(
        name=settings.FAIL_STEP,
        error_message=Join(
            on=" ", values=["The test MSE is above the threshold MseThreshold =", mse_threshold]
        ),
    )
    step_condition = ConditionStep(
        name=settings.CONDITION_STEP,
        conditions=[
            ConditionLessThanOrEqualTo(
                left=JsonGet(
                    step_name=step_evaluate.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.mse.value",
                ),
                right=mse_threshold,
            )
        ],
        if_steps=[step_register],
        else_steps=[step_fail],
    )

    parameters: List[Any] = [
        input_data,
        processing_type,
        processing_count,
        training_type,
        training_count,
        approval_status,
        mse_threshold,
        source_commit,
        data_version,
        data_etag,
        processing_image,
        training_image,
        inference_image,
        *(parameter for check in check_parameters.values() for parameter in check.values()),
    ]
    return Pipeline(
        name=pipeline_name,
        parameters=parameters,
        steps=[
            step_preprocess,
            step_data_quality,
            step_data_bias,
            step_train,
            step_create_model,
            step_transform,
            step_model_quality,
            step_model_bias,
            step_model_explainability,
            step_evaluate,
            step_condition,
        ],
        sagemaker_session=session,
        pipeline_definition_config=PipelineDefinitionConfig(use_custom_job_prefix=True),
        # No SageMaker Experiments trial per execution: fewer permissions for the role.
        pipeline_experiment_config=None,
    )
