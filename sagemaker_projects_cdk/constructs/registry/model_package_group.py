"""The project's model registry entry: a SageMaker model package group."""

from __future__ import annotations

from typing import Optional, Protocol, Sequence, runtime_checkable

from aws_cdk import Arn, ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ..._internal.patterns import MODEL_PACKAGE_GROUP_NAME
from ..._internal.validation import check_account_id, check_length, check_pattern

#: A model package group's name (``_internal.patterns``).
GROUP_NAME_PATTERN = MODEL_PACKAGE_GROUP_NAME

def check_group_name(setting: str, value: str) -> str:
    """SageMaker's rule for model package group names (a token is left to CloudFormation)."""
    return check_pattern(setting, value, GROUP_NAME_PATTERN, "1 to 63 letters, digits and inner hyphens")


#: What another account may do to find this group's models and read their versions.
CROSS_ACCOUNT_READ_ACTIONS = [
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
]
#: What another account's deployer also needs on the group's versions (``model-package/<group>/*``):
#: a SageMaker model whose container names a version (``ModelPackageName``) is created from it.
CROSS_ACCOUNT_DEPLOY_ACTIONS = ["sagemaker:CreateModel"]


@runtime_checkable
class IModelPackageGroup(Protocol):
    """A model package group every construct accepts: one this stack creates
    (:class:`ModelPackageGroup`) or an existing one, in this account or another
    (:meth:`ModelPackageGroup.from_name`, :meth:`ModelPackageGroup.from_arn`)."""

    #: The group name.
    model_package_group_name: str
    #: The group ARN.
    model_package_group_arn: str
    #: ARN pattern of the group's versioned model packages (``.../<group>/*``).
    model_packages_arn: str

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to register new model versions in the group."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to find and describe the group's model versions."""
        ...


class ModelPackageGroupBase(Construct):
    """Names, ARNs and grants shared by a created and an imported group."""

    model_package_group_name: str

    def _set_arns(self, model_package_group_name: str, account: Optional[str] = None, region: Optional[str] = None) -> None:
        stack = Stack.of(self)
        #: The group name.
        self.model_package_group_name = model_package_group_name
        #: The group ARN.
        self.model_package_group_arn = stack.format_arn(
            service="sagemaker",
            account=account,
            region=region,
            resource="model-package-group",
            resource_name=model_package_group_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        #: ARN pattern of the versioned model packages in the group.
        self.model_packages_arn = stack.format_arn(
            service="sagemaker",
            account=account,
            region=region,
            resource="model-package",
            resource_name=f"{model_package_group_name}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to register new model versions in this group."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackageGroup"],
            resource_arns=[self.model_package_group_arn, self.model_packages_arn],
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to find and describe this group's model versions.

        ``sagemaker:ListModelPackages`` has no resource type in IAM, so that one action is
        granted on ``*``; the describe actions are scoped to this group.
        """
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:ListModelPackages"], resource_arns=["*"]
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage"],
            resource_arns=[self.model_package_group_arn, self.model_packages_arn],
        )


class ImportedModelPackageGroup(ModelPackageGroupBase):
    """An existing model package group, known by name (see ``ModelPackageGroup.from_name``
    and ``ModelPackageGroup.from_arn``).

    :param model_package_group_name: the group's name (may be a token).
    :param account: the account that holds the group. Default: this stack's account.
    :param region: the region that holds the group. Default: this stack's region.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_group_name: str,
        account: Optional[str] = None,
        region: Optional[str] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_group_name("model_package_group_name", model_package_group_name)
        if account is not None:
            check_account_id("account", account)
        #: The account holding the group, when it was named (None: this stack's account).
        self.account = account
        self._set_arns(model_package_group_name, account, region)


class ModelPackageGroup(ModelPackageGroupBase):
    """A model package group, named ``<project-name>-<project-id>`` like SageMaker's templates.

    :param model_package_group_name: the group name (1-63 characters, letters, digits and
        inner hyphens; may be a token).
    :param description: the group description. Default: none.
    :param read_access_account_ids: AWS accounts (12 digits) allowed to describe and list this
        group's model packages, e.g. the staging and production accounts of a multi-account
        deployment. Default: no resource policy; only this account.
    :param removal_policy: what happens to the group on stack deletion. Default: RETAIN (it
        holds the registered models and their approval history).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_group_name: str,
        description: Optional[str] = None,
        read_access_account_ids: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        check_group_name("model_package_group_name", model_package_group_name)
        if description is not None:
            check_length("description", description, 0, 1024)
        accounts = list(dict.fromkeys(read_access_account_ids))
        for account in accounts:
            check_account_id("read_access_account_ids", account)

        self._set_arns(model_package_group_name)

        policy = None
        if accounts:
            policy = iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="CrossAccountRead",
                        principals=[iam.AccountPrincipal(account) for account in accounts],
                        actions=CROSS_ACCOUNT_READ_ACTIONS,
                        resources=[self.model_package_group_arn, self.model_packages_arn],
                    )
                ]
            )
        #: The CloudFormation resource.
        self.resource = sagemaker.CfnModelPackageGroup(
            self,
            "Resource",
            model_package_group_name=model_package_group_name,
            model_package_group_description=description,
            model_package_group_policy=policy,
        )
        self.resource.apply_removal_policy(removal_policy)

    @staticmethod
    def from_name(scope: Construct, construct_id: str, model_package_group_name: str) -> ImportedModelPackageGroup:
        """Refer to an existing group of this account (e.g. one a model-build project created)."""
        return ImportedModelPackageGroup(scope, construct_id, model_package_group_name=model_package_group_name)

    @staticmethod
    def from_arn(scope: Construct, construct_id: str, model_package_group_arn: str) -> ImportedModelPackageGroup:
        """Refer to an existing group by ARN, in this account or another one (whose group
        policy must then allow this account, see ``read_access_account_ids``)."""
        check_pattern(
            "model_package_group_arn",
            model_package_group_arn,
            rf"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{{12}}:model-package-group/{GROUP_NAME_PATTERN}",
            "a model package group ARN 'arn:aws:sagemaker:<region>:<account>:model-package-group/<name>'",
        )
        parts = Arn.split(model_package_group_arn, ArnFormat.SLASH_RESOURCE_NAME)
        return ImportedModelPackageGroup(
            scope,
            construct_id,
            model_package_group_name=parts.resource_name or "",
            account=parts.account,
            region=parts.region,
        )


#: The former private name of :class:`ModelPackageGroupBase`.
_ModelPackageGroupBase = ModelPackageGroupBase
