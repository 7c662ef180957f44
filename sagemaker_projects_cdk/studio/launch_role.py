"""The role Service Catalog assumes to launch, update and terminate the published templates.

A launch role needs what CloudFormation's resource handlers call for every resource type in
the product templates. ``LaunchRole`` builds that policy from the product stacks it is given:
one statement per service, with the handler actions of the resource types present (the
data in ``launch_permissions.py``, taken from the CloudFormation resource schemas, see
``tests/unit/test_studio_launch_role.py``), scoped to this account and region, to the names
the templates give (``sagemaker-*`` repositories and pipelines) and to the stack names
Service Catalog uses (``SC-*``).

What it cannot scope further, and why: CloudFormation generates the names of the buckets,
roles, policies, functions, log groups, rules and build projects at launch, and keys get
random ids, so those statements name the service, account and region only. Delete actions
are granted only for resource types the templates let CloudFormation delete: buckets, keys,
repositories and model package groups are retained, so the role cannot delete them. When the
templates hold a ``StageDeployerRole``, the role may pass those roles (their own IAM path)
to CloudFormation: CodePipeline checks that for a CloudFormation action's ``RoleArn``.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from aws_cdk import ArnFormat, CfnDeletionPolicy, CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from .._internal.validation import invalid
from ..compliance import acknowledge, nag_resource, wildcard_finding
from ..constructs.deploy.deployer_role import DEPLOYER_ROLE_PATH, StageDeployerRole
from ..constructs.sources.connection import OPT_IN_TAG, SERVICES
from .launch_permissions import (
    CONNECTION_TYPES,
    EVENTS_CONNECTION_LINKED_ROLE,
    EVENTS_CONNECTION_SERVICE,
    EVENTS_CONNECTION_TYPES,
    LAMBDA_VPC_ACTIONS,
    NO_PERMISSIONS,
    PERMISSIONS,
    STACK_ACTIONS,
    TEMPLATE_ACTIONS,
)

SERVICE_CATALOG = "servicecatalog.amazonaws.com"
#: Service Catalog names the stacks it provisions ``SC-<account>-pp-<provisioned product id>``.
PROVISIONED_STACK_PREFIX = "SC-"
#: The tag Service Catalog puts on the template copies its launch roles read.
PROVISIONING_OBJECT_TAG = "servicecatalog:provisioning"


class LaunchRole(Construct):
    """A Service Catalog launch role that may create, update and delete what ``product_stacks`` hold.

    :param product_stacks: the product stacks (or any constructs) whose resources the role
        provisions; every resource type in them must be one of ``PERMISSIONS``.
    :param asset_bucket: the bucket the product templates' file assets are in; the role
        reads them (functions' code, the repositories' first commits). Default: no assets.
    :param role_name: Default: a name CloudFormation generates.

    Attributes: ``role`` (trusted by ``servicecatalog.amazonaws.com`` only) and ``policies``
    (two customer-managed policies, as one would exceed IAM's 6,144 characters).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        product_stacks: Sequence[IConstruct],
        asset_bucket: Optional[s3.IBucket] = None,
        role_name: Optional[str] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        resource_types, deleted_types, aws_managed_policies = _inventory(product_stacks)
        deploys_stages = any(isinstance(c, StageDeployerRole) for p in product_stacks for c in p.node.find_all())

        #: The launch role.
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal(SERVICE_CATALOG),
            description="Service Catalog launch role of the SageMaker project templates (sagemaker-projects-cdk)",
        )
        actions: dict[str, set[str]] = {}
        unscoped: set[str] = set(TEMPLATE_ACTIONS)
        passed_to: set[str] = set()
        key_actions: dict[str, set[str]] = {}
        if _has_vpc_function(product_stacks):
            unscoped.update(LAMBDA_VPC_ACTIONS)
        for resource_type in sorted(resource_types):
            permissions = PERMISSIONS[resource_type]
            service_actions = actions.setdefault(permissions.service, set())
            service_actions.update(permissions.actions)
            if resource_type in deleted_types:
                service_actions.update(permissions.delete)
            unscoped.update(permissions.unscoped)
            passed_to.update(permissions.passes_role_to)
            if permissions.key_actions:
                key_actions.setdefault(permissions.service, set()).update(permissions.key_actions)

        # Customer-managed policies, as one would exceed IAM's 6,144 characters: running
        # the stacks (CloudFormation, IAM, KMS, assets) and the resources the templates create.
        # Each entry: (statement, why its resources are no narrower).
        stack_part: list[tuple[iam.PolicyStatement, str]] = [
            (
                iam.PolicyStatement(
                    sid="RunProvisionedStacks",
                    actions=list(STACK_ACTIONS),
                    resources=[
                        stack.format_arn(
                            service="cloudformation", resource="stack", resource_name=f"{PROVISIONED_STACK_PREFIX}*/*"
                        )
                    ],
                ),
                "Service Catalog names the stacks it provisions SC-<account>-pp-<id>",
            ),
            (
                iam.PolicyStatement(sid="CheckTemplates", actions=sorted(unscoped), resources=["*"]),
                f"IAM has no resource type for {', '.join(sorted(unscoped))}",
            ),
            (
                iam.PolicyStatement(
                    sid="ReadServiceCatalogTemplates",
                    actions=["s3:GetObject"],
                    resources=["*"],
                    conditions={"StringEquals": {f"s3:ExistingObjectTag/{PROVISIONING_OBJECT_TAG}": "true"}},
                ),
                "Service Catalog keeps the product templates in a bucket it owns and does not name; "
                "only the objects it tags servicecatalog:provisioning=true are readable",
            ),
        ]
        resource_part: list[tuple[iam.PolicyStatement, str]] = []
        # A third policy once the resources outgrow one (the image template's ECR and SageMaker
        # images): SageMaker's, ECR's and the connections' statements.
        sagemaker_part: list[tuple[iam.PolicyStatement, str]] = []
        attach = actions.get("iam", set()) & {"iam:AttachRolePolicy", "iam:DetachRolePolicy"}
        for service in sorted(actions):
            resources_of, reason = _SCOPES[service]
            statement = iam.PolicyStatement(
                sid=f"Manage{service.title()}", actions=sorted(actions[service] - attach), resources=resources_of(stack)
            )
            if service in ("iam", "kms"):
                stack_part.append((statement, reason))
            else:
                (sagemaker_part if service in SAGEMAKER_PART_SERVICES else resource_part).append((statement, reason))
        if attach:
            allowed = [_arn(stack, "iam", "policy/*")] + [
                stack.format_arn(service="iam", region="", account="aws", resource="policy", resource_name=name)
                for name in sorted(aws_managed_policies)
            ]
            stack_part.append(
                (
                    iam.PolicyStatement(
                        sid="AttachTemplatePolicies",
                        actions=sorted(attach),
                        resources=[_arn(stack, "iam", "role/*")],
                        conditions={"ArnLike": {"iam:PolicyARN": allowed}},
                    ),
                    "CloudFormation generates the role names; only this account's policies and the "
                    "AWS-managed policies the templates name can be attached",
                )
            )
        for service, service_key_actions in sorted(key_actions.items()):
            title, why, when = _KEY_USERS[service]
            stack_part.append(
                (
                    iam.PolicyStatement(
                        sid=f"UseKeysThrough{title}",
                        actions=sorted(service_key_actions),
                        resources=[_arn(stack, "kms", "key/*")],
                        conditions={"StringEquals": {"kms:ViaService": f"{service}.{stack.region}.amazonaws.com"}},
                    ),
                    f"the {why} keys are created at launch with random ids; {title} uses them as the caller{when}",
                )
            )
        if passed_to:
            stack_part.append(
                (
                    iam.PolicyStatement(
                        sid="PassTemplateRoles",
                        actions=["iam:PassRole"],
                        resources=[_arn(stack, "iam", "role/*")],
                        conditions={"StringEquals": {"iam:PassedToService": sorted(passed_to)}},
                    ),
                    "CloudFormation generates the role names; they can be passed only to the "
                    "services the templates configure with them",
                )
            )
        if deploys_stages:
            # CodePipeline's CreatePipeline and UpdatePipeline check that the caller may pass
            # the role a CloudFormation action names (its configuration's RoleArn) to
            # CloudFormation: the stage deployer roles of the deploy pipelines.
            stack_part.append(
                (
                    iam.PolicyStatement(
                        sid="PassStageDeployerRoles",
                        actions=["iam:PassRole"],
                        resources=[_arn(stack, "iam", f"role{DEPLOYER_ROLE_PATH}*")],
                        conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
                    ),
                    f"CloudFormation generates the stage deployer role names under {DEPLOYER_ROLE_PATH}; "
                    "they can be passed only to CloudFormation",
                )
            )
        if resource_types & CONNECTION_TYPES:
            # One statement per prefix: a request carries only its own prefix's condition keys.
            for service in SERVICES:
                sagemaker_part.append(
                    (
                        iam.PolicyStatement(
                            sid=f"Pass{service.title().replace('-', '')}ToCodePipeline",
                            actions=[f"{service}:PassConnection"],
                            resources=[_arn(stack, other, "connection/*") for other in SERVICES],
                            conditions={
                                "StringEqualsIgnoreCase": {f"aws:ResourceTag/{OPT_IN_TAG}": "true"},
                                "StringEquals": {f"{service}:PassedToService": "codepipeline.amazonaws.com"},
                            },
                        ),
                        "the connection is chosen when the project is created; only connections tagged "
                        "sagemaker=true, and only to CodePipeline",
                    )
                )
        if resource_types & EVENTS_CONNECTION_TYPES:
            resource_part.append(
                (
                    iam.PolicyStatement(
                        sid="EventBridgeConnectionSecrets",
                        actions=[
                            "secretsmanager:CreateSecret",
                            "secretsmanager:GetSecretValue",
                            "secretsmanager:PutSecretValue",
                            "secretsmanager:UpdateSecret",
                        ],
                        resources=[_arn(stack, "secretsmanager", "secret:events!connection/*")],
                    ),
                    "EventBridge names the secret of a connection events!connection/<connection>/<id> and creates "
                    "and updates it as the caller",
                )
            )
            resource_part.append(
                (
                    iam.PolicyStatement(
                        sid="ResolveTaggedSecrets",
                        actions=["secretsmanager:GetSecretValue"],
                        resources=[_arn(stack, "secretsmanager", "secret:*")],
                        conditions={"StringEqualsIgnoreCase": {f"aws:ResourceTag/{OPT_IN_TAG}": "true"}},
                    ),
                    "CloudFormation resolves the credentials of a connection from the secret chosen when the project "
                    "is created ({{resolve:secretsmanager:...}}); only secrets tagged sagemaker=true",
                )
            )
            stack_part.append(
                (
                    iam.PolicyStatement(
                        sid="EventBridgeApiDestinationsLinkedRole",
                        actions=["iam:CreateServiceLinkedRole"],
                        resources=[
                            stack.format_arn(
                                service="iam", region="", resource="role", resource_name=EVENTS_CONNECTION_LINKED_ROLE
                            )
                        ],
                        conditions={"StringEquals": {"iam:AWSServiceName": EVENTS_CONNECTION_SERVICE}},
                    ),
                    "EventBridge's service-linked role for connections, created by the first one in the account",
                )
            )
        if asset_bucket is not None:
            stack_part.append(
                (
                    iam.PolicyStatement(
                        sid="ReadTemplateAssets",
                        actions=["s3:GetObject", "s3:GetObjectVersion"],
                        resources=[asset_bucket.arn_for_objects("*")],
                    ),
                    "the product templates' file assets (function code, first commits) are named "
                    "after their content hash in the template bucket",
                )
            )

        #: The role's customer-managed policies.
        self.policies: list[iam.ManagedPolicy] = [
            self._policy("StackPolicy", "Run the SageMaker project templates' stacks", stack_part),
            self._policy("ResourcePolicy", "Create, update and delete the SageMaker project templates' resources", resource_part),
        ]
        if sagemaker_part:
            self.policies.append(
                self._policy(
                    "SageMakerResourcePolicy",
                    "Create, update and delete the SageMaker project templates' SageMaker and ECR resources, pass connections",
                    sagemaker_part,
                )
            )

    def _policy(self, construct_id: str, description: str, part: list[tuple[iam.PolicyStatement, str]]) -> iam.ManagedPolicy:
        """A managed policy of the role, with every wildcard resource acknowledged with its reason."""
        policy = iam.ManagedPolicy(
            self, construct_id, description=description, statements=[s for s, _ in part], roles=[self.role]
        )
        reasons: dict[str, list[str]] = {}
        for statement, reason in part:
            for resource in statement.resources:
                if "*" in nag_resource(self, resource):
                    reasons.setdefault(wildcard_finding(self, resource), []).append(reason)
        for rule_id, why in reasons.items():
            acknowledge(policy, "; ".join(dict.fromkeys(why)), rule_id)
        return policy


