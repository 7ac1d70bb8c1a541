"""Field checks for records read from disk (trials and their steps): one clear error per field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class TrialSchemaError(ValueError):
    """A trial record that this version of langchain-ste cannot read."""


def is_int(value: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_message(value: Any) -> bool:
    """A `messages_to_dict` entry: ``{"type": "human", "data": {...}}``."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("type"), str)
        and isinstance(value.get("data"), dict)
    )


Check = tuple[Callable[[Any], bool], str]
"""A predicate and what it expects, in words."""

STRING: Check = (lambda v: isinstance(v, str), "a string")
OPTIONAL_STRING: Check = (lambda v: v is None or isinstance(v, str), "a string or null")
INTEGER: Check = (is_int, "an integer")
NUMBER: Check = (is_number, "a number")
BOOLEAN: Check = (lambda v: isinstance(v, bool), "true or false")
OBJECT: Check = (lambda v: isinstance(v, dict), "an object")
STRINGS: Check = (
    lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "a list of strings",
)
OBJECTS: Check = (
    lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "a list of objects",
)
MESSAGES: Check = (
    lambda v: isinstance(v, list) and all(is_message(x) for x in v),
    'a list of message objects ({"type": ..., "data": {...}})',
)
STATUS: Check = (
    lambda v: v in ("ok", "error", "skipped", "emulated"),
    "one of ok, error, skipped, emulated",
)


def validate(data: Any, fields: dict[str, Check], required: Sequence[str], where: str) -> None:
    """Raise `TrialSchemaError` naming the first missing or mistyped field of ``data``.

    Example:
        >>> try:
        ...     validate({"a": 1}, {"a": STRING}, ("a",), "step")
        ... except TrialSchemaError as exc:
        ...     print(exc)
        step.a must be a string, not int 1
    """
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise TrialSchemaError(f"{where or 'record'} must be an object, not {describe(data)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise TrialSchemaError(f"{where or 'record'} is missing {', '.join(missing)}")
    for name, (check, expected) in fields.items():
        if name in data and not check(data[name]):
            raise TrialSchemaError(f"{prefix}{name} must be {expected}, not {describe(data[name])}")


def describe(value: Any) -> str:
    """A value's type and a short repr, for error messages."""
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 40 else shown[:37] + '...'}"
