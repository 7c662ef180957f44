"""Shared CodeBuild settings: compute types, and the one way a pipeline's build project is made."""

from __future__ import annotations

from typing import Mapping, Optional

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from ..compliance import acknowledge, acknowledge_cdk_grants, acknowledge_wildcards

#: Linux compute types of on-demand CodeBuild projects, by their CloudFormation names.
COMPUTE_TYPES = {
    "BUILD_GENERAL1_SMALL": codebuild.ComputeType.SMALL,
    "BUILD_GENERAL1_MEDIUM": codebuild.ComputeType.MEDIUM,
    "BUILD_GENERAL1_LARGE": codebuild.ComputeType.LARGE,
    "BUILD_GENERAL1_XLARGE": codebuild.ComputeType.X_LARGE,
    "BUILD_GENERAL1_2XLARGE": codebuild.ComputeType.X2_LARGE,
}


def default_policy(project: codebuild.Project) -> IConstruct:
    """The inline policy aws-cdk-lib writes a CodeBuild project's grants into (its role's ``DefaultPolicy``)."""
    if project.role is None:  # a PipelineProject always has one; an imported role would not
        raise ValueError(f"invalid CodeBuild project {project.node.path!r}: expected a role created with it")
    return project.role.node.find_child("DefaultPolicy")


def pipeline_project(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    variables: Mapping[str, str],
    encryption_key: kms.IKey,
    log_group: logs.ILogGroup,
    compute_type: str,
    build_image: codebuild.IBuildImage,
    timeout_minutes: int,
    build_spec: Optional[codebuild.BuildSpec] = None,
    privileged: bool = False,
    cache: Optional[codebuild.Cache] = None,
) -> codebuild.PipelineProject:
    """A CodeBuild project run by CodePipeline: encrypted with the project key, logging to
    ``log_group`` (under a stream prefix named after ``construct_id``), not privileged unless
    ``privileged`` (only a Docker image build needs the Docker daemon), with ``cache`` (none by
    default; see :func:`bucket_cache`)."""
    project = codebuild.PipelineProject(
        scope,
        construct_id,
        description=description,
        build_spec=build_spec,
        environment=codebuild.BuildEnvironment(
            build_image=build_image, compute_type=COMPUTE_TYPES[compute_type], privileged=privileged
        ),
        environment_variables={name: codebuild.BuildEnvironmentVariable(value=value) for name, value in variables.items()},
        encryption_key=encryption_key,
        cache=cache,
        timeout=Duration.minutes(timeout_minutes),
        logging=codebuild.LoggingOptions(
            cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group, prefix=construct_id.lower())
        ),
    )
    stack = Stack.of(scope)
    acknowledge_wildcards(
        default_policy(project),
        "aws-cdk-lib lets every CodeBuild project write test reports to report groups named "
        "after it, and logs under its own /aws/codebuild/ log group",
        stack.format_arn(
            service="codebuild",
            resource="report-group",
            resource_name=f"{project.project_name}-*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        ),
        stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/codebuild/{project.project_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
    )
    acknowledge(
        project,
        "the source is CODEPIPELINE: there is no repository URL, so no credentials in one",
        "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
    )
    return project


#: Where CodeBuild projects keep their S3 caches in the project's bucket: one prefix each.
BUILD_CACHE_PREFIX = "codebuild-cache"


def bucket_cache(bucket: s3.IBucket, name: str) -> codebuild.Cache:
    """An S3 cache for one CodeBuild project, under ``codebuild-cache/<name>`` in the project's
    ``bucket`` (encrypted with its key, like every object there).

    The paths cached and the cache key are the buildspec's (its ``cache`` section); CodeBuild
    restores the cache before the install phase and saves it after the build. aws-cdk-lib
    grants the project's role read and write on the bucket's objects and use of its key, which
    the role holds already for the pipeline's artifacts in the same bucket.
    """
    return codebuild.Cache.bucket(bucket, prefix=f"{BUILD_CACHE_PREFIX}/{name}")


def acknowledge_pipeline_grants(scope: Construct, *, bucket: s3.IBucket, reason: str, resources: tuple[str, ...] = ()) -> None:
    """Acknowledge the aws-cdk-lib grants in every inline policy below ``scope`` (see
    :func:`~sagemaker_projects_cdk.compliance.acknowledge_cdk_grants`); call it once the
    pipeline is complete."""
    for policy in scope.node.find_all():
        if isinstance(policy, iam.Policy):
            acknowledge_cdk_grants(policy, reason=reason, resources=(bucket.arn_for_objects("*"), *resources))
