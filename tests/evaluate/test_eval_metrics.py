"""Metrics on hand-made results."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage

from langchain_ste.evaluate.metrics import (
    ALL,
    EntryResult,
    Scores,
    TurnResult,
    aggregate,
    args_match,
    call_matches,
    has_parsed_call,
    is_correct,
    is_malformed_reply,
    is_paper_api_match,
    is_paper_well_formed,
    is_tool_match,
    is_well_formed,
    score,
    values_match,
)


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


def entry(
    *turns: TurnResult, correct: bool = False, category: str = "c", error: str | None = None
) -> EntryResult:
    return EntryResult(id="e", category=category, correct=correct, turns=list(turns), error=error)


def test_well_formed_needs_every_reply_of_every_turn_to_parse() -> None:
    ok = TurnResult("q", replies=3)
    assert is_well_formed(entry(ok, ok))
    assert not is_well_formed(entry(ok, TurnResult("q", replies=2, malformed=1)))
    assert not is_well_formed(entry(ok, error="agent: boom"))


def test_malformed_reply_is_an_invalid_call_or_a_failed_react_action() -> None:
    bad_call = {"name": "f", "args": "{", "id": "1", "error": "bad", "type": "invalid_tool_call"}
    assert is_malformed_reply(AIMessage("", invalid_tool_calls=[bad_call]))
    assert is_malformed_reply(AIMessage("x", response_metadata={"react": "invalid"}))
    assert not is_malformed_reply(AIMessage("x", response_metadata={"react": "unformatted"}))
    assert not is_malformed_reply(AIMessage("plain native answer"))


def test_tool_match_compares_sets_per_turn() -> None:
    t1 = TurnResult("q", calls=[call("cd"), call("ls"), call("cd")], expected=["ls", "cd"])
    t2 = TurnResult("q", calls=[call("cat")], expected=["cat"])
    assert is_tool_match(entry(t1, t2))
    assert not is_tool_match(entry(t1, TurnResult("q", calls=[], expected=["cat"])))
    assert not is_tool_match(
        entry(t1, TurnResult("q", calls=[call("cat"), call("rm")], expected=["cat"]))
    )
    assert is_tool_match(entry(TurnResult("q", calls=[], expected=[])))
    assert not is_tool_match(entry())
    assert not is_tool_match(entry(t1, error="checker: x"))


def test_correct_is_the_checker_verdict_unless_the_entry_errored() -> None:
    assert is_correct(entry(correct=True))
    assert not is_correct(entry(correct=False))
    assert not is_correct(entry(correct=True, error="checker: x"))


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        (3, 3.0, True),
        (3, 3.0004, True),
        (3, 3.1, False),
        (100, "100", True),
        ("Coffee Grinder", " coffee grinder ", True),
        ("F", "C", False),
        (True, 1, False),
        ([1, "a"], [1.0, "A"], True),
        ([1], [1, 2], False),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"b": 1}, False),
        (None, None, True),
        (None, "", False),
    ],
)
def test_values_match(expected: Any, actual: Any, same: bool) -> None:
    assert values_match(expected, actual) is same


def test_args_match_allows_extras_and_absent_empty_values() -> None:
    expected = {"query": "", "category": "electronics", "max_price": 50}
    assert args_match(expected, {"category": "electronics", "max_price": 50.0, "limit": 3})
    assert args_match(expected, {"query": "", "category": "Electronics", "max_price": 50})
    assert not args_match(expected, {"category": "electronics"})
    assert not args_match(expected, {"category": "books", "max_price": 50})
    assert call_matches([call("a", x=1), call("b", x=2)], "b", {"x": 2})
    assert not call_matches([call("a", x=2)], "b", {"x": 2})


def test_score_and_aggregate_per_category() -> None:
    good = entry(
        TurnResult("q", calls=[call("f")], expected=["f"], replies=2), correct=True, category="x"
    )
    near = entry(
        TurnResult("q", calls=[call("f")], expected=["f"], replies=2, malformed=1), category="x"
    )
    wrong = entry(TurnResult("q", calls=[call("g")], expected=["f"], replies=1), category="y")
    failed = entry(category="y", error="agent: timeout")
    scores = aggregate([good, near, wrong, failed])
    assert list(scores) == [ALL, "x", "y"]
    assert scores[ALL] == Scores(
        n=4,
        well_formed=2,
        tool_match=2,
        correct=1,
        errors=1,
        paper_well_formed=3,
        paper_api_match=2,
    )
    assert scores["x"] == Scores(
        n=2,
        well_formed=1,
        tool_match=2,
        correct=1,
        errors=0,
        paper_well_formed=2,
        paper_api_match=2,
    )
    assert scores["y"].rates() == {"well_formed": 0.5, "tool_match": 0.0, "correct": 0.0}
    assert score([]).rates() == {"well_formed": 0.0, "tool_match": 0.0, "correct": 0.0}


def test_results_round_trip_through_dicts() -> None:
    result = entry(TurnResult("q", calls=[call("f", a=[1, 2])], expected=["f"]), correct=True)
    result.detail = {"error_type": "x"}
    assert EntryResult.from_dict(result.to_dict()) == result


def test_paper_well_formed_needs_a_parseable_call_where_one_is_expected() -> None:
    answered = TurnResult("q", expected=["f"], replies=1, parsed=0, answer="I think 42")
    called = TurnResult("q", calls=[call("f")], expected=["f"], replies=2, parsed=1)
    chat = TurnResult("q", expected=[], replies=1, parsed=0)
    # ours: answering without a call follows the protocol; the paper's: not well-formed
    assert is_well_formed(entry(answered)) and not is_paper_well_formed(entry(answered))
    assert is_paper_well_formed(entry(called, chat))  # a turn that expects no call is not counted
    assert not is_paper_well_formed(entry(called, answered))
    assert is_paper_well_formed(entry(chat)) and not is_paper_well_formed(entry())
    assert not is_paper_well_formed(entry(called, error="agent: boom"))
    # a call that parsed but failed the tool's schema still counts as parseable
    rejected = TurnResult("q", calls=[], expected=["f"], replies=2, parsed=1)
    assert is_paper_well_formed(entry(rejected)) and not is_tool_match(entry(rejected))


def test_paper_api_match_is_a_rate_over_the_well_formed_entries() -> None:
    right = entry(TurnResult("q", calls=[call("f")], expected=["f"], replies=2, parsed=1))
    wrong = entry(TurnResult("q", calls=[call("g")], expected=["f"], replies=2, parsed=1))
    answered = entry(TurnResult("q", expected=["f"], replies=1, parsed=0))
    assert is_paper_api_match(right) and not is_paper_api_match(wrong)
    scores = score([right, wrong, answered, answered])
    assert scores.paper_rates() == {
        "paper_well_formed": 0.5,
        "paper_api_match": 0.5,  # 1 of the 2 well-formed, not 1 of all 4
        "paper_correct": 0.0,
    }
    assert scores.rates()["tool_match"] == 0.25
    assert score([answered]).paper_rates()["paper_api_match"] == 0.0


def test_strict_scoring_counts_python_literal_calls_as_malformed() -> None:
    from langchain_ste.models.react_protocol import reply_to_message

    literal = reply_to_message("Action: f\nAction Input: {'x': 1,}", ["f"])
    assert literal.tool_calls  # the agent path ran it
    assert is_malformed_reply(literal) and not has_parsed_call(literal)
    assert not is_malformed_reply(literal, lenient=True) and has_parsed_call(literal, lenient=True)
    json_call = reply_to_message('Action: f\nAction Input: {"x": 1}', ["f"])
    assert not is_malformed_reply(json_call) and has_parsed_call(json_call)
    assert not has_parsed_call(reply_to_message("Final Answer: 1", ["f"]))
    native = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "n1", "type": "tool_call"}])
    assert has_parsed_call(native) and not is_malformed_reply(native)


def test_results_from_older_and_newer_versions_load() -> None:
    old_turn = {
        "question": "q",
        "calls": [{"name": "f", "args": {}}],
        "expected": ["f"],
        "replies": 1,
        "malformed": 0,
        "answer": "",
    }
    old = EntryResult.from_dict({"id": "a", "category": "c", "correct": True, "turns": [old_turn]})
    assert old.turns[0].parsed is None and is_paper_well_formed(old)  # its calls stand in
    newer = EntryResult.from_dict(
        {"id": "a", "category": "c", "turns": [{**old_turn, "later": 1}], "later": 2}
    )
    assert newer.turns[0].calls == old_turn["calls"]
