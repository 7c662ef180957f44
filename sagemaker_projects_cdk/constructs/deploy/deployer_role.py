"""The role CloudFormation assumes to deploy a project's endpoint stage stacks.

The stage template (``EndpointStageStack``) creates a model, an endpoint configuration, an
endpoint, two alarms, autoscaling and the model's role and policy. This role may create,
update and delete exactly that for this project (a failed stage stack is deleted and created
anew): IAM under the project's path, SageMaker resources tagged with the project id or named
after it, alarms of its stage stacks and of their target-tracking policies, and grants on the
project key. What it holds is checked against the handler permissions of the CloudFormation
resource schemas (``tests/unit/constructs/deploy/test_deployer_role.py``). It is never an
administrator (the pipeline's CloudFormation actions run with ``admin_permissions=False``)
and lives under its own IAM path, outside the paths it may change.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ...compliance import acknowledge_wildcards
from ..project.identity import PROJECT_ID_TAG, ProjectIdentity
from ..registry.model_package_group import IModelPackageGroup

# The constants stay importable from here (re-exported), where they were first defined.
from ._stage_permissions import AUTOSCALING_LINKED_ROLE as AUTOSCALING_LINKED_ROLE
from ._stage_permissions import AUTOSCALING_SERVICE as AUTOSCALING_SERVICE
from ._stage_permissions import (
    acknowledge_autoscaling_wildcards,
    alarm_and_autoscaling_statements,
    async_topic_statements,
    batch_statements,
    created_role_statements,
    linked_role_statements,
)

#: The IAM path of the deployer roles (the Service Catalog launch role may pass only these to
#: CloudFormation); outside every project's ``stage_iam_path``, so a deployer cannot change itself.
DEPLOYER_ROLE_PATH = "/sagemaker-project-deployers/"


def stage_iam_path(project_id: str) -> str:
    """The IAM path of the roles and policies a project's stage stacks create."""
    return f"/sagemaker-projects/{project_id}/"


def deployer_service_role(scope: Construct, kind: str) -> iam.Role:
    """CloudFormation's service role ``Role`` (in ``scope``, under ``DEPLOYER_ROLE_PATH``) for a
    project's ``kind`` (``endpoint``, ``monitor``) stage stacks."""
    return iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
        description=f"Deploys a SageMaker project's {kind} stage stacks",
        path=DEPLOYER_ROLE_PATH,
    )


