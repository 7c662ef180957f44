#!/usr/bin/env python3
"""Synth speed and template size benchmark.

Measures in one run, so that ratios hold on a noisy machine, the median wall time and the
peak memory of N runs after one warm-up of:

- the floor: an empty ``App().synth()`` (Python, jsii and Node start-up, aws-cdk-lib load,
  and aws-cdk-lib's built-in CloudFormation validation engine), and the same with that
  validation off, which is how app.py synthesizes (cfn-lint checks the templates in tests);
- each template in ``TEMPLATES`` alone, through ``app.py`` (security packs on);
- ``app.py`` with all of ``TEMPLATES`` (the target's "whole app"), and ``app.py`` as
  ``make synth`` runs it, with the Studio publishing stack (3 more product stacks) too;
- the README test command (``make test``), unless ``--test-runs 0``.

Then prints a table (wall seconds, ratio to the floor, peak RSS, resources and template
bytes per stack with their share of CloudFormation's 500-resource and 1 MB limits) and
writes it to ``benchmarks/RESULTS.md`` with the machine, versions and date.

Run: ``make benchmark`` (or ``.venv/bin/python benchmarks/synth_benchmark.py --runs 5``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_048_576  # a template uploaded through S3

# Runs a command and prints the peak RSS (KiB) of its largest process: Python or Node.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
    "sys.stderr.write(r.stderr[-4000:] if r.returncode else '')\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(r.returncode)\n"
)

_EMPTY_APP = "import sys\nfrom aws_cdk import App\nApp(outdir=sys.argv[1]).synth()\n"


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_mib: float
    runs: int


def measure(name: str, command: list[str], *, runs: int, env: dict[str, str], cwd: Path = REPO) -> Measurement:
    """Median wall time and the highest peak RSS over ``runs`` runs, after one warm-up."""
    times: list[float] = []
    peaks: list[float] = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command], cwd=cwd, env=env, capture_output=True, text=True
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"{name}: {' '.join(command)} failed:\n{result.stderr}")
        if attempt:  # the first run warms caches (jsii, pip, file system)
            times.append(elapsed)
            peaks.append(int(result.stdout.strip().splitlines()[-1]) / 1024)
        print(f"  {name}: run {attempt} {elapsed:.2f} s", file=sys.stderr, flush=True)
    return Measurement(name, statistics.median(times), max(peaks), runs)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    node = Path(venv_bin) / "node"
    if node.exists():
        env["JSII_NODE"] = str(node)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("CDK_CONTEXT_JSON", None)
    return env


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("aws-cdk-lib", "jsii", "cdk-nag", "constructs"):
        found[package] = metadata.version(package)
    node = shutil.which("node", path=str(Path(sys.executable).parent)) or "node"
    found["node"] = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return found


def machine() -> str:
    memory = ""
    try:
        kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores{memory}"


def template_sizes(outdir: Path) -> dict[str, tuple[int, int]]:
    """Resources and bytes of every template ``make synth`` writes (stacks and Studio products)."""
    sizes = {}
    for path in sorted(outdir.glob("*.template.json")):
        template = json.loads(path.read_text())
        sizes[path.name.removesuffix(".template.json")] = (len(template.get("Resources", {})), path.stat().st_size)
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per case (after one warm-up)")
    parser.add_argument("--test-runs", type=int, default=5, help="measured runs of the test suite; 0 skips it")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    sys.path.insert(0, str(REPO))
    from sagemaker_projects_cdk.stacks import TEMPLATES

    template_ids = list(TEMPLATES)
    env = base_env()
    work = Path(tempfile.mkdtemp(prefix="synth-benchmark-"))
    try:
        empty = work / "empty.py"
        empty.write_text(_EMPTY_APP)
        rows = [measure("empty App (floor)", [sys.executable, str(empty), str(work / "empty.out")], runs=args.runs, env=env)]
        # The same, without aws-cdk-lib's built-in validation (app.py's default): the part of
        # the floor that is Python, jsii, Node and aws-cdk-lib alone.
        rows.append(
            measure(
                "empty App, built-in validation off",
                [sys.executable, str(empty), str(work / "empty-novalidation.out")],
                runs=args.runs,
                env={**env, "CDK_VALIDATION": "false"},
            )
        )
        for template_id in template_ids:
            context = {"templates": template_id, "studio": "false"}
            case_env = {**env, "CDK_OUTDIR": str(work / template_id), "CDK_CONTEXT_JSON": json.dumps(context)}
            rows.append(measure(f"template {template_id}", [sys.executable, "app.py"], runs=args.runs, env=case_env))
        # Marginal cost: the whole app without one template, so shared start-up is not charged to it.
        for template_id in template_ids:
            others = ",".join(t for t in template_ids if t != template_id)
            context = {"templates": others, "studio": "false"}
            case_env = {**env, "CDK_OUTDIR": str(work / f"without-{template_id}"), "CDK_CONTEXT_JSON": json.dumps(context)}
            rows.append(measure(f"all but {template_id}", [sys.executable, "app.py"], runs=args.runs, env=case_env))
        whole_out = work / "whole"
        rows.append(
            measure(
                "app.py, all of TEMPLATES",
                [sys.executable, "app.py"],
                runs=args.runs,
                env={**env, "CDK_OUTDIR": str(whole_out), "CDK_CONTEXT_JSON": json.dumps({"studio": "false"})},
            )
        )
        rows.append(
            measure(
                "app.py + Studio publishing stack",
                [sys.executable, "app.py"],
                runs=args.runs,
                env={**env, "CDK_OUTDIR": str(work / "with-studio")},
            )
        )
        if args.test_runs:
            rows.append(measure("test suite (make test)", ["make", "test"], runs=args.test_runs, env=env))
        sizes = template_sizes(work / "with-studio")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = render(rows, sizes)
    print(table)
    if not args.no_write:
        RESULTS.write_text(table)
        print(f"written to {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


def render(rows: list[Measurement], sizes: dict[str, tuple[int, int]]) -> str:
    floor = rows[0].seconds
    by_name = {row.name: row for row in rows}
    whole = by_name["app.py, all of TEMPLATES"].seconds
    lines = [
        "# Synth benchmark results",
        "",
        f"- Date: {dt.date.today().isoformat()}",
        f"- Machine: {machine()}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- Median of {rows[0].runs} runs after one warm-up (test suite: {rows[-1].runs} runs); "
        "peak = largest resident set of any process of a run (Python or Node).",
        "",
        "Added x floor: a template alone, (template - floor) / floor, which also charges it the",
        "start-up every template shares (this library, the packs); marginal: (whole app - whole",
        "app without it) / floor, what it adds to the app.",
        "",
        "| Case | Wall s (median) | x floor | Added x floor | Marginal x floor | Peak MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = row.seconds / floor
        added = marginal = ""
        if row.name.startswith("template "):
            template_id = row.name.removeprefix("template ")
            added = f"{ratio - 1:+.2f}"
            without = by_name.get(f"all but {template_id}")
            marginal = f"{(whole - without.seconds) / floor:+.2f}" if without else ""
        lines.append(f"| {row.name} | {row.seconds:.2f} | {ratio:.2f} | {added} | {marginal} | {row.peak_mib:.0f} |")
    lines += [
        "",
        "| Template (file in cdk.out) | Resources | % of 500 | Template bytes | % of 1 MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (resources, size) in sizes.items():
        lines.append(
            f"| {name} | {resources} | {100 * resources / MAX_RESOURCES:.1f} | {size:,} | {100 * size / MAX_TEMPLATE_BYTES:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
