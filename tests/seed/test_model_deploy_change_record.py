"""The deploy seed's change record (change/change_record.py and build.py's <stage>-change.json).

build.py runs as the pipeline runs it (a subprocess) against a local moto server; the change
record goes to moto's EventBridge, whose rule (the README's forwarding rule) delivers it to an
SQS queue, where the test reads what a change-management integration would receive.

moto implements no ``codepipeline:ListActionExecutions``: where the stage needs an approval,
the CodePipeline client is botocore's ``Stubber`` answering that one call as CodePipeline's
API reference documents it (``ActionExecutionDetail``: ``updatedBy``, ``lastUpdateTime``,
``output.executionResult.externalExecutionSummary``); EventBridge is moto's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from model_deploy_support import (
    ACCOUNT,
    PROJECT_BUCKET,
    REGION,
    SEED,
    aws_environment,
    change_event_queue,
    client,
    load_change_record_module,
    moto_server,
    received_events,
    register_versions,
    run_script,
    unique,
)
from sagemaker_projects_cdk.constructs.deploy.pipeline import CHANGE_EVENT_DETAIL_TYPE, CHANGE_EVENT_SOURCE

change_record = load_change_record_module()
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PROJECT, PROJECT_ID = "churn", "p-abc123def456"
PIPELINE = f"sagemaker-{PROJECT}-{PROJECT_ID}-modeldeploy"
EXECUTION = "0b8f4a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
APPROVER = f"arn:aws:sts::{ACCOUNT}:assumed-role/ReleaseManager/alice"
APPROVED_AT = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
#: What the pipeline gives the prod change-record action (ModelDeployPipeline).
ARN_V1 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-p-1/1"
CHANGE_ENV = {
    "SAGEMAKER_PROJECT_NAME": PROJECT,
    "SAGEMAKER_PROJECT_ID": PROJECT_ID,
    "STAGE_NAME": "prod",
    "PIPELINE_NAME": PIPELINE,
    "PIPELINE_EXECUTION_ID": EXECUTION,
    "APPROVAL_STAGE": "DeployStaging",
    "APPROVAL_ACTION": "ApproveDeployment",
    # What the snapshot step right before the deployment exported (none: a first deployment).
    "PREVIOUS_MODEL_PACKAGE_ARN": "none",
}

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_url():
    with moto_server() as url:
        yield url


def _build(url: str, group: str, out, project_id: str = PROJECT_ID, **extra: str):
    env = aws_environment(
        url,
        MODEL_PACKAGE_GROUP_NAME=group,
        SAGEMAKER_PROJECT_NAME=PROJECT,
        SAGEMAKER_PROJECT_ID=project_id,
        ARTIFACT_BUCKET=PROJECT_BUCKET,
        ARTIFACT_KMS_KEY_ARN=KEY_ARN,
        CHANGE_RECORD_STAGES="prod",
        **extra,
    )
    result = run_script(SEED / "build.py", ["--output-dir", str(out)], env)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "prod-change.json").read_text())


def _approval_detail(stage: str, action: str, status: str, when: datetime, by: str = APPROVER, summary: str = "CAB-1234 ok") -> dict:
    return {
        "pipelineExecutionId": EXECUTION,
        "actionExecutionId": unique("action-"),
        "stageName": stage,
        "actionName": action,
        "startTime": when,
        "lastUpdateTime": when,
        "updatedBy": by,
        "status": status,
        "output": {"executionResult": {"externalExecutionSummary": summary}},
    }


def _codepipeline(url: str, details: list[dict]):
    """A CodePipeline client whose ListActionExecutions (this execution) answers ``details``."""
    codepipeline = client(url, "codepipeline")
    stubber = Stubber(codepipeline)
    stubber.add_response(
        "list_action_executions",
        {"actionExecutionDetails": details},
        {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": EXECUTION}},
    )
    stubber.activate()
    return codepipeline, stubber


def test_the_event_source_and_detail_type_are_the_ones_the_role_may_put():
    # change_record.py runs without this library; its constants must not drift from the role's condition.
    assert (change_record.SOURCE, change_record.DETAIL_TYPE) == (CHANGE_EVENT_SOURCE, CHANGE_EVENT_DETAIL_TYPE)
    assert (CHANGE_EVENT_SOURCE, CHANGE_EVENT_DETAIL_TYPE) == ("sagemaker-projects-cdk", "SageMaker Project Model Deployment")


def test_a_first_prod_deployment_is_recorded_with_its_approval_and_no_previous_version(moto_url, tmp_path):
    group = unique("churn-first-")
    (arn,) = register_versions(client(moto_url, "sagemaker"), group, ["Approved"])
    change = _build(moto_url, group, tmp_path / "out")
    assert change == {
        "stage": "prod",
        "stack_name": f"sagemaker-{PROJECT}-{PROJECT_ID}-deploy-prod",
        "endpoint_name": f"{PROJECT}-{PROJECT_ID}-prod",
        "model_package_arn": arn,
    }
    assert not (tmp_path / "out" / "staging-change.json").exists()  # staging records no change

    queue = change_event_queue(moto_url, unique("changes-"))
    rejected = _approval_detail("DeployStaging", "ApproveDeployment", "Failed", datetime(2026, 3, 4, 9, tzinfo=UTC), summary="not yet")
    details = [
        _approval_detail("DeployStaging", "DeployStaging", "Succeeded", datetime(2026, 3, 4, 8, tzinfo=UTC), by="codepipeline"),
        rejected,
        _approval_detail("DeployStaging", "ApproveDeployment", "Succeeded", APPROVED_AT),  # approved on the retry
    ]
    codepipeline, stubber = _codepipeline(moto_url, details)
    change_record.record(tmp_path / "out" / "prod-change.json", CHANGE_ENV, codepipeline, client(moto_url, "events"))
    stubber.assert_no_pending_responses()

    (event,) = received_events(moto_url, queue)
    # (moto's delivery to SQS leaves out the envelope's "account"; EventBridge sets it.)
    assert (event["source"], event["detail-type"], event["region"]) == (
        "sagemaker-projects-cdk",
        "SageMaker Project Model Deployment",
        REGION,
    )
    assert event["resources"] == [arn]
    assert event["detail"] == {
        "projectName": PROJECT,
        "projectId": PROJECT_ID,
        "stage": "prod",
        "stackName": f"sagemaker-{PROJECT}-{PROJECT_ID}-deploy-prod",
        "endpointName": f"{PROJECT}-{PROJECT_ID}-prod",
        "modelPackageGroupName": group,
        "modelPackageArn": arn,
        "modelPackageVersion": 1,
        "previousModelPackageArn": None,
        "previousModelPackageVersion": None,
        "versionChanged": True,
        "pipelineName": PIPELINE,
        "pipelineExecutionId": EXECUTION,
        "approval": {
            "required": True,
            "status": "Approved",
            "approvedBy": APPROVER,
            "approvedAt": "2026-03-04T10:30:00+00:00",
            "summary": "CAB-1234 ok",
        },
    }


def test_a_later_deployment_names_the_version_the_prod_stack_served_before(moto_url, tmp_path):
    sagemaker, cfn = client(moto_url, "sagemaker"), client(moto_url, "cloudformation")
    group, project_id = unique("churn-later-"), "p-later0000001"  # a stack of its own
    (first,) = register_versions(sagemaker, group, ["Approved"])
    _build(moto_url, group, tmp_path / "first", project_id)
    # CloudFormation deploys prod with the first version (as the pipeline's DeployProd does).
    params = json.loads((tmp_path / "first" / "prod-params.json").read_text())
    stack = f"sagemaker-{PROJECT}-{project_id}-deploy-prod"
    cfn.create_stack(
        StackName=stack,
        TemplateBody=(tmp_path / "first" / "endpoint-stage.template.json").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params["Parameters"].items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    second = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification=sagemaker.describe_model_package(ModelPackageName=first)["InferenceSpecification"],
    )["ModelPackageArn"]
    change = _build(moto_url, group, tmp_path / "second", project_id)
    assert change["model_package_arn"] == second

    # Right before prod's deployment, the snapshot step reads the version prod serves then: the
    # whole script as CodeBuild runs it, in the artifact's root.
    env = {**CHANGE_ENV, "SAGEMAKER_PROJECT_ID": project_id}
    result = run_script(
        SEED / "change" / "change_record.py", ["--snapshot"], aws_environment(moto_url, STAGE_NAME="prod"), cwd=tmp_path / "second"
    )
    assert (result.returncode, result.stdout.strip()) == (0, first), result.stderr
    env["PREVIOUS_MODEL_PACKAGE_ARN"] = result.stdout.strip()

    queue = change_event_queue(moto_url, unique("changes-"))
    codepipeline, _ = _codepipeline(moto_url, [_approval_detail("DeployStaging", "ApproveDeployment", "Succeeded", APPROVED_AT)])
    change_record.record(tmp_path / "second" / "prod-change.json", env, codepipeline, client(moto_url, "events"))
    (event,) = received_events(moto_url, queue)
    detail = event["detail"]
    assert (detail["modelPackageArn"], detail["modelPackageVersion"]) == (second, 2)
    assert (detail["previousModelPackageArn"], detail["previousModelPackageVersion"]) == (first, 1)
    assert detail["versionChanged"] is True


def test_a_redeployment_of_the_same_version_says_the_version_did_not_change():
    detail = change_record.change_detail(
        {**CHANGE_ENV},
        {"model_package_arn": ARN_V1, "previous_model_package_arn": ARN_V1, "stack_name": "s", "endpoint_name": "e"},
        {"required": False, "status": "NotRequired", "approvedBy": None, "approvedAt": None, "summary": None},
    )
    assert (detail["modelPackageVersion"], detail["previousModelPackageVersion"], detail["versionChanged"]) == (1, 1, False)


def test_the_snapshot_of_a_stage_never_deployed_is_none_and_the_record_needs_the_snapshot(moto_url, tmp_path):
    group = unique("churn-snapshot-")
    register_versions(client(moto_url, "sagemaker"), group, ["Approved"])
    _build(moto_url, group, tmp_path / "out", "p-snapshot00001")  # no prod stack of this project
    env = {"STAGE_NAME": "prod"}
    assert change_record.snapshot(tmp_path / "out" / "prod-change.json", env, client(moto_url, "cloudformation")) == "none"
    without = {k: v for k, v in CHANGE_ENV.items() if k != "PREVIOUS_MODEL_PACKAGE_ARN"}
    with pytest.raises(change_record.ChangeRecordError, match="missing environment: PREVIOUS_MODEL_PACKAGE_ARN"):
        change_record.record(tmp_path / "out" / "prod-change.json", without, None, None)


def test_an_approval_not_found_is_still_recorded_with_status_not_found(moto_url, tmp_path, capsys):
    group = unique("churn-unapproved-")
    register_versions(client(moto_url, "sagemaker"), group, ["Approved"])
    _build(moto_url, group, tmp_path / "out")
    queue = change_event_queue(moto_url, unique("changes-"))
    # Only other actions of this execution (e.g. the approval action was renamed or removed).
    codepipeline, _ = _codepipeline(moto_url, [_approval_detail("DeployStaging", "TestStaging", "Succeeded", APPROVED_AT, by="codepipeline")])
    change_record.record(tmp_path / "out" / "prod-change.json", CHANGE_ENV, codepipeline, client(moto_url, "events"))
    (event,) = received_events(moto_url, queue)
    assert event["detail"]["approval"] == {"required": True, "status": "NotFound", "approvedBy": None, "approvedAt": None, "summary": None}
    assert (
        f"no succeeded approval DeployStaging/ApproveDeployment in execution {EXECUTION} of pipeline {PIPELINE}; "
        "recording the deployment with approval status NotFound" in capsys.readouterr().err
    )


def test_the_script_records_a_stage_that_needs_no_approval_without_asking_codepipeline(moto_url, tmp_path):
    # The whole script as CodeBuild runs it, in the artifact's root; no approval: no CodePipeline call.
    group = unique("churn-noapproval-")
    (arn,) = register_versions(client(moto_url, "sagemaker"), group, ["Approved"])
    _build(moto_url, group, tmp_path / "out")
    queue = change_event_queue(moto_url, unique("changes-"))
    env = aws_environment(moto_url, **{k: v for k, v in CHANGE_ENV.items() if not k.startswith("APPROVAL_")})
    result = run_script(SEED / "change" / "change_record.py", ["--change", "prod-change.json"], env, cwd=tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "change_record.py: put 'SageMaker Project Model Deployment' from 'sagemaker-projects-cdk'" in result.stdout
    (event,) = received_events(moto_url, queue)
    assert event["detail"]["modelPackageArn"] == arn
    assert event["detail"]["approval"] == {"required": False, "status": "NotRequired", "approvedBy": None, "approvedAt": None, "summary": None}


def test_missing_environment_or_change_file_fails_with_what_is_missing(moto_url, tmp_path):
    env = aws_environment(moto_url, STAGE_NAME="prod")
    result = run_script(SEED / "change" / "change_record.py", [], env, cwd=tmp_path)
    assert result.returncode == 1
    assert "missing environment: SAGEMAKER_PROJECT_NAME (the SageMaker project name)" in result.stderr
    assert "PIPELINE_EXECUTION_ID (the pipeline execution that deployed it" in result.stderr
    result = run_script(SEED / "change" / "change_record.py", [], aws_environment(moto_url, **CHANGE_ENV), cwd=tmp_path)
    assert result.returncode == 1
    assert "prod-change.json cannot be read" in result.stderr
    assert "build.py writes it for each stage in CHANGE_RECORD_STAGES" in result.stderr
