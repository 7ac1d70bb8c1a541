"""Running one tool call in a child process, so that a tool that crashes the interpreter
(``os._exit``, a segfault in native code) or hangs for good is a recorded failure, not the end
of the exploration.

On Linux the child is forked: it inherits the tool as it is in memory, so tools defined in a
test or a notebook (closures, lambdas, unpicklable clients) work. Elsewhere (or with
``start_method="spawn"``/``"forkserver"``) the tool and its arguments must be picklable; a tool
that is not gives an `IsolationError` that says so. The child renders the output to text itself,
so unpicklable return values are fine too. The child leads a process group (a session) of its
own: at the timeout, or when it crashes, the whole group is killed, so a process the tool started
(a shell command, a helper) cannot go on to do its side effect afterwards; one that starts its
own session escapes this.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

from langchain_core.tools import BaseTool

from langchain_ste.tools.output import output_to_text, safe_str, validation_message

IsolatedStatus = Literal["ok", "invalid_args", "exception", "timeout", "crash"]


class IsolationError(RuntimeError):
    """The tool cannot be run in a child process (e.g. not picklable for ``spawn``)."""


@dataclass(frozen=True)
class IsolatedResult:
    """What an isolated tool call produced.

    Attributes:
        status: ``ok``; ``invalid_args`` or ``exception`` (the tool raised); ``timeout`` (the
            child was killed); ``crash`` (the child died without answering).
        output: the tool output as text (``ok`` only), cut to the requested length.
        error: what went wrong, for the model and the trial record.
        exitcode: the child's exit code (negative: killed by that signal), if it ended.
    """

    status: IsolatedStatus
    output: str = ""
    error: str = ""
    exitcode: int | None = None


def default_start_method() -> str:
    """``fork`` on Linux (unpicklable tools work), ``spawn`` elsewhere (fork is unsafe there).

    Example:
        >>> default_start_method() in ("fork", "spawn")
        True
    """
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _child(conn: Connection, tool: BaseTool, args: dict[str, Any], max_chars: int) -> None:
    from pydantic import ValidationError

    if hasattr(os, "setsid"):
        # A session (and process group) of its own: at the timeout the whole group is killed,
        # so a process the tool started cannot carry on with its side effect afterwards.
        os.setsid()
    try:
        if _is_sync_only(tool):
            result = tool.invoke(args)
        else:
            result = asyncio.run(tool.ainvoke(args))
        conn.send(("ok", output_to_text(result)[:max_chars]))
    except ValidationError as exc:
        conn.send(("invalid_args", validation_message(exc)))
    except BaseException as exc:  # SystemExit too: the tool is done either way
        conn.send(("exception", f"{type(exc).__name__}: {safe_str(exc)}"))
    finally:
        conn.close()


def run_isolated(
    tool: BaseTool,
    args: dict[str, Any],
    *,
    timeout_s: float,
    max_chars: int = 100_000,
    start_method: str | None = None,
) -> IsolatedResult:
    """Run ``tool`` on ``args`` in a child process and wait at most ``timeout_s`` seconds.

    Blocks the calling thread (use `arun_isolated` from async code). Never raises for what the
    tool does; only for a tool that cannot be sent to a child process.

    Args:
        tool: the tool.
        args: its arguments.
        timeout_s: the child and its process group are killed (SIGKILL) after this long.
        max_chars: the output is cut to this many characters in the child.
        start_method: ``fork`` (default on Linux), ``spawn`` or ``forkserver``.

    Raises:
        IsolationError: the start method needs a picklable tool and this one is not.

    Example:
        >>> import os
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def die(code: int) -> str:
        ...     '''Exit the interpreter at once.'''
        ...     os._exit(code)
        >>> run_isolated(die, {"code": 3}, timeout_s=10).status
        'crash'
    """
    method = start_method or default_start_method()
    ctx: Any = multiprocessing.get_context(method)
    if method != "fork":
        try:
            pickle.dumps((tool, args))
        except Exception as exc:
            raise IsolationError(
                f"tool {tool.name!r} cannot run isolated with the {method!r} start method: it is "
                f"not picklable ({type(exc).__name__}: {exc}); define it at module level, use "
                "the 'fork' start method (Linux), or leave it out of policy.isolate"
            ) from exc
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_child,
        args=(sender, tool, args, max_chars),
        daemon=True,
        name=f"ste-tool-{tool.name}",
    )
    process.start()
    sender.close()
    deadline = time.monotonic() + timeout_s
    try:
        message: tuple[str, str] | None = None
        try:
            if receiver.poll(max(0.0, deadline - time.monotonic())):
                message = receiver.recv()
        except (EOFError, OSError):
            message = None  # the child died before it answered
        if message is None:
            if process.is_alive() and time.monotonic() >= deadline:
                _kill(process)
                return IsolatedResult(
                    "timeout",
                    error=f"{tool.name} timed out after {timeout_s:g} s (its process group was "
                    "killed)",
                    exitcode=process.exitcode,
                )
            process.join(max(0.1, deadline - time.monotonic()))
            _kill(process)  # what a crashed tool started goes with it
            return IsolatedResult(
                "crash",
                error=f"{tool.name} crashed its process ({_describe_exit(process.exitcode)})",
                exitcode=process.exitcode,
            )
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            _kill(process)
        status, payload = message
        if status == "ok":
            return IsolatedResult("ok", output=payload, exitcode=process.exitcode)
        kind: IsolatedStatus = "invalid_args" if status == "invalid_args" else "exception"
        return IsolatedResult(kind, error=payload, exitcode=process.exitcode)
    finally:
        receiver.close()
        if process.is_alive():
            _kill(process)
        process.close()


async def arun_isolated(
    tool: BaseTool,
    args: dict[str, Any],
    *,
    timeout_s: float,
    max_chars: int = 100_000,
    start_method: str | None = None,
) -> IsolatedResult:
    """`run_isolated` without blocking the event loop (the wait runs in a worker thread).

    Example:
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def double(x: int) -> int:
        ...     '''Double a number.'''
        ...     return 2 * x
        >>> asyncio.run(arun_isolated(double, {"x": 21}, timeout_s=10)).output
        '42'
    """
    return await asyncio.to_thread(
        run_isolated,
        tool,
        args,
        timeout_s=timeout_s,
        max_chars=max_chars,
        start_method=start_method,
    )


def _kill(process: Any) -> None:
    """Kill the child's whole process group (the child and what it started), then the child."""
    _kill_group(process.pid)
    if process.is_alive():
        process.kill()
    process.join(5)


def _kill_group(pid: int | None) -> None:
    """SIGKILL the process group led by ``pid``, if the child has made one (POSIX only)."""
    if pid is None or not hasattr(os, "killpg"):
        return
    try:  # no such group: the child was killed before its setsid, so it started nothing
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _is_sync_only(tool: BaseTool) -> bool:
    """Whether the tool has no async implementation (``ainvoke`` would use a worker thread)."""
    from langchain_core.tools import StructuredTool, Tool

    arun = type(tool)._arun
    if arun is BaseTool._arun:
        return True
    return arun in (StructuredTool._arun, Tool._arun) and getattr(tool, "coroutine", 1) is None
