"""Executing one tool call under the side-effect policy, turning every failure into data.

`execute_tool_call` never raises for a bad call: an unknown tool, arguments that fail the tool's
schema, an exception, a timeout or a refused call all come back as a `ToolMessage` with
``status="error"`` (what the model reads) and a `Step` (what the trial records).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from langchain_ste.policy import ToolPolicy
from langchain_ste.prompts import EMULATE_TOOL_SYSTEM
from langchain_ste.trial import ErrorKind, Step

TRUNCATION_MARKER = "\n...[truncated {n} characters]"


def output_to_text(output: Any) -> str:
    """Render any tool output as text (JSON for structured values, ``str`` otherwise).

    Example:
        >>> output_to_text({"a": 1}), output_to_text(3), output_to_text(None)
        ('{"a": 1}', '3', '')
    """
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, ToolMessage):
        return output_to_text(output.content)
    if isinstance(output, bytes):
        return f"<{len(output)} bytes>"
    try:
        return json.dumps(output, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(output)


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was cut.

    Example:
        >>> truncate("abcdef", 3)
        'abc\\n...[truncated 3 characters]'
    """
    if len(text) <= limit:
        return text
    return text[:limit] + TRUNCATION_MARKER.format(n=len(text) - limit)


async def execute_tool_call(
    call: ToolCall,
    tools: Mapping[str, BaseTool],
    policy: ToolPolicy | None = None,
    *,
    emulator: BaseChatModel | None = None,
) -> tuple[ToolMessage, Step]:
    """Run one tool call as the policy allows and return what the model sees and the record.

    Args:
        call: the model's tool call.
        tools: the tools by name.
        policy: the side-effect policy (run everything, 30 s timeout, by default).
        emulator: the chat model that answers for tools whose policy is ``emulate``.

    Example:
        >>> import asyncio
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def add(a: int, b: int) -> int:
        ...     '''Add two integers.'''
        ...     return a + b
        >>> call = {"name": "add", "args": {"a": 1, "b": "x"}, "id": "c1", "type": "tool_call"}
        >>> msg, step = asyncio.run(execute_tool_call(call, {"add": add}))
        >>> msg.status, step.error_kind
        ('error', 'invalid_args')
    """
    policy = policy or ToolPolicy()
    name, args, call_id = call["name"], dict(call.get("args") or {}), call.get("id") or ""
    started = time.perf_counter()

    def failure(kind: ErrorKind, error: str, status: str = "error") -> tuple[ToolMessage, Step]:
        step = Step(
            tool=name, args=args, call_id=call_id, output="", status="error" if status ==
            "error" else "skipped", error_kind=kind, error=error,
            duration_s=time.perf_counter() - started,
        )
        return ToolMessage(f"Error: {error}", tool_call_id=call_id, name=name, status="error"), step

    tool = tools.get(name)
    if tool is None:
        return failure("unknown_tool", f"unknown tool {name!r}; available: {', '.join(tools)}")
    action = policy.action(name)
    if action == "skip":
        return failure("policy", f"tool {name!r} may not be called during exploration", "skipped")
    if action == "emulate":
        if emulator is None:
            return failure("policy", f"tool {name!r} is emulated but no emulator model is set")
        return await _emulate(tool, call, emulator, policy, started)

    try:
        result = await asyncio.wait_for(tool.ainvoke(args), timeout=policy.timeout_s)
    except TimeoutError:
        return failure("timeout", f"{name} timed out after {policy.timeout_s:g} s")
    except ValidationError as exc:
        return failure("invalid_args", f"invalid arguments for {name}: {_short(exc)}")
    except Exception as exc:
        return failure("exception", f"{type(exc).__name__}: {exc}")
    text = output_to_text(result)
    step = Step(
        tool=name, args=args, call_id=call_id, output=truncate(text, policy.max_stored_chars),
        status="ok", duration_s=time.perf_counter() - started,
    )
    shown = truncate(text, policy.max_output_chars)
    return ToolMessage(shown, tool_call_id=call_id, name=name, status="success"), step


async def _emulate(
    tool: BaseTool, call: ToolCall, emulator: BaseChatModel, policy: ToolPolicy, started: float
) -> tuple[ToolMessage, Step]:
    name, args, call_id = call["name"], dict(call.get("args") or {}), call.get("id") or ""
    prompt = [
        SystemMessage(EMULATE_TOOL_SYSTEM.format(name=name, description=tool.description,
                                                 schema=json.dumps(tool.args))),
        HumanMessage(json.dumps(args, ensure_ascii=False)),
    ]
    try:
        reply = await asyncio.wait_for(emulator.ainvoke(prompt), timeout=policy.timeout_s)
        text = reply.text.strip()
    except Exception as exc:
        step = Step(tool=name, args=args, call_id=call_id, status="error", error_kind="exception",
                    error=f"emulator failed: {type(exc).__name__}: {exc}",
                    duration_s=time.perf_counter() - started)
        return ToolMessage(f"Error: {step.error}", tool_call_id=call_id, name=name,
                           status="error"), step
    step = Step(tool=name, args=args, call_id=call_id, output=truncate(text, policy.max_stored_chars),
                status="emulated", duration_s=time.perf_counter() - started)
    shown = truncate(text, policy.max_output_chars)
    return ToolMessage(shown, tool_call_id=call_id, name=name, status="success"), step


def _short(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return "; ".join(parts) or str(exc)
