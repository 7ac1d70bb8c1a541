"""`create_explorer`: the exploration state graph (`langchain_ste.explore.run` runs it).

The parent graph plans work units (one per target tool or tool group, holding its episodes in
order, so that later episodes see earlier ones through long-term memory) and fans them out with
`Send`; each unit is a subgraph ``start_episode -> imagine -> act <-> execute -> reflect``.
Units run concurrently (async), bounded by ``max_concurrency``.

Resume is by trial id: every finished trial is persisted at once (fsync) under a deterministic id
(``tool/e003/t1``), and a unit starts by loading its persisted trials back as short-term memory,
so a run killed at any point and started again on the same output directory redoes at most the
trial in flight: nothing lost, nothing twice. This needs no checkpointer and works across
processes and Ray workers; a LangGraph ``checkpointer`` can still be passed (e.g. to inspect
state in LangGraph Studio) and is used as usual.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool
from langgraph._internal._runnable import RunnableCallable
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer, Send

from langchain_ste.explore.act import act, execute
from langchain_ste.explore.act import after_execute as next_after_execute
from langchain_ste.explore.imagine import imagine, start_episode
from langchain_ste.explore.prompts import DEFAULT_PROMPTS, ExplorePrompts
from langchain_ste.explore.reflect import reflect
from langchain_ste.explore.runtime import EXPLORER_WRITER, UnitRuntime
from langchain_ste.explore.settings import ExploreSettings, resolve_settings
from langchain_ste.explore.state import ExploreInput, ExploreOutput, ExploreState, UnitState
from langchain_ste.memory.base import ListStore, LogStore, TrialStore
from langchain_ste.tools.policy import Budget, ToolPolicy
from langchain_ste.tools.redact import Redactor

logger = logging.getLogger(__name__)


def validate_tools(tools: Sequence[BaseTool]) -> None:
    """Refuse tool lists exploration cannot work with.

    Raises:
        ValueError: no tools, duplicate names, or a tool without a description.

    Example:
        >>> from langchain_ste.tools.examples import example_tools
        >>> validate_tools(example_tools() * 2)
        Traceback (most recent call last):
        ...
        ValueError: duplicate tool names: convert_units, search_catalog; tool names must be unique
    """
    if not tools:
        raise ValueError("no tools to explore")
    names = [t.name for t in tools]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate tool names: {', '.join(dupes)}; tool names must be unique")
    missing = [t.name for t in tools if not (t.description or "").strip()]
    if missing:
        raise ValueError(
            f"tools without a description: {', '.join(missing)}; the model learns what a tool "
            "is for from its description, so add one (a docstring for @tool functions)"
        )


Memory = TrialStore | str | os.PathLike[str]
"""Where trials go: a `TrialStore` (an `ExplorationMemory`, a `LogStore`, a `ListStore`...) or a
directory, whose ``trials.jsonl`` is appended to."""

DEFAULT_REDACTOR = Redactor()
"""The `Redactor` exploration masks secrets with unless told otherwise."""


def create_explorer(
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
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph:
    """Build the exploration graph for ``tools``.

    Args:
        model: the explorer chat model (anything with `bind_tools`; `load_chat_model("local")`
            for the embedded one).
        tools: the tools to explore; all of them are bound in the act step.
        memory: where trials go and past ones come from: an `ExplorationMemory` (long-term
            memory with similarity search), any `TrialStore`, or a directory (its
            ``trials.jsonl``); default: a list in this process.
        settings: an `ExploreSettings`, or a preset name (``"paper"``, ``"small-model"``);
            default: the model's preset (see `PRESETS`).
        prompts: the templates of every model call (`ExplorePrompts`; override fields with
            `dataclasses.replace`).
        policy: per-tool side effects (run / emulate / skip) and tool-call limits.
        budget: limits on model calls, tool calls, tokens and wall time (counted from the first
            run of this graph).
        emulator: the model that answers for tools whose policy is ``emulate`` (default: model).
        redactor: masks secrets in tool results, replies and trials before they enter the graph
            state or the store (None: no masking).
        checkpointer: an optional LangGraph checkpointer.

    Returns:
        A compiled graph: input ``{"tools": [names]}`` (optional), output
        ``{"trials": [trial dicts], "stopped": [reasons]}``. It composes as a subgraph.

    Raises:
        ValueError: no tools, duplicate or undescribed tools, or a tool group or policy that
            names a tool not in ``tools``.

    Example:
        >>> from langchain_ste.tools.examples import example_tools
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> graph = create_explorer(ScriptedChatModel(script=["q"]), example_tools())
        >>> sorted(n for n in graph.get_graph().nodes if not n.startswith("__"))
        ['unit']
    """
    validate_tools(tools)
    resolved = resolve_settings(model, settings)
    known = [t.name for t in tools]
    policy = policy or ToolPolicy()
    policy.check_tools(known)
    if not resolved.execution_feedback:
        policy = policy.emulating()
    groups = [list(g) for g in resolved.tool_groups] or [[name] for name in known]
    for group in groups:
        if not group or set(group) - set(known):
            raise ValueError(f"tool group {group} names unknown tools; known: {sorted(known)}")
    runtime = UnitRuntime(
        model=model,
        tools=tools,
        store=open_store(memory),
        settings=resolved,
        policy=policy,
        tracker=(budget or Budget()).tracker(),
        redactor=redactor,
        emulator=emulator,
        prompts=prompts,
    )
    unit = build_unit_graph(runtime)

    def fan_out(state: ExploreState) -> list[Send]:
        wanted = set(check_names(state.get("tools") or known, known, "tools to explore"))
        sends = []
        for group in groups:
            if not wanted & set(group):
                continue
            if all(runtime.policy.action(name) == "skip" for name in group):
                logger.info("not exploring %s: its policy is skip", group)
                continue
            episodes = list(range(resolved.episodes_per_tool))
            chunks = [episodes] if resolved.ordered_episodes else [[e] for e in episodes]
            sends += [Send("unit", _unit_input(group, chunk)) for chunk in chunks]
        return sends

    steps_per_trial = 2 * resolved.max_steps + 8  # with a nudge: two more act/execute turns
    limit = resolved.episodes_per_tool * (resolved.trials_per_episode * steps_per_trial + 2) + 10
    graph = StateGraph(ExploreState, input_schema=ExploreInput, output_schema=ExploreOutput)
    graph.add_node("unit", _unit_node(unit, max(limit, 25)))
    graph.add_conditional_edges(START, fan_out, ["unit"])
    graph.add_edge("unit", END)
    return graph.compile(checkpointer=checkpointer, name="ste-explorer")


def open_store(memory: Memory | None) -> TrialStore:
    """The `TrialStore` behind ``memory``: itself, a directory's ``trials.jsonl``, or a list."""
    if memory is None:
        return ListStore()
    if isinstance(memory, str | os.PathLike):
        return LogStore(Path(memory) / "trials.jsonl")
    return memory


