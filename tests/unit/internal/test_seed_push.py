"""The seeding script against real git: bare repositories served by ``git http-backend`` on
127.0.0.1 behind HTTP Basic authentication, and a credential-helper stub standing in for the
AWS CLI's (which signs with the build role's credentials in CodeBuild)."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from sagemaker_projects_cdk._internal.seed_push import seed_push

SECRET = "s3cr3t-session-token-value"
USER = "seeder"
HTTP_BACKEND = Path(subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()) / "git-http-backend"

pytestmark = pytest.mark.skipif(not HTTP_BACKEND.exists(), reason="git http-backend is not installed")


class _GitHandler(BaseHTTPRequestHandler):
    """A CGI bridge to git http-backend that demands the stub's credentials."""

    root: Path
    requests: list[str]

    def log_message(self, *_args) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        type(self).requests.append(self.path)
        expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self._body() if self.command == "POST" else b""
        environment = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(type(self).root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": USER,  # http-backend allows receive-pack (push) for an authenticated user
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in self.headers.items()},
        }
        environment.pop("HTTP_TRANSFER_ENCODING", None)
        result = subprocess.run([str(HTTP_BACKEND)], input=body, env=environment, capture_output=True, check=False)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        headers = [line.split(":", 1) for line in head.decode().splitlines() if ":" in line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        self.send_response(status)
        for key, value in headers:
            if key.lower() != "status":
                self.send_header(key, value.strip())
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder of bare repositories) of a git smart-HTTP server on 127.0.0.1."""
    root = tmp_path / "served"
    root.mkdir()
    handler = type("Handler", (_GitHandler,), {"root": root, "requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def helper(tmp_path) -> str:
    """A credential helper stub: answers ``get`` with the user and the secret, like the AWS
    CLI's helper answers with a signature."""
    script = tmp_path / "credential-helper"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "if sys.argv[-1] == 'get':\n"
        "    sys.stdin.read()\n"
        f"    print('username={USER}')\n"
        f"    print('password={SECRET}')\n"
    )
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def seed_dir(tmp_path) -> Path:
    """A seed with a dotfile, a nested folder, an executable script and a symbolic link."""
    seed = tmp_path / "seed"
    (seed / "pipelines").mkdir(parents=True)
    (seed / "README.md").write_text("# Seed\n")
    (seed / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    (seed / "pipelines" / "run.py").write_text("print('run')\n")
    script = seed / "bin.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (seed / "link").symlink_to("pipelines/run.py")
    return seed


def _bare(root: Path, name: str, files: dict[str, str] | None = None, *, branch: str = "main") -> str:
    """A bare repository ``name`` under ``root`` (with one commit of ``files`` on ``branch``)."""
    bare = root / f"{name}.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch", branch, str(bare)], check=True)
    if files:
        work = Path(tempfile.mkdtemp())
        subprocess.run(["git", "init", "--quiet", "--initial-branch", branch, str(work)], check=True)
        for path, content in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(content)
        git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
        subprocess.run([*git, "add", "--all"], check=True)
        subprocess.run([*git, "commit", "--quiet", "-m", "initial"], check=True)
        subprocess.run([*git, "push", "--quiet", str(bare), f"HEAD:refs/heads/{branch}"], check=True)
        shutil.rmtree(work)
    return f"{name}.git"


def _tree(root: Path, name: str, branch: str) -> dict[str, str]:
    """path -> mode of ``branch`` in the bare repository."""
    listing = subprocess.run(
        ["git", "-C", str(root / name), "ls-tree", "-r", branch], capture_output=True, text=True, check=True
    ).stdout
    return {line.split("\t", 1)[1]: line.split()[0] for line in listing.splitlines()}


def _show(root: Path, name: str, spec: str) -> str:
    return subprocess.run(["git", "-C", str(root / name), "show", spec], capture_output=True, text=True, check=True).stdout


def _count(root: Path, name: str, branch: str) -> int:
    return int(
        subprocess.run(
            ["git", "-C", str(root / name), "rev-list", "--count", branch], capture_output=True, text=True, check=True
        ).stdout
    )


