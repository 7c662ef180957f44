"""The project's lifecycle custom resources, run by AWS Lambda's Python runtime (boto3 included).

``teardown``  (``Custom::StageTeardown``): on Delete while the project stack itself is being
    deleted, deletes the project's endpoint stage stacks (``StackNames``) with the current
    deployer role (``DeployerRoleArn``) and waits until they are gone; stacks that do not exist
    are skipped. CloudFormation also sends Delete when it rolls back an update that added the
    resource, or cleans up after a replacement: then the stage stacks (prod's endpoint) stay.
``precheck``  (``Custom::RetainedResourceCheck``): on Create, fails with what to do when a
    fixed-name resource that the template retains on deletion (``RepositoryNames``,
    ``ModelPackageGroupName``) exists already. Update and Delete pass: an update's rollback
    sends the stack's own names back, which exist.

Each handler answers CloudFormation itself (a PUT to the pre-signed ``ResponseURL``), always,
with the failure's reason, and keeps the physical id it was given (a stable one on Create).
"""

from __future__ import annotations

import json
import time
import traceback
import urllib.request
from typing import Any, Callable, Optional

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
from botocore.exceptions import ClientError  # type: ignore[import-untyped]  # the same

#: Seconds between two looks at the stage stacks.
POLL_SECONDS = 15
#: Stop waiting this long before the function times out, to answer CloudFormation in time.
MARGIN_MILLIS = 60_000
#: CloudFormation's response body is limited to 4 KB.
_MAX_REASON = 3000

Event = dict[str, Any]


class Failed(Exception):
    """A failure whose message CloudFormation shows as the resource's status reason."""


def teardown(event: Event, context: Any) -> None:
    """Lambda entry point of ``Custom::StageTeardown``."""
    _run(event, context, _teardown)


def precheck(event: Event, context: Any) -> None:
    """Lambda entry point of ``Custom::RetainedResourceCheck``."""
    _run(event, context, _precheck)


def _teardown(event: Event, context: Any) -> str:
    if event["RequestType"] != "Delete":
        return "nothing to do until the project stack is deleted"
    cfn = boto3.client("cloudformation")
    status = project_stack_status(cfn, event["StackId"])
    if status != "DELETE_IN_PROGRESS":
        # An update's rollback or clean-up removes this resource: the project lives on.
        return f"the project stack is not being deleted ({status}): its stage stacks stay"
    properties = event["ResourceProperties"]
    names = list(properties.get("StackNames", []))
    delete_stacks(
        cfn, names, role_arn=properties.get("DeployerRoleArn") or None, remaining_millis=context.get_remaining_time_in_millis
    )
    return f"deleted {', '.join(names) or 'no stacks'}"


def _precheck(event: Event, _context: Any) -> str:
    if event["RequestType"] != "Create":
        # An update's rollback sends the names this stack created back as new: they exist.
        return "the check runs when the project stack is created"
    new = event["ResourceProperties"]
    found = existing_resources(
        boto3.client("codecommit"),
        boto3.client("sagemaker"),
        repositories=list(new.get("RepositoryNames", [])),
        model_package_group=new.get("ModelPackageGroupName") or None,
    )
    if found:
        raise Failed(existing_resources_message(found))
    return "no retained resource is in the way"


# --- Stage stacks ---------------------------------------------------------------------------


def project_stack_status(cfn: Any, stack_id: str) -> str:
    """The status of the stack holding the custom resource (``DELETE_IN_PROGRESS`` when the
    project is being deleted; ``UPDATE_ROLLBACK_IN_PROGRESS`` or ``..._CLEANUP_IN_PROGRESS``
    when an update rolls back or cleans up)."""
    stack = describe_stack(cfn, stack_id)
    return stack["StackStatus"] if stack else "DELETE_COMPLETE"


