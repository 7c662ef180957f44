#!/usr/bin/env python3
"""Build install benchmark: the model-build CodeBuild's install phase, cold and warm.

Runs the install commands of the model-build seed's ``buildspec.yml`` (read from the file,
with its ``env.variables``), each time into a new virtual environment first on ``PATH``, the
way the Jenkins job runs them and as CodeBuild's Python runtime is first on its ``PATH``:

- cold: the package caches empty (a first build, or an expired or missing S3 cache);
- warm: the caches as the previous run left them (what CodeBuild's cache restores), each
  of ``--warm-runs`` runs into its own new environment;
- for comparison, the install the buildspec had before (``pip install -r requirements.txt``),
  cold and warm, unless ``--baseline-runs 0``;
- then the seed's own tests (``python -m pytest -q``, the pre_build phase) in the last
  warm environment, on a copy of the seed code.

The cache directories the buildspec names under ``/root/.cache`` are moved under
``benchmarks/.work/install/`` (ignored by git), which the cold runs empty. Packages come from
PyPI only: this machine's pip configuration (extra indexes, local wheels, constraints) is
turned off, as CodeBuild has none. The median of the warm runs is the figure the goal (at
most 15 s) is measured against. Writes the "Build install" section of
``benchmarks/RESULTS.md`` (the rest of the file is kept).

Run: ``make benchmark`` (after the synth benchmark) or
``.venv/bin/python benchmarks/install_benchmark.py --warm-runs 3``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
SEED = REPO / "sagemaker_projects_cdk" / "seed_code" / "model_build"
WORK = REPO / "benchmarks" / ".work" / "install"
#: Where the buildspec keeps its caches in CodeBuild (the home of root, the build's user).
BUILD_CACHE_ROOT = "/root/.cache"
#: The buildspec's install command before the cache and uv (for the comparison rows).
BASELINE_COMMANDS = ["python -m pip install --quiet -r requirements.txt"]
SECTION = "## Build install"
WARM_GOAL_SECONDS = 15.0
TESTS_GOAL_SECONDS = 10.0
#: The Python CodeBuild's image runs the buildspec with (``runtime-versions``).
BUILD_PYTHON = "3.12"
#: The former install's last measurement, reported when this run skips it (``--baseline-runs 0``,
#: as ``make benchmark`` runs): measured on 2026-11-30, 2 cores shared with six other sessions
#: (load 10 to 24), cold only (its warm run did not finish before that session's deadline).
BASELINE_RECORD = (
    "- The former install (`python -m pip install -r requirements.txt`, no lock) is not run by default "
    "(`--baseline-runs 1`, or `make benchmark INSTALL_BASELINE_RUNS=1`, runs it: about 25 minutes). "
    "Its last measurement, 2026-11-30 under load 10 to 24: 1,495.7 s cold, 136 packages; warm not "
    "finished before that session's deadline."
)
#: Why the former install is slow, and the lock is not (stays true while the lock exists).
BASELINE_CAUSE = (
    "- The former install, cold, spent most of its time backtracking: `sagemaker-mlops` requires `s3fs` "
    "unpinned, and the resolver walks back through `s3fs` and `aiobotocore` releases, building old source "
    "distributions for their metadata; uv without the lock did the same (160 s cold, 88 s warm). "
    "`requirements.lock` removes that walk."
)


@dataclass
class Run:
    seconds: float
    packages: int
    site_mib: float


@dataclass
class Case:
    name: str
    commands: list[str]
    cold: list[Run] = field(default_factory=list)
    warm: list[Run] = field(default_factory=list)


def buildspec_install() -> tuple[dict[str, str], list[str]]:
    """The buildspec's variables and install commands, its cache paths moved under WORK."""
    spec = yaml.safe_load((SEED / "buildspec.yml").read_text())
    cache = str(WORK / "cache")
    variables = {name: str(value).replace(BUILD_CACHE_ROOT, cache) for name, value in spec["env"]["variables"].items()}
    commands = [command.replace(BUILD_CACHE_ROOT, cache) for command in spec["phases"]["install"]["commands"]]
    cached = [path.replace(BUILD_CACHE_ROOT, cache) for path in spec.get("cache", {}).get("paths", [])]
    kept = [path.removesuffix("/**/*") for path in cached]
    missing = [name for name in ("UV_CACHE_DIR", "BUILD_UV_DIR") if not any(variables.get(name, "").startswith(path) for path in kept)]
    if missing:
        raise SystemExit(f"buildspec.yml: {', '.join(missing)} not under the cache paths {cached}")
    return variables, commands


