"""The model build's package cache: an S3 cache in the project's bucket that its role may use,
and a buildspec that installs from it with uv and names the paths CodeBuild keeps.

CodeBuild restores and saves an S3 cache with the project's service role (the CodeBuild user
guide, "Amazon S3 caching"): the role must read and write objects under the cache location,
and use the bucket's KMS key through S3 (the bucket encrypts every object with it).
"""

from __future__ import annotations

import re

import pytest
import yaml
from role_checks import all_templates, the_one

from iam_eval import Resolver, role_policy
from sagemaker_projects_cdk.constructs.sources.seeded_repository import seed_code_path

REGION, ACCOUNT = "us-east-1", "123456789012"
PARAMETERS = {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-0123456789ab"}
#: Every template whose model build runs in CodeBuild (build-deploy-jenkins runs it in Jenkins).
WITH_MODEL_BUILD = ["model-build", "build-deploy", "build-deploy-git", "build-deploy-monitor", "image-build-deploy"]
BUILDSPEC = seed_code_path("model_build") / "buildspec.yml"


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, dict]:
    return all_templates(assembly)


def _model_build_project(template: dict) -> str:
    return the_one(template, "AWS::CodeBuild::Project", "ModelBuild")


@pytest.mark.parametrize("name", [*WITH_MODEL_BUILD, *(f"studio/{n}" for n in WITH_MODEL_BUILD)])
def test_the_model_build_caches_in_the_project_bucket_under_its_own_prefix(templates, name):
    template = templates[name]
    project = template["Resources"][_model_build_project(template)]["Properties"]
    cache = project["Cache"]
    assert cache["Type"] == "S3"
    separator, (bucket, prefix) = cache["Location"]["Fn::Join"]
    assert separator == "/" and prefix == "codebuild-cache/model-build"
    assert bucket == {"Ref": the_one(template, "AWS::S3::Bucket", "ArtifactsBucket")}


@pytest.mark.parametrize("name", WITH_MODEL_BUILD)
def test_the_build_role_may_restore_and_save_the_cache_with_the_bucket_key(templates, name):
    template = templates[name]
    resolver = Resolver(template, parameters=PARAMETERS, region=REGION, account=ACCOUNT)
    properties = template["Resources"][_model_build_project(template)]["Properties"]
    role_id = properties["ServiceRole"]["Fn::GetAtt"][0]
    policy = role_policy(template, role_id, parameters=PARAMETERS, region=REGION, account=ACCOUNT)
    location = resolver.resolve(properties["Cache"]["Location"])
    archive = f"arn:aws:s3:::{location}/3f2a9c1e-cache-archive"
    for action in ("s3:GetObject", "s3:PutObject"):
        assert policy.allowed(action, archive), (action, archive)
    key_arn = resolver.resolve({"Fn::GetAtt": [the_one(template, "AWS::KMS::Key", "ArtifactsKey"), "Arn"]})
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert policy.allowed(action, key_arn, via_s3), action
    # Nothing outside the project's bucket.
    assert not policy.allowed("s3:PutObject", f"arn:aws:s3:::another-bucket/{location.partition('/')[2]}/x")


def test_the_jenkins_template_has_no_codebuild_model_build():
    # Its model build runs on the customer's Jenkins agents, whose uv cache stays on the agent.
    from sagemaker_projects_cdk.stacks import TEMPLATES

    assert "build-deploy-jenkins" in TEMPLATES and "build-deploy-jenkins" not in WITH_MODEL_BUILD


# ------------------------------------------------------------------------ the buildspec


@pytest.fixture(scope="module")
def buildspec() -> dict:
    return yaml.safe_load(BUILDSPEC.read_text())


def test_uv_and_its_package_cache_are_in_the_paths_codebuild_keeps(buildspec):
    variables = buildspec["env"]["variables"]
    # CodeBuild keeps what the paths match; "**/*" takes the whole directory.
    kept = [path.removesuffix("/**/*") for path in buildspec["cache"]["paths"]]
    assert kept == ["/root/.cache/uv", "/root/.cache/uv-self"]
    assert variables["UV_CACHE_DIR"] == kept[0]
    # No compiled-module cache: the seed's tests write no bytecode (tests/conftest.py), so a
    # PYTHONPYCACHEPREFIX in the cache stayed empty (measured: 0 files after a test run).
    assert "PYTHONPYCACHEPREFIX" not in variables
    # uv itself, one directory per version: a new pin is a new directory (and a new cache key).
    (pin,) = re.findall(r'"uv==([0-9.]+)"', buildspec["phases"]["install"]["commands"][0])
    assert variables["BUILD_UV_DIR"] == f"{kept[1]}/{pin}"


def test_the_cache_key_follows_the_requirements(buildspec):
    # A key makes each cache copy immutable (no upload of an unchanged cache after every build);
    # a new requirements.lock gets a new key, so a new copy (CodeBuild user guide, "Amazon S3 caching").
    assert buildspec["cache"]["key"] == "model-build-uv-$(codebuild-hash-files requirements.lock buildspec.yml)"


