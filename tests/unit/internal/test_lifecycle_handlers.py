"""The lifecycle custom resources' Lambda code against moto: stage teardown and the retained-name check."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from sagemaker_projects_cdk._internal.lifecycle_function import index
from support import moto_environment

REGION = "us-east-1"
STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/sagemaker-churn-p-1-project/11111111-2222-3333-4444-555555555555"
STAGES = ["sagemaker-churn-p-1-deploy-staging", "sagemaker-churn-p-1-deploy-prod"]
STAGE_TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


class Context:
    def __init__(self, millis: int = 900_000) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    from moto import mock_aws

    moto_environment(monkeypatch, tmp_path, REGION)
    monkeypatch.setattr(index, "POLL_SECONDS", 0)
    with mock_aws():
        yield


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What the handlers PUT to CloudFormation's response URL."""
    sent: list[dict] = []

    def send(url: str, body: bytes) -> None:
        assert url == "https://cloudformation-custom-resource-response.example/signed"
        sent.append(json.loads(body))

    monkeypatch.setattr(index, "send", send)
    return sent


def event(request_type: str, properties: dict, *, old: dict | None = None, physical_id: str | None = None) -> dict:
    found: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/signed",
        "StackId": STACK_ID,
        "RequestId": "request-1",
        "LogicalResourceId": "StageTeardown97273258",
        "ResourceType": "Custom::StageTeardown",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f", **properties},
    }
    if old is not None:
        found["OldResourceProperties"] = old
    if physical_id is not None:
        found["PhysicalResourceId"] = physical_id
    return found


def here(names: list[str]) -> list[dict[str, str]]:
    """The teardown's ``Stages`` for stacks of this account, deleted with the role they recorded."""
    return [{"StackName": name, "AssumeRoleArn": "", "DeployerRoleArn": ""} for name in names]


