#!/usr/bin/env python3
"""Push a folder of seed code into an existing Git repository, once, never rewriting history.

Run by the project's seeding build (CodeBuild) for each repository reached through an AWS
CodeConnections connection; standard library and the ``git`` command only.

    python3 seed_push.py --url https://host/owner/repo.git --branch main --seed ./seed \
        [--credential-helper '!aws codecommit credential-helper $@'] [--name NAME] [--email EMAIL]

Rules:

- the branch is followed if it exists; otherwise it is created from the repository's default
  branch (or as the first branch of an empty repository);
- a branch holding nothing, or only a README, a LICENSE (LICENCE, COPYING) or a .gitignore at
  its root (any case, any extension: ``README.md``, ``license.txt``), gets the seed as one new
  commit on top: the seed's files replace those of the same path, except that a .gitignore
  keeps its lines and gains the seed's;
- a branch that already holds anything else is left alone, with a message saying so (so a
  second run, after the seed is in, changes nothing); when the branch is missing and the
  default branch holds code, the branch is created at the default branch's commit (no new
  commit, no existing branch changed) and the seed is not applied, with a message saying so:
  the project's pipeline then finds the branch it follows;
- the push is a plain fast-forward push: never ``--force``; a rejected push fails the run;
- file modes (the executable bit), dotfiles and symbolic links of the seed are kept;
- credentials: git asks ``--credential-helper`` (given on each command line, never written to
  a file); a URL holding a user name or password is refused, and nothing here prints one.

Exit status: 0 when the branch was seeded or left alone (the message says which), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Optional, Sequence

#: Root files a host may create with a new repository; a branch holding only these gets the seed.
PLACEHOLDER_STEMS = frozenset({"readme", "license", "licence", "copying", ".gitignore", ".gitattributes"})

SEEDED, LEFT_ALONE, UP_TO_DATE = "seeded", "left alone", "up to date"
#: The branch was missing and was created from the default branch, which holds code: not seeded.
CREATED_NOT_SEEDED = "created, not seeded"


class SeedError(Exception):
    """A failure with a message for the build's log."""


def is_placeholder(path: str) -> bool:
    """True for a root README/LICENSE/COPYING/.gitignore/.gitattributes, any case and extension."""
    if "/" in path:
        return False
    name = path.lower()
    stem = name if name.startswith(".") else name.split(".", 1)[0]
    return stem in PLACEHOLDER_STEMS


