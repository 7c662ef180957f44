"""docs/guide/serving.md: its ```python blocks run (as README.md's do, ``test_readme``), and it
documents every setting of each kind's stage configuration that build.py accepts."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from test_readme import python_blocks, runnable

from support import REPO

GUIDE = REPO / "docs" / "guide" / "serving.md"
BLOCKS = python_blocks(GUIDE.read_text(encoding="utf-8"))


def test_the_guide_has_a_python_block():
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[f"line-{b.line}" for b in BLOCKS])
def test_the_guides_python_blocks_run(tmp_path, index):
    (tmp_path / "example.py").write_text(runnable(BLOCKS[index].code), encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "JSII_NODE": os.environ.get("JSII_NODE", os.path.join(os.path.dirname(sys.executable), "node")),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(tmp_path / "tmp"),
    }
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{GUIDE.name} line {BLOCKS[index].line}:\n{done.stderr[-3000:]}"


def _build_module():
    sys.dont_write_bytecode = True
    spec = importlib.util.spec_from_file_location(
        "serving_guide_build", REPO / "sagemaker_projects_cdk" / "seed_code" / "model_deploy" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guide_names_every_setting_of_each_kind():
    build = _build_module()
    text = GUIDE.read_text(encoding="utf-8")
    for key in sorted(build.ASYNC_KEYS | build.BATCH_KEYS):
        assert f'"{key}"' in text or f"`{key}`" in text, key
    for value in (*build.SPLIT_TYPES, *build.JOIN_SOURCES, *build.BATCH_STRATEGIES):
        assert f"`{value}`" in text, value
    for kind in build.KIND_TEMPLATES:
        assert f'"kind": "{kind}"' in text, kind


def test_the_readme_links_the_guide():
    assert "(docs/guide/serving.md)" in (REPO / "README.md").read_text(encoding="utf-8")
