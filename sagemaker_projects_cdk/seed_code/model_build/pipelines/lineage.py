"""Print the lineage of a registered model version: code, data, training and approval.

    python -m pipelines.lineage arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>

Reads the version's customer metadata (the keys in ``pipelines/abalone/settings.py``,
recorded by the pipeline's register step), its approval status, and the training job that
produced its model (its image, hyperparameters and input channels). Calls
``sagemaker:DescribeModelPackage`` and ``sagemaker:DescribeTrainingJob``; boto3 only.

Exit status: 0 when printed, 1 when the version does not exist, has no lineage metadata or
cannot be read (the missing permission is named), 2 when the argument is not a model
package version ARN.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from pipelines.abalone import settings

VERSION_ARN = re.compile(
    r"arn:aws[a-z\-]*:sagemaker:(?P<region>[a-z0-9\-]+):(?P<account>[0-9]{12}):"
    r"model-package/(?P<group>[A-Za-z0-9](?:-*[A-Za-z0-9]){0,62})/(?P<version>[0-9]+)"
)
#: The keys a version registered by this pipeline carries (besides the hyperparameters).
LINEAGE_KEYS = (
    settings.SOURCE_COMMIT_METADATA_KEY,
    settings.INPUT_DATA_METADATA_KEY,
    settings.INPUT_DATA_VERSION_METADATA_KEY,
    settings.INPUT_DATA_ETAG_METADATA_KEY,
    settings.TRAINING_IMAGE_METADATA_KEY,
    settings.PIPELINE_EXECUTION_METADATA_KEY,
)
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403")
_NOT_FOUND = ("ValidationException", "ResourceNotFound", "ResourceNotFoundException")


class LineageError(Exception):
    """Why the lineage cannot be shown; ``exit_status`` is what ``main`` returns."""

    def __init__(self, message: str, exit_status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(error).__name__))


def _message(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Message", error))


class _NotFound(Exception):
    """The resource a call names does not exist (the message is the service's)."""


def _call(action: str, resource: str, call: Any, **kwargs: Any) -> Dict[str, Any]:
    """``call(**kwargs)``, with a denied call turned into an error naming the permission and a
    missing resource into ``_NotFound``."""
    try:
        return call(**kwargs)
    except Exception as error:
        if _code(error) in _NOT_FOUND:
            raise _NotFound(_message(error)) from error
        if _code(error) in _DENIED:
            raise LineageError(
                f"not allowed to call {action} on {resource}: {_message(error)}"
            ) from error
        if type(error).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
            raise LineageError(f"no AWS credentials to call {action}: {error}") from error
        raise


def parse_arn(arn: str) -> Dict[str, str]:
    """The parts of a model package version ARN.

    Raises:
        LineageError: (exit status 2) ``arn`` is not a model package version ARN.
    """
    match = VERSION_ARN.fullmatch(arn.strip())
    if match is None:
        raise LineageError(
            f"invalid model package version ARN {arn!r}: expected "
            "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
            2,
        )
    return match.groupdict()


def training_job_name(model_data_url: str) -> Optional[str]:
    """The training job that wrote ``model_data_url`` (``<output path>/<job>/output/model.tar.gz``)."""
    match = re.fullmatch(r"s3://.+/([^/]+)/output/model\.tar\.gz", model_data_url)
    return match.group(1) if match else None


def _user(context: Optional[Mapping[str, Any]]) -> str:
    if not context:
        return "unknown"
    return str(context.get("UserProfileName") or context.get("IamIdentity", {}).get("Arn") or "unknown")


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)


def _section(title: str, rows: List[Tuple[str, str]]) -> List[str]:
    width = max((len(name) for name, _ in rows), default=0)
    return [title] + [f"  {name.ljust(width)}  {value}" for name, value in rows]