def check_names(names: Iterable[str], known: Sequence[str], what: str) -> list[str]:
    """``names`` if every one is a known tool.

    Raises:
        ValueError: an unknown name; the message lists the known tools.

    Example:
        >>> check_names(["ad"], ["add", "sub"], "only=")
        Traceback (most recent call last):
        ...
        ValueError: only= names unknown tools ['ad']; known tools: add, sub
    """
    names = list(names)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"{what} names unknown tools {unknown}; known tools: {', '.join(known)}")
    return names


def build_unit_graph(runtime: UnitRuntime) -> CompiledStateGraph:
    """The per-unit subgraph: start_episode -> imagine -> act <-> execute -> reflect."""

    def after_start(state: UnitState) -> str:
        return "imagine" if state["position"] < len(state["episodes"]) else END

    def after_imagine(state: UnitState) -> str:
        if state.get("stopped"):
            return END
        return "reflect" if state["error"] else "act"

    def after_act(state: UnitState) -> str:
        if state.get("stopped"):
            return END
        last = state["messages"][-1] if state["messages"] else None
        if state["error"] or not isinstance(last, AIMessage):
            return "reflect"
        # Calls past the step limit still go to execute, which answers them with an error and
        # pairs every call with its ToolMessage.
        return "execute" if last.tool_calls or last.invalid_tool_calls else "reflect"

    def after_execute(state: UnitState) -> str:
        if state.get("stopped"):
            return END
        return next_after_execute(state)

    def after_reflect(state: UnitState) -> str:
        if state.get("stopped"):
            return END
        return "imagine" if state["trial_index"] > 0 else "start_episode"

    graph = StateGraph(UnitState)
    for node in (start_episode, imagine, act, execute, reflect):
        # Nodes that call the model are retried on transient model errors (see
        # `UnitRuntime.call_model`); execute is not: a tool call may have side effects, and its
        # failures are recorded as steps instead.
        retry = runtime.settings.retry if node in (imagine, act, reflect) else None
        graph.add_node(
            node.__name__,
            _node(functools.partial(node, runtime), node.__name__),
            retry_policy=retry,
        )
    graph.add_edge(START, "start_episode")
    for source, route, targets in (
        ("start_episode", after_start, ["imagine", END]),
        ("imagine", after_imagine, ["act", "reflect", END]),
        ("act", after_act, ["execute", "reflect", END]),
        ("execute", after_execute, ["act", "reflect", END]),
        ("reflect", after_reflect, ["imagine", "start_episode", END]),
    ):
        # Untraced, as LangGraph wraps plain-function nodes: a traced router opens a callback
        # run per step, which was most of the orchestration's CPU time per model call.
        router = RunnableCallable(route, name=route.__name__, trace=False)
        graph.add_conditional_edges(source, router, targets)
    return graph.compile(name="ste-episode")


