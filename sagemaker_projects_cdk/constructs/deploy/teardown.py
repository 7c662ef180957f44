"""Deleting a project deletes the endpoint stage stacks its deploy pipeline created.

The stage stacks (``sagemaker-<name>-<id>-deploy-<stage>``) are not part of the project stack:
CodePipeline deploys them with the stage deployer role as CloudFormation's service role. Left
behind, their endpoints keep running (and billing), and once the deployer role is gone no one
can delete them without a new role. :class:`StageTeardown` is a custom resource that, when the
project stack is deleted, deletes them and waits until they are gone. CloudFormation deletes it
after the pipeline (which could otherwise deploy a stage again) and before the deployer role
(which the stage stacks' deletion uses).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..._internal.lifecycle import LifecycleFunction
from ...compliance import acknowledge_wildcards
from .pipeline import ModelDeployPipeline

#: The CloudFormation type of the teardown (Service Catalog launch roles are built per type).
STAGE_TEARDOWN_RESOURCE_TYPE = "Custom::StageTeardown"


class StageTeardown(Construct):
    """Deletes ``pipeline``'s stage stacks when the stack holding it is deleted.

    :param pipeline: the deploy pipeline; its stages name the stacks, and its deployer role
        (their service role) is deleted only after them.
    :param encryption_key: encrypts the function's logs (the project key).

    Create and Update do nothing. On Delete while the project stack is being deleted (not when
    an update rolls back), each stage stack that exists is deleted with the current deployer
    role (a stack still being deployed is deleted once that settles) and the deletion fails with the stack's
    status reason when a stage stack cannot be deleted. Only the stacks of the current stages
    are deleted: a stage removed from the settings leaves its stack to be deleted by hand.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, pipeline: ModelDeployPipeline, encryption_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        #: The stage stacks' names, in stage order.
        self.stack_names = [pipeline.stage_stack_name(stage.name) for stage in pipeline.stages]
        stack_arns = [
            stack.format_arn(
                service="cloudformation", resource="stack", resource_name=f"{name}/*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
            )
            for name in self.stack_names
        ]
        #: The function that deletes them.
        self.handler = LifecycleFunction(
            self,
            "Handler",
            handler="teardown",
            description="Deletes a SageMaker project's endpoint stage stacks when the project is deleted",
            encryption_key=encryption_key,
        )
        # The stacks are deleted with the current deployer role: the role a stack recorded may
        # be gone (an upgrade that replaced the deployer role).
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks", "cloudformation:DeleteStack"], resources=stack_arns
            )
        )
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[pipeline.deployer.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
            )
        )
        # Whether the project stack itself is being deleted (or an update rolls back): its own
        # stack, by its id (Service Catalog names the stacks it launches, so not by name).
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[Aws.STACK_ID])
        )
        acknowledge_wildcards(
            self.handler.policy,
            "the project's stage stacks, by name; CloudFormation appends a generated id to a stack's ARN",
            *stack_arns,
        )
        #: The custom resource.
        self.resource = self.handler.custom_resource(
            self,
            "Resource",
            resource_type=STAGE_TEARDOWN_RESOURCE_TYPE,
            properties={"StackNames": self.stack_names, "DeployerRoleArn": pipeline.deployer.role_arn},
        )
        # Deleted before the deployer role and its policy, which delete the stage stacks' resources...
        self.resource.node.add_dependency(pipeline.deployer)
        # ... and after the pipeline, which could otherwise deploy a stage again meanwhile.
        pipeline.pipeline.node.add_dependency(self.resource)
