"""ARN patterns the baseline's roles share (any region: a target account's stages may be in
any region the tooling side names, and IAM roles are global)."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Stack

from ..deploy.deployer_role import stage_iam_path
from ..project.identity import PROJECT_ID_TAG

#: The stage stacks a tooling account's deploy pipelines create: ``sagemaker-<name>-<id>-deploy-<stage>``.
STAGE_STACK_NAMES = "sagemaker-*-deploy-*"
#: Buckets a stage stack may create (data capture): CloudFormation names them after the
#: stage stack (``sagemaker-...``, lower case), as SageMaker's own buckets are named.
STAGE_BUCKET_NAMES = "sagemaker-*"
#: The IAM path of the roles and policies every project's stage stacks create (``/sagemaker-projects/<id>/``).
STAGE_IAM_PATHS = stage_iam_path("*").strip("/")
#: Present on every resource a SageMaker project's stacks create (tagged by ``ProjectIdentity``).
PROJECT_TAGGED = {"Null": {f"aws:ResourceTag/{PROJECT_ID_TAG}": "false"}}
#: Required on every SageMaker resource the deployer creates.
PROJECT_TAG_REQUESTED = {"Null": {f"aws:RequestTag/{PROJECT_ID_TAG}": "false"}}


def regional(stack: Stack, service: str, resource: str, name: str, *, account: str = Aws.ACCOUNT_ID,
             arn_format: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME) -> str:
    """``arn:<partition>:<service>:*:<account>:<resource>/<name>`` (any region)."""
    return stack.format_arn(service=service, region="*", account=account, resource=resource, resource_name=name,
                            arn_format=arn_format)


def iam_arn(stack: Stack, resource: str, name: str) -> str:
    """``arn:<partition>:iam::<this account>:<resource>/<name>``."""
    return stack.format_arn(service="iam", region="", resource=resource, resource_name=name)


def s3_arn(stack: Stack, name: str) -> str:
    """``arn:<partition>:s3:::<name>`` (buckets and objects have neither region nor account)."""
    return f"arn:{stack.partition}:s3:::{name}"


def via_s3(stack: Stack) -> dict[str, dict[str, str]]:
    """KMS used only by S3 (in any region), on an object's behalf."""
    return {"StringLike": {"kms:ViaService": f"s3.*.{stack.url_suffix}"}}
