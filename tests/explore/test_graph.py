"""Exploration graph logic on scripted fake models."""

from __future__ import annotations

import asyncio
import itertools
import operator
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool, tool
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from langchain_ste.explore import (
    PRESETS,
    ExploreSettings,
    ListStore,
    aexplore,
    create_explorer,
    explore,
)
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.tools.examples import convert_units, example_tools, search_catalog
from langchain_ste.tools.policy import Budget, ToolPolicy
from langchain_ste.trajectory import check_tool_pairing
from langchain_ste.trial_log import TrialLog

_ids = itertools.count()
FAST_RETRY = RetryPolicy(
    initial_interval=0.001,
    max_interval=0.001,
    max_attempts=3,
    jitter=False,
    retry_on=lambda e: "RateLimit" in type(e).__name__,
)


def call(name: str, **args: Any) -> AIMessage:
    return AIMessage(
        "", tool_calls=[{"name": name, "args": args, "id": f"c{next(_ids)}", "type": "tool_call"}]
    )


class Agent:
    """A scripted explorer, routed by graph node: numbered queries (imagine), one conversion
    call then an answer (act), a yes verdict (reflect)."""

    def __init__(
        self, act: Any = None, verdict: str = "Verdict: yes\nLesson: units matter."
    ) -> None:
        self.n = 0
        self.act = act
        self.verdict = verdict

    def model(self, **kw: Any) -> ScriptedChatModel:
        return ScriptedChatModel(
            by_node={"imagine": self.imagine, "act": self.answer, "reflect": [self.verdict]}, **kw
        )

    def imagine(self, messages: list[BaseMessage], tools: list[str]) -> Any:
        self.n += 1
        return f"Convert {self.n} km to m"

    def answer(self, messages: list[BaseMessage], tools: list[str]) -> Any:
        if self.act is not None:
            return self.act(messages)
        if isinstance(messages[-1], ToolMessage):
            return f"The answer is {messages[-1].text}"
        return call("convert_units", value=1, from_unit="km", to_unit="m")


def prompts_of(model: ScriptedChatModel, node: str) -> list[str]:
    """The system prompts ``node`` sent to the model, in order."""
    return [c["messages"][0].text for c in model.calls if c["node"] == node]


SETTINGS = {f.name for f in fields(ExploreSettings)}


def run(model: ScriptedChatModel, tools: Any = None, **kw: Any) -> list[Any]:
    """`explore` with small paper settings; settings fields may be passed as keywords."""
    kw.setdefault("episodes_per_tool", 1)
    kw.setdefault("trials_per_episode", 2)
    kw.setdefault("retry", FAST_RETRY)
    preset = PRESETS[kw.pop("preset", "paper")]
    settings = replace(preset, **{k: kw.pop(k) for k in list(kw) if k in SETTINGS})
    return explore(model, tools or [convert_units], settings=settings, **kw)


def test_trials_have_ids_pairs_steps_and_signals(tmp_path: Path) -> None:
    trials = run(Agent().model(), episodes_per_tool=2, memory=tmp_path)
    assert [t.trial_id for t in trials] == [
        "convert_units/e000/t0",
        "convert_units/e000/t1",
        "convert_units/e001/t0",
        "convert_units/e001/t1",
    ]
    first = trials[0]
    assert first.query == "Convert 1 km to m"
    assert first.steps[0].output == "1 km = 1000 m" and first.steps[0].ok
    assert first.final_answer == "The answer is 1 km = 1000 m"
    assert first.success and first.lesson == "units matter."
    assert first.signals["executed_ok"] and first.signals["answer_uses_result"]
    msgs = first.to_messages()
    assert isinstance(msgs[0], HumanMessage) and msgs[0].content == first.query
    check_tool_pairing(msgs)
    assert first.usage == {} and first.model == "scripted"
    assert [t.trial_id for t in TrialLog(tmp_path / "trials.jsonl").read()] == [
        t.trial_id for t in trials
    ]


