"""Record the AWS API calls seed code makes, and turn them into the IAM requests they need.

``install(path)`` wraps botocore's ``BaseClient._make_api_call`` (every client call, including
paginated pages and failed calls) and appends one JSON line per call to ``path``: service,
operation, region, the request parameters (bodies left out) and the few response fields that
decide what else IAM checks (an object's KMS key). In a seed script's subprocess it is
activated by ``call_recording/sitecustomize.py`` (``recording_env``); in the test process by
``install`` itself.

``iam_requests(call, account)`` maps one recorded call to what IAM evaluates for it: the
action (``sagemaker:ListModelPackages``, ``s3:GetObject``), the resource ARN built from the
parameters (``arn:aws:s3:::bucket/key``), the request context, and the requests AWS makes on
the caller's behalf (``kms:Decrypt`` via S3 for an SSE-KMS object, ``iam:PassRole`` for a
pipeline's role, ``sagemaker:AddTags`` for tags on create). An operation not mapped here
raises, so new seed calls are noticed.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

HERE = Path(__file__).resolve().parent
#: Response fields kept: they decide which KMS key S3 uses on the caller's behalf.
_RESPONSE_FIELDS = ("ServerSideEncryption", "SSEKMSKeyId")
_lock = threading.Lock()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "Body"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def install(path: str | os.PathLike[str]) -> Any:
    """Record every botocore call of this process to ``path``; returns a function that undoes it."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def record(client: Any, operation: str, params: Any) -> Any:
        entry: dict[str, Any] = {
            "service": client.meta.service_model.service_name,
            "operation": operation,
            "region": client.meta.region_name,
            "params": _plain(params),
        }
        try:
            response = original(client, operation, params)
        except Exception as error:
            entry["error"] = type(error).__name__
            _write(path, entry)
            raise
        entry["response"] = {k: response[k] for k in _RESPONSE_FIELDS if isinstance(response, dict) and k in response}
        _write(path, entry)
        return response

    botocore.client.BaseClient._make_api_call = record

    def uninstall() -> None:
        botocore.client.BaseClient._make_api_call = original

    return uninstall


def _write(path: str | os.PathLike[str], entry: dict[str, Any]) -> None:
    with _lock, open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, sort_keys=True) + "\n")


def recording_env(env: Mapping[str, str], log: Path) -> dict[str, str]:
    """``env`` for a seed script's subprocess whose AWS calls are recorded to ``log``."""
    path = [str(HERE / "call_recording"), *filter(None, [env.get("PYTHONPATH")])]
    return {**env, "SEED_AWS_CALL_LOG": str(log), "PYTHONPATH": os.pathsep.join(path)}


def read_calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []


@dataclass(frozen=True)
class IamRequest:
    """One authorization IAM makes for a call: action, resource, request context."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    #: The recorded call it comes from, for failure messages.
    call: str = ""


def _sagemaker_arn(region: str, account: str, kind: str, name: str) -> str:
    # SageMaker lower-cases resource names in ARNs (not model package versions).
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


def _kms_arn(key: str, region: str, account: str) -> str:
    return key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account}:key/{key}"


def _tag_context(tags: Any) -> dict[str, Any]:
    context: dict[str, Any] = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in tags or []}
    if tags:
        context["aws:TagKeys"] = [t["Key"] for t in tags]
    return context


def iam_requests(call: Mapping[str, Any], account: str) -> list[IamRequest]:
    """What IAM authorizes for one recorded call (see the module's docstring)."""
    service, operation, region, params = call["service"], call["operation"], call["region"], call["params"]
    response = call.get("response", {})
    label = f"{service} {operation}"
    requests: list[IamRequest] = []

    def add(action: str, resource: str, context: Optional[Mapping[str, Any]] = None) -> None:
        requests.append(IamRequest(action, resource, dict(context or {}), label))

    via_s3 = {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": account}
    if service == "s3":
        bucket = params["Bucket"]
        if operation in ("GetObject", "HeadObject"):
            add("s3:GetObject", f"arn:aws:s3:::{bucket}/{params['Key']}")
            if response.get("ServerSideEncryption") == "aws:kms":
                add("kms:Decrypt", _kms_arn(response["SSEKMSKeyId"], region, account), via_s3)
        elif operation == "PutObject":
            add("s3:PutObject", f"arn:aws:s3:::{bucket}/{params['Key']}")
            key = params.get("SSEKMSKeyId") or (response.get("ServerSideEncryption") == "aws:kms" and response.get("SSEKMSKeyId"))
            if key:
                add("kms:GenerateDataKey", _kms_arn(key, region, account), via_s3)
            if params.get("Tagging"):
                add("s3:PutObjectTagging", f"arn:aws:s3:::{bucket}/{params['Key']}")
        elif operation in ("ListObjectsV2", "ListObjects", "HeadBucket"):
            add("s3:ListBucket", f"arn:aws:s3:::{bucket}")
        elif operation == "CopyObject":
            requests.extend(copy_object_requests(params, region, account, call=label))
        elif operation == "DeleteObject":
            add("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{params['Key']}")
        else:
            raise KeyError(f"no IAM mapping for {label}")
    elif service in ("sagemaker", "sagemaker-runtime"):
        by_name = {
            "DescribeEndpoint": ("endpoint", "EndpointName"),
            "InvokeEndpoint": ("endpoint", "EndpointName"),
            "DescribeEndpointConfig": ("endpoint-config", "EndpointConfigName"),
            "DescribeModel": ("model", "ModelName"),
            "DescribePipeline": ("pipeline", "PipelineName"),
            "StartPipelineExecution": ("pipeline", "PipelineName"),
            "CreatePipeline": ("pipeline", "PipelineName"),
            "UpdatePipeline": ("pipeline", "PipelineName"),
        }
        if operation in by_name:
            kind, parameter = by_name[operation]
            resource = _sagemaker_arn(region, account, kind, params[parameter])
            add(f"sagemaker:{operation}", resource, _tag_context(params.get("Tags")) if operation == "CreatePipeline" else None)
            if params.get("RoleArn"):
                add("iam:PassRole", params["RoleArn"], {"iam:PassedToService": "sagemaker.amazonaws.com"})
            if operation == "CreatePipeline" and params.get("Tags"):
                # Tags given on create are authorized as AddTags too.
                add("sagemaker:AddTags", resource, _tag_context(params["Tags"]))
        elif operation == "DescribeModelPackageGroup":
            # Model package (group) names keep their case in ARNs.
            add("sagemaker:DescribeModelPackageGroup", f"arn:aws:sagemaker:{region}:{account}:model-package-group/{params['ModelPackageGroupName']}")
        elif operation == "DescribeModelPackage":
            name = params["ModelPackageName"]
            add("sagemaker:DescribeModelPackage", name if name.startswith("arn:") else f"arn:aws:sagemaker:{region}:{account}:model-package/{name}")
        elif operation == "ListModelPackages":
            add("sagemaker:ListModelPackages", "*")
        elif operation in ("DescribePipelineExecution", "ListPipelineExecutionSteps", "StopPipelineExecution"):
            add(f"sagemaker:{operation}", params["PipelineExecutionArn"])
        elif operation in ("ListTags", "AddTags"):
            add(f"sagemaker:{operation}", params["ResourceArn"], _tag_context(params.get("Tags")))
        else:
            raise KeyError(f"no IAM mapping for {label}")
    elif service == "cloudformation" and operation in ("DescribeStacks", "DeleteStack"):
        name = params["StackName"]
        # IAM authorizes against the stack's ARN, which ends with the id CloudFormation generated.
        add(f"cloudformation:{operation}", name if name.startswith("arn:") else f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{SAMPLE_STACK_ID}")
        if params.get("RoleARN"):
            add("iam:PassRole", params["RoleARN"], {"iam:PassedToService": "cloudformation.amazonaws.com"})
    elif service == "codecommit" and operation == "GetRepository":
        add("codecommit:GetRepository", f"arn:aws:codecommit:{region}:{account}:{params['repositoryName']}")
    elif service == "ecr" and operation == "DescribeRepositories":
        # One authorization per named repository (the account's registry unless registryId says).
        registry = params.get("registryId") or account
        for name in params.get("repositoryNames") or []:
            add("ecr:DescribeRepositories", f"arn:aws:ecr:{region}:{registry}:repository/{name}")
        if not params.get("repositoryNames"):
            add("ecr:DescribeRepositories", f"arn:aws:ecr:{region}:{registry}:repository/*")
    elif service == "codepipeline" and operation == "ListActionExecutions":
        add("codepipeline:ListActionExecutions", f"arn:aws:codepipeline:{region}:{account}:{params['pipelineName']}")
    elif service == "events" and operation == "PutEvents":
        # One authorization per entry, with its source and detail-type as condition keys.
        for entry in params["Entries"]:
            bus = entry.get("EventBusName") or "default"
            add(
                "events:PutEvents",
                bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}",
                {"events:source": entry["Source"], "events:detail-type": entry["DetailType"]},
            )
    else:
        raise KeyError(f"no IAM mapping for {label}")
    return requests


#: The generated part of a sample stack ARN.
SAMPLE_STACK_ID = "11111111-2222-3333-4444-555555555555"


def copy_object_requests(
    params: Mapping[str, Any],
    region: str,
    account: str,
    *,
    source_key: Optional[str] = None,
    bucket_keys: bool = False,
    call: str = "s3 CopyObject",
) -> list[IamRequest]:
    """What IAM authorizes for one ``CopyObject`` (S3 API reference, CopyObject: read access to
    the source, write access to the destination).

    - ``s3:GetObject`` on the source object, and ``s3:GetObjectTagging`` when its tags are
      copied (``TaggingDirective`` COPY, the default);
    - ``s3:PutObject`` on the destination, and ``s3:PutObjectTagging`` when tags are given;
    - ``kms:Decrypt`` of ``source_key`` (an SSE-KMS source) and ``kms:GenerateDataKey`` of
      ``SSEKMSKeyId``, both by S3 on the caller's behalf, with the object's ARN (the bucket's,
      with S3 Bucket Keys) as the encryption context ``aws:s3:arn``.
    """
    source = str(params["CopySource"]).lstrip("/")
    source_bucket, source_object = source.split("/", 1)
    source_arn = f"arn:aws:s3:::{source_bucket}/{source_object}"
    destination_arn = f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"
    found = [IamRequest("s3:GetObject", source_arn, {}, call)]
    if params.get("TaggingDirective", "COPY") == "COPY":
        found.append(IamRequest("s3:GetObjectTagging", source_arn, {}, call))
    found.append(IamRequest("s3:PutObject", destination_arn, {}, call))
    if params.get("Tagging"):
        found.append(IamRequest("s3:PutObjectTagging", destination_arn, {}, call))

    def context(arn: str) -> dict[str, Any]:
        bucket_arn = arn.split("/", 1)[0]
        return {
            "kms:ViaService": f"s3.{region}.amazonaws.com",
            "kms:CallerAccount": account,
            "kms:EncryptionContext:aws:s3:arn": bucket_arn if bucket_keys else arn,
        }

    if source_key:
        found.append(IamRequest("kms:Decrypt", _kms_arn(source_key, region, account), context(source_arn), call))
    if params.get("ServerSideEncryption") == "aws:kms":
        found.append(IamRequest("kms:GenerateDataKey", _kms_arn(params["SSEKMSKeyId"], region, account), context(destination_arn), call))
    return found