def _unit_node(unit: CompiledStateGraph, limit: int) -> RunnableLambda[UnitState, dict[str, Any]]:
    """The unit subgraph as a node whose recursion limit a run's smaller one cannot lower
    (a run config's ``recursion_limit`` would otherwise apply to every subgraph too)."""

    def unit_config(config: RunnableConfig) -> RunnableConfig:
        return {**config, "recursion_limit": max(limit, config.get("recursion_limit") or 0)}

    def output(out: dict[str, Any]) -> dict[str, Any]:
        return {"trials": out.get("trials", []), "stopped": out.get("stopped", [])}

    def func(state: UnitState, config: RunnableConfig) -> dict[str, Any]:
        token = EXPLORER_WRITER.set(get_stream_writer())
        try:
            return output(unit.invoke(state, unit_config(config)))
        finally:
            EXPLORER_WRITER.reset(token)

    async def afunc(state: UnitState, config: RunnableConfig) -> dict[str, Any]:
        token = EXPLORER_WRITER.set(get_stream_writer())
        try:
            return output(await unit.ainvoke(state, unit_config(config)))
        finally:
            EXPLORER_WRITER.reset(token)

    return RunnableLambda(func, afunc=afunc, name="unit")


def _node(
    afunc: Callable[[UnitState], Coroutine[Any, Any, dict[str, Any]]], name: str
) -> Runnable[UnitState, dict[str, Any]]:
    """An async node that also runs in sync graphs (each call gets its own event loop).

    Wrapped as LangGraph wraps a plain-function node (untraced: the node's task is the run that
    callbacks see); a `RunnableLambda` would open a second callback run per call.
    """

    def func(state: UnitState) -> dict[str, Any]:
        return asyncio.run(afunc(state))

    return RunnableCallable(func, afunc, name=name, trace=False)


def _unit_input(targets: list[str], episodes: list[int]) -> dict[str, Any]:
    return {
        "targets": targets,
        "episodes": episodes,
        "position": 0,
        "trial_index": 0,
        "stm": [],
        "query": "",
        "imagine_s": 0.0,
        "act_started": 0.0,
        "messages": [],
        "steps": [],
        "exemplars": [],
        "usage": {},
        "error": None,
    }


__all__ = [
    "DEFAULT_REDACTOR",
    "ExploreSettings",
    "Memory",
    "build_unit_graph",
    "create_explorer",
    "validate_tools",
]
