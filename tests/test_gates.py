"""Gates applied to every stack in TEMPLATES: security packs, cfn-lint, IAM scoping, determinism,
pinned logical ids (tests/template_facts.py), resource inventories (tests/golden/); and the same
gates on the target-account baseline (``TargetAccount``), which is not a template of TEMPLATES."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_projects_cdk.app import TARGET_ACCOUNT_STACK_ID, stack_id
from sagemaker_projects_cdk.stacks import TEMPLATES
from support import (
    GOLDEN_DIR,
    REGENERATE_GOLDEN,
    REPO,
    TARGET_ACCOUNT_GOLDEN,
    golden_path,
    inventory,
    inventory_diff,
    render_inventory,
    synth_all,
    target_account_template,
)
from template_facts import STATEFUL_TYPES, TEMPLATE_FACTS, facts_for, missing_facts_message

#: Actions that IAM lets no policy scope to a resource: only these may use Resource "*".
UNSCOPABLE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "sagemaker:ListModelPackages",
    "codebuild:CreateReportGroup",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "cloudwatch:GetMetricData",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
    # No resource type: the target baseline's deployer creates a stage's own key, only with the
    # sagemaker:project-id tag in the request (aws:RequestTag).
    "kms:CreateKey",
}


def _allow_statements(template: dict):
    """Every Allow statement of identity policies (inline, default and managed)."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents.extend(policy["PolicyDocument"] for policy in props.get("Policies", []))
        for document in documents:
            for statement in _branches(document["Statement"]):
                if statement["Effect"] == "Allow":
                    yield logical_id, statement


def _branches(statements):
    """The statements of a ``Statement`` list, both branches of a conditional one
    (``{"Fn::If": [condition, statement, {"Ref": "AWS::NoValue"}]}``, a stage in another account)."""
    for statement in statements:
        if set(statement) == {"Fn::If"}:
            yield from _branches([s for s in statement["Fn::If"][1:] if s != {"Ref": "AWS::NoValue"}])
        else:
            yield statement


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_security_packs_report_no_unacknowledged_finding(assembly, template_id):
    # The synth in the fixture raises on any finding (see the next test); the report that
    # the packs write lists no violation for this stack.
    assert assembly.validation_report["title"] == "Validation Report"
    stack_prefix = stack_id(template_id) + "/"
    for report in assembly.validation_report["pluginReports"]:
        for violation in report["violations"]:
            paths = [c["constructPath"] for c in violation["violatingConstructs"]]
            assert not any(p.startswith(stack_prefix) for p in paths), violation


def test_a_finding_fails_the_synth(tmp_path):
    """The gate is live: an unencrypted, public-ish bucket makes synth fail with the rule named."""
    from aws_cdk import Stack
    from aws_cdk import aws_s3 as s3

    from sagemaker_projects_cdk.compliance import add_security_packs
    from support import new_app

    app = new_app(tmp_path)
    s3.Bucket(Stack(app, "Bad"), "Plain")
    add_security_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    message = str(failure.value)
    for pack, rule in (("AwsSolutions", "S1"), ("HIPAA.Security", "S3DefaultEncryptionKMS"), ("NIST.800.53.R5", "S3BucketVersioningEnabled")):
        assert f"'{pack}::{pack}-{rule}'" in message


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_cfn_lint_reports_nothing(assembly, template_id):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", str(assembly.files[template_id])],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_iam_has_no_wildcard_action_and_scopes_resources(assembly, template_id):
    statements = list(_allow_statements(assembly.templates[template_id]))
    assert statements, "expected IAM policies in the template"
    for logical_id, statement in statements:
        actions = _as_list(statement["Action"])
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"{logical_id}: wildcard action {action}"
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= UNSCOPABLE_ACTIONS, f"{logical_id}: {actions} on Resource '*'"


def test_synth_is_deterministic(assembly, tmp_path):
    again = synth_all(tmp_path)
    for template_id, path in assembly.files.items():
        assert filecmp.cmp(path, again.files[template_id], shallow=False), f"{template_id} differs"