def check_url(url: str) -> str:
    """An https (or, for tests, http) URL without user name or password."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise SeedError(f"invalid repository URL {_safe(url)!r}: expected https://<host>/<path>")
    if parsed.username is not None or parsed.password is not None or "@" in parsed.netloc:
        raise SeedError("invalid repository URL: it holds credentials; give a credential helper instead")
    return url


def _safe(url: str) -> str:
    """``url`` without any user information (for messages)."""
    parsed = urllib.parse.urlsplit(url)
    netloc = parsed.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit((parsed.scheme, netloc, parsed.path, "", ""))


class Git:
    """``git`` in one working directory, with the credential helper on each command line."""

    def __init__(self, directory: Path, *, credential_helper: Optional[str], name: str, email: str) -> None:
        self.directory = directory
        options = ["-c", "credential.useHttpPath=true", "-c", "core.fileMode=true", "-c", "core.symlinks=true"]
        if credential_helper:
            # An empty helper first clears any helper from the user's or system configuration.
            options += ["-c", "credential.helper=", "-c", f"credential.helper={credential_helper}"]
        options += ["-c", f"user.name={name}", "-c", f"user.email={email}", "-c", "commit.gpgSign=false"]
        self.options = options
        self.environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}

    def __call__(self, *args: str, check: bool = True, cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["git", *self.options, *args],
            cwd=cwd or self.directory,
            env=self.environment,
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise SeedError(f"git {args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
        return result


def seed(
    url: str,
    branch: str,
    seed_directory: Path,
    *,
    credential_helper: Optional[str] = None,
    name: str = "SageMaker project",
    email: str = "sagemaker-project@noreply.invalid",
    message: str = "Seed code of the SageMaker project",
    workdir: Optional[Path] = None,
) -> str:
    """Seed ``branch`` of the repository at ``url`` with ``seed_directory``; return what was done
    (``seeded``, ``left alone``, ``up to date``, ``created, not seeded``) after printing why."""
    check_url(url)
    if not seed_directory.is_dir():
        raise SeedError(f"seed folder {seed_directory} does not exist")
    with tempfile.TemporaryDirectory(dir=workdir) as temporary:
        clone = Path(temporary) / "repository"
        git = Git(Path(temporary), credential_helper=credential_helper, name=name, email=email)
        git("clone", "--quiet", "--no-checkout", url, str(clone))
        git.directory = clone
        base = _base(git, branch)
        files = git("ls-tree", "-r", "-z", "--name-only", base).stdout.split("\0") if base else []
        files = [f for f in files if f]
        if base:
            git("checkout", "--quiet", "-B", branch, base)
        else:
            git("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        where = f"{_safe(url)} branch {branch}"
        others = [f for f in files if not is_placeholder(f)]
        if others:
            shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            if base and base != f"origin/{branch}":
                # The branch is missing and the default branch holds code: create the branch
                # (the pipeline follows it) at that commit, and leave the code alone.
                commit = git("rev-parse", base).stdout.strip()
                _push(git, where, commit, branch)
                held = "the seed code" if _holds_seed(clone, seed_directory) else f"code ({shown})"
                print(
                    f"{where} was missing: created from {_branch_name(base)} at commit {commit}, which already "
                    f"holds {held}; seed not applied"
                )
                return CREATED_NOT_SEEDED
            if _holds_seed(clone, seed_directory):
                print(f"{where} already holds the seed code: nothing to do")
                return UP_TO_DATE
            print(f"{where} already holds code ({shown}): left alone, not seeded")
            return LEFT_ALONE
        _copy_seed(seed_directory, clone)
        git("add", "--all")
        if not git("status", "--porcelain").stdout.strip():
            if base and base != f"origin/{branch}":
                _push(git, where, git("rev-parse", base).stdout.strip(), branch)
                print(f"{where} was missing: created from {_branch_name(base)}, which already holds the seed code")
                return SEEDED
            print(f"{where} already holds the seed code: nothing to do")
            return UP_TO_DATE
        git("commit", "--quiet", "--no-verify", "-m", message)
        _push(git, where, "HEAD", branch)
        how = "seeded" if base == f"origin/{branch}" else f"created from {_branch_name(base) if base else 'nothing'} and seeded"
        print(f"{where}: {how}, commit {git('rev-parse', 'HEAD').stdout.strip()}")
        return SEEDED


def _push(git: Git, where: str, commit: str, branch: str) -> None:
    """A plain push of ``commit`` to ``branch`` (never forced: a fast-forward or a new branch)."""
    pushed = git("push", "--porcelain", "origin", f"{commit}:refs/heads/{branch}", check=False)
    if pushed.returncode != 0:
        raise SeedError(
            f"push to {where} was refused (it was not forced): {pushed.stderr.strip() or pushed.stdout.strip()}"
        )


def _branch_name(ref: str) -> str:
    """``main`` for ``refs/remotes/origin/main`` or ``origin/main`` (for messages)."""
    return ref.removeprefix("refs/remotes/").removeprefix("origin/")


def _base(git: Git, branch: str) -> Optional[str]:
    """The commit the seed goes on: the branch, else the remote's default branch, else none."""
    if git("rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}", check=False).returncode == 0:
        return f"origin/{branch}"
    head = git("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False)
    if head.returncode == 0 and head.stdout.strip():
        return head.stdout.strip()
    return None


def _seed_files(seed_directory: Path) -> list[Path]:
    """Every file and symbolic link under ``seed_directory`` (dotfiles too), relative, sorted;
    ``.git`` folders left out."""
    found = []
    for root, directories, files in os.walk(seed_directory):
        directories[:] = sorted(d for d in directories if d != ".git")
        root_path = Path(root)
        for directory in directories:
            if (root_path / directory).is_symlink():
                found.append((root_path / directory).relative_to(seed_directory))
        for name in sorted(files):
            found.append((root_path / name).relative_to(seed_directory))
    return sorted(found)


def _copy_seed(seed_directory: Path, target: Path) -> None:
    for relative in _seed_files(seed_directory):
        source, destination = seed_directory / relative, target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if relative.as_posix() == ".gitignore" and destination.is_file() and not destination.is_symlink():
            kept = destination.read_text().splitlines()
            added = [line for line in source.read_text().splitlines() if line not in kept]
            destination.write_text("\n".join(kept + added) + "\n")
            continue
        if destination.is_symlink() or destination.exists():
            destination.unlink()
        if source.is_symlink():
            os.symlink(os.readlink(source), destination)
        else:
            shutil.copy2(source, destination)  # keeps the mode (the executable bit)


def _holds_seed(clone: Path, seed_directory: Path) -> bool:
    """True when the checked-out branch has every seed file with the seed's content."""
    for relative in _seed_files(seed_directory):
        source, present = seed_directory / relative, clone / relative
        if relative.as_posix() == ".gitignore":
            continue  # merged, not copied
        if source.is_symlink():
            if not present.is_symlink() or os.readlink(present) != os.readlink(source):
                return False
        elif not present.is_file() or present.read_bytes() != source.read_bytes():
            return False
    return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the repository's https URL (no credentials in it)")
    parser.add_argument("--branch", required=True)
    parser.add_argument("--seed", required=True, type=Path, help="the folder of seed code")
    parser.add_argument("--credential-helper", default=None, help="git credential helper (e.g. the AWS CLI's)")
    parser.add_argument("--name", default="SageMaker project", help="the commit's author name")
    parser.add_argument("--email", default="sagemaker-project@noreply.invalid", help="the commit's author email")
    parser.add_argument("--message", default="Seed code of the SageMaker project")
    arguments = parser.parse_args(argv)
    try:
        seed(
            arguments.url,
            arguments.branch,
            arguments.seed,
            credential_helper=arguments.credential_helper,
            name=arguments.name,
            email=arguments.email,
            message=arguments.message,
        )
    except SeedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
