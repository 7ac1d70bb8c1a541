"""Play an agent over benchmark cases and record what happened.

Each case gets a fresh live tool environment and a `langchain.agents.create_agent` agent over its
tools (so any `AgentMiddleware`, e.g. the STE exemplar middleware, plugs in). The user turns are
sent in order on one growing conversation; each turn may take up to ``max_steps`` model calls
(BFCL's limit of 20 by default), and offers the case's tools minus those it adds in a later turn
(BFCL's ``miss_func``). The calls that reached the tools are then judged by the case's checker.
An agent or checker that raises becomes an error entry and the run goes on.

Replies are scored strictly by default: a call whose input parsed only as a Python literal
counts as malformed (``lenient=True`` accepts it); the agent still ran it.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, InputAgentState
from langchain.agents.middleware.types import hook_config
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool

from langchain_ste.evaluate.benchmarks.base import EvalCase, RecordedCall
from langchain_ste.evaluate.metrics import (
    EntryResult,
    TurnResult,
    has_parsed_call,
    is_malformed_reply,
)
from langchain_ste.explore.prompts import EVAL_SYSTEM

logger = logging.getLogger(__name__)

BENCHMARKS = ("bfcl-multi-turn", "bfcl-single-turn", "demo", "examples")
"""Benchmark names that `load_cases` knows."""

DEFAULT_MAX_STEPS = 20
"""Model calls allowed per user turn: BFCL's ``MAXIMUM_STEP_LIMIT`` (some of its entries need 7
or more calls in one turn)."""


class TurnStepLimit(AgentMiddleware):
    """Ends the agent's run once the current user turn has used ``max_steps`` model calls.

    Unlike `ModelCallLimitMiddleware`, it adds no message to the conversation, so later turns
    see only what the model wrote.

    Example:
        >>> TurnStepLimit(max_steps=2).max_steps
        2
    """

    def __init__(self, *, max_steps: int) -> None:
        super().__init__()
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.max_steps = max_steps

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Jump to the end when this turn's model calls reached the limit."""
        if _replies_this_turn(state["messages"]) >= self.max_steps:
            return {"jump_to": "end"}
        return None

    @hook_config(can_jump_to=["end"])
    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async `before_model`."""
        return self.before_model(state, runtime)


def _replies_this_turn(messages: Sequence[BaseMessage]) -> int:
    count = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        count += isinstance(message, AIMessage)
    return count


def load_cases(
    benchmark: str,
    *,
    limit: int | None = None,
    subset: str = "all",
    seed: int = 0,
    category: str | Sequence[str] = "base",
) -> list[EvalCase]:
    """The cases of a named benchmark (one of `BENCHMARKS`).

    Args:
        benchmark: ``bfcl-multi-turn``, ``bfcl-single-turn``, ``demo`` (the help desk) or
            ``examples``.
        limit: at most this many cases (per BFCL category).
        subset: for BFCL, ``all`` (200 entries per category) or ``cpu`` (a fixed seeded sample,
            see `langchain_ste.evaluate.benchmarks.bfcl.cpu_subset`).
        seed: the CPU subset's seed.
        category: for BFCL, the multi-turn categories (``base``, ``miss_func``, ``miss_param``,
            ``long_context``, or ``all``; see
            `langchain_ste.evaluate.benchmarks.bfcl.multi_turn_categories`).

    Raises:
        ValueError: an unknown benchmark.
        BFCLUnavailableError: a BFCL benchmark without `bfcl-eval` installed.

    Example:
        >>> [c.id for c in load_cases("examples", limit=2)]
        ['examples_0', 'examples_1']
    """
    if benchmark == "examples":
        from langchain_ste.evaluate.benchmarks.examples import example_cases

        return example_cases(limit=limit)
    if benchmark == "demo":
        from langchain_ste.evaluate.benchmarks.examples import demo_cases

        return demo_cases(limit=limit)
    if benchmark in ("bfcl-multi-turn", "bfcl-single-turn"):
        from langchain_ste.evaluate.benchmarks.bfcl import bfcl_cases

        return bfcl_cases(
            single_turn=benchmark == "bfcl-single-turn",
            limit=limit,
            subset=subset,
            seed=seed,
            category=category,
        )
    raise ValueError(f"unknown benchmark {benchmark!r}; choose one of {', '.join(BENCHMARKS)}")


def play_case(
    model: BaseChatModel,
    case: EvalCase,
    *,
    middleware: Sequence[AgentMiddleware] = (),
    max_steps: int = DEFAULT_MAX_STEPS,
    system_prompt: str = EVAL_SYSTEM,
    condition: str = "baseline",
    benchmark: str = "",
    lenient: bool = False,
) -> EntryResult:
    """Play one case and judge it; never raises for a failing agent or checker.

    Args:
        model: the chat model under test.
        case: the case to play.
        middleware: `create_agent` middleware.
        max_steps: model calls allowed per user turn.
        system_prompt: the agent's system prompt.
        condition: the label of this run in reports.
        benchmark: the benchmark's name, kept in the result.
        lenient: score calls whose input parsed only as a Python literal as well-formed.

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> from langchain_ste.evaluate.benchmarks.examples import example_cases
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> call = {"name": "convert_units", "args": {"value": 3, "from_unit": "in",
        ...         "to_unit": "cm"}, "id": "c1", "type": "tool_call"}
        >>> model = ScriptedChatModel(script=[AIMessage("", tool_calls=[call]), "7.62 cm"])
        >>> result = play_case(model, example_cases(limit=1)[0])
        >>> result.correct, result.turns[0].replies, result.turns[0].answer
        (True, 2, '7.62 cm')
    """
    started = time.perf_counter()
    result = EntryResult(
        id=case.id, category=case.category, condition=condition, benchmark=benchmark
    )
    try:
        env = case.environment()
        agents: dict[tuple[str, ...], Any] = {}

        def agent_for(tools: list[BaseTool]) -> Any:
            key = tuple(t.name for t in tools)
            if key not in agents:
                agents[key] = create_agent(
                    model,
                    tools,
                    system_prompt=system_prompt,
                    middleware=[*middleware, TurnStepLimit(max_steps=max_steps)],
                )
            return agents[key]

        # One tool at a time, in the order the model asked: the tools share live state.
        config: RunnableConfig = {"recursion_limit": 4 * max_steps + 10, "max_concurrency": 1}
        history: list[AnyMessage] = []
        per_turn: list[list[RecordedCall]] = []
        for index, (question, expected) in enumerate(zip(case.turns, case.expected, strict=True)):
            before_calls, before_msgs = len(env.calls), len(history) + 1
            payload: InputAgentState = {"messages": [*history, HumanMessage(question)]}
            state = agent_for(case.tools_at(index, env.tools)).invoke(payload, config)
            history = list(state["messages"])
            replies = [m for m in history[before_msgs:] if isinstance(m, AIMessage)]
            calls = [dict(c) for c in env.calls[before_calls:]]
            per_turn.append(env.calls[before_calls:])
            result.turns.append(
                TurnResult(
                    question=question,
                    calls=calls,
                    expected=list(expected),
                    replies=len(replies),
                    malformed=sum(is_malformed_reply(m, lenient=lenient) for m in replies),
                    answer=replies[-1].text if replies else "",
                    parsed=sum(has_parsed_call(m, lenient=lenient) for m in replies),
                )
            )
            ran_out = len(replies) >= max_steps and bool(replies[-1].tool_calls)
            if ran_out and case.step_limit_fails:
                result.turns += [
                    TurnResult(question=q, expected=list(e))
                    for q, e in zip(
                        case.turns[index + 1 :], case.expected[index + 1 :], strict=True
                    )
                ]
                result.reason = (
                    f"force-terminated: turn {index} used all {max_steps} model calls and was "
                    "still calling tools"
                )
                result.seconds = time.perf_counter() - started
                return result
    except Exception as exc:
        logger.warning("case %s failed while playing: %s", case.id, exc)
        result.error = f"agent: {type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - started
        return result
    try:
        verdict = case.check(per_turn)
        result.correct, result.reason, result.detail = (
            verdict.correct,
            verdict.reason,
            verdict.detail,
        )
    except Exception as exc:
        logger.warning("the checker failed on case %s: %s", case.id, exc)
        result.error = f"checker: {type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - started
    return result


def run_benchmark(
    model: BaseChatModel,
    cases: Sequence[EvalCase],
    *,
    middleware: Sequence[AgentMiddleware] = (),
    condition: str = "baseline",
    benchmark: str = "",
    max_steps: int = DEFAULT_MAX_STEPS,
    system_prompt: str = EVAL_SYSTEM,
    seed: int = 0,
    on_result: Callable[[EntryResult], None] | None = None,
    lenient: bool = False,
    max_concurrency: int | None = None,
) -> list[EntryResult]:
    """Play every case in order with a fixed seed and return the results.

    Args:
        model: the chat model under test (anything with `bind_tools`).
        cases: from `load_cases` or a benchmark module.
        middleware: `create_agent` middleware, e.g. ``[STEMiddleware(memory)]``.
        condition: the label of this run in reports (``baseline``, ``ste-in-context``, ...).
        benchmark: the benchmark's name, kept in each result.
        max_steps: model calls allowed per user turn.
        system_prompt: the agent's system prompt.
        seed: seeds Python's and (when loaded) torch's random generators.
        on_result: called with each result as it is ready (progress, incremental saving).
        lenient: score calls whose input parsed only as a Python literal (single quotes,
            trailing commas) as well-formed; by default they are malformed, as in the paper.
        max_concurrency: cases played at once, each in its own thread (results and
            ``on_result`` stay in case order). Default: the model's ``max_batch_size`` (a local
            model batches concurrent calls, see `langchain_ste.models.batching`), else 1.

    Example:
        >>> from langchain_ste.evaluate.benchmarks.examples import example_cases
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> results = run_benchmark(ScriptedChatModel(script=["no idea"]), example_cases(limit=2))
        >>> [(r.id, r.correct, r.turns[0].calls) for r in results]
        [('examples_0', False, []), ('examples_1', False, [])]
    """
    random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    play = partial(
        play_case,
        model,
        middleware=middleware,
        max_steps=max_steps,
        system_prompt=system_prompt,
        condition=condition,
        benchmark=benchmark,
        lenient=lenient,
    )
    width = max_concurrency or int(getattr(model, "max_batch_size", 1) or 1)
    results = []
    with ThreadPoolExecutor(max(1, min(width, len(cases)))) as pool:
        for result in pool.map(play, cases) if width > 1 else map(play, cases):
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
