"""Executing one tool call under the side-effect policy, turning every failure into data.

`execute_tool_call` never raises for a bad call: an unknown tool, arguments that fail the tool's
schema, an exception (``sys.exit`` included), a timeout, a refused call or, for tools the policy
isolates, a crash of the interpreter all come back as a `ToolMessage` with ``status="error"``
(what the model reads) and a `Step` (what the trial records).

Timeouts: the timeout covers the call and the rendering of its output as text (a result whose
``__str__`` is slow times out too, and never blocks the event loop). Async tools are cancelled.
Sync tools run in a daemon thread of their own; at the timeout the call returns a ``timeout``
failure, but Python cannot stop a thread, so a tool that never returns keeps its thread (it does
not block exit or later calls). To really stop such a tool, isolate it
(``ToolPolicy(isolate={"name"})``): its process group is killed at the timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from langchain_ste.tools.isolation import IsolationError, _is_sync_only, arun_isolated
from langchain_ste.tools.output import output_to_text, safe_str, truncate, validation_message
from langchain_ste.tools.policy import ToolPolicy
from langchain_ste.trajectory import ErrorKind, Step, StepStatus, with_step

EMULATE_TOOL_SYSTEM = """You are pretending to be the tool `{name}`.
Tool description: {description}
Tool arguments (JSON schema): {schema}
You receive the call's arguments as JSON. Reply with only the tool's plausible output, nothing else.
If the arguments are invalid, reply with a realistic error message."""
"""The emulator's prompt (fields: name, description, schema); `langchain_ste.explore.prompts`
re-exports it so that the explorer's prompt set overrides it like any other."""


