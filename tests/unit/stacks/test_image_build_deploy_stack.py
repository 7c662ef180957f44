"""The image-build-deploy template: build-deploy, and per image type a repository, an image, a
seeded Dockerfile repository and its build; a new image version starts the model build."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Environment
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs.sources.source import ConnectionSource, GitRepository
from sagemaker_projects_cdk.stacks import IMAGE_BUILD_DEPLOY, TEMPLATES, ImageBuildDeployStack
from support import new_app

CONNECTION = "arn:aws:codeconnections:eu-west-1:111122223333:connection/0123abcd-0123-0123-0123-0123456789ab"
STAGING, PROD = "444455556666", "777788889999"


@pytest.fixture(scope="module")
def template(assembly) -> dict:
    return assembly.templates["image-build-deploy"]


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == kind}


def test_the_template_is_registered_with_sagemakers_title_within_service_catalogs_limit():
    assert TEMPLATES["image-build-deploy"] is ImageBuildDeployStack
    assert IMAGE_BUILD_DEPLOY.title == "MLOps template for image building, model building, and model deployment"
    assert len(IMAGE_BUILD_DEPLOY.title) <= 100  # a Service Catalog product name


@pytest.mark.parametrize("types", [(), ("training",), ("processing", "inference"), ("processing", "training", "inference")])
def test_each_image_type_adds_its_repository_image_code_and_build_and_no_image_version(types):
    template = Template.from_stack(ImageBuildDeployStack(new_app(), "Images", image_types=types)).to_json()
    count = len(types)
    assert len(_of_type(template, "AWS::ECR::Repository")) == count
    assert len(_of_type(template, "AWS::SageMaker::Image")) == count
    assert not _of_type(template, "AWS::SageMaker::ImageVersion")
    assert len(_of_type(template, "AWS::CodeCommit::Repository")) == 2 + count
    assert len(_of_type(template, "AWS::CodePipeline::Pipeline")) == 2 + count
    images = sorted(r["Properties"]["ImageName"]["Fn::Join"][1][-1] for r in _of_type(template, "AWS::SageMaker::Image").values())
    assert images == sorted(f"-{t}" for t in types)
    rules = [r for r in _of_type(template, "AWS::Events::Rule").values() if "SageMaker Image Version State Change" in json.dumps(r)]
    assert len(rules) == (1 if count else 0)
    assert ("ImageRebuildDays" in template["Parameters"]) == bool(count)


def test_a_new_image_version_starts_the_model_build_pipeline(template):
    (rule,) = [r for r in _of_type(template, "AWS::Events::Rule").values() if "SageMaker Image Version State Change" in json.dumps(r)]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"] and pattern["detail-type"] == ["SageMaker Image Version State Change"]
    assert pattern["detail"]["ImageVersionStatus"] == [{"equals-ignore-case": "CREATED"}]
    assert len(pattern["detail"]["ImageArn"]) == 3
    (target,) = rule["Properties"]["Targets"]
    (model_build,) = [i for i in _of_type(template, "AWS::CodePipeline::Pipeline") if i.startswith("ModelBuildPipeline")]
    assert {"Ref": model_build} in target["Arn"]["Fn::Join"][1]


def test_every_image_is_rebuilt_on_the_parameters_schedule(template):
    parameter = template["Parameters"]["ImageRebuildDays"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == ("Number", 30, 1, 365)
    schedules = [r for r in _of_type(template, "AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]]
    assert len(schedules) == 3
    assert list(template["Conditions"]).count("ImageRebuildDaysIsOne") == 1
    fixed = Template.from_stack(ImageBuildDeployStack(new_app(), "Weekly", image_rebuild_days=7)).to_json()
    assert "ImageRebuildDays" not in fixed["Parameters"]
    expressions = {r["Properties"]["ScheduleExpression"] for r in _of_type(fixed, "AWS::Events::Rule").values() if "ScheduleExpression" in r["Properties"]}
    assert expressions == {"rate(7 days)"}


def test_images_kept_and_empty_on_delete_reach_every_repository():
    template = Template.from_stack(ImageBuildDeployStack(new_app(), "Kept", images_kept=5, empty_on_delete=True)).to_json()
    for repository in _of_type(template, "AWS::ECR::Repository").values():
        assert repository["DeletionPolicy"] == "Delete" and repository["Properties"]["EmptyOnDelete"] is True
        (rule,) = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert rule["selection"]["countNumber"] == 5


def test_the_stage_accounts_endpoint_roles_may_pull_when_the_accounts_are_given():
    stack = ImageBuildDeployStack(
        new_app(), "Accounts", staging_account_id=STAGING, prod_account_id=PROD, env=Environment(account="111122223333", region="eu-west-1")
    )
    template = Template.from_stack(stack).to_json()
    for repository in _of_type(template, "AWS::ECR::Repository").values():
        statements = repository["Properties"]["RepositoryPolicyText"]["Statement"]
        assert [s["Sid"] for s in statements] == ["PullFromProjectAccountsStaging", "PullFromProjectAccountsProd"]
        for statement, account in zip(statements, (STAGING, PROD), strict=True):
            assert statement["Action"] == ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
            assert account in json.dumps(statement["Principal"])
            (arn,) = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
            assert account in json.dumps(arn) and "-endpoint" in json.dumps(arn)


def test_with_parameters_the_pull_statements_exist_only_for_stages_in_other_accounts(template):
    for repository in _of_type(template, "AWS::ECR::Repository").values():
        condition, document, absent = repository["Properties"]["RepositoryPolicyText"]["Fn::If"]
        assert condition in template["Conditions"] and absent == {"Ref": "AWS::NoValue"}
        for statement, stage in zip(document["Statement"], ("Staging", "Prod"), strict=True):
            stage_condition, body, none = statement["Fn::If"]
            assert stage_condition.startswith(f"ModelDeploy{stage}InOtherAccount") and none == {"Ref": "AWS::NoValue"}
            assert body["Sid"] == f"PullFromProjectAccounts{stage}"
            assert "-endpoint" in json.dumps(body["Condition"]["ArnEquals"]["aws:PrincipalArn"])


def test_no_repository_policy_when_every_stage_is_in_this_account():
    stack = ImageBuildDeployStack(
        new_app(), "Here", staging_account_id="", prod_account_id="", env=Environment(account="111122223333", region="eu-west-1")
    )
    template = Template.from_stack(stack).to_json()
    for repository in _of_type(template, "AWS::ECR::Repository").values():
        assert "RepositoryPolicyText" not in repository["Properties"]


def test_a_connection_source_with_images_is_refused_naming_source():
    source = ConnectionSource(
        connection_arn=CONNECTION,
        model_build=GitRepository(full_name="acme/build", branch="main"),
        model_deploy=GitRepository(full_name="acme/deploy", branch="main"),
    )
    with pytest.raises(ValueError, match=r"invalid source 'ConnectionSource': expected None when the project builds images"):
        ImageBuildDeployStack(App(), "Git", source=source)
    # Without images it is build-deploy on a Git host.
    stack = ImageBuildDeployStack(new_app(), "GitNoImages", source=source, image_types=())
    assert not Template.from_stack(stack).find_resources("AWS::ECR::Repository")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"image_types": ("gpu",)}, r"invalid image_types 'gpu': expected one of 'processing', 'training', 'inference'"),
        ({"image_types": ("training", "training")}, r"invalid image_types .*distinct"),
        ({"image_types": "training"}, r"invalid image_types 'training': expected a list"),
        ({"image_rebuild_days": 0}, r"image_rebuild_days.*a whole number from 1 to 365"),
        ({"image_rebuild_days": 366}, r"image_rebuild_days.*a whole number from 1 to 365"),
        ({"images_kept": 0}, r"images_kept.*a whole number from 1 to 10000"),
        ({"empty_on_delete": "yes"}, r"invalid empty_on_delete 'yes': expected True or False"),
    ],
)
def test_bad_image_settings_are_refused_naming_the_setting(settings, message):
    with pytest.raises(ValueError, match=message):
        ImageBuildDeployStack(App(), "Bad", **settings)


def test_image_types_are_kept_in_the_templates_order():
    stack = ImageBuildDeployStack(new_app(), "Order", image_types=["inference", "processing"])
    assert stack.settings.image_types == ("processing", "inference")
    assert list(stack.images.types) == ["processing", "inference"]


def test_the_image_pipelines_failures_reach_the_project_topic(template):
    pipelines = [{"Ref": i} for i in _of_type(template, "AWS::CodePipeline::Pipeline")]
    assert len(pipelines) == 5
    failed = [r for r in _of_type(template, "AWS::Events::Rule").values() if "CodePipeline Pipeline Execution State Change" in json.dumps(r)]
    watched = [p for r in failed for p in r["Properties"]["EventPattern"]["detail"].get("pipeline", [])]
    assert sorted(map(str, watched)) == sorted(map(str, pipelines))


@pytest.mark.parametrize("types", [(), ("inference",), ("processing", "training"), ("processing", "training", "inference")])
def test_the_model_build_names_the_images_it_runs_and_its_execution_role_pulls_exactly_those(types):
    stack = ImageBuildDeployStack(new_app(), "Names", image_types=types, project_name="churn", project_id="p-abc123def456")
    template = Template.from_stack(stack).to_json()
    (build,) = [
        r for i, r in _of_type(template, "AWS::CodeBuild::Project").items() if i.startswith("ModelBuild") and "Image" not in i
    ]
    variables = {v["Name"]: v["Value"] for v in build["Properties"]["Environment"]["EnvironmentVariables"]}
    expected = ",".join(f"{t}=sagemaker-p-abc123def456-{t}" for t in types)
    assert variables.get("SAGEMAKER_IMAGE_NAMES") == (expected or None)
    # The execution role's pulls of the project's repositories: one per type built.
    policies = json.dumps([r for i, r in _of_type(template, "AWS::IAM::ManagedPolicy").items() if "ExecutionRole" in i])
    for image_type in ("processing", "training", "inference"):
        (repository,) = [i for i in _of_type(template, "AWS::ECR::Repository") if i.startswith(image_type.capitalize())] or [None]
        assert (repository is not None) is (image_type in types)
        if repository is not None:
            assert json.dumps({"Fn::GetAtt": [repository, "Arn"]}) in policies, image_type
