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
    # Several versions (and SageMaker's duplicate events) may arrive at once: the starts that wait
    # behind a running model build collapse into the newest one, not a build each.
    properties = template["Resources"][model_build]["Properties"]
    assert (properties["PipelineType"], properties["ExecutionMode"]) == ("V2", "SUPERSEDED")


def test_every_image_is_rebuilt_on_the_parameters_schedule(template):
    parameter = template["Parameters"]["ImageRebuildDays"]
    assert (parameter["Type"], parameter["Default"]) == ("String", "30")
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


def test_the_rebuild_parameter_takes_only_whole_days_that_eventbridge_and_the_daily_condition_understand(template):
    """A Number parameter took 1.5 ("rate(1.5 days)": EventBridge refuses it) and 1.0 or 01 (not
    "1" to the ImageRebuildDaysIsOne condition: "rate(1.0 days)"). CloudFormation matches the
    whole value against AllowedPattern."""
    import re

    parameter = template["Parameters"]["ImageRebuildDays"]
    assert "MinValue" not in parameter and "MaxValue" not in parameter
    pattern = parameter["AllowedPattern"]
    assert pattern.startswith("^") and pattern.endswith("$")
    accepted = [str(n) for n in range(1, 366)]
    for value in accepted:
        assert re.fullmatch(pattern, value), value
    for value in ("0", "1.5", "1.0", "366", "01", "007", "", "-1", "1e2", " 7", "1000"):
        assert re.fullmatch(pattern, value) is None, value
        assert re.match(pattern, value) is None, value
    assert re.fullmatch(pattern, parameter["Default"])
    assert "whole number of days from 1 to 365" in parameter["ConstraintDescription"]
    # The daily condition compares the parameter's text with "1": the only spelling of one day.
    assert template["Conditions"]["ImageRebuildDaysIsOne"] == {"Fn::Equals": [{"Ref": "ImageRebuildDays"}, "1"]}


@pytest.mark.parametrize("value", [1.5, "7", 7.0, True])
def test_a_resolved_rebuild_period_that_is_not_a_whole_number_is_refused_at_synth(value):
    with pytest.raises(ValueError, match=r"image_rebuild_days.*a whole number from 1 to 365"):
        ImageBuildDeployStack(App(), "Bad", image_rebuild_days=value)


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


