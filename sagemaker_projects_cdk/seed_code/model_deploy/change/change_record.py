"""Change record of the model-deploy pipeline: one event on the default event bus per deployment.

Runs in CodeBuild (``change/buildspec.yml``) twice around the deployment of a stage that
records changes (by default prod, the last), from the build action's output artifact, with
boto3 only:

1. ``--snapshot``, right before the deployment, in the same pipeline stage: prints the
   version the stage's stack serves now (its ``ModelPackageArn`` parameter; ``none`` before
   its first deployment), which the buildspec exports as ``PREVIOUS_MODEL_PACKAGE_ARN`` for
   the pipeline (read then, not at build time: another execution may deploy in between);
2. right after the deployment: reads ``<stage>-change.json`` (written by ``build.py``: the
   stack, the endpoint and the version deployed) and ``PREVIOUS_MODEL_PACKAGE_ARN``, finds
   the manual approval before the stage in this pipeline execution
   (``codepipeline:ListActionExecutions``: who approved, when, their comment), and puts one
   event on the account's default event bus:

- ``source``: ``sagemaker-projects-cdk``
- ``detail-type``: ``SageMaker Project Model Deployment``
- ``resources``: the model package ARN deployed
- ``detail``: see ``change_detail`` and the README.

An approval that cannot be found (the stage needs one, but this execution has no succeeded
approval action of that name) still gives an event, with ``approval.status`` ``NotFound``
and no approver, and a warning in the log: the deployment happened, and a change-management
integration should see it and can flag it. A failed AWS call or a refused event fails the
step.

Environment (the pipeline sets it): ``SAGEMAKER_PROJECT_NAME``, ``SAGEMAKER_PROJECT_ID``,
``STAGE_NAME``, ``PIPELINE_NAME``, ``PIPELINE_EXECUTION_ID`` (required); ``APPROVAL_STAGE``
and ``APPROVAL_ACTION``, the pipeline stage and action of the approval before this stage
(unset: the stage needs no approval); ``STAGE_ROLE_ARN``, the role the snapshot assumes to
read the stage's stack when the stage is in another account (unset or empty: this account);
``AWS_REGION`` (boto3's region).

Usage: ``python change/change_record.py [--snapshot] [--change <stage>-change.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Optional

SOURCE = "sagemaker-projects-cdk"
DETAIL_TYPE = "SageMaker Project Model Deployment"
REQUIRED_ENVIRONMENT = {
    "SAGEMAKER_PROJECT_NAME": "the SageMaker project name",
    "SAGEMAKER_PROJECT_ID": "the SageMaker project id",
    "STAGE_NAME": "the stage just deployed",
    "PIPELINE_NAME": "the deploy pipeline's name",
    "PIPELINE_EXECUTION_ID": "the pipeline execution that deployed it (#{codepipeline.PipelineExecutionId})",
}
#: What ``--snapshot`` prints when the stage serves no version yet.
NO_VERSION = "none"
#: Stack states in which a stage stack serves no endpoint yet (its first deployment failed or
#: is under way): there is no previous version.
NEVER_DEPLOYED = frozenset(
    {"CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"}
)
#: ``arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>``
VERSIONED_PACKAGE = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/([^/]+)/([0-9]+)")


class ChangeRecordError(Exception):
    """A problem that leaves the deployment unrecorded; the message says what to do."""


def package_version(arn: Optional[str]) -> tuple[Optional[str], Optional[int]]:
    """(group name, version number) of a versioned model package ARN; (None, None) otherwise."""
    match = VERSIONED_PACKAGE.fullmatch(arn or "")
    return (match.group(1), int(match.group(2))) if match else (None, None)


def _iso(value: Any) -> Optional[str]:
    return value.isoformat() if isinstance(value, datetime) else value


def find_approval(codepipeline: Any, pipeline: str, execution_id: str, stage: str, action: str) -> dict[str, Any]:
    """The latest succeeded execution of approval ``stage``/``action`` in ``execution_id``."""
    approvals = []
    for page in codepipeline.get_paginator("list_action_executions").paginate(
        pipelineName=pipeline, filter={"pipelineExecutionId": execution_id}
    ):
        approvals += [
            detail
            for detail in page.get("actionExecutionDetails", [])
            if detail.get("stageName") == stage and detail.get("actionName") == action and detail.get("status") == "Succeeded"
        ]
    if not approvals:
        return {"required": True, "status": "NotFound", "approvedBy": None, "approvedAt": None, "summary": None}
    latest = max(approvals, key=lambda detail: detail.get("lastUpdateTime") or datetime.min)
    result = (latest.get("output") or {}).get("executionResult") or {}
    return {
        "required": True,
        "status": "Approved",
        "approvedBy": latest.get("updatedBy"),
        "approvedAt": _iso(latest.get("lastUpdateTime")),
        "summary": result.get("externalExecutionSummary"),
    }


def deployed_package(cloudformation: Any, stack_name: str) -> Optional[str]:
    """The model package ARN stack ``stack_name`` serves now (its ``ModelPackageArn``
    parameter), or None when the stack does not exist or never deployed."""
    from botocore.exceptions import ClientError

    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        message = error.response["Error"]["Message"]
        if "does not exist" in message:
            return None
        raise ChangeRecordError(f"cannot read stack {stack_name!r} for the version it serves before this deployment: {message}") from error
    if stack["StackStatus"] in NEVER_DEPLOYED:
        return None
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    return parameters.get("ModelPackageArn") or None


def snapshot(change_file: Path, environ: Mapping[str, str], cloudformation: Any) -> str:
    """The version the stage's stack serves before the deployment, or ``NO_VERSION``."""
    change = read_change(change_file, read_environment(environ, snapshot=True)["STAGE_NAME"])
    return deployed_package(cloudformation, change["stack_name"]) or NO_VERSION


