#!/usr/bin/env python3
"""Build the sdist and the wheel from a copy of the files git tracks: what a fresh clone builds.

The sdist is built first and the wheel from the unpacked sdist (``python -m build``'s default),
with ``--no-isolation`` (the setuptools of the test extra: no network). The copy is built in a
temporary folder, so nothing (egg-info, build/) is written into the checkout and files git does
not track never reach a distribution.

``make dist`` runs ``.venv/bin/python tests/build_dist.py dist``, which refuses a checkout with
uncommitted changes or untracked files (the distributions would not be those of a commit);
tests/test_packaging.py calls :func:`build` on the checkout as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: Outside git, these are left out of the copy wherever they are.
_NEVER = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", "*.egg-info", "*.pyc")
#: Outside git, these are left out of the copy at the top level only: a package may have a
#: folder named build (sagemaker_projects_cdk/constructs/build).
_TOP_LEVEL_ONLY = {"build", "dist", "cdk.out", "node_modules", ".venv", ".venv-checkov", ".mypy_cache", ".ruff_cache"}


def tracked_files(repo: Path = REPO) -> list[str] | None:
    """The files git tracks in ``repo`` (what a fresh clone has), or None outside git."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, text=True)
    return [name for name in listed.stdout.split("\0") if name] if listed.returncode == 0 else None


def uncommitted(repo: Path = REPO) -> list[str]:
    """``git status --porcelain`` of ``repo``: changed, staged and untracked files (not ignored ones)."""
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True)
    return [line for line in status.stdout.splitlines() if line]


def copy_source(repo: Path, dest: Path, tracked: list[str] | None) -> None:
    """Copy ``tracked`` (paths relative to ``repo``) into ``dest``; with None (not a git checkout),
    copy the whole folder but for caches, virtual environments and top-level build output."""
    if tracked is None:
        top = str(repo)

        def ignore(folder: str, names: list[str]) -> set[str]:
            ignored = set(_NEVER(folder, names))
            if os.path.normpath(folder) == os.path.normpath(top):
                ignored |= {name for name in names if name in _TOP_LEVEL_ONLY}
            return ignored

        shutil.copytree(repo, dest, dirs_exist_ok=True, ignore=ignore)
        return
    for name in tracked:
        if (repo / name).is_file():  # a symlink to a folder (.venv) is not a file to build from
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, dest / name)


def build(outdir: Path, workdir: Path, repo: Path = REPO) -> tuple[Path, Path]:
    """Build the sdist and the wheel of ``repo``'s tracked files into ``outdir``, copying them into
    ``workdir`` first; return (sdist, wheel). Raises RuntimeError with build's output if it fails."""
    source = workdir / "source"
    source.mkdir(parents=True)
    copy_source(repo, source, tracked_files(repo))
    outdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(source)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"python -m build failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    (sdist,) = outdir.glob("sagemaker_projects_cdk-*.tar.gz")
    (wheel,) = outdir.glob("sagemaker_projects_cdk-*.whl")
    return sdist, wheel


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: build_dist.py OUTDIR", file=sys.stderr)
        return 2
    if tracked_files() is None:
        print("build_dist.py: not a git checkout; a release is built from a commit", file=sys.stderr)
        return 1
    dirty = uncommitted()
    if dirty:
        listing = "\n".join(f"  {line}" for line in dirty[:20])
        print(f"build_dist.py: the checkout has uncommitted changes or untracked files; commit or stash them first:\n{listing}", file=sys.stderr)
        return 1
    outdir = Path(argv[0]).resolve()
    if outdir.exists():
        shutil.rmtree(outdir)
    with tempfile.TemporaryDirectory(prefix="sagemaker-projects-cdk-dist-") as workdir:
        try:
            sdist, wheel = build(outdir, Path(workdir))
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
    print(f"{sdist}\n{wheel}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
