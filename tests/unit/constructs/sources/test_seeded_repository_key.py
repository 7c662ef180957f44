"""A repository encrypted with a customer-managed key can be cloned and pushed by the account's users."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from sagemaker_projects_cdk.constructs.sources.seeded_repository import (
    CODECOMMIT_STATEMENT_SID,
    SeededRepository,
    seed_code_path,
)
from sagemaker_projects_cdk.stacks import BuildDeployStack
from support import new_app

VIA_CODECOMMIT = {
    "Sid": CODECOMMIT_STATEMENT_SID,
    "Effect": "Allow",
    # Every principal of the account, as the AWS managed aws/codecommit key allows: a root
    # principal would only delegate to IAM, which the account statement already does.
    "Principal": {"AWS": "*"},
    "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
    "Resource": "*",
    "Condition": {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", ["codecommit.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]},
            "kms:CallerAccount": {"Ref": "AWS::AccountId"},
        }
    },
}


def _key_statements(template: Template) -> dict[str, list[dict]]:
    return {
        logical_id: key["Properties"]["KeyPolicy"]["Statement"]
        for logical_id, key in template.find_resources("AWS::KMS::Key").items()
    }


def test_the_repository_key_may_be_used_through_codecommit_by_the_account():
    stack = Stack(new_app(), "Repo")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    for construct_id in ("Build", "Deploy"):
        SeededRepository(
            stack,
            construct_id,
            repository_name=f"sagemaker-churn-{construct_id.lower()}",
            seed_directory=seed_code_path("model_build"),
            encryption_key=key,
        )
    (statements,) = _key_statements(Template.from_stack(stack)).values()
    # One statement for both repositories of the key.
    assert [s for s in statements if s.get("Sid") == CODECOMMIT_STATEMENT_SID] == [VIA_CODECOMMIT]


def test_every_template_key_that_encrypts_a_repository_allows_codecommit(assembly):
    for template_id, template in assembly.templates.items():
        keys = _key_statements(Template.from_json(template))
        repositories = Template.from_json(template).find_resources("AWS::CodeCommit::Repository").values()
        used = {r["Properties"]["KmsKeyId"]["Fn::GetAtt"][0] for r in repositories}
        # build-deploy-git's and build-deploy-jenkins's code is on a Git host: no repository, and no CodeCommit statement.
        assert bool(used) != template_id.endswith(("-git", "-jenkins")), template_id
        if not used:
            assert not [s for ss in keys.values() for s in ss if s.get("Sid") == CODECOMMIT_STATEMENT_SID], template_id
        for logical_id in used:
            via = [s for s in keys[logical_id] if s.get("Sid") == CODECOMMIT_STATEMENT_SID]
            assert via == [VIA_CODECOMMIT], (template_id, logical_id)


def test_a_build_deploy_project_has_one_codecommit_statement_for_its_two_repositories():
    template = Template.from_stack(BuildDeployStack(new_app(), "BuildDeploy"))
    (statements,) = _key_statements(template).values()
    assert len(template.find_resources("AWS::CodeCommit::Repository")) == 2
    assert [s.get("Sid") for s in statements].count(CODECOMMIT_STATEMENT_SID) == 1
