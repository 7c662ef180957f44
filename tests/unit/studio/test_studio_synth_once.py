"""Synth once: ``build_app``'s Studio products are its template stacks' synthesized templates.

The product template of a template is its stack's template, without the CDK bootstrap check
and with the file assets read from the template bucket: the same resources under the same
logical ids, built, checked by the security packs and rendered once (issue 19).
"""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack, Stage
from aws_cdk import aws_iam as iam
from test_studio_templates import product_template_file

from sagemaker_projects_cdk.app import STUDIO_STACK_ID, stack_id
from sagemaker_projects_cdk.stacks import TEMPLATES
from sagemaker_projects_cdk.stacks.model_deploy import ModelDeployStack
from sagemaker_projects_cdk.studio import (
    StudioTemplate,
    StudioTemplates,
    StudioTemplatesStack,
    SynthesizedTemplateProduct,
    TemplateProductStack,
)
from sagemaker_projects_cdk.studio.synthesized import BOOTSTRAP_PARAMETER, BOOTSTRAP_RULE, PENDING_URL, _replace
from sagemaker_projects_cdk.studio.versions import PENDING, template_digest
from support import new_app

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20260101T000000"
#: How the template stacks name the CDK asset bucket (DefaultStackSynthesizer's default qualifier).
CDK_ASSET_BUCKET = {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}


