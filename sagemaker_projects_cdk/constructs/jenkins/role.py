"""The IAM role Jenkins assumes to build and deploy a project's models: no IAM user, no keys.

Jenkins gets temporary credentials for it either from the role it already runs as (the
controller's or agents' EC2 instance profile, ECS task role or EKS pod role: ``sts:AssumeRole``).
Nothing else may assume it. An OIDC principal (``oidc_provider_arn``) is refused for now
(``values.OIDC_REFUSED`` says why).

It holds what the CodeBuild roles of build-deploy hold, built by the same functions: the model
build's (upsert, start and watch the project's SageMaker pipeline, pass it its execution role,
read the group's approved versions; read and write the artifact bucket with its key), the
deploy build's (read the group's versions), the tested stages' (describe and invoke their
endpoints, read the test set; an asynchronous or batch stage's requests, test rows and
transform runs), and the CloudFormation deployment of the stage stacks through
change sets as the project's deployer role. The stack's project tags are on it.

A session from another role's credentials is role chaining: AWS caps it at one hour, whatever
``max_session_duration`` says; the Jenkinsfiles assume the role for each step rather than
once for a model build that may run longer: they hand the SDK an AWS config profile, and it
assumes the role again before each session expires.
"""

from __future__ import annotations

from typing import Optional, Sequence

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..._internal.validation import invalid
from ...compliance import acknowledge_cdk_grants, acknowledge_wildcards
from ..build.pipeline import (
    acknowledge_read_approved_baselines,
    acknowledge_run_sagemaker_pipeline,
    read_approved_baselines_statements,
    run_sagemaker_pipeline_statements,
)
from ..deploy.pipeline import (
    acknowledge_stage_queue_test,
    acknowledge_stage_test,
    stage_queue_test_statements,
    stage_stack_arn,
    stage_stack_deploy_statements,
    stage_test_statements,
)
from ..project.identity import ProjectIdentity
from ..registry.model_package_group import IModelPackageGroup
from .values import OIDC_REFUSED, check_oidc_provider_arn, check_principal_role_arn

#: The IAM path of the Jenkins roles.
JENKINS_ROLE_PATH = "/sagemaker-project-jenkins/"


