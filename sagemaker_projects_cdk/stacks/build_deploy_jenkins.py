"""The "model building, training and deployment with third-party Git repositories using
Jenkins" template: the bucket, key and group, two existing Git repositories seeded with the
pipelines' code and Jenkinsfiles, the role Jenkins assumes (no IAM user, no keys) and the
trigger that starts the Jenkins deploy job when a model version is approved.

There is no CodePipeline and no CodeBuild project here: Jenkins runs the model build (the
model-build repository's ``Jenkinsfile``: the seed's tests, then ``run_pipeline`` as the
buildspec runs it) and the deployment (the model-deploy repository's ``Jenkinsfile``: the
seed's ``build.py``, the staging stack through CloudFormation with the project's deployer
role, the staging tests, a person's approval, the prod stack). The Job DSL seed job in the
model-build repository creates both Jenkins jobs with this stack's outputs.

Staging and prod are in this account: a stage in another account would need the
target-account baseline to trust the Jenkins role (it trusts the tooling account's roles
tagged with the project id, which this role is), which is not wired yet. Deleting the project
deletes the stage stacks (``StageTeardown``), after the Jenkins role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from aws_cdk import Aws, CfnCondition, CfnOutput, CfnParameter, Fn, Stack, Token
from constructs import Construct

from .._internal.validation import check_choice, invalid
from ..constructs.build.execution_role import SageMakerExecutionRole
from ..constructs.deploy.deployer_role import StageDeployerRole
from ..constructs.deploy.pipeline import stage_stack_name
from ..constructs.deploy.teardown import StageTeardown
from ..constructs.jenkins import JenkinsDeployTrigger, JenkinsRole, dead_letter_alarm_name
from ..constructs.jenkins.values import (
    JENKINS_URL_EXPECTED,
    JENKINS_URL_PATTERN,
    JOB_NAME_EXPECTED,
    JOB_NAME_PATTERN,
    OIDC_REFUSED,
    PRINCIPAL_ROLE_ARN_PATTERN,
    REACHABILITY,
    SECRET_ARN_EXPECTED,
    SECRET_ARN_PATTERN,
    check_ids,
    check_jenkins_url,
    check_job_name,
    check_oidc_provider_arn,
    check_oidc_subject,
    check_principal_role_arn,
    check_secret_arn,
)
from ..constructs.operations.notifications import trigger_failed
from .build_deploy_git import GitRepositoriesSettings, connection_source, refuse_source
from .components import ModelBuildSettings, TemplateParts, add_core, add_core_outputs, add_operations
from .components.core import add_connection_repository
from .components.model_build import add_dataset, step_cache_expiry
from .template import Template, TemplateStack, setting

#: The seed job's parameters (seed_code/jenkins/model_deploy/seed_job.groovy) -> the stack output
#: that holds each value (GIT_CREDENTIALS_ID is Jenkins's own: the id of the repositories' credentials).
SEED_JOB_OUTPUTS = {
    "SAGEMAKER_PROJECT_NAME": "ProjectName",
    "SAGEMAKER_PROJECT_ID": "ProjectId",
    "AWS_REGION": "Region",
    "ARTIFACT_BUCKET": "ArtifactBucketName",
    "ARTIFACT_KMS_KEY_ARN": "ArtifactKmsKeyArn",
    "MODEL_PACKAGE_GROUP_NAME": "ModelPackageGroupName",
    "JENKINS_ROLE_ARN": "JenkinsRoleArn",
    "SAGEMAKER_PIPELINE_ROLE_ARN": "SageMakerPipelineRoleArn",
    "DEPLOYER_ROLE_ARN": "DeployerRoleArn",
    "MODEL_BUILD_REPOSITORY_URL": "ModelBuildRepositoryUrl",
    "MODEL_DEPLOY_REPOSITORY_URL": "ModelDeployRepositoryUrl",
    "MODEL_BUILD_BRANCH": "ModelBuildBranch",
    "MODEL_DEPLOY_BRANCH": "ModelDeployBranch",
    "DEPLOY_JOB_NAME": "DeployJobName",
    "PROCESSING_INSTANCE_TYPE": "ProcessingInstanceType",
    "TRAINING_INSTANCE_TYPE": "TrainingInstanceType",
    "PIPELINE_STEP_CACHE_EXPIRY": "SageMakerPipelineStepCacheExpiry",
}

#: The stages the deploy Jenkinsfile deploys, in order; the first is tested, the second approved.
JENKINS_STAGES = ("staging", "prod")
JENKINS_TESTED_STAGES = ("staging",)


@dataclass(frozen=True, kw_only=True)
class JenkinsSettings(ModelBuildSettings):
    """Jenkins's settings: where it is, the deploy job, its credentials and its AWS identity."""

    jenkins_url: Optional[str] = setting(
        None,
        doc="Jenkins's https address without a trailing slash (`https://jenkins.example.com`, "
        "`https://ci.example.com/jenkins`); the trigger calls `<url>/job/<deploy job>/buildWithParameters`",
        parameter="JenkinsUrl",
        check=check_jenkins_url,
    )
    jenkins_deploy_job_name: Optional[str] = setting(
        None,
        doc="the Jenkins deploy job the trigger starts (the seed job creates it): a top-level job (not in a folder), "
        "letters, digits, `.`, `_`, `-`, not ending in `.`; "
        "the parameter's default is empty: `<project name>-<project id>-model-deploy`, the seed job's default",
        parameter="JenkinsDeployJobName",
        check=check_job_name,
    )
    jenkins_credentials_secret_arn: Optional[str] = setting(
        None,
        doc="the complete ARN of a Secrets Manager secret tagged `sagemaker=true` holding JSON `{\"username\": ..., "
        "\"token\": ...}`: a Jenkins user and its API token, allowed to build the deploy job",
        parameter="JenkinsCredentialsSecretArn",
        check=check_secret_arn,
    )
    jenkins_role_arn: Optional[str] = setting(
        None,
        doc="the IAM role Jenkins runs as (its instance, task or pod role), the only principal that may assume the "
        "project's Jenkins role; not used with `jenkins_oidc_provider_arn`",
        parameter="JenkinsPrincipalRoleArn",
        check=check_principal_role_arn,
    )
    jenkins_oidc_provider_arn: Optional[str] = setting(
        None,
        doc="not supported yet (refused at synth, see docs/guide/jenkins.md): the IAM OIDC identity provider of the tokens "
        "Jenkins would present (AssumeRoleWithWebIdentity)",
        check=check_oidc_provider_arn,
    )
    jenkins_oidc_subject: Optional[str] = setting(
        None,
        doc="with `jenkins_oidc_provider_arn` (not supported yet): the exact `sub` of Jenkins's tokens",
        check=check_oidc_subject,
    )
    jenkins_oidc_audience: str = setting(
        "sts.amazonaws.com",
        doc="with `jenkins_oidc_provider_arn` (not supported yet): the `aud` of Jenkins's tokens",
        check=lambda name, value: check_oidc_subject(name, value),
    )
    jenkins_reachability: str = setting(
        "public",
        doc="how the approval trigger reaches Jenkins: `public` (an EventBridge API destination over the internet) "
        "or `vpc` (a function in `jenkins_subnet_ids`, which need a route to Secrets Manager); synth-time",
        check=lambda name, value: check_choice(name, value, REACHABILITY),
    )
    jenkins_subnet_ids: Optional[tuple[str, ...]] = setting(
        None,
        doc="with `vpc` (required): the subnets of the trigger's function, which reach Jenkins and Secrets Manager; "
        "synth-time",
        check=check_ids("subnet", "subnet"),
    )
    jenkins_security_group_ids: Optional[tuple[str, ...]] = setting(
        None,
        doc="with `vpc` (required): the function's security groups (Jenkins lets them in on https); synth-time",
        check=check_ids("security group", "sg"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.jenkins_oidc_provider_arn is not None:
            if self.jenkins_role_arn is not None:
                raise invalid(
                    "jenkins_role_arn",
                    self.jenkins_role_arn,
                    "no value with jenkins_oidc_provider_arn: one principal assumes the Jenkins role",
                )
            if self.jenkins_oidc_subject is None:
                raise invalid("jenkins_oidc_subject", None, "the exact sub claim of Jenkins's tokens, with jenkins_oidc_provider_arn")
            raise invalid("jenkins_oidc_provider_arn", self.jenkins_oidc_provider_arn, OIDC_REFUSED)
        elif self.jenkins_oidc_subject is not None:
            raise invalid("jenkins_oidc_subject", self.jenkins_oidc_subject, "no value without jenkins_oidc_provider_arn")
        for name in ("jenkins_subnet_ids", "jenkins_security_group_ids"):
            value = getattr(self, name)
            if self.jenkins_reachability != "vpc" and value is not None:
                raise invalid(name, value, "no value unless jenkins_reachability is 'vpc'")
            if self.jenkins_reachability == "vpc" and value is None:
                raise invalid(name, value, "the ids the trigger's function runs in, with jenkins_reachability 'vpc'")


@dataclass(frozen=True, kw_only=True)
class BuildDeployJenkinsSettings(GitRepositoriesSettings, JenkinsSettings):
    """Settings of the build-deploy-jenkins template: the model build's, Jenkins's, and the
    connection and repositories (each a CloudFormation parameter when not given)."""

    def __post_init__(self) -> None:
        refuse_source(self, "build-deploy-jenkins")
        super().__post_init__()


def _string_parameter(
    stack: Stack,
    name: str,
    description: str,
    *,
    allowed_pattern: str,
    expected: str,
    default: Optional[str] = None,
) -> str:
    """A string parameter matching ``allowed_pattern`` (``expected`` says what it must be)."""
    return CfnParameter(
        stack,
        name,
        description=description,
        type="String",
        default=default,
        allowed_pattern=allowed_pattern,
        constraint_description=expected,
    ).value_as_string


def default_deploy_job_name(name_id: str) -> str:
    """The seed job's default name of the deploy job: ``<project name>-<project id>-model-deploy``."""
    return f"{name_id}-model-deploy"


def _deploy_job_name(stack: Stack, name_id: str, parameter: Optional[str]) -> str:
    """The parameter's value, or the seed job's default name when it is empty."""
    assert parameter is not None
    empty = CfnCondition(stack, "JenkinsDeployJobNameIsDefault", expression=Fn.condition_equals(parameter, ""))
    return Token.as_string(Fn.condition_if(empty.logical_id, default_deploy_job_name(name_id), parameter))


def _compose(stack: Stack, settings: BuildDeployJenkinsSettings) -> TemplateParts:
    # Parameters first (Studio shows them in template order): the repositories', then Jenkins's.
    source = connection_source(stack, settings, default_branch=settings.branch)
    url = settings.jenkins_url or _string_parameter(
        stack,
        "JenkinsUrl",
        "Jenkins's https address, without a trailing slash",
        allowed_pattern=f"^{JENKINS_URL_PATTERN}$",
        expected=JENKINS_URL_EXPECTED,
    )
    job_parameter: Optional[str] = None
    if settings.jenkins_deploy_job_name is None:
        job_parameter = _string_parameter(
            stack,
            "JenkinsDeployJobName",
            "The Jenkins deploy job an approved model version starts (empty: <project name>-<project id>-model-deploy, "
            "the seed job's default name)",
            default="",
            allowed_pattern=f"^$|^{JOB_NAME_PATTERN}$",
            expected="empty, or " + JOB_NAME_EXPECTED,
        )
    secret_arn = settings.jenkins_credentials_secret_arn or _string_parameter(
        stack,
        "JenkinsCredentialsSecretArn",
        "ARN of the Secrets Manager secret (tagged sagemaker=true) with the Jenkins username and API token, as JSON "
        '{"username": "...", "token": "..."}',
        allowed_pattern=f"^{SECRET_ARN_PATTERN}$",
        expected=SECRET_ARN_EXPECTED,
    )
    trusted_role_arn: Optional[str] = None
    if settings.jenkins_oidc_provider_arn is None:
        trusted_role_arn = settings.jenkins_role_arn or _string_parameter(
            stack,
            "JenkinsPrincipalRoleArn",
            "ARN of the IAM role Jenkins runs as (instance, task or pod role): the only principal that may assume the "
            "project's Jenkins role",
            allowed_pattern=f"^{PRINCIPAL_ROLE_ARN_PATTERN}$",
            expected="arn:aws:iam::<account>:role/<name>",
        )
    subnet_ids = list(settings.jenkins_subnet_ids) if settings.jenkins_subnet_ids is not None else None
    security_group_ids = list(settings.jenkins_security_group_ids) if settings.jenkins_security_group_ids is not None else None

    core = add_core(stack, settings)
    project, artifacts = core.project, core.artifacts
    job_name = settings.jenkins_deploy_job_name or _deploy_job_name(stack, project.name_id, job_parameter)
    dataset = add_dataset(stack, core)
    repositories = {
        seed: add_connection_repository(
            stack,
            core,
            source,
            seed=seed,
            construct_id=construct_id,
            compute_type=settings.compute_type,
            overlay=f"jenkins/{seed}",
        )
        for seed, construct_id in (("model_build", "ModelBuildRepository"), ("model_deploy", "ModelDeployRepository"))
    }
    execution_role = SageMakerExecutionRole(
        Construct(stack, "ModelBuild"),
        "ExecutionRole",
        project=project,
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        model_package_group=core.model_package_group,
    )
    deployer = StageDeployerRole(
        Construct(stack, "ModelDeploy"),
        "Deployer",
        project=project,
        encryption_key=artifacts.encryption_key,
        model_package_group=core.model_package_group,
    )
    jenkins = JenkinsRole(
        stack,
        "Jenkins",
        project=project,
        bucket=artifacts.bucket,
        model_package_group=core.model_package_group,
        execution_role_arn=execution_role.role_arn,
        deployer_role_arn=deployer.role_arn,
        trusted_role_arn=trusted_role_arn,
        oidc_provider_arn=settings.jenkins_oidc_provider_arn,
        oidc_subject=settings.jenkins_oidc_subject,
        oidc_audience=settings.jenkins_oidc_audience,
        stages=JENKINS_STAGES,
        tested_stages=JENKINS_TESTED_STAGES,
    )
    # Deleting the project deletes the stage stacks Jenkins deployed (with the deployer role),
    # after the Jenkins role, so Jenkins cannot deploy a stage again meanwhile.
    teardown = StageTeardown(
        stack,
        "StageTeardown",
        encryption_key=artifacts.encryption_key,
        deployer=deployer,
        project=project,
        stage_names=JENKINS_STAGES,
    )
    jenkins.node.add_dependency(teardown.resource)
    trigger = JenkinsDeployTrigger(
        stack,
        "JenkinsTrigger",
        project=project,
        model_package_group_name=core.model_package_group.model_package_group_name,
        jenkins_url=url,
        job_name=job_name,
        credentials_secret_arn=secret_arn,
        encryption_key=artifacts.encryption_key,
        reachability=settings.jenkins_reachability,
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
    )
    # What the seed job fills into the Jenkins jobs (the values CodeBuild's environment holds in build-deploy).
    outputs = {
        "JenkinsRoleArn": jenkins.role_arn,
        "ProjectName": project.project_name,
        "ProjectId": project.project_id,
        "SageMakerPipelineName": project.name_id,
        "SageMakerPipelineRoleArn": execution_role.role_arn,
        "ArtifactKmsKeyArn": artifacts.encryption_key.key_arn,
        "DeployerRoleArn": deployer.role_arn,
        "StagingStackName": stage_stack_name(project, "staging"),
        "ProdStackName": stage_stack_name(project, "prod"),
        "Region": Aws.REGION,
        "ModelBuildRepositoryName": repositories["model_build"].description,
        "ModelDeployRepositoryName": repositories["model_deploy"].description,
        "ModelBuildRepositoryUrl": f"{source.host_url}/{repositories['model_build'].repository.full_name}.git",
        "ModelDeployRepositoryUrl": f"{source.host_url}/{repositories['model_deploy'].repository.full_name}.git",
        "ModelBuildBranch": repositories["model_build"].repository.branch,
        "ModelDeployBranch": repositories["model_deploy"].repository.branch,
        "DatasetS3Url": dataset.s3_url,
        "DeployJobName": job_name,
        # The model build's instance types (CodeBuild's PROCESSING/TRAINING_INSTANCE_TYPE in build-deploy).
        "ProcessingInstanceType": settings.processing_instance_type,
        "TrainingInstanceType": settings.training_instance_type,
        # The SageMaker pipeline's step caching (CodeBuild's PIPELINE_STEP_CACHE_EXPIRY in build-deploy).
        "SageMakerPipelineStepCacheExpiry": step_cache_expiry(stack, settings),
        "JenkinsTriggerDeadLetterQueueUrl": trigger.dead_letter_queue.queue_url,
    }
    for name, value in outputs.items():
        CfnOutput(stack, name, value=value)
    add_core_outputs(stack, core)
    parts = add_operations(
        stack, core, settings, TemplateParts.of(core), sagemaker_pipeline_name=project.name_id, endpoint_stages=JENKINS_STAGES
    )
    assert parts.operations is not None
    parts.operations.notifications.notify(trigger_failed(project, dead_letter_alarm_name(project), "the Jenkins deploy job"))
    return parts


BUILD_DEPLOY_JENKINS = Template(
    template_id="build-deploy-jenkins",
    # SageMaker's title ("MLOps template for model building, training, and deployment with
    # third-party Git repositories using Jenkins") is 111 characters; a Service Catalog product
    # name takes at most 100.
    title="MLOps template for model building, training, and deployment with third-party Git using Jenkins",
    description="SageMaker project: model building, training and deployment with third-party Git repositories using "
    "Jenkins (sagemaker-projects-cdk)",
    summary="build-deploy-git's repositories run by your Jenkins instead of CodePipeline: seeded with Jenkinsfiles and "
    "a Job DSL seed job, a role Jenkins assumes (no IAM user, no keys), and an approval trigger that starts the "
    "Jenkins deploy job (EventBridge API destination, or a function in your VPC) with a dead-letter queue and alarm",
    settings=BuildDeployJenkinsSettings,
    compose=_compose,
)


class BuildDeployJenkinsStack(TemplateStack):
    """Model building, training and deployment run by Jenkins from two existing repositories on
    GitHub, GitLab or Bitbucket (reached through an AWS CodeConnections connection, seeded with
    the seed code and its Jenkinsfiles, associated with the project): the role Jenkins assumes
    and the trigger that starts its deploy job when a model version is approved.

    Settings: ``BuildDeployJenkinsSettings``; any other keyword is an ``aws_cdk.Stack`` property.
    """

    TEMPLATE = BUILD_DEPLOY_JENKINS
