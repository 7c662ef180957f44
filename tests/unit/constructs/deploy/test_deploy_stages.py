"""Deployment stages as data: the deploy pipeline follows the list it is given, in order."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs.deploy.pipeline import ModelDeployPipeline
from sagemaker_projects_cdk.constructs.deploy.stages import DEFAULT_STAGES, DeployStage
from support import deploy_pipeline, new_app


def _pipeline(stages) -> tuple[ModelDeployPipeline, dict]:
    stack = Stack(new_app(), "Deploy")
    pipeline = deploy_pipeline(stack, stages)
    (resource,) = Template.from_stack(stack).find_resources("AWS::CodePipeline::Pipeline").values()
    return pipeline, resource["Properties"]


def _layout(properties: dict) -> list[tuple[str, list[tuple[str, int]]]]:
    return [(s["Name"], [(a["Name"], a.get("RunOrder", 1)) for a in s["Actions"]]) for s in properties["Stages"]]


def test_default_stages_are_staging_tested_then_approval_then_prod():
    assert [(s.name, s.test, s.approval) for s in DEFAULT_STAGES] == [("staging", True, False), ("prod", False, True)]
    _, properties = _pipeline(DEFAULT_STAGES)
    assert _layout(properties) == [
        ("Source", [("Source", 1)]),
        ("Build", [("BuildStageFiles", 1)]),
        ("DeployStaging", [("DeployStaging", 1), ("TestStaging", 2), ("ApproveDeployment", 3)]),
        ("DeployProd", [("ReadDeployedProd", 1), ("DeployProd", 2), ("RecordChangeProd", 3)]),
    ]


def test_three_stages_with_two_approvals_and_two_tested_stages():
    stages = (
        DeployStage(name="qa", test=True),
        DeployStage(name="pre-prod", approval=True, test=True),
        DeployStage(name="prod", approval=True),
    )
    pipeline, properties = _pipeline(stages)
    assert _layout(properties) == [
        ("Source", [("Source", 1)]),
        ("Build", [("BuildStageFiles", 1)]),
        ("DeployQa", [("DeployQa", 1), ("TestQa", 2), ("ApproveDeployment", 3)]),
        ("DeployPreProd", [("DeployPreProd", 1), ("TestPreProd", 2), ("ApproveDeployment", 3)]),
        ("DeployProd", [("ReadDeployedProd", 1), ("DeployProd", 2), ("RecordChangeProd", 3)]),
    ]
    deploys = {a["Name"]: a["Configuration"] for s in properties["Stages"] for a in s["Actions"] if a["Name"].startswith("Deploy")}
    assert deploys["DeployPreProd"]["StackName"] == "sagemaker-churn-p-abc123def456-deploy-pre-prod"
    assert deploys["DeployPreProd"]["TemplateConfiguration"] == "BuildArtifact::pre-prod-params.json"
    approvals = [a["Configuration"]["CustomData"] for s in properties["Stages"] for a in s["Actions"] if a["Name"] == "ApproveDeployment"]
    assert approvals == ["Approve to deploy the model tested in qa to pre-prod.", "Approve to deploy the model tested in pre-prod to prod."]
    assert sorted(pipeline.test_projects) == ["pre-prod", "qa"]
    # build.py is told the stages, in order; each test step is told its stage.
    template = Template.from_stack(Stack.of(pipeline))
    env = lambda project: {v["Name"]: v["Value"] for v in template.to_json()["Resources"][Stack.of(pipeline).get_logical_id(project.node.default_child)]["Properties"]["Environment"]["EnvironmentVariables"]}  # noqa: E731
    assert env(pipeline.build_project)["DEPLOY_STAGES"] == "qa,pre-prod,prod"
    assert env(pipeline.build_project)["TESTED_STAGES"] == "qa,pre-prod"
    assert env(pipeline.test_projects["pre-prod"])["STAGE_NAME"] == "pre-prod"


def test_a_first_stage_that_needs_approval_waits_after_the_build():
    _, properties = _pipeline((DeployStage(name="prod", approval=True),))
    assert _layout(properties)[1:] == [
        ("Build", [("BuildStageFiles", 1), ("ApproveDeployment", 2)]),
        ("DeployProd", [("ReadDeployedProd", 1), ("DeployProd", 2), ("RecordChangeProd", 3)]),
    ]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ((), "invalid stages []: expected one or more DeployStage with distinct names"),
        ((DeployStage(name="qa"), DeployStage(name="qa")), "invalid stages ['qa', 'qa']: expected one or more DeployStage with distinct names"),
    ],
)
def test_bad_stage_lists_are_refused(stages, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _pipeline(stages)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Prod"}, "invalid stage name 'Prod': expected 1 to 15 lower-case letters, digits and inner hyphens"),
        ({"name": "a-very-long-stage-name"}, "invalid stage name 'a-very-long-stage-name'"),
        ({"name": "prod", "account": "11112222333"}, "invalid stage 'prod' account '11112222333': expected a 12-digit AWS account id or '' (this account)"),
        ({"name": "prod", "account": 111122223333}, "invalid stage 'prod' account 111122223333: expected a 12-digit"),
        ({"name": "prod", "region": "EU-WEST-1"}, "invalid stage 'prod' region 'EU-WEST-1': expected an AWS region name"),
        ({"name": "prod", "region": "eu-west"}, "invalid stage 'prod' region 'eu-west': expected an AWS region name"),
        ({"name": "prod", "change_record": "yes"}, "invalid stage 'prod' change_record 'yes': expected True, False or None"),
    ],
)
def test_bad_stages_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DeployStage(**kwargs)


def test_stage_accounts_and_regions_may_be_given_empty_or_as_tokens():
    from aws_cdk import Aws

    for account in ("111122223333", "", Aws.ACCOUNT_ID):
        assert DeployStage(name="prod", account=account).account == account
    for region in ("eu-west-1", "us-gov-west-1", "", Aws.REGION):
        assert DeployStage(name="prod", region=region).region == region


def test_stage_titles_and_lengths_are_refused():
    with pytest.raises(ValueError, match="distinct titles"):
        _pipeline((DeployStage(name="a-b"), DeployStage(name="a--b")))
    with pytest.raises(ValueError, match=re.escape("invalid stage name 'a----------------b'")):
        DeployStage(name="a" + "-" * 16 + "b")
    with pytest.raises(ValueError, match="expected a tuple of one or more DeployStage"):
        _pipeline(DeployStage(name="prod"))


def test_an_approval_after_an_untested_stage_says_deployed():
    _, properties = _pipeline((DeployStage(name="qa"), DeployStage(name="prod", approval=True)))
    assert _layout(properties)[2] == ("DeployQa", [("DeployQa", 1), ("ApproveDeployment", 2)])
    (approval,) = [a for s in properties["Stages"] for a in s["Actions"] if a["Name"] == "ApproveDeployment"]
    assert approval["Configuration"]["CustomData"] == "Approve to deploy the model deployed in qa to prod."


def _env(pipeline: ModelDeployPipeline, project) -> dict:
    stack = Stack.of(pipeline)
    resource = Template.from_stack(stack).to_json()["Resources"][stack.get_logical_id(project.node.default_child)]
    return {v["Name"]: v["Value"] for v in resource["Properties"]["Environment"]["EnvironmentVariables"]}


def test_only_the_last_stage_records_changes_unless_a_stage_says_otherwise():
    assert [s.change_record for s in DEFAULT_STAGES] == [None, None]
    stages = (
        DeployStage(name="qa", test=True, change_record=True),
        DeployStage(name="staging", approval=True, test=True),
        DeployStage(name="prod", approval=True),
    )
    pipeline, properties = _pipeline(stages)
    # A stage that records changes first reads the version it serves (right before its
    # deployment), then records the change beside its tests; the next stage's approval waits.
    assert _layout(properties)[2:] == [
        ("DeployQa", [("ReadDeployedQa", 1), ("DeployQa", 2), ("TestQa", 3), ("RecordChangeQa", 3), ("ApproveDeployment", 4)]),
        ("DeployStaging", [("DeployStaging", 1), ("TestStaging", 2), ("ApproveDeployment", 3)]),
        ("DeployProd", [("ReadDeployedProd", 1), ("DeployProd", 2), ("RecordChangeProd", 3)]),
    ]
    assert sorted(pipeline.change_record_projects) == ["prod", "qa"]
    assert _env(pipeline, pipeline.build_project)["CHANGE_RECORD_STAGES"] == "qa,prod"
    # Each change-record action is told its stage and where the approval before it is.
    assert _env(pipeline, pipeline.change_record_projects["prod"]) == {
        "SAGEMAKER_PROJECT_NAME": "churn",
        "SAGEMAKER_PROJECT_ID": "p-abc123def456",
        "STAGE_NAME": "prod",
        "PIPELINE_NAME": "sagemaker-churn-p-abc123def456-modeldeploy",
        "APPROVAL_STAGE": "DeployStaging",
        "APPROVAL_ACTION": "ApproveDeployment",
    }
    assert "APPROVAL_STAGE" not in _env(pipeline, pipeline.change_record_projects["qa"])  # qa needs no approval
    records = {a["Name"]: a for s in properties["Stages"] for a in s["Actions"] if a["Name"].startswith("RecordChange")}
    assert records["RecordChangeProd"]["InputArtifacts"] == [{"Name": "BuildArtifact"}]
    assert json.loads(records["RecordChangeProd"]["Configuration"]["EnvironmentVariables"]) == [
        {"name": "CHANGE_RECORD_STEP", "type": "PLAINTEXT", "value": "record"},
        {"name": "PIPELINE_EXECUTION_ID", "type": "PLAINTEXT", "value": "#{codepipeline.PipelineExecutionId}"},
        # The version prod served right before its deployment, read in the same pipeline stage.
        {"name": "PREVIOUS_MODEL_PACKAGE_ARN", "type": "PLAINTEXT", "value": "#{DeployedProd.PREVIOUS_MODEL_PACKAGE_ARN}"},
    ]
    snapshots = {a["Name"]: a for s in properties["Stages"] for a in s["Actions"] if a["Name"].startswith("ReadDeployed")}
    assert snapshots["ReadDeployedProd"]["Namespace"] == "DeployedProd"
    assert snapshots["ReadDeployedProd"]["Configuration"]["ProjectName"] == records["RecordChangeProd"]["Configuration"]["ProjectName"]
    assert json.loads(snapshots["ReadDeployedProd"]["Configuration"]["EnvironmentVariables"]) == [
        {"name": "CHANGE_RECORD_STEP", "type": "PLAINTEXT", "value": "snapshot"}
    ]
    # No stage records changes: no action, no variable, no project.
    pipeline, properties = _pipeline((DeployStage(name="staging", test=True), DeployStage(name="prod", change_record=False)))
    assert not [a for s in properties["Stages"] for a in s["Actions"] if a["Name"].startswith("RecordChange")]
    assert "CHANGE_RECORD_STAGES" not in _env(pipeline, pipeline.build_project) and pipeline.change_record_projects == {}