def change_detail(env: Mapping[str, str], change: Mapping[str, Any], approval: Mapping[str, Any]) -> dict[str, Any]:
    """The event's detail: what was deployed where, what it replaced, who approved it."""
    group, version = package_version(change["model_package_arn"])
    _, previous_version = package_version(change.get("previous_model_package_arn"))
    return {
        "projectName": env["SAGEMAKER_PROJECT_NAME"],
        "projectId": env["SAGEMAKER_PROJECT_ID"],
        "stage": env["STAGE_NAME"],
        "stackName": change["stack_name"],
        "endpointName": change["endpoint_name"],
        "modelPackageGroupName": group,
        "modelPackageArn": change["model_package_arn"],
        "modelPackageVersion": version,
        "previousModelPackageArn": change.get("previous_model_package_arn"),
        "previousModelPackageVersion": previous_version,
        # A re-run or a configuration-only change deploys the version the stage served already.
        "versionChanged": change["model_package_arn"] != change.get("previous_model_package_arn"),
        "pipelineName": env["PIPELINE_NAME"],
        "pipelineExecutionId": env["PIPELINE_EXECUTION_ID"],
        "approval": dict(approval),
    }


def read_environment(environ: Mapping[str, str], *, snapshot: bool = False) -> dict[str, str]:
    required = {"STAGE_NAME": REQUIRED_ENVIRONMENT["STAGE_NAME"]} if snapshot else REQUIRED_ENVIRONMENT
    missing = [f"{name} ({what})" for name, what in required.items() if not environ.get(name)]
    if missing:
        raise ChangeRecordError("missing environment: " + ", ".join(missing) + "; the pipeline's change-record action sets them")
    return {name: environ[name] for name in (*REQUIRED_ENVIRONMENT, "APPROVAL_STAGE", "APPROVAL_ACTION") if environ.get(name)}


def read_change(path: Path, stage: str) -> dict[str, Any]:
    try:
        change = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ChangeRecordError(
            f"{path} cannot be read ({error}); build.py writes it for each stage in CHANGE_RECORD_STAGES"
        ) from error
    if change.get("stage") != stage or not change.get("model_package_arn"):
        raise ChangeRecordError(f"{path} is not the change of stage {stage!r}: {change!r}")
    return change


def record(change_file: Path, environ: Mapping[str, str], codepipeline: Any, events: Any) -> dict[str, Any]:
    """Put the change record of ``change_file``; returns the PutEvents entry."""
    env = read_environment(environ)
    if "PREVIOUS_MODEL_PACKAGE_ARN" not in environ:
        raise ChangeRecordError(
            "missing environment: PREVIOUS_MODEL_PACKAGE_ARN (the version the stage served before the deployment, "
            "exported by this script's --snapshot step); the pipeline's change-record action sets it"
        )
    previous = environ["PREVIOUS_MODEL_PACKAGE_ARN"].strip()
    change = {
        **read_change(change_file, env["STAGE_NAME"]),
        "previous_model_package_arn": None if previous in ("", NO_VERSION) else previous,
    }
    if "APPROVAL_STAGE" in env and "APPROVAL_ACTION" in env:
        approval = find_approval(
            codepipeline, env["PIPELINE_NAME"], env["PIPELINE_EXECUTION_ID"], env["APPROVAL_STAGE"], env["APPROVAL_ACTION"]
        )
        if approval["status"] == "NotFound":
            print(
                f"change_record.py: warning: no succeeded approval {env['APPROVAL_STAGE']}/{env['APPROVAL_ACTION']} in "
                f"execution {env['PIPELINE_EXECUTION_ID']} of pipeline {env['PIPELINE_NAME']}; recording the deployment "
                "with approval status NotFound",
                file=sys.stderr,
            )
    else:
        approval = {"required": False, "status": "NotRequired", "approvedBy": None, "approvedAt": None, "summary": None}
    entry = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Resources": [change["model_package_arn"]],
        "Detail": json.dumps(change_detail(env, change, approval), sort_keys=True),
    }
    result = events.put_events(Entries=[entry])
    if result.get("FailedEntryCount"):
        (failed,) = result["Entries"]
        raise ChangeRecordError(f"EventBridge refused the change record: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
    return entry


def _stage_session(session: Any, role_arn: Optional[str]) -> Any:
    """``session``, or one with ``role_arn`` assumed (the stage's account) when it is not empty."""
    if not role_arn:
        return session
    import boto3

    credentials = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="change-record")["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=session.region_name,
    )


def main(argv: Optional[list[str]] = None, environ: Optional[Mapping[str, str]] = None, session: Any = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--change", type=Path, help="the stage's change file (default: <STAGE_NAME>-change.json)")
    parser.add_argument(
        "--snapshot", action="store_true", help="print the version the stage serves before its deployment, and exit"
    )
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    change_file = args.change or Path(f"{environ.get('STAGE_NAME', '')}-change.json")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.session.Session()
    try:
        if args.snapshot:
            # The stage's stack is in the stage's account: read it with the role the pipeline names there.
            print(snapshot(change_file, environ, _stage_session(session, environ.get("STAGE_ROLE_ARN")).client("cloudformation")))
            return 0
        entry = record(change_file, environ, session.client("codepipeline"), session.client("events"))
    except ChangeRecordError as error:
        print(f"change_record.py: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"change_record.py: the deployment was not recorded: {error}", file=sys.stderr)
        return 1
    print(f"change_record.py: put {entry['DetailType']!r} from {entry['Source']!r}: {entry['Detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