def _values(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_the_product_template_is_the_stack_template_without_the_bootstrap(assembly, template_id):
    stack = assembly.templates[template_id]
    product = json.loads(product_template_file(assembly.outdir, template_id).read_text())
    assert BOOTSTRAP_PARAMETER in stack["Parameters"] and BOOTSTRAP_RULE in stack["Rules"]
    assert BOOTSTRAP_PARAMETER not in product.get("Parameters", {}) and BOOTSTRAP_RULE not in product.get("Rules", {})
    # The same resources, under the same logical ids: one construction, not a second one.
    assert list(product["Resources"]) == list(stack["Resources"])
    assert product.get("Outputs") == stack.get("Outputs")
    assert list(product["Parameters"]) == [p for p in stack["Parameters"] if p != BOOTSTRAP_PARAMETER]
    assert [r for r in product.get("Rules", {})] == [r for r in stack.get("Rules", {}) if r != BOOTSTRAP_RULE]
    assert CDK_ASSET_BUCKET in _values(stack)  # every template has file assets (seed code, functions)
    admin = json.loads((assembly.outdir / f"{STUDIO_STACK_ID}.template.json").read_text())
    (template_bucket,) = [
        r["Properties"]["BucketName"]
        for r in admin["Resources"].values()
        if r["Type"] == "AWS::S3::Bucket" and "BucketName" in r["Properties"]
    ]
    # The stack's resources with the template bucket's name for the CDK asset bucket's (joins made
    # minimal again, as aws-cdk-lib renders them): exactly the product's. The bucket names
    # themselves are checked by test_product_assets_are_read_from_the_template_bucket.
    for logical_id, resource in stack["Resources"].items():
        assert product["Resources"][logical_id] == _replace(resource, CDK_ASSET_BUCKET, template_bucket), logical_id


def test_the_product_template_is_written_as_its_stack_template_is(assembly):
    """Indented by one space, as aws-cdk-lib writes a stack's template (not by two, as a
    ProductStack writes its own): the largest product template stays under 40% of 1 MB."""
    for template_id in TEMPLATES:
        text = product_template_file(assembly.outdir, template_id).read_text()
        assert text == json.dumps(json.loads(text), indent=1, ensure_ascii=False)
        assert len(text.encode()) < 0.4 * 1_048_576, template_id


def test_a_template_published_with_other_settings_is_built_again_as_a_product_stack(tmp_path):
    app = new_app(tmp_path)
    stacks = {"model-deploy": ModelDeployStack(app, stack_id("model-deploy"))}
    studio = StudioTemplatesStack(
        app,
        "Studio",
        templates=[StudioTemplate(template_id="model-deploy", settings={"branch": "dev"})],
        principal_arns=[ROLE],
        template_stacks=stacks,
    )
    assert isinstance(studio.studio.product_stacks["model-deploy"], TemplateProductStack)
    same = StudioTemplatesStack(app, "Same", templates=["model-deploy"], principal_arns=[ROLE], template_stacks=stacks)
    product = same.studio.product_stacks["model-deploy"]
    assert isinstance(product, SynthesizedTemplateProduct) and product.stack is stacks["model-deploy"]
    app.synth()
    assert (tmp_path / product.template_file).exists()


def test_a_template_stack_of_another_app_is_refused(tmp_path):
    other = ModelDeployStack(new_app(tmp_path / "other"), "ModelDeploy")
    with pytest.raises(ValueError, match=r"invalid template stack 'ModelDeploy'.*same app"):
        StudioTemplatesStack(new_app(tmp_path), "Studio", templates=["model-deploy"], principal_arns=[ROLE], template_stacks={"model-deploy": other})


def test_a_stack_of_another_template_is_refused(tmp_path):
    app = new_app(tmp_path)
    with pytest.raises(ValueError, match=r"invalid template_stacks\['model-build'\] 'Other'"):
        StudioTemplatesStack(
            app, "Studio", templates=["model-build"], principal_arns=[ROLE], template_stacks={"model-build": Stack(app, "Other")}
        )


def _model_deploy_studio(outdir):
    app = new_app(outdir)
    stacks = {"model-deploy": ModelDeployStack(app, stack_id("model-deploy"))}
    studio = StudioTemplatesStack(app, "Studio", templates=["model-deploy"], principal_arns=[ROLE], template_stacks=stacks)
    return app, stacks["model-deploy"], studio


def test_the_product_template_is_pending_until_synthesis_in_a_fresh_outdir(tmp_path):
    """A resolve before synthesis (an outdir with nothing in it) neither fails nor writes."""
    app, _, studio = _model_deploy_studio(tmp_path)
    product = studio.studio.product_stacks["model-deploy"]
    assert studio.studio.versions["model-deploy"].current_name() == PENDING
    assert studio.resolve(product.template_url) == PENDING_URL
    assert not (tmp_path / product.template_file).exists()
    app.synth()
    assert (tmp_path / product.template_file).exists()
    assert studio.studio.versions["model-deploy"].current_name() != PENDING
    assert studio.resolve(product.template_url) != PENDING_URL


def test_a_stale_template_left_in_the_outdir_is_never_published(tmp_path):
    """A template stack's template left by an earlier synth is not read, before or at synthesis."""
    _, stack, _ = _model_deploy_studio(tmp_path / "fresh")
    stale = {"Resources": {"Stale": {"Type": "AWS::SNS::Topic"}}}
    (tmp_path / stack.template_file).write_text(json.dumps(stale))
    app, stack, studio = _model_deploy_studio(tmp_path)
    product = studio.studio.product_stacks["model-deploy"]
    versions = studio.studio.versions["model-deploy"]
    assert versions.current_name() == PENDING
    assert studio.resolve(product.template_url) == PENDING_URL
    app.synth()
    text = (tmp_path / product.template_file).read_text()
    written = json.loads(text)
    assert "Stale" not in written["Resources"]
    assert set(written["Resources"]) == set(json.loads((tmp_path / stack.template_file).read_text())["Resources"])
    assert versions.current_name().endswith(template_digest(text))  # names this synth's template


def test_a_template_stack_added_after_the_studio_stack_is_refused(tmp_path):
    app = new_app(tmp_path)
    parent = Stack(app, "Studio")
    stacks = {"model-deploy": ModelDeployStack(app, stack_id("model-deploy"))}
    with pytest.raises(ValueError, match=r"invalid template stack .*added to it before that stack"):
        StudioTemplates(parent, "Templates", templates=["model-deploy"], principals=[iam.Role.from_role_arn(parent, "Role", ROLE)], template_stacks=stacks)


def test_a_template_stack_in_a_nested_stage_is_refused(tmp_path):
    app = new_app(tmp_path)
    stage = Stage(app, "Nested")
    stacks = {"model-deploy": ModelDeployStack(stage, stack_id("model-deploy"))}
    with pytest.raises(ValueError, match=r"invalid template stack 'Nested/.*same app"):
        StudioTemplatesStack(app, "Studio", templates=["model-deploy"], principal_arns=[ROLE], template_stacks=stacks)