def live_stacks(cfn: Any = None) -> set[str]:
    import boto3

    stacks = (cfn or boto3.client("cloudformation")).describe_stacks()["Stacks"]
    return {s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"}


def create_stage_stacks(names: list[str], cfn: Any = None) -> None:
    import boto3

    cfn = cfn or boto3.client("cloudformation")
    for name in names:
        cfn.create_stack(StackName=name, TemplateBody=STAGE_TEMPLATE)
    assert set(names) <= live_stacks(cfn)


# --- Teardown --------------------------------------------------------------------------------


@pytest.fixture
def project_status(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The project stack's status the teardown sees (moto cannot hold a stack mid-deletion)."""
    status = {"now": "DELETE_IN_PROGRESS"}

    def seen(cfn, stack_id: str) -> str:
        assert stack_id == STACK_ID
        return status["now"]

    monkeypatch.setattr(index, "project_stack_status", seen)
    return status


def test_teardown_deletes_every_stage_stack_and_reports_success(aws, responses, project_status):
    create_stage_stacks([*STAGES, "sagemaker-other-p-2-deploy-prod"])
    index.teardown(event("Delete", {"Stages": here(STAGES)}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == "kept-id"
    assert response["StackId"] == STACK_ID and response["RequestId"] == "request-1"
    # The project's stage stacks are gone; another project's stack is untouched.
    assert live_stacks() == {"sagemaker-other-p-2-deploy-prod"}


@pytest.mark.parametrize(
    "status", ["UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"]
)
def test_teardown_keeps_the_stage_stacks_when_an_update_removes_it(aws, responses, project_status, status):
    """CloudFormation sends Delete when it rolls back the update that added the resource, or
    cleans up after replacing it: the project lives on, and so must prod's endpoint."""
    create_stage_stacks(STAGES)
    project_status["now"] = status
    index.teardown(event("Delete", {"Stages": here(STAGES)}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert set(STAGES) <= live_stacks()


def test_teardown_deletes_with_the_current_deployer_role(monkeypatch):
    """The role a stage stack recorded may be gone (an upgrade replaced the deployer role)."""
    fake = FakeCloudFormation({STAGES[0]: [("UPDATE_COMPLETE", ""), ("DELETE_COMPLETE", "")]})
    role = "arn:aws:iam::123456789012:role/sagemaker-project-deployers/Deployer-1"
    index.delete_stacks([index.StageStack(STAGES[0], fake, role)], remaining_millis=lambda: 900_000, sleep=lambda _s: None)
    assert (fake.deleted, fake.roles) == (STAGES[:1], [role])


def test_a_stage_stack_waiting_for_review_is_deleted():
    fake = FakeCloudFormation({STAGES[0]: [("REVIEW_IN_PROGRESS", ""), ("DELETE_COMPLETE", "")]})
    index.delete_stacks([index.StageStack(STAGES[0], fake)], remaining_millis=lambda: 900_000, sleep=lambda _s: None)
    assert fake.deleted == STAGES[:1]


def test_teardown_skips_stage_stacks_that_do_not_exist(aws, responses, project_status):
    create_stage_stacks(STAGES[:1])  # prod was never deployed
    index.teardown(event("Delete", {"Stages": here(STAGES)}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert live_stacks() == set()


TARGET = "222222222222"
#: The target account's baseline roles, named as the tooling side names them (targets.py).
TARGET_ACTIONS = f"arn:aws:iam::{TARGET}:role/sagemaker-projects-cdk/sagemaker-projects-123456789012-actions"
TARGET_DEPLOYER = f"arn:aws:iam::{TARGET}:role/sagemaker-projects-cdk/sagemaker-projects-123456789012-deployer"
HERE_DEPLOYER = "arn:aws:iam::123456789012:role/sagemaker-project-deployers/Deployer-1"


def assumed_cloudformation(role_arn: str) -> Any:
    """A CloudFormation client in the account of ``role_arn`` (moto serves each account apart)."""
    import boto3

    credentials = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3.client(
        "cloudformation",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict]]:
    """The handler's AssumeRole and DeleteStack calls: (operation, the caller's account, parameters)."""
    import boto3

    recorded: list[tuple[str, str, dict]] = []
    real = boto3.client

    def client(service: str, **kwargs: Any) -> Any:
        made = real(service, **kwargs)
        caller = real("sts", **kwargs).get_caller_identity()["Account"]
        for operation in ("AssumeRole", "DeleteStack"):
            made.meta.events.register(
                f"provide-client-params.{service}.{operation}",
                lambda params, operation=operation, **_: recorded.append((operation, caller, dict(params))),
            )
        return made

    monkeypatch.setattr(index.boto3, "client", client)
    return recorded


def test_teardown_deletes_a_stage_stack_in_another_account_as_its_actions_role(aws, responses, project_status, calls):
    """Staging here, prod in the target account: prod is deleted there (after assuming the
    target's actions role, with its deployer role), and nothing of the same name here or of
    another project there is touched."""
    target = assumed_cloudformation(TARGET_ACTIONS)
    create_stage_stacks([STAGES[1], "sagemaker-other-p-2-deploy-prod"], target)
    create_stage_stacks(STAGES)  # a prod stack of the same name here too: not the stage's
    stages = [
        {"StackName": STAGES[0], "AssumeRoleArn": "", "DeployerRoleArn": HERE_DEPLOYER},
        {"StackName": STAGES[1], "AssumeRoleArn": TARGET_ACTIONS, "DeployerRoleArn": TARGET_DEPLOYER},
    ]
    calls.clear()  # the arrangement's own
    index.teardown(event("Delete", {"Stages": stages}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert STAGES[1] in response["Reason"] and TARGET in response["Reason"]
    assert live_stacks(target) == {"sagemaker-other-p-2-deploy-prod"}
    assert live_stacks() == {STAGES[1]}
    # One session in the target account, as its actions role; each deletion with its account's deployer.
    assert [(caller, params["RoleArn"]) for operation, caller, params in calls if operation == "AssumeRole"] == [
        ("123456789012", TARGET_ACTIONS)
    ]
    deletions = {(caller, params["StackName"], params.get("RoleARN")) for operation, caller, params in calls if operation == "DeleteStack"}
    assert deletions == {("123456789012", STAGES[0], HERE_DEPLOYER), (TARGET, STAGES[1], TARGET_DEPLOYER)}


def test_teardown_says_what_to_do_when_the_target_role_cannot_be_assumed(monkeypatch):
    from botocore.exceptions import ClientError

    class DeniedSts:
        def assume_role(self, **_kwargs: str) -> dict:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole")

    monkeypatch.setattr(index.boto3, "client", lambda service, **_: DeniedSts())
    stage = {"StackName": STAGES[1], "AssumeRoleArn": TARGET_ACTIONS, "DeployerRoleArn": TARGET_DEPLOYER}
    with pytest.raises(index.Failed) as failure:
        index.stage_stacks([stage], here=None)
    message = str(failure.value)
    assert f"could not assume {TARGET_ACTIONS} to delete the stage stack {STAGES[1]}" in message
    assert "target-account baseline" in message and "retaining this resource" in message


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_teardown_does_nothing_on_create_and_update_and_keeps_a_stable_physical_id(aws, responses, request_type):
    create_stage_stacks(STAGES)
    physical_id = "sagemaker-churn-p-1-project-StageTeardown97273258"
    if request_type == "Create":
        index.teardown(event("Create", {"Stages": here(STAGES)}), Context())
        index.teardown(event("Create", {"Stages": here(STAGES)}), Context())
    else:
        index.teardown(
            event("Update", {"Stages": here(STAGES[:1])}, old={"Stages": here(STAGES)}, physical_id=physical_id), Context()
        )
    assert {r["Status"] for r in responses} == {"SUCCESS"}
    assert {r["PhysicalResourceId"] for r in responses} == {physical_id}
    assert live_stacks() == set(STAGES)


class FakeCloudFormation:
    """A CloudFormation client whose stacks go through the given statuses, one per look."""

    def __init__(self, statuses: dict[str, list[tuple[str, str]]]) -> None:
        self.statuses = statuses
        self.deleted: list[str] = []
        self.roles: list[str | None] = []

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803 (boto3's spelling)
        timeline = self.statuses[StackName]
        status, reason = timeline.pop(0) if len(timeline) > 1 else timeline[0]
        return {"Stacks": [{"StackName": StackName, "StackStatus": status, "StackStatusReason": reason}]}

    def delete_stack(self, StackName: str, **kwargs: str) -> None:  # noqa: N803
        self.deleted.append(StackName)
        self.roles.append(kwargs.get("RoleARN"))


def test_a_failing_stage_deletion_fails_the_teardown_with_the_stacks_reason(aws, responses, project_status, monkeypatch):
    reason = "The following resource(s) failed to delete: [Endpoint]. "
    fake = FakeCloudFormation(
        {
            STAGES[0]: [("UPDATE_COMPLETE", ""), ("DELETE_IN_PROGRESS", ""), ("DELETE_FAILED", reason)],
            STAGES[1]: [("CREATE_COMPLETE", ""), ("DELETE_COMPLETE", "")],
        }
    )
    monkeypatch.setattr(index.boto3, "client", lambda service: fake)
    index.teardown(event("Delete", {"Stages": here(STAGES)}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    assert response["PhysicalResourceId"] == "kept-id"
    assert f"stage stack {STAGES[0]} could not be deleted: {reason}" in response["Reason"]
    assert "delete the project stack again" in response["Reason"]
    assert fake.deleted == STAGES


def test_a_stage_stack_still_deploying_is_deleted_once_it_settles():
    fake = FakeCloudFormation({STAGES[0]: [("UPDATE_IN_PROGRESS", ""), ("UPDATE_ROLLBACK_COMPLETE", ""), ("DELETE_COMPLETE", "")]})
    index.delete_stacks([index.StageStack(STAGES[0], fake)], remaining_millis=lambda: 900_000, sleep=lambda _s: None)
    assert fake.deleted == STAGES[:1]


def test_a_stage_stack_already_delete_failed_is_deleted_again():
    fake = FakeCloudFormation({STAGES[0]: [("DELETE_FAILED", "earlier"), ("DELETE_COMPLETE", "")]})
    index.delete_stacks([index.StageStack(STAGES[0], fake)], remaining_millis=lambda: 900_000, sleep=lambda _s: None)
    assert fake.deleted == STAGES[:1]


def test_the_teardown_answers_before_the_function_times_out():
    fake = FakeCloudFormation({STAGES[0]: [("CREATE_COMPLETE", ""), ("DELETE_IN_PROGRESS", "")]})
    remaining = iter([900_000, 60_000])
    with pytest.raises(index.Failed, match=rf"still not deleted .*{STAGES[0]} \(DELETE_IN_PROGRESS\).*again to keep waiting"):
        index.delete_stacks([index.StageStack(STAGES[0], fake)], remaining_millis=lambda: next(remaining), sleep=lambda _s: None)


def test_an_unexpected_error_is_still_reported_to_cloudformation(aws, responses, project_status, monkeypatch):
    def broken(service: str):
        raise RuntimeError("no endpoint for the region")

    monkeypatch.setattr(index.boto3, "client", broken)
    index.teardown(event("Delete", {"Stages": here(STAGES)}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    assert response["Reason"] == "RuntimeError: no endpoint for the region"


# --- Retained-name check ---------------------------------------------------------------------

REPOSITORIES = ["sagemaker-churn-p-1-modelbuild", "sagemaker-churn-p-1-modeldeploy"]
GROUP = "churn-p-1"
CHECKED = {"RepositoryNames": REPOSITORIES, "ModelPackageGroupName": GROUP}


def create_retained(repositories: list[str], group: str | None) -> None:
    import boto3

    for name in repositories:
        boto3.client("codecommit").create_repository(repositoryName=name)
    if group:
        boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)


def test_precheck_passes_when_no_retained_resource_has_the_names(aws, responses):
    create_retained(["sagemaker-other-p-2-modelbuild"], "other-p-2")
    index.precheck(event("Create", CHECKED), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == "sagemaker-churn-p-1-project-StageTeardown97273258"


def test_precheck_fails_first_naming_the_retained_resources_and_what_to_do(aws, responses):
    create_retained(REPOSITORIES[:1], GROUP)
    index.precheck(event("Create", CHECKED), Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(
        f"CodeCommit repository '{REPOSITORIES[0]}' and model package group '{GROUP}' exist from an earlier "
        "deployment (retained on deletion)"
    )
    assert REPOSITORIES[1] not in response["Reason"]
    assert "--parameters SageMakerProjectId=<new id>" in response["Reason"]
    assert "delete them first" in response["Reason"]


def test_precheck_passes_every_update_including_a_rollback_to_the_stacks_own_names(aws, responses):
    """An update's rollback sends the names this stack created as the new properties: they
    exist, and failing would leave the stack in UPDATE_ROLLBACK_FAILED."""
    create_retained(REPOSITORIES, GROUP)  # this very stack's resources
    renamed = {"RepositoryNames": ["sagemaker-renamed-p-1-modelbuild"], "ModelPackageGroupName": GROUP}
    index.precheck(event("Update", renamed, old=CHECKED, physical_id="kept-id"), Context())  # forward
    index.precheck(event("Update", CHECKED, old=renamed, physical_id="kept-id"), Context())  # rollback
    assert [r["Status"] for r in responses] == ["SUCCESS", "SUCCESS"], responses
    assert {r["PhysicalResourceId"] for r in responses} == {"kept-id"}


def test_precheck_keeps_everything_on_delete(aws, responses):
    create_retained(REPOSITORIES, GROUP)
    index.precheck(event("Delete", CHECKED, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS"
    import boto3

    assert boto3.client("codecommit").get_repository(repositoryName=REPOSITORIES[0])
    assert boto3.client("sagemaker").describe_model_package_group(ModelPackageGroupName=GROUP)


IMAGE_REPOSITORIES = ["sagemaker-p-1-processing", "sagemaker-p-1-training", "sagemaker-p-1-inference"]
WITH_IMAGES = {**CHECKED, "ImageRepositoryNames": IMAGE_REPOSITORIES}


def test_precheck_passes_when_no_ecr_repository_has_the_names(aws, responses):
    import boto3

    boto3.client("ecr").create_repository(repositoryName="sagemaker-p-2-processing")  # another project's
    index.precheck(event("Create", WITH_IMAGES), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]


def test_precheck_fails_when_an_ecr_repository_exists_naming_it_and_how_to_delete_it(aws, responses):
    """The image template's ECR repositories are retained (with their images) by default: a
    second deployment with the same project id would fail at ECR's CreateRepository midway."""
    import boto3

    boto3.client("ecr").create_repository(repositoryName=IMAGE_REPOSITORIES[1])
    index.precheck(event("Create", WITH_IMAGES), Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    reason = response["Reason"]
    assert reason.startswith(f"ECR repository '{IMAGE_REPOSITORIES[1]}' exists from an earlier deployment"), reason
    assert IMAGE_REPOSITORIES[0] not in reason and IMAGE_REPOSITORIES[2] not in reason
    assert "--parameters SageMakerProjectId=<new id>" in reason
    assert "aws ecr delete-repository --force --repository-name <name>" in reason


def test_precheck_names_ecr_repositories_with_the_other_retained_resources(aws, responses):
    import boto3

    create_retained(REPOSITORIES[:1], None)
    for name in IMAGE_REPOSITORIES[::2]:
        boto3.client("ecr").create_repository(repositoryName=name)
    index.precheck(event("Create", WITH_IMAGES), Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(
        f"CodeCommit repository '{REPOSITORIES[0]}' and ECR repository '{IMAGE_REPOSITORIES[0]}' and "
        f"ECR repository '{IMAGE_REPOSITORIES[2]}' exist"
    ), response["Reason"]


def test_precheck_reports_an_ecr_error_other_than_not_found(aws, responses, monkeypatch):
    from botocore.exceptions import ClientError

    class Denied:
        def describe_repositories(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeRepositories")

    real = index.boto3.client
    monkeypatch.setattr(index.boto3, "client", lambda service, *a, **k: Denied() if service == "ecr" else real(service, *a, **k))
    index.precheck(event("Create", WITH_IMAGES), Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    assert "AccessDeniedException" in response["Reason"]
