"""The target-account baseline: plain CloudFormation, the contract's role names, trust in every shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Stack

from iam_eval import Resolver
from sagemaker_projects_cdk.app import TARGET_ACCOUNT_STACK_ID
from sagemaker_projects_cdk.compliance import add_security_packs
from sagemaker_projects_cdk.constructs.deploy.targets import TARGET_ROLE_PATH, TARGET_ROLES, target_role_arn
from sagemaker_projects_cdk.stacks import TEMPLATES, TargetAccountStack
from support import new_app

TOOLING, TARGET = "111111111111", "123456789012"
ORG = "o-abcdef1234"


def _synth(outdir: Path, **settings) -> tuple[dict, Path]:
    app = new_app(outdir)
    stack = TargetAccountStack(app, TARGET_ACCOUNT_STACK_ID, **settings)
    add_security_packs(app)
    app.synth()
    path = outdir / f"{stack.artifact_id}.template.json"
    return json.loads(path.read_text()), outdir


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> tuple[dict, Path]:
    return _synth(tmp_path_factory.mktemp("baseline"))


def _trust(template: dict, **parameters: str) -> dict:
    resolver = Resolver(template, parameters={"ToolingAccountId": TOOLING, **parameters}, account=TARGET)
    (role,) = [r for k, r in template["Resources"].items() if k.startswith("ActionsRole")]
    return resolver.resolve(role["Properties"]["AssumeRolePolicyDocument"])


def test_is_not_a_project_template():
    assert TargetAccountStack not in TEMPLATES.values()


def test_needs_no_bootstrap_and_no_assets(synthesized):
    template, outdir = synthesized
    text = json.dumps(template)
    assert "BootstrapVersion" not in text and "Rules" not in template
    assert "cdk-" not in text and "hnb659fds" not in text
    assert "aws:cdk:asset" not in text and not any("Asset" in name for name in template["Parameters"])
    assert set(template["Parameters"]) == {"ToolingAccountId", "OrganizationId", "RequireProjectPrincipalTag"}
    assert not any("Metadata" in r and set(r["Metadata"]) - {"checkov", "aws:cdk:path"} for r in template["Resources"].values())
    assert "CDKMetadata" not in template["Resources"]
    # Nor does the cloud assembly name a bootstrap role, bucket or asset: `cdk deploy` uses the caller's credentials.
    for path in outdir.iterdir():
        if path.name.startswith(TARGET_ACCOUNT_STACK_ID) or path.name == "manifest.json":
            assert "hnb659fds" not in path.read_text() and "BootstrapVersion" not in path.read_text(), path.name
    assert not list(outdir.glob("*.assets.json"))
    # `aws cloudformation deploy --template-file` passes it inline: at most 51,200 bytes.
    assert len(json.dumps(template, indent=1)) < 51_200


def test_synth_twice_gives_the_same_template(synthesized, tmp_path):
    again, _ = _synth(tmp_path)
    assert again == synthesized[0]


def test_tooling_account_is_a_required_parameter(synthesized):
    template, _ = synthesized
    parameters = template["Parameters"]
    assert "Default" not in parameters["ToolingAccountId"]
    assert parameters["ToolingAccountId"]["AllowedPattern"] == "^[0-9]{12}$"
    assert parameters["OrganizationId"]["Default"] == ""
    assert parameters["OrganizationId"]["AllowedPattern"] == "^(o-[a-z0-9]{10,32})?$"
    flag = parameters["RequireProjectPrincipalTag"]
    assert flag["Default"] == "true" and flag["AllowedValues"] == ["true", "false"]


TAGGED_CALLER = {"Null": {"aws:PrincipalTag/sagemaker:project-id": "false"}}


@pytest.mark.parametrize(
    ("parameters", "condition"),
    [
        ({}, TAGGED_CALLER),
        ({"RequireProjectPrincipalTag": "false"}, None),
        ({"OrganizationId": ORG}, {"StringEquals": {"aws:PrincipalOrgID": ORG}, **TAGGED_CALLER}),
        ({"OrganizationId": ORG, "RequireProjectPrincipalTag": "false"}, {"StringEquals": {"aws:PrincipalOrgID": ORG}}),
    ],
)
def test_only_the_tooling_account_is_trusted_with_the_conditions_given(synthesized, parameters, condition):
    document = _trust(synthesized[0], **parameters)
    (statement,) = document["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{TOOLING}:root"}
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    assert statement.get("Condition") == condition


@pytest.mark.parametrize(
    ("settings", "condition"),
    [
        ({}, None),
        ({"organization_id": ""}, None),
        ({"require_project_principal_tag": True}, TAGGED_CALLER),
        ({"organization_id": ORG, "require_project_principal_tag": True}, {"StringEquals": {"aws:PrincipalOrgID": ORG}, **TAGGED_CALLER}),
    ],
)
def test_given_settings_become_plain_values(tmp_path, settings, condition):
    template, _ = _synth(
        tmp_path,
        tooling_account_id=TOOLING,
        **{"organization_id": "", "require_project_principal_tag": False, **settings},
    )
    assert "Parameters" not in template and "Conditions" not in template
    (role,) = [r for k, r in template["Resources"].items() if k.startswith("ActionsRole")]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement.get("Condition") == condition
    assert role["Properties"]["RoleName"] == f"sagemaker-projects-{TOOLING}-actions"


def test_roles_are_where_the_tooling_side_looks_for_them(synthesized):
    template, _ = synthesized
    resolver = Resolver(template, parameters={"ToolingAccountId": TOOLING}, account=TARGET)
    contract = Stack(new_app(), "Tooling")
    outputs = template["Outputs"]
    for role in TARGET_ROLES:
        (role_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith(role.capitalize())]
        properties = template["Resources"][role_id]["Properties"]
        assert properties["Path"] == TARGET_ROLE_PATH
        expected = Resolver({}, account=TARGET).resolve(
            contract.resolve(target_role_arn(contract, target_account=TARGET, tooling_account=TOOLING, role=role))
        )
        assert resolver.get_att(role_id, "Arn") == expected
        assert resolver.resolve(outputs[f"{role.capitalize()}RoleArn"]["Value"]) == expected
    assert set(outputs) == {f"{role.capitalize()}RoleArn" for role in TARGET_ROLES}


def test_who_may_assume_which_role(synthesized):
    template, _ = synthesized
    trusted = {
        k[: -len("Role") - 8]: r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
    }
    assert trusted["Deployer"] == {"Service": "cloudformation.amazonaws.com"}
    assert trusted["Endpoint"] == {"Service": "sagemaker.amazonaws.com"}
    assert "AWS" in trusted["Actions"]


def test_no_wildcard_action_and_no_inline_policy(synthesized):
    template, _ = synthesized
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            assert "Policies" not in resource["Properties"] and "ManagedPolicyArns" not in resource["Properties"], logical_id
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert statement["Effect"] == "Allow"
            assert not [a for a in actions if a == "*" or a.endswith(":*") or "*" in a], (logical_id, actions)


def test_holds_only_iam_roles_and_their_policies_unconditionally(synthesized):
    """IAM names are global: the baseline is deployed once per target account (in any one
    region), always creates its three roles and nothing regional; a stage stack creates its own
    key. (Its conditions shape the actions role's trust only.)"""
    template, _ = synthesized
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::IAM::Role", "AWS::IAM::ManagedPolicy"}
    assert len([r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]) == len(TARGET_ROLES)
    assert not [k for k, r in {**template["Resources"], **template["Outputs"]}.items() if "Condition" in r]
    assert set(template["Outputs"]) == {f"{role.capitalize()}RoleArn" for role in TARGET_ROLES}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tooling_account_id": "12345"}, r"invalid tooling_account_id '12345': expected a 12-digit AWS account id"),
        ({"tooling_account_id": "1234567890123"}, r"invalid tooling_account_id '1234567890123'"),
        ({"tooling_account_id": TOOLING, "require_project_principal_tag": "yes"}, r"invalid require_project_principal_tag 'yes': expected True or False"),
        ({"tooling_account_id": TOOLING, "require_project_principal_tag": 1}, r"invalid require_project_principal_tag 1: expected True or False"),
        ({"tooling_account_id": TOOLING, "organization_id": "org-1234567890"}, r"invalid organization_id 'org-1234567890': expected an AWS Organizations id"),
        ({"tooling_account_id": TOOLING, "organization_id": "o-short"}, r"invalid organization_id 'o-short'"),
        ({"tooling_account_id": TOOLING, "organization_id": "o-ABCDEF12345"}, r"invalid organization_id 'o-ABCDEF12345'"),
    ],
)
def test_bad_input_is_refused_naming_the_setting(settings, message):
    app = new_app()
    with pytest.raises(ValueError, match=message):
        TargetAccountStack(app, "Bad", **settings)
    assert app.node.try_find_child("Bad") is None


