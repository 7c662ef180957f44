#!/usr/bin/env python3
"""Rewrite the README's settings tables from the templates' settings dataclasses.

Run as ``.venv/bin/python tests/update_readme.py`` (or ``make readme``);
tests/unit/stacks/test_template_declarations.py fails while a table is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def render(text: str) -> str:
    """``text`` with every ``<!-- settings:<id> -->`` block holding that template's table."""
    from sagemaker_projects_cdk.stacks import TEMPLATES, settings_table

    def table(match: re.Match[str]) -> str:
        template_id = match.group(1)
        if template_id not in TEMPLATES:
            raise SystemExit(f"README.md names unknown template {template_id!r}")
        body = f"**`{template_id}`** (`{TEMPLATES[template_id].TEMPLATE.settings.__name__}`)\n\n"
        return f"<!-- settings:{template_id} -->\n{body}{settings_table(TEMPLATES[template_id].TEMPLATE)}<!-- /settings:{template_id} -->"

    return re.sub(r"<!-- settings:([a-z-]+) -->.*?<!-- /settings:\1 -->", table, text, flags=re.S)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.dont_write_bytecode = True
    README.write_text(render(README.read_text()))
    print(f"wrote {README}")
