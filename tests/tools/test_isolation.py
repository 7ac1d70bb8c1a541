"""Out-of-process tool runs: crashes and hangs of the interpreter are recorded failures."""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
import time
from typing import Any

import pytest
from langchain_core.tools import BaseTool, tool

from langchain_ste.tools.execution import execute_tool_call
from langchain_ste.tools.isolation import IsolationError, run_isolated
from langchain_ste.tools.policy import ToolPolicy


@tool
def exits(code: int) -> str:
    """Exit the interpreter without cleanup."""
    os._exit(code)


@tool
def segfault() -> str:
    """Dereference a null pointer."""
    ctypes.string_at(0)
    return "unreachable"


@tool
def sleeps(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "awake"


@tool
def pid() -> int:
    """The process id running the tool."""
    return os.getpid()


@tool
def raises() -> str:
    """Raise an error."""
    raise ValueError("bad thing")


def run(name: str, args: dict[str, Any], policy: ToolPolicy, tools: list[BaseTool]):
    c = {"name": name, "args": args, "id": "c1", "type": "tool_call"}
    return asyncio.run(execute_tool_call(c, {t.name: t for t in tools}, policy))  # type: ignore[arg-type]


ALL = [exits, segfault, sleeps, pid, raises]


@pytest.mark.parametrize(
    ("name", "args", "needle"), [("exits", {"code": 7}, "exit code 7"), ("segfault", {}, "SIGSEGV")]
)
def test_interpreter_crash_is_recorded(name: str, args: dict[str, Any], needle: str) -> None:
    msg, step = run(name, args, ToolPolicy(isolate=True, timeout_s=20), ALL)
    assert step.status == "error" and step.error_kind == "crash"
    assert needle in (step.error or "") and msg.status == "error"
    # and the parent is alive and keeps working
    _, ok = run("pid", {}, ToolPolicy(isolate=frozenset({"pid"})), ALL)
    assert ok.status == "ok" and int(ok.output) != os.getpid()


def test_isolated_hang_is_killed() -> None:
    started = time.perf_counter()
    _, step = run("sleeps", {"seconds": 30}, ToolPolicy(isolate=True, timeout_s=0.5), ALL)
    assert step.error_kind == "timeout" and "killed" in (step.error or "")
    assert time.perf_counter() - started < 10


def test_isolated_exception_and_bad_args() -> None:
    policy = ToolPolicy(isolate=True)
    _, err = run("raises", {}, policy, ALL)
    assert err.error_kind == "exception" and "ValueError: bad thing" in (err.error or "")
    _, bad = run("sleeps", {"seconds": "soon"}, policy, ALL)
    assert bad.error_kind == "invalid_args" and "seconds" in (bad.error or "")


def test_isolate_only_named_tools() -> None:
    _, step = run("pid", {}, ToolPolicy(isolate=frozenset({"other"})), ALL)
    assert int(step.output) == os.getpid()


def test_unpicklable_tool_works_with_fork_and_is_refused_clearly_with_spawn() -> None:
    lock = threading.Lock()  # not picklable

    @tool
    def closure() -> str:
        """A tool holding a lock."""
        with lock:
            return "fine"

    assert run_isolated(closure, {}, timeout_s=20).output == "fine"
    with pytest.raises(IsolationError, match="not picklable"):
        run_isolated(closure, {}, timeout_s=20, start_method="spawn")
    _, step = run("closure", {}, ToolPolicy(isolate=True), [closure])
    assert step.status == "ok"


def test_large_isolated_output_is_cut_in_the_child() -> None:
    @tool
    def big() -> str:
        """A lot of text."""
        return "y" * 1_000_000

    result = run_isolated(big, {}, timeout_s=20, max_chars=5000)
    assert result.status == "ok" and result.output == "y" * 5000
    _, step = run("big", {}, ToolPolicy(isolate=True, max_stored_chars=2000), [big])
    assert step.output.startswith("y" * 2000) and "truncated" in step.output
