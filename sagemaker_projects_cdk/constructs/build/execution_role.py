"""The execution role of a project's SageMaker pipeline and the jobs it runs.

Least privilege, written out action by action (no ``AmazonSageMakerFullAccess``, no
``service:*`` actions): jobs named with the project's id, the project's bucket and key,
the project's model package group, logs of SageMaker jobs, and pulls of AWS's built-in
algorithm images. Kept in a customer-managed policy so that it can be reviewed on its own.
"""

from __future__ import annotations

from typing import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ...compliance import acknowledge_wildcards
from ..project.identity import ProjectIdentity
from ..registry.model_package_group import IModelPackageGroup

#: ECR repositories of the AWS-owned images the seed pipeline's model and scripts run (its
#: processing, training and batch transform steps, and endpoints, all use the XGBoost image).
#: They live in per-region AWS accounts.
DEFAULT_IMAGE_REPOSITORIES = ("sagemaker-xgboost",)
#: ECR repositories of the images of the pipeline's check steps, pulled besides the model's:
#: Model Monitor's analyzer (data and model quality) and Clarify (bias, explainability).
CHECK_IMAGE_REPOSITORIES = ("sagemaker-model-monitor-analyzer", "sagemaker-clarify-processing")

_JOB_ACTIONS = {
    "processing-job": [
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
    ],
    "training-job": [
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    ],
    "transform-job": [
        "sagemaker:CreateTransformJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
    ],
}
#: What a Clarify check job does with the temporary endpoint it serves the model on
#: (named with the prefix the seed pipeline gives it, ``<project id>-clarify``).
_CLARIFY_ENDPOINT_ACTIONS = [
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:InvokeEndpoint",
]


class SageMakerExecutionRole(Construct):
    """The role SageMaker assumes to run a project's pipeline and its jobs.

    :param project: the project whose prefix names the pipeline and jobs.
    :param bucket: the project's artifact bucket (read and write).
    :param encryption_key: the key of the bucket and of job volumes and outputs.
    :param model_package_group: the group the pipeline registers models into.
    :param image_repositories: ECR repository names of AWS-owned images the jobs pull, besides
        the check steps' ``CHECK_IMAGE_REPOSITORIES`` (always granted). Default: ``sagemaker-xgboost``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        model_package_group: IModelPackageGroup,
        image_repositories: Sequence[str] = DEFAULT_IMAGE_REPOSITORIES,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        #: The IAM role.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs a SageMaker project's pipeline and its processing and training jobs",
        )
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[self.role])
        policy = self.policy

        log_groups = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"/aws/sagemaker/{kind}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for kind in ("ProcessingJobs", "TrainingJobs", "TransformJobs", f"Endpoints/{project.job_prefix}-clarify-*")
        ]
        image_arns = [
            stack.format_arn(
                service="ecr",
                account="*",
                resource="repository",
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
            for name in dict.fromkeys([*image_repositories, *CHECK_IMAGE_REPOSITORIES])
        ]
        for resource, job_actions in _JOB_ACTIONS.items():
            policy.add_statements(
                iam.PolicyStatement(
                    actions=[*job_actions, "sagemaker:AddTags"],
                    resources=project.job_arns(resource),
                )
            )
        # The model the batch transform and the Clarify checks use: "<project id>-model-<execution id>".
        model_arns = self._arns(project, "model", "model")
        clarify_arns = [
            arn
            for resource in ("endpoint", "endpoint-config")
            for arn in self._arns(project, resource, "clarify")
        ]
        policy.add_statements(
            iam.PolicyStatement(actions=["sagemaker:CreateModel", "sagemaker:DescribeModel"], resources=model_arns),
            iam.PolicyStatement(actions=_CLARIFY_ENDPOINT_ACTIONS, resources=clarify_arns),
            # A check step not skipped compares with the latest approved version's baselines.
            iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]),
        )
        policy.add_statements(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup",
                    "sagemaker:AddTags",
                ],
                resources=[model_package_group.model_package_group_arn, model_package_group.model_packages_arn],
            ),
            # The pipeline hands this same role to the jobs it starts.
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                resources=[encryption_key.key_arn],
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=log_groups,
            ),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
            iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=image_arns,
            ),
        )
        acknowledge_wildcards(
            policy,
            "SageMaker Pipelines names each job '<project id>-<job>-<generated suffix>' at run "
            "time; the pattern is scoped to this project's id",
            *(arn for r in _JOB_ACTIONS for arn in project.job_arns(r)),
        )
        acknowledge_wildcards(
            policy,
            "each execution creates a model '<project id>-model-<execution id>', and Clarify a temporary "
            "endpoint '<project id>-clarify-<generated suffix>'; scoped to this project's id",
            *model_arns,
            *clarify_arns,
        )
        acknowledge_wildcards(
            policy,
            "model versions get numbers at registration; scoped to this project's group",
            model_package_group.model_packages_arn,
        )
        acknowledge_wildcards(
            policy,
            "jobs read inputs and write outputs under keys chosen at run time, in this project's bucket only",
            bucket.arn_for_objects("*"),
        )
        acknowledge_wildcards(policy, "SageMaker creates one log stream per job under its fixed log groups", *log_groups)
        acknowledge_wildcards(
            policy,
            "cloudwatch:PutMetricData, ecr:GetAuthorizationToken and sagemaker:ListModelPackages have "
            "no resource type; "
            "metrics are limited to SageMaker namespaces by condition, and AWS's algorithm images "
            "live in per-region AWS accounts",
            "*",
            *image_arns,
        )

    def _arns(self, project: ProjectIdentity, resource: str, name: str) -> list[str]:
        """ARN pattern of the project's SageMaker ``resource`` named ``<project id>-<name>-*``
        (project ids are lower case, as SageMaker keeps names in these ARNs)."""
        return [
            Stack.of(self).format_arn(
                service="sagemaker",
                resource=resource,
                resource_name=f"{project.job_prefix}-{name}-*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
        ]

    @property
    def role_arn(self) -> str:
        return self.role.role_arn
