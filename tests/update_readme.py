#!/usr/bin/env python3
"""Rewrite the generated parts of the README and the user guide from the templates' declarations.

- README.md, ``<!-- templates -->``: one line per template, linking to its guide pages;
- docs/guide/templates.md, ``<!-- templates -->``: the templates table (id, stack, what it creates);
- docs/guide/templates.md, ``<!-- settings -->``: every template's settings table, under a heading
  per template (``### `model-build` ``, so ``templates.md#model-build`` links to it).

Run as ``.venv/bin/python tests/update_readme.py`` (or ``make readme``);
tests/unit/stacks/test_template_declarations.py fails while any of them is stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
TEMPLATES_GUIDE = REPO / "docs" / "guide" / "templates.md"

#: The guide page of each template that has one besides its settings (relative to the repository).
TOPIC_PAGES = {
    "model-deploy": ("multi-account", "docs/guide/multi-account.md"),
    "build-deploy": ("multi-account", "docs/guide/multi-account.md"),
    "build-deploy-git": ("third-party Git", "docs/guide/third-party-git.md"),
    "image-build-deploy": ("images", "docs/guide/images.md"),
    "build-deploy-jenkins": ("Jenkins", "docs/guide/jenkins.md"),
    "build-deploy-monitor": ("monitoring", "docs/guide/monitoring.md"),
}


def _block(text: str, marker: str, body: str) -> str:
    pattern = rf"<!-- {marker} -->.*?<!-- /{marker} -->"
    if not re.search(pattern, text, flags=re.S):
        raise ValueError(f"no <!-- {marker} --> ... <!-- /{marker} --> block to render into")
    return re.sub(pattern, lambda _: f"<!-- {marker} -->\n{body}<!-- /{marker} -->", text, flags=re.S)


def render_readme(text: str) -> str:
    """``text`` (README.md) with the ``<!-- templates -->`` block listing the templates, one line each."""
    from sagemaker_projects_cdk.stacks import TEMPLATES

    lines = []
    for tid, stack in TEMPLATES.items():
        links = [f"[settings](docs/guide/templates.md#{tid})"]
        if tid in TOPIC_PAGES:
            label, page = TOPIC_PAGES[tid]
            links.append(f"[{label}]({page})")
        lines.append(f"- `{tid}` (`{stack.__name__}`): {stack.TEMPLATE.title}. " + ", ".join(links))
    return _block(text, "templates", "\n".join(lines) + "\n")


def render_templates_guide(text: str) -> str:
    """``text`` (docs/guide/templates.md) with the ``<!-- templates -->`` block holding the templates
    table and the ``<!-- settings -->`` block every template's settings table."""
    from sagemaker_projects_cdk.stacks import TEMPLATES, settings_table

    rows = ["| Template id | Stack | What it creates |", "|---|---|---|"]
    rows += [f"| [`{tid}`](#{tid}) | `{stack.__name__}` | {stack.TEMPLATE.summary} |" for tid, stack in TEMPLATES.items()]
    text = _block(text, "templates", "\n".join(rows) + "\n")
    tables = "\n".join(
        f"### `{tid}`\n\n`{stack.__name__}`, settings `{stack.TEMPLATE.settings.__name__}`\n\n{settings_table(stack.TEMPLATE)}"
        for tid, stack in TEMPLATES.items()
    )
    return _block(text, "settings", tables)


#: Each generated file and how it is rendered.
TARGETS: dict[Path, Callable[[str], str]] = {README: render_readme, TEMPLATES_GUIDE: render_templates_guide}


def stale() -> list[Path]:
    """The generated files whose content differs from what they would be rendered as."""
    return [path for path, render in TARGETS.items() if render(path.read_text(encoding="utf-8")) != path.read_text(encoding="utf-8")]


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.dont_write_bytecode = True
    for path, render in TARGETS.items():
        path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")
