#!/usr/bin/env python3
"""Synth speed against an empty app, and template sizes (issue 19's table).

Every case runs as its own process with aws-cdk-lib's built-in CloudFormation validation off
(``CDK_VALIDATION=false``; app.py keeps it off too), in rounds: one warm-up round, then
``--runs`` rounds of every case in turn (alternated, so that a busy machine slows them all
alike); each case's figure is its median. The cases:

- floor: an empty ``App().synth()``: Python, jsii, Node and aws-cdk-lib start-up;
- this project's ``app.py``: all templates with the Studio stack and the security packs (what
  ``make synth`` runs; app.py also builds the small target-account stack), all templates
  without the Studio stack (``-c studio=false``), and each template alone (``build_app`` with
  that template only: packs on, no Studio, no target-account stack);
- the floor with aws-cdk-lib's built-in validation on, to show what turning it off saves;
- the same for an older checkout of this project (``--baseline PATH`` or
  ``BENCHMARK_BASELINE``, e.g. ``git worktree add /tmp/bench-base d84af33``), to compare
  with today in one run;
- peers, from ``--peers PATH`` or ``BENCHMARK_PEERS`` (default: ``benchmarks/.work/peers``, where
  ``benchmarks/prepare_peers.sh`` prepares them, when it exists):
  each ``<name>/`` folder holding ``benchmark.json`` (``{"label", "cwd", "python", "argv",
  "env"}``); a missing folder or interpreter skips the row with the reason printed.

Resources, two denominators: ``built``, the resources of the stacks the case constructs (for a
checkout with synth once, the Studio product templates, ``*.product.template.json``, left out:
they are copies of the template stacks' templates, rewritten, not built; an older checkout and
the peers build theirs as ProductStacks, so they count), and ``in templates``, every
resource of every template the case writes (product templates included, as the issue counted
them). Columns: ``x floor`` = median / floor; ``per 100`` = (median - floor) / floor /
resources x 100, for each denominator; the goal is judged by the built one.

Then the size of each template ``make synth`` writes, against CloudFormation's 500 resources
and 1 MB (a template uploaded through S3). Writes ``benchmarks/RESULTS.md`` unless ``--no-write``.

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
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_048_576  # a template uploaded through S3
SIZE_GOAL = 0.40  # of either limit
GOAL_APP_PER_100 = 0.8
GOAL_TEMPLATE_X_FLOOR = 3.1

_EMPTY_APP = "import sys\nfrom aws_cdk import App\nApp(outdir=sys.argv[1]).synth()\n"
# One template alone, as app.py builds it (cdk.json's context, security packs on), without the
# Studio stack and the target-account baseline: ``python -c _ALONE <template id>`` in a checkout.
_ALONE = (
    "import json, sys\n"
    "sys.path.insert(0, '.')\n"
    "from aws_cdk import App\n"
    "from sagemaker_projects_cdk.app import build_app\n"
    "app = App(context=json.load(open('cdk.json'))['context'], builtin_cloud_formation_validation=False)\n"
    "build_app(app, templates=[sys.argv[1]], studio=None, target_account=False)\n"
    "app.synth()\n"
)
#: Where the notes below the tables start; make benchmark keeps them.
NOTES_HEADING = "## Notes"


@dataclass
class Case:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    group: str = ""
    outdir: Optional[Path] = None
    times: list[float] = field(default_factory=list)
    resources: int = 0
    #: Resources built by the case's code (product templates copied by synth once left out).
    built: int = 0
    #: Whether the case's Studio product templates are copies (synth once), not built.
    copies_products: bool = False

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    node = Path(venv_bin) / "node"
    if node.exists():
        env["JSII_NODE"] = str(node)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["CDK_VALIDATION"] = "false"
    env.pop("CDK_CONTEXT_JSON", None)
    env.pop("CDK_OUTDIR", None)
    return env


def project_cases(label: str, checkout: Path, work: Path, env: dict[str, str], template_ids: list[str]) -> list[Case]:
    """app.py of ``checkout``: whole app, no Studio, each template alone."""
    cases = []
    # A checkout with synth once copies its product templates; an older one builds them as ProductStacks.
    copies = (checkout / "sagemaker_projects_cdk" / "studio" / "synthesized.py").exists()

    def case(name: str, context: dict[str, str], slug: str) -> Case:
        outdir = work / f"{label}-{slug}"
        case_env = {**env, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
        return Case(f"{name}", [sys.executable, "app.py"], checkout, case_env, group=label, outdir=outdir, copies_products=copies)

    cases.append(case(f"app.py: {len(template_ids)} templates + Studio, packs on", {}, "whole"))
    cases.append(case(f"app.py: {len(template_ids)} templates, no Studio", {"studio": "false"}, "no-studio"))
    for template_id in template_ids:
        outdir = work / f"{label}-{template_id}"
        alone = Case(f"{template_id} alone", [sys.executable, "-c", _ALONE, template_id], checkout, {**env, "CDK_OUTDIR": str(outdir)}, label, outdir)
        cases.append(alone)
    return cases


def peer_cases(peers: Optional[Path], work: Path, env: dict[str, str]) -> tuple[list[Case], list[str]]:
    cases: list[Case] = []
    skipped: list[str] = []
    for name in ("emf", "aiops-xgboost-abalone"):
        if peers is None:
            skipped.append(f"{name}: no peers folder (--peers or BENCHMARK_PEERS; see benchmarks/prepare_peers.sh)")
            continue
        spec_path = peers / name / "benchmark.json"
        if not spec_path.exists():
            skipped.append(f"{name}: {_shown(spec_path)} missing (run benchmarks/prepare_peers.sh)")
            continue
        spec = json.loads(spec_path.read_text())
        python = Path(spec["python"])
        if not python.exists():
            skipped.append(f"{name}: its interpreter {_shown(python)} is missing")
            continue
        outdir = work / f"peer-{name}"
        case_env = {**env, **spec.get("env", {}), "CDK_OUTDIR": str(outdir)}
        case_env["PATH"] = str(python.parent) + os.pathsep + case_env["PATH"]
        cases.append(Case(spec["label"], [str(python), *spec["argv"]], peers / name / spec["cwd"], case_env, "peer", outdir))
    return cases, skipped


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (no machine's absolute paths in RESULTS.md)."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return path.name if path.is_absolute() else str(path)


def run_once(case: Case) -> float:
    if case.outdir is not None:
        shutil.rmtree(case.outdir, ignore_errors=True)
    start = time.perf_counter()
    result = subprocess.run(case.argv, cwd=case.cwd, env=case.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{case.group} {case.name}: {' '.join(case.argv)} failed in {case.cwd}:\n{result.stderr[-4000:]}")
    return elapsed


def count_resources(outdir: Path, *, products: bool = True) -> int:
    """Resources of every template in ``outdir``; without the Studio product templates unless ``products``."""
    total = 0
    for path in outdir.rglob("*.template.json"):
        if any(part.startswith("asset.") for part in path.relative_to(outdir).parts):
            continue  # a file inside an asset (seed code's own templates), not a template of the app
        if not products and path.name.endswith(".product.template.json"):
            continue
        total += len(json.loads(path.read_text()).get("Resources", {}))
    return total


def template_sizes(outdir: Path) -> dict[str, tuple[int, int]]:
    """Resources and bytes of every template ``make synth`` writes (stacks and Studio products)."""
    sizes = {}
    for path in sorted(outdir.glob("*.template.json")):
        template = json.loads(path.read_text())
        sizes[path.name.removesuffix(".template.json")] = (len(template.get("Resources", {})), path.stat().st_size)
    return sizes


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


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (after the warm-up rounds)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds (not measured)")
    parser.add_argument("--baseline", type=Path, default=os.environ.get("BENCHMARK_BASELINE") or None, help="an older checkout to compare")
    parser.add_argument("--baseline-label", default=os.environ.get("BENCHMARK_BASELINE_LABEL", "before"))
    prepared = REPO / "benchmarks" / ".work" / "peers"
    peers_default = os.environ.get("BENCHMARK_PEERS") or (str(prepared) if prepared.is_dir() else None)
    parser.add_argument("--peers", type=Path, default=peers_default, help="prepared peer checkouts (default: benchmarks/.work/peers if there)")
    parser.add_argument("--only", default="", help="comma-separated case-name prefixes to run (others skipped)")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    parser.add_argument("--no-profile", action="store_true", help="skip the phase breakdown (benchmarks/profile_synth.py)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    sys.path.insert(0, str(REPO))
    from sagemaker_projects_cdk.stacks import TEMPLATES

    env = base_env()
    work = Path(tempfile.mkdtemp(prefix="synth-benchmark-"))
    try:
        empty = work / "empty.py"
        empty.write_text(_EMPTY_APP)
        floor = Case("empty App().synth() (floor)", [sys.executable, str(empty), str(work / "empty.out")], REPO, env, "floor")
        validating = Case(
            "empty App().synth(), built-in validation on",
            [sys.executable, str(empty), str(work / "empty-validation.out")],
            REPO,
            {**env, "CDK_VALIDATION": "true"},
            "floor",
        )
        cases = [floor, validating, *project_cases("now", REPO, work, env, list(TEMPLATES))]
        skipped: list[str] = []
        if args.baseline is not None:
            baseline = args.baseline.resolve()
            if (baseline / "app.py").exists():
                ids = _template_ids(baseline, env)
                cases += project_cases(args.baseline_label, baseline, work, env, ids)
            else:
                skipped.append(f"baseline: no app.py in {_shown(baseline)}")
        peers, peer_skips = peer_cases(args.peers.resolve() if args.peers else None, work, env)
        cases += peers
        skipped += peer_skips
        if args.only:
            prefixes = [p.strip() for p in args.only.split(",") if p.strip()]
            cases = [c for c in cases if c is floor or any(c.name.startswith(p) or c.group.startswith(p) for p in prefixes)]
        for reason in skipped:
            print(f"skipped {reason}", file=sys.stderr)
        start_load = load()
        for round_ in range(args.warmup + args.runs):
            for case in cases:
                elapsed = run_once(case)
                if round_ >= args.warmup:
                    case.times.append(elapsed)
                if round_ == 0:  # count what the case writes
                    case.resources = count_resources(case.outdir) if case.outdir else 0
                    case.built = count_resources(case.outdir, products=not case.copies_products) if case.outdir else 0
                print(f"  round {round_} {case.group}: {case.name} {elapsed:.2f} s", file=sys.stderr, flush=True)
        end_load = load()
        breakdown = {} if args.no_profile else profiles(cases, env)
        whole = next((c for c in cases if c.group == "now" and c.name.startswith("app.py") and "Studio," in c.name), None)
        sizes: dict[str, tuple[int, int]] = {}
        if whole is not None and whole.outdir is not None:
            run_once(whole)
            sizes = template_sizes(whole.outdir)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = render(cases, sizes, skipped, args, start_load, end_load) + render_profiles(breakdown)
    print(table)
    if not args.no_write:
        previous = RESULTS.read_text() if RESULTS.exists() else ""
        notes = previous[previous.index(NOTES_HEADING) :] if NOTES_HEADING in previous else ""
        RESULTS.write_text(table + ("\n" + notes if notes else ""))
        print(f"written to {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


#: The configurations profiled phase by phase (benchmarks/profile_synth.py), once each.
PROFILES = {
    "Studio, packs on": ["--packs", "on"],
    "Studio, packs off": ["--packs", "off"],
    "no Studio, packs on": ["--packs", "on", "--studio", "off"],
}


def profiles(cases: list[Case], env: dict[str, str]) -> dict[str, dict[str, list[dict[str, object]]]]:
    """Phase by phase, for every checkout measured: ``{checkout label: {configuration: phases}}``."""
    script = REPO / "benchmarks" / "profile_synth.py"
    checkouts = {c.group: c.cwd for c in cases if c.group not in ("floor", "peer")}
    found: dict[str, dict[str, list[dict[str, object]]]] = {}
    for label, checkout in checkouts.items():
        for name, flags in PROFILES.items():
            result = subprocess.run(
                [sys.executable, str(script), "--repo", str(checkout), *flags], cwd=REPO, env=env, capture_output=True, text=True
            )
            if result.returncode != 0:
                raise SystemExit(f"profile {label} {name} failed:\n{result.stderr[-4000:]}")
            found.setdefault(label, {})[name] = json.loads(result.stdout.strip().splitlines()[-1])["phases"]
            print(f"  profiled {label}: {name}", file=sys.stderr, flush=True)
    return found


def render_profiles(found: dict[str, dict[str, list[dict[str, object]]]]) -> str:
    if not found:
        return ""
    lines = [
        "",
        "## Where the time goes (one profiled run each: seconds, jsii calls)",
        "",
        "`benchmarks/profile_synth.py`: one process, built-in validation off, each phase timed and its",
        "Python-to-Node jsii requests counted. One run each on a busy machine: read the proportions.",
        "",
    ]
    labels = list(found)
    for config in PROFILES:
        phases: dict[str, dict[str, str]] = {}
        for label in labels:
            for phase in found[label].get(config, []):
                extra = f", {phase['resources']} resources" if phase.get("resources") else ""
                phases.setdefault(str(phase["phase"]), {})[label] = f"{phase['s']:.2f} s ({phase['jsii']}{extra})"
        lines += [f"### {config}", "", "| phase | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
        for phase_name, by_label in phases.items():
            lines.append(f"| {phase_name} | " + " | ".join(by_label.get(label, "") for label in labels) + " |")
        lines.append("")
    return "\n".join(lines)


#: How the peers ran (benchmarks/prepare_peers.sh), printed whenever a peer row is.
PEER_CONDITIONS = (
    "Peer conditions (benchmarks/prepare_peers.sh): both peers run on this project's aws-cdk-lib, jsii and constructs "
    "(the versions above), not their own pins, with cdk-nag 2.37.55 installed for them. EMF bundles its repository "
    "into a zip with Docker at synth; there is no Docker here, so a stand-in `docker` writes an empty zip: EMF's "
    "rows leave out that bundling's time, in its favour."
)


def _per_100(case: Case, floor: float, resources: int) -> str:
    return f"{(case.median - floor) / floor / resources * 100:.2f}" if resources else ""


def _goal_status(cases: list[Case], floor: float) -> list[str]:
    """Each goal met or missed, and by how much, by this run's figures (today's checkout only)."""
    status = []
    whole = next((c for c in cases if c.group == "now" and c.name.startswith("app.py") and "Studio," in c.name), None)
    if whole is not None and whole.built:
        value = (whole.median - floor) / floor / whole.built * 100
        verdict = "met" if value <= GOAL_APP_PER_100 else f"missed by {value - GOAL_APP_PER_100:.2f} ({value / GOAL_APP_PER_100 - 1:.0%})"
        status.append(
            f"- Whole app: {value:.2f} per 100 resources built ({whole.built} built; {_per_100(whole, floor, whole.resources)} "
            f"per 100 of the {whole.resources} in its templates): {verdict}."
        )
    alone = [c for c in cases if c.group == "now" and c.name.endswith(" alone")]
    if alone:
        worst = max(alone, key=lambda c: c.median)
        ratio = worst.median / floor
        verdict = "met" if ratio <= GOAL_TEMPLATE_X_FLOOR else f"missed by {ratio - GOAL_TEMPLATE_X_FLOOR:.2f}x"
        status.append(f"- Each template alone: at most {ratio:.2f}x the floor ({worst.name}): {verdict}.")
    return status


def _template_ids(checkout: Path, env: dict[str, str]) -> list[str]:
    code = "import sys; sys.path.insert(0, '.'); from sagemaker_projects_cdk.stacks import TEMPLATES; print(','.join(TEMPLATES))"
    out = subprocess.run([sys.executable, "-c", code], cwd=checkout, env=env, capture_output=True, text=True, check=True).stdout
    return out.strip().split(",")


def render(cases: list[Case], sizes: dict[str, tuple[int, int]], skipped: list[str], args: argparse.Namespace, start_load: str, end_load: str) -> str:
    floor = cases[0].median
    lines = [
        "# Synth benchmark results",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine()}; load average (1, 5, 15 min) {start_load} at the start, {end_load} at the end",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"- Every case a fresh process with `CDK_VALIDATION=false`; median of {args.runs} alternated rounds after "
        f"{args.warmup} warm-up round(s).",
        f"- Floor: an empty `App().synth()`, {floor:.2f} s. Resources, two denominators: built (the stacks the case "
        "constructs) and in templates (every template it writes, the Studio product templates included: with synth once "
        "those are copies of the template stacks' templates, rewritten, not built).",
        "",
        "| app | resources built | resources in templates | x floor | per 100 built | per 100 in templates | median s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    group_titles = {"floor": "", "now": "this project", "peer": ""}
    for case in cases:
        ratio = case.median / floor
        title = group_titles.get(case.group, f"this project, {case.group}")
        name = f"{title}: {case.name}" if title else case.name
        lines.append(
            f"| {name} | {case.built or ''} | {case.resources or ''} | {ratio:.2f} | {_per_100(case, floor, case.built)} "
            f"| {_per_100(case, floor, case.resources)} | {case.median:.2f} |"
        )
    for reason in skipped:
        lines.append(f"\nSkipped {reason}.")
    if any(case.group == "peer" for case in cases):
        lines += ["", PEER_CONDITIONS]
    lines += [
        "",
        f"Goals (issue 19): the whole app at most {GOAL_APP_PER_100} per 100 resources, judged per 100 resources built; "
        f"each template alone at most {GOAL_TEMPLATE_X_FLOOR}x the floor.",
        "",
        *_goal_status(cases, floor),
        "",
        "| Template (file in cdk.out) | Resources | % of 500 | Template bytes | % of 1 MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (resources, size) in sizes.items():
        lines.append(
            f"| {name} | {resources} | {100 * resources / MAX_RESOURCES:.1f} | {size:,} | {100 * size / MAX_TEMPLATE_BYTES:.1f} |"
        )
    over = [n for n, (r, b) in sizes.items() if r > SIZE_GOAL * MAX_RESOURCES or b > SIZE_GOAL * MAX_TEMPLATE_BYTES]
    lines.append("")
    lines.append(f"Size goal: none above {SIZE_GOAL:.0%} of either limit; above it: {', '.join(over) or 'none'}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
