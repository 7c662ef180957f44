"""The model-build CI pipeline: source -> CodeBuild that upserts, starts and waits for the SageMaker pipeline."""

from __future__ import annotations

from typing import Mapping, Optional

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from ..._internal.codebuild import COMPUTE_TYPES, acknowledge_pipeline_grants, bucket_cache, default_policy, pipeline_project
from ..._internal.logs import encrypted_log_group
from ..._internal.validation import check_choice, check_instance_type, check_pattern, check_range, is_unresolved
from ...compliance import acknowledge_wildcards
from ..project.identity import ProjectIdentity
from ..registry.model_package_group import IModelPackageGroup
from ..sources.source import PipelineSource
from .execution_role import SageMakerExecutionRole

#: SageMaker Pipelines step caching's ExpireAfter: an ISO 8601 duration of years, months,
#: weeks, days, hours or minutes (P30D, P2W, PT12H, P1DT6H), not zero (P0D would expire
#: every entry at once: say "off"); or "off".
STEP_CACHE_EXPIRY_PATTERN = r"off|P(?=\d|T\d)(?=[^1-9]*[1-9])(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?)?"
STEP_CACHE_EXPIRY_EXPECTED = (
    "an ISO 8601 duration of years, months, weeks, days, hours or minutes (P30D, P2W, PT12H, P1DT6H), "
    "not zero, or 'off' (or empty) to turn step caching off"
)


def check_step_cache_expiry(setting: str, value: str) -> str:
    """``value`` as the model build's PIPELINE_STEP_CACHE_EXPIRY: a duration, or "off" for
    "off" or empty (a token is left to CloudFormation)."""
    if isinstance(value, str) and not is_unresolved(value) and value.strip().lower() in ("", "off"):
        return "off"
    return check_pattern(setting, value, STEP_CACHE_EXPIRY_PATTERN, STEP_CACHE_EXPIRY_EXPECTED)


#: Where the stack uploads the seed data set, relative to the bucket root.
DATASET_PREFIX = "datasets/abalone/"
DATASET_FILE = "abalone.csv"