class StageDeployerRole(Construct):
    """CloudFormation's service role for a project's endpoint stage stacks.

    :param project: the project; its id scopes names, tags and the IAM path.
    :param encryption_key: the project key (endpoint volumes and captured data).
    :param model_package_group: the group whose versions the stages deploy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        encryption_key: kms.IKey,
        model_package_group: IModelPackageGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        project_id = project.project_id
        #: The role.
        self.role = deployer_service_role(self, "endpoint")
        path = stage_iam_path(project_id)
        roles = stack.format_arn(service="iam", region="", resource="role", resource_name=f"{path.strip('/')}/*")
        policies = stack.format_arn(service="iam", region="", resource="policy", resource_name=f"{path.strip('/')}/*")
        linked_role = stack.format_arn(service="iam", region="", resource="role", resource_name=AUTOSCALING_LINKED_ROLE)

        def sagemaker(resource: str, name: str = "*") -> str:
            return stack.format_arn(
                service="sagemaker", resource=resource, resource_name=name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
            )

        models_and_configs = [sagemaker("model"), sagemaker("endpoint-config")]
        endpoints = project.sagemaker_arn("endpoint", "-*")
        alarms = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"sagemaker-*{project_id}-deploy-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # Application Auto Scaling names a target-tracking policy's alarms after the variant:
        # TargetTracking-endpoint/<endpoint>/variant/<variant>-AlarmHigh-<uuid>.
        tracking_alarms = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"TargetTracking-endpoint/*-{project_id}-*/variant/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        scalable_targets = stack.format_arn(
            service="application-autoscaling", resource="scalable-target", resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )
        # Asynchronous stages: SNS topics CloudFormation names after the stage stack. Batch
        # stages: a state machine and rules named '<project id>-<stage>-...'.
        topics = stack.format_arn(service="sns", resource=f"sagemaker-*{project_id}-deploy-*")
        state_machines = stack.format_arn(
            service="states", resource="stateMachine", resource_name=f"{project_id}-*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        rules = stack.format_arn(service="events", resource="rule", resource_name=f"{project_id}-*")
        tagged = {"StringEquals": {f"aws:RequestTag/{PROJECT_ID_TAG}": project_id}}
        owned = {"StringEquals": {f"aws:ResourceTag/{PROJECT_ID_TAG}": project_id}}

        #: The customer-managed policy with the role's permissions.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                *created_role_statements("Model", roles=roles, policies=policies),
                iam.PolicyStatement(
                    sid="PassModelRoles",
                    actions=["iam:PassRole"],
                    resources=[roles],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                *linked_role_statements(linked_role),
                iam.PolicyStatement(
                    sid="CreateTaggedModelsAndConfigs",
                    actions=["sagemaker:CreateModel", "sagemaker:CreateEndpointConfig"],
                    resources=models_and_configs,
                    conditions=tagged,
                ),
                iam.PolicyStatement(
                    sid="ManageOwnModelsAndConfigs",
                    actions=[
                        "sagemaker:DeleteModel",
                        "sagemaker:DescribeModel",
                        "sagemaker:DeleteEndpointConfig",
                        "sagemaker:DescribeEndpointConfig",
                        "sagemaker:AddTags",
                        "sagemaker:DeleteTags",
                        "sagemaker:ListTags",
                    ],
                    resources=models_and_configs,
                    conditions=owned,
                ),
                iam.PolicyStatement(
                    sid="TagOnCreate",
                    actions=["sagemaker:AddTags"],
                    resources=models_and_configs,
                    conditions=tagged,
                ),
                iam.PolicyStatement(
                    sid="Endpoints",
                    actions=[
                        "sagemaker:CreateEndpoint",
                        "sagemaker:UpdateEndpoint",
                        "sagemaker:DeleteEndpoint",
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:AddTags",
                        "sagemaker:DeleteTags",
                        "sagemaker:ListTags",
                        # Application Auto Scaling requires it of whoever registers a variant.
                        "sagemaker:UpdateEndpointWeightsAndCapacities",
                    ],
                    resources=endpoints + models_and_configs[1:],
                ),
                iam.PolicyStatement(
                    sid="ModelVersions",
                    actions=["sagemaker:DescribeModelPackage"],
                    resources=[model_package_group.model_packages_arn],
                ),
                *alarm_and_autoscaling_statements(
                    alarms=alarms, tracking_alarms=tracking_alarms, scalable_targets=scalable_targets
                ),
                iam.PolicyStatement(
                    sid="ProjectKey",
                    actions=["kms:CreateGrant", "kms:DescribeKey"],
                    resources=[encryption_key.key_arn],
                ),
            ],
        )
        acknowledge_wildcards(
            self.policy,
            "CloudFormation generates the names of the stage stack's model roles and policies; "
            "they are confined to this project's IAM path",
            roles,
            policies,
        )
        acknowledge_wildcards(
            self.policy,
            "CloudFormation generates model and endpoint-config names; creation requires this "
            "project's id tag and every other action requires the resource to carry it",
            *models_and_configs,
        )
        acknowledge_wildcards(
            self.policy,
            "stage endpoints are named '<project>-<stage>'; alarms after the stage stacks "
            "'sagemaker-<project>-deploy-<stage>' and, for target tracking, after the endpoint "
            "'TargetTracking-endpoint/<project>-<stage>/variant/...'; model versions get numbers at registration",
            *endpoints,
            alarms,
            tracking_alarms,
            model_package_group.model_packages_arn,
        )
        #: What the asynchronous and batch stage templates need besides (one managed policy
        #: holds at most 6,144 characters).
        self.serving_policy = iam.ManagedPolicy(
            self,
            "ServingPolicy",
            roles=[self.role],
            statements=[
                *async_topic_statements(topics=topics),
                *batch_statements(state_machines=state_machines, rules=rules, roles=roles),
            ],
        )
        acknowledge_wildcards(
            self.serving_policy,
            "CloudFormation generates the names of the stage stack's roles; they are confined to this project's IAM path",
            roles,
        )
        acknowledge_wildcards(
            self.serving_policy,
            "asynchronous stages' topics are named after their stage stacks 'sagemaker-<project>-deploy-<stage>-...'; "
            "batch stages' state machines and rules '<project id>-<stage>-...'",
            topics,
            state_machines,
            rules,
        )
        acknowledge_autoscaling_wildcards(self.policy, scalable_targets)

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
