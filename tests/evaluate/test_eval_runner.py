"""The runner end to end on scripted fakes: ground-truth replays score 100%, wrong calls 0."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_ste.evaluate.benchmarks.base import CheckResult, EvalCase, ToolEnvironment
from langchain_ste.evaluate.benchmarks.examples import example_cases
from langchain_ste.evaluate.metrics import ALL, aggregate
from langchain_ste.evaluate.runner import load_cases, play_case, run_benchmark
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.tools.examples import HELD_OUT_QUESTIONS, convert_units

Plan = Sequence[Sequence[dict[str, Any]]]


def replay(plan_for: Callable[[list[BaseMessage]], Plan]) -> ScriptedChatModel:
    """A fake that makes the planned calls of the current turn, one per reply, then answers."""

    def script(messages: list[BaseMessage], tools: list[str]) -> AIMessage:
        humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
        turn = len(humans) - 1
        step = sum(isinstance(m, AIMessage) for m in messages[humans[-1] :])
        planned = plan_for(messages)[turn] if turn < len(plan_for(messages)) else []
        if step < len(planned):
            call = planned[step]
            return AIMessage(
                "",
                tool_calls=[
                    {
                        "name": call["name"],
                        "args": call["args"],
                        "id": f"c{turn}_{step}",
                        "type": "tool_call",
                    }
                ],
            )
        return AIMessage("Done.")

    return ScriptedChatModel(script=script)


def _question_index(messages: list[BaseMessage]) -> int:
    first = next(m for m in messages if isinstance(m, HumanMessage))
    return next(i for i, q in enumerate(HELD_OUT_QUESTIONS) if q["question"] == first.content)


def test_examples_ground_truth_replay_scores_100_and_wrong_tool_0() -> None:
    cases = example_cases()

    def truth(messages: list[BaseMessage]) -> Plan:
        q = HELD_OUT_QUESTIONS[_question_index(messages)]
        return [[{"name": q["tool"], "args": q["args"]}]]

    def wrong(messages: list[BaseMessage]) -> Plan:
        q = HELD_OUT_QUESTIONS[_question_index(messages)]
        other = "search_catalog" if q["tool"] == "convert_units" else "convert_units"
        args = (
            {"query": "x"}
            if other == "search_catalog"
            else {"value": 1, "from_unit": "m", "to_unit": "cm"}
        )
        return [[{"name": other, "args": args}]]

    good = aggregate(run_benchmark(replay(truth), cases))[ALL]
    assert (good.n, good.correct, good.tool_match, good.well_formed) == (6, 6, 6, 6)
    bad = aggregate(run_benchmark(replay(wrong), cases))[ALL]
    assert (bad.n, bad.correct, bad.tool_match, bad.well_formed) == (6, 0, 0, 6)


def test_examples_right_tool_wrong_arguments_is_a_tool_match_but_not_correct() -> None:
    def plan(messages: list[BaseMessage]) -> Plan:
        return [
            [{"name": "convert_units", "args": {"value": 99, "from_unit": "in", "to_unit": "cm"}}]
        ]

    result = play_case(replay(plan), example_cases(limit=1)[0])
    assert result.turns[0].expected == ["convert_units"]
    assert not result.correct and "expected convert_units" in result.reason


def test_react_text_replies_are_parsed_and_malformed_ones_counted() -> None:
    model = ScriptedChatModel(script=["Action: convert_units\nAction Input: not json"], react=True)
    result = play_case(model, example_cases(limit=1)[0])
    assert result.turns[0].malformed == 1 and result.turns[0].calls == []
    summary = aggregate([result])[ALL]
    assert (summary.well_formed, summary.correct) == (0, 0)

    good = ScriptedChatModel(
        script=[
            'Action: convert_units\nAction Input: {"value": 3, "from_unit": "in", "to_unit": "cm"}',
            "Final Answer: 7.62 cm",
        ],
        react=True,
    )
    result = play_case(good, example_cases(limit=1)[0])
    assert result.correct and result.turns[0].malformed == 0 and result.turns[0].answer == "7.62 cm"


def test_step_limit_bounds_each_turn() -> None:
    call = {
        "name": "convert_units",
        "args": {"value": 1, "from_unit": "m", "to_unit": "cm"},
        "id": "c",
        "type": "tool_call",
    }
    model = ScriptedChatModel(script=[AIMessage("", tool_calls=[call])])  # never stops calling
    result = play_case(model, example_cases(limit=1)[0], max_steps=3)
    assert result.error is None
    assert result.turns[0].replies == 3 and len(result.turns[0].calls) == 3


def test_agent_and_checker_failures_become_error_entries_and_the_run_goes_on() -> None:
    def broken_check(calls: Any) -> CheckResult:
        raise RuntimeError("checker exploded")

    checker_fails = EvalCase(
        "c1", "demo", ["hi"], [[]], lambda: ToolEnvironment.wrap([convert_units]), broken_check
    )
    ok = example_cases(limit=1)[0]
    model = ScriptedChatModel(script=["Nothing to do."])
    results = run_benchmark(model, [checker_fails, ok])
    assert [r.id for r in results] == ["c1", "examples_0"]
    assert results[0].error == "checker: RuntimeError: checker exploded"
    assert results[1].error is None

    crashing = ScriptedChatModel(script=[ConnectionError("server down")])
    seen: list[str] = []
    results = run_benchmark(crashing, example_cases(limit=2), on_result=lambda r: seen.append(r.id))
    assert seen == ["examples_0", "examples_1"]
    assert all(r.error and "server down" in r.error for r in results)
    assert aggregate(results)[ALL].errors == 2


def test_middleware_is_applied_to_the_agent() -> None:
    from langchain.agents.middleware import AgentMiddleware

    class Marker(AgentMiddleware):
        def wrap_model_call(self, request: Any, handler: Any) -> Any:
            note = HumanMessage("[exemplar]")
            return handler(request.override(messages=[note, *request.messages]))

    model = ScriptedChatModel(script=["ok"])
    play_case(model, example_cases(limit=1)[0], middleware=[Marker()])
    assert model.calls[0]["messages"][1].content == "[exemplar]"
    assert model.calls[0]["tools"] == ["convert_units", "search_catalog"]


def test_unknown_benchmark_is_named() -> None:
    with pytest.raises(ValueError, match="unknown benchmark 'nope'"):
        load_cases("nope")


class TestBFCL:
    ids: ClassVar[list[str]] = ["multi_turn_base_0", "multi_turn_base_113"]

    @pytest.fixture(autouse=True)
    def _needs_bfcl(self) -> None:
        pytest.importorskip("bfcl_eval")

    def _truth(self) -> dict[str, list[list[dict[str, Any]]]]:
        from langchain_ste.evaluate.benchmarks.bfcl import ground_truth_calls, load_entries

        entries = load_entries(ids=self.ids)
        return {e.turns[0]: ground_truth_calls(e) for e in entries}

    def _plan(self) -> Callable[[list[BaseMessage]], Plan]:
        truth = self._truth()

        def plan(messages: list[BaseMessage]) -> Plan:
            first = next(m for m in messages if isinstance(m, HumanMessage))
            return truth[str(first.content)]

        return plan

    def test_ground_truth_replay_scores_100_percent(self) -> None:
        from langchain_ste.evaluate.benchmarks.bfcl import bfcl_cases

        for single in (False, True):
            cases = bfcl_cases(ids=self.ids, single_turn=single)
            results = run_benchmark(replay(self._plan()), cases, max_steps=8)
            scores = aggregate(results)[ALL]
            assert (scores.n, scores.correct, scores.tool_match, scores.well_formed) == (
                2,
                2,
                2,
                2,
            ), [r.reason for r in results]
        assert [len(t.calls) for t in results[0].turns] == [3]

    def test_a_wrong_function_scores_0(self) -> None:
        from langchain_ste.evaluate.benchmarks.bfcl import bfcl_cases

        def wrong(messages: list[BaseMessage]) -> Plan:
            return [[{"name": "pwd", "args": {}}]] * 8

        model = replay(wrong)
        for single in (False, True):
            results = run_benchmark(model, bfcl_cases(ids=self.ids, single_turn=single))
            scores = aggregate(results)[ALL]
            assert (scores.correct, scores.tool_match, scores.errors) == (0, 0, 0)
            assert all(r.reason for r in results)


def _replay_entries(ids: Sequence[str]) -> ScriptedChatModel:
    """A fake replaying the BFCL ground truth of ``ids`` one call per reply."""
    from langchain_ste.evaluate.benchmarks.bfcl import ground_truth_calls, load_entries

    truth = {e.turns[0]: ground_truth_calls(e) for e in load_entries(ids=ids)}

    def plan(messages: list[BaseMessage]) -> Plan:
        first = next(m for m in messages if isinstance(m, HumanMessage))
        return truth[str(first.content)]

    return replay(plan)


class TestBFCLAsBFCLRunsIt:
    @pytest.fixture(autouse=True)
    def _needs_bfcl(self) -> None:
        pytest.importorskip("bfcl_eval")

    def test_every_shipped_multi_turn_category_can_be_loaded_and_replayed_at_100(self) -> None:
        from langchain_ste.evaluate.benchmarks.bfcl import multi_turn_categories

        categories = multi_turn_categories()
        assert {"multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param"} < set(
            categories
        ) and "multi_turn_long_context" in categories
        for category in categories:
            short = category.removeprefix("multi_turn_")
            cases = load_cases("bfcl-multi-turn", category=short, limit=2)
            assert [c.category for c in cases] == [category] * 2
            # entry 65 needs 7 calls in one turn: more than the old limit of 6 model calls
            ids = [c.id for c in cases] + [f"{category}_65"]
            from langchain_ste.evaluate.benchmarks.bfcl import bfcl_cases

            results = run_benchmark(_replay_entries(ids), bfcl_cases(ids=ids))
            scores = aggregate(results)[ALL]
            assert (scores.n, scores.correct, scores.tool_match, scores.errors) == (3, 3, 3, 0), (
                category,
                [r.reason for r in results],
            )
            assert max(len(t.calls) for t in results[-1].turns) == 7

    def test_all_categories_at_once(self) -> None:
        cases = load_cases("bfcl-multi-turn", category="all", limit=1)
        assert len({c.category for c in cases}) == len(cases) >= 4

    def test_long_context_entries_get_long_context_state(self) -> None:
        from langchain_ste.evaluate.benchmarks.bfcl import bfcl_cases

        def state_size(entry_id: str) -> int:
            env = bfcl_cases(ids=[entry_id])[0].environment()
            return len(repr(vars(env.instances["GorillaFileSystem"])))

        base, long = state_size("multi_turn_base_1"), state_size("multi_turn_long_context_1")
        assert long > 3 * base

    def test_miss_func_withholds_the_function_until_the_turn_that_adds_it(self) -> None:
        from langchain_ste.evaluate.benchmarks.bfcl import ADDED_FUNCTIONS_PROMPT, bfcl_cases

        case = bfcl_cases(ids=["multi_turn_miss_func_0"])[0]
        assert case.added_tools == {3: ["sort"]} and case.turns[3] == ADDED_FUNCTIONS_PROMPT
        assert case.expected[2] == []  # the turn that asks for it while it is missing
        model = _replay_entries(["multi_turn_miss_func_0"])
        result = play_case(model, case)
        assert result.correct, result.reason
        offered = {
            sum(isinstance(m, HumanMessage) for m in call["messages"]) - 1: "sort" in call["tools"]
            for call in model.calls
        }
        assert offered == {0: False, 1: False, 2: False, 3: True, 4: True}

    def test_a_turn_that_runs_out_of_steps_fails_the_entry_as_bfcl_force_quits(self) -> None:
        from langchain_ste.evaluate.benchmarks.bfcl import bfcl_cases

        def forever(messages: list[BaseMessage]) -> Plan:
            return [[{"name": "pwd", "args": {}}] * 50] * 8

        case = bfcl_cases(ids=["multi_turn_base_1"])[0]
        result = play_case(replay(forever), case, max_steps=3)
        assert not result.correct and result.error is None
        assert result.reason.startswith("force-terminated: turn 0 used all 3 model calls")
        assert [t.replies for t in result.turns] == [3, 0, 0, 0]
        assert len(result.turns) == len(case.turns)


def test_default_step_limit_is_bfcls() -> None:
    from langchain_ste.evaluate.runner import DEFAULT_MAX_STEPS

    assert DEFAULT_MAX_STEPS == 20


def test_scoring_is_strict_json_by_default_and_lenient_on_request() -> None:
    literal = (
        "Action: convert_units\nAction Input: {'value': 3, 'from_unit': 'in', 'to_unit': 'cm'}"
    )
    script = [literal, "Final Answer: 7.62 cm"]
    case = example_cases(limit=1)[0]
    strict = play_case(ScriptedChatModel(script=script, react=True), case)
    # the agent ran the call (it parsed leniently), but it was not JSON
    assert strict.correct and strict.turns[0].calls
    assert (strict.turns[0].malformed, strict.turns[0].parsed) == (1, 0)
    lenient = play_case(ScriptedChatModel(script=script, react=True), case, lenient=True)
    assert (lenient.turns[0].malformed, lenient.turns[0].parsed) == (0, 1)


def test_answer_only_replies_are_well_formed_for_us_but_not_for_the_paper() -> None:
    result = play_case(
        ScriptedChatModel(script=["Final Answer: 7.62 cm"], react=True), example_cases(limit=1)[0]
    )
    scores = aggregate([result])[ALL]
    assert (scores.well_formed, scores.paper_well_formed) == (1, 0)
