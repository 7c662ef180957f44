"""Bad input is refused at synth with a ValueError naming the setting, the value and the rule."""

from __future__ import annotations

import re

import pytest
from aws_cdk import Stack

from support import new_app
from sagemaker_projects_cdk.constructs import ArtifactBucket, CodeConnectionsSource, ModelPackageGroup
from sagemaker_projects_cdk.stacks import ModelBuildStack


def build(**kwargs):
    return ModelBuildStack(new_app(), "Stack", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"project_name": "a" * 33}, "invalid project_name 'a{33}': expected 1 to 32 characters"),
        ({"project_name": ""}, "invalid project_name '': expected 1 to 32 characters"),
        ({"project_name": "1churn"}, r"invalid project_name '1churn': expected .*\^\[a-zA-Z\]"),
        ({"project_name": "churn_model"}, "invalid project_name 'churn_model'"),
        ({"project_name": "churn-"}, "invalid project_name 'churn-'"),
        ({"project_id": "p" * 21}, "invalid project_id 'p{21}': expected 1 to 20 characters"),
        ({"branch": ""}, "invalid branch '': expected a Git branch name"),
        ({"branch": "feature..x"}, r"invalid branch 'feature\.\.x'"),
        ({"branch": "has space"}, "invalid branch 'has space'"),
        ({"branch": "release/"}, "invalid branch 'release/'"),
        ({"training_instance_type": "m5.xlarge"}, "invalid training_instance_type 'm5.xlarge': expected a SageMaker instance type"),
        ({"processing_instance_type": "ml.zz9.large"}, "invalid processing_instance_type 'ml.zz9.large'"),
        ({"compute_type": "BUILD_GENERAL1_HUGE"}, "invalid compute_type 'BUILD_GENERAL1_HUGE': expected one of 'BUILD_GENERAL1_SMALL'"),
        ({"model_read_account_ids": ("12345",)}, "invalid model_read_account_ids '12345': expected a 12-digit AWS account id"),
    ],
)
def test_stack_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


def test_tokens_are_not_validated_at_synth():
    from aws_cdk import CfnParameter

    app = new_app()
    stack = Stack(app, "Tokens")
    name = CfnParameter(stack, "Name").value_as_string
    # An unresolved value is CloudFormation's to check; no ValueError here.
    ModelPackageGroup(stack, "Group", model_package_group_name=name)


def test_artifact_bucket_refuses_a_zero_day_expiration():
    with pytest.raises(ValueError, match=re.escape("invalid noncurrent_version_expiration_days 0: expected a number from 1 to 3650")):
        ArtifactBucket(Stack(new_app(), "S"), "B", noncurrent_version_expiration_days=0)


def test_codeconnections_source_refuses_a_non_arn():
    with pytest.raises(ValueError, match="invalid connection_arn 'github': expected the ARN of a CodeConnections connection"):
        CodeConnectionsSource(connection_arn="github", owner="org", repo="repo")
    source = CodeConnectionsSource(
        connection_arn="arn:aws:codeconnections:eu-west-1:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        owner="org",
        repo="models",
    )
    assert source.description == "org/models" and source.branch == "main"
