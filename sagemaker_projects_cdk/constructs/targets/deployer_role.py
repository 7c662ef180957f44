"""CloudFormation's service role for the stage stacks a tooling account deploys into a target account.

``StageDeployerRole`` (``constructs/deploy/deployer_role.py``) serves one project in its own
account and is scoped to that project's id. This role serves *every* project of one tooling
account in a target account, so it is scoped by the conventions all of them follow instead.
What a stage stack creates in another account (``stacks/endpoint_stage.py`` with
``ArtifactBucketName`` and ``ArtifactKmsKeyArn`` empty and ``ExecutionRoleArn`` the
baseline's ``endpoint`` role) is what it may create:

- IAM: nothing. The stage stack creates no role and no policy there; its model runs as the
  baseline's ``endpoint`` role, which this role may pass to SageMaker only (and a batch
  stage's state machine and rules as the baseline's ``transform`` and ``trigger`` roles, which
  it may pass to Step Functions and EventBridge respectively). (It may create Application Auto
  Scaling's service-linked role for SageMaker variants, which AWS defines.)
- SageMaker: models, endpoint configurations and endpoints are created only with a
  ``sagemaker:project-id`` tag (``ProjectIdentity`` tags every resource of a stage stack)
  and changed, read or deleted only when they carry one; model versions are read only from
  the tooling account's registry;
- KMS: the stage's own key is created only with a ``sagemaker:project-id`` tag and managed
  (policy, rotation, tags, grants for SageMaker's endpoint volumes) only when it carries one;
- S3: the stage's own buckets, named ``sagemaker-projects-stage-<stack uuid>`` and
  ``sagemaker-projects-slogs-<stack uuid>`` in this account: their configuration and policy,
  never their objects, and never deleted (they are retained);
- SageMaker Model Monitor (the monitor stage stacks, ``stacks/monitor_stage.py``, with the
  ``endpoint`` role as ``ExecutionRoleArn``): job definitions and schedules created only with a
  ``sagemaker:project-id`` tag and read, updated or deleted only when they carry one, their
  alarms (``sagemaker-*-monitor-*``); the jobs run as the ``endpoint`` role;
- Step Functions and EventBridge (batch stages): state machines ``<project id>-<stage>-transform``
  and rules ``<project id>-<stage>-schedule`` and ``-deployed``;
- CloudWatch: the stage stacks' alarms (``sagemaker-*-deploy-*``, CloudFormation names them
  after the stack) and the target-tracking alarms Application Auto Scaling creates for an
  endpoint variant (``TargetTracking-endpoint/*/variant/*``); Application Auto Scaling's
  scalable targets and policies.

The ``sagemaker:project-id`` tag condition keeps resources that are not a project's out of
reach; it does not tell projects apart: any project of the tooling account (and any
resource of this account tagged with a project id, such as a native SageMaker project's)
is within reach (see ``stacks/target_account.py``).

What it holds is checked against the handler permissions of the CloudFormation resource
schemas of the stage template's resources as deployed in another account
(``tests/unit/constructs/targets/test_target_deployer_role.py``). Only CloudFormation may
assume it, and only the ``actions`` role may pass it, for stacks named
``sagemaker-*-deploy-*``: what it may do is what the tooling account's deploy pipelines may do
in this account, through their templates.
"""

from __future__ import annotations

from typing import Optional

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..._internal.validation import invalid
from ...compliance import acknowledge_wildcards
from ..deploy._stage_permissions import (
    AUTOSCALING_LINKED_ROLE,
    BATCH_RULE_ACTIONS,
    BATCH_STATE_MACHINE_ACTIONS,
    acknowledge_autoscaling_wildcards,
    alarm_and_autoscaling_statements,
    async_topic_statements,
    linked_role_statements,
)
from ..deploy.targets import TARGET_ROLE_PATH
from ..monitor.permissions import monitor_arns, monitor_deployer_statements
from ._arns import (
    IN_THIS_ACCOUNT,
    MONITOR_STACK_NAMES,
    PROJECT_TAG_REQUESTED,
    PROJECT_TAGGED,
    STAGE_BUCKET_NAMES,
    STAGE_STACK_NAMES,
    iam_arn,
    regional,
    s3_arn,
)
from ._role import target_service_role

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

#: What CloudFormation's KMS handlers call for the stage's own key once it exists (create,
#: read, update; it is retained, never deleted), and the grants SageMaker creates on it for
#: endpoint volumes.
STAGE_KEY_ACTIONS = (
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
)

