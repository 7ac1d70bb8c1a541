"""Exploration runtime behaviour: progress events, concurrency bounds, limits, usage, Studio."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool

from langchain_ste.explore import PRESETS, ExploreSettings, aexplore, create_explorer, explore
from langchain_ste.explore.settings import default_preset, resolve_settings
from langchain_ste.explore.studio import make_graph
from langchain_ste.testing import ScriptedChatModel, ScriptedExplorer, run_metadata
from langchain_ste.tools.examples import convert_units, search_catalog
from langchain_ste.tools.policy import Budget

_ids = itertools.count()


def phase() -> str:
    """The exploration node calling the model, from LangGraph's run metadata (no prompt text)."""
    node = run_metadata().get("langgraph_node")
    return node if node in ("imagine", "reflect") else "act"


def converter(messages: list[BaseMessage], tools: list[str]) -> Any:
    """Imagine, call convert_units once, answer with the result, say yes; 10 tokens a call."""
    usage = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
    kind = phase()
    if kind == "imagine":
        return AIMessage("Convert 5 km to m", usage_metadata=usage)
    if kind == "reflect":
        return AIMessage("Verdict: yes\nLesson: fine.", usage_metadata=usage)
    if isinstance(messages[-1], ToolMessage):
        return AIMessage(f"It is {messages[-1].text}", usage_metadata=usage)
    return AIMessage(
        "",
        usage_metadata=usage,
        tool_calls=[
            {
                "name": "convert_units",
                "args": {"value": 5, "from_unit": "km", "to_unit": "m"},
                "id": f"c{next(_ids)}",
                "type": "tool_call",
            }
        ],
    )


def test_custom_stream_reports_trials_episodes_and_budget() -> None:
    graph = create_explorer(
        ScriptedChatModel(script=converter),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=2, trials_per_episode=2),
        budget=Budget(max_model_calls=12),
    )
    events = [chunk for chunk in graph.stream({}, stream_mode="custom")]
    kinds = [e["event"] for e in events]
    # 4 model calls per trial: 3 trials fit in 12 calls, the 4th stops at its first call.
    assert kinds == ["trial", "trial", "episode", "trial", "budget"]
    assert events[0]["trial_id"] == "convert_units/e000/t0" and events[0]["success"] is True
    assert events[2] == {"event": "episode", "tools": ["convert_units"], "episode": 0}
    assert "model calls: 12 of 12" in events[-1]["reason"]


def test_usage_and_timings_are_recorded() -> None:
    trials = explore(
        ScriptedChatModel(script=converter),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
    )
    trial = trials[0]
    assert trial.usage == {"input_tokens": 28, "output_tokens": 12, "total_tokens": 40}
    assert set(trial.timings) == {"imagine_s", "act_s", "reflect_s", "total_s"}
    assert trial.timings["total_s"] >= trial.timings["act_s"] >= 0


def test_token_budget_stops_cleanly() -> None:
    trials = explore(
        ScriptedChatModel(script=converter),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=3, trials_per_episode=1),
        budget=Budget(max_tokens=45),
    )
    assert len(trials) == 1  # 40 tokens after the first trial, 50 after the next call


def test_per_tool_budget_stops_one_tool_and_not_the_other() -> None:
    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        return "Verdict: no" if phase() == "reflect" else "Find a yoga mat"

    trials = explore(
        ScriptedChatModel(script=script),
        [convert_units, search_catalog],
        settings=ExploreSettings(episodes_per_tool=2, trials_per_episode=1),
        budget=Budget(per_tool_model_calls=3),
    )
    # 3 model calls per trial (no tool call): each tool gets one trial, then its budget is spent.
    assert sorted(t.trial_id for t in trials) == ["convert_units/e000/t0", "search_catalog/e000/t0"]


def test_empty_and_unformatted_replies_are_recorded() -> None:
    replies = iter(["", "I think you should convert it yourself."])

    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        kind = phase()
        if kind == "imagine":
            return "Convert 5 km to m"
        return "Verdict: no\nLesson: call the tool." if kind == "reflect" else next(replies)

    trials = explore(
        ScriptedChatModel(script=script),
        [convert_units],
        settings=replace(PRESETS["small-model"], episodes_per_tool=1, trials_per_episode=2),
    )
    empty, prose = trials
    assert empty.final_answer == "" and not empty.steps and not empty.success
    assert prose.final_answer.startswith("I think") and not prose.signals["executed_ok"]
    assert not prose.success and prose.lesson == "call the tool."


def test_imagine_failure_is_a_failed_trial() -> None:
    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        return "   " if phase() == "imagine" else "unused"

    trials = explore(
        ScriptedChatModel(script=script),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
    )
    assert trials[0].error == "imagine produced no request" and not trials[0].success


