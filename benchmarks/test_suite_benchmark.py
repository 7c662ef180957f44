#!/usr/bin/env python3
"""Test-suite wall time: the pytest step of ``make test``, timed as the README runs it.

Issue 19's goal is ``make test`` under 90 s on this 2-core machine. ruff, mypy and the
checkov virtualenv check before it take seconds; pytest is the rest. This script runs that
step (``python -m pytest -n auto``, the Makefile's default ``PYTEST_ARGS``, without the cache
plugin so no run reorders the next) ``--runs`` times and reports, per run:

- the wall time, the CPU time of pytest and every process it waited for (workers, Node,
  cfn-lint, checkov: what the machine's cores had to do, much less sensitive to other load
  than the wall time), the load average before and after (the machine may be shared: a figure
  taken under load is not a figure for a quiet machine), the collected and passed counts;
- from a JUnit XML report: the seconds each test file spends (setup + call + teardown, summed
  over workers, so the total exceeds the wall time on 2 workers) and the costliest tests.

Then it writes the section ``## Test suite`` of ``benchmarks/RESULTS.md`` (only that section:
the rest of the file belongs to ``synth_benchmark.py``), unless ``--no-write``.

Run: ``make benchmark`` (or ``.venv/bin/python benchmarks/test_suite_benchmark.py --runs 3``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
SECTION = "## Test suite"
GOAL_SECONDS = 90


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    load_before: float
    load_after: float
    collected: int
    summary: str
    returncode: int
    file_seconds: dict[str, float] = field(default_factory=dict)
    test_seconds: dict[str, float] = field(default_factory=dict)


def load_average() -> float:
    return os.getloadavg()[0]


def run_suite(pytest_args: list[str], workdir: Path) -> Run:
    report = workdir / "junit.xml"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.setdefault("JSII_NODE", str(Path(sys.executable).parent / "node"))
    command = [sys.executable, "-m", "pytest", *pytest_args, "-p", "no:cacheprovider", "-q", f"--junitxml={report}"]
    before, usage = load_average(), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after, used = load_average(), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (used.ru_utime + used.ru_stime) - (usage.ru_utime + usage.ru_stime)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else result.stderr[-400:]
    run = Run(seconds, cpu, before, after, 0, summary, result.returncode)
    if report.exists():
        suite = ET.parse(report).getroot()
        for case in suite.iter("testcase"):
            module = (case.get("classname") or "").split(".")
            path = "/".join(p for p in module if not p[:1].isupper()) + ".py"
            name = f"{path}::{case.get('name')}"
            run.file_seconds[path] = run.file_seconds.get(path, 0.0) + float(case.get("time") or 0)
            run.test_seconds[name] = float(case.get("time") or 0)
        run.collected = sum(int(s.get("tests", 0)) for s in suite.iter("testsuite"))
    return run


def render(runs: list[Run], pytest_args: list[str], top: int) -> str:
    median = statistics.median(r.seconds for r in runs)
    last = runs[-1]
    files: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for path, seconds in run.file_seconds.items():
            files[path].append(seconds)
    busiest = sorted(((statistics.median(v), k) for k, v in files.items()), reverse=True)[:top]
    tests = sorted(((v, k) for k, v in last.test_seconds.items()), reverse=True)[:top]
    lines = [
        SECTION,
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; {os.cpu_count()} cores; "
        f"`python -m pytest {' '.join(pytest_args)}` (the pytest step of `make test`), "
        f"`benchmarks/test_suite_benchmark.py --runs {len(runs)}`.",
        f"- Goal (issue 19): `make test` under {GOAL_SECONDS} s. Median pytest wall time: {median:.1f} s.",
        "- Load: 1-minute load average before / after each run; this machine is shared, and a run",
        "  under a load above the core count is slower by about that factor.",
        "",
        "| Run | Wall s | CPU s | Load before | Load after | Tests (JUnit) | Result |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for number, run in enumerate(runs, 1):
        lines.append(f"| {number} | {run.seconds:.1f} | {run.cpu_seconds:.0f} | {run.load_before:.1f} | {run.load_after:.1f} | {run.collected} | {run.summary} |")
    lines += [
        "",
        f"Costliest test files (median over runs; setup + call + teardown, summed over workers: {sum(s for s, _ in busiest):.0f} s for these {len(busiest)}):",
        "",
        "| File | Seconds |",
        "|---|---:|",
        *(f"| {path} | {seconds:.1f} |" for seconds, path in busiest),
        "",
        "Costliest tests (last run; a session or module fixture is charged to the first test using it):",
        "",
        "| Test | Seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for seconds, name in tests),
        "",
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    """Replace (or append) the ``## Test suite`` section of RESULTS.md, up to the next ``## ``."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of the suite (each takes minutes)")
    parser.add_argument("--top", type=int, default=15, help="rows in the costliest files and tests tables")
    parser.add_argument("--pytest-args", default="-n auto", help="as the Makefile's PYTEST_ARGS (default: -n auto)")
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    pytest_args = args.pytest_args.split()
    runs = []
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="test-suite-benchmark-") as work:
            run = run_suite(pytest_args, Path(work))
        print(f"run {number + 1}: {run.seconds:.1f} s, {run.cpu_seconds:.0f} CPU s, load {run.load_before:.1f} -> {run.load_after:.1f}: {run.summary}", file=sys.stderr)
        runs.append(run)
    section = render(runs, pytest_args, args.top)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"written to {RESULTS.relative_to(REPO)} ({SECTION})", file=sys.stderr)
    return 0 if all(r.returncode == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
