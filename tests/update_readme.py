#!/usr/bin/env python3
"""Rewrite the README's templates table and settings tables from the templates' declarations.

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
    """``text`` with the ``<!-- templates -->`` block holding the templates table and the
    ``<!-- settings -->`` block every template's settings table."""
    from sagemaker_projects_cdk.stacks import TEMPLATES, settings_table

    rows = ["| Template id | Stack | What it creates |", "|---|---|---|"]
    rows += [f"| `{tid}` | `{stack.__name__}` | {stack.TEMPLATE.summary} |" for tid, stack in TEMPLATES.items()]
    text = re.sub(r"<!-- templates -->.*?<!-- /templates -->", lambda _: "<!-- templates -->\n" + "\n".join(rows) + "\n<!-- /templates -->", text, flags=re.S)

    tables = "\n".join(
        f"**`{tid}`** (`{stack.TEMPLATE.settings.__name__}`)\n\n{settings_table(stack.TEMPLATE)}" for tid, stack in TEMPLATES.items()
    )
    return re.sub(r"<!-- settings -->.*?<!-- /settings -->", lambda _: f"<!-- settings -->\n{tables}<!-- /settings -->", text, flags=re.S)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.dont_write_bytecode = True
    README.write_text(render(README.read_text()))
    print(f"wrote {README}")