#: What CloudFormation's S3 handlers call for the stage's buckets and their policies: create
#: them, read their whole configuration (the read handler reads every part), and set what
#: they use (encryption, public access block, ownership, versioning, lifecycle, access logs,
#: tags, a policy). Never an object; never a bucket deletion (they are retained).
STAGE_BUCKET_ACTIONS = (
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

    :param tooling_account: the tooling account's id (names the role; its registry).
    :param endpoint_role: the SageMaker execution role the stage stacks' models run as (the
        baseline's ``endpoint`` role); passed to SageMaker only.
    :param transform_role: the role batch stages' state machines run as (the baseline's
        ``transform`` role); passed to Step Functions only. Default: none (no batch stages).
    :param trigger_role: the role batch stages' rules start their state machines as (the
        baseline's ``trigger`` role); passed to EventBridge only. Given exactly when
        ``transform_role`` is. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tooling_account: str,
        endpoint_role: iam.IRole,
        transform_role: Optional[iam.IRole] = None,
        trigger_role: Optional[iam.IRole] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if (transform_role is None) != (trigger_role is None):
            given, missing = ("transform_role", "trigger_role") if trigger_role is None else ("trigger_role", "transform_role")
            raise invalid(missing, None, f"a role whenever {given} is given (a batch stage needs both: its state machine's and its rules')")
        stack = Stack.of(self)
        #: The role.
        self.role = target_service_role(
            self,
            tooling_account=tooling_account,
            role="deployer",
            service="cloudformation.amazonaws.com",
            description="CloudFormation's role for the tooling account's stage stacks (sagemaker-projects-cdk)",
        )
        linked_role = iam_arn(stack, "role", AUTOSCALING_LINKED_ROLE)
        sagemaker = [regional(stack, "sagemaker", r, "*") for r in ("model", "endpoint-config", "endpoint")]
        model_versions = regional(stack, "sagemaker", "model-package", "*", account=tooling_account)
        alarms = regional(stack, "cloudwatch", "alarm", STAGE_STACK_NAMES, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        tracking_alarms = regional(
            stack, "cloudwatch", "alarm", "TargetTracking-endpoint/*/variant/*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        scalable_targets = regional(stack, "application-autoscaling", "scalable-target", "*")
        keys = regional(stack, "kms", "key", "*")
        buckets = [s3_arn(stack, name) for name in STAGE_BUCKET_NAMES]

        #: The customer-managed policy with the permissions on the stage stacks' resources.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Stage stacks: models, endpoints, keys, alarms, autoscaling",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="PassEndpointRole",
                    actions=["iam:PassRole"],
                    resources=[endpoint_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                *linked_role_statements(linked_role),
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
                # The stage's model names a tooling-account version (PrimaryContainer.ModelPackageName):
                # the project's group policy allows the same two actions on its versions. Whether
                # SageMaker authorizes CreateModel against the version as well is not documented;
                # granting it here costs nothing (the version's own account decides too).
                iam.PolicyStatement(
                    sid="ModelVersions",
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:CreateModel"],
                    resources=[model_versions],
                ),
                *alarm_and_autoscaling_statements(
                    alarms=alarms, tracking_alarms=tracking_alarms, scalable_targets=scalable_targets
                ),
                # CreateKey has no resource; KMS checks the tags it is given (the CloudFormation
                # handler passes the template's tags to CreateKey) and TagResource for them.
                iam.PolicyStatement(
                    sid="CreateStageKey", actions=["kms:CreateKey"], resources=["*"], conditions=PROJECT_TAG_REQUESTED
                ),
                iam.PolicyStatement(
                    sid="TagNewStageKey", actions=["kms:TagResource"], resources=[keys], conditions=PROJECT_TAG_REQUESTED
                ),
                iam.PolicyStatement(
                    sid="StageKeys",
                    actions=list(STAGE_KEY_ACTIONS),
                    resources=[keys],
                    conditions=PROJECT_TAGGED,
                ),
                iam.PolicyStatement(
                    sid="StageKeyGrantsForSageMaker",
                    actions=["kms:CreateGrant"],
                    resources=[keys],
                    conditions={**PROJECT_TAGGED, "Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
            ],
        )
        monitor_alarms = regional(stack, "cloudwatch", "alarm", MONITOR_STACK_NAMES, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        #: The customer-managed policy with the permissions on the monitor stage stacks' resources
        #: (``stacks/monitor_stage.py`` with ``ExecutionRoleArn`` the baseline's ``endpoint`` role:
        #: job definitions, schedules and alarms, no role).
        self.monitor_policy = iam.ManagedPolicy(
            self,
            "MonitorPolicy",
            description="Stage stacks: Model Monitor",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=monitor_deployer_statements(
                self,
                name_pattern="*",
                alarms=monitor_alarms,
                pass_roles=[endpoint_role.role_arn],
                create_conditions=PROJECT_TAG_REQUESTED,
                manage_conditions=PROJECT_TAGGED,
            ),
        )
        definitions, schedules = monitor_arns(self, "*")
        acknowledge_wildcards(
            self.monitor_policy,
            "every project of the tooling account names its monitoring schedules and job definitions after its id and "
            "stage; creation requires a SageMaker project id tag and every other call requires the resource to carry one; "
            "alarms are named after the monitor stage stacks 'sagemaker-<project>-monitor-<stage>'",
            *definitions,
            schedules,
            monitor_alarms,
        )
        #: The customer-managed policy with the permissions on the stage stacks' own buckets.
        self.bucket_policy = iam.ManagedPolicy(
            self,
            "BucketPolicy",
            description="Stage stacks: buckets",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[
                # A bucket is always created in the caller's account: the name alone scopes it.
                iam.PolicyStatement(sid="CreateStageBuckets", actions=["s3:CreateBucket"], resources=buckets),
                iam.PolicyStatement(
                    sid="StageBuckets", actions=list(STAGE_BUCKET_ACTIONS), resources=buckets, conditions=IN_THIS_ACCOUNT
                ),
            ],
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
            "a stage stack's own key gets its id from KMS: it is created only with a SageMaker project id tag, and managed "
            "(and granted to SageMaker, kms:GrantIsForAWSResource) only when it carries one, in this account; CreateKey has "
            "no resource type",
            keys,
            "*",
        )
        acknowledge_autoscaling_wildcards(self.policy, scalable_targets)
        # An asynchronous stage's SNS topics, named by CloudFormation after the stage stack.
        topics = stack.format_arn(service="sns", region="*", resource=STAGE_STACK_NAMES)
        #: The customer-managed policy with the permissions on asynchronous stages' topics.
        self.serving_policy = iam.ManagedPolicy(
            self,
            "ServingPolicy",
            description="Stage stacks: asynchronous and batch stages",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=async_topic_statements(topics=topics),
        )
        if transform_role is not None and trigger_role is not None:
            self._allow_batch_stages(stack, transform_role, trigger_role)
        acknowledge_wildcards(
            self.serving_policy,
            "CloudFormation names an asynchronous stage's topics after its stage stack 'sagemaker-<project>-deploy-<stage>-...'",
            topics,
        )
        acknowledge_wildcards(
            self.bucket_policy,
            "a stage stack names its buckets 'sagemaker-projects-stage-<stack uuid>' and 'sagemaker-projects-slogs-<stack "
            "uuid>' (the uuid is CloudFormation's); their configuration and policy only, in this account, never their objects",
            *buckets,
        )

    def _allow_batch_stages(self, stack: Stack, transform_role: iam.IRole, trigger_role: iam.IRole) -> None:
        """A batch stage's state machine and rules (``BatchStageStack`` given the baseline's roles)."""
        machines = regional(stack, "states", "stateMachine", "*-transform", arn_format=ArnFormat.COLON_RESOURCE_NAME)
        rules = [regional(stack, "events", "rule", f"*-{suffix}") for suffix in ("schedule", "deployed")]
        self.serving_policy.add_statements(
            iam.PolicyStatement(sid="BatchStateMachines", actions=list(BATCH_STATE_MACHINE_ACTIONS), resources=[machines]),
            iam.PolicyStatement(sid="BatchRules", actions=list(BATCH_RULE_ACTIONS), resources=rules),
            iam.PolicyStatement(
                sid="PassTransformRole",
                actions=["iam:PassRole"],
                resources=[transform_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="PassTriggerRole",
                actions=["iam:PassRole"],
                resources=[trigger_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}},
            ),
        )
        acknowledge_wildcards(
            self.serving_policy,
            "batch stages name their state machines '<project id>-<stage>-transform' and their rules "
            "'<project id>-<stage>-schedule' and '-deployed', for any project of the tooling account",
            machines,
            *rules,
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