@pytest.fixture
def kept_clones(monkeypatch, tmp_path) -> list[Path]:
    """Keep the script's working clones (to read their .git/config after a run)."""
    kept: list[Path] = []

    @contextlib.contextmanager
    def temporary(dir=None):  # noqa: A002 - tempfile's name
        path = Path(tempfile.mkdtemp(dir=dir or tmp_path))
        kept.append(path)
        yield str(path)

    monkeypatch.setattr(seed_push.tempfile, "TemporaryDirectory", temporary)
    return kept


def _run(url: str, branch: str, seed: Path, helper: str, capsys) -> tuple[int, str]:
    code = seed_push.main(["--url", url, "--branch", branch, "--seed", str(seed), "--credential-helper", helper])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_an_empty_repository_gets_the_seed_with_modes_dotfiles_and_links(server, helper, seed_dir, capsys, kept_clones):
    base, root = server
    name = _bare(root, "empty")
    code, output = _run(f"{base}/{name}", "main", seed_dir, helper, capsys)

    assert code == 0, output
    assert "seeded" in output
    tree = _tree(root, name, "main")
    assert tree == {
        ".gitignore": "100644",
        "README.md": "100644",
        "bin.sh": "100755",  # the executable bit survives
        "link": "120000",  # a symbolic link stays one
        "pipelines/run.py": "100644",
    }
    assert _show(root, name, "main:link") == "pipelines/run.py"
    # No credential in the output or in the clone's configuration.
    assert SECRET not in output
    for clone in kept_clones:
        for config in clone.rglob("config"):
            assert SECRET not in config.read_text()
            assert "credential" not in config.read_text()
    assert _count(root, name, "main") == 1


def test_a_readme_only_repository_gets_the_seed_on_top_and_a_second_run_changes_nothing(server, helper, seed_dir, capsys):
    base, root = server
    name = _bare(root, "readme", {"README.md": "# my repo\n", "LICENSE": "MIT\n", ".gitignore": "*.log\n"})
    code, output = _run(f"{base}/{name}", "main", seed_dir, helper, capsys)
    assert code == 0, output
    assert _count(root, name, "main") == 2  # the seed is a new commit on top: history kept
    assert _show(root, name, "main:README.md") == "# Seed\n"
    assert _show(root, name, "main:LICENSE") == "MIT\n"
    assert _show(root, name, "main:.gitignore") == "*.log\n__pycache__/\n*.pyc\n"  # lines kept, seed's added

    code, output = _run(f"{base}/{name}", "main", seed_dir, helper, capsys)
    assert code == 0, output
    assert "already holds the seed code: nothing to do" in output
    assert _count(root, name, "main") == 2


def test_placeholder_names_any_case_and_extension():
    assert all(seed_push.is_placeholder(p) for p in ("README", "readme.md", "ReadMe.rst", "LICENSE.txt", "licence", ".gitignore", "COPYING"))
    assert not any(seed_push.is_placeholder(p) for p in ("docs/README.md", "setup.py", "LICENSES/MIT.txt", "main.py"))


def test_a_repository_with_code_is_left_alone(server, helper, seed_dir, capsys):
    base, root = server
    name = _bare(root, "code", {"README.md": "# mine\n", "train.py": "print(1)\n"})
    code, output = _run(f"{base}/{name}", "main", seed_dir, helper, capsys)
    assert code == 0, output
    assert "already holds code (train.py): left alone, not seeded" in output
    assert _count(root, name, "main") == 1
    assert set(_tree(root, name, "main")) == {"README.md", "train.py"}


def test_a_missing_branch_is_created_from_the_default_branch(server, helper, seed_dir, capsys):
    base, root = server
    name = _bare(root, "nobranch", {"README.md": "# r\n"})
    code, output = _run(f"{base}/{name}", "release/v1", seed_dir, helper, capsys)
    assert code == 0, output
    assert "created from" in output
    assert _count(root, name, "release/v1") == 2  # on top of the default branch's commit
    assert _count(root, name, "main") == 1  # the default branch is untouched
    assert "bin.sh" in _tree(root, name, "release/v1")


