"""The SageMaker image of one image type, and the role SageMaker uses with it.

A SageMaker image (``AWS::SageMaker::Image``) is a named series of versions; each version
names one container image by digest. The stack creates the image only: versions are created
by the image build (``CreateImageVersion`` with the digest it pushed), never at synth, so a
stack update never rolls an image back and the first deployment needs no image in ECR yet.
"""

from __future__ import annotations

from typing import Optional

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ...compliance import acknowledge_wildcards
from ..project.identity import ProjectIdentity
from .naming import image_resource_name
from .repository import PULL_ACTIONS, ImageRepository


class SageMakerImage(Construct):
    """``AWS::SageMaker::Image`` for one image type, with a role trusted by SageMaker only.

    The role lets SageMaker do what it does with the image's versions. AWS does not document
    which calls those are: ``CreateImage`` says only that the role "enables Amazon SageMaker AI
    to perform tasks on your behalf". What a version needs is read access to the image it names,
    so the role gets ECR's read-only calls on the image type's repository and nothing else:
    ``ecr:GetAuthorizationToken`` (no resource type), the pull actions, and
    ``ecr:DescribeImages`` (SageMaker may look the digest up while ``CreateImageVersion`` runs).

    :param project: the project (its id names the image, its name the display name).
    :param repository: the image type's repository (its type is the image's type).
    :param description: the image description. Default: a sentence naming the type.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        repository: ImageRepository,
        description: Optional[str] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        image_type = repository.image_type
        #: The image type.
        self.image_type = image_type
        #: The image name: ``sagemaker-<project id>-<type>``.
        self.image_name = image_resource_name(project, image_type)
        #: The role SageMaker assumes for the image.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Lets SageMaker pull the versions of a project's {image_type} image",
        )
        #: The role's policy (customer managed, so that it can be reviewed on its own).
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                iam.PolicyStatement(actions=[*PULL_ACTIONS, "ecr:DescribeImages"], resources=[repository.repository_arn]),
            ],
        )
        acknowledge_wildcards(self.policy, "ecr:GetAuthorizationToken has no resource type in IAM", "*")
        #: The SageMaker image.
        self.image = sagemaker.CfnImage(
            self,
            "Image",
            image_name=self.image_name,
            image_role_arn=self.role.role_arn,
            image_display_name=f"{project.project_name} {image_type}",
            image_description=description or f"The {image_type} image of SageMaker project {project.project_name}",
        )
        # SageMaker checks the role when the image is created: the policy must be attached first.
        self.image.node.add_dependency(self.policy)

    @property
    def image_arn(self) -> str:
        """The image's ARN (its name is lower case, as SageMaker writes it in ARNs)."""
        return Stack.of(self).format_arn(
            service="sagemaker", resource="image", resource_name=self.image_name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

    @property
    def image_versions_arn(self) -> str:
        """The ARN pattern of the image's versions: ``image-version/<name>/*``."""
        return Stack.of(self).format_arn(
            service="sagemaker",
            resource="image-version",
            resource_name=f"{self.image_name}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_create_version(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` record new versions of the image, find one that already names an image,
        and follow their creation (``sagemaker:CreateImageVersion`` and ``sagemaker:ListImageVersions``
        on the image, ``sagemaker:DescribeImageVersion`` on its versions)."""
        create = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:CreateImageVersion", "sagemaker:ListImageVersions"], resource_arns=[self.image_arn]
        )
        describe = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:DescribeImageVersion"], resource_arns=[self.image_versions_arn]
        )
        return create.combine(describe)

    def grant_read_versions(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` find the image's versions (what the model build does to pick the newest):
        ``sagemaker:DescribeImage`` and ``sagemaker:ListImageVersions`` on the image,
        ``sagemaker:DescribeImageVersion`` on its versions."""
        image = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:DescribeImage", "sagemaker:ListImageVersions"],
            resource_arns=[self.image_arn],
        )
        versions = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:DescribeImageVersion"], resource_arns=[self.image_versions_arn]
        )
        return image.combine(versions)