def lineage_lines(sagemaker: Any, arn: str) -> List[str]:
    """The lineage of the version ``arn`` as lines of text.

    Raises:
        LineageError: no such version, no lineage metadata, or a call was denied.
    """
    parse_arn(arn)
    try:
        package = _call(
            "sagemaker:DescribeModelPackage", arn, sagemaker.describe_model_package,
            ModelPackageName=arn,
        )
    except _NotFound as missing:
        raise LineageError(f"no model package version {arn}: {missing}") from missing
    metadata: Mapping[str, str] = package.get("CustomerMetadataProperties") or {}
    missing = [key for key in LINEAGE_KEYS if key not in metadata]
    if len(missing) == len(LINEAGE_KEYS):
        raise LineageError(
            f"{arn} has no lineage metadata (none of {', '.join(LINEAGE_KEYS)}): it was not "
            "registered by this pipeline, or before it recorded lineage"
        )

    def get(key: str) -> str:
        return metadata.get(key, "missing")

    lines = _section(
        f"model package version {arn}",
        [
            ("group", f"{package.get('ModelPackageGroupName', '?')}, version "
                      f"{package.get('ModelPackageVersion', '?')}"),
            ("status", str(package.get("ModelPackageStatus", "?"))),
            ("approval", str(package.get("ModelApprovalStatus", "?"))),
            ("approval note", package.get("ApprovalDescription") or "none"),
            ("registered", f"{_when(package.get('CreationTime'))} by {_user(package.get('CreatedBy'))}"),
            ("last changed", f"{_when(package.get('LastModifiedTime', package.get('CreationTime')))} "
                             f"by {_user(package.get('LastModifiedBy'))}"),
            ("history", "the registry keeps the current approval only; earlier changes are "
                        "UpdateModelPackage events in CloudTrail"),
        ],
    )
    lines += _section(
        "code",
        [
            ("commit", get(settings.SOURCE_COMMIT_METADATA_KEY)),
            ("pipeline execution", get(settings.PIPELINE_EXECUTION_METADATA_KEY)),
        ],
    )
    lines += _section(
        "data",
        [
            ("input", get(settings.INPUT_DATA_METADATA_KEY)),
            ("version id", get(settings.INPUT_DATA_VERSION_METADATA_KEY)),
            ("etag", get(settings.INPUT_DATA_ETAG_METADATA_KEY)),
            ("test split", get(settings.TEST_DATA_METADATA_KEY)),
        ],
    )
    prefix = settings.HYPERPARAMETER_METADATA_PREFIX
    hyperparameters = sorted((k[len(prefix):], v) for k, v in metadata.items() if k.startswith(prefix))
    lines += _section(
        "training",
        [
            ("image", get(settings.TRAINING_IMAGE_METADATA_KEY)),
            ("hyperparameters", " ".join(f"{k}={v}" for k, v in hyperparameters) or "missing"),
            *_training_job_rows(sagemaker, package),
        ],
    )
    if missing:
        lines.append(f"missing lineage metadata: {', '.join(missing)}")
    return lines


def _training_job_rows(sagemaker: Any, package: Mapping[str, Any]) -> List[Tuple[str, str]]:
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    model_data = containers[0].get("ModelDataUrl", "") if containers else ""
    name = training_job_name(model_data)
    if name is None:
        return [("training job", f"unknown (model data {model_data or 'missing'})")]
    try:
        job = _call(
            "sagemaker:DescribeTrainingJob", name, sagemaker.describe_training_job,
            TrainingJobName=name,
        )
    except _NotFound as missing:
        return [("training job", f"{name}: not found ({missing})")]
    rows = [
        ("training job", f"{job.get('TrainingJobArn', name)} ({job.get('TrainingJobStatus', '?')})"),
        ("job image", str(job.get("AlgorithmSpecification", {}).get("TrainingImage", "?"))),
    ]
    for channel in job.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri", "?")
        rows.append((f"channel {channel.get('ChannelName', '?')}", source))
    rows.append(("model data", model_data))
    return rows


def main(argv: Optional[Sequence[str]] = None, sagemaker_client: Any = None) -> int:
    """Run the command; ``sagemaker_client`` defaults to boto3's, in the ARN's Region."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arn", help="model package version ARN")
    args = parser.parse_args(argv)
    try:
        parts = parse_arn(args.arn)
        if sagemaker_client is None:
            import boto3

            sagemaker_client = boto3.client("sagemaker", region_name=parts["region"])
        lines = lineage_lines(sagemaker_client, args.arn.strip())
    except LineageError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_status
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
