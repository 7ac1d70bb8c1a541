"""Timeouts that hold: slow output rendering counts, the event loop stays free, and an isolated
tool's whole process group is killed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import BaseTool, tool

from langchain_ste.tools.execution import execute_tool_call
from langchain_ste.tools.isolation import run_isolated
from langchain_ste.tools.policy import ToolPolicy

SLOW_STR_S = 3.0


class SlowText:
    """A tool result whose rendering as text takes seconds."""

    def __str__(self) -> str:
        time.sleep(SLOW_STR_S)
        return "finally"

    __repr__ = __str__


@tool
def slow_result(x: int) -> Any:
    """Return an object that is slow to print."""
    return SlowText()


@tool
async def slow_result_async(x: int) -> Any:
    """Return an object that is slow to print (async tool)."""
    return SlowText()


def call(name: str) -> dict[str, Any]:
    return {"name": name, "args": {"x": 1}, "id": "c1", "type": "tool_call"}


@pytest.mark.parametrize("t", [slow_result, slow_result_async])
def test_slow_output_rendering_counts_against_the_timeout(t: BaseTool) -> None:
    policy = ToolPolicy(timeout_s=0.5)
    started = time.perf_counter()
    msg, step = asyncio.run(execute_tool_call(call(t.name), {t.name: t}, policy))  # type: ignore[arg-type]
    took = time.perf_counter() - started
    assert step.error_kind == "timeout" and msg.status == "error"
    assert took < policy.timeout_s + 0.5


@pytest.mark.parametrize("t", [slow_result, slow_result_async])
def test_slow_output_never_blocks_the_event_loop(t: BaseTool) -> None:
    async def main() -> tuple[float, float]:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.02)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        other = asyncio.create_task(ticker())
        started = time.perf_counter()
        await execute_tool_call(call(t.name), {t.name: t}, ToolPolicy(timeout_s=1.0))  # type: ignore[arg-type]
        took = time.perf_counter() - started
        done.set()
        await other
        return max(gaps), took

    worst_gap, took = asyncio.run(main())
    assert worst_gap < 0.3  # other work on the loop kept running
    assert took < 1.5


def spawns_grandchild(marker: Path, delay: float) -> BaseTool:
    @tool
    def deploy(x: int) -> str:
        """Start a helper that does the side effect later, then hang."""
        subprocess.Popen(  # the grandchild: no new session of its own
            [
                sys.executable,
                "-c",
                f"import time, pathlib; time.sleep({delay}); "
                f"pathlib.Path({str(marker)!r}).write_text('side effect')",
            ]
        )
        time.sleep(3600)
        return "never"

    return deploy


def test_isolated_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "side_effect"
    deploy = spawns_grandchild(marker, delay=1.0)
    started = time.perf_counter()
    result = run_isolated(deploy, {"x": 1}, timeout_s=0.5)
    took = time.perf_counter() - started
    assert result.status == "timeout" and "process group" in result.error
    assert took < 0.5 + 2.0  # the tool would hang for an hour (slack: spawning on busy cores)
    time.sleep(1.5)  # past the grandchild's delay
    assert not marker.exists()


def test_isolated_crash_takes_what_it_started_along(tmp_path: Path) -> None:
    marker = tmp_path / "side_effect"

    @tool
    def crash_after_spawn(x: int) -> str:
        """Start a helper, then kill the interpreter."""
        import os

        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import time, pathlib; time.sleep(1.0); "
                f"pathlib.Path({str(marker)!r}).write_text('side effect')",
            ]
        )
        time.sleep(0.2)
        os._exit(3)

    result = run_isolated(crash_after_spawn, {"x": 1}, timeout_s=5)
    assert result.status == "crash"
    time.sleep(1.5)
    assert not marker.exists()


def test_execute_tool_call_isolated_timeout_ends_in_time(tmp_path: Path) -> None:
    marker = tmp_path / "side_effect"
    deploy = spawns_grandchild(marker, delay=0.8)
    policy = ToolPolicy(timeout_s=0.4, isolate=True)
    started = time.perf_counter()
    _, step = asyncio.run(execute_tool_call(call("deploy"), {"deploy": deploy}, policy))  # type: ignore[arg-type]
    assert step.error_kind == "timeout"
    assert time.perf_counter() - started < policy.timeout_s + 2.0  # not the tool's hour
    time.sleep(1.2)
    assert not marker.exists()
