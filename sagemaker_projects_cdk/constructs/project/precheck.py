"""A deployment that would collide with resources an earlier one retained fails at once, saying what to do.

The CodeCommit repositories (``sagemaker-<name>-<id>-<seed>``), the model package group
(``<name>-<id>``) and, in the image template, the ECR repositories (``sagemaker-<id>-<type>``)
have fixed names and are retained when the stack is deleted. Deploying the
same template again with the same project name and id (``cdk destroy`` then ``cdk deploy``
with the default parameters, whose project id is derived from the stack's path) would
otherwise fail midway with CodeCommit's, SageMaker's or ECR's "already exists" and roll back.
:class:`RetainedResourceCheck` is created first (the named resources depend on it) and fails
the deployment with the names and the choices: a new project id, or deleting them.

CloudFormation's automatic import of existing resources (``cdk deploy
--import-existing-resources``) cannot adopt them instead: it needs static names (these are
built from the project parameters) and primary identifiers that a template can set (a
repository's is its generated id, a group's its ARN).
"""

from __future__ import annotations

from typing import Optional, Sequence

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, IConstruct

from ..._internal.lifecycle import LifecycleFunction
from ...compliance import acknowledge_wildcards

#: The CloudFormation type of the check (Service Catalog launch roles are built per type).
RETAINED_CHECK_RESOURCE_TYPE = "Custom::RetainedResourceCheck"


class RetainedResourceCheck(Construct):
    """Checks, before they are created, that no resource of the fixed names added exists.

    :param encryption_key: encrypts the function's logs (the project key).

    Add what to check with :meth:`add_repository`, :meth:`add_image_repository` and
    :meth:`add_model_package_group`: each
    resource then depends on the check. Create checks every name; Update only names that
    changed (a renamed project); Delete does nothing (and keeps what exists).
    """

    def __init__(self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._repositories: list[str] = []
        self._image_repositories: list[str] = []
        #: The function that looks the names up.
        self.handler = LifecycleFunction(
            self,
            "Handler",
            handler="precheck",
            description="Fails a SageMaker project's deployment when a retained resource has a name it needs",
            encryption_key=encryption_key,
        )
        #: The custom resource.
        self.resource = self.handler.custom_resource(
            self, "Resource", resource_type=RETAINED_CHECK_RESOURCE_TYPE, properties={"RepositoryNames": []}
        )

    def add_repository(self, repository: IConstruct, repository_name: str) -> None:
        """Check that no CodeCommit repository ``repository_name`` exists before ``repository``
        (the construct that creates it) is created."""
        self._repositories.append(repository_name)
        self._override("RepositoryNames", list(self._repositories))
        self._grant(
            ["codecommit:GetRepository"],
            [Stack.of(self).format_arn(service="codecommit", resource=repository_name)],
        )
        repository.node.add_dependency(self.resource)

    def add_image_repository(self, repository: IConstruct, repository_name: str) -> None:
        """Check that no ECR repository ``repository_name`` exists before ``repository`` (the
        construct that creates it) is created.

        ``ecr:DescribeRepositories`` is granted on the repository's ARN built from the name (the
        repository's own ``Arn`` attribute would make the check depend on what it checks)."""
        self._image_repositories.append(repository_name)
        self._override("ImageRepositoryNames", list(self._image_repositories))
        self._grant(
            ["ecr:DescribeRepositories"],
            [Stack.of(self).format_arn(service="ecr", resource="repository", resource_name=repository_name)],
        )
        repository.node.add_dependency(self.resource)

    def add_model_package_group(
        self, group: IConstruct, model_package_group_name: str, *, resource_arns: Optional[Sequence[str]] = None
    ) -> None:
        """Check that no model package group ``model_package_group_name`` exists before ``group``
        is created.

        :param resource_arns: the group's ARNs to grant ``DescribeModelPackageGroup`` on (e.g.
            both spellings: SageMaker lower-cases names in ARNs). Default: the name's ARN.
        """
        self._override("ModelPackageGroupName", model_package_group_name)
        arns = list(resource_arns) if resource_arns else [
            Stack.of(self).format_arn(service="sagemaker", resource="model-package-group", resource_name=model_package_group_name)
        ]
        self._grant(["sagemaker:DescribeModelPackageGroup"], arns)
        wildcards = [arn for arn in arns if "*" in arn]
        if wildcards:
            acknowledge_wildcards(
                self.handler.policy,
                "a project name only known at deployment is matched as '*-<project id>' (ids are unique)",
                *wildcards,
            )
        group.node.add_dependency(self.resource)

    def _grant(self, actions: list[str], resources: list[str]) -> None:
        self.handler.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))

    def _override(self, name: str, value: object) -> None:
        resource = self.resource.node.default_child
        assert isinstance(resource, CfnResource)
        resource.add_property_override(name, value)
