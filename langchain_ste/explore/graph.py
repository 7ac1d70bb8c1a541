"""`create_explorer`: the exploration state graph, and `explore` / `aexplore` to run it.

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
import concurrent.futures
import functools
import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy, Send

from langchain_ste.explore.act import act, execute
from langchain_ste.explore.imagine import imagine, start_episode
from langchain_ste.explore.prompts import DEFAULT_PROMPTS, ExplorePrompts
from langchain_ste.explore.reflect import reflect
from langchain_ste.explore.runtime import DEFAULT_RETRY, EXPLORER_WRITER, UnitRuntime
from langchain_ste.explore.settings import ExploreSettings, resolve_settings
from langchain_ste.explore.state import ExploreInput, ExploreOutput, ExploreState, UnitState
from langchain_ste.memory.base import ListStore, LogStore, TrialStore
from langchain_ste.memory.lock import RunLock
from langchain_ste.tools.policy import Budget, ToolPolicy
from langchain_ste.tools.redact import Redactor
from langchain_ste.trial import Trial

logger = logging.getLogger(__name__)
_DEFAULT = object()


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


def create_explorer(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    /,
    *,
    memory: TrialStore | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    episodes_per_tool: int | None = None,
    trials_per_episode: int | None = None,
    max_steps: int | None = None,
    preset: str | None = None,
    policy: ToolPolicy | None = None,
    budget: Budget | None = None,
    emulator: BaseChatModel | None = None,
    max_concurrency: int | None = 8,
    tool_groups: Sequence[Sequence[str]] | None = None,
    ordered_episodes: bool | None = None,
    demonstrations: bool | None = None,
    verdict_mode: str | None = None,
    redactor: Redactor | object | None = _DEFAULT,
    prompts: ExplorePrompts = DEFAULT_PROMPTS,
    retry: RetryPolicy = DEFAULT_RETRY,
    checkpointer: Any = None,
    seed: int = 0,
) -> CompiledStateGraph:
    """Build the exploration graph for ``tools``.

    Args:
        model: the explorer chat model (anything with `bind_tools`; `load_chat_model("local")`
            for the embedded one).
        tools: the tools to explore; all of them are bound in the act step.
        memory: where trials go and past ones come from: an `ExplorationMemory` (long-term
            memory with similarity search) or any `TrialStore`.
        out_dir: without ``memory``, trials are appended to ``out_dir/trials.jsonl``.
        episodes_per_tool: episodes per target tool.
        trials_per_episode: trials per episode.
        max_steps: tool calls per trial.
        preset: ``"paper"`` or ``"small-model"`` (default: by model, see `PRESETS`).
        policy: per-tool side effects (run / emulate / skip) and tool-call limits.
        budget: limits on model calls, tool calls, tokens and wall time (counted from the first
            run of this graph).
        emulator: the model that answers for tools whose policy is ``emulate`` (default: model).
        max_concurrency: model calls in flight at once across all work units (None: no bound;
            the run config's ``max_concurrency`` also bounds the units running at once).
        tool_groups: explore these groups of tool names together instead of one tool at a time.
        ordered_episodes: run a tool's episodes one after another (default) so each sees the
            previous ones in long-term memory; False runs them concurrently.
        demonstrations: show cold-start / bootstrapped demonstrations in the act step.
        verdict_mode: ``"model"`` or ``"grounded"`` success.
        redactor: masks secrets before a trial is stored (default `Redactor()`; None disables).
        prompts: the templates of every model call (`ExplorePrompts`; override fields with
            `dataclasses.replace`).
        retry: retries of transient model errors (rate limits, 5xx, timeouts).
        checkpointer: an optional LangGraph checkpointer.
        seed: seeds the retry jitter (model sampling is seeded by the model itself, e.g.
            ``load_chat_model("local", seed=0)``).

    Returns:
        A compiled graph: input ``{"tools": [names]}`` (optional), output
        ``{"trials": [trial dicts], "stopped": [reasons]}``. It composes as a subgraph.

    Example:
        >>> from langchain_ste.tools.examples import example_tools
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> graph = create_explorer(ScriptedChatModel(script=["q"]), example_tools())
        >>> sorted(n for n in graph.get_graph().nodes if not n.startswith("__"))
        ['plan', 'unit']
    """
    validate_tools(tools)
    settings = resolve_settings(
        model,
        preset,
        {
            "episodes_per_tool": episodes_per_tool,
            "trials_per_episode": trials_per_episode,
            "max_steps": max_steps,
            "ordered_episodes": ordered_episodes,
            "demonstrations": demonstrations,
            "verdict_mode": verdict_mode,
        },
    )
    store: TrialStore
    if memory is not None:
        store = memory
    elif out_dir is not None:
        store = LogStore(Path(out_dir) / "trials.jsonl")
    else:
        store = ListStore()
    runtime = UnitRuntime(
        model=model,
        tools=tools,
        store=store,
        settings=settings,
        policy=policy or ToolPolicy(),
        tracker=(budget or Budget()).tracker(),
        redactor=Redactor() if redactor is _DEFAULT else redactor,  # type: ignore[arg-type]
        emulator=emulator,
        prompts=prompts,
        retry=retry,
        max_concurrency=max_concurrency,
        seed=seed,
    )
    unit = build_unit_graph(runtime)
    groups = [list(g) for g in tool_groups] if tool_groups else [[t.name] for t in tools]
    known = {t.name for t in tools}
    for group in groups:
        if not group or set(group) - known:
            raise ValueError(f"tool group {group} names unknown tools; known: {sorted(known)}")

    def plan(state: ExploreState) -> dict[str, Any]:
        return {}

    def fan_out(state: ExploreState) -> list[Send]:
        wanted = set(state.get("tools") or known)
        sends = []
        for group in groups:
            if not wanted & set(group):
                continue
            if all(runtime.policy.action(name) == "skip" for name in group):
                logger.info("not exploring %s: its policy is skip", group)
                continue
            episodes = list(range(settings.episodes_per_tool))
            chunks = [episodes] if settings.ordered_episodes else [[e] for e in episodes]
            sends += [Send("unit", _unit_input(group, chunk)) for chunk in chunks]
        return sends

    steps_per_trial = 2 * settings.max_steps + 4
    limit = settings.episodes_per_tool * (settings.trials_per_episode * steps_per_trial + 2) + 10
    graph = StateGraph(ExploreState, input_schema=ExploreInput, output_schema=ExploreOutput)
    graph.add_node("plan", plan)
    graph.add_node("unit", _unit_node(unit, max(limit, 25)))
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", fan_out, ["unit"])
    graph.add_edge("unit", END)
    compiled = graph.compile(checkpointer=checkpointer, name="ste-explorer")
    compiled.ste_runtime = runtime  # type: ignore[attr-defined]
    compiled.ste_recursion_limit = max(limit, 25)  # type: ignore[attr-defined]
    return compiled


def build_unit_graph(runtime: UnitRuntime) -> CompiledStateGraph:
    """The per-unit subgraph: start_episode -> imagine -> act <-> execute -> reflect."""
    max_steps = runtime.settings.max_steps

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
        wants_tools = bool(last.tool_calls or last.invalid_tool_calls)
        return "execute" if wants_tools and len(state["steps"]) < max_steps else "reflect"

    def after_execute(state: UnitState) -> str:
        if state.get("stopped"):
            return END
        return "act" if len(state["steps"]) < max_steps else "reflect"

    def after_reflect(state: UnitState) -> str:
        if state.get("stopped"):
            return END
        return "imagine" if state["trial_index"] > 0 else "start_episode"

    graph = StateGraph(UnitState)
    for node in (start_episode, imagine, act, execute, reflect):
        graph.add_node(node.__name__, _node(functools.partial(node, runtime), node.__name__))
    graph.add_edge(START, "start_episode")
    graph.add_conditional_edges("start_episode", after_start, ["imagine", END])
    graph.add_conditional_edges("imagine", after_imagine, ["act", "reflect", END])
    graph.add_conditional_edges("act", after_act, ["execute", "reflect", END])
    graph.add_conditional_edges("execute", after_execute, ["act", "reflect", END])
    graph.add_conditional_edges("reflect", after_reflect, ["imagine", "start_episode", END])
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
) -> RunnableLambda[UnitState, dict[str, Any]]:
    """An async node that also runs in sync graphs (each call gets its own event loop)."""

    def func(state: UnitState) -> dict[str, Any]:
        return asyncio.run(afunc(state))

    return RunnableLambda(func, afunc=afunc, name=name)


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


async def aexplore(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    /,
    *,
    memory: TrialStore | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    max_concurrency: int = 8,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    only: Sequence[str] | None = None,
    **options: Any,
) -> list[Trial]:
    """Explore ``tools`` and return every trial of them in the store (earlier runs included).

    Takes the options of `create_explorer`, plus ``max_concurrency`` (work units at once),
    ``on_event`` (called with each event of the ``custom`` stream: ``trial``,
    ``episode`` and ``budget``, then ``stopped`` once if a budget ended the run) and ``only``
    (names of the tools to explore; all by default). The output directory (``out_dir``, or the
    memory's directory) is locked for the run: a second process gets `RunLockedError`.

    Example:
        >>> import asyncio
        >>> from langchain_core.messages import AIMessage
        >>> from langchain_ste.tools.examples import convert_units
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> call = {"name": "convert_units", "args": {"value": 1, "from_unit": "km",
        ...         "to_unit": "m"}, "id": "c1", "type": "tool_call"}
        >>> model = ScriptedChatModel(script=["1 km in m?", AIMessage("", tool_calls=[call]),
        ...                                   "It is 1000 m.", "Verdict: yes\\nLesson: easy."])
        >>> trials = asyncio.run(aexplore(model, [convert_units], episodes_per_tool=1,
        ...                               trials_per_episode=1, preset="paper"))
        >>> trials[0].query, trials[0].success, trials[0].steps[0].output
        ('1 km in m?', True, '1 km = 1000 m')
    """
    lock_dir = out_dir if out_dir is not None else getattr(memory, "directory", None)
    lock = RunLock(lock_dir) if lock_dir is not None else None
    if lock:
        lock.acquire()
    try:
        graph = create_explorer(
            model, tools, memory=memory, out_dir=out_dir, max_concurrency=max_concurrency, **options
        )
        runtime: UnitRuntime = graph.ste_runtime  # type: ignore[attr-defined]
        names = list(only) if only else [t.name for t in tools]
        config: RunnableConfig = {"max_concurrency": max_concurrency}
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
        found = [t for t in runtime.store.trials() if wanted & set(t.tools)]
        return sorted(found, key=lambda t: (t.tools, t.episode, t.index))
    finally:
        if lock:
            lock.release()


def explore(model: BaseChatModel, tools: Sequence[BaseTool], /, **options: Any) -> list[Trial]:
    """Synchronous `aexplore` (also from a notebook whose event loop is already running).

    Example:
        >>> from langchain_ste.tools.examples import example_tools
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> trials = explore(ScriptedChatModel(script=["Convert 2 km to miles"]), example_tools(),
        ...                  episodes_per_tool=1, trials_per_episode=2, preset="paper")
        >>> len(trials), trials[0].trial_id
        (4, 'convert_units/e000/t0')
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(aexplore(model, tools, **options))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, aexplore(model, tools, **options)).result()


__all__ = [
    "ExploreSettings",
    "aexplore",
    "build_unit_graph",
    "create_explorer",
    "explore",
    "validate_tools",
]