def _arn(stack: Stack, service: str, resource: str) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource>`` (no region for IAM, neither for S3)."""
    if service == "s3":
        return stack.format_arn(service="s3", region="", account="", resource=resource)
    region = "" if service == "iam" else None
    return stack.format_arn(service=service, region=region, resource=resource, arn_format=ArnFormat.NO_RESOURCE_NAME)


#: The services whose statements go to the third policy (IAM's 6,144 characters per policy).
SAGEMAKER_PART_SERVICES = frozenset({"sagemaker", "ecr"})


#: Where each service's handler actions apply, and why no narrower.
_SCOPES: dict[str, tuple[Callable[[Stack], list[str]], str]] = {
    "s3": (lambda s: [_arn(s, "s3", "*")], "CloudFormation generates the bucket names at launch"),
    "kms": (lambda s: [_arn(s, "kms", "key/*")], "keys get random ids at creation"),
    "codecommit": (
        lambda s: [_arn(s, "codecommit", "sagemaker-*")],
        "repositories are named sagemaker-<project>-<id>-<suffix> after the project created in Studio",
    ),
    "codebuild": (lambda s: [_arn(s, "codebuild", "project/*")], "CloudFormation generates the build project names"),
    "codepipeline": (
        lambda s: [_arn(s, "codepipeline", "sagemaker-*")],
        "pipelines are named sagemaker-<project>-<id>-<suffix> after the project created in Studio",
    ),
    "events": (
        lambda s: [_arn(s, "events", "rule/*"), _arn(s, "events", "connection/*"), _arn(s, "events", "api-destination/*")],
        "CloudFormation generates the rule, connection and API destination names",
    ),
    "sqs": (
        lambda s: [_arn(s, "sqs", "sagemaker-*")],
        "queues are named sagemaker-<project>-<id>-<suffix> after the project created in Studio",
    ),
    "sns": (
        lambda s: [_arn(s, "sns", "sagemaker-*")],
        "topics (and their subscriptions) are named sagemaker-<project>-<id>-<suffix> after the project created in Studio",
    ),
    "cloudwatch": (
        # Dashboards are global: their ARNs have no region.
        lambda s: [
            s.format_arn(service="cloudwatch", region="", resource="dashboard", resource_name="sagemaker-*"),
            s.format_arn(service="cloudwatch", resource="alarm", resource_name="sagemaker-*", arn_format=ArnFormat.COLON_RESOURCE_NAME),
        ],
        "dashboards and alarms are named sagemaker-<project>-<id>-<suffix> after the project created in Studio",
    ),
    "iam": (
        lambda s: [_arn(s, "iam", "role/*"), _arn(s, "iam", "policy/*")],
        "CloudFormation generates the role and policy names",
    ),
    "lambda": (
        lambda s: [_arn(s, "lambda", "function:*"), _arn(s, "lambda", "layer:*")],
        "CloudFormation generates the function and layer names",
    ),
    "logs": (lambda s: [_arn(s, "logs", "log-group:*")], "CloudFormation generates the log group names"),
    "sagemaker": (
        lambda s: [
            _arn(s, "sagemaker", "model-package-group/*"),
            _arn(s, "sagemaker", "code-repository/sagemaker-*"),
            _arn(s, "sagemaker", "image/sagemaker-*"),
        ],
        "model package groups are named <project>-<id>, code repositories sagemaker-<id>-<part>, images "
        "sagemaker-<id>-<type>, after the project created in Studio",
    ),
    "ecr": (
        lambda s: [_arn(s, "ecr", "repository/sagemaker-*")],
        "image repositories are named sagemaker-<id>-<type> after the project created in Studio",
    ),
}


#: Services that use a resource's key as the caller: their name in statement ids and reasons.
_KEY_USERS = {
    "codecommit": ("CodeCommit", "repositories'", " for the first commit, and only through CodeCommit"),
    "ecr": ("ECR", "image repositories'", " to create and retire its grant on the key, and only through ECR"),
}


def _inventory(product_stacks: Sequence[IConstruct]) -> tuple[set[str], set[str], set[str]]:
    """Resource types in ``product_stacks``, those CloudFormation may delete, and the
    AWS-managed policies their roles attach."""
    types: set[str] = set()
    deleted: set[str] = set()
    aws_managed: set[str] = set()
    for product_stack in product_stacks:
        for construct in product_stack.node.find_all():
            if not CfnResource.is_cfn_resource(construct):
                continue
            resource: CfnResource = construct  # type: ignore[assignment]  # is_cfn_resource checked above
            resource_type = resource.cfn_resource_type
            if resource_type in NO_PERMISSIONS:
                continue
            if resource_type not in PERMISSIONS:
                raise invalid(
                    "resource type",
                    resource_type,
                    f"one the launch role knows ({', '.join(sorted(PERMISSIONS))}) in {construct.node.path}; "
                    "pass an existing launch role instead",
                )
            types.add(resource_type)
            options = resource.cfn_options
            if options.deletion_policy != CfnDeletionPolicy.RETAIN or options.update_replace_policy != CfnDeletionPolicy.RETAIN:
                deleted.add(resource_type)
            if resource_type == "AWS::IAM::Role":
                aws_managed.update(_aws_managed_policy_names(resource))
    return types, deleted, aws_managed


def _has_vpc_function(product_stacks: Sequence[IConstruct]) -> bool:
    """Whether a Lambda function in ``product_stacks`` runs in a VPC (sets ``VpcConfig``)."""
    return any(
        isinstance(construct, CfnResource)
        and construct.cfn_resource_type == "AWS::Lambda::Function"
        and Stack.of(construct).resolve(getattr(construct, "vpc_config", None)) is not None
        for product_stack in product_stacks
        for construct in product_stack.node.find_all()
    )


def _aws_managed_policy_names(role: CfnResource) -> set[str]:
    """Names (``service-role/AWSLambdaBasicExecutionRole``) of the AWS-managed policies a role attaches."""
    arns = Stack.of(role).resolve(getattr(role, "managed_policy_arns", None)) or []
    names = set()
    marker = ":iam::aws:policy/"
    for arn in arns:
        text = arn if isinstance(arn, str) else "".join(p for p in arn.get("Fn::Join", ["", []])[1] if isinstance(p, str))
        if marker in text:
            names.add(text.split(marker, 1)[1])
    return names
