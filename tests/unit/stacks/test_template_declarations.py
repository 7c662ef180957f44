"""Templates are declared once: settings dataclass, parameters, stack keywords, Studio, README."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

from sagemaker_projects_cdk.constructs import DeployStage
from sagemaker_projects_cdk.constructs.network import PrivateNetwork
from sagemaker_projects_cdk.stacks import (
    TEMPLATES,
    BuildDeploySettings,
    BuildDeployStack,
    ModelBuildSettings,
    ModelBuildStack,
    ModelDeployStack,
    SourceModelDeploySettings,
)
from support import REPO, new_app

#: A valid value for each setting that becomes a parameter when not given.
PARAMETER_VALUES = {
    "project_name": "churn",
    "project_id": "p-abc123def456",
    "model_package_group_name": "churn-p-abc123def456",
    "model_artifact_bucket_name": "other-project-bucket",
    "model_artifact_key_arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "connection_arn": "arn:aws:codeconnections:us-east-1:111122223333:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "model_build_repository": "acme/churn-build",
    "model_build_branch": "main",
    "model_deploy_repository": "acme/churn-deploy",
    "model_deploy_branch": "release/v1",
    "git_host_url": "https://gitlab.example.com",
    "staging_account_id": "222222222222",
    "prod_account_id": "333333333333",
    "staging_region": "eu-west-1",
    "prod_region": "",
    "image_rebuild_days": 7,
    "jenkins_url": "https://ci.example.com/jenkins",
    "jenkins_deploy_job_name": "churn-model-deploy",
    "jenkins_credentials_secret_arn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:jenkins/churn-AbCdEf",
    "jenkins_role_arn": "arn:aws:iam::111122223333:role/jenkins-controller",
    "retrain_on_drift": True,
    "pipeline_step_cache_expiry": "P7D",
    "private_network": PrivateNetwork(
        vpc_id="vpc-0123456789abcdef0", subnet_ids=("subnet-0123456789abcdef0",), security_group_ids=("sg-0123456789abcdef0",)
    ),
}


def test_templates_are_keyed_by_their_declared_ids():
    declarations = [stack_class.TEMPLATE for stack_class in TEMPLATES.values()]
    assert len({id(d) for d in declarations}) == len(declarations), "two stack classes share one declaration"
    for template_id, stack_class in TEMPLATES.items():
        template = stack_class.TEMPLATE
        assert template.template_id == template_id
        assert dataclasses.is_dataclass(template.settings)
        assert template.settings.__dataclass_params__.frozen


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_every_setting_is_documented_and_every_parameter_is_declared_when_not_given(assembly, template_id):
    settings = TEMPLATES[template_id].TEMPLATE.settings
    for name in settings.names():
        assert settings.doc(name), f"{template_id}: setting {name} has no doc"
    declared = set(assembly.templates[template_id].get("Parameters", {}))
    assert {name for names in settings.parameters().values() for name in names} <= declared
    assert set(PARAMETER_VALUES) >= set(settings.parameters()), "add a valid value for the new parameter setting"


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_a_given_setting_declares_no_parameter(template_id):
    stack_class = TEMPLATES[template_id]
    given = {name: PARAMETER_VALUES[name] for name in stack_class.TEMPLATE.settings.parameters()}
    stack = stack_class(new_app(), "Given", **given)
    parameters = set(stack.resolve({"p": [p.logical_id for p in stack.node.find_all() if type(p).__name__ == "CfnParameter"]})["p"])
    assert parameters.isdisjoint(n for names in stack_class.TEMPLATE.settings.parameters().values() for n in names), parameters


def test_settings_check_themselves_and_name_the_setting():
    with pytest.raises(ValueError, match=re.escape("invalid branch 'a..b'")):
        ModelBuildSettings(branch="a..b")
    with pytest.raises(ValueError, match=re.escape("invalid model_package_group_name 'bad_name'")):
        SourceModelDeploySettings(model_package_group_name="bad_name")
    with pytest.raises(ValueError, match=re.escape("invalid model_artifact_key_arn 'alias/x': expected a KMS key ARN or ''")):
        SourceModelDeploySettings(model_artifact_key_arn="alias/x")
    with pytest.raises(ValueError, match=re.escape("invalid stages ['qa', 'qa']")):
        BuildDeploySettings(stages=(DeployStage(name="qa"), DeployStage(name="qa")))
    with pytest.raises(TypeError):
        ModelBuildSettings("main")  # keyword-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelBuildSettings().branch = "dev"  # type: ignore[misc]


def test_a_stack_takes_a_settings_object_or_keywords_and_stack_properties():
    app = new_app()
    by_object = ModelBuildStack(app, "ByObject", settings=ModelBuildSettings(branch="dev"), description="mine")
    assert by_object.settings.branch == "dev" and by_object.template_options.description == "mine"
    by_keyword = ModelBuildStack(app, "ByKeyword", branch="dev", termination_protection=True)
    assert by_keyword.settings == ModelBuildSettings(branch="dev") and by_keyword.termination_protection
    assert by_keyword.model_build is by_keyword.parts.model_build and by_keyword.parts.model_deploy is None
    with pytest.raises(ValueError, match="either a settings object or keyword settings, not both"):
        ModelBuildStack(app, "Both", settings=ModelBuildSettings(), branch="dev")
    with pytest.raises(ValueError, match=re.escape("invalid ModelBuildStack settings 'SourceModelDeploySettings': expected ModelBuildSettings")):
        ModelBuildStack(app, "Wrong", settings=SourceModelDeploySettings())
    with pytest.raises(ValueError, match=re.escape("invalid ModelDeployStack setting 'training_instance_type': expected one of project_name")):
        ModelDeployStack(app, "Unknown", training_instance_type="ml.m5.large")
    # Refused before the stack exists: the app holds no half-built stack.
    assert [c.node.id for c in app.node.children] == ["ByObject", "ByKeyword"]


def test_the_stack_signature_lists_the_settings_for_help_and_ides():
    parameters = inspect.signature(BuildDeployStack).parameters
    assert list(parameters)[:5] == ["scope", "construct_id", "settings", "project_name", "project_id"]
    assert parameters["stages"].default == BuildDeploySettings().stages
    assert set(BuildDeploySettings.names()) < set(parameters)


def test_build_deploy_settings_are_both_halves_declared_once():
    names = BuildDeploySettings.names()
    assert len(names) == len(set(names))
    targets = {"staging_account_id", "prod_account_id", "staging_region", "prod_region"}
    assert set(ModelBuildSettings.names()) | {"stages", "approval_topic"} | targets == set(names)


def test_readme_and_guide_tables_are_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("update_readme", REPO / "tests" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (REPO / "README.md").read_text()
    guide = (REPO / "docs" / "guide" / "templates.md").read_text()
    assert "<!-- templates -->" in readme and "<!-- settings -->" in guide
    for template_id in TEMPLATES:
        # The README lists each template on one line, linking to its settings in the guide.
        assert f"- `{template_id}` (`{TEMPLATES[template_id].__name__}`)" in readme
        assert f"(docs/guide/templates.md#{template_id})" in readme
        assert f"| [`{template_id}`](#{template_id}) | `{TEMPLATES[template_id].__name__}` |" in guide
        assert f"\n### `{template_id}`\n" in guide, f"docs/guide/templates.md has no settings table for {template_id}"
    assert module.stale() == [], "stale tables: run `make readme`"


def test_studio_templates_take_the_same_settings_dataclass():
    from sagemaker_projects_cdk.studio import StudioTemplate

    typed = StudioTemplate(template_id="model-build", settings=ModelBuildSettings(training_instance_type="ml.m5.2xlarge"))
    mapped = StudioTemplate(template_id="model-build", settings={"training_instance_type": "ml.m5.2xlarge"})
    assert typed.settings == mapped.settings == ModelBuildSettings(training_instance_type="ml.m5.2xlarge")
    with pytest.raises(ValueError, match=re.escape("invalid model-build setting 'project_name': expected a setting other than")):
        StudioTemplate(template_id="model-build", settings=ModelBuildSettings(project_name="churn"))
    with pytest.raises(ValueError, match="expected ModelBuildSettings"):
        StudioTemplate(template_id="model-build", settings=BuildDeploySettings())


def test_none_lists_and_misspelled_stack_properties_are_refused_by_name():
    with pytest.raises(ValueError, match=re.escape("invalid branch None: expected a value (leave it out for the default 'main')")):
        ModelBuildSettings(branch=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape("invalid stages None")):
        BuildDeploySettings(stages=None)  # type: ignore[arg-type]
    listed = BuildDeploySettings(stages=[DeployStage(name="qa")], model_read_account_ids=["111122223333"])  # type: ignore[arg-type]
    assert listed.stages == (DeployStage(name="qa"),) and listed.model_read_account_ids == ("111122223333",)
    with pytest.raises(ValueError, match=re.escape("invalid model_read_account_ids '111122223333': expected a tuple")):
        ModelBuildSettings(model_read_account_ids="111122223333")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape("(or an aws_cdk.Stack property)")):
        ModelBuildStack(new_app(), "Typo", enviroment={})


def test_templates_never_import_publishing():
    """Publishing imports the templates (TEMPLATES); a template never imports publishing."""
    import ast

    from support import REPO

    for path in (REPO / "sagemaker_projects_cdk" / "stacks").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "studio" not in (node.module or ""), f"{path.name} imports {node.module}"
    import sagemaker_projects_cdk.stacks as stacks

    assert not hasattr(stacks, "StudioTemplatesStack")  # sagemaker_projects_cdk.studio has it


def test_compose_builds_into_any_stack_with_a_settings_object():
    from aws_cdk import Stack

    stack = Stack(new_app(), "Any")
    parts = ModelBuildStack.compose(stack, ModelBuildSettings(project_name="churn", project_id="p-abc123def456"))
    assert parts.model_build is not None and stack.resolve(parts.project.name_id) == "churn-p-abc123def456"
    with pytest.raises(ValueError, match="not both"):
        ModelBuildStack.compose(Stack(new_app(), "Both"), ModelBuildSettings(), branch="dev")


def test_stages_without_a_config_in_the_seed_are_warned_about():
    from aws_cdk.assertions import Annotations, Match

    stack = BuildDeployStack(new_app(), "Qa", stages=(DeployStage(name="qa", test=True), DeployStage(name="prod", approval=True)))
    Annotations.from_stack(stack).has_warning("/Qa", Match.string_like_regexp("stages qa have no <stage>-config.json"))
    default = BuildDeployStack(new_app(), "Default")
    Annotations.from_stack(default).has_no_warning("*", Match.string_like_regexp("have no <stage>-config.json"))
