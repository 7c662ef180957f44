"""ARN patterns the baseline's roles share (any region: a target account's stages may be in
any region the tooling side names, and IAM roles are global)."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Aws, Fn, Stack

from ..deploy.targets import STAGE_DATA_BUCKET_PREFIX, STAGE_LOG_BUCKET_PREFIX
from ..project.identity import PROJECT_ID_TAG

#: The stage stacks a tooling account's deploy pipelines create: ``sagemaker-<name>-<id>-deploy-<stage>``.
STAGE_STACK_NAMES = "sagemaker-*-deploy-*"
#: The monitor stage stacks a tooling account's monitor pipelines create: ``sagemaker-<name>-<id>-monitor-<stage>``.
MONITOR_STACK_NAMES = "sagemaker-*-monitor-*"
#: The buckets a stage stack creates in a target account (its captured data and their access
#: logs): ``<prefix><stack uuid>``, never SageMaker's default or another ``sagemaker-*`` bucket.
STAGE_BUCKET_NAMES = (f"{STAGE_DATA_BUCKET_PREFIX}*", f"{STAGE_LOG_BUCKET_PREFIX}*")
#: The captured-data buckets alone.
STAGE_DATA_BUCKET_NAMES = f"{STAGE_DATA_BUCKET_PREFIX}*"
#: Present on every resource a SageMaker project's stacks create (tagged by ``ProjectIdentity``).
PROJECT_TAGGED = {"Null": {f"aws:ResourceTag/{PROJECT_ID_TAG}": "false"}}
#: Required on every SageMaker resource and key the deployer creates.
PROJECT_TAG_REQUESTED = {"Null": {f"aws:RequestTag/{PROJECT_ID_TAG}": "false"}}
#: A resource of this account (the account the baseline is deployed in).
IN_THIS_ACCOUNT = {"StringEquals": {"aws:ResourceAccount": Aws.ACCOUNT_ID}}


def compact(stack: Stack, value: str) -> str:
    """``value`` as one ``Fn::Sub`` when it joins literal text with references only (pseudo
    parameters, parameters): the same string at deployment, in a fraction of the template's
    bytes (``Fn::Join`` spreads over a dozen lines as CDK writes templates). The baseline's
    template must stay within the 51,200 bytes CloudFormation takes inline."""
    resolved: Any = stack.resolve(value)
    if not (isinstance(resolved, dict) and set(resolved) == {"Fn::Join"} and resolved["Fn::Join"][0] == ""):
        return value
    text = ""
    for part in resolved["Fn::Join"][1]:
        if isinstance(part, str) and "${" not in part:
            text += part
        elif isinstance(part, dict) and set(part) == {"Ref"} and isinstance(part["Ref"], str):
            text += "${" + part["Ref"] + "}"
        else:
            return value
    return Fn.sub(text)


def regional(stack: Stack, service: str, resource: str, name: str, *, account: str = Aws.ACCOUNT_ID,
             arn_format: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME) -> str:
    """``arn:<partition>:<service>:*:<account>:<resource>/<name>`` (any region)."""
    return compact(stack, stack.format_arn(service=service, region="*", account=account, resource=resource,
                                           resource_name=name, arn_format=arn_format))


def iam_arn(stack: Stack, resource: str, name: str) -> str:
    """``arn:<partition>:iam::<this account>:<resource>/<name>``."""
    return compact(stack, stack.format_arn(service="iam", region="", resource=resource, resource_name=name))


def s3_arn(stack: Stack, name: str) -> str:
    """``arn:<partition>:s3:::<name>`` (buckets and objects have neither region nor account)."""
    return compact(stack, f"arn:{stack.partition}:s3:::{name}")


def via_s3(stack: Stack) -> dict[str, dict[str, str]]:
    """KMS used only by S3 (in any region), on an object's behalf."""
    return {"StringLike": {"kms:ViaService": compact(stack, f"s3.*.{stack.url_suffix}")}}