class ModelBuildPipeline(Construct):
    """CodePipeline (V2) that runs a project's SageMaker model-building pipeline on every push.

    The build stage installs the repository's requirements and runs its ``buildspec.yml``,
    which upserts the SageMaker pipeline with the project's execution role, starts it and
    waits, failing the build when the execution fails. The build keeps its package caches
    (the paths the buildspec's ``cache`` section names) in the project's bucket under
    ``codebuild-cache/model-build/``, so an unchanged ``requirements.txt`` installs from them.

    :param project: the project (names, tags).
    :param source: where the model-build code lives (CodeCommit, or GitHub/GitLab/Bitbucket
        through CodeConnections).
    :param bucket: the artifact bucket (pipeline artifacts, SageMaker pipeline data).
    :param encryption_key: the bucket's KMS key; also encrypts build logs and artifacts.
    :param model_package_group: where the SageMaker pipeline registers models.
    :param execution_role: the SageMaker pipeline's execution role. Default: a new
        least-privilege :class:`SageMakerExecutionRole`.
    :param processing_instance_type: instance type of processing steps. Default: ``ml.m5.xlarge``.
    :param training_instance_type: instance type of the training step. Default: ``ml.m5.xlarge``.
    :param compute_type: CodeBuild compute type. Default: ``BUILD_GENERAL1_SMALL``.
    :param build_image: CodeBuild image. Default: ``aws/codebuild/standard:7.0`` (Python 3.12).
    :param build_timeout_minutes: how long a build (the whole SageMaker pipeline run) may take,
        5-2160. Default: 120.
    :param log_retention: how long build logs are kept. Default: one year.
    :param environment: extra environment variables for the build. Default: none.
    :param execution_mode: how CodePipeline handles a start while an execution runs. Default:
        ``SUPERSEDED`` (CodePipeline's default for V2, set explicitly): the running execution
        finishes, and of the starts that arrive meanwhile only the newest runs after it. Every
        execution builds from the newest commit and, in the image template, the newest image
        versions, so a burst of starts (several new image versions at once, or SageMaker's
        duplicate events) costs at most one more model build, not one each. ``QUEUED`` would run
        every start in turn; ``PARALLEL`` would run them at once, upserting and starting the same
        SageMaker pipeline concurrently.
    :param step_cache_expiry: how long the SageMaker pipeline's preprocessing and training steps
        reuse an earlier successful run with the same arguments (SageMaker Pipelines step
        caching), an ISO 8601 duration; ``off`` (or empty) turns it off. The build passes it
        as ``PIPELINE_STEP_CACHE_EXPIRY``. Default: ``P30D``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        source: PipelineSource,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        model_package_group: IModelPackageGroup,
        execution_role: Optional[SageMakerExecutionRole] = None,
        processing_instance_type: str = "ml.m5.xlarge",
        training_instance_type: str = "ml.m5.xlarge",
        compute_type: str = "BUILD_GENERAL1_SMALL",
        build_image: codebuild.IBuildImage = codebuild.LinuxBuildImage.STANDARD_7_0,
        build_timeout_minutes: int = 120,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        environment: Optional[Mapping[str, str]] = None,
        execution_mode: codepipeline.ExecutionMode = codepipeline.ExecutionMode.SUPERSEDED,
        step_cache_expiry: str = "P30D",
    ) -> None:
        super().__init__(scope, construct_id)
        check_instance_type("processing_instance_type", processing_instance_type)
        check_instance_type("training_instance_type", training_instance_type)
        check_choice("compute_type", compute_type, COMPUTE_TYPES)
        check_range("build_timeout_minutes", build_timeout_minutes, 5, 2160)
        step_cache_expiry = check_step_cache_expiry("step_cache_expiry", step_cache_expiry)

        #: The SageMaker pipeline's execution role.
        self.execution_role = execution_role or SageMakerExecutionRole(
            self,
            "ExecutionRole",
            project=project,
            bucket=bucket,
            encryption_key=encryption_key,
            model_package_group=model_package_group,
        )
        pipeline_name = project.name_id
        variables = {
            "SAGEMAKER_PROJECT_NAME": project.project_name,
            "SAGEMAKER_PROJECT_ID": project.project_id,
            "SAGEMAKER_PROJECT_NAME_ID": project.name_id,
            "SAGEMAKER_PIPELINE_NAME": pipeline_name,
            "MODEL_PACKAGE_GROUP_NAME": model_package_group.model_package_group_name,
            "SAGEMAKER_PIPELINE_ROLE_ARN": self.execution_role.role_arn,
            "ARTIFACT_BUCKET": bucket.bucket_name,
            "ARTIFACT_KMS_KEY_ARN": encryption_key.key_arn,
            "INPUT_DATA_URL": f"s3://{bucket.bucket_name}/{DATASET_PREFIX}{DATASET_FILE}",
            "PROCESSING_INSTANCE_TYPE": processing_instance_type,
            "TRAINING_INSTANCE_TYPE": training_instance_type,
            "PIPELINE_STEP_CACHE_EXPIRY": step_cache_expiry,
            **dict(environment or {}),
        }

        #: The build's log group, encrypted with the project key.
        self.log_group = encrypted_log_group(self, encryption_key=encryption_key, retention=log_retention)
        #: The CodeBuild project that runs the SageMaker pipeline.
        self.build_project = pipeline_project(
            self,
            "Build",
            description="Upserts, starts and waits for the project's SageMaker model-building pipeline",
            variables=variables,
            encryption_key=encryption_key,
            log_group=self.log_group,
            compute_type=compute_type,
            build_image=build_image,
            timeout_minutes=build_timeout_minutes,
            cache=bucket_cache(bucket, "model-build"),
        )
        self._grant_run_sagemaker_pipeline(project)
        self._grant_read_approved_baselines(model_package_group)

        source_output = codepipeline.Artifact("SourceArtifact")
        #: The CodePipeline.
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=project.resource_name("modelbuild"),
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=execution_mode,
            artifact_bucket=bucket,
            restart_execution_on_update=True,
            stages=[
                codepipeline.StageProps(stage_name="Source", actions=[source.action(output=source_output)]),
                codepipeline.StageProps(
                    stage_name="Build",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="BuildAndRunSageMakerPipeline",
                            project=self.build_project,
                            input=source_output,
                            outputs=[codepipeline.Artifact("BuildArtifact")],
                        )
                    ],
                ),
            ],
        )
        source.grant_clone(self.build_project)
        self._acknowledge_findings(project, bucket)

    def _acknowledge_findings(self, project: ProjectIdentity, bucket: s3.IBucket) -> None:
        """Acknowledge, with reasons, what aws-cdk-lib's CodePipeline and CodeBuild grants produce."""
        acknowledge_pipeline_grants(
            self,
            bucket=bucket,
            reason="granted by aws-cdk-lib's CodePipeline and CodeBuild constructs: read and "
            "write pipeline artifacts in this project's bucket with its key",
        )
        acknowledge_run_sagemaker_pipeline(default_policy(self.build_project), project)

    def _grant_read_approved_baselines(self, model_package_group: IModelPackageGroup) -> None:
        """run_pipeline finds the group's latest approved version and reads which drift
        baselines it has, to choose how the pipeline's checks run."""
        role = self.build_project.role
        assert role is not None
        for statement in read_approved_baselines_statements(model_package_group):
            role.add_to_principal_policy(statement)
        acknowledge_read_approved_baselines(default_policy(self.build_project), model_package_group)

    def _grant_run_sagemaker_pipeline(self, project: ProjectIdentity) -> None:
        # The artifact bucket and key are granted by the pipeline's CodeBuild action.
        role = self.build_project.role
        assert role is not None
        for statement in run_sagemaker_pipeline_statements(project, self.execution_role.role_arn):
            role.add_to_principal_policy(statement)