def test_every_template_has_facts():
    missing = set(TEMPLATES) - set(TEMPLATE_FACTS)
    assert not missing, missing_facts_message(missing)
    stale = set(TEMPLATE_FACTS) - set(TEMPLATES)
    assert not stale, f"tests/template_facts.py has facts for {sorted(stale)}, which TEMPLATES does not hold: remove them"
    for template_id, facts in TEMPLATE_FACTS.items():
        assert set(facts.pinned_logical_ids) == set(STATEFUL_TYPES), (
            f"{template_id}: pin the logical ids of every type in STATEFUL_TYPES (an empty set for none)"
        )


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_logical_ids_of_stateful_resources_are_pinned(assembly, template_id):
    """Renaming a stateful resource replaces it in every deployed project."""
    pinned = facts_for(template_id).pinned_logical_ids
    resources = assembly.templates[template_id]["Resources"]
    found = {t: {i for i, r in resources.items() if r["Type"] == t} for t in STATEFUL_TYPES}
    assert found == {t: set(pinned[t]) for t in STATEFUL_TYPES}


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_resource_inventory_matches_the_golden_file(assembly, template_id):
    path = golden_path(template_id)
    name = path.relative_to(REPO)
    if not path.exists():
        pytest.fail(f"no golden inventory {name}: generate it with {REGENERATE_GOLDEN}", pytrace=False)
    current = inventory(assembly.templates[template_id])
    differences = inventory_diff(json.loads(path.read_text()), current)
    if differences:
        pytest.fail(
            f"{template_id} differs from {name}:\n" + "\n".join(differences) + "\n"
            f"If intended, regenerate the golden files with {REGENERATE_GOLDEN}, review and commit them "
            "(a removed or renamed logical id replaces that resource in every deployed project).",
            pytrace=False,
        )
    assert path.read_text() == render_inventory(current), f"{name} is not as {REGENERATE_GOLDEN} writes it: regenerate it"


def test_golden_files_are_those_of_the_templates():
    stale = sorted(p.name for p in GOLDEN_DIR.glob("*.json") if p.stem not in TEMPLATES and p.stem != TARGET_ACCOUNT_GOLDEN)
    assert not stale, f"golden files of no template in TEMPLATES (nor the baseline's): {stale}; {REGENERATE_GOLDEN} removes them"


def test_inventory_normalises_asset_hashes_and_diff_names_each_change():
    digest = "0123456789abcdef" * 4
    template = {
        "Parameters": {f"AssetParameters{digest}S3Bucket": {}, "Env": {}},
        "Resources": {
            f"Handler{digest}A1B2C3D4": {"Type": "AWS::Lambda::Function"},
            "Bucket83908E77": {"Type": "AWS::S3::Bucket"},
        },
    }
    before = inventory(template)
    assert before == {
        "Resources": {"Bucket83908E77": "AWS::S3::Bucket", "Handler<hash>A1B2C3D4": "AWS::Lambda::Function"},
        "Parameters": ["AssetParameters<hash>S3Bucket", "Env"],
        "Outputs": [],
    }
    assert json.loads(render_inventory(before)) == before
    # Another asset content, same shape: no difference.
    assert inventory_diff(before, inventory(json.loads(json.dumps(template).replace(digest, "f" * 64)))) == []
    after = inventory(
        {
            "Resources": {f"Handler{digest}A1B2C3D4": {"Type": "AWS::Lambda::Url"}, "Key1234ABCD": {"Type": "AWS::KMS::Key"}},
            "Outputs": {"KeyArn": {}},
        }
    )
    assert inventory_diff(before, after) == [
        "added resources:",
        "  + Key1234ABCD (AWS::KMS::Key)",
        "removed resources:",
        "  - Bucket83908E77 (AWS::S3::Bucket)",
        "changed resource types:",
        "  ~ Handler<hash>A1B2C3D4: AWS::Lambda::Function -> AWS::Lambda::Url",
        "removed parameters:",
        "  - AssetParameters<hash>S3Bucket",
        "  - Env",
        "added outputs:",
        "  + KeyArn",
    ]