def test_the_retained_ecr_repositories_are_checked_before_they_are_created(template):
    """ECR repositories keep fixed names (``sagemaker-<id>-<type>``) and are retained by default:
    the retained-resource check names them, may describe exactly them, and they wait for it."""
    (check_id,) = _of_type(template, "Custom::RetainedResourceCheck")
    names = template["Resources"][check_id]["Properties"]["ImageRepositoryNames"]
    repositories = _of_type(template, "AWS::ECR::Repository")
    assert sorted(map(json.dumps, names)) == sorted(json.dumps(r["Properties"]["RepositoryName"]) for r in repositories.values())
    for repository in repositories.values():
        assert check_id in repository["DependsOn"]
    policies = [
        s
        for p in _of_type(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if isinstance(s, dict) and s.get("Action") == "ecr:DescribeRepositories"
    ]
    (statement,) = policies
    arns = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    assert len(arns) == 3
    for arn in arns:
        text = json.dumps(arn)
        # Built from the name, not the repository's Arn attribute (which would be a cycle).
        assert ":repository/sagemaker-" in text and '{"Ref": "SageMakerProjectId"}' in text
        assert "*" not in text and "GetAtt" not in text
    assert sorted(a["Fn::Join"][1][-1] for a in arns) == ["-inference", "-processing", "-training"]


@pytest.mark.parametrize("types", [("training",), ("processing", "training", "inference")])
def test_each_image_pipeline_waits_for_its_image_and_the_new_version_rule(types):
    """CodePipeline starts a run when a pipeline is created; that run's build creates a version of
    the pipeline's SageMaker image, which must exist ("image does not exist" otherwise), and the
    version's event must find the rule that starts the model build (otherwise the first version
    starts none)."""
    stack = ImageBuildDeployStack(new_app(), "Images", image_types=types)
    template = Template.from_stack(stack).to_json()
    (rule_id,) = [
        i for i, r in _of_type(template, "AWS::Events::Rule").items() if "SageMaker Image Version State Change" in json.dumps(r)
    ]
    for image_type, parts in stack.images.types.items():
        pipeline_id = stack.resolve(parts.pipeline.pipeline.node.default_child.logical_id)
        image_id = stack.resolve(parts.image.image.logical_id)
        depends_on = template["Resources"][pipeline_id].get("DependsOn", [])
        assert image_id in depends_on, (image_type, depends_on)
        assert rule_id in depends_on, (image_type, depends_on)
        # Its own image only.
        others = [stack.resolve(p.image.image.logical_id) for t, p in stack.images.types.items() if t != image_type]
        assert not set(others) & set(depends_on)


def _composed_by_hand(pull_account_ids):
    """image-build-deploy's composition, with add_images' own pull_account_ids."""
    from aws_cdk import Stack

    from sagemaker_projects_cdk.stacks.components.core import add_core
    from sagemaker_projects_cdk.stacks.components.images import add_images, grant_pull_to_stage_accounts
    from sagemaker_projects_cdk.stacks.components.model_build import add_model_build
    from sagemaker_projects_cdk.stacks.components.model_deploy import add_model_deploy
    from sagemaker_projects_cdk.stacks.image_build_deploy import ImageBuildDeploySettings

    stack = Stack(new_app(), "ByHand", env=Environment(account="111122223333", region="eu-west-1"))
    settings = ImageBuildDeploySettings(staging_account_id=STAGING, prod_account_id=PROD, image_types=("inference",))
    core = add_core(stack, settings)
    model_build = add_model_build(stack, core, settings)
    model_deploy = add_model_deploy(stack, core, settings)
    images = add_images(stack, core, settings, model_build_pipeline=model_build.pipeline.pipeline, pull_account_ids=pull_account_ids)
    return stack, images, lambda: grant_pull_to_stage_accounts(images, model_deploy.pipeline)


def test_two_cross_account_pull_grants_on_one_repository_are_refused_naming_both():
    """Each writes the whole repository policy: the second silently replaced the first's statements."""
    _, images, stage_grants = _composed_by_hand([STAGING])
    with pytest.raises(ValueError, match=r"grant_pull_to_stage_accounts would replace the statements grant_pull_to_accounts \(add_images\(pull_account_ids=\.\.\.\)\) wrote"):
        stage_grants()
    # The other order: the stage grants first, then the repository's own.
    _, images, stage_grants = _composed_by_hand([])
    stage_grants()
    with pytest.raises(ValueError, match=r"grant_pull_to_accounts \(add_images\(pull_account_ids=\.\.\.\)\) would replace the statements grant_pull_to_stage_accounts wrote"):
        images.types["inference"].repository.grant_pull_to_accounts(["999988887777"])
    # Either alone still works, and grants nothing to nobody (an empty list claims nothing).
    stack, images, _ = _composed_by_hand(["999988887777"])
    images.types["inference"].repository.grant_pull_to_accounts([])
    (repository,) = _of_type(Template.from_stack(stack).to_json(), "AWS::ECR::Repository").values()
    assert "999988887777" in json.dumps(repository["Properties"]["RepositoryPolicyText"])


def test_the_readme_names_the_image_pipeline_and_not_its_generated_codebuild_project():
    """The images guide's table once gave the pipeline's name to the CodeBuild project too, whose
    name CloudFormation generates (as for every CodeBuild project here)."""
    from support import REPO

    guide = (REPO / "docs" / "guide" / "images.md").read_text(encoding="utf-8")
    section = guide.split("# Custom images (image-build-deploy)", 1)[1].split("\n\n")[2]
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in section.splitlines() if line.startswith("| ")}
    assert rows["CodePipeline"] == "`sagemaker-<name>-<id>-<type>-imagebuild`"
    assert "`" not in rows["privileged CodeBuild project"], rows
    stack = ImageBuildDeployStack(new_app(), "Named", project_name="churn", project_id="p-1")
    template = Template.from_stack(stack).to_json()
    for image_type, parts in stack.images.types.items():
        pipeline = template["Resources"][stack.resolve(parts.pipeline.pipeline.node.default_child.logical_id)]
        assert pipeline["Properties"]["Name"] == f"sagemaker-churn-p-1-{image_type}-imagebuild"
        build = template["Resources"][stack.resolve(parts.pipeline.build_project.node.default_child.logical_id)]
        assert "Name" not in build["Properties"]


def test_the_images_kept_documentation_says_an_expired_image_breaks_running_endpoints_too():
    """SageMaker pulls a model's image whenever it starts an instance: an endpoint whose image expired
    cannot scale out or replace a failed instance, besides no new deployment of that model version."""
    from sagemaker_projects_cdk.constructs.images import repository
    from sagemaker_projects_cdk.stacks.components.images import ImageSettings
    from support import REPO

    doc = ImageSettings.__dataclass_fields__["images_kept"].metadata
    settings_tables = (REPO / "docs" / "guide" / "templates.md").read_text(encoding="utf-8")
    texts = [" ".join(str(v) for v in doc.values()), repository.__doc__ or "", settings_tables]
    for text in texts:
        flat = " ".join(text.split())
        assert "scale out" in flat and "replace" in flat and "instance" in flat, text[:200]
    readme_row = next(line for line in texts[2].splitlines() if line.startswith("| `images_kept`"))
    assert "scale out" in readme_row
