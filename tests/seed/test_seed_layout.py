"""What the seeded repository contains (standard library only: runs without the seed extra)."""

from __future__ import annotations

import ast
import csv
from collections import Counter

from seed_support import PROJECT_ENVIRONMENT, SEED_ROOT

CONTAINER_SCRIPTS = ("preprocess.py", "evaluate.py")


def test_the_data_set_is_the_headerless_abalone_csv() -> None:
    with (SEED_ROOT / "data" / "abalone.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 4176
    assert {len(row) for row in rows} == {9}
    assert Counter(row[0] for row in rows) == {"M": 1527, "I": 1342, "F": 1307}
    assert all(float(value) >= 0 for row in rows for value in row[1:])


def test_container_scripts_are_self_contained() -> None:
    for name in CONTAINER_SCRIPTS:
        tree = ast.parse((SEED_ROOT / "pipelines" / "abalone" / name).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        third_party = imported - {
            "__future__",
            "argparse",
            "csv",
            "dataclasses",
            "json",
            "math",
            "os",
            "pathlib",
            "shutil",
            "sys",
            "tarfile",
            "tempfile",
            "typing",
        }
        assert third_party <= {"numpy", "xgboost"}, (name, third_party)


def test_the_sdk_stays_in_the_pipeline_modules() -> None:
    users = sorted(
        str(path.relative_to(SEED_ROOT))
        for path in (SEED_ROOT / "pipelines").rglob("*.py")
        if "sagemaker"
        in {
            (getattr(node, "module", None) or "").split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom)
        }
        | {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import)
            for alias in node.names
        }
    )
    assert users == ["pipelines/abalone/pipeline.py"]


def test_the_buildspec_runs_the_tests_then_the_pipeline() -> None:
    text = (SEED_ROOT / "buildspec.yml").read_text()
    commands = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ") and not line.strip().startswith("- /")]
    assert "python: 3.12" in text
    assert commands == [
        'test -x "$BUILD_UV_DIR/bin/uv" || python -m pip install --quiet --upgrade --target "$BUILD_UV_DIR" "uv==0.13.9"',
        'PATH="$BUILD_UV_DIR/bin:$PATH" uv pip install --python "$(command -v python)" --quiet -r requirements.lock',
        "python -m pytest -q",
        "python -m pipelines.run_pipeline",
    ]


def test_the_lock_pins_every_requirement_at_a_version_it_allows() -> None:
    # requirements.lock is requirements.txt resolved (uv pip compile --universal): each
    # requirement appears there pinned, with a version its specifier accepts.
    from packaging.requirements import Requirement

    def lines(name: str) -> list[str]:
        text = (SEED_ROOT / name).read_text().splitlines()
        return [line.split("#")[0].strip() for line in text if line.split("#")[0].strip()]

    pinned: dict[str, list[str]] = {}
    for line in lines("requirements.lock"):
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pinned.setdefault(requirement.name.lower(), []).append(specifier.version)
    for line in lines("requirements.txt"):
        requirement = Requirement(line)
        versions = pinned.get(requirement.name.lower())
        assert versions, f"{requirement.name} is not in requirements.lock: regenerate it (see its header)"
        for version in versions:
            assert requirement.specifier.contains(version), (line, version)
    assert len(pinned) > 100  # the whole tree, not only the direct requirements


def test_requirements_pin_the_sdk_and_match_the_container() -> None:
    from pipelines.abalone import settings

    lines = (SEED_ROOT / "requirements.txt").read_text().splitlines()
    assert "sagemaker==3.27.0" in lines
    xgboost = [line for line in lines if line.startswith("xgboost")]
    major_minor = settings.XGBOOST_FRAMEWORK_VERSION.split("-")[0]
    assert xgboost == [f"xgboost-cpu=={major_minor}.0"]


def test_the_readme_documents_the_local_run_and_every_variable() -> None:
    readme = (SEED_ROOT / "README.md").read_text()
    assert "python -m pipelines.local_run --data data/abalone.csv --output local-run" in readme
    assert "python -m pipelines.run_pipeline" in readme
    for name in [*PROJECT_ENVIRONMENT, "ARTIFACT_KMS_KEY_ARN"]:
        assert f"`{name}`" in readme, name


def test_the_readme_documents_the_lineage_keys_and_command() -> None:
    from pipelines.abalone import settings

    readme = (SEED_ROOT / "README.md").read_text()
    assert "python -m pipelines.lineage arn:aws:sagemaker:" in readme
    keys = [value for name, value in vars(settings).items() if name.endswith("_METADATA_KEY")]
    assert len(keys) == 7
    for key in [*keys, f"{settings.HYPERPARAMETER_METADATA_PREFIX}<name>", "CODEBUILD_RESOLVED_SOURCE_VERSION"]:
        assert f"| `{key}` |" in readme, key


def test_no_caches_or_bytecode_in_the_seed_folder() -> None:
    stray = [
        str(p.relative_to(SEED_ROOT))
        for p in SEED_ROOT.rglob("*")
        if p.name in ("__pycache__", ".pytest_cache", ".ipynb_checkpoints") or p.suffix == ".pyc"
    ]
    assert stray == []


def test_nothing_in_the_seed_folder_is_left_from_a_local_run() -> None:
    assert not (SEED_ROOT / "local-run").exists()
    assert sorted(p.name for p in SEED_ROOT.iterdir()) == sorted(
        [
            ".gitignore",
            "README.md",
            "buildspec.yml",
            "data",
            "pipelines",
            "pytest.ini",
            "requirements.lock",
            "requirements.txt",
            "tests",
        ]
    )
