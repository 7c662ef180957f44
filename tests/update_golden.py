"""Regenerate tests/golden/<template id>.json (and target-account.json, the baseline's), the
resource inventories the gates compare every synth with: ``make golden``, or ``.venv/bin/python tests/update_golden.py``.

Review the diff of tests/golden/ before committing it: a removed or renamed logical id
replaces that resource in every deployed project.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
# This checkout's package (not whichever one the virtualenv installed), then the test helpers.
sys.path[:0] = [str(_TESTS.parent), str(_TESTS)]

from support import (  # noqa: E402
    GOLDEN_DIR,
    REPO,
    TARGET_ACCOUNT_GOLDEN,
    golden_path,
    inventory,
    render_inventory,
    synth_all,
    target_account_template,
)


def main() -> int:
    import sagemaker_projects_cdk
    from sagemaker_projects_cdk.stacks import TEMPLATES

    print(f"synthesizing the templates of {Path(sagemaker_projects_cdk.__file__).parent}")
    with tempfile.TemporaryDirectory() as outdir:
        templates = dict(synth_all(Path(outdir)).templates)
        templates[TARGET_ACCOUNT_GOLDEN] = target_account_template(Path(outdir))
    GOLDEN_DIR.mkdir(exist_ok=True)
    for template_id, template in templates.items():
        path, text = golden_path(template_id), render_inventory(inventory(template))
        if path.exists() and path.read_text() == text:
            print(f"unchanged {path.relative_to(REPO)}")
        else:
            path.write_text(text)
            print(f"wrote     {path.relative_to(REPO)}")
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        if path.stem not in TEMPLATES and path.stem != TARGET_ACCOUNT_GOLDEN:
            path.unlink()
            print(f"removed   {path.relative_to(REPO)} (no such template)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
