"""build-deploy-git and the source setting of every template: no CodeCommit repository with a
connection; the source actions, associations and seeding come from the settings or parameters."""

from __future__ import annotations

import re

import pytest

from sagemaker_projects_cdk.constructs.sources.source import (
    BRANCH_ALLOWED_PATTERN,
    CodeConnectionsSource,
    ConnectionSource,
    GitRepository,
)
from sagemaker_projects_cdk.stacks import BuildDeployGitStack, BuildDeployStack, ModelBuildStack, ModelDeployStack
from support import new_app

CONNECTION = "arn:aws:codeconnections:us-east-1:111122223333:connection/0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def _sources(template: dict) -> list[dict]:
    return [
        action
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
        for stage in r["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Source"
    ]


def test_the_git_template_takes_its_connection_and_repositories_as_parameters(assembly):
    template = assembly.templates["build-deploy-git"]
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeCommit::Repository"]
    parameters = template["Parameters"]
    assert re.fullmatch(parameters["CodeConnectionArn"]["AllowedPattern"].strip("^$"), CONNECTION)
    full_name = parameters["ModelBuildRepositoryFullName"]["AllowedPattern"][1:-1]
    assert not re.fullmatch(full_name, "no-slash")
    assert not re.fullmatch(full_name, "acme/x.git") and not re.fullmatch(full_name, "acme/x.Git")
    assert re.fullmatch(full_name, "acme/x.github-io") and re.fullmatch(full_name, "group/sub/x.gitops")
    for part in ("ModelBuild", "ModelDeploy"):  # the same names as check_branch (test_branch_names)
        assert parameters[f"{part}RepositoryBranch"]["AllowedPattern"] == f"^{BRANCH_ALLOWED_PATTERN}$"
    assert not re.fullmatch(parameters["ModelBuildRepositoryBranch"]["AllowedPattern"][1:-1], "a..b")
    assert parameters["ModelBuildRepositoryBranch"]["Default"] == "main"
    actions = {a["Name"] + str(i): a for i, a in enumerate(_sources(template))}
    assert len(actions) == 2
    for action in actions.values():
        assert action["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
        configuration = action["Configuration"]
        assert configuration["ConnectionArn"] == {"Ref": "CodeConnectionArn"}
        assert configuration["FullRepositoryId"] in ({"Ref": "ModelBuildRepositoryFullName"}, {"Ref": "ModelDeployRepositoryFullName"})
        assert configuration["BranchName"] in ({"Ref": "ModelBuildRepositoryBranch"}, {"Ref": "ModelDeployRepositoryBranch"})
    associations = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::CodeRepository"]
    assert len(associations) == 2
    seeds = [r for r in template["Resources"].values() if r["Type"] == "Custom::SeedRepository"]
    assert {s["Properties"]["FullRepositoryName"]["Ref"] for s in seeds} == {"ModelBuildRepositoryFullName", "ModelDeployRepositoryFullName"}
    # The pipelines are created after the seeds are pushed.
    pipelines = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    seed_ids = {i for i, r in template["Resources"].items() if r["Type"] == "Custom::SeedRepository"}
    assert all(seed_ids & set(p.get("DependsOn", [])) for p in pipelines)
    # The deploy pipeline is still started by approvals of the group.
    rules = [r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    assert any(r["Properties"]["EventPattern"].get("detail-type") == ["SageMaker Model Package State Change"] for r in rules)


@pytest.mark.parametrize("stack_class", [ModelBuildStack, ModelDeployStack, BuildDeployStack])
def test_every_template_takes_a_connection_source_and_creates_no_codecommit_repository(stack_class):
    from aws_cdk.assertions import Template

    source = ConnectionSource(
        connection_arn=CONNECTION,
        model_build=GitRepository(full_name="acme/build", branch="dev"),
        model_deploy=GitRepository(full_name="acme/deploy"),
        host_url="https://gitlab.example.com",
    )
    stack = stack_class(new_app(), "Git", source=source, project_name="churn", project_id="p-abc123def456")
    template = Template.from_stack(stack).to_json()
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeCommit::Repository"]
    for action in _sources(template):
        assert action["Configuration"]["ConnectionArn"] == CONNECTION
        assert (action["Configuration"]["FullRepositoryId"], action["Configuration"]["BranchName"]) in (("acme/build", "dev"), ("acme/deploy", "main"))
    urls = sorted(r["Properties"]["GitConfig"]["RepositoryUrl"] for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::CodeRepository")
    assert urls and set(urls) <= {"https://gitlab.example.com/acme/build.git", "https://gitlab.example.com/acme/deploy.git"}
    names = {r["Properties"]["CodeRepositoryName"] for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::CodeRepository"}
    assert names <= {"sagemaker-p-abc123def456-modelbuild", "sagemaker-p-abc123def456-modeldeploy"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ConnectionSource(connection_arn="arn:aws:s3:::bucket", model_build=GitRepository(full_name="o/r")), "invalid connection_arn 'arn:aws:s3:::bucket'"),
        (lambda: GitRepository(full_name="just-a-name"), "invalid full_name 'just-a-name': expected a repository's full name 'owner/repo'"),
        (lambda: GitRepository(full_name="acme/x.git"), "invalid full_name 'acme/x.git': expected the repository's name without the clone URL's '.git': drop it ('acme/x')"),
        (lambda: GitRepository(full_name="acme/x.GIT"), "invalid full_name 'acme/x.GIT'"),
        (lambda: BuildDeployGitStack(new_app(), "X", model_deploy_repository="acme/deploy.git"), "invalid model_deploy_repository 'acme/deploy.git'"),
        (lambda: CodeConnectionsSource(connection_arn=CONNECTION, owner="acme", repo="x.git"), "invalid repo 'x.git': expected the repository's name without the clone URL's '.git'"),
        (lambda: GitRepository(full_name="o/r", branch="bad..branch"), "invalid branch 'bad..branch'"),
        (lambda: ConnectionSource(connection_arn=CONNECTION), "at least one GitRepository"),
        (lambda: BuildDeployGitStack(new_app(), "X", connection_arn="github"), "invalid connection_arn 'github'"),
        (lambda: BuildDeployGitStack(new_app(), "X", model_build_repository="a/b/"), "invalid model_build_repository 'a/b/'"),
        (lambda: BuildDeployGitStack(new_app(), "X", model_deploy_branch="x.lock"), "invalid model_deploy_branch 'x.lock'"),
        (lambda: BuildDeployGitStack(new_app(), "X", model_build_branch="HEAD"), "invalid model_build_branch 'HEAD'"),
        (lambda: BuildDeployGitStack(new_app(), "X", model_build_branch="a/.b"), "invalid model_build_branch 'a/.b'"),
        (lambda: BuildDeployGitStack(new_app(), "X", source=ConnectionSource(connection_arn=CONNECTION, model_build=GitRepository(full_name="o/r"))), "invalid source 'ConnectionSource'"),
        (lambda: ModelDeployStack(new_app(), "X", source=ConnectionSource(connection_arn=CONNECTION, model_build=GitRepository(full_name="o/r"))), "invalid source.model_deploy None: expected a GitRepository"),
    ],
)
def test_bad_input_names_the_setting_and_value(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()
