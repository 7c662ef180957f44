"""Publishing to Studio: bad input is refused with a ValueError naming the setting, the value and
the rule; an existing launch role and explicit Studio roles are used as given."""

from __future__ import annotations

import re

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.app import build_app
from sagemaker_projects_cdk.studio import StudioTemplate, StudioTemplates, StudioTemplatesStack
from support import new_app

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20260101T000000"
LAUNCH_ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMakerServiceCatalogProductsLaunchRole"


def build(**kwargs):
    kwargs.setdefault("principal_arns", [ROLE])
    return StudioTemplatesStack(new_app(), "Studio", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"templates": ["model-train"]}, "invalid template id 'model-train': expected one of model-build, model-deploy, build-deploy"),
        ({"templates": []}, r"invalid templates \[\]: expected at least one template id"),
        ({"templates": ["model-build", "model-build"]}, r"invalid templates \['model-build', 'model-build'\]: expected each template once"),
        ({"principal_arns": []}, r"invalid principal_arns \[\]: expected at least one Studio execution role ARN"),
        ({"principal_arns": ["AmazonSageMaker-ExecutionRole"]}, "invalid principal_arns 'AmazonSageMaker-ExecutionRole': expected an IAM role ARN"),
        ({"principal_arns": ["arn:aws:iam::123456789012:user/alice"]}, "invalid principal_arns 'arn:aws:iam::123456789012:user/alice'"),
        ({"launch_role_arn": "arn:aws:s3:::launch-role"}, "invalid launch_role_arn 'arn:aws:s3:::launch-role': expected an IAM role ARN"),
        ({"launch_role_arn": "arn:aws:iam::1234:role/x"}, r"invalid launch_role_arn 'arn:aws:iam::1234:role/x'"),
        ({"allow_removal": ["model-train"]}, "invalid allow_removal template id 'model-train'"),
        ({"templates_prefix": "templates"}, "invalid templates_prefix 'templates': expected an S3 key prefix ending in '/'"),
        ({"bucket_name": "Templates_Bucket"}, "invalid bucket_name 'Templates_Bucket'"),
    ],
)
def test_stack_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"template_id": "model-build", "settings": {"brnch": "dev"}}, "invalid ModelBuildStack setting 'brnch': expected one of project_name, project_id, branch"),
        ({"template_id": "model-deploy", "settings": {"project_name": "churn"}}, "invalid model-deploy setting 'project_name': expected a setting other than project_name and project_id"),
        ({"template_id": "model-build", "product_name": ""}, "invalid product_name '': expected 1 to 100 characters"),
    ],
)
def test_template_choice_refuses(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        StudioTemplate(**kwargs)


def test_template_settings_are_validated_by_the_template():
    with pytest.raises(ValueError, match="invalid branch 'feature..x'"):
        build(templates=[StudioTemplate(template_id="model-deploy", settings={"branch": "feature..x"})])


def test_construct_needs_a_principal():
    with pytest.raises(ValueError, match=r"invalid principals \[\]: expected at least one Studio execution role"):
        StudioTemplates(Stack(new_app(), "Admin"), "Studio", principals=[])


def test_build_app_refuses_an_unknown_template():
    with pytest.raises(ValueError, match="invalid template 'model-train'"):
        build_app(new_app(), templates=["model-train"])


def test_existing_launch_role_and_given_studio_roles_are_used_as_given():
    other = "arn:aws:iam::123456789012:role/DataScientist"
    stack = build(templates=["model-deploy"], principal_arns=[ROLE, other], launch_role_arn=LAUNCH_ROLE)
    template = Template.from_stack(stack)
    resources = template.to_json()["Resources"]
    assert "StudioExecutionRoleArn" not in template.to_json().get("Parameters", {})
    assert not [k for k in resources if k.startswith("StudioLaunchRole")]
    (constraint,) = template.find_resources("AWS::ServiceCatalog::LaunchRoleConstraint").values()
    assert constraint["Properties"]["RoleArn"] == LAUNCH_ROLE
    principals = sorted(r["Properties"]["PrincipalARN"] for r in template.find_resources("AWS::ServiceCatalog::PortfolioPrincipalAssociation").values())
    assert principals == sorted([ROLE, other])
    statements = [
        s
        for policy in template.find_resources("AWS::S3::BucketPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (reads,) = [s for s in statements if s.get("Sid") == "LaunchRoleReadsAssets"]
    assert reads["Principal"] == {"AWS": LAUNCH_ROLE}
    assert sorted(reads["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