def test_short_term_memory_reaches_later_imagine_prompts() -> None:
    model = Agent().model()
    run(model, trials_per_episode=3)
    imagine = prompts_of(model, "imagine")
    assert "Earlier questions and what happened" not in imagine[0]
    assert "1. Request: Convert 1 km to m" in imagine[1]
    assert "Lesson: units matter." in imagine[1]
    assert "2. Request: Convert 2 km to m" in imagine[2]


def test_long_term_memory_steers_new_episodes(tmp_path: Path) -> None:
    model = Agent().model()
    run(model, memory=tmp_path, trials_per_episode=1, episodes_per_tool=2)
    imagine = prompts_of(model, "imagine")
    assert "Questions already asked" not in imagine[0]
    assert "- Convert 1 km to m" in imagine[1]  # episode 1 sees episode 0's query
    # A later run with more episodes sees everything explored before.
    model2 = Agent().model()
    run(model2, memory=tmp_path, trials_per_episode=1, episodes_per_tool=3)
    prompts = prompts_of(model2, "imagine")
    assert len(prompts) == 1 and "- Convert 1 km to m" in prompts[0]


def test_step_limit_bounds_tool_calls() -> None:
    values = iter(range(100))
    always_call = Agent(
        act=lambda m: call("convert_units", value=next(values), from_unit="m", to_unit="cm")
    )
    trials = run(always_call.model(), trials_per_episode=1, max_steps=3)
    assert len(trials[0].steps) == 3
    assert trials[0].final_answer == ""
    check_tool_pairing(trials[0].to_messages())


def test_a_repeated_successful_call_is_not_run_and_the_model_is_told_to_answer() -> None:
    seen: list[list[BaseMessage]] = []

    def act(messages: list[BaseMessage]) -> AIMessage:
        seen.append(messages)
        if "Answer the request now" in messages[-1].text:
            return AIMessage("It is 200 cm.")
        return call("convert_units", value=2, from_unit="m", to_unit="cm")  # the same, again

    trials = run(Agent(act=act).model(), trials_per_episode=1, max_steps=3)
    trial = trials[0]
    assert [s.tool for s in trial.steps] == ["convert_units"]  # the repeat did not run
    assert trial.final_answer == "It is 200 cm." and trial.success
    recorded = trial.to_messages()
    assert [m.type for m in recorded] == ["human", "ai", "tool", "ai"]  # no nudge, no repeat
    check_tool_pairing(recorded)


def test_a_repeated_failed_call_is_not_run_and_the_model_is_shown_the_error() -> None:
    seen: list[str] = []

    def act(messages: list[BaseMessage]) -> AIMessage:
        seen.append(messages[-1].text)
        if isinstance(messages[-1], ToolMessage) and " = " in messages[-1].text:
            return AIMessage("It is 200 cm.")
        if "That exact call already failed" in messages[-1].text:
            return call("convert_units", value=2, from_unit="m", to_unit="cm")
        return call("convert_units", value=2, from_unit="meters", to_unit="cm")  # again

    trial = run(Agent(act=act).model(), trials_per_episode=1, max_steps=4)[0]
    assert [(s.tool, s.status) for s in trial.steps] == [
        ("convert_units", "error"),
        ("convert_units", "ok"),
    ]
    assert "That exact call already failed: invalid arguments" in seen[2]
    assert trial.final_answer == "It is 200 cm." and trial.success
    recorded = trial.to_messages()
    assert [m.type for m in recorded] == ["human", "ai", "tool", "ai", "tool", "ai"]
    assert not any("already failed" in m.text for m in recorded)
    check_tool_pairing(recorded)


def test_a_second_repeat_of_a_failed_call_runs_and_is_recorded() -> None:
    bad = Agent(act=lambda m: call("convert_units", value=2, from_unit="meters", to_unit="cm"))
    trial = run(bad.model(), trials_per_episode=1, max_steps=3)[0]
    assert [s.status for s in trial.steps] == ["error", "error", "error"]
    check_tool_pairing(trial.to_messages())


