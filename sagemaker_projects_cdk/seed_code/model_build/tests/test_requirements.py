"""requirements.lock still resolves requirements.txt: a pin edited in one and not the other fails here."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

from packaging.requirements import Requirement

REGENERATE = (
    "regenerate it: pip install uv==0.13.9, then "
    "uv pip compile --universal --python-version 3.11 requirements.txt -o requirements.lock"
)


def _requirement_lines(path: Path) -> List[str]:
    return [
        line.split("#")[0].strip()
        for line in path.read_text().splitlines()
        if line.split("#")[0].strip()
    ]


def test_the_lock_pins_every_requirement_at_a_version_it_allows(repo_root: Path) -> None:
    pinned: Dict[str, List[str]] = {}
    for line in _requirement_lines(repo_root / "requirements.lock"):
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", (
            f"requirements.lock: {line!r} is not one '==' pin; {REGENERATE}"
        )
        pinned.setdefault(requirement.name.lower(), []).append(specifiers[0].version)
    for line in _requirement_lines(repo_root / "requirements.txt"):
        requirement = Requirement(line)
        versions = pinned.get(requirement.name.lower())
        assert versions, f"{requirement.name} is in requirements.txt, not in requirements.lock; {REGENERATE}"
        for version in versions:
            assert requirement.specifier.contains(version), (
                f"requirements.lock pins {requirement.name}=={version}, which requirements.txt's "
                f"{line!r} does not allow; {REGENERATE}"
            )