class Gauge:
    """Counts model calls in flight."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def wrap(self, model: ScriptedChatModel) -> ScriptedChatModel:
        gauge = self
        inner = model._agenerate

        async def agenerate(*args: Any, **kwargs: Any) -> Any:
            with gauge.lock:
                gauge.now += 1
                gauge.peak = max(gauge.peak, gauge.now)
            try:
                return await inner(*args, **kwargs)
            finally:
                with gauge.lock:
                    gauge.now -= 1

        object.__setattr__(model, "_agenerate", agenerate)
        return model


def echo_tools(n: int) -> list[StructuredTool]:
    return [
        StructuredTool.from_function(lambda text: text, name=f"echo{i}", description="Echo.")
        for i in range(n)
    ]


def test_max_concurrency_bounds_model_calls_in_flight() -> None:
    gauge = Gauge()
    model = gauge.wrap(ScriptedChatModel(script=lambda m, t: "done", latency=0.02))
    trials = asyncio.run(
        aexplore(
            model,
            echo_tools(12),
            settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1, max_concurrency=4),
        )
    )
    assert len(trials) == 12
    assert gauge.peak == 4


def test_episodes_of_one_tool_can_run_concurrently() -> None:
    def timed(ordered: bool) -> tuple[float, list[str]]:
        model = ScriptedChatModel(script=lambda m, t: "done", latency=0.05)
        started = time.perf_counter()
        trials = asyncio.run(
            aexplore(
                model,
                echo_tools(1),
                settings=ExploreSettings(
                    episodes_per_tool=6,
                    trials_per_episode=1,
                    ordered_episodes=ordered,
                    max_concurrency=6,
                ),
            )
        )
        return time.perf_counter() - started, [t.trial_id for t in trials]

    ordered_s, ordered_ids = timed(True)
    parallel_s, parallel_ids = timed(False)
    assert ordered_ids == parallel_ids == [f"echo0/e{e:03d}/t0" for e in range(6)]
    assert ordered_s > 6 * 3 * 0.05 * 0.9  # 3 calls per trial, one after another
    assert parallel_s < ordered_s / 2


def test_a_small_run_recursion_limit_does_not_cut_units_short() -> None:
    graph = create_explorer(
        ScriptedExplorer(),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=3, trials_per_episode=4),
    )
    out = graph.invoke({"tools": ["convert_units"]}, {"recursion_limit": 10})
    assert len(out["trials"]) == 12 and out["stopped"] == []


def test_presets_resolve_by_model_and_overrides_win() -> None:
    local_like = type("ChatLocalHF", (ScriptedChatModel,), {})()
    assert default_preset(local_like) == "small-model"
    assert default_preset(ScriptedChatModel()) == "paper"
    settings = resolve_settings(local_like, None, {"max_steps": 5, "trials_per_episode": None})
    assert resolve_settings(local_like, "paper") == PRESETS["paper"]
    mine = ExploreSettings(episodes_per_tool=1)
    assert resolve_settings(local_like, mine) == mine
    assert (settings.max_steps, settings.trials_per_episode, settings.demonstrations) == (
        5,
        2,
        True,
    )
    with pytest.raises(ValueError, match="unknown preset 'fast'"):
        resolve_settings(local_like, "fast", {})


def test_studio_factory_reads_config_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STE_MODEL_FACTORY", "langchain_ste.testing:ScriptedExplorer")
    monkeypatch.setenv("STE_OUT", str(tmp_path))
    graph = make_graph({"configurable": {"preset": "small-model"}})
    out = graph.invoke({"tools": ["search_catalog"]})
    assert len(out["trials"]) == 4  # small-model: 2 episodes x 2 trials
    assert len((tmp_path / "trials.jsonl").read_text().splitlines()) == 4


def test_aexplore_passes_progress_events_on() -> None:
    events: list[dict[str, Any]] = []
    explore(
        ScriptedChatModel(script=converter),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=2, trials_per_episode=1),
        on_event=events.append,
    )
    assert [e["event"] for e in events] == ["trial", "episode", "trial", "episode"]


def test_transient_errors_are_retried_by_the_node_retry_policy_in_sync_runs_too() -> None:
    from langgraph.types import RetryPolicy

    class RateLimitError(Exception):
        pass

    failures = iter([RateLimitError("429"), RateLimitError("429")])

    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        if phase() == "imagine":
            failure = next(failures, None)
            if failure is not None:
                raise failure
        return converter(messages, tools)

    retry = RetryPolicy(initial_interval=0.001, jitter=False, max_attempts=3,
                        retry_on=lambda e: isinstance(e, RateLimitError))
    graph = create_explorer(
        ScriptedChatModel(script=script),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1, retry=retry),
        budget=Budget(max_model_calls=6),
    )
    out = graph.invoke({})  # sync: each node runs in its own event loop
    trial = out["trials"][0]
    assert trial["error"] is None and trial["success"]
    # Every attempt is charged: 2 failed imagines + 4 calls of the trial = 6 of 6.
    assert out["stopped"] == []
    again = create_explorer(
        ScriptedChatModel(script=script),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1, retry=retry),
        budget=Budget(max_model_calls=5),
    )
    failures = iter([RateLimitError("429"), RateLimitError("429")])
    assert "model calls: 5 of 5" in again.invoke({})["stopped"][0]