class SamplingModel(ScriptedChatModel):
    """A scripted model that declares sampling parameters, as real chat models do."""

    temperature: float = 0.0
    seed: int = 0


def test_imagine_samples_with_a_per_trial_seed_and_retries_a_repeat(tmp_path: Path) -> None:
    asked = iter(["Convert 1 km to m", "Convert 1 km to m", "Convert 5 km to m", "x [Date] y"])
    agent = Agent()
    model = SamplingModel(
        by_node={
            "imagine": lambda m, t: next(asked, "Convert 9 km to m"),
            "act": agent.answer,
            "reflect": [agent.verdict],
        }
    )
    trials = run(model, memory=tmp_path, trials_per_episode=1, episodes_per_tool=3)
    queries = [t.query for t in trials]
    assert queries == ["Convert 1 km to m", "Convert 5 km to m", "Convert 9 km to m"]
    options = [c["options"] for c in model.calls if c["node"] == "imagine"]
    assert len(options) == 5 and all(o["temperature"] == 0.7 for o in options)
    assert len({o["seed"] for o in options}) == 5  # one seed per trial and attempt
    again = SamplingModel(by_node=model.by_node)
    run(again, memory=tmp_path / "again", trials_per_episode=1, episodes_per_tool=1)
    assert again.calls[0]["options"]["seed"] == options[0]["seed"]  # reruns imagine the same
    greedy = SamplingModel(
        by_node={"imagine": ["Convert 1 km to m"], "act": agent.answer, "reflect": [agent.verdict]}
    )
    run(greedy, trials_per_episode=1, imagine_temperature=0.0)
    assert greedy.calls[0]["options"] == {}


def test_imagine_shows_the_tool_inputs() -> None:
    model = Agent().model()
    run(model, trials_per_episode=1)
    assert "Its inputs: value, from_unit, to_unit." in prompts_of(model, "imagine")[0]


def test_at_the_step_limit_the_model_gets_one_turn_to_answer() -> None:
    values = iter(range(100))

    def act(messages: list[BaseMessage]) -> AIMessage:
        if "used all your tool calls" in messages[-1].text:
            return AIMessage("Done: the last result was 2 m = 200 cm.")
        return call("convert_units", value=next(values), from_unit="m", to_unit="cm")

    trial = run(Agent(act=act).model(), trials_per_episode=1, max_steps=2)[0]
    assert len(trial.steps) == 2 and trial.final_answer.startswith("Done:")
    assert [m.type for m in trial.to_messages()] == ["human", "ai", "tool", "ai", "tool", "ai"]


def test_failures_are_recorded_not_raised() -> None:
    @tool
    def flaky(x: int) -> str:
        """Always fails."""
        raise RuntimeError("backend down")

    replies = iter(
        [
            call("flaky", x=1),  # tool raises
            call("flaky", x="not a number"),  # invalid arguments
            call("nope"),  # unknown tool
            AIMessage(
                "garbage",
                invalid_tool_calls=[
                    {
                        "name": "flaky",
                        "args": "{x:",
                        "id": "b1",
                        "error": "bad JSON",
                        "type": "invalid_tool_call",
                    }
                ],
            ),
            AIMessage(""),  # empty reply ends the trial
        ]
    )
    model = Agent(act=lambda m: next(replies)).model()
    trials = run(model, [flaky, convert_units], trials_per_episode=1, max_steps=6, only=["flaky"])
    steps = trials[0].steps
    assert [s.error_kind for s in steps] == [
        "exception",
        "invalid_args",
        "unknown_tool",
        "parse_error",
    ]
    assert "backend down" in (steps[0].error or "")
    # The scripted reflector says yes: "paper" mode trusts it, the grounded signals do not.
    assert trials[0].success and not trials[0].signals["executed_ok"]
    from langchain_ste.explore.verdict import combine

    assert not combine(trials[0].signals, "grounded")
    check_tool_pairing(trials[0].to_messages())