class JenkinsRole(Construct):
    """The role Jenkins assumes for one project.

    :param project: the project (names, IAM scoping; the stack's project tags go on the role).
    :param bucket: the artifact bucket (with its key): the model build reads and writes it,
        the stage tests read the test set.
    :param model_package_group: the group the model build registers in and the deploy reads.
    :param execution_role_arn: the SageMaker pipeline's execution role (passed to SageMaker only).
    :param deployer_role_arn: the stage stacks' CloudFormation role (passed to CloudFormation only).
    :param trusted_role_arn: the role Jenkins runs as (may be a token). Exactly one of it and
        ``oidc_provider_arn``.
    :param oidc_provider_arn: not supported yet: a ``ValueError`` says why (``values.OIDC_REFUSED``).
    :param oidc_subject: with ``oidc_provider_arn`` (not supported yet).
    :param oidc_audience: with ``oidc_provider_arn`` (not supported yet).
    :param stages: the stages whose stacks Jenkins deploys. Default: staging and prod.
    :param tested_stages: the stages whose endpoints Jenkins tests. Default: staging.
    :param replaceable_stages: the stages whose stack Jenkins deletes when its creation failed
        (``ROLLBACK_COMPLETE``) before deploying it anew. Default: staging.
    :param max_session_duration: Default: two hours (one, whatever this says, when chained).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        bucket: s3.IBucket,
        model_package_group: IModelPackageGroup,
        execution_role_arn: str,
        deployer_role_arn: str,
        trusted_role_arn: Optional[str] = None,
        oidc_provider_arn: Optional[str] = None,
        oidc_subject: Optional[str] = None,
        oidc_audience: str = "sts.amazonaws.com",
        stages: Sequence[str] = ("staging", "prod"),
        tested_stages: Sequence[str] = ("staging",),
        replaceable_stages: Sequence[str] = ("staging",),
        max_session_duration: Optional[Duration] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        principal: iam.IPrincipal
        if (trusted_role_arn is None) == (oidc_provider_arn is None):
            raise invalid(
                "jenkins principal",
                {"trusted_role_arn": trusted_role_arn, "oidc_provider_arn": oidc_provider_arn},
                "exactly one of trusted_role_arn (the role Jenkins runs as) and oidc_provider_arn (with oidc_subject)",
            )
        if trusted_role_arn is not None:
            check_principal_role_arn("trusted_role_arn", trusted_role_arn)
            principal = iam.ArnPrincipal(trusted_role_arn)
        else:
            assert oidc_provider_arn is not None
            check_oidc_provider_arn("oidc_provider_arn", oidc_provider_arn)
            # Refused until the Jenkinsfiles bind a renewable token and the trust names both jobs.
            raise invalid("oidc_provider_arn", oidc_provider_arn, OIDC_REFUSED)
        for name, chosen in (("tested_stages", tested_stages), ("replaceable_stages", replaceable_stages)):
            if any(s not in stages for s in chosen):
                raise invalid(name, tuple(chosen), f"stages among {tuple(stages)}")
        #: The role.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=principal,
            description="Assumed by Jenkins to build and deploy a SageMaker project's models (no keys)",
            path=JENKINS_ROLE_PATH,
            max_session_duration=max_session_duration or Duration.hours(2),
        )
        role = self.role
        # The model build (the buildspec's run_pipeline, from the Jenkinsfile).
        for statement in run_sagemaker_pipeline_statements(project, execution_role_arn):
            role.add_to_principal_policy(statement)
        for statement in read_approved_baselines_statements(model_package_group):
            role.add_to_principal_policy(statement)
        bucket.grant_read_write(role)
        # The deploy build (build.py): the group's versions.
        model_package_group.grant_read(role)
        # The stage tests (test_endpoint.py): a real-time endpoint's, and an asynchronous or batch
        # stage's (requests and test rows, the transform's state machine, the stage stack's outputs),
        # as the CodeBuild test projects of build-deploy hold them.
        key_arn = bucket.encryption_key.key_arn if bucket.encryption_key is not None else None
        for stage in tested_stages:
            for statement in stage_test_statements(self, project, stage):
                role.add_to_principal_policy(statement)
            for statement in stage_queue_test_statements(
                self, project, stage, bucket, key_arn, stack_arn=stage_stack_arn(self, project, stage)
            ):
                role.add_to_principal_policy(statement)
        # The stage deployments (aws cloudformation deploy --role-arn <deployer>).
        for statement in stage_stack_deploy_statements(
            self, project, list(stages), deployer_role_arn, replaceable_stages=list(replaceable_stages)
        ):
            role.add_to_principal_policy(statement)

        policy = role.node.find_child("DefaultPolicy")
        acknowledge_run_sagemaker_pipeline(policy, project)
        acknowledge_read_approved_baselines(policy, model_package_group)
        for stage in tested_stages:
            acknowledge_stage_test(policy, project, stage)
            acknowledge_stage_queue_test(policy, project, stage, bucket, stack_arn=stage_stack_arn(self, project, stage))
        acknowledge_wildcards(
            policy,
            "a stage stack's ARN ends with an id CloudFormation generates; only this project's stage stacks",
            *(stage_stack_arn(self, project, stage) for stage in stages),
        )
        acknowledge_cdk_grants(
            policy,
            reason="aws-cdk-lib's grants on this project's artifact bucket (read and write, with its key: the SageMaker "
            "pipeline's code and data) and its model package group (describe its versions)",
            resources=(bucket.arn_for_objects("*"), model_package_group.model_packages_arn),
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
