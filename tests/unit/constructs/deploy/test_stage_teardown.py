"""StageTeardown in a template: deleted after the pipeline and before the deployer role, scoped to the stage stacks."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs import DeployStage
from sagemaker_projects_cdk.constructs.deploy.teardown import STAGE_TEARDOWN_RESOURCE_TYPE, StageTeardown
from support import deploy_pipeline, new_app

STAGES = (DeployStage(name="qa", test=True), DeployStage(name="prod", approval=True))


def _synth() -> tuple[Stack, StageTeardown, dict]:
    stack = Stack(new_app(), "Deploy", env={"account": "123456789012", "region": "eu-west-1"})
    pipeline = deploy_pipeline(stack, STAGES)
    teardown = StageTeardown(stack, "Teardown", pipeline=pipeline, encryption_key=stack.node.find_child("Artifacts").encryption_key)
    return stack, teardown, Template.from_stack(stack).to_json()["Resources"]



def test_teardown_names_every_stage_stack_and_is_deleted_before_the_deployer_role_and_after_the_pipeline():
    stack, teardown, resources = _synth()
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == STAGE_TEARDOWN_RESOURCE_TYPE]
    resource = resources[logical_id]
    names = ["sagemaker-churn-p-abc123def456-deploy-qa", "sagemaker-churn-p-abc123def456-deploy-prod"]
    (deployer_role,) = [k for k, r in resources.items() if k.startswith("ModelDeployDeployerRole")]
    # Both stages in this account: no role to assume, this account's deployer role.
    assert resource["Properties"]["Stages"] == [
        {"StackName": name, "AssumeRoleArn": "", "DeployerRoleArn": {"Fn::GetAtt": [deployer_role, "Arn"]}} for name in names
    ]
    deployer = [k for k, r in resources.items() if k.startswith("ModelDeployDeployer")]
    assert {resources[k]["Type"] for k in deployer} == {"AWS::IAM::Role", "AWS::IAM::ManagedPolicy"}
    # CloudFormation deletes a resource before what it depends on: the stage stacks go while
    # the role that deletes their resources still exists ...
    assert set(deployer) <= set(resource["DependsOn"])
    # ... and its function's role and policy too.
    function_role = [k for k, r in resources.items() if k.startswith("TeardownHandlerRole")]
    assert len(function_role) == 2 and set(function_role) <= set(resource["DependsOn"])
    # The pipeline is deleted first, so it cannot deploy a stage again meanwhile.
    (pipeline,) = [k for k, r in resources.items() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    assert logical_id in resources[pipeline]["DependsOn"]
    assert teardown.stack_names == names


def test_teardown_function_may_only_delete_the_stage_stacks_with_the_deployer_role():
    _stack, _teardown, resources = _synth()
    (function,) = [r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function" and k.startswith("Teardown")]
    (role_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and k.startswith("TeardownHandlerRole")]
    assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert function["Properties"]["Handler"] == "index.teardown"
    policies = [r for r in resources.values() if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                and {"Ref": role_id} in r["Properties"].get("Roles", [])]
    (policy,) = policies
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    logs, stacks, pass_deployer, own_stack = statements
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert stacks["Action"] == ["cloudformation:DeleteStack", "cloudformation:DescribeStacks"]
    assert stacks["Resource"] == [
        f"arn:aws:cloudformation:eu-west-1:123456789012:stack/sagemaker-churn-p-abc123def456-deploy-{stage}/*" for stage in ("prod", "qa")
    ]
    # The stacks are deleted with the current deployer role, passed to CloudFormation only.
    assert pass_deployer["Action"] == "iam:PassRole"
    assert pass_deployer["Resource"]["Fn::GetAtt"][0].startswith("ModelDeployDeployerRole")
    assert pass_deployer["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    # Whether the project stack itself is being deleted: read-only, its own stack only.
    assert (own_stack["Action"], own_stack["Resource"]) == ("cloudformation:DescribeStacks", {"Ref": "AWS::StackId"})
    # No managed policy (AWSLambdaBasicExecutionRole).
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


def test_teardown_logs_are_encrypted_with_the_project_key_and_retained():
    _stack, _teardown, resources = _synth()
    (logs,) = [r for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup" and k.startswith("TeardownHandler")]
    (key_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::KMS::Key"]
    assert logs["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert logs["DeletionPolicy"] == "Retain"
