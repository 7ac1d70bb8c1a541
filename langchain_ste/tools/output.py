"""Tool output as text: rendering any value, truncating it, and printing errors safely.

Shared by in-process execution and isolated child processes, so both render output the same way.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from langchain_core.messages import ToolMessage
from pydantic import BaseModel

TRUNCATION_MARKER = "\n...[truncated {n} characters]"


def output_to_text(output: Any) -> str:
    """Render any tool output as text; never raises.

    Strings stay as they are, JSON-like values, dataclasses and pydantic models become JSON,
    bytes are decoded as UTF-8 (or summarised when binary), anything else is ``str(output)``,
    and an object that cannot even be printed becomes ``<unprintable TypeName>``.

    Example:
        >>> output_to_text({"a": 1}), output_to_text(3), output_to_text(None), output_to_text(b"hi")
        ('{"a": 1}', '3', '', 'hi')
    """
    try:
        return _to_text(output)
    except Exception:
        return f"<unprintable {type(output).__name__}>"


def _to_text(output: Any) -> str:
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, ToolMessage):
        return output_to_text(output.content)
    if isinstance(output, bytes | bytearray | memoryview):
        raw = bytes(output)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(raw)} bytes of binary data>"
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if dataclasses.is_dataclass(output) and not isinstance(output, type):
        output = dataclasses.asdict(output)
    try:
        return json.dumps(output, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return str(output)
    except Exception:
        return repr(output)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was cut.

    Example:
        >>> truncate("abcdef", 3)
        'abc\\n...[truncated 3 characters]'
    """
    if len(text) <= limit:
        return text
    return text[:limit] + TRUNCATION_MARKER.format(n=len(text) - limit)



def validation_message(exc: Any) -> str:
    """A pydantic ``ValidationError`` as one line: ``field: message; ...``."""
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return "; ".join(parts) or safe_str(exc)


def safe_str(obj: object) -> str:
    """``str(obj)``, or ``<unprintable TypeName>`` when even that raises."""
    try:
        return str(obj)
    except Exception:
        return f"<unprintable {type(obj).__name__}>"
