"""The API reference builds without a warning and documents every public construct, stack and
settings dataclass (tests/api_reference.py, ``make docs``)."""

from __future__ import annotations

import dataclasses
import html
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO, once_per_run

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


def _build_once(root: Path) -> Path:
    """The whole reference into ``root/site``, unless an earlier worker built it: its result
    (or its failure) is recorded in ``root/result.json`` for the others."""
    done = root / "result.json"
    if not done.exists():
        result = build_reference(root / "site")
        error = "" if result.returncode == 0 else f"make docs fails (warnings are errors):\n{result.stderr[-6000:]}"
        done.write_text(json.dumps({"error": error}))
    error = json.loads(done.read_text())["error"]
    if error:
        pytest.fail(error, pytrace=False)
    return root / "site"


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """The API reference, built once per run (a full pdoc run of the package takes a minute):
    pytest-xdist workers share the base temporary folder's parent, and a file lock there lets
    the first worker build while the others wait for its result (as tests/test_packaging.py
    builds the release files)."""
    return once_per_run(tmp_path_factory, "reference", _build_once)


def test_a_warning_fails_the_build(tmp_path):
    """An annotation pdoc cannot resolve fails the build. The probe module is built on its own
    (a few seconds: neither the package nor aws-cdk-lib is imported), not the whole package."""
    (tmp_path / "broken_reference_probe.py").write_text(
        'def handler(event: "NoSuchType") -> None:\n    """Takes an event of a type that exists nowhere."""\n\n\n'
        'def other() -> None:\n    """Names :class:`~sagemaker_projects_cdk.stacks.NoSuchStack`, which does not exist."""\n'
    )
    result = build_reference(tmp_path / "site", "broken_reference_probe", path=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NoSuchType" in result.stderr and "broken_reference_probe.handler" in result.stderr, result.stderr
    # pdoc leaves a cross-reference it cannot resolve as text; the build names it.
    assert "broken_reference_probe.other names sagemaker_projects_cdk.stacks.NoSuchStack" in result.stderr, result.stderr


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
    from sagemaker_projects_cdk.stacks.template import _default_text

    page = html.unescape(_page(reference, "sagemaker_projects_cdk.stacks"))
    for stack in TEMPLATES.values():
        settings = stack.TEMPLATE.settings
        parameters = settings.parameters()
        assert f'id="{stack.__name__}"' in page and f'id="{settings.__name__}"' in page, stack.__name__
        section = page[page.index(f'id="{settings.__name__}"') :]
        section = section[: section.index('id="', section.index("Settings:"))]
        for field in dataclasses.fields(settings):
            assert f">{field.name}</" in section, f"{settings.__name__}.{field.name} is not in its settings table"
            # Every default is shown as the table gives it: a value (string, number, None, the
            # items of a tuple) or the CloudFormation parameter that stands in for it.
            row = _row(section, field.name)
            if field.name in parameters:
                names = parameters[field.name]  # one, or several for a grouped setting (private_network)
                shown = ("parameter " if len(names) == 1 else "parameters ") + ", ".join(names)
                assert shown in row, f"{settings.__name__}.{field.name}: {shown!r} not shown: {row}"
            else:
                assert field.default is not dataclasses.MISSING, f"{settings.__name__}.{field.name} has no default"
                shown = _default_text(field)
                assert shown in row, f"{settings.__name__}.{field.name}: default {shown!r} not shown: {row}"
            doc = settings.doc(field.name).replace("`", "")[:40]
            assert doc in re.sub(r"<[^>]+>", "", section), f"{settings.__name__}.{field.name}: its doc is not shown"


def _row(section: str, name: str) -> str:
    """The text (tags removed) of the settings table's row of setting ``name``."""
    text = section[section.index("Settings:") :]
    for row in re.findall(r"<tr>.*?</tr>", text, re.S):
        cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        if cells and cells[0] == name:
            return " | ".join(cells)
    raise AssertionError(f"no row for {name} in the settings table")
