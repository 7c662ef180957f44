"""What a Service Catalog launch role needs, per CloudFormation resource type: data only.

``PERMISSIONS`` lists, for every resource type the product templates use, the actions
CloudFormation's resource handlers call (create, read and update; delete apart, as it is
granted only for resource types CloudFormation may delete), taken from the CloudFormation
resource schemas (see ``tests/unit/test_studio_launch_role.py``), and what they imply: roles
passed to a service, KMS calls made through the service, actions IAM cannot scope.
``STACK_ACTIONS`` and ``TEMPLATE_ACTIONS`` are what Service Catalog itself does with the
role. ``LaunchRole`` (``launch_role.py``) turns them into policies.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..constructs.deploy.teardown import STAGE_TEARDOWN_RESOURCE_TYPE
from ..constructs.project.dataset import DATASET_RESOURCE_TYPE
from ..constructs.project.precheck import RETAINED_CHECK_RESOURCE_TYPE
from ..constructs.sources.connection_repository import SEED_RESOURCE_TYPE

__all__ = [
    "CONNECTION_TYPES",
    "EVENTS_CONNECTION_LINKED_ROLE",
    "EVENTS_CONNECTION_SERVICE",
    "EVENTS_CONNECTION_TYPES",
    "LAMBDA_VPC_ACTIONS",
    "NO_PERMISSIONS", "PERMISSIONS", "STACK_ACTIONS", "TEMPLATE_ACTIONS", "Permissions"]


@dataclass(frozen=True)
class Permissions:
    """The launch role's part for one resource type: handler actions and where they apply."""

    #: IAM service prefix (groups statements).
    service: str
    #: Create, read and update handler actions.
    actions: tuple[str, ...]
    #: Delete handler actions: granted only when CloudFormation may delete such a resource.
    delete: tuple[str, ...] = ()
    #: Roles this type hands to a service (``iam:PassRole`` with ``iam:PassedToService``).
    passes_role_to: tuple[str, ...] = ()
    #: KMS actions the service (``service``) makes as the caller with the resource's key: granted
    #: only through that service (``kms:ViaService``).
    key_actions: tuple[str, ...] = ()
    #: Actions that IAM cannot scope to a resource (granted on ``*``).
    unscoped: tuple[str, ...] = ()


#: The read actions of ``AWS::S3::Bucket``'s handlers (all kept, see ``PERMISSIONS``).
_S3_READ = (
    "s3:GetAccelerateConfiguration", "s3:GetAnalyticsConfiguration", "s3:GetBucketAbac", "s3:GetBucketCORS",
    "s3:GetBucketLogging", "s3:GetBucketMetadataTableConfiguration", "s3:GetBucketNotification",
    "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls", "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration",
    "s3:GetIntelligentTieringConfiguration", "s3:GetInventoryConfiguration", "s3:GetLifecycleConfiguration",
    "s3:GetMetricsConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket", "s3:ListTagsForResource",
)

#: What ``AWS::Lambda::Function``'s handlers call for a function with ``VpcConfig`` (create and
#: update check its subnets and security groups; delete waits for its network interfaces):
#: granted, on ``*`` (EC2's Describe actions take no resource), only when a product template has such a function.
LAMBDA_VPC_ACTIONS = ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces")

