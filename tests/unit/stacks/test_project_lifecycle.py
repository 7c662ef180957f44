"""A project's lifecycle in every template: a retained-name check before the named resources,
the stage teardown before the deployer role, and retained resources still retained."""

from __future__ import annotations

import pytest

from sagemaker_projects_cdk.stacks import TEMPLATES

RETAINED_TYPES = (
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::CodeCommit::Repository",
    "AWS::SageMaker::ModelPackageGroup",
    "AWS::Logs::LogGroup",
    "AWS::ECR::Repository",  # image-build-deploy's, by default (empty_on_delete=False)
)


def of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_named_retained_resources_are_created_after_the_check_of_their_names(assembly, template_id):
    template = assembly.templates[template_id]
    ((check_id, check),) = of_type(template, "Custom::RetainedResourceCheck").items()
    repositories = of_type(template, "AWS::CodeCommit::Repository")
    groups = of_type(template, "AWS::SageMaker::ModelPackageGroup")
    images = of_type(template, "AWS::ECR::Repository")
    # A template on a Git host (through a connection) creates no CodeCommit repository.
    assert bool(repositories) != ("CodeConnectionArn" in template.get("Parameters", {}))
    for resource in [*repositories.values(), *groups.values(), *images.values()]:
        assert check_id in resource["DependsOn"]
    assert check["Properties"].get("RepositoryNames", []) == [r["Properties"]["RepositoryName"] for r in repositories.values()]
    assert check["Properties"].get("ImageRepositoryNames", []) == [r["Properties"]["RepositoryName"] for r in images.values()]
    if groups:
        (group,) = groups.values()
        assert check["Properties"]["ModelPackageGroupName"] == group["Properties"]["ModelPackageGroupName"]
    else:  # model-deploy deploys another project's group: it must exist
        assert "ModelPackageGroupName" not in check["Properties"]
    policy = next(
        r for k, r in of_type(template, "AWS::IAM::Policy").items() if k.startswith("RetainedResourceCheckHandlerRole")
    )
    actions: set[str] = set()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions.update(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    expected = {"logs:CreateLogStream", "logs:PutLogEvents"} | ({"codecommit:GetRepository"} if repositories else set())
    expected |= {"ecr:DescribeRepositories"} if images else set()
    assert actions == expected | ({"sagemaker:DescribeModelPackageGroup"} if groups else set())


@pytest.mark.parametrize("template_id", ["model-deploy", "build-deploy"])
def test_deleting_a_deploy_project_deletes_its_stage_stacks_first(assembly, template_id):
    template = assembly.templates[template_id]
    ((teardown_id, teardown),) = of_type(template, "Custom::StageTeardown").items()
    names = [stage["StackName"] for stage in teardown["Properties"]["Stages"]]
    assert [n["Fn::Join"][1][-1] for n in names] == ["-deploy-staging", "-deploy-prod"]
    deployer = {k for k in template["Resources"] if k.startswith("ModelDeployDeployer")}
    # The role and its two managed policies (the second: the asynchronous and batch stages').
    assert len(deployer) == 3 and deployer <= set(teardown["DependsOn"])
    (pipeline,) = [r for k, r in of_type(template, "AWS::CodePipeline::Pipeline").items() if k.startswith("ModelDeploy")]
    assert teardown_id in pipeline["DependsOn"]


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_lifecycle_logs_and_all_state_are_retained(assembly, template_id):
    template = assembly.templates[template_id]
    prefixes = ("RetainedResourceCheckHandler", "StageTeardownHandler") if "deploy" in template_id else ("RetainedResourceCheckHandler",)
    for prefix in prefixes:
        (logs,) = [r for k, r in of_type(template, "AWS::Logs::LogGroup").items() if k.startswith(prefix)]
        assert "KmsKeyId" in logs["Properties"]
    for resource_type in RETAINED_TYPES:
        for logical_id, resource in of_type(template, resource_type).items():
            assert resource.get("DeletionPolicy") == "Retain", logical_id
