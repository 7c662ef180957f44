"""The project settings that CodeBuild passes to ``run_pipeline`` as environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from pipelines.abalone import settings

REQUIRED_VARIABLES = (
    "SAGEMAKER_PROJECT_NAME",
    "SAGEMAKER_PROJECT_ID",
    "SAGEMAKER_PROJECT_NAME_ID",
    "SAGEMAKER_PIPELINE_ROLE_ARN",
    "ARTIFACT_BUCKET",
)


class ConfigError(ValueError):
    """A required environment variable is missing or empty, or a variable is malformed."""


@dataclass(frozen=True)
class ProjectConfig:
    """Everything ``run_pipeline`` needs to know about the project it builds for."""

    project_name: str
    project_id: str
    prefix: str
    job_prefix: str
    pipeline_name: str
    model_package_group_name: str
    role_arn: str
    artifact_bucket: str
    region: str
    kms_key_arn: Optional[str]
    input_data_url: str
    processing_instance_type: str
    training_instance_type: str
    #: The commit being built (CodeBuild's CODEBUILD_RESOLVED_SOURCE_VERSION); None outside CodeBuild.
    source_commit: Optional[str] = None
    #: ExpireAfter of the cached steps (PIPELINE_STEP_CACHE_EXPIRY); None: step caching off.
    step_cache_expiry: Optional[str] = settings.DEFAULT_STEP_CACHE_EXPIRY
    #: The private subnets and security groups every job runs in (PRIVATE_SUBNET_IDS,
    #: PRIVATE_SECURITY_GROUP_IDS, comma-separated); empty: SageMaker's own network.
    subnet_ids: Tuple[str, ...] = ()
    security_group_ids: Tuple[str, ...] = ()
    #: Whether the processing and training jobs and the model run with network isolation in
    #: the subnets (PRIVATE_NETWORK_ISOLATION: "true", the default, or "false").
    network_isolation: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "ProjectConfig":
        """Read the configuration from ``environ`` (normally ``os.environ``).

        Raises:
            ConfigError: naming every required variable that is missing, or the variable
                PIPELINE_STEP_CACHE_EXPIRY when it is neither a duration, "off" nor empty.
        """

        def get(name: str) -> Optional[str]:
            value = environ.get(name, "").strip()
            return value or None

        missing: List[str] = [name for name in REQUIRED_VARIABLES if get(name) is None]
        region = get("AWS_REGION") or get("AWS_DEFAULT_REGION")
        if region is None:
            missing.append("AWS_REGION")
        if missing:
            raise ConfigError("missing environment variable(s): " + ", ".join(missing))
        try:
            # Unset: the default; set but empty, or "off": step caching off.
            cache_expiry = settings.step_cache_expiry(
                "PIPELINE_STEP_CACHE_EXPIRY",
                environ.get("PIPELINE_STEP_CACHE_EXPIRY", settings.DEFAULT_STEP_CACHE_EXPIRY),
            )
        except ValueError as error:
            raise ConfigError(str(error)) from error
        subnets, groups = (
            tuple(part.strip() for part in (get(name) or "").split(",") if part.strip())
            for name in ("PRIVATE_SUBNET_IDS", "PRIVATE_SECURITY_GROUP_IDS")
        )
        if bool(subnets) != bool(groups):
            given, empty = ("PRIVATE_SUBNET_IDS", "PRIVATE_SECURITY_GROUP_IDS") if subnets else ("PRIVATE_SECURITY_GROUP_IDS", "PRIVATE_SUBNET_IDS")
            raise ConfigError(f"{given} is set but {empty} is empty: the jobs' subnets and security groups are given together")
        isolation = (get("PRIVATE_NETWORK_ISOLATION") or "true").lower()
        if isolation not in ("true", "false"):
            raise ConfigError(f"PRIVATE_NETWORK_ISOLATION is {isolation!r}: expected true or false")
        prefix = str(get("SAGEMAKER_PROJECT_NAME_ID"))
        bucket = str(get("ARTIFACT_BUCKET"))
        return cls(
            project_name=str(get("SAGEMAKER_PROJECT_NAME")),
            project_id=str(get("SAGEMAKER_PROJECT_ID")),
            prefix=prefix,
            # Job names have at most 63 characters: the project id alone starts them.
            job_prefix=str(get("SAGEMAKER_PROJECT_ID")),
            pipeline_name=get("SAGEMAKER_PIPELINE_NAME") or prefix,
            model_package_group_name=get("MODEL_PACKAGE_GROUP_NAME") or prefix,
            role_arn=str(get("SAGEMAKER_PIPELINE_ROLE_ARN")),
            artifact_bucket=bucket,
            region=str(region),
            kms_key_arn=get("ARTIFACT_KMS_KEY_ARN"),
            input_data_url=get("INPUT_DATA_URL") or f"s3://{bucket}/datasets/abalone/abalone.csv",
            processing_instance_type=get("PROCESSING_INSTANCE_TYPE")
            or settings.DEFAULT_INSTANCE_TYPE,
            training_instance_type=get("TRAINING_INSTANCE_TYPE") or settings.DEFAULT_INSTANCE_TYPE,
            source_commit=get("CODEBUILD_RESOLVED_SOURCE_VERSION"),
            step_cache_expiry=cache_expiry,
            subnet_ids=subnets,
            security_group_ids=groups,
            network_isolation=isolation == "true",
        )

    @property
    def tags(self) -> List[Dict[str, str]]:
        """Tags that tie the pipeline to its SageMaker project."""
        return [
            {"Key": "sagemaker:project-name", "Value": self.project_name},
            {"Key": "sagemaker:project-id", "Value": self.project_id},
        ]
