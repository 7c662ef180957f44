"""Every relative link of the README, the changelog, the user guide, the benchmark results and
the seed code's READMEs resolves: the file (or folder) it names exists in the repository, and its
``#anchor``, if any, is a heading of that file (as GitHub names headings: lower case, punctuation
dropped, spaces as hyphens, ``-1``... for repeats). Inline links and reference-style link
definitions (``[label]: target``) are both checked. A seed README is the first commit of a
repository of its own: its links must resolve within its folder.

Links to the web (``https:``, ``mailto:``) are not fetched: the tests run without the internet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support import REPO

SEED_READMES = sorted((REPO / "sagemaker_projects_cdk" / "seed_code").rglob("README.md"))
DOCUMENTS = [
    REPO / "README.md",
    REPO / "CHANGELOG.md",
    *sorted((REPO / "docs").rglob("*.md")),
    *sorted((REPO / "benchmarks").glob("*.md")),
    *SEED_READMES,
]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), the target without spaces (an optional "title" after it).
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# [label]: target "title" (a link reference definition; [^1]: is a footnote, not a link).
_DEFINITION = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:[ \t]*<?([^\s>]+)>?", re.M)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def prose(markdown: str) -> str:
    """``markdown`` without its fenced code blocks and inline code, where links are not links."""
    return _CODE.sub("", _FENCE.sub("", markdown))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of a document's headings, repeats numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    names = set()
    for match in _HEADING.finditer(_FENCE.sub("", markdown)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.add(base if count == 0 else f"{base}-{count}")
    return names


def links(markdown: str) -> list[str]:
    """The targets of a document's inline links, then of its reference-style link definitions."""
    text = prose(markdown)
    return [m.group(1) for m in _LINK.finditer(text)] + [m.group(1) for m in _DEFINITION.finditer(text)]


def broken(document: Path, root: Path = REPO) -> list[str]:
    """The relative links of ``document`` that do not resolve within ``root``, each with why."""
    problems = []
    text = document.read_text(encoding="utf-8")
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:...
            continue
        path_part, _, anchor = target.partition("#")
        path = (document.parent / path_part).resolve() if path_part else document
        if not path.exists():
            problems.append(f"{target}: no such file {path.relative_to(root) if path.is_relative_to(root) else path}")
            continue
        if not path.is_relative_to(root):
            problems.append(f"{target}: outside the repository")
            continue
        if anchor and path.suffix == ".md" and anchor not in anchors(path.read_text(encoding="utf-8")):
            problems.append(f"{target}: {path.name} has no heading #{anchor}")
    return problems


def test_github_heading_anchors():
    assert slug("Staging and production in their own accounts") == "staging-and-production-in-their-own-accounts"
    assert slug("`model-build`") == "model-build"
    assert slug("Ways to serve: real-time, asynchronous, batch") == "ways-to-serve-real-time-asynchronous-batch"
    assert slug("Jenkins (build-deploy-jenkins)") == "jenkins-build-deploy-jenkins"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n### b c\n") == {"a", "a-1", "b-c"}


def test_links_are_found_outside_code_only(tmp_path):
    text = "see [a](a.md#x), ![pic](d/p.svg) and <https://aws.amazon.com>\n`[b](b.md)`\n```\n[c](c.md)\n```\n"
    assert links(text) == ["a.md#x", "d/p.svg"]
    (tmp_path / "a.md").write_text("# Y\n")
    document = tmp_path / "doc.md"
    document.write_text(text)
    assert broken(document, tmp_path) == ["a.md#x: a.md has no heading #x", "d/p.svg: no such file d/p.svg"]
    assert broken(document, tmp_path / "d") == ["a.md#x: outside the repository", "d/p.svg: no such file p.svg"]


def test_reference_style_link_definitions_are_checked(tmp_path):
    text = (
        "See [the guide][guide] and [y][].\n\n[guide]: a.md#y\n  [y]: <gone.md> \"Title\"\n"
        "[web]: https://aws.amazon.com\n[^1]: a footnote, not a link\n```\n[c]: c.md\n```\n"
    )
    assert links(text) == ["a.md#y", "gone.md", "https://aws.amazon.com"]
    (tmp_path / "a.md").write_text("# Y\n")
    document = tmp_path / "doc.md"
    document.write_text(text)
    assert broken(document, tmp_path) == ["gone.md: no such file gone.md"]


def test_seed_readmes_are_checked_within_their_own_repository():
    assert {p.parent.name for p in SEED_READMES} >= {"model_build", "model_deploy", "model_monitor", "training"}
    assert set(SEED_READMES) <= set(DOCUMENTS)
    assert root_of(SEED_READMES[0]) == SEED_READMES[0].parent and root_of(REPO / "README.md") == REPO


def test_the_guide_has_an_index_linking_every_page():
    index = REPO / "docs" / "guide" / "README.md"
    linked = {target.partition("#")[0] for target in links(index.read_text(encoding="utf-8"))}
    pages = {path.name for path in index.parent.glob("*.md")} - {"README.md"}
    assert pages <= linked, f"pages the guide's index does not link: {sorted(pages - linked)}"
    readme = {target.partition("#")[0] for target in links((REPO / "README.md").read_text(encoding="utf-8"))}
    assert "docs/guide/README.md" in readme


def root_of(document: Path) -> Path:
    """Where ``document``'s links must stay: its own folder for a seed README (the repository it
    starts), this repository otherwise."""
    return document.parent if document in SEED_READMES else REPO


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.relative_to(REPO).as_posix() for d in DOCUMENTS])
def test_relative_links_resolve(document):
    assert document.exists(), document
    assert not broken(document, root_of(document)), f"{document.relative_to(REPO)}: links that do not resolve"
