"""Input checks shared by every construct.

Each check names the setting, shows the value received and says what is expected, and
skips values that are unresolved CDK tokens (a CloudFormation parameter, an attribute):
those can only be checked by CloudFormation at deploy time.

A group of settings checked together collects its problems in ``Problems`` (with
``check_whole`` and ``check_seconds``) and reports them in one ``ValueError``.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Optional, Union

from aws_cdk import Duration, Token


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


def check_account_id(setting: str, value: str) -> str:
    """A 12-digit AWS account id (a token is left to CloudFormation)."""
    from .patterns import ACCOUNT_ID

    return check_pattern(setting, value, ACCOUNT_ID, "a 12-digit AWS account id")


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


class Problems:
    """Collects the problems of one group of settings so they are reported together."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def check(self, check: Callable[..., Any], *args: Any) -> None:
        """Run one of the checks above (``check_pattern``...) and keep its message instead of raising."""
        try:
            check(*args)
        except ValueError as error:
            self.messages.append(str(error))

    def add(self, setting: str, value: Any, expected: str) -> None:
        """Add a problem in the shape of ``invalid``."""
        self.messages.append(str(invalid(setting, value, expected)))

    def raise_if_any(self) -> None:
        """Raise one ``ValueError`` listing every problem, one per line."""
        if self.messages:
            raise ValueError("\n".join(dict.fromkeys(self.messages)))


def check_whole(problems: Problems, setting: str, value: Any, minimum: int, maximum: int) -> None:
    """A resolved whole number in [minimum, maximum]."""
    if is_unresolved(value):
        return
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        problems.add(setting, value, f"a whole number from {minimum} to {maximum}")


def check_seconds(problems: Problems, setting: str, value: Optional[Duration], minimum: int, maximum: int) -> None:
    """A duration of whole seconds in [minimum, maximum]; tokens must come from ``Duration.seconds``."""
    if value is None:
        return
    if not isinstance(value, Duration):
        problems.add(setting, value, "an aws_cdk.Duration")
        return
    try:
        seconds = value.to_seconds()
    except Exception:  # jsii raises its own error type for a token in another unit
        problems.add(setting, value.to_string(), "Duration.seconds(...) when the value is a token")
        return
    if is_unresolved(seconds):
        return
    if seconds != int(seconds) or not minimum <= seconds <= maximum:
        problems.add(setting, value.to_human_string(), f"whole seconds from {minimum} to {maximum}")


def whole_seconds(value: Duration) -> Union[int, float]:
    """``value`` in seconds, as an ``int`` when resolved (CloudFormation wants integers)."""
    seconds = value.to_seconds()
    return seconds if is_unresolved(seconds) else int(seconds)


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
