"""``Custom::SeedRepository``'s handler: moto's environment, CodeBuild stubbed with botocore's
Stubber (the build's outcome is what is under test), CloudFormation's answer captured."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sagemaker_projects_cdk._internal.lifecycle_function import index, seeding
from support import moto_environment

REGION = "us-east-1"
STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/sagemaker-churn-p-1-project/11111111-2222-3333-4444-555555555555"
CONNECTION = f"arn:aws:codeconnections:{REGION}:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
PROPERTIES = {
    "ProjectName": "RepositorySeederBuild-abc",
    "ConnectionArn": CONNECTION,
    "FullRepositoryName": "acme/churn-build",
    "Branch": "main",
    "SeedBucket": "cdk-assets",
    "SeedKey": "seed.zip",
}
BUILD_ID = "RepositorySeederBuild-abc:1234"
LOGS = {"groupName": "seed-logs", "streamName": "seed/1234", "deepLink": "https://console.aws.amazon.com/logs/seed"}


class Context:
    def __init__(self, millis: int = 900_000) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


@pytest.fixture
def codebuild(monkeypatch, tmp_path):
    from moto import mock_aws

    moto_environment(monkeypatch, tmp_path, REGION)
    monkeypatch.setattr(seeding, "POLL_SECONDS", 0)
    monkeypatch.setattr(seeding.time, "sleep", lambda _s: None)
    with mock_aws():
        client = boto3.client("codebuild", region_name=REGION)
        monkeypatch.setattr(seeding.boto3, "client", lambda service, **_k: client if service == "codebuild" else None)
        with Stubber(client) as stubber:
            yield stubber
            stubber.assert_no_pending_responses()


@pytest.fixture
def responses(monkeypatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(index, "send", lambda url, body: sent.append(json.loads(body)))
    return sent


def event(request_type: str, physical_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/signed",
        "StackId": STACK_ID,
        "RequestId": "request-1",
        "LogicalResourceId": "ModelBuildRepositorySeeding1A2B3C4D",
        "ResourceType": "Custom::SeedRepository",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f", **PROPERTIES},
    }
    if physical_id:
        found["PhysicalResourceId"] = physical_id
    return found


def _start(stubber: Stubber) -> None:
    url = "https://codeconnections.us-east-1.amazonaws.com/git-http/123456789012/us-east-1/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/acme/churn-build.git"
    stubber.add_response(
        "start_build",
        {"build": {"id": BUILD_ID, "buildStatus": "IN_PROGRESS"}},
        {
            "projectName": PROPERTIES["ProjectName"],
            "environmentVariablesOverride": [
                {"name": "REPOSITORY_URL", "value": url, "type": "PLAINTEXT"},
                {"name": "BRANCH", "value": "main", "type": "PLAINTEXT"},
                {"name": "SEED_BUCKET", "value": "cdk-assets", "type": "PLAINTEXT"},
                {"name": "SEED_KEY", "value": "seed.zip", "type": "PLAINTEXT"},
            ],
        },
    )


def _status(stubber: Stubber, status: str, **more: Any) -> None:
    stubber.add_response("batch_get_builds", {"builds": [{"id": BUILD_ID, "buildStatus": status, "logs": LOGS, **more}]}, {"ids": [BUILD_ID]})


def test_create_starts_the_build_waits_and_succeeds(codebuild, responses):
    _start(codebuild)
    _status(codebuild, "IN_PROGRESS")
    _status(codebuild, "SUCCEEDED")
    seeding.seed(event("Create"), Context())
    (answer,) = responses
    assert answer["Status"] == "SUCCESS", answer
    assert "acme/churn-build" in answer["Reason"] and "seed-logs seed/1234" in answer["Reason"]
    # Stable: the same id on every Create of this resource in this stack.
    assert answer["PhysicalResourceId"] == "sagemaker-churn-p-1-project-ModelBuildRepositorySeeding1A2B3C4D"


def test_a_failed_build_fails_the_resource_with_its_log_location(codebuild, responses):
    _start(codebuild)
    phases = [{"phaseType": "BUILD", "phaseStatus": "FAILED", "contexts": [{"message": "COMMAND_EXECUTION_ERROR: exit status 1"}]}]
    _status(codebuild, "FAILED", phases=phases)
    seeding.seed(event("Create"), Context())
    (answer,) = responses
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == (
        f"seeding acme/churn-build branch main failed: build {BUILD_ID} FAILED in phase BUILD "
        "(COMMAND_EXECUTION_ERROR: exit status 1); its log: CloudWatch Logs seed-logs seed/1234 "
        "(https://console.aws.amazon.com/logs/seed)"
    )


def test_a_build_still_running_when_the_function_must_answer_is_stopped_and_fails_with_a_string(codebuild, responses):
    _start(codebuild)
    codebuild.add_response(
        "batch_get_builds", {"builds": [{"id": BUILD_ID, "buildStatus": "IN_PROGRESS"}]}, {"ids": [BUILD_ID]}
    )  # no logs yet: the message must still be a string
    codebuild.add_response("stop_build", {"build": {"id": BUILD_ID}}, {"id": BUILD_ID})
    seeding.seed(event("Create"), Context(millis=30_000))
    (answer,) = responses
    assert answer["Status"] == "FAILED"
    assert isinstance(answer["Reason"], str) and "TypeError" not in answer["Reason"]
    assert "still running when the function had to answer; it was stopped" in answer["Reason"]
    assert f"the CodeBuild console, build {BUILD_ID}" in answer["Reason"]


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_update_and_delete_do_nothing_and_keep_the_physical_id(codebuild, responses, request_type):
    seeding.seed(event(request_type, physical_id="sagemaker-churn-p-1-project-ModelBuildRepositorySeeding1A2B3C4D"), Context())
    (answer,) = responses
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "sagemaker-churn-p-1-project-ModelBuildRepositorySeeding1A2B3C4D"
    assert "nothing to do" in answer["Reason"]


def test_the_git_url_follows_the_arn_spelling_and_partition():
    old = CONNECTION.replace(":codeconnections:", ":codestar-connections:")
    assert seeding.connection_git_url(old, "o/r").startswith("https://codestar-connections.us-east-1.amazonaws.com/git-http/")
    china = "arn:aws-cn:codeconnections:cn-north-1:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
    assert seeding.connection_git_url(china, "o/r") == (
        "https://codeconnections.cn-north-1.amazonaws.com.cn/git-http/123456789012/cn-north-1/"
        "0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/o/r.git"
    )
    with pytest.raises(index.Failed, match="invalid connection ARN"):
        seeding.connection_git_url("github", "o/r")