def test_model_errors_retry_then_record_a_failed_trial() -> None:
    class RateLimitError(Exception):
        pass

    attempts = {"n": 0}

    def act(messages: list[BaseMessage]) -> Any:
        attempts["n"] += 1
        if attempts["n"] <= 2:
            raise RateLimitError("429")
        if isinstance(messages[-1], ToolMessage):
            return "done: 1000 m"
        return call("convert_units", value=1, from_unit="km", to_unit="m")

    trials = run(Agent(act=act).model(), trials_per_episode=1)
    assert trials[0].success and trials[0].error is None

    broken = Agent(act=lambda m: (_ for _ in ()).throw(ValueError("context too long")))
    failed = run(broken.model(), trials_per_episode=2)
    assert len(failed) == 2
    assert all(t.error and "context too long" in t.error and not t.success for t in failed)


def test_budget_ends_the_run_cleanly_and_keeps_trials(tmp_path: Path) -> None:
    model = Agent().model()
    events: list[dict[str, Any]] = []
    trials = run(
        model,
        memory=tmp_path,
        trials_per_episode=5,
        budget=Budget(max_model_calls=9),
        on_event=events.append,
    )
    assert len(trials) == 2  # 4 model calls per trial: the third trial cannot finish
    assert len(model.calls) == 9
    assert events[-1]["event"] == "stopped" and "model calls" in events[-1]["reason"]
    assert len(TrialLog(tmp_path / "trials.jsonl").read()) == 2


def test_policy_skip_and_emulate_never_execute_the_tool() -> None:
    ran: list[str] = []

    def make(name: str) -> StructuredTool:
        def fn(text: str) -> str:
            ran.append(name)
            return "real"

        return StructuredTool.from_function(fn, name=name, description=f"{name} things.")

    def act(messages: list[BaseMessage]) -> Any:
        if isinstance(messages[-1], ToolMessage):
            return "ok"
        return AIMessage(
            "",
            tool_calls=[
                {"name": n, "args": {"text": "x"}, "id": f"c{next(_ids)}", "type": "tool_call"}
                for n in ("delete_all", "send_mail", "read")
            ],
        )

    emulator = ScriptedChatModel(script=["mail queued (emulated)"])
    tools = [make("delete_all"), make("send_mail"), make("read")]
    trials = run(
        Agent(act=act).model(),
        tools,
        trials_per_episode=1,
        policy=ToolPolicy(tools={"delete_all": "skip", "send_mail": "emulate"}),
        emulator=emulator,
        only=["read", "send_mail"],
    )
    assert sorted(ran) == ["read", "read"]  # one trial per explored tool, only `read` ran
    for trial in trials:
        kinds = {s.tool: (s.status, s.error_kind) for s in trial.steps}
        assert kinds["delete_all"] == ("skipped", "policy")
        assert kinds["send_mail"] == ("emulated", None)
        assert trial.emulated
    assert len(emulator.calls) == 2


class Crash(BaseException):
    """Simulates the process dying (not an ordinary exception: nothing may catch it)."""


def test_resume_after_a_crash_mid_episode_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    clean_dir, crash_dir = tmp_path / "clean", tmp_path / "crash"
    clean = run(
        Agent().model(),
        episodes_per_tool=2,
        trials_per_episode=3,
        memory=clean_dir,
    )

    calls = {"n": 0}

    def convert(value: float, from_unit: str, to_unit: str) -> str:
        calls["n"] += 1
        if calls["n"] == 4:  # the fourth trial's tool call: the process "dies"
            raise Crash()
        return str(
            convert_units.invoke({"value": value, "from_unit": from_unit, "to_unit": to_unit})
        )

    dying_tool = StructuredTool.from_function(
        convert, name="convert_units", description=convert_units.description
    )
    with pytest.raises(Crash):
        run(
            Agent().model(),
            [dying_tool],
            episodes_per_tool=2,
            trials_per_episode=3,
            memory=crash_dir,
        )
    partial = TrialLog(crash_dir / "trials.jsonl").read()
    assert 0 < len(partial) < len(clean)
    resumed = run(
        Agent().model(),
        episodes_per_tool=2,
        trials_per_episode=3,
        memory=crash_dir,
    )
    assert [t.trial_id for t in resumed] == [t.trial_id for t in clean]
    lines = (crash_dir / "trials.jsonl").read_text().splitlines()
    assert len(lines) == len(clean)  # nothing written twice