def test_there_is_no_external_id(synthesized):
    """CodePipeline cannot pass sts:ExternalId when it assumes an action's RoleArn: a trust
    requiring one would make the actions role unusable for the deploy pipeline."""
    import inspect

    template, _ = synthesized
    assert "ExternalId" not in json.dumps(template)
    assert "external_id" not in inspect.signature(TargetAccountStack.__init__).parameters


def _statements(statements: list) -> list:
    """Policy statements, each branch of a conditional (``Fn::If``) statement as one of them."""
    flat = []
    for statement in statements:
        if set(statement) == {"Fn::If"}:
            flat.extend(branch for branch in statement["Fn::If"][1:] if isinstance(branch, dict) and "Action" in branch)
        else:
            flat.append(statement)
    return flat


def test_the_tooling_roles_that_assume_the_actions_role_carry_the_project_tag(tmp_path):
    """RequireProjectPrincipalTag (default true) holds for every role of the tooling templates
    that may assume a stage's actions role: the pipeline's role (CodePipeline assumes the role
    of a stage's CloudFormation action with it), the tests' and change record's CodeBuild roles,
    and the stage teardown function (it deletes stage stacks in target accounts)."""
    from sagemaker_projects_cdk.stacks import BuildDeployGitStack, ModelDeployStack

    app = new_app(tmp_path)
    stacks = [ModelDeployStack(app, "ModelDeploy"), BuildDeployGitStack(app, "BuildDeployGit")]
    app.synth()
    for stack in stacks:
        template = json.loads((tmp_path / f"{stack.artifact_id}.template.json").read_text())
        resources = template["Resources"]
        assumers = {
            role["Ref"]
            for resource in resources.values()
            if resource["Type"] == "AWS::IAM::Policy"
            for statement in _statements(resource["Properties"]["PolicyDocument"]["Statement"])
            if "sts:AssumeRole" in json.dumps(statement["Action"]) and "-actions" in json.dumps(statement["Resource"])
            for role in resource["Properties"]["Roles"]
        }
        # the pipeline, the staging tests, the change record, the stage teardown
        assert len(assumers) >= 4, (stack.artifact_id, assumers)
        assert any("PipelineRole" in a for a in assumers)
        for role_id in assumers:
            tags = {t["Key"] for t in resources[role_id]["Properties"].get("Tags", [])}
            assert "sagemaker:project-id" in tags, (stack.artifact_id, role_id)
