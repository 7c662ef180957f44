"""checkov, the scanner security teams run besides cdk-nag, over every synthesized template.

checkov runs from its own virtualenv, ``.venv-checkov`` (``make checkov``, which ``make test``
runs first; the pin is in tests/checkov-requirements.txt): it pins libraries (boto3 among
them) that the project's own virtualenv must not be bound by. Every finding is fixed or
skipped in the template with its reason (``compliance.checkov_skip``); this test fails on any
other.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from sagemaker_projects_cdk.app import TARGET_ACCOUNT_STACK_ID, stack_id
from sagemaker_projects_cdk.compliance import CDK_FUNCTION_FINDINGS, checkov_skip
from sagemaker_projects_cdk.stacks import TEMPLATES
from support import REPO

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
#: checkov's command line with its JSONPath parse table built once (see tests/checkov_runner.py).
CHECKOV_RUNNER = Path(__file__).with_name("checkov_runner.py")
#: The endpoint stage's template, generated from stacks/endpoint_stage.py and shipped in the seed code.
ENDPOINT_STAGE_TEMPLATE = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy" / "endpoint-stage.template.json"
#: The monitor stage's template, generated from stacks/monitor_stage.py and shipped in the seed code.
MONITOR_STAGE_TEMPLATE = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_monitor" / "monitor-stage.template.json"
#: checkov without its platform: no download of mappings or policies (no network here or in CI).
#: Not --quiet: the report then lists the skipped checks too, which the tests read.
CHECKOV_ARGS = ("--framework", "cloudformation", "--skip-download", "--compact", "--output", "json")


def run_checkov(files: list[Path], cwd: Path) -> list[dict]:
    """checkov's reports (one per framework) on ``files``."""
    if not CHECKOV.exists():
        message = f"checkov's virtualenv is missing ({CHECKOV}): run `make checkov` (`make test` does)"
        if os.environ.get("CI"):  # CI runs `make test`, which makes it: missing there is a failure
            pytest.fail(message)
        pytest.skip(message)
    command = [str(CHECKOV.with_name("python")), str(CHECKOV_RUNNER), *CHECKOV_ARGS]
    for path in files:
        command += ["--file", str(path)]
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    # 0: nothing failed; 1: some check failed. Anything else is checkov itself failing.
    assert result.returncode in (0, 1), result.stderr[-4000:]
    print(f"checkov scanned {len(files)} templates in {time.monotonic() - started:.1f} s")
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def scanned_templates(outdir: Path) -> list[Path]:
    """The templates of the TEMPLATES stacks, the StudioTemplates stack and its product
    templates, the target-account baseline, and the stage templates that the deploy and monitor
    pipelines deploy (endpoint, asynchronous, batch, monitor)."""
    return [
        *sorted(outdir.glob("*.template.json")),
        ENDPOINT_STAGE_TEMPLATE,
        ENDPOINT_STAGE_TEMPLATE.with_name("async-stage.template.json"),
        ENDPOINT_STAGE_TEMPLATE.with_name("batch-stage.template.json"),
        MONITOR_STAGE_TEMPLATE,
    ]


@pytest.fixture(scope="module")
def checkov_reports(assembly) -> list[dict]:
    files = scanned_templates(assembly.outdir)
    names = {path.name for path in files}
    # The glob finds every stack, and the Studio product templates (one per template id).
    expected = {f"{stack_id(t)}.template.json" for t in TEMPLATES} | {"StudioTemplates.template.json"}
    assert expected | {f"{TARGET_ACCOUNT_STACK_ID}.template.json"} <= names
    assert len([n for n in names if n.endswith(".product.template.json")]) == len(TEMPLATES)
    return run_checkov(files, assembly.outdir)


def test_checkov_reports_no_failed_check(checkov_reports):
    (report,) = [r for r in checkov_reports if r.get("check_type") == "cloudformation"]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    failed = [
        f"{Path(check['file_path']).name} {check['resource']}: {check['check_id']} {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "fix these or skip them with compliance.checkov_skip and the reason:\n" + "\n".join(failed)


def test_every_checkov_skip_is_read_and_says_why(checkov_reports):
    """checkov reads the skips that ``checkov_skip`` writes, and each carries its reason."""
    (report,) = [r for r in checkov_reports if r.get("check_type") == "cloudformation"]
    skipped = report["results"]["skipped_checks"]
    ids = {check["check_id"] for check in skipped}
    # The access-log buckets and the functions aws-cdk-lib provides, at least.
    assert {"CKV_AWS_18", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"} <= ids
    for check in skipped:
        comment = check["check_result"].get("suppress_comment", "")
        assert len(comment) > 20 and comment != "No comment provided", check["check_id"]


def test_every_lambda_function_has_each_scanner_treatment(assembly):
    """Each function in each template is skipped, with a reason, for what ``acknowledge_cdk_function`` covers."""
    expected = {check_id for _, _, check_ids in CDK_FUNCTION_FINDINGS for check_id in check_ids}
    functions = 0
    for path in scanned_templates(assembly.outdir):
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            functions += 1
            skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
            assert expected <= {skip["id"] for skip in skips}, (path.name, logical_id)
    assert functions >= len(TEMPLATES)


def test_checkov_skip_merges_into_the_resource_metadata():
    from aws_cdk import CfnResource, Stack
    from aws_cdk import aws_s3 as s3

    from support import new_app

    stack = Stack(new_app(), "Skips")
    bucket = s3.Bucket(stack, "Bucket")
    resource = bucket.node.default_child
    assert isinstance(resource, CfnResource)
    resource.add_metadata("other", {"kept": True})
    checkov_skip(bucket, "CKV_AWS_18", "first reason")
    checkov_skip(resource, "CKV_AWS_21", "second reason")
    checkov_skip(bucket, "CKV_AWS_18", "another construct's reason")
    checkov_skip(bucket, "CKV_AWS_18", "first reason")  # the same reason again: no change
    metadata = resource.cfn_options.metadata
    assert metadata["other"] == {"kept": True}
    assert metadata["checkov"]["skip"] == [
        {"id": "CKV_AWS_18", "comment": "first reason | another construct's reason"},
        {"id": "CKV_AWS_21", "comment": "second reason"},
    ]


@pytest.mark.parametrize(
    ("check_id", "reason", "message"),
    [
        ("CKV_AWS_18", " ", "invalid reason"),
        ("AwsSolutions-S1", "a reason", "invalid check_id 'AwsSolutions-S1'"),
        ("ckv_aws_18", "a reason", "invalid check_id"),
    ],
)
def test_checkov_skip_refuses_a_bad_id_or_an_empty_reason(check_id, reason, message):
    from aws_cdk import Stack
    from aws_cdk import aws_s3 as s3

    from support import new_app

    bucket = s3.Bucket(Stack(new_app(), "Skips"), "Bucket")
    with pytest.raises(ValueError, match=message):
        checkov_skip(bucket, check_id, reason)


def test_checkov_skip_needs_a_cloudformation_resource():
    from aws_cdk import Stack
    from constructs import Construct

    from support import new_app

    plain = Construct(Stack(new_app(), "Skips"), "Plain")
    with pytest.raises(ValueError, match="invalid construct 'Skips/Plain'"):
        checkov_skip(plain, "CKV_AWS_18", "a reason")