def test_every_type_ignore_says_why():
    """mypy runs in `make test`; what it is told to ignore carries its reason on the line."""
    import re

    unexplained = [
        f"{path.relative_to(REPO)}:{number}"
        for path in (REPO / "sagemaker_projects_cdk").rglob("*.py")
        if "seed_code" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"# type: ignore(\[[^\]]*\])?\s*$", line)
    ]
    assert not unexplained, f"'# type: ignore' without a reason: {unexplained}"


# ----------------------------------------------------------------- the target-account baseline


def test_the_baseline_passes_the_security_packs(assembly):
    prefix = TARGET_ACCOUNT_STACK_ID + "/"
    assert (assembly.outdir / f"{TARGET_ACCOUNT_STACK_ID}.template.json").exists()
    for report in assembly.validation_report.get("pluginReports", []):
        for violation in report["violations"]:
            paths = [c["constructPath"] for c in violation["violatingConstructs"]]
            assert not any(p.startswith(prefix) for p in paths), violation


def test_cfn_lint_reports_nothing_on_the_baseline(assembly):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", str(assembly.outdir / f"{TARGET_ACCOUNT_STACK_ID}.template.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_baseline_has_no_wildcard_action_and_scopes_resources(assembly):
    statements = list(_allow_statements(target_account_template(assembly.outdir)))
    assert len(statements) > 20
    for logical_id, statement in statements:
        actions = _as_list(statement["Action"])
        assert not [a for a in actions if "*" in a], f"{logical_id}: wildcard action in {actions}"
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= UNSCOPABLE_ACTIONS, f"{logical_id}: {actions} on Resource '*'"


def test_the_baseline_inventory_matches_the_golden_file(assembly):
    path = golden_path(TARGET_ACCOUNT_GOLDEN)
    current = inventory(target_account_template(assembly.outdir))
    assert path.exists(), f"no golden inventory {path.relative_to(REPO)}: generate it with {REGENERATE_GOLDEN}"
    differences = inventory_diff(json.loads(path.read_text()), current)
    assert not differences, "\n".join(differences) + f"\nIf intended, regenerate with {REGENERATE_GOLDEN} (a renamed key is a new key)"
    assert path.read_text() == render_inventory(current)


# ----------------------------------------------------------------- the seeds' stage templates

#: The stage templates the deploy and monitor pipelines deploy (generated, checked in with the seeds).
SEED_STAGE_TEMPLATES = {
    "endpoint-stage": REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy" / "endpoint-stage.template.json",
    "async-stage": REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy" / "async-stage.template.json",
    "batch-stage": REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy" / "batch-stage.template.json",
    "monitor-stage": REPO / "sagemaker_projects_cdk" / "seed_code" / "model_monitor" / "monitor-stage.template.json",
}


@pytest.mark.parametrize("name", list(SEED_STAGE_TEMPLATES))
def test_cfn_lint_reports_nothing_on_the_stage_templates(name):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", str(SEED_STAGE_TEMPLATES[name])],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", list(SEED_STAGE_TEMPLATES))
def test_the_stage_templates_have_no_wildcard_action_and_scope_resources(name):
    """The seeds' checked-in stage templates (endpoint, asynchronous, batch, monitor) pass the same IAM gate."""
    statements = list(_allow_statements(json.loads(SEED_STAGE_TEMPLATES[name].read_text())))
    assert statements, "expected IAM policies in the template"
    for logical_id, statement in statements:
        actions = _as_list(statement["Action"])
        assert not [a for a in actions if "*" in a], f"{logical_id}: wildcard action in {actions}"
        if "*" in _as_list(statement["Resource"]):
            assert set(actions) <= UNSCOPABLE_ACTIONS, f"{logical_id}: {actions} on Resource '*'"
