"""What EventBridge does with an event, as far as the notification tests need (imported as
``eventbridge_render``): match an event pattern, and render an input transformer.

Matching: exact values, ``prefix`` and ``equals-ignore-case`` filters, nested objects (the
pattern syntax the rules use). Rendering: each ``InputPathsMap`` JSON path (``$.a.b-c``,
``$.a[0]``) is read from the event; strings are inserted as they are, other values as JSON;
the ``InputTemplate``'s ``<name>`` placeholders are replaced. A path missing from the event
or a placeholder without a path fails the test: every message must be complete.
"""

from __future__ import annotations

import json
import re
from typing import Any

_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


def json_path(event: Any, path: str) -> Any:
    if not path.startswith("$"):
        raise ValueError(f"not a JSON path: {path}")
    rest = path[1:]
    steps = list(_STEP.finditer(rest))
    if "".join(m.group(0) for m in steps) != rest:
        raise ValueError(f"JSON path {path} uses syntax EventBridge does not support")
    value = event
    for step in steps:
        key, index = step.group(1), step.group(2)
        if key is not None:
            if not isinstance(value, dict) or key not in value:
                raise KeyError(f"{path}: no {key!r} in the event")
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                raise KeyError(f"{path}: no item {index} in the event")
            value = value[int(index)]
    return value


def render(transformer: dict, event: dict) -> str:
    """The text a target receives for ``event`` (``transformer``: the target's ``InputTransformer``)."""
    values = {}
    for name, path in transformer["InputPathsMap"].items():
        value = json_path(event, path)
        values[name] = value if isinstance(value, str) else json.dumps(value)

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"placeholder <{name}> has no path in InputPathsMap")
        return values[name]

    return re.sub(r"<([A-Za-z0-9_.-]+)>", substitute, transformer["InputTemplate"])


def matches(pattern: Any, event: Any) -> bool:
    """True when ``event`` matches the EventBridge ``pattern``."""
    if isinstance(pattern, dict):
        if not isinstance(event, dict):
            return False
        return all(key in event and matches(value, event[key]) for key, value in pattern.items())
    if isinstance(pattern, list):
        candidates = event if isinstance(event, list) else [event]
        return any(_matches_value(rule, value) for rule in pattern for value in candidates)
    raise ValueError(f"not an event pattern: {pattern!r}")


def _matches_value(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        ((operator, operand),) = rule.items()
        if operator == "prefix":
            return isinstance(value, str) and value.startswith(operand)
        if operator == "equals-ignore-case":
            return isinstance(value, str) and value.lower() == operand.lower()
        raise ValueError(f"filter {operator} not supported by this test helper")
    return rule == value
