"""Every ```python block of README.md and of the user guide (docs/guide/*.md) runs: each as its
own Python process, in an empty directory, with this checkout's package first on the path.

A block may be a fragment: one that uses ``app`` without creating it gets a prelude creating
``app = App()``, and one with an ``app`` that it does not synthesize gets ``app.synth()``
appended. The processes start together, so the blocks cost about as much as the slowest.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import REPO

README = REPO / "README.md"
GUIDE = REPO / "docs" / "guide"
#: The documents whose examples run: the README, then the guide's pages.
DOCUMENTS = [README, *sorted(GUIDE.glob("*.md"))]
PRELUDE = "from aws_cdk import App\n\napp = App()\n\n"
SYNTH = "\napp.synth()\n"
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence in its document
    code: str
    document: str = "README.md"  # relative to the repository

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"

    @property
    def head(self) -> str:
        lines = self.code.splitlines()
        return "\n".join(lines[:6] + (["..."] if len(lines) > 6 else []))


def python_blocks(markdown: str, document: str = "README.md") -> list[Block]:
    fence = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
    return [Block(markdown.count("\n", 0, m.start()) + 1, m.group(1), document) for m in fence.finditer(markdown)]


def runnable(code: str) -> str:
    """The block, with ``app = App()`` before it if it uses an ``app`` it does not create, and
    ``app.synth()`` after it if it has an ``app`` it does not synthesize."""
    nodes = list(ast.walk(ast.parse(code)))
    names = [n for n in nodes if isinstance(n, ast.Name) and n.id == "app"]
    uses = any(isinstance(n.ctx, ast.Load) for n in names)
    creates = any(isinstance(n.ctx, ast.Store) for n in names)
    synthesizes = any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "synth"
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "app"
        for n in nodes
    )
    if uses and not creates:
        code = PRELUDE + code
    if (uses or creates) and not synthesizes:
        code += SYNTH
    return code


BLOCKS = [block for path in DOCUMENTS for block in python_blocks(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())]


class Examples:
    """The documents' blocks as processes, started on demand, each in its own directory."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: dict[int, tuple[subprocess.Popen, Path]] = {}
        self.env = {
            **os.environ,
            # This checkout's package, ahead of whatever the virtualenv installed.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "JSII_NODE": os.environ.get("JSII_NODE", str(Path(sys.executable).parent / "node")),
            "PYTHONDONTWRITEBYTECODE": "1",  # seed_code/ is hashed into assets
        }

    def start(self, index: int) -> None:
        if index in self.processes:
            return
        cwd = self.workdir / BLOCKS[index].where.replace("/", "_").replace(":", "-line-")
        cwd.mkdir()
        (cwd / "example.py").write_text(runnable(BLOCKS[index].code), encoding="utf-8")
        # App() writes its cloud assembly to a new temporary directory: keep it in this one.
        (cwd / "tmp").mkdir()
        env = {**self.env, "TMPDIR": str(cwd / "tmp")}
        with open(cwd / "stdout", "wb") as stdout, open(cwd / "stderr", "wb") as stderr:
            process = subprocess.Popen([sys.executable, "example.py"], cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        self.processes[index] = (process, cwd)

    def result(self, index: int) -> tuple[int, str]:
        self.start(index)
        process, cwd = self.processes[index]
        return process.wait(timeout=TIMEOUT_SECONDS), (cwd / "stderr").read_text(errors="replace")

    def stop(self) -> None:
        for process, _ in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def examples(request, tmp_path_factory):
    runs = Examples(tmp_path_factory.mktemp("readme"))
    if "PYTEST_XDIST_WORKER" not in os.environ:
        # One process: start every selected block now, in parallel. (Under xdist the workers
        # share the blocks out, and each starts only its own.)
        for item in request.session.items:
            if getattr(item, "originalname", None) == "test_readme_python_block_runs":
                runs.start(item.callspec.params["index"])
    yield runs
    runs.stop()


def test_readme_has_python_blocks():
    assert [block for block in BLOCKS if block.document == "README.md"], f"no ```python block in {README}"
    assert all(block.code.strip() for block in BLOCKS)


def test_the_guide_examples_are_collected_too():
    documents = {block.document for block in BLOCKS}
    # The pages whose examples were the README's before the guide was split out of it.
    assert {"docs/guide/constructs.md", "docs/guide/studio.md", "docs/guide/operations.md", "docs/guide/multi-account.md"} <= documents
    assert python_blocks("x\n```python\nprint(1)\n```\n", "docs/guide/a.md") == [Block(2, "print(1)\n", "docs/guide/a.md")]


def test_fragments_get_an_app_and_a_synth():
    fragment = 'Stack(app, "S")\n'
    assert runnable(fragment) == PRELUDE + fragment + SYNTH
    whole = 'app = App()\nStack(app, "S")\napp.synth()\n'
    assert runnable(whole) == whole
    assert runnable("app = App()\n") == "app = App()\n" + SYNTH
    assert runnable("print(1)\n") == "print(1)\n"  # no app, nothing to synthesize


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[b.where for b in BLOCKS])
def test_readme_python_block_runs(examples, index):
    block = BLOCKS[index]
    returncode, stderr = examples.result(index)
    assert returncode == 0, (
        f"{block.where}: the python block exits with {returncode}:\n{block.head}\n"
        f"--- stderr (last 40 lines) ---\n" + "\n".join(stderr.splitlines()[-40:])
    )
