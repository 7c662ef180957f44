"""The lifecycle custom resources' Lambda code against moto: stage teardown and the retained-name check."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from sagemaker_projects_cdk._internal.lifecycle_function import index

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

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
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


def live_stacks() -> set[str]:
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks()["Stacks"]
    return {s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"}


def create_stage_stacks(names: list[str]) -> None:
    import boto3

    cfn = boto3.client("cloudformation")
    for name in names:
        cfn.create_stack(StackName=name, TemplateBody=STAGE_TEMPLATE)
    assert set(names) <= live_stacks()


# --- Teardown --------------------------------------------------------------------------------


def test_teardown_deletes_every_stage_stack_and_reports_success(aws, responses):
    create_stage_stacks([*STAGES, "sagemaker-other-p-2-deploy-prod"])
    index.teardown(event("Delete", {"StackNames": STAGES}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert response["PhysicalResourceId"] == "kept-id"
    assert response["StackId"] == STACK_ID and response["RequestId"] == "request-1"
    # The project's stage stacks are gone; another project's stack is untouched.
    assert live_stacks() == {"sagemaker-other-p-2-deploy-prod"}


def test_teardown_skips_stage_stacks_that_do_not_exist(aws, responses):
    create_stage_stacks(STAGES[:1])  # prod was never deployed
    index.teardown(event("Delete", {"StackNames": STAGES}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS", response["Reason"]
    assert live_stacks() == set()


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_teardown_does_nothing_on_create_and_update_and_keeps_a_stable_physical_id(aws, responses, request_type):
    create_stage_stacks(STAGES)
    physical_id = "sagemaker-churn-p-1-project-StageTeardown97273258"
    if request_type == "Create":
        index.teardown(event("Create", {"StackNames": STAGES}), Context())
        index.teardown(event("Create", {"StackNames": STAGES}), Context())
    else:
        index.teardown(
            event("Update", {"StackNames": STAGES[:1]}, old={"StackNames": STAGES}, physical_id=physical_id), Context()
        )
    assert {r["Status"] for r in responses} == {"SUCCESS"}
    assert {r["PhysicalResourceId"] for r in responses} == {physical_id}
    assert live_stacks() == set(STAGES)


class FakeCloudFormation:
    """A CloudFormation client whose stacks go through the given statuses, one per look."""

    def __init__(self, statuses: dict[str, list[tuple[str, str]]]) -> None:
        self.statuses = statuses
        self.deleted: list[str] = []

    def describe_stacks(self, StackName: str) -> dict:  # noqa: N803 (boto3's spelling)
        timeline = self.statuses[StackName]
        status, reason = timeline.pop(0) if len(timeline) > 1 else timeline[0]
        return {"Stacks": [{"StackName": StackName, "StackStatus": status, "StackStatusReason": reason}]}

    def delete_stack(self, StackName: str) -> None:  # noqa: N803
        self.deleted.append(StackName)


def test_a_failing_stage_deletion_fails_the_teardown_with_the_stacks_reason(aws, responses, monkeypatch):
    reason = "The following resource(s) failed to delete: [Endpoint]. "
    fake = FakeCloudFormation(
        {
            STAGES[0]: [("UPDATE_COMPLETE", ""), ("DELETE_IN_PROGRESS", ""), ("DELETE_FAILED", reason)],
            STAGES[1]: [("CREATE_COMPLETE", ""), ("DELETE_COMPLETE", "")],
        }
    )
    monkeypatch.setattr(index.boto3, "client", lambda service: fake)
    index.teardown(event("Delete", {"StackNames": STAGES}, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "FAILED"
    assert response["PhysicalResourceId"] == "kept-id"
    assert f"stage stack {STAGES[0]} could not be deleted: {reason}" in response["Reason"]
    assert "delete the project stack again" in response["Reason"]
    assert fake.deleted == STAGES


def test_a_stage_stack_still_deploying_is_deleted_once_it_settles():
    fake = FakeCloudFormation({STAGES[0]: [("UPDATE_IN_PROGRESS", ""), ("UPDATE_ROLLBACK_COMPLETE", ""), ("DELETE_COMPLETE", "")]})
    index.delete_stacks(fake, STAGES[:1], remaining_millis=lambda: 900_000, sleep=lambda _s: None)
    assert fake.deleted == STAGES[:1]


def test_a_stage_stack_already_delete_failed_is_deleted_again():
    fake = FakeCloudFormation({STAGES[0]: [("DELETE_FAILED", "earlier"), ("DELETE_COMPLETE", "")]})
    index.delete_stacks(fake, STAGES[:1], remaining_millis=lambda: 900_000, sleep=lambda _s: None)
    assert fake.deleted == STAGES[:1]


def test_the_teardown_answers_before_the_function_times_out():
    fake = FakeCloudFormation({STAGES[0]: [("CREATE_COMPLETE", ""), ("DELETE_IN_PROGRESS", "")]})
    remaining = iter([900_000, 60_000])
    with pytest.raises(index.Failed, match=rf"still not deleted .*{STAGES[0]} \(DELETE_IN_PROGRESS\).*again to keep waiting"):
        index.delete_stacks(fake, STAGES[:1], remaining_millis=lambda: next(remaining), sleep=lambda _s: None)


def test_an_unexpected_error_is_still_reported_to_cloudformation(aws, responses, monkeypatch):
    def broken(service: str):
        raise RuntimeError("no endpoint for the region")

    monkeypatch.setattr(index.boto3, "client", broken)
    index.teardown(event("Delete", {"StackNames": STAGES}, physical_id="kept-id"), Context())
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


def test_precheck_on_update_checks_only_names_that_changed(aws, responses):
    create_retained(REPOSITORIES, GROUP)  # this very stack's resources
    index.precheck(event("Update", CHECKED, old=CHECKED, physical_id="kept-id"), Context())
    renamed = {"RepositoryNames": ["sagemaker-renamed-p-1-modelbuild"], "ModelPackageGroupName": GROUP}
    create_retained(renamed["RepositoryNames"], None)
    index.precheck(event("Update", renamed, old=CHECKED, physical_id="kept-id"), Context())
    first, second = responses
    assert first["Status"] == "SUCCESS", first["Reason"]
    assert second["Status"] == "FAILED"
    assert second["Reason"].startswith("CodeCommit repository 'sagemaker-renamed-p-1-modelbuild' exists")
    assert {first["PhysicalResourceId"], second["PhysicalResourceId"]} == {"kept-id"}


def test_precheck_keeps_everything_on_delete(aws, responses):
    create_retained(REPOSITORIES, GROUP)
    index.precheck(event("Delete", CHECKED, physical_id="kept-id"), Context())
    (response,) = responses
    assert response["Status"] == "SUCCESS"
    import boto3

    assert boto3.client("codecommit").get_repository(repositoryName=REPOSITORIES[0])
    assert boto3.client("sagemaker").describe_model_package_group(ModelPackageGroupName=GROUP)