def describe_stack(cfn: Any, name: str) -> Optional[dict[str, Any]]:
    """The stack named ``name``, or None when there is none (any more)."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            return None
        raise
    return stacks[0] if stacks and stacks[0]["StackStatus"] != "DELETE_COMPLETE" else None


def delete_stacks(
    cfn: Any,
    names: list[str],
    *,
    role_arn: Optional[str] = None,
    remaining_millis: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Delete the stacks ``names`` and wait until they are gone.

    A stack that is being created or updated (a deployment still running) is deleted once it
    settles; one already in ``DELETE_FAILED``, or waiting for a change set's review, is deleted
    (again). ``role_arn``: the service role the deletion uses, instead of the one the stack
    recorded (which an upgrade of the project may have replaced). Raises :class:`Failed` with the
    stack's status reason when its deletion fails, or when the function would time out first.
    """
    requested: set[str] = set()
    pending = list(dict.fromkeys(names))
    while True:
        waiting: list[tuple[str, str]] = []
        for name in pending:
            stack = describe_stack(cfn, name)
            if stack is None:
                continue
            status = stack["StackStatus"]
            if status == "DELETE_FAILED" and name in requested:
                reason = stack.get("StackStatusReason") or "CloudFormation gave no reason"
                raise Failed(
                    f"stage stack {name} could not be deleted: {reason} (see the stack's events); fix the cause, "
                    "then delete the project stack again"
                )
            if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
                print(f"deleting stack {name} ({status})")
                cfn.delete_stack(StackName=name, **({"RoleARN": role_arn} if role_arn else {}))
                requested.add(name)
                status = "DELETE_IN_PROGRESS"
            waiting.append((name, status))
        if not waiting:
            return
        if remaining_millis() < MARGIN_MILLIS + POLL_SECONDS * 1000:
            states = ", ".join(f"{name} ({status})" for name, status in waiting)
            raise Failed(f"stage stacks still not deleted when the function had to stop: {states}; delete the project stack again to keep waiting")
        pending = [name for name, _ in waiting]
        sleep(POLL_SECONDS)


# --- Retained resources ---------------------------------------------------------------------


def existing_resources(
    codecommit: Any, sagemaker: Any, *, repositories: list[str], model_package_group: Optional[str]
) -> list[str]:
    """Descriptions of the named resources that exist, e.g. ``CodeCommit repository 'x'``."""
    found = []
    for name in repositories:
        try:
            codecommit.get_repository(repositoryName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "RepositoryDoesNotExistException":
                continue
            raise
        found.append(f"CodeCommit repository '{name}'")
    if model_package_group:
        try:
            sagemaker.describe_model_package_group(ModelPackageGroupName=model_package_group)
        except ClientError as error:
            if "does not exist" not in error.response.get("Error", {}).get("Message", ""):
                raise
        else:
            found.append(f"model package group '{model_package_group}'")
    return found


def existing_resources_message(found: list[str]) -> str:
    what = " and ".join(found)
    verb = "exists" if len(found) == 1 else "exist"
    return (
        f"{what} {verb} from an earlier deployment (retained on deletion), and this template creates "
        f"{'it' if len(found) == 1 else 'them'} under the same name: deploy with a new project id "
        "(cdk deploy --parameters SageMakerProjectId=<new id>, or project_id=...), or delete "
        f"{'it' if len(found) == 1 else 'them'} first if no longer needed (README: 'Deleting a project')"
    )


# --- CloudFormation's custom resource protocol --------------------------------------------------


def _run(event: Event, context: Any, action: Callable[[Event, Any], str]) -> None:
    physical_id = event.get("PhysicalResourceId") or _stable_id(event)
    try:
        status, reason = "SUCCESS", action(event, context)
    except Failed as error:
        status, reason = "FAILED", str(error)
    except Exception as error:  # any other error: CloudFormation must still hear of it
        traceback.print_exc()
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    print(f"{event['RequestType']} {event['LogicalResourceId']}: {status}: {reason}")
    respond(event, status=status, reason=reason, physical_id=physical_id)


def _stable_id(event: Event) -> str:
    """``<stack name>-<logical id>``: the same on every Create of the resource in that stack."""
    stack_name = event["StackId"].split("/")[1] if "/" in event["StackId"] else event["StackId"]
    return f"{stack_name}-{event['LogicalResourceId']}"


def respond(event: Event, *, status: str, reason: str, physical_id: str) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:_MAX_REASON],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    send(event["ResponseURL"], body)


def send(url: str, body: bytes) -> None:
    """PUT ``body`` to CloudFormation's pre-signed S3 URL (no content type: it is signed without one)."""
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
