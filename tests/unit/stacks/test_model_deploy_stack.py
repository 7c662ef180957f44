"""The model-deploy template: pipeline shape, trigger, deployer scoping."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

from sagemaker_projects_cdk.stacks import ModelDeployStack
from support import new_app


@pytest.fixture(scope="module")
def deploy(assembly) -> Template:
    return Template.from_json(assembly.templates["model-deploy"])


def _stage(pipeline: dict, name: str) -> dict:
    return next(s for s in pipeline["Properties"]["Stages"] if s["Name"] == name)


def test_pipeline_runs_build_staging_test_approval_then_prod(deploy):
    (pipeline,) = deploy.find_resources("AWS::CodePipeline::Pipeline").values()
    assert [s["Name"] for s in pipeline["Properties"]["Stages"]] == ["Source", "Build", "DeployStaging", "DeployProd"]
    staging = _stage(pipeline, "DeployStaging")["Actions"]
    assert [(a["Name"], a["ActionTypeId"]["Provider"], a["RunOrder"]) for a in staging] == [
        ("DeployStaging", "CloudFormation", 1),
        ("TestStaging", "CodeBuild", 2),
        ("ApproveDeployment", "Manual", 3),
    ]
    (prod,) = [a for a in _stage(pipeline, "DeployProd")["Actions"] if a["Name"] == "DeployProd"]
    assert prod["ActionTypeId"]["Provider"] == "CloudFormation"
    config = prod["Configuration"]
    assert config["TemplatePath"] == "BuildArtifact::endpoint-stage.template.json"
    assert config["TemplateConfiguration"] == "BuildArtifact::prod-params.json"
    assert config["Capabilities"] == "CAPABILITY_IAM"
    assert config["StackName"] == {
        "Fn::Join": ["", ["sagemaker-", {"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}, "-deploy-prod"]]
    }
    assert _stage(pipeline, "DeployStaging")["Actions"][0]["Configuration"]["TemplateConfiguration"] == "BuildArtifact::staging-params.json"


def test_approval_or_rejection_of_the_group_starts_the_pipeline(deploy):
    deploy.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": [{"Ref": "SourceModelPackageGroupName"}],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            },
            "Targets": [Match.object_like({"Arn": Match.any_value(), "RoleArn": Match.any_value()})],
        },
    )
    # And a push to the deploy repository (CodeCommit source trigger).
    deploy.has_resource_properties(
        "AWS::Events::Rule",
        {"EventPattern": Match.object_like({"source": ["aws.codecommit"], "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceName": ["main"]}})},
    )


def test_group_parameter_defaults_to_the_model_build_templates_group(assembly, deploy):
    default = deploy.to_json()["Parameters"]["SourceModelPackageGroupName"]["Default"]
    build = assembly.templates["model-build"]["Parameters"]
    assert default == f'{build["SageMakerProjectName"]["Default"]}-{build["SageMakerProjectId"]["Default"]}'


def test_build_step_gets_what_build_py_reads(deploy):
    projects = deploy.find_resources("AWS::CodeBuild::Project")
    builds = [p for p in projects.values() if p["Properties"]["Source"].get("BuildSpec") is None]
    (build,) = builds
    names = {v["Name"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]}
    assert names == {
        "SAGEMAKER_PROJECT_NAME",
        "SAGEMAKER_PROJECT_ID",
        "MODEL_PACKAGE_GROUP_NAME",
        "ARTIFACT_BUCKET",
        "ARTIFACT_KMS_KEY_ARN",
        "MODEL_ARTIFACT_BUCKET",
        "MODEL_ARTIFACT_KMS_KEY_ARN",
        "DEPLOY_STAGES",
        "TESTED_STAGES",
        "CHANGE_RECORD_STAGES",
        # The stages' accounts and endpoint roles (empty unless StagingAccountId or ProdAccountId names another).
        "STAGE_ACCOUNTS",
        "STAGE_EXECUTION_ROLE_ARNS",
        # The project's private network (empty without one): build.py's NETWORK_VARIABLES pass it
        # to a stage in this account as the stage template's PrivateVpcId/SubnetIds/SecurityGroupIds.
        "PRIVATE_VPC_ID",
        "PRIVATE_SUBNET_IDS",
        "PRIVATE_SECURITY_GROUP_IDS",
    }
    variables = {v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]}
    assert (variables["DEPLOY_STAGES"], variables["TESTED_STAGES"], variables["CHANGE_RECORD_STAGES"]) == ("staging,prod", "staging", "prod")
    (test,) = [p for p in projects.values() if p["Properties"]["Source"].get("BuildSpec") == "test/buildspec.yml"]
    test_variables = {v["Name"]: v["Value"] for v in test["Properties"]["Environment"]["EnvironmentVariables"]}
    assert test_variables["STAGE_NAME"] == "staging"


def _statements(deploy: Template, role_id: str) -> list[dict]:
    """The statements of the role's policy (not those that exist only for a stage in another account)."""
    (policy,) = [
        p
        for p in deploy.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"] and "InOtherAccount" not in p.get("Condition", "")
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _here(value: dict) -> dict:
    """A role of this account: the same-account branch of a stage's ``<Stage>InOtherAccount`` ``Fn::If``."""
    return value["Fn::If"][2] if "Fn::If" in value else value


def _arn(service: str, resource: list) -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":{service}:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, *resource]]}


def test_prod_deployments_are_recorded_by_a_role_that_may_only_read_this_pipeline_and_put_the_change_event(deploy):
    (pipeline,) = deploy.find_resources("AWS::CodePipeline::Pipeline").values()
    prod = _stage(pipeline, "DeployProd")["Actions"]
    assert [(a["Name"], a["ActionTypeId"]["Provider"], a["RunOrder"]) for a in prod] == [
        ("ReadDeployedProd", "CodeBuild", 1),
        ("DeployProd", "CloudFormation", 2),
        ("RecordChangeProd", "CodeBuild", 3),
    ]
    project_id = prod[2]["Configuration"]["ProjectName"]["Ref"]
    assert prod[0]["Configuration"]["ProjectName"]["Ref"] == project_id  # one project, two steps
    project = deploy.find_resources("AWS::CodeBuild::Project")[project_id]
    assert project["Properties"]["Source"]["BuildSpec"] == "change/buildspec.yml"
    role_id = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    own = [s for s in _statements(deploy, role_id) if not any(a.split(":")[0] in ("logs", "codebuild", "kms", "s3") for a in _actions(s))]
    name = [{"Ref": "SageMakerProjectName"}, "-", {"Ref": "SageMakerProjectId"}]
    assert own == [
        # The snapshot step: the version the prod stack serves before the deployment.
        {"Action": "cloudformation:DescribeStacks", "Effect": "Allow", "Resource": _arn("cloudformation", [":stack/sagemaker-", *name, "-deploy-prod/*"])},
        {"Action": "codepipeline:ListActionExecutions", "Effect": "Allow", "Resource": _arn("codepipeline", [":sagemaker-", *name, "-modeldeploy"])},
        {
            "Action": "events:PutEvents",
            "Condition": {
                "StringEquals": {"events:source": "sagemaker-projects-cdk", "events:detail-type": "SageMaker Project Model Deployment"}
            },
            "Effect": "Allow",
            "Resource": _arn("events", [":event-bus/default"]),
        },
    ]
    # The build reads no stack.
    build_role = next(
        p["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        for p in deploy.find_resources("AWS::CodeBuild::Project").values()
        if p["Properties"]["Source"].get("BuildSpec") is None
    )
    assert not [s for s in _statements(deploy, build_role) if any(a.startswith("cloudformation:") for a in _actions(s))]


def _actions(statement: dict) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_cloudformation_deploys_with_a_scoped_service_role_not_admin(deploy):
    (pipeline,) = deploy.find_resources("AWS::CodePipeline::Pipeline").values()
    roles = {_here(a["Configuration"]["RoleArn"])["Fn::GetAtt"][0] for s in pipeline["Properties"]["Stages"] for a in s["Actions"] if a["ActionTypeId"]["Provider"] == "CloudFormation"}
    (deployer,) = roles
    role = deploy.find_resources("AWS::IAM::Role")[deployer]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWS-managed (admin) policy
    policy = next(
        p for p in deploy.find_resources("AWS::IAM::ManagedPolicy").values() if {"Ref": deployer} in p["Properties"]["Roles"]
    )
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    # IAM only under the project's path; SageMaker creation only with the project's id tag.
    assert statements["ModelRoles"]["Resource"]["Fn::Join"][1][-3:] == [":role/sagemaker-projects/", {"Ref": "SageMakerProjectId"}, "/*"]
    assert statements["CreateTaggedModelsAndConfigs"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/sagemaker:project-id": {"Ref": "SageMakerProjectId"}}
    }
    assert statements["PassModelRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_stage_template_puts_its_iam_under_the_path_the_deployer_may_manage():
    import json

    from sagemaker_projects_cdk.stacks.endpoint_stage import STAGE_TEMPLATE_PATH

    template = json.loads(STAGE_TEMPLATE_PATH.read_text())
    paths = [r["Properties"]["Path"] for r in template["Resources"].values() if r["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy")]
    assert paths and all(p == {"Fn::Join": ["", ["/sagemaker-projects/", {"Ref": "SageMakerProjectId"}, "/"]]} for p in paths)


def test_approval_topic_is_notified():
    from aws_cdk import Stack
    from aws_cdk import aws_sns as sns

    app = new_app()
    topic = sns.Topic(Stack(app, "Topics"), "Approvals")
    stack = ModelDeployStack(
        app, "Notify", project_name="churn", project_id="p-1", model_package_group_name="churn-models", approval_topic=topic
    )
    (pipeline,) = Template.from_stack(stack).find_resources("AWS::CodePipeline::Pipeline").values()
    approval = _stage(pipeline, "DeployStaging")["Actions"][2]
    # The topic lives in another stack: its ARN arrives as that stack's output.
    assert approval["Configuration"]["NotificationArn"]["Fn::GetStackOutput"]["StackName"] == "Topics"


def test_bad_group_name_is_refused():
    with pytest.raises(ValueError, match="invalid model_package_group_name 'bad_name': expected 1 to 63 letters"):
        ModelDeployStack(new_app(), "Bad", model_package_group_name="bad_name")
