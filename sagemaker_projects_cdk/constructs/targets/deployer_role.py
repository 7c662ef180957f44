"""CloudFormation's service role for the stage stacks a tooling account deploys into a target account.

``StageDeployerRole`` (``constructs/deploy/deployer_role.py``) serves one project in its own
account and is scoped to that project's id. This role serves *every* project of one tooling
account in a target account, so it is scoped by the conventions all of them follow instead:

- IAM: roles and policies under the stage stacks' path ``/sagemaker-projects/<project id>/``
  (``stage_iam_path``) only, policies attached only from that path, roles passed only to
  SageMaker; the baseline's own roles live under ``/sagemaker-projects-cdk/``, out of reach;
- SageMaker: models, endpoint configurations and endpoints are created only with a
  ``sagemaker:project-id`` tag (``ProjectIdentity`` tags every resource of a stage stack)
  and changed, read or deleted only when they carry one; model versions are read only from
  the tooling account's registry;
- CloudWatch: the stage stacks' alarms (``sagemaker-*-deploy-*``, CloudFormation names them
  after the stack) and the target-tracking alarms Application Auto Scaling creates for an
  endpoint variant (``TargetTracking-endpoint/*/variant/*``);
- KMS: describe the baseline's key and the tooling account's keys, and let SageMaker create
  grants on them for endpoint volumes (``kms:GrantIsForAWSResource``);
- S3: the buckets a stage stack may create for captured data, named ``sagemaker-*``
  (CloudFormation derives a generated bucket name from the stage stack's name); their
  configuration and policy, never their objects.

What it holds is checked against the handler permissions of the CloudFormation resource
schemas of the stage template's resources (``tests/unit/constructs/targets/test_target_deployer_role.py``).
Only CloudFormation may assume it, and only the ``actions`` role may pass it, for stacks
named ``sagemaker-*-deploy-*``: what it may do is what the tooling account's deploy pipelines
may do in this account, through their templates.
"""

from __future__ import annotations

from typing import Optional

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ...compliance import acknowledge_wildcards
from ..deploy.deployer_role import AUTOSCALING_LINKED_ROLE, AUTOSCALING_SERVICE
from ..deploy.targets import TARGET_ROLE_PATH, target_role_name
from ._arns import (
    PROJECT_TAG_REQUESTED,
    PROJECT_TAGGED,
    STAGE_BUCKET_NAMES,
    STAGE_IAM_PATHS,
    STAGE_STACK_NAMES,
    iam_arn,
    regional,
    s3_arn,
)

#: The SageMaker calls of the stage stacks' model, endpoint configuration and endpoint on
#: resources that already carry a project id.
SAGEMAKER_TAGGED_ACTIONS = (
    "sagemaker:DescribeModel",
    "sagemaker:DeleteModel",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",
    # Application Auto Scaling requires it of whoever registers a variant.
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
)

#: What CloudFormation's S3 handlers call for a data capture bucket and its policy: create and
#: delete it, read its whole configuration (the read handler reads every part), and set what
#: such a bucket uses (encryption, public access block, ownership, versioning, lifecycle,
#: access logs, tags, its policy). Never an object.
DATA_CAPTURE_BUCKET_ACTIONS = (
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketLogging",
    "s3:PutBucketTagging",
    "s3:TagResource",
    "s3:UntagResource",
    "s3:ListTagsForResource",
    "s3:PutBucketPolicy",
    "s3:GetBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetAccelerateConfiguration",
    "s3:GetAnalyticsConfiguration",
    "s3:GetBucketAbac",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLogging",
    "s3:GetBucketMetadataTableConfiguration",
    "s3:GetBucketNotification",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetIntelligentTieringConfiguration",
    "s3:GetInventoryConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetMetricsConfiguration",
    "s3:GetReplicationConfiguration",
)