#: What CloudFormation's handlers call, per resource type the templates use (create, read,
#: update; delete apart), from the resource schemas. Every read action is kept; left out, as
#: no template sets the property that needs it: S3 Tables, replication, inventory, analytics,
#: metrics, website, notification, accelerate, ABAC, object lock and metadata tables on
#: buckets; VPC (unless a template sets it: ``LAMBDA_VPC_ACTIONS``), EFS, code signing, scaling, capacity providers and customer keys on
#: functions; deliveries, resource, index and data-protection policies on log groups; user
#: and group policies and permissions boundaries in IAM; code connections in pipelines.
PERMISSIONS: dict[str, Permissions] = {
    "AWS::S3::Bucket": Permissions(
        "s3",
        (
            "s3:CreateBucket", "s3:GetBucketAcl", "s3:PutBucketAcl", "s3:PutBucketTagging", "s3:TagResource",
            "s3:UntagResource", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
            "s3:PutLifecycleConfiguration", "s3:PutBucketLogging", "s3:PutBucketVersioning",
            # (The handlers' DeleteBucketCors, DeleteBucketLifecycle and DeleteBucketEncryption
            # calls are authorized by the matching Put* action in IAM.)
            "s3:PutBucketOwnershipControls", "s3:PutBucketCORS", *_S3_READ,
        ),
        delete=("s3:DeleteBucket",),
    ),
    "AWS::S3::BucketPolicy": Permissions(
        "s3", ("s3:GetBucketPolicy", "s3:PutBucketPolicy"), delete=("s3:DeleteBucketPolicy",)
    ),
    "AWS::KMS::Key": Permissions(
        "kms",
        (
            "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:GetKeyRotationStatus", "kms:EnableKey",
            "kms:DisableKey", "kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:TagResource",
            "kms:UntagResource", "kms:ListResourceTags", "kms:UpdateKeyDescription",
        ),
        delete=("kms:ScheduleKeyDeletion",),
        unscoped=("kms:CreateKey",),
    ),
    "AWS::CodeCommit::Repository": Permissions(
        "codecommit",
        (
            "codecommit:CreateRepository", "codecommit:CreateCommit", "codecommit:GetRepository",
            "codecommit:GetRepositoryTriggers", "codecommit:PutRepositoryTriggers", "codecommit:TagResource",
            "codecommit:UntagResource", "codecommit:ListTagsForResource", "codecommit:UpdateRepositoryName",
            "codecommit:UpdateRepositoryDescription", "codecommit:UpdateRepositoryEncryptionKey",
        ),
        delete=("codecommit:DeleteRepository",),
        # CodeCommit encrypts the first commit with the repository's customer key as the caller.
        key_actions=("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
        unscoped=("codecommit:ListRepositories",),
    ),
    "AWS::ECR::Repository": Permissions(
        "ecr",
        (
            "ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy",
            "ecr:DeleteLifecyclePolicy", "ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy",
            "ecr:DeleteRepositoryPolicy", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability",
            "ecr:TagResource", "ecr:UntagResource", "ecr:ListTagsForResource",
        ),
        delete=("ecr:DeleteRepository",),
        # A repository encrypted with a customer key: ECR creates (and on deletion retires) its
        # grant on the key as the caller.
        key_actions=("kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"),
    ),
    "AWS::SageMaker::Image": Permissions(
        "sagemaker",
        (
            "sagemaker:CreateImage", "sagemaker:DescribeImage", "sagemaker:UpdateImage", "sagemaker:AddTags",
            "sagemaker:DeleteTags", "sagemaker:ListTags",
        ),
        delete=("sagemaker:DeleteImage",),
        passes_role_to=("sagemaker.amazonaws.com",),
    ),
    "AWS::CodeBuild::Project": Permissions(
        # A legacy resource type: no schema; the calls of its handler.
        "codebuild",
        ("codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:BatchGetProjects"),
        delete=("codebuild:DeleteProject",),
        passes_role_to=("codebuild.amazonaws.com",),
    ),
    "AWS::CodePipeline::Pipeline": Permissions(
        "codepipeline",
        (
            "codepipeline:CreatePipeline", "codepipeline:GetPipeline", "codepipeline:GetPipelineState",
            "codepipeline:UpdatePipeline", "codepipeline:StartPipelineExecution",
            "codepipeline:EnableStageTransition", "codepipeline:DisableStageTransition", "codepipeline:TagResource",
            "codepipeline:UntagResource", "codepipeline:ListTagsForResource",
        ),
        delete=("codepipeline:DeletePipeline",),
        passes_role_to=("codepipeline.amazonaws.com",),
    ),
    "AWS::Events::Rule": Permissions(
        "events",
        (
            "events:PutRule", "events:DescribeRule", "events:PutTargets", "events:RemoveTargets",
            "events:ListTargetsByRule", "events:TagResource", "events:UntagResource", "events:ListTagsForResource",
        ),
        delete=("events:DeleteRule",),
        passes_role_to=("events.amazonaws.com",),
    ),
    "AWS::IAM::Role": Permissions(
        "iam",
        (
            "iam:CreateRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
            "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:GetRolePolicy",
            "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
            "iam:ListAttachedRolePolicies",
        ),
        delete=("iam:DeleteRole",),
    ),
    "AWS::IAM::Policy": Permissions("iam", ("iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy")),
    "AWS::IAM::ManagedPolicy": Permissions(
        "iam",
        (
            "iam:CreatePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
            "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:ListEntitiesForPolicy",
            "iam:AttachRolePolicy", "iam:DetachRolePolicy",
        ),
        delete=("iam:DeletePolicy",),
    ),
    "AWS::Lambda::Function": Permissions(
        "lambda",
        (
            "lambda:CreateFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency",
            "lambda:TagResource", "lambda:UntagResource", "lambda:PublishVersion", "lambda:GetLayerVersion",
            "lambda:GetRuntimeManagementConfig", "lambda:PutRuntimeManagementConfig",
            "lambda:GetFunctionCodeSigningConfig", "lambda:GetCodeSigningConfig", "lambda:GetFunctionRecursionConfig",
            "lambda:PutFunctionRecursionConfig", "lambda:GetFunctionScalingConfig",
        ),
        delete=("lambda:DeleteFunction",),
        passes_role_to=("lambda.amazonaws.com",),
    ),
    # The trigger's function in build-deploy-jenkins's VPC variant: EventBridge may invoke it, and
    # its asynchronous invocations retry and fail to a queue.
    "AWS::Lambda::Permission": Permissions(
        "lambda", ("lambda:AddPermission", "lambda:GetPolicy"), delete=("lambda:RemovePermission",)
    ),
    "AWS::Lambda::EventInvokeConfig": Permissions(
        "lambda",
        (
            "lambda:PutFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig",
            "lambda:UpdateFunctionEventInvokeConfig",
        ),
        delete=("lambda:DeleteFunctionEventInvokeConfig",),
    ),
    "AWS::Lambda::LayerVersion": Permissions(
        "lambda", ("lambda:PublishLayerVersion", "lambda:GetLayerVersion"), delete=("lambda:DeleteLayerVersion",)
    ),
    "AWS::Logs::LogGroup": Permissions(
        "logs",
        (
            "logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
            "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource",
            "logs:ListTagsForResource", "logs:GetDataProtectionPolicy", "logs:DescribeIndexPolicies",
        ),
        delete=("logs:DeleteLogGroup",),
        # The read handler lists the account's resource policies.
        unscoped=("logs:DescribeResourcePolicies",),
    ),
    "AWS::SageMaker::ModelPackageGroup": Permissions(
        "sagemaker",
        (
            "sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackageGroup",
            "sagemaker:GetModelPackageGroupPolicy", "sagemaker:PutModelPackageGroupPolicy",
            "sagemaker:DeleteModelPackageGroupPolicy", "sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags",
        ),
        delete=("sagemaker:DeleteModelPackageGroup",),
    ),
    # A project's association with a repository on a Git host (Studio lists it under the project).
    "AWS::SageMaker::CodeRepository": Permissions(
        "sagemaker",
        (
            "sagemaker:CreateCodeRepository", "sagemaker:DescribeCodeRepository", "sagemaker:UpdateCodeRepository",
            "sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags",
        ),
        delete=("sagemaker:DeleteCodeRepository",),
    ),
    "AWS::SNS::Topic": Permissions(
        "sns",
        (
            "sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
            "sns:Unsubscribe", "sns:ListSubscriptionsByTopic", "sns:TagResource", "sns:UntagResource",
            "sns:ListTagsForResource", "sns:GetDataProtectionPolicy",
        ),
        delete=("sns:DeleteTopic",),
    ),
    "AWS::SNS::TopicPolicy": Permissions("sns", ("sns:SetTopicAttributes",)),
    "AWS::SNS::Subscription": Permissions(
        "sns",
        ("sns:Subscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"),
        delete=("sns:Unsubscribe",),
    ),
    "AWS::CloudWatch::Dashboard": Permissions(
        "cloudwatch",
        (
            "cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:TagResource",
            "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource",
        ),
        delete=("cloudwatch:DeleteDashboards",),
    ),
    "AWS::CloudWatch::Alarm": Permissions(
        "cloudwatch",
        (
            "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:TagResource",
            "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource",
        ),
        delete=("cloudwatch:DeleteAlarms",),
    ),
    "AWS::SQS::Queue": Permissions(
        "sqs",
        (
            "sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:TagQueue",
            "sqs:UntagQueue", "sqs:ListQueueTags",
        ),
        delete=("sqs:DeleteQueue",),
    ),
    "AWS::SQS::QueuePolicy": Permissions("sqs", ("sqs:SetQueueAttributes",)),
    # EventBridge keeps a connection's credentials in a secret of its own (events!connection/...),
    # created and updated as the caller (see LaunchRole's EventBridgeConnectionSecrets).
    "AWS::Events::Connection": Permissions(
        "events",
        ("events:CreateConnection", "events:DescribeConnection", "events:UpdateConnection"),
        delete=("events:DeleteConnection",),
    ),
    "AWS::Events::ApiDestination": Permissions(
        "events",
        ("events:CreateApiDestination", "events:DescribeApiDestination", "events:UpdateApiDestination"),
        delete=("events:DeleteApiDestination",),
    ),
    # aws-cdk-lib's BucketDeployment: CloudFormation invokes its function as the caller.
    "Custom::CDKBucketDeployment": Permissions("lambda", ("lambda:InvokeFunction",)),
    DATASET_RESOURCE_TYPE: Permissions("lambda", ("lambda:InvokeFunction",)),
    RETAINED_CHECK_RESOURCE_TYPE: Permissions("lambda", ("lambda:InvokeFunction",)),
    STAGE_TEARDOWN_RESOURCE_TYPE: Permissions("lambda", ("lambda:InvokeFunction",)),
    SEED_RESOURCE_TYPE: Permissions("lambda", ("lambda:InvokeFunction",)),
}

#: Resource types whose presence means a pipeline's source is a CodeConnections connection:
#: CodePipeline's CreatePipeline and UpdatePipeline then check that the caller may pass the
#: connection (``PassConnection``, both prefixes) to CodePipeline.
CONNECTION_TYPES = frozenset({"AWS::SageMaker::CodeRepository"})

#: Resource types whose credentials CloudFormation resolves from a secret the user names
#: (``{{resolve:secretsmanager:...}}``) and EventBridge copies into a secret of its own.
EVENTS_CONNECTION_TYPES = frozenset({"AWS::Events::Connection"})
#: EventBridge's service-linked role for API destinations (created by the first connection).
EVENTS_CONNECTION_SERVICE = "apidestinations.events.amazonaws.com"
EVENTS_CONNECTION_LINKED_ROLE = f"aws-service-role/{EVENTS_CONNECTION_SERVICE}/AWSServiceRoleForAmazonEventBridgeApiDestinations"

#: Resource types that only document a stack or order its resources (no API call): a wait
#: condition handle is CloudFormation's own (a resource waits on it for a conditional policy).
NO_PERMISSIONS = frozenset({"AWS::CDK::Metadata", "AWS::CloudFormation::WaitConditionHandle"})

#: What Service Catalog itself does with the launch role: run the product's stack.
STACK_ACTIONS = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:SetStackPolicy",
)
#: Service Catalog's template checks: no resource type in IAM.
TEMPLATE_ACTIONS = ("cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate")