def base_environment(variables: dict[str, str]) -> dict[str, str]:
    """This process's environment without this machine's pip settings, plus the buildspec's."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PIP_", "UV_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull  # no extra indexes, local wheels or constraints
    env["PIP_NO_CACHE_DIR"] = "1"  # as in a new CodeBuild container (the buildspec keeps no pip cache)
    for name in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT"):  # how this machine reaches PyPI
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(variables)
    return env


def new_venv(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(path)], check=True)
    return path / "bin"


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python3*/site-packages")
    return found


def directory_mib(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def install(commands: list[str], env: dict[str, str], venv: Path) -> Run:
    """Run ``commands`` in one bash (as CodeBuild runs a phase) with ``venv`` first on PATH."""
    bin_dir = new_venv(venv)
    run_env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}
    script = "set -e\n" + "\n".join(commands) + "\n"
    start = time.perf_counter()
    result = subprocess.run(["bash", "-c", script], cwd=SEED, env=run_env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"install failed ({result.returncode}):\n{script}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    listed = subprocess.run([str(bin_dir / "python"), "-m", "pip", "list", "--format=freeze"], env=run_env, capture_output=True, text=True, check=True)
    packages = len([line for line in listed.stdout.splitlines() if line and not line.startswith(("pip==", "setuptools=="))])
    return Run(seconds, packages, directory_mib(site_packages(venv)))


def measure(case: Case, env: dict[str, str], warm_runs: int, cache_dirs: list[Path]) -> None:
    for directory in cache_dirs:
        shutil.rmtree(directory, ignore_errors=True)
    venv = WORK / "venv"
    case.cold.append(install(case.commands, env, venv))
    print(f"  {case.name}: cold {case.cold[-1].seconds:.1f} s, {case.cold[-1].packages} packages", file=sys.stderr, flush=True)
    for attempt in range(warm_runs):
        case.warm.append(install(case.commands, env, venv))
        print(f"  {case.name}: warm {attempt + 1} {case.warm[-1].seconds:.1f} s", file=sys.stderr, flush=True)


def seed_tests(env: dict[str, str]) -> tuple[float, float]:
    """The buildspec's pre_build phase (the seed's tests) in the last environment, on a copy."""
    source = WORK / "seed"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(SEED, source, ignore=shutil.ignore_patterns("__pycache__", "local-run", ".venv"))
    venv = WORK / "venv"
    run_env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}
    commands = yaml.safe_load((SEED / "buildspec.yml").read_text())["phases"]["pre_build"]["commands"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(["bash", "-c", "set -e\n" + "\n".join(commands)], cwd=source, env=run_env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"the seed's tests failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    print(f"  seed tests: {seconds:.1f} s, {cpu:.1f} s CPU ({result.stdout.strip().splitlines()[-1]})", file=sys.stderr, flush=True)
    return seconds, cpu


def load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def report(
    cases: list[Case], tests: tuple[float, float], first_tests: tuple[float, float], load_before: str, load_after: str, uv_pin: str
) -> str:
    rows = []
    for case in cases:
        warm = [run.seconds for run in case.warm]
        median = statistics.median(warm) if warm else float("nan")
        cold = case.cold[0]
        rows.append(
            f"| {case.name} | {cold.seconds:.1f} | {median:.1f} | {', '.join(f'{s:.1f}' for s in warm)} | "
            f"{cold.packages} | {cold.site_mib:,.0f} |"
        )
    uv_case = cases[0]
    warm_median = statistics.median(run.seconds for run in uv_case.warm)
    verdict = "met" if warm_median <= WARM_GOAL_SECONDS else f"missed by {warm_median - WARM_GOAL_SECONDS:.1f} s"
    tests_seconds, tests_cpu = tests
    first_seconds, first_cpu = first_tests
    tests_verdict = "met" if tests_seconds <= TESTS_GOAL_SECONDS else f"missed by {tests_seconds - TESTS_GOAL_SECONDS:.1f} s"
    cache_mib = directory_mib(WORK / "cache")
    python_note = (
        f"python {platform.python_version()} here, {BUILD_PYTHON} on the CodeBuild image"
        if not platform.python_version().startswith(BUILD_PYTHON + ".")
        else f"python {platform.python_version()}, as on the CodeBuild image"
    )
    baseline_lines = [BASELINE_CAUSE] if len(cases) > 1 else [BASELINE_RECORD, BASELINE_CAUSE]
    return "\n".join(
        [
            SECTION,
            "",
            f"- Date: {dt.date.today().isoformat()}; written by `benchmarks/install_benchmark.py` (`make benchmark`).",
            f"- Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()} "
            f"(CodeBuild runs 3.12); load average (1, 5, 15 min) {load_before} before, {load_after} after "
            "(the machine is shared: other work ran meanwhile).",
            f"- What: the install phase of `seed_code/model_build/buildspec.yml` ({uv_pin}), into a new virtual "
            "environment each run, from PyPI; cold = empty caches, warm = the caches the previous run "
            f"left (what the CodeBuild S3 cache restores: {cache_mib:,.0f} MiB here). Seconds are wall time "
            "of the phase's commands (the environment's creation is not counted: CodeBuild's runtime is there already).",
            "",
            "| Install | Cold s | Warm s (median) | Warm runs s | Packages | Installed MiB |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"- Goal, warm install at most {WARM_GOAL_SECONDS:.0f} s: {verdict} ({warm_median:.1f} s), with "
            f"{python_note}. The warm figure excludes CodeBuild restoring the S3 cache archive before the "
            f"build ({cache_mib:,.0f} MiB here, a download within the Region) and saving a new copy after a "
            "cold build: not measurable without AWS.",
            f"- Goal, the seed's own tests (the pre_build phase, `python -m pytest -q`, in that environment) "
            f"at most {TESTS_GOAL_SECONDS:.0f} s: {tests_verdict} ({tests_seconds:.1f} s wall, {tests_cpu:.1f} s CPU; "
            f"the first run: {first_seconds:.1f} s wall, {first_cpu:.1f} s CPU; both compile every module, "
            "as the seed's tests write no bytecode).",
            *baseline_lines,
            "",
        ]
    )


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip("\n") + "\n"
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + section
    RESULTS.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm-runs", type=int, default=3, help="warm installs of the buildspec's commands (median reported)")
    parser.add_argument(
        "--baseline-runs",
        type=int,
        default=1,
        help="warm installs of the former pip command, after a cold one (about 25 minutes); 0 skips it and reports its last measurement",
    )
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    if args.warm_runs < 1:
        parser.error("--warm-runs must be at least 1")

    variables, commands = buildspec_install()
    env = base_environment(variables)
    cache_dirs = [WORK / "cache"]
    pins = [match.group(0) for command in commands for match in re.finditer(r"uv==[\w.]+", command)]
    uv_pin = f"pip installs {pins[0]} unless the cache has it, then `uv pip install -r requirements.lock`" if pins else "as written"
    WORK.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    cases = [Case("buildspec (uv, cached)", commands)]
    measure(cases[0], env, args.warm_runs, cache_dirs)
    first_tests = seed_tests(env)  # a first run (the OS's file cache cold for the new environment)
    tests = seed_tests(env)
    if args.baseline_runs:
        pip_cache = WORK / "pip-baseline-cache"
        baseline = Case("former: pip install -r", BASELINE_COMMANDS)
        baseline_env = base_environment({"PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        baseline_env.pop("PIP_NO_CACHE_DIR")
        baseline_env["PIP_CACHE_DIR"] = str(pip_cache)
        measure(baseline, baseline_env, args.baseline_runs, [pip_cache])
        cases.append(baseline)
    section = report(cases, tests, first_tests, load_before, load_average(), uv_pin)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"written to {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
