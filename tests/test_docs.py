"""The API reference builds without a warning and documents every public construct, stack and
settings dataclass (tests/api_reference.py, ``make docs``)."""

from __future__ import annotations

import dataclasses
import html
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

BUILD_SECONDS = 300


def build_reference(outdir: Path, *modules: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """tests/api_reference.py, as ``make docs`` runs it, in its own process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(path or ""), os.environ.get("PYTHONPATH", "")]))}
    return subprocess.run(
        [sys.executable, str(REPO / "tests" / "api_reference.py"), str(outdir), *modules],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
        env=env,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("site")
    result = build_reference(outdir)
    assert result.returncode == 0, f"make docs fails (warnings are errors):\n{result.stderr[-6000:]}"
    return outdir


def test_a_warning_fails_the_build(tmp_path):
    """An annotation pdoc cannot resolve (here in a module built on its own) fails the build."""
    (tmp_path / "broken_reference_probe.py").write_text(
        'def handler(event: "NoSuchType") -> None:\n    """Takes an event of a type that exists nowhere."""\n'
    )
    result = build_reference(tmp_path / "site", "broken_reference_probe", path=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NoSuchType" in result.stderr and "broken_reference_probe.handler" in result.stderr, result.stderr


def _public_classes() -> list[type]:
    """Every construct and dataclass that a public module of the package defines."""
    from constructs import Construct

    from api_reference import public_modules

    found = []
    for name in public_modules():
        for attribute, obj in vars(importlib.import_module(name)).items():
            if inspect.isclass(obj) and obj.__module__ == name and not attribute.startswith("_"):
                if issubclass(obj, Construct) or dataclasses.is_dataclass(obj):
                    found.append(obj)
    return found


def _page(outdir: Path, module: str) -> str:
    return (outdir / f"{module.replace('.', '/')}.html").read_text()


def test_every_public_construct_and_dataclass_is_documented(reference):
    classes = _public_classes()
    assert len(classes) > 60, [c.__name__ for c in classes]
    missing = [f"{c.__module__}.{c.__qualname__}" for c in classes if f'id="{c.__qualname__}"' not in _page(reference, c.__module__)]
    assert not missing, f"not in the API reference: {missing}"


def test_every_template_and_its_settings_with_defaults_are_documented(reference):
    from sagemaker_projects_cdk.stacks import TEMPLATES

    page = html.unescape(_page(reference, "sagemaker_projects_cdk.stacks"))
    for stack in TEMPLATES.values():
        settings = stack.TEMPLATE.settings
        assert f'id="{stack.__name__}"' in page and f'id="{settings.__name__}"' in page, stack.__name__
        section = page[page.index(f'id="{settings.__name__}"') :]
        section = section[: section.index('id="', section.index("Settings:"))]
        for field in dataclasses.fields(settings):
            assert f">{field.name}</" in section, f"{settings.__name__}.{field.name} is not in its settings table"
            if isinstance(field.default, str):  # a default the signature and the table show
                assert repr(field.default) in section, f"{settings.__name__}.{field.name}: default {field.default!r} not shown"
            doc = settings.doc(field.name).replace("`", "")[:40]
            assert doc in re.sub(r"<[^>]+>", "", section), f"{settings.__name__}.{field.name}: its doc is not shown"
