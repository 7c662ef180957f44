"""The SageMaker execution role of the models and endpoints stage stacks create in a target account.

It mirrors what a stage stack's own model role holds (``constructs/endpoint/_policy.py``),
for every project of one tooling account: SageMaker pulls the model's image (AWS's
algorithm and framework repositories, and the tooling account's own), reads the model
artifacts from the tooling account's buckets (decrypting through S3 with its keys), writes
captured data to the stage stacks' own buckets of this account (``sagemaker-projects-stage-
<stack uuid>``), writes the endpoint's logs and metrics, and reads the stage stacks' rollback
alarms during a blue/green update. The Model Monitor jobs of the monitor stage stacks run as it
too: they read the captured data in the stage buckets and write their reports there, read
their baselines from the tooling account's bucket (as model artifacts), log to SageMaker's
processing job log group, publish metrics in Model Monitor's namespaces, and (explainability)
run Clarify's temporary shadow endpoint ``<project id>-clarify*`` (the prefix the monitor seed writes).
A batch stage's transform jobs run as it as well: they read the input and write the output in
the stage buckets (as captured data), log to SageMaker's transform job log group and publish
metrics in its namespace.

It holds no permission on a key of this account: a stage stack's own key names this role in
its key policy (encrypt captured data, ``EncryptByExecutionRole`` in
``stacks/endpoint_stage.py``), which is enough within one account, and the endpoint's volumes
are encrypted through a grant SageMaker creates with the caller's (the ``deployer`` role's)
permissions when it creates the endpoint, not with this role's.
"""

from __future__ import annotations

from typing import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ...compliance import acknowledge_wildcards
from ..build.execution_role import DEFAULT_IMAGE_REPOSITORIES
from ..deploy.targets import TARGET_ROLE_PATH
from ..monitor.monitors import (
    CLARIFY_SHADOW_SUFFIX,
    PROCESSING_LOG_GROUP,
    clarify_shadow_statement,
)
from ._arns import IN_THIS_ACCOUNT, STAGE_DATA_BUCKET_NAMES, STAGE_STACK_NAMES, regional, s3_arn, via_s3
from ._role import target_service_role

#: The CloudWatch namespaces the role's jobs and endpoints publish in (``StringLike``).
METRIC_NAMESPACES = [
    "/aws/sagemaker/Endpoints",
    "/aws/sagemaker/TransformJobs",
    "aws/sagemaker/Endpoints/*",
    "/aws/sagemaker/Endpoints/*",
]