def test_the_install_pins_uv_and_installs_the_lock_into_the_python_on_path(buildspec):
    commands = buildspec["phases"]["install"]["commands"]
    assert re.fullmatch(
        r'test -x "\$BUILD_UV_DIR/bin/uv" \|\| python -m pip install --quiet --upgrade --target "\$BUILD_UV_DIR" "uv==\d+\.\d+\.\d+"',
        commands[0],
    )
    assert commands[1] == 'PATH="$BUILD_UV_DIR/bin:$PATH" uv pip install --python "$(command -v python)" --quiet -r requirements.lock'
    assert buildspec["phases"]["install"]["runtime-versions"] == {"python": 3.12}


# ------------------------------------------------------------------ step caching's setting


def _build_environment(template: dict) -> dict:
    project = template["Resources"][_model_build_project(template)]["Properties"]
    return {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}


@pytest.mark.parametrize("name", [*WITH_MODEL_BUILD, "studio/model-build"])
def test_step_caching_is_a_parameter_on_for_30_days_passed_to_the_build(templates, name):
    template = templates[name]
    parameter = template["Parameters"]["PipelineStepCacheExpiry"]
    assert parameter["Type"] == "String" and parameter["Default"] == "P30D"
    assert _build_environment(template)["PIPELINE_STEP_CACHE_EXPIRY"] == {"Ref": "PipelineStepCacheExpiry"}


def test_the_jenkins_template_hands_step_caching_to_the_seed_job(templates):
    template = templates["build-deploy-jenkins"]
    assert template["Parameters"]["PipelineStepCacheExpiry"]["Default"] == "P30D"
    assert template["Outputs"]["SageMakerPipelineStepCacheExpiry"]["Value"] == {"Ref": "PipelineStepCacheExpiry"}


@pytest.mark.parametrize("value", ["P30D", "P2W", "P1Y", "P6M", "PT12H", "PT30M", "P1DT6H", "P1Y2M3W4DT5H6M", "P0DT1H", "P10D", "off", ""])
def test_the_parameter_takes_durations_and_off_or_empty(templates, value):
    pattern = templates["model-build"]["Parameters"]["PipelineStepCacheExpiry"]["AllowedPattern"]
    assert re.fullmatch(pattern, value)


@pytest.mark.parametrize("value", ["30d", "P", "PT", "P1.5D", "P1S", "PT1S", "T12H", "P30D ", "Off", "never", "P0D", "PT0H", "P0Y0M0DT0H0M"])
def test_the_parameter_refuses_what_the_seed_would(templates, value):
    # SageMaker itself may take more ('30d'): the seed refuses it, so the deployment does, and
    # a zero duration, which would make every cache entry expire at once, is spelled 'off'.
    pattern = templates["model-build"]["Parameters"]["PipelineStepCacheExpiry"]["AllowedPattern"]
    assert not re.fullmatch(pattern, value)


def test_a_given_expiry_is_fixed_and_empty_turns_caching_off():
    from aws_cdk.assertions import Template

    from sagemaker_projects_cdk.stacks import ModelBuildStack
    from support import new_app

    app = new_app()
    cases = (("Week", "P1W", "P1W"), ("Off", "", "off"), ("OffToo", "OFF", "off"))
    stacks = [ModelBuildStack(app, stack_id, pipeline_step_cache_expiry=value) for stack_id, value, _ in cases]
    for stack, (_, _, expected) in zip(stacks, cases, strict=True):
        template = Template.from_stack(stack).to_json()
        assert "PipelineStepCacheExpiry" not in template.get("Parameters", {})
        assert _build_environment(template)["PIPELINE_STEP_CACHE_EXPIRY"] == expected


@pytest.mark.parametrize("value", ["30 days", "P1.5D", "T12H", "PT1S", "P0D"])
def test_a_malformed_expiry_is_refused_naming_the_setting(value):
    from sagemaker_projects_cdk.stacks import ModelBuildStack
    from support import new_app

    with pytest.raises(ValueError, match=rf"invalid pipeline_step_cache_expiry '{re.escape(value)}': expected an ISO 8601 duration"):
        ModelBuildStack(new_app(), "Bad", pipeline_step_cache_expiry=value)


def test_the_seed_and_the_template_accept_the_same_durations():
    # The seed (standing alone) repeats the pattern: both must agree.
    from sagemaker_projects_cdk.constructs.build.pipeline import STEP_CACHE_EXPIRY_PATTERN

    settings = (seed_code_path("model_build") / "pipelines" / "abalone" / "settings.py").read_text()
    (seed_pattern,) = re.findall(r'STEP_CACHE_EXPIRY_PATTERN = re\.compile\(r"([^"]+)"\)', settings)
    assert f"off|{seed_pattern}" == STEP_CACHE_EXPIRY_PATTERN
