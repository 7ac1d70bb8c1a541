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
    is_correct,
    is_malformed_reply,
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
    assert scores[ALL] == Scores(n=4, well_formed=2, tool_match=2, correct=1, errors=1)
    assert scores["x"] == Scores(n=2, well_formed=1, tool_match=2, correct=1, errors=0)
    assert scores["y"].rates() == {"well_formed": 0.5, "tool_match": 0.0, "correct": 0.0}
    assert score([]).rates() == {"well_formed": 0.0, "tool_match": 0.0, "correct": 0.0}


def test_results_round_trip_through_dicts() -> None:
    result = entry(TurnResult("q", calls=[call("f", a=[1, 2])], expected=["f"]), correct=True)
    result.detail = {"error_type": "x"}
    assert EntryResult.from_dict(result.to_dict()) == result