class TargetDeployerRole(Construct):
    """``sagemaker-projects-<tooling account>-deployer``: CloudFormation's role for stage stacks.

    :param tooling_account: the tooling account's id (names the role; its registry and keys).
    :param key: the target account's key (endpoint volumes, captured data).
    :param endpoint_role: a SageMaker execution role the stage stacks may use instead of
        creating their own; this role may pass it to SageMaker. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tooling_account: str,
        key: kms.IKey,
        endpoint_role: Optional[iam.IRole] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        #: The role.
        self.role = iam.Role(
            self,
            "Role",
            role_name=target_role_name(tooling_account, "deployer"),
            path=TARGET_ROLE_PATH,
            assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
            description="CloudFormation's role for the SageMaker project stage stacks a tooling account deploys "
            "here (sagemaker-projects-cdk)",
        )
        roles = iam_arn(stack, "role", f"{STAGE_IAM_PATHS}/*")
        policies = iam_arn(stack, "policy", f"{STAGE_IAM_PATHS}/*")
        linked_role = iam_arn(stack, "role", AUTOSCALING_LINKED_ROLE)
        sagemaker = [regional(stack, "sagemaker", r, "*") for r in ("model", "endpoint-config", "endpoint")]
        model_versions = regional(stack, "sagemaker", "model-package", "*", account=tooling_account)
        alarms = regional(stack, "cloudwatch", "alarm", STAGE_STACK_NAMES, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        tracking_alarms = regional(
            stack, "cloudwatch", "alarm", "TargetTracking-endpoint/*/variant/*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        scalable_targets = regional(stack, "application-autoscaling", "scalable-target", "*")
        tooling_keys = regional(stack, "kms", "key", "*", account=tooling_account)
        buckets = s3_arn(stack, STAGE_BUCKET_NAMES)
        passed = [roles] + ([endpoint_role.role_arn] if endpoint_role is not None else [])

        #: The customer-managed policy with the permissions on the stage stacks' resources.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="What CloudFormation may do for the stage stacks of a tooling account's SageMaker projects",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="ModelRoles",
                    actions=[
                        "iam:CreateRole",
                        "iam:DeleteRole",
                        "iam:GetRole",
                        "iam:UpdateRole",
                        "iam:UpdateRoleDescription",
                        "iam:TagRole",
                        "iam:UntagRole",
                        "iam:ListAttachedRolePolicies",
                        "iam:ListRolePolicies",
                        "iam:GetRolePolicy",
                        "iam:DeleteRolePolicy",
                    ],
                    resources=[roles],
                ),
                iam.PolicyStatement(
                    sid="AttachModelPolicies",
                    actions=["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                    resources=[roles],
                    conditions={"ArnLike": {"iam:PolicyARN": policies}},
                ),
                iam.PolicyStatement(
                    sid="ModelPolicies",
                    actions=[
                        "iam:CreatePolicy",
                        "iam:DeletePolicy",
                        "iam:GetPolicy",
                        "iam:CreatePolicyVersion",
                        "iam:DeletePolicyVersion",
                        "iam:GetPolicyVersion",
                        "iam:ListPolicyVersions",
                        "iam:ListEntitiesForPolicy",
                    ],
                    resources=[policies],
                ),
                iam.PolicyStatement(
                    sid="PassModelRoles",
                    actions=["iam:PassRole"],
                    resources=passed,
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="AutoscalingLinkedRole",
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[linked_role],
                    conditions={"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SERVICE}},
                ),
                iam.PolicyStatement(sid="PassAutoscalingLinkedRole", actions=["iam:PassRole"], resources=[linked_role]),
                iam.PolicyStatement(
                    sid="CreateTagged",
                    actions=[
                        "sagemaker:CreateModel",
                        "sagemaker:CreateEndpointConfig",
                        "sagemaker:CreateEndpoint",
                        "sagemaker:AddTags",
                    ],
                    resources=sagemaker,
                    conditions=PROJECT_TAG_REQUESTED,
                ),
                iam.PolicyStatement(
                    sid="ManageTagged", actions=list(SAGEMAKER_TAGGED_ACTIONS), resources=sagemaker, conditions=PROJECT_TAGGED
                ),
                iam.PolicyStatement(sid="ModelVersions", actions=["sagemaker:DescribeModelPackage"], resources=[model_versions]),
                iam.PolicyStatement(
                    sid="RollbackAlarms",
                    actions=[
                        "cloudwatch:PutMetricAlarm",
                        "cloudwatch:DeleteAlarms",
                        "cloudwatch:DescribeAlarms",
                        "cloudwatch:TagResource",
                        "cloudwatch:UntagResource",
                        "cloudwatch:ListTagsForResource",
                    ],
                    resources=[alarms],
                ),
                iam.PolicyStatement(
                    sid="TargetTrackingAlarms",
                    actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms"],
                    resources=[tracking_alarms],
                ),
                iam.PolicyStatement(
                    sid="Autoscaling",
                    actions=[
                        "application-autoscaling:RegisterScalableTarget",
                        "application-autoscaling:DeregisterScalableTarget",
                        "application-autoscaling:PutScalingPolicy",
                        "application-autoscaling:DeleteScalingPolicy",
                        "application-autoscaling:TagResource",
                        "application-autoscaling:UntagResource",
                        "application-autoscaling:ListTagsForResource",
                    ],
                    resources=[scalable_targets],
                ),
                iam.PolicyStatement(
                    sid="DescribeAutoscaling",
                    actions=[
                        "application-autoscaling:DescribeScalableTargets",
                        "application-autoscaling:DescribeScalingPolicies",
                        "application-autoscaling:DescribeScheduledActions",
                        "cloudwatch:GetMetricData",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(sid="Keys", actions=["kms:DescribeKey"], resources=[key.key_arn, tooling_keys]),
                iam.PolicyStatement(
                    sid="KeyGrantsForSageMaker",
                    actions=["kms:CreateGrant"],
                    resources=[key.key_arn, tooling_keys],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
            ],
        )
        #: The customer-managed policy with the permissions on the stage stacks' data capture buckets.
        self.bucket_policy = iam.ManagedPolicy(
            self,
            "BucketPolicy",
            description="What CloudFormation may do for the data capture buckets of a tooling account's SageMaker projects",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[
                iam.PolicyStatement(sid="DataCaptureBuckets", actions=list(DATA_CAPTURE_BUCKET_ACTIONS), resources=[buckets])
            ],
        )
        acknowledge_wildcards(
            self.policy,
            "CloudFormation generates the names of the stage stacks' model roles and policies; they are confined to "
            "the stage stacks' IAM path /sagemaker-projects/<project id>/ (the baseline's roles are outside it)",
            roles,
            policies,
        )
        acknowledge_wildcards(
            self.policy,
            "CloudFormation generates model and endpoint-config names and every project of the tooling account names its "
            "endpoints; creation requires a SageMaker project id tag and every other call requires the resource to carry one",
            *sagemaker,
        )
        acknowledge_wildcards(
            self.policy,
            "alarms are named after the stage stacks 'sagemaker-<project>-deploy-<stage>' and, for target tracking, after the "
            "endpoint's variant; model versions get numbers at registration, in the tooling account's registry",
            alarms,
            tracking_alarms,
            model_versions,
        )
        acknowledge_wildcards(
            self.policy,
            "the tooling account's keys encrypt the project artifacts a stage may still use for endpoint volumes: describe "
            "only, and grants only when SageMaker creates them (kms:GrantIsForAWSResource)",
            tooling_keys,
        )
        acknowledge_wildcards(
            self.policy,
            "Application Auto Scaling names scalable targets with generated ids; its Describe* calls and CloudWatch's "
            "GetMetricData have no resource type",
            scalable_targets,
            "*",
        )
        acknowledge_wildcards(
            self.bucket_policy,
            "CloudFormation generates a data capture bucket's name from the stage stack's name (sagemaker-...); the "
            "bucket's configuration and policy only, never its objects",
            buckets,
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
