"""`explore` / `aexplore`: run the exploration graph over tools and return their trials.

A run locks its output directory (one writer per memory: `langchain_ste.memory.lock`), writes the
tools' schemas beside the trials (so export never guesses them), streams the graph
(`langchain_ste.explore.graph.create_explorer`) and hands each ``custom`` event (``trial``,
``episode``, ``budget``) to ``on_event``. Resume is by trial id (see the graph's module).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool

from langchain_ste.explore.graph import (
    DEFAULT_REDACTOR,
    Memory,
    check_names,
    create_explorer,
    open_store,
)
from langchain_ste.explore.prompts import DEFAULT_PROMPTS, ExplorePrompts
from langchain_ste.explore.settings import ExploreSettings, resolve_settings
from langchain_ste.memory.lock import RunLock
from langchain_ste.memory.tool_schemas import write_tool_schemas
from langchain_ste.tools.policy import Budget, ToolPolicy
from langchain_ste.tools.redact import Redactor
from langchain_ste.trial import Trial

logger = logging.getLogger(__name__)


async def aexplore(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    /,
    *,
    memory: Memory | None = None,
    settings: ExploreSettings | str | None = None,
    prompts: ExplorePrompts = DEFAULT_PROMPTS,
    policy: ToolPolicy | None = None,
    budget: Budget | None = None,
    emulator: BaseChatModel | None = None,
    redactor: Redactor | None = DEFAULT_REDACTOR,
    only: Sequence[str] | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[Trial]:
    """Explore ``tools`` and return every trial of them in the store (earlier runs included).

    Takes the arguments of `create_explorer`, plus ``only`` (names of the tools to explore; all
    by default) and ``on_event`` (called with each event of the ``custom`` stream: ``trial``,
    ``episode`` and ``budget``, then ``stopped`` once if a budget ended the run). The output
    directory (``memory`` given as a directory, or the memory's ``directory``) is locked for
    the run: a second process gets `RunLockedError`.

    Raises:
        ValueError: ``only`` names a tool not in ``tools`` (and what `create_explorer` raises).

    Example:
        >>> import asyncio
        >>> from langchain_core.messages import AIMessage
        >>> from langchain_ste.tools.examples import convert_units
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> call = {"name": "convert_units", "args": {"value": 1, "from_unit": "km",
        ...         "to_unit": "m"}, "id": "c1", "type": "tool_call"}
        >>> model = ScriptedChatModel(script=["1 km in m?", AIMessage("", tool_calls=[call]),
        ...                                   "It is 1000 m.", "Verdict: yes\\nLesson: easy."])
        >>> settings = ExploreSettings(episodes_per_tool=1, trials_per_episode=1)
        >>> trials = asyncio.run(aexplore(model, [convert_units], settings=settings))
        >>> trials[0].query, trials[0].success, trials[0].steps[0].output
        ('1 km in m?', True, '1 km = 1000 m')
    """
    known = [t.name for t in tools]
    names = check_names(only, known, "only=") if only else known
    resolved = resolve_settings(model, settings)
    if isinstance(memory, str | os.PathLike):
        lock_dir: str | os.PathLike[str] | None = memory
    else:
        lock_dir = getattr(memory, "directory", None)
    lock = RunLock(lock_dir) if lock_dir is not None else None
    if lock:
        lock.acquire()
    try:
        store = open_store(memory)
        if lock_dir is not None:  # export reads the real schemas instead of guessing them
            write_tool_schemas(lock_dir, tools)
        graph = create_explorer(
            model,
            tools,
            memory=store,
            settings=resolved,
            prompts=prompts,
            policy=policy,
            budget=budget,
            emulator=emulator,
            redactor=redactor,
        )
        config: RunnableConfig = {"max_concurrency": resolved.max_concurrency}
        stopped: list[str] = []
        async for mode, chunk in graph.astream(
            {"tools": names},
            config,
            stream_mode=["custom", "updates"],
            subgraphs=False,
        ):
            if not isinstance(chunk, dict):
                continue
            if mode == "custom" and on_event is not None:
                on_event(chunk)
            elif mode == "updates":
                for update in chunk.values():
                    stopped += update.get("stopped", []) if isinstance(update, dict) else []
        if stopped:
            logger.warning("exploration stopped early: %s", stopped[0])
            if on_event is not None:
                on_event({"event": "stopped", "reason": stopped[0]})
        wanted = set(names)
        found = [t for t in store.trials() if wanted & set(t.tools)]
        return sorted(found, key=lambda t: (t.tools, t.episode, t.index))
    finally:
        if lock:
            lock.release()


def explore(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    /,
    *,
    memory: Memory | None = None,
    settings: ExploreSettings | str | None = None,
    prompts: ExplorePrompts = DEFAULT_PROMPTS,
    policy: ToolPolicy | None = None,
    budget: Budget | None = None,
    emulator: BaseChatModel | None = None,
    redactor: Redactor | None = DEFAULT_REDACTOR,
    only: Sequence[str] | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[Trial]:
    """Synchronous `aexplore` (also from a notebook whose event loop is already running).

    Example:
        >>> from langchain_ste.tools.examples import example_tools
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> settings = ExploreSettings(episodes_per_tool=1, trials_per_episode=2)
        >>> trials = explore(ScriptedChatModel(script=["Convert 2 km to miles"]), example_tools(),
        ...                  settings=settings)
        >>> len(trials), trials[0].trial_id
        (4, 'convert_units/e000/t0')
    """
    run = aexplore(
        model,
        tools,
        memory=memory,
        settings=settings,
        prompts=prompts,
        policy=policy,
        budget=budget,
        emulator=emulator,
        redactor=redactor,
        only=only,
        on_event=on_event,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run).result()


__all__ = ["aexplore", "explore"]
