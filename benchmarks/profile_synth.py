#!/usr/bin/env python3
"""Where synth time goes: one process, phase by phase, with the number of jsii calls.

Prints one JSON line: seconds and jsii round trips (Python -> Node requests) for

- ``import``: aws-cdk-lib, cdk-nag and this library (``sagemaker_projects_cdk.app``);
- ``construct <Stack>``: building each template stack, the Studio stack and the target-account
  baseline (``build_app`` does the same, one stack at a time here);
- ``synth``: ``app.synth()`` (template rendering, asset staging, the security packs when on);
  ``--packs off`` measures it without them, so the difference is what the packs cost.

Run from the repository to profile (its ``app.py`` folder, e.g. an old checkout):
``CDK_VALIDATION=false .venv/bin/python benchmarks/profile_synth.py --repo . --packs on``.
Wall times include the profiled process's share of a busy machine: compare runs taken together.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--packs", choices=("on", "off"), default="on")
    parser.add_argument("--studio", choices=("on", "off"), default="on")
    parser.add_argument("--validation", choices=("on", "off"), default="off", help="aws-cdk-lib's built-in CloudFormation validation")
    parser.add_argument("--templates", default="", help="comma-separated template ids (default: all)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))

    counts = {"n": 0}
    from jsii._kernel.providers import process

    original = process._NodeProcess.send

    def counting_send(self: Any, *a: Any, **k: Any) -> Any:
        counts["n"] += 1
        return original(self, *a, **k)

    process._NodeProcess.send = counting_send  # type: ignore[method-assign]
    phases: list[dict[str, object]] = []

    def phase(name: str, start: float, calls: int, **extra: object) -> None:
        phases.append({"phase": name, "s": round(time.perf_counter() - start, 3), "jsii": counts["n"] - calls, **extra})

    t, c = time.perf_counter(), counts["n"]
    import aws_cdk  # noqa: F401  # starts Node, loads aws-cdk-lib's jsii assembly
    from aws_cdk import App

    phase("import aws_cdk (Node start, aws-cdk-lib load)", t, c)
    t, c = time.perf_counter(), counts["n"]
    import cdk_nag  # noqa: F401

    phase("import cdk_nag", t, c)
    t, c = time.perf_counter(), counts["n"]
    from sagemaker_projects_cdk import app as library_app
    from sagemaker_projects_cdk.stacks import TEMPLATES

    phase("import sagemaker_projects_cdk", t, c)

    context = json.loads((args.repo / "cdk.json").read_text())["context"]
    outdir = tempfile.mkdtemp(prefix="profile-synth-")
    app = App(context=context, outdir=outdir, builtin_cloud_formation_validation=args.validation == "on")
    chosen = [t.strip() for t in args.templates.split(",") if t.strip()] or list(TEMPLATES)
    stacks = {}
    for template_id in chosen:
        t, c = time.perf_counter(), counts["n"]
        stacks[template_id] = TEMPLATES[template_id](app, library_app.stack_id(template_id))
        resources = sum(1 for x in stacks[template_id].node.find_all() if isinstance(x, aws_cdk.CfnResource))
        phase(f"construct {library_app.stack_id(template_id)}", t, c, resources=resources)
    if args.studio == "on":
        t, c = time.perf_counter(), counts["n"]
        kwargs: dict[str, Any] = {"templates": chosen}
        import inspect

        if "template_stacks" in inspect.signature(library_app.StudioTemplatesStack.__init__).parameters:
            kwargs["template_stacks"] = stacks  # synth once: the products reuse the template stacks
        studio = library_app.StudioTemplatesStack(app, library_app.STUDIO_STACK_ID, **kwargs)
        resources = sum(1 for x in studio.node.find_all() if isinstance(x, aws_cdk.CfnResource))
        phase("construct StudioTemplates (with its product stacks)", t, c, resources=resources)
    t, c = time.perf_counter(), counts["n"]
    library_app.TargetAccountStack(app, library_app.TARGET_ACCOUNT_STACK_ID, stack_name=library_app.TARGET_ACCOUNT_STACK_NAME)
    phase("construct TargetAccount", t, c)
    if args.packs == "on":
        library_app.add_security_packs(app)
    t, c = time.perf_counter(), counts["n"]
    app.synth()
    phase(f"synth (packs {args.packs})", t, c)
    print(json.dumps({"packs": args.packs, "studio": args.studio, "validation": args.validation, "phases": phases}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
