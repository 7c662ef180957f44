#!/usr/bin/env python3
"""Redraw docs/diagrams/<template id>.svg from each template's synthesized CloudFormation:
``make diagrams``, or ``.venv/bin/python tests/update_diagrams.py`` (see tests/diagrams.py).

tests/test_diagrams.py fails while a diagram is stale; commit the SVGs this writes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
# This checkout's package (not whichever one the virtualenv installed), then the test helpers.
sys.path[:0] = [str(_TESTS.parent), str(_TESTS)]

from diagrams import DIAGRAMS_DIR, diagram_path, diagrams  # noqa: E402
from support import REPO, synth_all  # noqa: E402


def main() -> int:
    from sagemaker_projects_cdk.stacks import TEMPLATES

    with tempfile.TemporaryDirectory() as outdir:
        templates = synth_all(Path(outdir)).templates
    DIAGRAMS_DIR.mkdir(parents=True, exist_ok=True)
    for template_id, svg in diagrams(templates).items():
        path = diagram_path(template_id)
        if path.exists() and path.read_text() == svg:
            print(f"unchanged {path.relative_to(REPO)}")
        else:
            path.write_text(svg)
            print(f"wrote     {path.relative_to(REPO)}")
    for path in sorted(DIAGRAMS_DIR.glob("*.svg")):
        if path.stem not in TEMPLATES:
            path.unlink()
            print(f"removed   {path.relative_to(REPO)} (no such template)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
