"""The pipelines take any PipelineSource: CodeCommit today, GitHub/GitLab/Bitbucket through CodeConnections."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.compliance import add_security_packs
from sagemaker_projects_cdk.constructs import (
    ArtifactBucket,
    CodeConnectionsSource,
    ModelBuildPipeline,
    ModelPackageGroup,
    ProjectIdentity,
)
from support import new_app

CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def test_model_build_pipeline_runs_from_a_codeconnections_repository(tmp_path):
    app = new_app(tmp_path)
    stack = Stack(app, "GitHubBuild")
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    artifacts = ArtifactBucket(stack, "Artifacts")
    group = ModelPackageGroup(stack, "Group", model_package_group_name=project.name_id)
    ModelBuildPipeline(
        stack,
        "ModelBuild",
        project=project,
        source=CodeConnectionsSource(connection_arn=CONNECTION, owner="acme", repo="churn-model", branch="release"),
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        model_package_group=group,
    )
    add_security_packs(app)
    template = Template.from_json(app.synth().get_stack_by_name("GitHubBuild").template)  # packs pass too

    (pipeline,) = template.find_resources("AWS::CodePipeline::Pipeline").values()
    source = pipeline["Properties"]["Stages"][0]["Actions"][0]
    assert source["ActionTypeId"] == {"Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection", "Version": "1"}
    assert source["Configuration"]["FullRepositoryId"] == "acme/churn-model"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION
    assert source["Configuration"]["BranchName"] == "release"
    # The pipeline may use exactly this connection (both spellings, both prefixes), tagged
    # sagemaker=true, for this repository; nothing else uses a connection.
    uses = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if any("UseConnection" in action for action in _list(s["Action"]))
    ]
    assert len(uses) == 1
    (use,) = uses
    assert sorted(use["Action"]) == ["codeconnections:UseConnection", "codestar-connections:UseConnection"]
    assert use["Resource"] == [CONNECTION, CONNECTION.replace(":codeconnections:", ":codestar-connections:")]
    assert use["Condition"] == {
        "StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"},
        "StringEqualsIgnoreCaseIfExists": {
            "codeconnections:FullRepositoryId": ["acme/churn-model"],
            "codestar-connections:FullRepositoryId": ["acme/churn-model"],
        },
    }
    # No ProviderPermissionsRequired condition: what CodePipeline sends is not documented, and
    # SageMaker's own roles condition only on the tag.
    assert "ProviderPermissionsRequired" not in str(use["Condition"])
    # A zip of the commit, not a clone: the build's role does not use the connection.
    assert "OutputArtifactFormat" not in source["Configuration"]
    assert not template.find_resources("AWS::CodeCommit::Repository")


def _pipeline_template(tmp_path, source) -> Template:
    app = new_app(tmp_path)
    stack = Stack(app, "GitHubBuild")
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    artifacts = ArtifactBucket(stack, "Artifacts")
    group = ModelPackageGroup(stack, "Group", model_package_group_name=project.name_id)
    ModelBuildPipeline(
        stack,
        "ModelBuild",
        project=project,
        source=source,
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        model_package_group=group,
    )
    add_security_packs(app)
    return Template.from_json(app.synth().get_stack_by_name("GitHubBuild").template)


def _statements(template: Template, role_id: str) -> list[dict]:
    return [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if any(r == {"Ref": role_id} for r in p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize("full_clone", [False, True])
def test_the_source_action_role_may_put_object_acls_zip_or_clone(tmp_path, full_clone):
    # CodePipeline uploads the source output with an ACL (aws/aws-cdk#13557): always granted.
    template = _pipeline_template(
        tmp_path, CodeConnectionsSource(connection_arn=CONNECTION, full_name="acme/churn-model", full_clone=full_clone)
    )
    (pipeline,) = template.find_resources("AWS::CodePipeline::Pipeline").values()
    source = pipeline["Properties"]["Stages"][0]["Actions"][0]
    role_id = source["RoleArn"]["Fn::GetAtt"][0]
    actions = {a for s in _statements(template, role_id) for a in _list(s["Action"])}
    assert {"s3:PutObjectAcl", "s3:PutObject"} <= actions, actions
    assert source["Configuration"].get("OutputArtifactFormat") == ("CODEBUILD_CLONE_REF" if full_clone else None)
    # With a full clone the build's role uses the connection too, with the same conditions.
    (project,) = template.find_resources("AWS::CodeBuild::Project").values()
    build_role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    uses = [s for s in _statements(template, build_role) if "codeconnections:UseConnection" in _list(s["Action"])]
    if not full_clone:
        assert uses == []
        return
    (use,) = uses
    assert use["Condition"] == {
        "StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"},
        "StringEqualsIgnoreCaseIfExists": {
            "codeconnections:FullRepositoryId": ["acme/churn-model"],
            "codestar-connections:FullRepositoryId": ["acme/churn-model"],
        },
    }


def test_codeconnections_source_refuses_a_non_arn():
    with pytest.raises(ValueError, match="invalid connection_arn 'github': expected the ARN of a CodeConnections connection"):
        CodeConnectionsSource(connection_arn="github", owner="org", repo="repo")
    source = CodeConnectionsSource(
        connection_arn="arn:aws:codeconnections:eu-west-1:123456789012:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        owner="org",
        repo="models",
    )
    assert source.description == "org/models" and source.branch == "main"


def _list(value):
    return value if isinstance(value, list) else [value]
