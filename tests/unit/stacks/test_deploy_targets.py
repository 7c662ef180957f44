"""Staging and prod in their own accounts (issue 13, tooling side): the synth matrix, the
static check that every principal a pipeline action uses in another account is granted where
it reads, single-account templates unchanged but for the parameters, and bad input."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Environment

from sagemaker_projects_cdk.compliance import add_security_packs
from sagemaker_projects_cdk.constructs.deploy.stages import DeployStage
from sagemaker_projects_cdk.stacks import BuildDeployStack, ModelDeployStack
from support import REPO, new_app

TOOLING, STAGING, PROD = "111111111111", "222222222222", "333333333333"
REGION = "eu-west-1"
TARGET_PARAMETERS = ("StagingAccountId", "ProdAccountId", "StagingRegion", "ProdRegion")
#: The build and test projects' variables that carry the targets (present with empty values
#: when the targets are parameters).
TARGET_VARIABLES = ("STAGE_ACCOUNTS", "STAGE_EXECUTION_ROLE_ARNS", "STAGE_ROLE_ARN")

#: name -> (stack class, stack properties, settings)
MATRIX: dict[str, tuple[type, dict[str, Any], dict[str, Any]]] = {
    "single-account": (BuildDeployStack, {}, dict.fromkeys(("staging_account_id", "prod_account_id", "staging_region", "prod_region"), "")),
    "two-accounts": (
        BuildDeployStack,
        {"env": Environment(account=TOOLING, region=REGION)},
        {"staging_account_id": STAGING, "prod_account_id": STAGING, "staging_region": REGION},
    ),
    "three-accounts": (
        BuildDeployStack,
        {"env": Environment(account=TOOLING, region=REGION)},
        {"staging_account_id": STAGING, "prod_account_id": PROD},
    ),
    "three-accounts-env-agnostic": (ModelDeployStack, {}, {"staging_account_id": STAGING, "prod_account_id": PROD}),
    "parameters": (BuildDeployStack, {}, {}),
}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    """Each case synthesized once, with the three security packs on (a finding fails the synth)."""
    result = {}
    for name, (cls, props, settings) in MATRIX.items():
        app = new_app(tmp_path_factory.mktemp(name))
        # One stack id for all: logical ids of some nested constructs hold it.
        stack = cls(app, "Template", **props, **settings)
        add_security_packs(app)
        artifact = app.synth().get_stack_artifact(stack.artifact_id)
        result[name] = (artifact.template, Path(artifact.template_full_path))
    return result


def collapse(template: dict, truth: bool, *, keep: Collection[str] = ()) -> dict:
    """``template`` as CloudFormation would see it with every condition ``truth`` (but those
    named in ``keep``, left as they are): ``Fn::If`` resolved, ``AWS::NoValue`` dropped,
    conditional resources kept or removed."""
    drop = object()

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Fn::If"} and value["Fn::If"][0] in keep:
                return value  # left as it is, AWS::NoValue branch included
            if set(value) == {"Fn::If"}:
                return walk(value["Fn::If"][1 if truth else 2])
            if value == {"Ref": "AWS::NoValue"}:
                return drop
            return {k: w for k, v in value.items() if (w := walk(v)) is not drop}
        if isinstance(value, list):
            return [w for v in value if (w := walk(v)) is not drop]
        return value

    resources = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Condition") in keep:
            resources[logical_id] = walk(resource)
            continue
        if "Condition" in resource and not truth:
            continue
        resources[logical_id] = walk({k: v for k, v in resource.items() if k != "Condition"})
    return {**copy.deepcopy(template), "Resources": resources}


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {i: r for i, r in template["Resources"].items() if r["Type"] == kind}


def _principal_arns(statement: dict) -> list[str]:
    return [_key(v) for v in _as_list(statement.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn", []))]


def _granted(document: dict, action: str) -> set[str]:
    """The ``aws:PrincipalArn`` values (JSON keys) that ``document`` allows ``action`` to."""
    return {
        arn
        for statement in document.get("Statement", [])
        if statement["Effect"] == "Allow" and action in _as_list(statement["Action"])
        for arn in _principal_arns(statement)
    }


def _cross_account_actions(template: dict) -> list[dict]:
    """The pipeline's CloudFormation actions whose role is a role of another account's baseline."""
    found = []
    for pipeline in _of_type(template, "AWS::CodePipeline::Pipeline").values():
        for stage in pipeline["Properties"]["Stages"]:
            for action in stage["Actions"]:
                if action["ActionTypeId"]["Provider"] == "CloudFormation" and "-actions" in _key(action["RoleArn"]):
                    found.append(action)
    return found


@pytest.mark.parametrize("case", list(MATRIX))
def test_each_case_passes_cfn_lint(matrix, case):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", str(matrix[case][1])], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", list(MATRIX))
def test_each_case_passes_the_iam_gates(matrix, case):
    from test_gates import UNSCOPABLE_ACTIONS, _allow_statements

    for truth in (True, False):
        template = collapse(matrix[case][0], truth)
        for logical_id, statement in _allow_statements(template):
            actions = _as_list(statement["Action"])
            assert not any(a == "*" or a.endswith(":*") for a in actions), logical_id
            if "*" in _as_list(statement["Resource"]):
                assert set(actions) <= UNSCOPABLE_ACTIONS, (logical_id, actions)


@pytest.mark.parametrize("case", ["two-accounts", "three-accounts", "three-accounts-env-agnostic", "parameters"])
def test_every_principal_an_action_uses_in_another_account_is_granted(matrix, case):
    """Walk the pipeline's cross-account actions, then the grants: each role an action (or a
    test) uses there is granted what it reads, and every grant names a role something uses."""
    template = collapse(matrix[case][0], True)
    actions = _cross_account_actions(template)
    assert len(actions) == 2, "both stages deploy into another account"
    action_roles = {_key(a["RoleArn"]) for a in actions}
    deployer_roles = {_key(a["Configuration"]["RoleArn"]) for a in actions}
    assert all("-deployer" in r for r in deployer_roles)

    (bucket_policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in _of_type(template, "AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": "ArtifactsBucket88671897"}
    ]
    key_policy = template["Resources"]["ArtifactsKeyA4B22E2B"]["Properties"]["KeyPolicy"]
    assert action_roles <= _granted(bucket_policy, "s3:GetObject"), "pipeline artifacts"
    assert action_roles <= _granted(key_policy, "kms:Decrypt")
    assert action_roles <= _granted(key_policy, "kms:DescribeKey")

    groups = _of_type(template, "AWS::SageMaker::ModelPackageGroup")
    if groups:  # build-deploy: this project's group
        (group,) = groups.values()
        policy = group["Properties"]["ModelPackageGroupPolicy"]
        for action in ("sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages"):
            assert deployer_roles <= _granted(policy, action), action
        # The stage's model is created from the version (PrimaryContainer.ModelPackageName) by
        # the deployer: CreateModel on the group's versions, not on the group.
        assert deployer_roles <= _granted(policy, "sagemaker:CreateModel")
        creates = [s for s in policy["Statement"] if "sagemaker:CreateModel" in _as_list(s["Action"])]
        assert all(
            "model-package/" in _key(r) and "model-package-group" not in _key(r) for s in creates for r in _as_list(s["Resource"])
        )
        # The model's execution role (endpoint) reads artifacts, not versions.
        assert not any("-endpoint" in arn for s in policy["Statement"] for arn in _principal_arns(s))

    # The other side: every account principal in those policies names a role the pipeline uses
    # (its actions and deployer roles, or the endpoint roles it hands to build.py).
    variables = {
        v["Name"]: v["Value"]
        for project in _of_type(template, "AWS::CodeBuild::Project").values()
        for v in project["Properties"]["Environment"].get("EnvironmentVariables", [])
    }
    endpoint_roles = _key(variables["STAGE_EXECUTION_ROLE_ARNS"])
    for document in (bucket_policy, key_policy, *(g["Properties"]["ModelPackageGroupPolicy"] for g in groups.values())):
        for statement in document["Statement"]:
            for arn in _principal_arns(statement):
                assert arn in action_roles | deployer_roles or arn[1:-1] in endpoint_roles, arn
                assert "AWS" in statement["Principal"] and ":root" in _key(statement["Principal"]), (
                    "an account principal, never a role that may not exist yet"
                )


def _deploy_pipeline(template: dict) -> tuple[str, dict]:
    """The deploy pipeline (the one whose actions may run in other accounts): logical id, resource."""
    (found,) = [(i, r) for i, r in _of_type(template, "AWS::CodePipeline::Pipeline").items() if "-actions" in _key(r)]
    return found


def _created_before(template: dict, logical_id: str) -> set[str]:
    """Every resource CloudFormation creates before ``logical_id``: its ``DependsOn``, ``Ref``
    and ``Fn::GetAtt`` targets, transitively."""
    resources = template["Resources"]

    def direct(resource: dict) -> set[str]:
        found = set(_as_list(resource.get("DependsOn", [])))

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if set(value) == {"Ref"} and value["Ref"] in resources:
                    found.add(value["Ref"])
                elif set(value) == {"Fn::GetAtt"}:
                    found.add(value["Fn::GetAtt"][0])
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(resource.get("Properties", {}))
        return found

    seen: set[str] = set()
    pending = [logical_id]
    while pending:
        for dependency in direct(resources[pending.pop()]) - seen:
            seen.add(dependency)
            pending.append(dependency)
    return seen


def _assume_grants(template: dict, role_id: str, role_arn: Any) -> list[str]:
    """The IAM policies of ``role_id`` that allow ``sts:AssumeRole`` on ``role_arn``."""
    return [
        policy_id
        for policy_id, policy in _of_type(template, "AWS::IAM::Policy").items()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        and any(
            s["Effect"] == "Allow" and s["Action"] == "sts:AssumeRole" and _key(role_arn) in map(_key, _as_list(s["Resource"]))
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    ]


@pytest.mark.parametrize("case", ["two-accounts", "three-accounts", "three-accounts-env-agnostic", "parameters"])
def test_the_pipeline_is_created_after_its_role_may_assume_the_actions_roles(matrix, case):
    """CodePipeline checks, when it creates or updates a pipeline, that the pipeline's role may
    assume each action's ``RoleArn`` (InvalidStructureException "... is not authorized to
    perform AssumeRole" otherwise): the grant is attached to the pipeline's role, in a policy
    CloudFormation creates before the pipeline, also when it exists only under a condition."""
    raw = matrix[case][0]
    pipeline_id, pipeline = _deploy_pipeline(raw)
    role_id = pipeline["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert raw["Resources"][role_id]["Type"] == "AWS::IAM::Role"
    before = _created_before(raw, pipeline_id)
    template = collapse(raw, True)
    actions = _cross_account_actions(template)
    assert len(actions) == 2
    for action in actions:
        granting = _assume_grants(template, role_id, action["RoleArn"])
        assert granting, f"the pipeline's role may assume {action['RoleArn']}"
        assert set(granting) <= before, f"{granting} is created before the pipeline"
        # The grant exists whenever the action uses the role: not under a condition of its own.
        assert all("Condition" not in raw["Resources"][g] for g in granting)


def _teardown(template: dict) -> tuple[str, dict]:
    (found,) = _of_type(template, "Custom::StageTeardown").items()
    return found


@pytest.mark.parametrize("case", ["two-accounts", "three-accounts", "three-accounts-env-agnostic", "parameters"])
def test_deleting_the_project_deletes_each_stage_stack_in_its_account_with_the_pipelines_roles(matrix, case):
    """The teardown deletes a stage stack in another account as the role the pipeline deploys
    it with (the target's actions role) and with the deployer role it was deployed with; its
    function may assume exactly those actions roles, granted before the custom resource exists
    (and so still granted when CloudFormation deletes it)."""
    raw = matrix[case][0]
    template = collapse(raw, True)
    teardown_id, teardown = _teardown(template)
    stages = teardown["Properties"]["Stages"]
    actions = _cross_account_actions(template)
    assert [s["StackName"] for s in stages] == [a["Configuration"]["StackName"] for a in actions]
    assert [_key(s["AssumeRoleArn"]) for s in stages] == [_key(a["RoleArn"]) for a in actions]
    assert [_key(s["DeployerRoleArn"]) for s in stages] == [_key(a["Configuration"]["RoleArn"]) for a in actions]

    function = template["Resources"][teardown["Properties"]["ServiceToken"]["Fn::GetAtt"][0]]
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    before = _created_before(raw, teardown_id)
    granted: set[str] = set()
    for policy_id, policy in _of_type(template, "AWS::IAM::Policy").items():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "sts:AssumeRole" in _as_list(statement["Action"]):
                assert policy_id in before and "Condition" not in raw["Resources"][policy_id]
                granted |= {_key(r) for r in _as_list(statement["Resource"])}
    assert granted == {_key(s["AssumeRoleArn"]) for s in stages}


def test_a_single_account_teardown_assumes_no_role(matrix):
    """Targets left empty (the parameters read as this account), or no targets at all: every
    stage stack is deleted here with this account's deployer role, and nothing is assumed."""
    for template in (matrix["single-account"][0], collapse(matrix["parameters"][0], False)):
        _teardown_id, teardown = _teardown(template)
        (deployer,) = [i for i in _of_type(template, "AWS::IAM::Role") if i.startswith("ModelDeployDeployerRole")]
        assert [(s["AssumeRoleArn"], s["DeployerRoleArn"]) for s in teardown["Properties"]["Stages"]] == [
            ("", {"Fn::GetAtt": [deployer, "Arn"]})
        ] * 2
        assert "sts:AssumeRole" not in _key(
            [p for p in _of_type(template, "AWS::IAM::Policy").values() if "StageTeardown" in _key(p["Properties"]["Roles"])]
        )


@pytest.mark.parametrize("case", ["three-accounts", "parameters"])
def test_the_staging_tests_assume_exactly_the_staging_actions_role(matrix, case):
    template = collapse(matrix[case][0], True)
    tests = [p for p in _of_type(template, "AWS::CodeBuild::Project").values() if p["Properties"].get("Description", "").startswith("Tests the staging")]
    (test,) = tests
    variables = {v["Name"]: v["Value"] for v in test["Properties"]["Environment"]["EnvironmentVariables"]}
    role = _key(variables["STAGE_ROLE_ARN"])
    assert "-actions" in role and (STAGING in role or "StagingAccountId" in role)
    assumed = [
        s
        for r in _of_type(template, "AWS::IAM::Policy").values()
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sts:AssumeRole" and _key(s["Resource"]) == role
    ]
    assert assumed, "the test project may assume the staging actions role"


def test_the_tooling_side_passes_no_external_id():
    """CodePipeline cannot pass an external id when it assumes an action's role, so the
    baseline's actions role takes none: nothing on the tooling side (templates, the deploy
    seed's scripts that assume it) may expect or send one."""
    seed = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy"
    sources = [*seed.rglob("*.py"), *seed.rglob("*.yml"), *(REPO / "sagemaker_projects_cdk" / "constructs" / "deploy").glob("*.py")]
    assert sources
    for source in sources:
        assert not re.search(r"external.?id", source.read_text(), re.IGNORECASE), source


@pytest.mark.parametrize("case", list(MATRIX))
def test_no_template_mentions_an_external_id(matrix, case):
    assert not re.search(r"external.?id", _key(matrix[case][0]), re.IGNORECASE)


def test_single_account_templates_are_unchanged_but_for_the_parameters(matrix):
    """The default template (targets as parameters), read with every new condition false, is
    the single-account template plus the four parameters and the empty target variables."""
    single, _ = matrix["single-account"]
    parameters, _ = matrix["parameters"]
    assert not set(TARGET_PARAMETERS) & set(single["Parameters"])
    assert set(TARGET_PARAMETERS) <= set(parameters["Parameters"])
    assert "Conditions" not in single or not any("InOtherAccount" in c for c in single["Conditions"])
    assert not any(f'"{name}"' in _key(single) for name in TARGET_VARIABLES)

    # The single-account template's own conditions (the private network's) stay as they are.
    collapsed = collapse(parameters, False, keep=set(single.get("Conditions", {})))
    for project in _of_type(collapsed, "AWS::CodeBuild::Project").values():
        env = project["Properties"]["Environment"]
        env["EnvironmentVariables"] = [v for v in env.get("EnvironmentVariables", []) if v["Name"] not in TARGET_VARIABLES]
    for name in TARGET_PARAMETERS:
        collapsed["Parameters"].pop(name)
    collapsed["Conditions"] = {k: v for k, v in collapsed.get("Conditions", {}).items() if k in single.get("Conditions", {})}
    collapsed["Rules"] = {k: v for k, v in collapsed.get("Rules", {}).items() if "Region" not in k}
    # The stack's own name appears in nothing but the Studio metadata; compare contents.
    assert _key(collapsed["Resources"]) == _key(single["Resources"])
    assert _key(collapsed["Parameters"]) == _key(single["Parameters"])
    assert _key(collapsed.get("Outputs")) == _key(single.get("Outputs"))
    assert _key(collapsed["Rules"]) == _key(single.get("Rules", {}))
    assert _key(collapsed["Conditions"]) == _key(single.get("Conditions", {}))


def test_target_parameters_accept_empty_or_account_ids_and_region_names(matrix):
    parameters, _ = matrix["parameters"]
    account = parameters["Parameters"]["StagingAccountId"]
    assert account["Default"] == "" and re.fullmatch(account["AllowedPattern"], "") and re.fullmatch(account["AllowedPattern"], STAGING)
    assert not re.fullmatch(account["AllowedPattern"], "12345")
    region = parameters["Parameters"]["ProdRegion"]
    assert region["Default"] == "" and re.fullmatch(region["AllowedPattern"], REGION)
    assert not re.fullmatch(region["AllowedPattern"], "Europe")
    # Another region is refused before anything is deployed.
    rules = parameters["Rules"]
    assert {name for name in rules if "RegionIsThisRegion" in name} and "AWS::Region" in _key(rules)


def test_accounts_given_with_a_known_stack_account_need_no_condition(matrix):
    template, _ = matrix["three-accounts"]
    assert not any("InOtherAccount" in c for c in template.get("Conditions", {}))
    text = _key(template)
    assert f":iam::{STAGING}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-actions" in text
    assert f":iam::{PROD}:role/sagemaker-projects-cdk/sagemaker-projects-{TOOLING}-deployer" in text


@pytest.mark.parametrize(
    ("props", "settings", "message"),
    [
        ({}, {"staging_account_id": "12345"}, "invalid staging_account_id '12345': expected a 12-digit AWS account id, or '' (empty)"),
        ({}, {"prod_account_id": 333333333333}, "invalid prod_account_id 333333333333"),
        ({}, {"staging_region": "Europe"}, "invalid staging_region 'Europe': expected an AWS region name"),
        (
            {"env": Environment(account=TOOLING, region=REGION)},
            {"prod_account_id": TOOLING},
            f"invalid prod_account_id '{TOOLING}': expected another account than this stack's ({TOOLING}), or '' (empty)",
        ),
        (
            {"env": Environment(account=TOOLING, region=REGION)},
            {"prod_region": "us-east-1"},
            f"invalid prod_region 'us-east-1': expected '' (empty) or the pipeline's own region {REGION}",
        ),
        (
            {"env": Environment(account=TOOLING, region=REGION)},
            {"stages": (DeployStage(name="staging", region="us-east-1"),)},
            f"invalid stage 'staging' region 'us-east-1': expected '' (empty) or the pipeline's own region {REGION}",
        ),
        (
            {},
            {"stages": (DeployStage(name="qa"),), "staging_account_id": STAGING},
            "invalid staging_account_id '222222222222': expected '' (empty) or no value: this template has no stage named 'staging'",
        ),
        (
            {},
            {"stages": (DeployStage(name="staging", account=PROD),), "staging_account_id": STAGING},
            "invalid staging_account_id '222222222222': expected the staging stage's own account '333333333333', or no value",
        ),
    ],
)
def test_bad_targets_are_refused(props, settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        BuildDeployStack(new_app(), "Bad", **props, **settings)


def test_a_custom_stage_with_its_own_account_gets_no_parameter():
    stack = BuildDeployStack(
        new_app(), "Custom", stages=(DeployStage(name="staging", account=STAGING), DeployStage(name="qa"))
    )
    from aws_cdk.assertions import Template

    template = Template.from_stack(stack).to_json()
    assert "StagingAccountId" not in template["Parameters"]
    assert "ProdAccountId" not in template["Parameters"], "no prod stage: no prod parameter"
    assert any("StagingInOtherAccount" in c for c in template["Conditions"])