# The statements a model build's runner holds (CodeBuild's role here; a Jenkins role in
# build-deploy-jenkins), besides read and write on the artifact bucket and its key.


def run_sagemaker_pipeline_statements(project: ProjectIdentity, execution_role_arn: str) -> list[iam.PolicyStatement]:
    """Upsert, start, watch and stop the project's SageMaker pipeline; pass it its execution role."""
    pipeline_arns = project.sagemaker_arn("pipeline")
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreatePipeline",
                "sagemaker:UpdatePipeline",
                "sagemaker:DescribePipeline",
                "sagemaker:StartPipelineExecution",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            resources=pipeline_arns,
        ),
        iam.PolicyStatement(
            actions=[
                "sagemaker:DescribePipelineExecution",
                "sagemaker:ListPipelineExecutionSteps",
                "sagemaker:StopPipelineExecution",
            ],
            resources=[f"{arn}/execution/*" for arn in pipeline_arns],
        ),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[execution_role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]


def acknowledge_run_sagemaker_pipeline(policy: IConstruct, project: ProjectIdentity) -> None:
    """Acknowledge, on ``policy``, the wildcards of :func:`run_sagemaker_pipeline_statements`."""
    acknowledge_wildcards(
        policy,
        "the SageMaker pipeline of a project Studio names is matched as '*-<project id>'; "
        "execution ids are generated at run time",
        *(
            arn
            for pipeline_arn in project.sagemaker_arn("pipeline")
            for arn in (pipeline_arn, f"{pipeline_arn}/execution/*")
            if "*" in arn
        ),
    )


def read_approved_baselines_statements(model_package_group: IModelPackageGroup) -> list[iam.PolicyStatement]:
    """List the group's versions (ListModelPackages has no resource type) and describe them."""
    return [
        iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]),
        iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[model_package_group.model_packages_arn]),
    ]


def acknowledge_read_approved_baselines(policy: IConstruct, model_package_group: IModelPackageGroup) -> None:
    """Acknowledge, on ``policy``, the wildcards of :func:`read_approved_baselines_statements`."""
    acknowledge_wildcards(
        policy,
        "run_pipeline lists the group's approved versions (ListModelPackages has no resource type) "
        "and describes the latest (version numbers are assigned at registration)",
        "*",
        model_package_group.model_packages_arn,
    )
