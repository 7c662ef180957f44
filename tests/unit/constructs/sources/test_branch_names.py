"""Branch names: ``check_branch`` (synth) and the parameters' ``AllowedPattern`` (CloudFormation)
accept the same names, and only names git itself accepts (``git check-ref-format --branch``)."""

from __future__ import annotations

import re
import subprocess

import pytest

from sagemaker_projects_cdk.constructs.sources.source import BRANCH_ALLOWED_PATTERN, check_branch

ACCEPTED = ["main", "dev", "release/v1.2", "feature/x_y-z", "_private", "0.1", "a.b/c.d", "HEADS", "x/HEAD", "a-" * 127 + "b"]
REFUSED = {
    "HEAD": "not 'HEAD'",
    "a..b": "no '..'",
    "a//b": "no '//'",
    "a/.b": "no path component starting with '.'",
    "a/.hidden/c": "no path component starting with '.'",
    "x.lock": "no path component ending in '.lock'",
    "a.lock/b": "no path component ending in '.lock'",
    "a/": "not ending in '/' or '.'",
    "a.": "not ending in '/' or '.'",
    "x@{y": "(no '@{')",
    "@": "letters, digits and '._/-'",
    ".x": "starting with a letter, digit or '_'",
    "-x": "starting with a letter, digit or '_'",
    "/x": "starting with a letter, digit or '_'",
    "a b": "letters, digits and '._/-'",
    "a~1": "letters, digits and '._/-'",
    "a^": "letters, digits and '._/-'",
    "a:b": "letters, digits and '._/-'",
    "a*": "letters, digits and '._/-'",
    "a[b": "letters, digits and '._/-'",
    "a\\b": "letters, digits and '._/-'",
    "": "1-255",
    "a" * 256: "1-255",
}

#: Refused here although ``git check-ref-format --branch`` passes them.
STRICTER_THAN_GIT = {
    "a" * 256: "git has no length limit; this library caps names at 255 characters",
    "@": "'@' is outside the character set here; git makes a branch '@', which its commands read as HEAD",
}


def _accepted(name: str) -> bool:
    try:
        check_branch(name, "some_branch")
    except ValueError:
        return False
    return True


def _git_accepts(name: str, cwd) -> bool:
    return subprocess.run(["git", "check-ref-format", "--branch", name], cwd=cwd, capture_output=True, check=False).returncode == 0


@pytest.mark.parametrize("name", ACCEPTED + list(REFUSED))
def test_the_check_and_the_parameter_pattern_agree_and_git_accepts_what_they_accept(name, tmp_path):
    ours = _accepted(name)
    assert ours == (name in ACCEPTED)
    # The parameter's AllowedPattern is ^BRANCH_ALLOWED_PATTERN$: the same verdict.
    assert (re.fullmatch(BRANCH_ALLOWED_PATTERN, name) is not None) == ours
    if ours:
        assert _git_accepts(name, tmp_path), f"git refuses {name!r}"
    elif name not in STRICTER_THAN_GIT:
        assert not _git_accepts(name, tmp_path), f"git accepts {name!r}: the check may be too strict"


@pytest.mark.parametrize(("name", "why"), list(REFUSED.items()))
def test_a_refused_name_gets_a_message_naming_the_setting_the_value_and_the_rule(name, why):
    with pytest.raises(ValueError) as error:
        check_branch(name, "model_build_branch")
    assert str(error.value).startswith(f"invalid model_build_branch {name!r}: expected a Git branch name")
    assert why in str(error.value)


def test_existing_callers_get_the_setting_name_branch():
    with pytest.raises(ValueError, match=re.escape("invalid branch 'HEAD'")):
        check_branch("HEAD")
