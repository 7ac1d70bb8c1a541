"""A trial's trajectory: steps read from its messages, built from steps, migrated from version 1."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, messages_to_dict

from langchain_ste.trajectory import (
    STEP_KEY,
    UNCOUNTED_KEY,
    Step,
    final_answer_of,
    not_a_step,
    steps_of,
    uncount_invalid_calls,
    with_step,
)
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

CALL = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}


def invalid(call_id: str, error: str, name: str = "add") -> dict:
    """A malformed call as a parser reports it (`InvalidToolCall`)."""
    return {"name": name, "args": "{a:", "id": call_id, "error": error, "type": "invalid_tool_call"}


def test_a_step_record_keeps_the_stored_output_only_when_the_model_saw_less() -> None:
    long = Step(tool="add", args=CALL["args"], call_id="c1", output="3" * 50, duration_s=0.2)
    shown = with_step(ToolMessage("333...", tool_call_id="c1", name="add"), long)
    same = with_step(ToolMessage("3", tool_call_id="c1", name="add"), replace(long, output="3"))
    assert shown.response_metadata[STEP_KEY]["output"] == "3" * 50
    assert "output" not in same.response_metadata[STEP_KEY]
    msgs = messages_to_dict([HumanMessage("1+2?"), AIMessage("", tool_calls=[CALL]), shown])
    assert steps_of(msgs) == (long,) and final_answer_of(msgs) == ""


def test_marked_messages_and_uncounted_invalid_calls_are_no_steps() -> None:
    bad = [invalid("b1", "broken JSON"), invalid("b2", "unknown tool 'nope'", name="nope")]
    reply = AIMessage("x", tool_calls=[CALL], invalid_tool_calls=bad)
    refused = not_a_step(ToolMessage("Error: step limit", tool_call_id="c1", status="error"))
    msgs = messages_to_dict([HumanMessage("q"), reply, refused, AIMessage("done")])
    assert [(s.call_id, s.error_kind) for s in steps_of(msgs)] == [
        ("b1", "parse_error"),
        ("b2", "unknown_tool"),
    ]
    counted_one = uncount_invalid_calls(reply, [1])
    assert counted_one.response_metadata[UNCOUNTED_KEY] == [1]
    msgs = messages_to_dict([HumanMessage("q"), counted_one, refused, AIMessage("done")])
    assert [s.call_id for s in steps_of(msgs)] == ["b1"]
    assert final_answer_of(msgs) == "done"


def test_a_tool_message_without_a_record_is_a_step_by_its_status() -> None:
    msgs = messages_to_dict(
        [
            HumanMessage("q"),
            AIMessage("", tool_calls=[CALL]),
            ToolMessage("boom", tool_call_id="c1", status="error"),
            AIMessage([{"type": "text", "text": " It failed. "}]),
        ]
    )
    (step,) = steps_of(msgs)
    assert (step.tool, step.args, step.status) == ("add", CALL["args"], "error")
    assert step.output == "boom"
    assert final_answer_of(msgs) == "It failed."


def test_steps_cannot_be_changed_in_place() -> None:
    trial = Trial.from_steps(
        trial_id="a", tools=["add"], episode=0, index=0, query="q",
        steps=[Step(tool="add", args={}, call_id="c", output="3")],
    )  # fmt: skip
    with pytest.raises(AttributeError):
        trial.steps.append(trial.steps[0])  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        trial.steps[0].output = "4"  # type: ignore[misc]
    with pytest.raises(TypeError, match="pass steps, not messages"):
        Trial.from_steps(trial_id="a", tools=[], episode=0, index=0, query="q", messages=[])


def v1_record() -> dict:
    """A version-1 trial as exploration wrote it: a step whose stored output is longer than what
    the model saw, a malformed call, a malformed call past the step limit, a call refused at the
    limit, the answer."""
    bad, late = invalid("b1", "broken JSON"), invalid("b2", "broken JSON")
    messages = [
        HumanMessage("1+2?"),
        AIMessage("", tool_calls=[CALL]),
        ToolMessage("3...", tool_call_id="c1", name="add"),
        AIMessage("garbage", invalid_tool_calls=[bad]),
        AIMessage("", tool_calls=[{**CALL, "id": "c2"}], invalid_tool_calls=[late]),
        ToolMessage("Error: step limit of 2 tool calls reached", tool_call_id="c2", status="error"),
        AIMessage("It is 3."),
    ]  # fmt: skip
    steps = [
        Step(tool="add", args=CALL["args"], call_id="c1", output="3" * 20, duration_s=0.1),
        Step(tool="add", args={}, call_id="b1", output="{a:", status="error",
             error_kind="parse_error", error="broken JSON"),
    ]  # fmt: skip
    return {
        "trial_id": "add/e000/t0", "tools": ["add"], "episode": 0, "index": 0, "query": "1+2?",
        "messages": messages_to_dict(messages), "steps": [s.to_dict() for s in steps],
        "final_answer": "It is 3.", "success": True, "schema_version": 1,
    }  # fmt: skip


def test_a_version_1_record_moves_its_steps_into_the_messages(tmp_path: Path) -> None:
    record = v1_record()
    trial = Trial.from_dict(record)
    assert [s.to_dict() for s in trial.steps] == record["steps"]
    assert trial.final_answer == "It is 3." and trial.schema_version == 2
    data = trial.to_dict()
    assert "steps" not in data and "final_answer" not in data
    log = TrialLog(tmp_path / "trials.jsonl")
    log.append([trial])
    assert TrialLog(log.path).read() == [trial]


def test_a_version_1_record_without_messages_gets_them_from_its_steps() -> None:
    record = {**v1_record(), "messages": []}
    trial = Trial.from_dict(record)
    assert [s.to_dict() for s in trial.steps] == record["steps"]
    assert [m.type for m in trial.to_messages()] == ["human", "ai", "tool", "ai", "tool", "ai"]