class TargetEndpointRole(Construct):
    """``sagemaker-projects-<tooling account>-endpoint``: the execution role of a target account's models.

    :param tooling_account: the tooling account's id (names the role; its buckets, keys and
        image repositories).
    :param image_repositories: the names of AWS-owned ECR repositories the models' images
        come from (in AWS's per-region accounts). Default: ``sagemaker-xgboost``, the seed
        model's image. Every repository of the tooling account may be pulled from as well.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tooling_account: str,
        image_repositories: Sequence[str] = DEFAULT_IMAGE_REPOSITORIES,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        #: The role.
        self.role = target_service_role(
            self,
            tooling_account=tooling_account,
            role="endpoint",
            service="sagemaker.amazonaws.com",
            description="Execution role of the tooling account's SageMaker models here (sagemaker-projects-cdk)",
        )
        logs = regional(
            stack, "logs", "log-group", "/aws/sagemaker/Endpoints/*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        artifact_buckets = s3_arn(stack, "*")
        captured = s3_arn(stack, f"{STAGE_DATA_BUCKET_NAMES}/*")
        tooling_keys = regional(stack, "kms", "key", "*", account=tooling_account)
        tooling_images = regional(stack, "ecr", "repository", "*", account=tooling_account)
        aws_images = [regional(stack, "ecr", "repository", name, account="*") for name in sorted(image_repositories)]
        alarms = regional(stack, "cloudwatch", "alarm", STAGE_STACK_NAMES, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        stage_buckets = s3_arn(stack, STAGE_DATA_BUCKET_NAMES)
        monitor_logs = regional(
            stack, "logs", "log-group", f"{PROCESSING_LOG_GROUP}:*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        transform_logs = regional(
            stack, "logs", "log-group", "/aws/sagemaker/TransformJobs:*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        shadow = [regional(stack, "sagemaker", kind, f"*{CLARIFY_SHADOW_SUFFIX}*") for kind in ("endpoint", "endpoint-config")]
        in_tooling_account = {"StringEquals": {"aws:ResourceAccount": tooling_account}}
        #: The customer-managed policy with the role's permissions.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="SageMaker models, Model Monitor jobs, transform jobs",
            path=TARGET_ROLE_PATH,
            roles=[self.role],
            statements=[
                # One statement per shape (the baseline's template must stay within what CloudFormation
                # takes inline): endpoints', Model Monitor's and transform jobs' logs and metrics.
                iam.PolicyStatement(
                    sid="Logs",
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    resources=[logs, monitor_logs, transform_logs],
                ),
                iam.PolicyStatement(
                    sid="Metrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    # Model Monitor's namespaces are written with and without a leading slash in the docs.
                    conditions={"StringLike": {"cloudwatch:namespace": METRIC_NAMESPACES}},
                ),
                # The tooling account's model artifacts (GetObject on the bucket ARN matches no object).
                iam.PolicyStatement(
                    sid="ModelArtifacts",
                    actions=["s3:GetObject", "s3:ListBucket"],
                    resources=[artifact_buckets],
                    conditions=in_tooling_account,
                ),
                iam.PolicyStatement(
                    sid="ModelArtifactKeys", actions=["kms:Decrypt"], resources=[tooling_keys], conditions=via_s3(stack)
                ),
                # Endpoints write captured data; Model Monitor's jobs read it.
                iam.PolicyStatement(
                    sid="CapturedData",
                    actions=["s3:GetObject", "s3:PutObject"],
                    resources=[captured],
                    conditions=IN_THIS_ACCOUNT,
                ),
                iam.PolicyStatement(sid="ImageToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                iam.PolicyStatement(
                    sid="Images",
                    actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    resources=[tooling_images, *aws_images],
                ),
                iam.PolicyStatement(sid="RollbackAlarms", actions=["cloudwatch:DescribeAlarms"], resources=[alarms]),
                iam.PolicyStatement(
                    sid="ListCapturedData", actions=["s3:ListBucket"], resources=[stage_buckets], conditions=IN_THIS_ACCOUNT
                ),
                clarify_shadow_statement(shadow),
            ],
        )
        acknowledge_wildcards(
            self.policy,
            "Model Monitor's jobs read the captured data SageMaker writes under keys it chooses in the stage stacks' own "
            "buckets of this account (sagemaker-projects-stage-<stack uuid>), log to streams named after each generated "
            "job in SageMaker's processing job log group, and (explainability) run Clarify's temporary shadow endpoints, "
            "named <project id>-clarify<suffix> (the analysis configuration's endpoint_name_prefix the monitor seed writes)",
            stage_buckets,
            monitor_logs,
            *shadow,
        )
        acknowledge_wildcards(
            self.policy,
            "SageMaker names each endpoint's log group and streams, and each transform job's log streams, at run time; "
            "limited to SageMaker endpoints' log groups and the transform jobs' log group",
            logs,
            transform_logs,
        )
        acknowledge_wildcards(
            self.policy,
            "model artifact keys are chosen by the tooling account's training jobs at run time: read-only, in the tooling "
            "account's buckets only (aws:ResourceAccount), decrypted with its keys only when S3 asks",
            artifact_buckets,
            tooling_keys,
        )
        acknowledge_wildcards(
            self.policy,
            "SageMaker writes captured data under keys it chooses, into the stage stacks' own buckets of this account "
            "(sagemaker-projects-stage-<stack uuid>), where Model Monitor reads it and writes its reports",
            captured,
        )
        acknowledge_wildcards(
            self.policy,
            "pull only: custom images in the tooling account's repositories, and AWS's algorithm and framework images, "
            "which live in per-region AWS-owned accounts",
            tooling_images,
            *aws_images,
        )
        acknowledge_wildcards(
            self.policy,
            "the rollback alarms are named after the stage stacks 'sagemaker-<project>-deploy-<stage>'; read-only",
            alarms,
        )
        acknowledge_wildcards(
            self.policy,
            "these actions have no resource type, so IAM accepts only '*': ecr:GetAuthorizationToken; "
            "cloudwatch:PutMetricData (limited to the SageMaker endpoint and transform job namespaces by condition)",
            "*",
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
