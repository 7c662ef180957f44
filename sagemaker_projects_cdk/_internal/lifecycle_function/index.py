"""The project's lifecycle custom resources, run by AWS Lambda's Python runtime (boto3 included).

``teardown``  (``Custom::StageTeardown``): on Delete while the project stack itself is being
    deleted, deletes the project's endpoint stage stacks (``Stages``: each stage's
    ``StackName``, ``AssumeRoleArn`` and ``DeployerRoleArn``) and waits until they are gone;
    stacks that do not exist are skipped. A stage in another account is deleted there, as the
    target account's ``actions`` role (``AssumeRoleArn``, empty for this account), and every
    stage with its current deployer role (``DeployerRoleArn``, this account's or the target's).
    CloudFormation also sends Delete when it rolls back an update that added the resource, or
    cleans up after a replacement: then the stage stacks (prod's endpoint) stay.
``precheck``  (``Custom::RetainedResourceCheck``): on Create, fails with what to do when a
    fixed-name resource that the template retains on deletion (``RepositoryNames``: CodeCommit,
    ``ImageRepositoryNames``: ECR, ``ModelPackageGroupName``) exists already. Update and Delete pass: an update's rollback
    sends the stack's own names back, which exist.

Each handler answers CloudFormation itself (a PUT to the pre-signed ``ResponseURL``), always,
with the failure's reason, and keeps the physical id it was given (a stable one on Create).
"""

from __future__ import annotations

import json
import time
import traceback
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Optional

import boto3  # type: ignore[import-untyped]  # boto3 ships no type information
from botocore.exceptions import ClientError  # type: ignore[import-untyped]  # the same

#: Seconds between two looks at the stage stacks.
POLL_SECONDS = 15
#: Stop waiting this long before the function times out, to answer CloudFormation in time.
MARGIN_MILLIS = 60_000
#: CloudFormation's response body is limited to 4 KB.
_MAX_REASON = 3000
#: The session name of the teardown in a target account (its CloudTrail records show it).
SESSION_NAME = "sagemaker-project-teardown"

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
    stacks = stage_stacks(list(event["ResourceProperties"].get("Stages", [])), here=cfn)
    delete_stacks(stacks, remaining_millis=context.get_remaining_time_in_millis)
    return f"deleted {', '.join(stack.label for stack in stacks) or 'no stacks'}"


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
        ecr=boto3.client("ecr") if new.get("ImageRepositoryNames") else None,
        image_repositories=list(new.get("ImageRepositoryNames", [])),
    )
    if found:
        raise Failed(existing_resources_message(found))
    return "no retained resource is in the way"


# --- Stage stacks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StageStack:
    """A stage stack to delete: its name, a CloudFormation client of its account, the service
    role its deletion uses (None: the one the stack recorded), and its account when it is
    another one (for messages)."""

    name: str
    cloudformation: Any
    role_arn: Optional[str] = None
    account: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} in account {self.account}" if self.account else self.name


def stage_stacks(stages: list[dict[str, str]], *, here: Any) -> list[StageStack]:
    """The ``Stages`` property as :class:`StageStack`: a stage whose ``AssumeRoleArn`` is not
    empty is reached through that role (one session per role), the others through ``here``."""
    clients: dict[str, Any] = {"": here}
    stacks = []
    for stage in stages:
        assume = stage.get("AssumeRoleArn") or ""
        if assume not in clients:
            clients[assume] = assumed_client("cloudformation", assume, stack_name=stage["StackName"])
        stacks.append(
            StageStack(
                name=stage["StackName"],
                cloudformation=clients[assume],
                role_arn=stage.get("DeployerRoleArn") or None,
                account=assume.split(":")[4] if assume else "",
            )
        )
    return stacks


def assumed_client(service: str, role_arn: str, *, stack_name: str) -> Any:
    """A client of ``service`` acting as ``role_arn`` (in its account, this region)."""
    try:
        credentials = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
    except ClientError as error:
        raise Failed(
            f"could not assume {role_arn} to delete the stage stack {stack_name} in its account: {error}. Deploy the "
            "target-account baseline there again (it holds that role), then delete the project stack again; to "
            "leave the stage stack there instead, delete the project stack again retaining this resource"
        ) from error
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


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
    stacks: list[StageStack],
    *,
    remaining_millis: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Delete ``stacks`` (each in its account) and wait until they are gone.

    A stack that is being created or updated (a deployment still running) is deleted once it
    settles; one already in ``DELETE_FAILED``, or waiting for a change set's review, is deleted
    (again). Each deletion uses the stack's ``role_arn`` as service role, instead of the one the
    stack recorded (which an upgrade of the project may have replaced). Raises :class:`Failed`
    with the stack's status reason when its deletion fails, or when the function would time out
    first.
    """
    requested: set[str] = set()
    pending = list({stack.label: stack for stack in stacks}.values())
    while True:
        waiting: list[tuple[StageStack, str]] = []
        for target in pending:
            stack = describe_stack(target.cloudformation, target.name)
            if stack is None:
                continue
            status = stack["StackStatus"]
            if status == "DELETE_FAILED" and target.label in requested:
                reason = stack.get("StackStatusReason") or "CloudFormation gave no reason"
                raise Failed(
                    f"stage stack {target.label} could not be deleted: {reason} (see the stack's events); fix the "
                    "cause, then delete the project stack again"
                )
            if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
                print(f"deleting stack {target.label} ({status})")
                target.cloudformation.delete_stack(
                    StackName=target.name, **({"RoleARN": target.role_arn} if target.role_arn else {})
                )
                requested.add(target.label)
                status = "DELETE_IN_PROGRESS"
            waiting.append((target, status))
        if not waiting:
            return
        if remaining_millis() < MARGIN_MILLIS + POLL_SECONDS * 1000:
            states = ", ".join(f"{target.label} ({status})" for target, status in waiting)
            raise Failed(f"stage stacks still not deleted when the function had to stop: {states}; delete the project stack again to keep waiting")
        pending = [target for target, _ in waiting]
        sleep(POLL_SECONDS)


# --- Retained resources ---------------------------------------------------------------------


def existing_resources(
    codecommit: Any,
    sagemaker: Any,
    *,
    repositories: list[str],
    model_package_group: Optional[str],
    ecr: Any = None,
    image_repositories: Optional[list[str]] = None,
) -> list[str]:
    """Descriptions of the named resources that exist, e.g. ``CodeCommit repository 'x'``
    (``ecr`` is needed only with ``image_repositories``)."""
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
    for name in image_repositories or []:
        # One name per call: DescribeRepositories fails as a whole when one of several is missing.
        try:
            ecr.describe_repositories(repositoryNames=[name])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
                continue
            raise
        found.append(f"ECR repository '{name}'")
    return found


def existing_resources_message(found: list[str]) -> str:
    what = " and ".join(found)
    verb = "exists" if len(found) == 1 else "exist"
    return (
        f"{what} {verb} from an earlier deployment (retained on deletion), and this template creates "
        f"{'it' if len(found) == 1 else 'them'} under the same name: deploy with a new project id "
        "(cdk deploy --parameters SageMakerProjectId=<new id>, or project_id=...), or delete "
        f"{'it' if len(found) == 1 else 'them'} first if no longer needed (docs/guide/operations.md, 'Deleting a project')"
        + (
            "; an ECR repository with its images: aws ecr delete-repository --force --repository-name <name>"
            if any(f.startswith("ECR repository") for f in found)
            else ""
        )
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