async def execute_tool_call(
    call: ToolCall,
    tools: Mapping[str, BaseTool],
    policy: ToolPolicy | None = None,
    *,
    emulator: BaseChatModel | None = None,
    emulator_prompt: str = EMULATE_TOOL_SYSTEM,
) -> tuple[ToolMessage, Step]:
    """Run one tool call as the policy allows and return what the model sees and the record.

    Args:
        call: the model's tool call.
        tools: the tools by name.
        policy: the side-effect policy (run everything, 30 s timeout, by default).
        emulator: the chat model that answers for tools whose policy is ``emulate``.
        emulator_prompt: its system prompt (fields: name, description, schema).

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
    name, call_id = str(call.get("name") or ""), call.get("id") or ""
    raw_args = call.get("args") or {}
    args = dict(raw_args) if isinstance(raw_args, Mapping) else {"__raw__": raw_args}
    started = time.perf_counter()

    def failure(kind: ErrorKind, error: str, status: str = "error") -> tuple[ToolMessage, Step]:
        step = Step(
            tool=name,
            args=args,
            call_id=call_id,
            output="",
            status="error" if status == "error" else "skipped",
            error_kind=kind,
            error=error,
            duration_s=time.perf_counter() - started,
        )
        message = ToolMessage(f"Error: {error}", tool_call_id=call_id, name=name, status="error")
        return with_step(message, step), step

    tool = tools.get(name)
    if tool is None:
        return failure("unknown_tool", f"unknown tool {name!r}; available: {', '.join(tools)}")
    if not isinstance(raw_args, Mapping):
        return failure(
            "invalid_args",
            f"arguments for {name} must be a JSON object, got {type(raw_args).__name__}",
        )
    action = policy.action(name)
    if action == "skip":
        return failure("policy", f"tool {name!r} may not be called during exploration", "skipped")
    if action == "emulate":
        if emulator is None:
            return failure("policy", f"tool {name!r} is emulated but no emulator model is set")
        return await _emulate(tool, call, emulator, emulator_prompt, policy, started, failure)

    if policy.isolated(name):
        return await _run_isolated(tool, call, policy, started, failure)
    try:
        text = await _invoke(tool, args, policy.timeout_s)
    except TimeoutError:
        return failure("timeout", f"{name} timed out after {policy.timeout_s:g} s")
    except ValidationError as exc:
        return failure("invalid_args", f"invalid arguments for {name}: {validation_message(exc)}")
    except (Exception, SystemExit) as exc:
        return failure("exception", f"{type(exc).__name__}: {safe_str(exc)}")
    return _succeeded(name, args, call_id, text, policy, started)


def _succeeded(
    name: str,
    args: dict[str, Any],
    call_id: str,
    text: str,
    policy: ToolPolicy,
    started: float,
    status: StepStatus = "ok",
) -> tuple[ToolMessage, Step]:
    """A successful (or emulated) call: the full output kept, a truncated one shown."""
    step = Step(
        tool=name,
        args=args,
        call_id=call_id,
        output=truncate(text, policy.max_stored_chars),
        status=status,
        duration_s=time.perf_counter() - started,
    )
    shown = truncate(text, policy.max_output_chars)
    message = ToolMessage(shown, tool_call_id=call_id, name=name, status="success")
    return with_step(message, step), step


async def _invoke(tool: BaseTool, args: dict[str, Any], timeout_s: float) -> str:
    """Invoke the tool and render its output as text, both within ``timeout_s``.

    Sync tools run, and any output that is not already text is rendered, in a daemon thread of
    its own, so neither a slow tool nor a slow ``__str__`` of its result blocks the event loop
    or outlasts the timeout. ``BaseTool.ainvoke`` would run a sync tool in the event loop's
    default executor, whose threads are joined when the loop closes (``asyncio.run``) and at
    interpreter exit: a hung tool would then block the whole program after its timeout. A
    daemon thread blocks nothing.
    """
    deadline = time.monotonic() + timeout_s
    if _is_sync_only(tool):
        return await _in_daemon_thread(
            lambda: output_to_text(tool.invoke(args)), timeout_s, f"ste-tool-{tool.name}"
        )
    result = await asyncio.wait_for(tool.ainvoke(args), timeout=timeout_s)
    if result is None or isinstance(result, str):
        return output_to_text(result)
    left = max(0.0, deadline - time.monotonic())
    return await _in_daemon_thread(lambda: output_to_text(result), left, f"ste-out-{tool.name}")


async def _in_daemon_thread(fn: Callable[[], str], timeout_s: float, name: str) -> str:
    """``fn()`` in a daemon thread (with this context's variables), awaited at most
    ``timeout_s`` seconds (`TimeoutError` after that; the thread is left to finish)."""
    future: concurrent.futures.Future[str] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            result = context.run(fn)
        except BaseException as exc:  # handed to the caller, SystemExit included
            outcome: tuple[str, BaseException | None] = ("", exc)
        else:
            outcome = (result, None)
        if future.set_running_or_notify_cancel():  # False: the caller timed out and left
            if outcome[1] is None:
                future.set_result(outcome[0])
            else:
                future.set_exception(outcome[1])

    threading.Thread(target=target, name=name, daemon=True).start()
    return await asyncio.wait_for(asyncio.wrap_future(future), timeout=timeout_s)


async def _run_isolated(
    tool: BaseTool,
    call: ToolCall,
    policy: ToolPolicy,
    started: float,
    failure: Callable[[ErrorKind, str], tuple[ToolMessage, Step]],
) -> tuple[ToolMessage, Step]:
    name, args, call_id = tool.name, dict(call.get("args") or {}), call.get("id") or ""
    try:
        result = await arun_isolated(
            tool, args, timeout_s=policy.timeout_s, max_chars=policy.max_stored_chars + 1
        )
    except IsolationError as exc:
        return failure("exception", str(exc))
    if result.status != "ok":
        kind: ErrorKind = result.status
        error = (
            f"invalid arguments for {name}: {result.error}"
            if kind == "invalid_args"
            else result.error
        )
        return failure(kind, error)
    return _succeeded(name, args, call_id, result.output, policy, started)


async def _emulate(
    tool: BaseTool,
    call: ToolCall,
    emulator: BaseChatModel,
    emulator_prompt: str,
    policy: ToolPolicy,
    started: float,
    failure: Callable[[ErrorKind, str], tuple[ToolMessage, Step]],
) -> tuple[ToolMessage, Step]:
    name, args, call_id = call["name"], dict(call.get("args") or {}), call.get("id") or ""
    prompt = [
        SystemMessage(
            emulator_prompt.format(
                name=name, description=tool.description, schema=json.dumps(tool.args)
            )
        ),
        HumanMessage(json.dumps(args, ensure_ascii=False)),
    ]
    try:
        reply = await asyncio.wait_for(emulator.ainvoke(prompt), timeout=policy.timeout_s)
        text = reply.text.strip()
    except Exception as exc:
        return failure("exception", f"emulator failed: {type(exc).__name__}: {exc}")
    return _succeeded(name, args, call_id, text, policy, started, status="emulated")
