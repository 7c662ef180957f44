"""The role a tooling account's deploy pipelines act with in a target account.

CodePipeline's CloudFormation actions assume it to deploy the stage stacks
(``sagemaker-<name>-<id>-deploy-<stage>``) with the baseline's ``deployer`` role, and the
tooling account's build projects assume it for what they do in the target: the staging tests
(describe and invoke the stage's endpoint) and the change record's snapshot (describe the
stage stack). It may:

- create, update, describe and delete stage stacks (what the pipeline's
  ``CloudFormationCreateUpdateStackAction`` calls in its ``CREATE_UPDATE`` and
  ``REPLACE_ON_FAILURE`` modes: the policy aws-cdk-lib writes for that action's role, and
  ``DescribeStackEvents``, which CodePipeline calls for its error messages), and pass the
  ``deployer`` role, to CloudFormation only;
- read objects in the tooling account's buckets (the pipeline's input artifacts: the stage
  template and its parameter file) and decrypt them with the tooling account's keys when S3
  asks (the staging tests read the test set with their own role in the tooling account);
- describe and invoke this account's endpoints that belong to a SageMaker project (tagged
  with ``sagemaker:project-id``), and describe their configurations and models (the staging
  tests, ``seed_code/model_deploy/test/test_endpoint.py``); describe the stage stacks (the
  change record's snapshot);
- the staging tests of an asynchronous or batch stage (its requests and answers are in the
  stage stack's own bucket ``sagemaker-projects-stage-<stack uuid>``, found with
  ``DescribeStackResource``): submit requests (``InvokeEndpointAsync``) after writing them
  under ``async-inference/<endpoint>/input/``, or write test rows under
  ``batch-transform/<stage>/test-input/`` and start, follow and (on a timeout) stop a run of
  the stage's state machine ``<project id>-<stage>-transform``; read the answers under
  ``.../output/`` and ``.../failure/`` (list the bucket, so a missing answer is a 404, not a
  403); encrypt and decrypt them with the stage's own key (tagged with a project id) through
  S3 only.

It cannot change anything directly: every resource of a stage stack is created by
CloudFormation with the ``deployer`` role.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ...compliance import acknowledge_wildcards
from ..deploy.targets import TARGET_ROLE_PATH, target_role_name
from ._arns import (
    IN_THIS_ACCOUNT,
    MONITOR_STACK_NAMES,
    PROJECT_TAGGED,
    STAGE_DATA_BUCKET_NAMES,
    STAGE_STACK_NAMES,
    regional,
    s3_arn,
    via_s3,
)
from .batch_roles import TRANSFORM_STATE_MACHINES
from .trust import ToolingAccountTrust

#: What the staging tests of asynchronous and batch stages write in a stage's own bucket (the
#: seed's ``test_endpoint.py``): requests under an endpoint's input prefix, test rows under a
#: batch stage's test-input prefix.
QUEUE_TEST_WRITES = ("async-inference/*/input/*", "batch-transform/*/test-input/*")
#: What they read there: an asynchronous endpoint's answers and failures, a batch run's output.
QUEUE_TEST_READS = ("async-inference/*/output/*", "async-inference/*/failure/*", "batch-transform/*/output/*")

#: What CodePipeline's CloudFormation action calls on the stack in the modes the tooling
#: pipeline uses (create or update; replace on failure deletes a stack that failed to
#: create), as aws-cdk-lib grants its action role (``DescribeStack*`` spelt out), and the
#: change record's snapshot (``DescribeStacks``).
STAGE_STACK_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStackResources",
    "cloudformation:GetTemplate",
    "cloudformation:GetTemplateSummary",
    "cloudformation:GetStackPolicy",
    "cloudformation:SetStackPolicy",
)


class TargetActionsRole(Construct):
    """``sagemaker-projects-<tooling account>-actions``: the tooling account's pipelines in this account.

    :param trust: the tooling account and the conditions on its trust.
    :param deployer_role: the role CloudFormation deploys stage stacks with; the only role
        this one may pass (to CloudFormation only).
    """

    def __init__(self, scope: Construct, construct_id: str, *, trust: ToolingAccountTrust, deployer_role: iam.IRole) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        tooling = trust.tooling_account
        #: The role.
        self.role = trust.role(
            self,
            "Role",
            role_name=target_role_name(tooling, "actions"),
            path=TARGET_ROLE_PATH,
            description="Deploy pipelines of the tooling account: stage stacks, staging tests (sagemaker-projects-cdk)",
        )
        stacks = [
            regional(stack, "cloudformation", "stack", f"{names}/*") for names in (STAGE_STACK_NAMES, MONITOR_STACK_NAMES)
        ]
        objects = s3_arn(stack, "*/*")
        tooling_keys = regional(stack, "kms", "key", "*", account=tooling)
        endpoints = regional(stack, "sagemaker", "endpoint", "*")
        configs_and_models = [regional(stack, "sagemaker", "endpoint-config", "*"), regional(stack, "sagemaker", "model", "*")]
        in_tooling_account = {"StringEquals": {"aws:ResourceAccount": tooling}}
        test_writes = [s3_arn(stack, f"{STAGE_DATA_BUCKET_NAMES}/{p}") for p in QUEUE_TEST_WRITES]
        test_reads = [s3_arn(stack, f"{STAGE_DATA_BUCKET_NAMES}/{p}") for p in QUEUE_TEST_READS]
        stage_buckets = s3_arn(stack, STAGE_DATA_BUCKET_NAMES)
        stage_keys = regional(stack, "kms", "key", "*")
        machines = regional(stack, "states", "stateMachine", TRANSFORM_STATE_MACHINES, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        runs = regional(stack, "states", "execution", f"{TRANSFORM_STATE_MACHINES}:*", arn_format=ArnFormat.COLON_RESOURCE_NAME)
        #: The customer-managed policy with the role's permissions.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Deploy pipelines: stage stacks, staging tests",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[
                iam.PolicyStatement(sid="StageStacks", actions=list(STAGE_STACK_ACTIONS), resources=stacks),
                iam.PolicyStatement(
                    sid="PassDeployer",
                    actions=["iam:PassRole"],
                    resources=[deployer_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
                ),
                # Pipeline artifacts (the stage template and its parameters).
                iam.PolicyStatement(
                    sid="ToolingObjects",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[objects],
                    conditions=in_tooling_account,
                ),
                iam.PolicyStatement(
                    sid="ToolingKeysThroughS3", actions=["kms:Decrypt"], resources=[tooling_keys], conditions=via_s3(stack)
                ),
                iam.PolicyStatement(
                    sid="TestEndpoints",
                    actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"],
                    resources=[endpoints],
                    conditions=PROJECT_TAGGED,
                ),
                iam.PolicyStatement(
                    sid="TestedModels",
                    actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
                    resources=configs_and_models,
                    conditions=PROJECT_TAGGED,
                ),
                # Asynchronous and batch stages' tests, in the stage stacks' own buckets and keys.
                iam.PolicyStatement(
                    sid="TestRequests", actions=["s3:PutObject"], resources=test_writes, conditions=IN_THIS_ACCOUNT
                ),
                iam.PolicyStatement(sid="TestAnswers", actions=["s3:GetObject"], resources=test_reads, conditions=IN_THIS_ACCOUNT),
                iam.PolicyStatement(
                    sid="TestAnswersListed", actions=["s3:ListBucket"], resources=[stage_buckets], conditions=IN_THIS_ACCOUNT
                ),
                iam.PolicyStatement(
                    sid="StageKeysThroughS3",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[stage_keys],
                    conditions={**PROJECT_TAGGED, **via_s3(stack)},
                ),
                iam.PolicyStatement(sid="TestRuns", actions=["states:StartExecution"], resources=[machines]),
                iam.PolicyStatement(
                    sid="TestRunsFollowed", actions=["states:DescribeExecution", "states:StopExecution"], resources=[runs]
                ),
            ],
        )
        acknowledge_wildcards(
            self.policy,
            "stage stacks are named 'sagemaker-<project name>-<project id>-deploy-<stage>' (endpoints) and "
            "'sagemaker-<project name>-<project id>-monitor-<stage>' (Model Monitor) by each project of the "
            "tooling account; a stack's ARN ends with an id CloudFormation generates; stages may be in any region",
            *stacks,
        )
        acknowledge_wildcards(
            self.policy,
            "read-only, in the tooling account's buckets only (aws:ResourceAccount): pipeline artifacts are written "
            "at run time under keys CodePipeline chooses, in a bucket each project names; decrypt only when S3 asks, "
            "with the tooling account's keys",
            objects,
            tooling_keys,
        )
        acknowledge_wildcards(
            self.policy,
            "the staging tests read and invoke the endpoint of the stage they test; any project's, so limited to "
            "resources tagged with a SageMaker project id; CloudFormation generates the config and model names",
            endpoints,
            *configs_and_models,
        )

        acknowledge_wildcards(
            self.policy,
            "the staging tests of asynchronous and batch stages write requests and test rows, and read answers, under "
            "keys chosen per run below fixed prefixes of the stage stacks' own buckets of this account "
            "('sagemaker-projects-stage-<stack uuid>'), listing them to tell a missing answer from a denied one; they "
            "encrypt and decrypt through S3 only, with keys tagged with a SageMaker project id; they start, follow and "
            "stop runs of batch stages' state machines '<project id>-<stage>-transform' (runs are named per test)",
            *test_writes,
            *test_reads,
            stage_buckets,
            stage_keys,
            machines,
            runs,
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

