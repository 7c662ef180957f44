"""IModelPackageGroup: a created group and an imported one (this account or another) serve alike."""

from __future__ import annotations

import re

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from sagemaker_projects_cdk.constructs import IModelPackageGroup, ModelPackageGroup
from support import new_app


def _stack() -> Stack:
    return Stack(new_app(), "Registry")


def test_created_and_imported_groups_are_model_package_groups():
    stack = _stack()
    created = ModelPackageGroup(stack, "Created", model_package_group_name="churn-p-1")
    imported = ModelPackageGroup.from_name(stack, "Imported", "churn-p-1")
    for group in (created, imported):
        assert isinstance(group, IModelPackageGroup)
    assert stack.resolve(created.model_packages_arn) == stack.resolve(imported.model_packages_arn)


def test_a_group_of_another_account_is_granted_by_its_own_arn():
    stack = _stack()
    group = ModelPackageGroup.from_arn(
        stack, "Other", "arn:aws:sagemaker:eu-west-1:111122223333:model-package-group/churn-p-1"
    )
    assert stack.resolve(group.model_package_group_arn) == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:eu-west-1:111122223333:model-package-group/churn-p-1"]]
    }
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"))
    group.grant_read(role)
    statements = stack.resolve(role.node.find_child("DefaultPolicy").document)["Statement"]
    scoped = [s for s in statements if "sagemaker:DescribeModelPackage" in s["Action"]]
    assert ":sagemaker:eu-west-1:111122223333:model-package/churn-p-1/*" in str(scoped)


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/1", "invalid model_package_group_arn"),
        ("churn-p-1", "invalid model_package_group_arn 'churn-p-1': expected a model package group ARN"),
    ],
)
def test_a_bad_group_arn_is_refused(arn, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelPackageGroup.from_arn(_stack(), "Bad", arn)


def test_the_deploy_pipeline_refuses_a_group_of_another_account():
    app = new_app()
    stack = Stack(app, "Registry")
    group = ModelPackageGroup.from_arn(stack, "Other", "arn:aws:sagemaker:eu-west-1:111122223333:model-package-group/churn-p-1")
    from sagemaker_projects_cdk.constructs import ArtifactBucket, ProjectIdentity
    from sagemaker_projects_cdk.constructs.deploy.pipeline import ModelDeployPipeline
    from sagemaker_projects_cdk.constructs.sources.source import CodeConnectionsSource

    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-1")
    artifacts = ArtifactBucket(stack, "Artifacts")
    with pytest.raises(ValueError, match="a group in another account is not supported by the deploy pipeline yet"):
        ModelDeployPipeline(
            stack,
            "Deploy",
            project=project,
            source=CodeConnectionsSource(
                connection_arn="arn:aws:codeconnections:us-east-1:123456789012:connection/11111111-2222-3333-4444-555555555555",
                owner="acme",
                repo="deploy",
            ),
            bucket=artifacts.bucket,
            encryption_key=artifacts.encryption_key,
            model_package_group=group,
        )
