"""Input checks shared by every construct.

Each check names the setting, shows the value received and says what is expected, and
skips values that are unresolved CDK tokens (a CloudFormation parameter, an attribute):
those can only be checked by CloudFormation at deploy time.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from aws_cdk import Token


def is_unresolved(value: Any) -> bool:
    """True when ``value`` is a CDK token whose value is only known at deploy time."""
    return value is not None and Token.is_unresolved(value)


def invalid(setting: str, value: Any, expected: str) -> ValueError:
    """The one shape of error message used across the library."""
    return ValueError(f"invalid {setting} {value!r}: expected {expected}")


def check_pattern(setting: str, value: str, pattern: str, expected: str) -> str:
    """Check a resolved string against a full-match regular expression."""
    if is_unresolved(value):
        return value
    if not isinstance(value, str) or re.fullmatch(pattern, value) is None:
        raise invalid(setting, value, expected)
    return value


def check_length(setting: str, value: str, minimum: int, maximum: int) -> str:
    if is_unresolved(value):
        return value
    if not isinstance(value, str) or not minimum <= len(value) <= maximum:
        raise invalid(setting, value, f"{minimum} to {maximum} characters")
    return value


def check_range(setting: str, value: float, minimum: float, maximum: float) -> float:
    """Check a resolved number lies in [minimum, maximum]."""
    if is_unresolved(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value <= maximum:
        raise invalid(setting, value, f"a number from {minimum} to {maximum}")
    return value


def check_choice(setting: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = list(choices)
    if is_unresolved(value):
        return value
    if value not in choices:
        raise invalid(setting, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


# SageMaker instance families (processing, training and hosting), as of 2026.
INSTANCE_FAMILIES = frozenset(
    """
    t2 t3 m4 m5 m5d m6i m6id m7i m6g m6gd m7g c4 c5 c5d c5n c6i c6id c6in c7i c6g c6gd c6gn c7g
    r5 r5d r6i r6id r7i r6g r6gd r7g r8g x1 z1d g4dn g5 g6 g6e gr6 g7e p2 p3 p3dn p4d p4de p5
    p5e p5en p6-b200 inf1 inf2 trn1 trn1n trn2
    """.split()
)
_SIZE = r"(?:nano|micro|small|medium|large|xlarge|[0-9]+xlarge)"


def check_instance_type(setting: str, value: str) -> str:
    """Check a SageMaker instance type such as ``ml.m5.xlarge``: ``ml.``, a known family, a size."""
    if is_unresolved(value):
        return value
    expected = "a SageMaker instance type 'ml.<family>.<size>' such as 'ml.m5.xlarge' with a known family"
    match = re.fullmatch(r"ml\.([a-z0-9-]+)\." + _SIZE, value) if isinstance(value, str) else None
    if match is None or match.group(1) not in INSTANCE_FAMILIES:
        raise invalid(setting, value, expected)
    return value