def _rev(root: Path, name: str, ref: str) -> str:
    return subprocess.run(["git", "-C", str(root / name), "rev-parse", ref], capture_output=True, text=True, check=True).stdout.strip()


def test_a_missing_branch_is_created_at_a_default_branch_holding_code_without_the_seed(server, helper, seed_dir, capsys):
    # The pipeline follows the branch: it must exist after seeding, even when the seed is not applied.
    base, root = server
    name = _bare(root, "codenobranch", {"README.md": "# mine\n", "train.py": "print(1)\n"})
    main_before = _rev(root, name, "main")
    code, output = _run(f"{base}/{name}", "dev", seed_dir, helper, capsys)
    assert code == 0, output
    assert (
        f"branch dev was missing: created from main at commit {main_before}, which already holds code (train.py); "
        "seed not applied"
    ) in output
    assert _rev(root, name, "dev") == main_before  # the same commit: no seed commit
    assert _rev(root, name, "main") == main_before  # no existing branch changed
    assert set(_tree(root, name, "dev")) == {"README.md", "train.py"}

    code, output = _run(f"{base}/{name}", "dev", seed_dir, helper, capsys)  # a second run: left alone
    assert code == 0, output
    assert "branch dev already holds code (train.py): left alone, not seeded" in output
    assert _rev(root, name, "dev") == main_before


def test_a_missing_branch_is_created_at_a_default_branch_that_holds_the_seed(server, helper, seed_dir, capsys):
    base, root = server
    name = _bare(root, "seedednobranch")
    code, output = _run(f"{base}/{name}", "main", seed_dir, helper, capsys)
    assert code == 0, output
    seeded = _rev(root, name, "main")
    code, output = _run(f"{base}/{name}", "release", seed_dir, helper, capsys)
    assert code == 0, output
    assert "branch release was missing: created from main" in output and "already holds the seed code" in output
    assert _rev(root, name, "release") == seeded


def test_a_missing_branch_of_an_empty_repository_becomes_its_first_branch(server, helper, seed_dir, capsys):
    base, root = server
    name = _bare(root, "emptydev")
    code, output = _run(f"{base}/{name}", "dev", seed_dir, helper, capsys)
    assert code == 0, output
    assert _count(root, name, "dev") == 1


def test_a_refused_push_fails_and_is_never_forced(server, helper, seed_dir, capsys, monkeypatch):
    base, root = server
    name = _bare(root, "race", {"README.md": "# r\n"})
    hook = root / name / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    calls: list[list[str]] = []
    real_run = subprocess.run

    def recording(args, *a, **k):
        calls.append(list(args))
        return real_run(args, *a, **k)

    monkeypatch.setattr(seed_push.subprocess, "run", recording)
    code, output = _run(f"{base}/{name}", "main", seed_dir, helper, capsys)
    assert code == 1
    assert "was refused (it was not forced)" in output
    pushes = [c for c in calls if "push" in c]
    assert pushes and not any("--force" in c or "-f" in c or any(a.startswith("+") for a in c) for c in pushes)
    assert SECRET not in output


def test_a_url_with_credentials_is_refused(seed_dir, capsys):
    code = seed_push.main(["--url", f"https://user:{SECRET}@example.com/o/r.git", "--branch", "main", "--seed", str(seed_dir)])
    output = capsys.readouterr()
    assert code == 1
    assert "holds credentials" in output.err
    assert SECRET not in output.out + output.err


def test_without_the_credential_helper_the_server_refuses(server, seed_dir, capsys, monkeypatch):
    base, root = server
    name = _bare(root, "auth")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(root))  # no user credential helper
    code = seed_push.main(["--url", f"{base}/{name}", "--branch", "main", "--seed", str(seed_dir)])
    output = capsys.readouterr()
    assert code == 1
    assert "git clone failed" in output.err
