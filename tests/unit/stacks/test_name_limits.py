"""Every name a template generates fits its service's limit for the longest project name and id.

Studio allows project names of 32 characters (CreateProject's ProjectName) and generates ids of
``p-`` and 12 lower-case characters; ``cdk deploy`` users may pass ids of up to 20, provided
``<name>-<id>`` keeps within 47 characters. Stage names have up to 15 characters.
"""

from __future__ import annotations

import importlib.util

import pytest
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs import DeployStage
from sagemaker_projects_cdk.constructs.monitor.naming import (
    MONITOR_SLUGS,
    check_name_prefix,
    fits,
    job_definition_name,
    schedule_name,
)
from sagemaker_projects_cdk.constructs.project.identity import JOB_BASE_NAME_MAX_LENGTH, ProjectIdentity
from sagemaker_projects_cdk.stacks import BuildDeployMonitorStack, BuildDeployStack, ImageBuildDeployStack
from support import REPO, new_app

LONGEST_STAGE = "s" * 15


def _seed_settings():
    path = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_build" / "pipelines" / "abalone" / "settings.py"
    spec = importlib.util.spec_from_file_location("seed_model_build_settings", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The jobs the seed pipeline starts, named '<job prefix>-<job>' (its settings.JOBS).
SEED_JOBS = _seed_settings().JOBS
#: The longest projects: the longest name with a Studio id, the longest id with the longest name it allows.
LONGEST = [("n" * 32, "p-" + "a" * 12), ("n" * 26, "p-" + "b" * 18)]


def generated_names(name: str, project_id: str) -> dict[str, tuple[int, int]]:
    """What the image-build-deploy template (a superset of the others: build-deploy and every
    image type) names, as (length, limit)."""
    stack = ImageBuildDeployStack(
        new_app(),
        "Longest",
        project_name=name,
        project_id=project_id,
        stages=(DeployStage(name="staging", test=True), DeployStage(name=LONGEST_STAGE, approval=True)),
    )
    template = Template.from_stack(stack)
    project = next(c for c in stack.node.find_all() if isinstance(c, ProjectIdentity))

    def values(resource_type: str, prop: str) -> list[str]:
        return [r["Properties"][prop] for r in template.find_resources(resource_type).values()]

    names: dict[str, tuple[int, int]] = {}
    for repository in values("AWS::CodeCommit::Repository", "RepositoryName"):
        names[f"CodeCommit repository {repository}"] = (len(repository), 100)
    for pipeline in template.find_resources("AWS::CodePipeline::Pipeline").values():
        names[f"CodePipeline {pipeline['Properties']['Name']}"] = (len(pipeline["Properties"]["Name"]), 100)
        for stage in pipeline["Properties"]["Stages"]:
            for action in stage["Actions"]:
                stack_name = action.get("Configuration", {}).get("StackName")
                if stack_name:
                    names[f"stage stack {stack_name}"] = (len(stack_name), 128)
    for repository in values("AWS::ECR::Repository", "RepositoryName"):
        names[f"ECR repository {repository}"] = (len(repository), 256)
    for image in values("AWS::SageMaker::Image", "ImageName"):
        names[f"SageMaker image {image}"] = (len(image), 63)
    assert len([n for n in names if n.startswith(("ECR", "SageMaker image"))]) == 6
    (group,) = values("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName")
    names["model package group"] = (len(group), 63)
    variables = {
        v["Name"]: v["Value"]
        for project_build in template.find_resources("AWS::CodeBuild::Project").values()
        for v in project_build["Properties"]["Environment"].get("EnvironmentVariables", [])
    }
    names["SageMaker pipeline"] = (len(variables["SAGEMAKER_PIPELINE_NAME"]), 256)
    # The endpoint stage template and the seed's build.py name endpoints '<name>-<id>-<stage>'.
    endpoint = f"{name}-{project_id}-{LONGEST_STAGE}"
    names["endpoint (longest stage)"] = (len(endpoint), 63)
    names["endpoint log group"] = (len(f"/aws/sagemaker/Endpoints/{endpoint}"), 512)
    # Base job names the seed pipeline stores ('<id>-<job>'); SageMaker Pipelines adds its suffix.
    for job in SEED_JOBS:
        names[f"{job} base job name"] = (len(f"{project.job_prefix}-{job}"), JOB_BASE_NAME_MAX_LENGTH)
    # Roles, CodeBuild projects, log groups, alarms and the rest are named by CloudFormation,
    # which keeps each name within its limit.
    for resource_type, prop in (
        ("AWS::IAM::Role", "RoleName"),
        ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
        ("AWS::CodeBuild::Project", "Name"),
        ("AWS::Logs::LogGroup", "LogGroupName"),
        ("AWS::CloudWatch::Alarm", "AlarmName"),
        ("AWS::Events::Rule", "Name"),
        ("AWS::Lambda::Function", "FunctionName"),
        ("AWS::S3::Bucket", "BucketName"),
    ):
        for resource in template.find_resources(resource_type).values():
            assert prop not in resource.get("Properties", {}), (resource_type, prop)
    return names


@pytest.mark.parametrize(("name", "project_id"), LONGEST)
def test_every_generated_name_fits_its_limit(name, project_id):
    table = generated_names(name, project_id)
    too_long = {what: f"{length} > {limit}" for what, (length, limit) in table.items() if length > limit}
    assert not too_long, too_long
    # The tightest: the endpoint of the longest stage fills its 63 characters exactly.
    assert table["endpoint (longest stage)"] == (63, 63)


def test_the_project_parameters_keep_names_within_their_limits():
    """With parameters (Studio), the longest values they accept give the same lengths."""
    parameters = Template.from_stack(BuildDeployStack(new_app(), "Params")).to_json()["Parameters"]
    name, project_id = parameters["SageMakerProjectName"], parameters["SageMakerProjectId"]
    assert name["MaxLength"] + 1 + project_id["MaxLength"] + 1 + len(LONGEST_STAGE) <= 63
    assert project_id["MaxLength"] + 1 + max(map(len, SEED_JOBS)) <= JOB_BASE_NAME_MAX_LENGTH


@pytest.mark.parametrize(("name", "project_id"), LONGEST)
def test_every_name_of_the_monitoring_template_fits_its_limit(name, project_id):
    """build-deploy-monitor adds a repository, a pipeline and a monitor stage stack per stage."""
    stack = BuildDeployMonitorStack(
        new_app(),
        "LongestMonitor",
        project_name=name,
        project_id=project_id,
        stages=(DeployStage(name="staging", test=True), DeployStage(name=LONGEST_STAGE, approval=True)),
    )
    template = Template.from_stack(stack)
    names: dict[str, tuple[int, int]] = {}
    for resource in template.find_resources("AWS::CodeCommit::Repository").values():
        repository = resource["Properties"]["RepositoryName"]
        names[f"CodeCommit repository {repository}"] = (len(repository), 100)
    stacks = []
    for pipeline in template.find_resources("AWS::CodePipeline::Pipeline").values():
        names[f"CodePipeline {pipeline['Properties']['Name']}"] = (len(pipeline["Properties"]["Name"]), 100)
        for stage in pipeline["Properties"]["Stages"]:
            for action in stage["Actions"]:
                stack_name = action.get("Configuration", {}).get("StackName")
                if stack_name:
                    stacks.append(stack_name)
                    names[f"stage stack {stack_name}"] = (len(stack_name), 128)
    monitor_stack = f"sagemaker-{name}-{project_id}-monitor-{LONGEST_STAGE}"
    assert monitor_stack in stacks and f"sagemaker-{name}-{project_id}-modelmonitor" in {
        r["Properties"]["RepositoryName"] for r in template.find_resources("AWS::CodeCommit::Repository").values()
    }
    # The staging and prod endpoints the monitor pipeline's rule names, as the endpoint stage names them.
    (rule,) = [r for i, r in template.find_resources("AWS::Events::Rule").items() if i.startswith("ModelMonitorOnEndpointInService")]
    endpoints = [m["equals-ignore-case"] for m in rule["Properties"]["EventPattern"]["detail"]["EndpointName"]]
    assert len(endpoints) == 2
    names["rule's endpoints"] = (max(len(e) for e in endpoints), 63)
    too_long = {what: f"{length} > {limit}" for what, (length, limit) in names.items() if length > limit}
    assert not too_long, too_long
    assert len(names) == 3 + 3 + 4 + 1  # three repositories and pipelines, two deploy and two monitor stacks
    # The monitor stage stack names its schedules and job definitions '<project id>-<stage>-...'
    # (constructs/monitor/naming.py): the longest id and stage fit SageMaker's 63 characters.
    prefix = f"{project_id}-{LONGEST_STAGE}"
    assert check_name_prefix("name_prefix", prefix) == prefix
    for monitoring_type in MONITOR_SLUGS:
        assert fits(schedule_name(prefix, monitoring_type)) and fits(job_definition_name(prefix, monitoring_type, "0a1b2c3d"))
