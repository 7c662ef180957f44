"""Create or update the project's pipeline, start it, wait for it, report the outcome.

CodeBuild runs this from ``buildspec.yml``; the project's settings come from environment
variables (see ``pipelines/config.py`` and the README)::

    python -m pipelines.run_pipeline              # upload code, upsert, start, wait
    python -m pipelines.run_pipeline --dry-run    # print the definition, call nothing

Before starting, it reads the input data object's version (S3 HeadObject) and starts the
execution with it and the commit being built (CodeBuild's CODEBUILD_RESOLVED_SOURCE_VERSION)
as pipeline parameters: the registered model version records both (README, "Lineage").

It also chooses how the drift checks run (README, "Baselines and drift checks"): while the
model package group has no approved version, every check is skipped and its new baseline
registered (``Skip<Check>Check`` and ``RegisterNew<Check>Baseline`` true), so the first
execution does not fail for want of a baseline; afterwards each check compares with the
latest approved version's baseline (the parameters' defaults), except a check whose
baseline that version lacks (registered before the checks existed), which is skipped and
registers its new baseline.

In a project that builds its own images (the image-build-deploy template), the build's
``SAGEMAKER_IMAGE_NAMES`` lists them (``processing=<SageMaker image name>,training=<name>,
inference=<name>``): the processing jobs, the training job and the model (registered, and
served by the batch transform and Clarify) then run the newest created version of each (its
``BaseImage``, the pushed image by digest), through the ``ProcessingImageUri``,
``TrainingImageUri`` and ``InferenceImageUri`` parameters; a type without a created version
yet runs AWS's image, and a line says so.

Exit status: 0 when the execution succeeded, 1 when it failed, stopped or timed out
(the reason is printed) or the input data could not be read, 2 when the configuration is
incomplete or the input data object does not exist.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from pipelines.abalone import settings
from pipelines.config import ConfigError, ProjectConfig

TERMINAL_STATUSES = frozenset({"Succeeded", "Failed", "Stopped"})


def upload_code(s3_client: Any, artifacts: Mapping[str, Any], kms_key_arn: Optional[str]) -> None:
    """Upload each file to the S3 URI the pipeline definition names.

    ``artifacts`` holds processing scripts (``local_path``: uploaded from disk) and the check
    steps' staged configurations (``body``: put as they are).
    """
    extra: Dict[str, str] = {}
    if kms_key_arn:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn}
    for artifact in artifacts.values():
        bucket, _, key = artifact.s3_uri[len("s3://") :].partition("/")
        body = getattr(artifact, "body", None)
        if body is not None:
            s3_client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
            print(f"uploaded {key.rsplit('/', 1)[-1]} -> {artifact.s3_uri}")
            continue
        s3_client.upload_file(str(artifact.local_path), bucket, key, ExtraArgs=extra or None)
        print(f"uploaded {artifact.local_path.name} -> {artifact.s3_uri}")


#: Where each check's baseline is in DescribeModelPackage's DriftCheckBaselines.
BASELINE_PATHS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "DataQuality": (("ModelDataQuality", "Statistics"), ("ModelDataQuality", "Constraints")),
    "DataBias": (("Bias", "PreTrainingConstraints"),),
    "ModelQuality": (("ModelQuality", "Statistics"), ("ModelQuality", "Constraints")),
    "ModelBias": (("Bias", "PostTrainingConstraints"),),
    "ModelExplainability": (("Explainability", "Constraints"),),
}


class RegistryError(Exception):
    """The model package group could not be read; exit status 1."""


def latest_approved_version(sagemaker_client: Any, group: str) -> Optional[Dict[str, Any]]:
    """The description of the group's newest approved version, or None when it has none.

    ``ListModelPackages`` sorts oldest first unless told otherwise: the newest needs
    ``SortOrder="Descending"``.
    """
    try:
        summaries = sagemaker_client.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )["ModelPackageSummaryList"]
        if not summaries:
            return None
        return dict(
            sagemaker_client.describe_model_package(ModelPackageName=summaries[0]["ModelPackageArn"])
        )
    except Exception as error:  # botocore's ClientError, without importing botocore here
        code = _error_code(error)
        raise RegistryError(
            f"cannot read the approved versions of model package group {group} "
            f"(sagemaker:ListModelPackages, sagemaker:DescribeModelPackage): {code}: {error}"
        ) from error


def drift_check_parameters(sagemaker_client: Any, group: str) -> Dict[str, str]:
    """The check parameters an execution starts with (see the module's description).

    Raises:
        RegistryError: the group's versions could not be listed or described.
    """
    approved = latest_approved_version(sagemaker_client, group)
    if approved is None:
        print(
            f"drift checks: model package group {group} has no approved version yet: every check "
            "is skipped and registers the baseline it computes"
        )
        return settings.first_run_parameters()
    baselines = approved.get("DriftCheckBaselines") or {}
    parameters: Dict[str, str] = {}
    missing = []
    for check, paths in BASELINE_PATHS.items():
        if all((baselines.get(section) or {}).get(item, {}).get("S3Uri") for section, item in paths):
            continue
        _step, _job, skip, register, _supplied = settings.CHECKS[check]
        parameters[skip] = "True"
        parameters[register] = "True"
        missing.append(check)
    arn = approved["ModelPackageArn"]
    if missing:
        print(
            f"drift checks: approved version {arn} has no baseline for {', '.join(missing)}: "
            "skipped, registering the baseline computed now"
        )
    if len(missing) < len(BASELINE_PATHS):
        print(f"drift checks: comparing with the baselines of approved version {arn}")
    return parameters


#: The image type of each pipeline parameter run_pipeline may set from SAGEMAKER_IMAGE_NAMES.
IMAGE_PARAMETERS: Dict[str, str] = {
    "processing": settings.PROCESSING_IMAGE_PARAMETER,
    "training": settings.TRAINING_IMAGE_PARAMETER,
    "inference": settings.INFERENCE_IMAGE_PARAMETER,
}
#: What runs each type's image, for the lines run_pipeline prints.
IMAGE_USERS: Dict[str, str] = {
    "processing": "the processing jobs run",
    "training": "the training job runs",
    "inference": "the model (registered, batch transform, Clarify) runs",
}


def parse_image_names(value: str) -> Dict[str, str]:
    """``processing=<name>,training=<name>`` as a dict; raises ConfigError on anything else."""
    names: Dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        image_type, sep, name = item.partition("=")
        image_type, name = image_type.strip(), name.strip()
        if not sep or not name or image_type not in IMAGE_PARAMETERS or image_type in names:
            raise ConfigError(
                f"invalid SAGEMAKER_IMAGE_NAMES {value!r}: expected comma-separated "
                f"<type>=<SageMaker image name>, each type once, types among {', '.join(IMAGE_PARAMETERS)}"
            )
        names[image_type] = name
    return names


def newest_created_image(sagemaker_client: Any, image_name: str) -> Optional[Tuple[int, str]]:
    """The version number and ``BaseImage`` of the image's newest version in status
    ``CREATED``, or None when it has none (versions still being created, or failed, are
    passed over).

    Raises:
        RegistryError: the versions could not be listed or described.
    """
    request: Dict[str, Any] = {"ImageName": image_name, "SortBy": "VERSION", "SortOrder": "DESCENDING"}
    try:
        while True:
            page = sagemaker_client.list_image_versions(**request)
            for summary in page.get("ImageVersions", []):
                if summary.get("ImageVersionStatus") != "CREATED":
                    continue
                described = sagemaker_client.describe_image_version(
                    ImageName=image_name, Version=summary["Version"]
                )
                return int(summary["Version"]), str(described["BaseImage"])
            if not page.get("NextToken"):
                return None
            request["NextToken"] = page["NextToken"]
    except Exception as error:  # botocore's ClientError, without importing botocore here
        raise RegistryError(
            f"cannot read the versions of SageMaker image {image_name} "
            f"(sagemaker:ListImageVersions, sagemaker:DescribeImageVersion): {_error_code(error)}: {error}"
        ) from error


def image_parameters(sagemaker_client: Any, image_names: Mapping[str, str]) -> Dict[str, str]:
    """The image parameters an execution starts with: for each type the project builds, the
    newest created version of its image; a type without one runs AWS's image (the default).

    Raises:
        RegistryError: as ``newest_created_image``.
    """
    parameters: Dict[str, str] = {}
    for image_type, image_name in image_names.items():
        newest = newest_created_image(sagemaker_client, image_name)
        if newest is None:
            print(
                f"images: SageMaker image {image_name} has no created version yet: "
                f"{IMAGE_USERS[image_type]} AWS's image"
            )
            continue
        version, uri = newest
        parameters[IMAGE_PARAMETERS[image_type]] = uri
        print(f"images: {IMAGE_USERS[image_type]} version {version} of SageMaker image {image_name}: {uri}")
    return parameters


class InputDataError(Exception):
    """The input data object cannot be read; ``exit_status`` is what ``main`` returns."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(error).__name__))


def input_data_lineage(s3_client: Any, url: str) -> Dict[str, str]:
    """The lineage parameters of the input data object at ``url``: its version id and ETag.

    One ``HeadObject`` on the current version (``s3:GetObject``; with an SSE-KMS object,
    ``kms:Decrypt`` through S3). A bucket without versioning gives no version id:
    ``not-recorded`` then, and the ETag (the content's MD5 for a single-part upload) is
    what identifies the data.

    The processing step reads ``url`` as a prefix, so a folder works as input: then, and
    when this build may not read the data (only the pipeline's role may), the execution
    starts with ``not-recorded`` and a warning says why, as before lineage was recorded.

    Raises:
        InputDataError: the URL is not ``s3://bucket/...`` (exit status 2), or reading it
            failed for another reason than a missing object or a denied read (exit status 1).
    """
    not_recorded = {
        settings.INPUT_DATA_VERSION_PARAMETER: settings.NOT_RECORDED,
        settings.INPUT_DATA_ETAG_PARAMETER: settings.NOT_RECORDED,
    }
    match = re.fullmatch(r"s3://([^/]+)/(.*)", url)
    if match is None:
        raise InputDataError(f"invalid input data URL {url!r}: expected s3://<bucket>/<key or prefix>", 2)
    bucket, key = match.groups()
    if not key or key.endswith("/"):
        _warn(f"input data {url} is a prefix, not one object: its version is not recorded")
        return not_recorded
    try:
        head = s3_client.head_object(Bucket=bucket, Key=key)
    except Exception as error:  # botocore's ClientError, without importing botocore here
        code = _error_code(error)
        if code in ("404", "NoSuchKey", "NotFound"):
            _warn(f"input data {url} is not one object (a prefix?): its version is not recorded")
            return not_recorded
        if code in ("403", "AccessDenied", "Forbidden"):
            _warn(
                f"this build may not read input data {url} (s3:GetObject on arn:aws:s3:::{bucket}/{key}, "
                f"and kms:Decrypt on its key): {code}; its version is not recorded"
            )
            return not_recorded
        raise InputDataError(f"cannot read input data {url}: {code}: {error}", 1) from error
    version = head.get("VersionId") or settings.NOT_RECORDED
    etag = str(head.get("ETag", "")).strip('"') or settings.NOT_RECORDED
    return {
        settings.INPUT_DATA_VERSION_PARAMETER: version,
        settings.INPUT_DATA_ETAG_PARAMETER: etag,
    }


def _warn(message: str) -> None:
    print(f"run_pipeline: warning: {message}", file=sys.stderr)


def lineage_parameters(s3_client: Any, config: ProjectConfig) -> Dict[str, str]:
    """The parameters an execution starts with: the commit built and the input data version.

    Raises:
        InputDataError: as ``input_data_lineage``, or a value the model registry would
            reject as customer metadata (exit status 2).
    """
    parameters = {
        settings.SOURCE_COMMIT_PARAMETER: config.source_commit or settings.NOT_RECORDED,
        **input_data_lineage(s3_client, config.input_data_url),
    }
    for name, value in [("InputDataUrl", config.input_data_url), *parameters.items()]:
        try:
            settings.check_metadata_text(f"value of {name}", value, settings.METADATA_VALUE_MAX_LENGTH)
        except ValueError as error:
            raise InputDataError(str(error), 2) from error
    return parameters


def input_version_known(parameters: Mapping[str, str]) -> bool:
    """Whether the lineage parameters tell this input apart from another: a version id or
    an ETag. Without either (a prefix, a missing or unreadable object) new data under the
    same URL looks the same to step caching."""
    return any(
        parameters.get(name, settings.NOT_RECORDED) != settings.NOT_RECORDED
        for name in (settings.INPUT_DATA_VERSION_PARAMETER, settings.INPUT_DATA_ETAG_PARAMETER)
    )


def _job_arn(metadata: Mapping[str, Any]) -> Optional[str]:
    for value in metadata.values():
        if isinstance(value, Mapping) and isinstance(value.get("Arn"), str):
            return value["Arn"]
    return None


def failure_lines(sagemaker_client: Any, execution: Mapping[str, Any]) -> List[str]:
    """Describe why an execution did not succeed: its reason, then each failed step's."""
    arn = execution["PipelineExecutionArn"]
    status = execution.get("PipelineExecutionStatus", "Unknown")
    reason = execution.get("FailureReason") or "no reason given"
    lines = [f"pipeline execution {status}: {reason}", f"  execution: {arn}"]
    paginator = sagemaker_client.get_paginator("list_pipeline_execution_steps")
    for page in paginator.paginate(PipelineExecutionArn=arn):
        for step in page.get("PipelineExecutionSteps", []):
            if step.get("StepStatus") not in ("Failed", "Stopped"):
                continue
            line = f"  step {step['StepName']} {step['StepStatus']}"
            if step.get("FailureReason"):
                line += f": {step['FailureReason']}"
            job_arn = _job_arn(step.get("Metadata", {}))
            if job_arn:
                line += f" ({job_arn})"
            lines.append(line)
    return lines


def wait_for_execution(
    sagemaker_client: Any,
    execution_arn: str,
    *,
    poll_seconds: float = 30.0,
    timeout_seconds: Optional[float] = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Dict[str, Any]:
    """Poll the execution until it ends (or ``timeout_seconds`` pass); return its description."""
    started = clock()
    last_status = None
    while True:
        description = sagemaker_client.describe_pipeline_execution(
            PipelineExecutionArn=execution_arn
        )
        status = description["PipelineExecutionStatus"]
        if status != last_status:
            print(f"execution status: {status}", flush=True)
            last_status = status
        if status in TERMINAL_STATUSES:
            return description
        if timeout_seconds is not None and clock() - started >= timeout_seconds:
            return description
        sleep(poll_seconds)


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the pipeline definition and stop; no AWS call is made",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="start the execution and return at once"
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=30.0, help="status poll interval (default: 30)"
    )
    parser.add_argument(
        "--timeout-minutes",
        type=float,
        default=180.0,
        help="give up waiting after this long; 0 waits forever (default: 180)",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    """Run the CLI; ``environ`` defaults to ``os.environ``."""
    args = _parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        config = ProjectConfig.from_env(env)
        image_names = parse_image_names(env.get("SAGEMAKER_IMAGE_NAMES", ""))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    # The SDK reads the Region while being imported, and validating the role would need
    # iam:SimulatePrincipalPolicy on top of what the build role is granted.
    os.environ.setdefault("AWS_DEFAULT_REGION", config.region)
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    import boto3

    from pipelines.abalone.pipeline import code_artifacts, get_pipeline, get_session, staged_objects

    boto_session = boto3.Session(region_name=config.region)
    step_cache_expiry = config.step_cache_expiry
    parameters: Dict[str, str] = {}
    if not args.dry_run:
        s3_client = boto_session.client("s3")
        try:
            parameters = lineage_parameters(s3_client, config)
        except InputDataError as error:
            print(f"error: {error}", file=sys.stderr)
            return error.exit_status
        if step_cache_expiry is not None and not input_version_known(parameters):
            # The lineage parameters are what tells one input from another in the
            # preprocessing step's cache key; without them new data under the same URL
            # (a prefix, or an object this build may not read) would reuse the old results.
            print("step caching off: input version unknown")
            step_cache_expiry = None
    pipeline = get_pipeline(
        region=config.region,
        role_arn=config.role_arn,
        artifact_bucket=config.artifact_bucket,
        pipeline_name=config.pipeline_name,
        model_package_group_name=config.model_package_group_name,
        kms_key_arn=config.kms_key_arn,
        input_data_url=config.input_data_url,
        processing_instance_type=config.processing_instance_type,
        training_instance_type=config.training_instance_type,
        job_prefix=config.job_prefix,
        step_cache_expiry=step_cache_expiry,
        sagemaker_session=get_session(config.region, config.artifact_bucket, boto_session),
        subnet_ids=config.subnet_ids,
        security_group_ids=config.security_group_ids,
        network_isolation=config.network_isolation,
    )
    if args.dry_run:
        print(pipeline.definition())
        return 0

    if not config.source_commit:
        print("note: CODEBUILD_RESOLVED_SOURCE_VERSION is not set: no commit id is recorded")
    try:
        sagemaker_client = boto_session.client("sagemaker")
        parameters.update(drift_check_parameters(sagemaker_client, config.model_package_group_name))
        parameters.update(image_parameters(sagemaker_client, image_names))
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    upload_code(
        s3_client,
        {
            **code_artifacts(config.artifact_bucket, config.pipeline_name),
            **staged_objects(pipeline),
        },
        config.kms_key_arn,
    )
    response = pipeline.upsert(
        role_arn=config.role_arn,
        description=(
            f"Abalone model build of SageMaker project {config.project_name} ({config.project_id})"
        ),
        tags=config.tags,
    )
    print(f"pipeline upserted: {response['PipelineArn']}")
    execution_arn = pipeline.start(parameters=parameters).arn
    print(f"execution started: {execution_arn}", flush=True)
    for name, value in parameters.items():
        print(f"  {name} = {value}")
    if args.no_wait:
        return 0

    client = pipeline.sagemaker_session.sagemaker_client
    timeout = args.timeout_minutes * 60 if args.timeout_minutes > 0 else None
    description = wait_for_execution(
        client, execution_arn, poll_seconds=args.poll_seconds, timeout_seconds=timeout
    )
    status = description["PipelineExecutionStatus"]
    if status == "Succeeded":
        print("pipeline execution Succeeded")
        return 0
    if status not in TERMINAL_STATUSES:
        print(
            f"error: execution still {status} after {args.timeout_minutes:g} minutes: "
            f"{execution_arn}",
            file=sys.stderr,
        )
        return 1
    first, *details = failure_lines(client, description)
    print(f"error: {first}", file=sys.stderr)
    for line in details:
        print(line, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
