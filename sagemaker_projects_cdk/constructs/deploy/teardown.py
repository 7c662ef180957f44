"""Deleting a project deletes the endpoint stage stacks its deploy pipeline created.

The stage stacks (``sagemaker-<name>-<id>-deploy-<stage>``) are not part of the project stack:
CodePipeline deploys them with the stage deployer role as CloudFormation's service role. Left
behind, their endpoints keep running (and billing), and once the deployer role is gone no one
can delete them without a new role. :class:`StageTeardown` is a custom resource that, when the
project stack is deleted, deletes them and waits until they are gone. CloudFormation deletes it
after the pipeline (which could otherwise deploy a stage again) and before the deployer role
(which the stage stacks' deletion uses).

A stage in another account (``DeployStage.account``, see ``cross_account``) is deleted there:
the function assumes that account's ``actions`` role (the one the pipeline deploys with) and
deletes the stack with the account's ``deployer`` role. Which one applies is decided like the
pipeline's, at deployment when the account is a parameter (``Fn::If`` on
``<Stage>InOtherAccount`` in the resource's properties and in the function's policy).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..._internal.lifecycle import LifecycleFunction
from ..._internal.resource_policy import ConditionalStatements
from ...compliance import acknowledge_wildcards
from ..project.identity import ProjectIdentity
from .cross_account import StageTarget, role_policy_statements
from .deployer_role import StageDeployerRole
from .pipeline import ModelDeployPipeline, stage_stack_name
from .stages import DeployStage

#: The CloudFormation type of the teardown (Service Catalog launch roles are built per type).
STAGE_TEARDOWN_RESOURCE_TYPE = "Custom::StageTeardown"


class StageTeardown(Construct):
    """Deletes ``pipeline``'s stage stacks (or, without a pipeline, the stacks of ``stage_names``
    that ``deployer`` deploys for ``project`` in this account) when the stack holding it is deleted.

    :param pipeline: the deploy pipeline; its stages name the stacks and their accounts, and
        its deployer role (their service role in this account) is deleted only after them.
    :param encryption_key: encrypts the function's logs (the project key).
    :param deployer: without ``pipeline``: the stage stacks' deployer role.
    :param project: without ``pipeline``: the project (names the stage stacks).
    :param stage_names: without ``pipeline``: the stages, all in this account.
    :param before: another teardown whose stacks may be deleted only once these are gone (the
        monitor stage stacks, whose schedules watch the endpoints, go before the endpoint
        stage stacks): CloudFormation deletes this one first. Default: none.
    :param stacks_described: what the stacks are, in the function's description.
        Default: ``endpoint stage stacks``.

    Create and Update do nothing. On Delete while the project stack is being deleted (not when
    an update rolls back), each stage stack that exists is deleted with the current deployer
    role (a stack still being deployed is deleted once that settles) and the deletion fails with the stack's
    status reason when a stage stack cannot be deleted. A stage in another account is deleted
    there as its ``actions`` role, with its ``deployer`` role. Only the stacks of the current
    stages are deleted: a stage removed from the settings leaves its stack to be deleted by hand.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        pipeline: Optional[ModelDeployPipeline] = None,
        deployer: Optional[StageDeployerRole] = None,
        project: Optional[ProjectIdentity] = None,
        stage_names: Sequence[str] = (),
        before: Optional[StageTeardown] = None,
        stacks_described: str = "endpoint stage stacks",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if pipeline is not None:
            targets = [pipeline.targets[stage.name] for stage in pipeline.stages]
            #: The stage stacks' names, in stage order.
            self.stack_names = [pipeline.stage_stack_name(stage.name) for stage in pipeline.stages]
            deployer = pipeline.deployer
        elif deployer is not None and project is not None and stage_names:
            # Stages deployed outside a pipeline (Jenkins), all in this account.
            targets = [StageTarget(DeployStage(name=name), "", "", False) for name in stage_names]
            self.stack_names = [stage_stack_name(project, name) for name in stage_names]
        else:
            raise TypeError("StageTeardown: give pipeline, or deployer, project and stage_names")
        self._deployer = deployer
        #: Each stage's stack name, the role to assume in its account (empty: this account) and
        #: the deployer role its deletion uses (``Fn::If`` when decided at deployment).
        self.stages = [self._stage(target, name) for target, name in zip(targets, self.stack_names, strict=True)]
        #: The function that deletes them.
        self.handler = LifecycleFunction(
            self,
            "Handler",
            handler="teardown",
            description=f"Deletes a SageMaker project's {stacks_described} when the project is deleted",
            encryption_key=encryption_key,
        )
        # The stacks of this account (every stage not known to be elsewhere), deleted with the
        # current deployer role: the role a stack recorded may be gone (an upgrade that replaced
        # the deployer role).
        local_arns = [
            stack.format_arn(
                service="cloudformation", resource="stack", resource_name=f"{name}/*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
            )
            for target, name in zip(targets, self.stack_names, strict=True)
            if target.other_account is not True
        ]
        if local_arns:
            self.handler.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["cloudformation:DescribeStacks", "cloudformation:DeleteStack"], resources=local_arns
                )
            )
            self.handler.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[deployer.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
                )
            )
        # Whether the project stack itself is being deleted (or an update rolls back): its own
        # stack, by its id (Service Catalog names the stacks it launches, so not by name).
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[Aws.STACK_ID])
        )
        # A stage elsewhere: its account's actions role (which may delete stage stacks there and
        # pass the deployer role). In the role's default policy, which the custom resource
        # depends on: the grant exists when CloudFormation deletes it.
        conditional: Optional[ConditionalStatements] = None
        for target in targets:
            if not target.may_be_other_account:
                continue
            assume = iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[target.role_arn(self, "actions")])
            if target.condition is None:
                self.handler.role.add_to_principal_policy(assume)
            else:
                conditional = conditional or role_policy_statements(self.handler.role)
                conditional.add(assume, target.condition)
        if local_arns:
            acknowledge_wildcards(
                self.handler.policy,
                "the project's stage stacks, by name; CloudFormation appends a generated id to a stack's ARN",
                *local_arns,
            )
        #: The custom resource.
        self.resource = self.handler.custom_resource(
            self, "Resource", resource_type=STAGE_TEARDOWN_RESOURCE_TYPE, properties={"Stages": self.stages}
        )
        # Deleted before the deployer role and its policy, which delete the stage stacks' resources...
        self.resource.node.add_dependency(deployer)
        # ... and after the pipeline, which could otherwise deploy a stage again meanwhile.
        if pipeline is not None:
            pipeline.pipeline.node.add_dependency(self.resource)
        if before is not None:
            # Created after ``before``, so deleted (its stacks gone) before it.
            self.resource.node.add_dependency(before.resource)

    def _stage(self, target: StageTarget, stack_name: str) -> dict[str, Any]:
        """``StackName``, ``AssumeRoleArn`` and ``DeployerRoleArn`` of one stage (see the handler)."""
        if not target.may_be_other_account:
            return {"StackName": stack_name, "AssumeRoleArn": "", "DeployerRoleArn": self._deployer.role_arn}
        return {
            "StackName": stack_name,
            "AssumeRoleArn": target.pick_string(target.role_arn(self, "actions"), ""),
            "DeployerRoleArn": target.pick_string(target.role_arn(self, "deployer"), self._deployer.role_arn),
        }