class Parent(TypedDict):
    tools: list[str]
    trials: Annotated[list[dict[str, Any]], operator.add]
    stopped: Annotated[list[str], operator.add]
    note: str


def test_explorer_composes_as_a_subgraph() -> None:
    explorer = create_explorer(
        Agent().model(),
        [convert_units],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
    )
    parent = StateGraph(Parent)
    parent.add_node("ste", explorer)
    parent.add_node("after", lambda s: {"note": f"{len(s['trials'])} trials"})
    parent.add_edge(START, "ste")
    parent.add_edge("ste", "after")
    parent.add_edge("after", END)
    out = parent.compile().invoke(
        {"tools": ["convert_units"], "trials": [], "stopped": [], "note": ""}
    )
    assert out["note"] == "1 trials"
    assert out["trials"][0]["trial_id"] == "convert_units/e000/t0"


def test_units_run_concurrently() -> None:
    tools = [
        StructuredTool.from_function(lambda text: text, name=f"echo{i}", description="Echo.")
        for i in range(8)
    ]

    def act(messages: list[BaseMessage]) -> Any:
        return "done"  # answers without tools: 3 model calls per trial

    def timed(concurrency: int) -> tuple[float, list[Any]]:
        model = Agent(act=act).model(latency=0.05)
        started = time.perf_counter()
        settings = ExploreSettings(
            episodes_per_tool=1, trials_per_episode=1, max_concurrency=concurrency, retry=FAST_RETRY
        )
        trials = asyncio.run(aexplore(model, tools, settings=settings))
        return time.perf_counter() - started, trials

    wall, trials = timed(8)
    sequential, _ = timed(1)  # measured alongside, so a busy machine slows both
    assert len(trials) == 8
    assert sequential > 8 * 3 * 0.05  # 24 calls of 50 ms, one at a time
    assert wall < 0.75 * sequential  # idle: about 1/8; a loaded CPU leaves less of a gap


def test_tools_are_validated_up_front() -> None:
    nameless = StructuredTool.from_function(lambda x: x, name="bare", description=" ")
    with pytest.raises(ValueError, match="duplicate tool names: convert_units"):
        create_explorer(ScriptedChatModel(), [convert_units, convert_units])
    with pytest.raises(ValueError, match="without a description: bare"):
        create_explorer(ScriptedChatModel(), [nameless])
    with pytest.raises(ValueError, match="unknown tools"):
        create_explorer(
            ScriptedChatModel(), example_tools(), settings=ExploreSettings(tool_groups=[["nope"]])
        )


def test_small_model_preset_shows_demonstrations_then_bootstraps() -> None:
    model = Agent().model()
    store = ListStore()
    trials = run(
        model,
        [convert_units, search_catalog],
        preset="small-model",
        episodes_per_tool=1,
        trials_per_episode=2,
        memory=store,
        only=["convert_units"],
    )
    assert trials[0].exemplars == ["synthetic:convert_units:0", "synthetic:convert_units:1"]
    assert trials[1].exemplars == ["convert_units/e000/t0"]  # bootstrapped from trial 0
    act_prompts = [
        c["messages"] for c in model.calls if c["node"] == "act" and len(c["messages"]) > 2
    ]
    assert any("[format example]" in m.text for m in act_prompts[0])
    assert trials[0].signals["called_target"] and trials[0].success


