"""The API reference builds without a warning and documents every public construct, stack and
settings dataclass (tests/api_reference.py, ``make docs``)."""

from __future__ import annotations

import dataclasses
import html
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

BUILD_SECONDS = 300


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The reference, built as ``make docs`` builds it, in its own process."""
    outdir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "api_reference.py"), str(outdir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
    )
    assert result.returncode == 0, f"make docs fails (warnings are errors):\n{result.stderr[-6000:]}"
    return outdir


def _public_classes() -> list[type]:
    """Every construct and dataclass that a public module of the package defines."""
    sys.path.insert(0, str(REPO / "tests"))
    from api_reference import public_modules
    from constructs import Construct

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
