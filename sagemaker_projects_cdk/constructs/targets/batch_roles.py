"""The roles a batch stage's state machine and its EventBridge rules run as in a target account.

A batch stage stack (``stacks/serving_stages.py``, ``BatchStageStack``) creates a Step
Functions state machine that runs a SageMaker transform job, and EventBridge rules that start
it (on a schedule, after each deployment). In its own account the stack creates their roles;
in a target account the ``deployer`` creates no IAM role, so the stack is given these two
(``StateMachineRoleArn`` and ``TriggerRoleArn``, which build.py derives from the baseline's
role names):

- ``sagemaker-projects-<tooling>-transform``, assumed by Step Functions: create, describe,
  stop, tag and list the tags of transform jobs (``createTransformJob.sync``), pass the baseline's ``endpoint`` role
  (the model's execution role) to SageMaker only, manage the rule Step Functions uses to learn
  that a job ended (``StepFunctionsGetEventsForSageMakerTransformJobsRule``), and let
  SageMaker create a grant on the stage's own key (tagged with a project id) for the jobs'
  volumes (``VolumeKmsKeyId``);
- ``sagemaker-projects-<tooling>-trigger``, assumed by EventBridge: start batch stages' state
  machines (``<project id>-<stage>-transform``) only.

Like the rest of the baseline they serve every project of one tooling account, scoped by the
names and tags those projects' stage stacks use.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ...compliance import acknowledge_wildcards
from ..deploy.targets import TARGET_ROLE_PATH
from ..endpoint.batch import SYNC_RULE, TRANSFORM_JOB_ACTIONS
from ._arns import PROJECT_TAGGED, regional
from ._role import target_service_role

#: Batch stages' state machines: ``<project id>-<stage>-transform`` (``BatchStageStack``).
TRANSFORM_STATE_MACHINES = "*-transform"


class TargetTransformRole(Construct):
    """``sagemaker-projects-<tooling account>-transform``: the batch stages' state machines.

    :param tooling_account: the tooling account's id (names the role).
    :param endpoint_role: the models' execution role (the baseline's ``endpoint`` role), the
        only role this one may pass (to SageMaker only).
    """

    def __init__(self, scope: Construct, construct_id: str, *, tooling_account: str, endpoint_role: iam.IRole) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        #: The role.
        self.role = target_service_role(
            self,
            tooling_account=tooling_account,
            role="transform",
            service="states.amazonaws.com",
            from_this_account=True,
            description="Batch stages' state machines (sagemaker-projects-cdk)",
        )
        jobs = regional(stack, "sagemaker", "transform-job", "*")
        sync_rule = regional(stack, "events", "rule", SYNC_RULE)
        keys = regional(stack, "kms", "key", "*")
        #: The customer-managed policy with the role's permissions.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Batch stages' state machines: transform jobs",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="TransformJobs",
                    actions=list(TRANSFORM_JOB_ACTIONS),
                    resources=[jobs],
                ),
                iam.PolicyStatement(
                    sid="PassEndpointRole",
                    actions=["iam:PassRole"],
                    resources=[endpoint_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="JobEndedRule", actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[sync_rule]
                ),
                # AWS's docs do not say whether SageMaker creates the VolumeKmsKeyId grant with the
                # CreateTransformJob caller's permissions; a grant for AWS resources only is safe
                # either way (and matches the same-account state machine's role, BatchTransform).
                iam.PolicyStatement(
                    sid="VolumeKeyGrants",
                    actions=["kms:CreateGrant"],
                    resources=[keys],
                    conditions={**PROJECT_TAGGED, "Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
                iam.PolicyStatement(sid="VolumeKeys", actions=["kms:DescribeKey"], resources=[keys], conditions=PROJECT_TAGGED),
            ],
        )
        acknowledge_wildcards(
            self.policy,
            "each run names its transform job '<project id>-<uuid>' at run time, for any project of the tooling account; "
            "the stage stacks' keys get their ids from KMS (limited to keys tagged with a SageMaker project id, grants "
            "for AWS services only); Step Functions' own rule for transform jobs, in whichever region a stage runs",
            jobs,
            keys,
            sync_rule,
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn


class TargetTriggerRole(Construct):
    """``sagemaker-projects-<tooling account>-trigger``: EventBridge starts batch stages' runs.

    :param tooling_account: the tooling account's id (names the role).
    """

    def __init__(self, scope: Construct, construct_id: str, *, tooling_account: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        #: The role.
        self.role = target_service_role(
            self,
            tooling_account=tooling_account,
            role="trigger",
            service="events.amazonaws.com",
            from_this_account=True,
            description="Batch stages' rules start their runs (sagemaker-projects-cdk)",
        )
        machines = regional(stack, "states", "stateMachine", TRANSFORM_STATE_MACHINES, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        #: The customer-managed policy with the role's permissions.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Batch stages' rules: start runs",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[iam.PolicyStatement(sid="StartRuns", actions=["states:StartExecution"], resources=[machines])],
        )
        acknowledge_wildcards(
            self.policy,
            "batch stages name their state machines '<project id>-<stage>-transform', for any project of the tooling "
            "account; start only",
            machines,
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
