"""ModelPackageGroup: names are validated at synth, unless they are CloudFormation tokens."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs import ModelPackageGroup
from support import new_app


def test_tokens_are_not_validated_at_synth():
    from aws_cdk import CfnParameter

    app = new_app()
    stack = Stack(app, "Tokens")
    name = CfnParameter(stack, "Name").value_as_string
    # An unresolved value is CloudFormation's to check; no ValueError here.
    ModelPackageGroup(stack, "Group", model_package_group_name=name)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup", {"ModelPackageGroupName": {"Ref": "Name"}}
    )