def test_exploring_into_a_folder_writes_the_tool_schemas_beside_the_trials(tmp_path: Path) -> None:
    from langchain_ste.memory.tool_schemas import read_tool_schemas

    run(Agent().model(), trials_per_episode=1, memory=tmp_path)
    (schema,) = read_tool_schemas(tmp_path)
    assert schema["function"]["name"] == "convert_units"
    assert schema["function"]["description"].startswith("Convert a quantity")
    assert set(schema["function"]["parameters"]["properties"]) == {"value", "from_unit", "to_unit"}


def test_malformed_calls_past_the_step_limit_add_no_step() -> None:
    def act(messages: list[BaseMessage]) -> AIMessage:
        bad = {"name": "convert_units", "args": "{x:", "id": "b", "error": "broken JSON"}
        return AIMessage("garbage", invalid_tool_calls=[bad])

    trial = run(Agent(act=act).model(), trials_per_episode=1, max_steps=2)[0]
    assert len(trial.steps) == 2 and all(s.error_kind == "parse_error" for s in trial.steps)


def test_each_ablation_switches_off_its_part(tmp_path: Path) -> None:
    from langchain_ste.explore.settings import ABLATIONS

    def explored(name: str) -> tuple[ScriptedChatModel, list[Any]]:
        model = Agent(verdict="Verdict: no\nLesson: none.").model()
        trials = run(
            model,
            memory=tmp_path / name,
            episodes_per_tool=2,
            trials_per_episode=2,
            **ABLATIONS.get(name, {}),
        )
        return model, trials

    full, full_trials = explored("full")
    assert [t.success for t in full_trials] == [False] * 4  # the judge says no
    assert any("Earlier questions" in p for p in prompts_of(full, "imagine"))
    assert any("Questions already asked" in p for p in prompts_of(full, "imagine"))
    assert all(s.status == "ok" for t in full_trials for s in t.steps)

    model, trials = explored("no-short-term-memory")
    assert not any("Earlier questions" in p for p in prompts_of(model, "imagine"))
    assert any("Questions already asked" in p for p in prompts_of(model, "imagine"))

    model, trials = explored("no-long-term-memory")
    assert not any("Questions already asked" in p for p in prompts_of(model, "imagine"))
    assert any("Earlier questions" in p for p in prompts_of(model, "imagine"))

    model, trials = explored("no-reflection")
    assert prompts_of(model, "reflect") == []
    assert [(t.success, t.lesson) for t in trials] == [(True, "")] * 4

    model, trials = explored("no-execution-feedback")
    assert all(s.status == "emulated" for t in trials for s in t.steps) and trials[0].emulated


def test_act_tools_targets_binds_and_runs_only_the_units_tools() -> None:
    def act(messages: list[BaseMessage]) -> Any:
        if isinstance(messages[-1], ToolMessage):
            return "done"
        return call("search_catalog", query="lamp")  # never the unit's target

    everything = Agent(act=act).model()
    kept = run(everything, example_tools(), only=["convert_units"], trials_per_episode=1)
    bound_all = {tuple(c["tools"]) for c in everything.calls if c["node"] == "act"}
    assert bound_all == {tuple(t.name for t in example_tools())}
    assert kept[0].steps[0].status == "ok"  # "all": the other tool is bound and runs

    targets = Agent(act=act).model()
    trials = run(
        targets, example_tools(), only=["convert_units"], trials_per_episode=1, act_tools="targets"
    )
    bound = {tuple(c["tools"]) for c in targets.calls if c["node"] == "act"}
    assert bound == {("convert_units",)}
    step = trials[0].steps[0]
    assert (step.tool, step.status, step.error_kind) == ("search_catalog", "error", "unknown_tool")


def test_act_tools_must_be_all_or_targets() -> None:
    with pytest.raises(ValueError, match="act_tools"):
        ExploreSettings(act_tools="some")  # type: ignore[arg-type]
