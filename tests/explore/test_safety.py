"""Secrets never enter graph state (checkpoints included); unknown tool names are errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_ste.explore import ExploreSettings, create_explorer, explore
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.tools.examples import example_tools
from langchain_ste.tools.policy import ToolPolicy
from langchain_ste.trial import Trial

SECRET = "sk-proj-Zx81QmT4vLp0Rk7sWc2NbY9eHd6Jf3Ga"
PASSWORD = "hunter2-correct-horse"


def connect(host: str) -> str:
    """Open a connection to a database host."""
    return f"connected to {host}; api_key={SECRET} url=postgres://admin:{PASSWORD}@{host}/db"


def _bytes(value: Any) -> Iterator[bytes]:
    """Every bytes and str leaf of a checkpointer's storage (serialized states and writes)."""
    if isinstance(value, bytes):
        yield value
    elif isinstance(value, str):
        yield value.encode()
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _bytes(key)
            yield from _bytes(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _bytes(item)


def act(messages: list[BaseMessage], tools: list[str]) -> Any:
    if isinstance(messages[-1], ToolMessage):
        return f"Done: {messages[-1].text}"  # echoes whatever the tool returned
    call = {"name": "connect", "args": {"host": "db1"}, "id": "c1", "type": "tool_call"}
    return AIMessage("", tool_calls=[call])


def test_a_checkpointer_never_stores_a_raw_secret_from_a_tool() -> None:
    tool = StructuredTool.from_function(connect)
    model = ScriptedChatModel(
        by_node={"imagine": ["Connect to db1"], "act": act, "reflect": ["Verdict: yes"]}
    )
    saver = InMemorySaver()
    graph = create_explorer(
        model,
        [tool],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=2),
        checkpointer=saver,
    )
    out = graph.invoke({}, {"configurable": {"thread_id": "t1"}})
    first = Trial.from_dict(out["trials"][0])
    assert len(out["trials"]) == 2 and first.steps[0].status == "ok"
    stored = b"".join(_bytes((saver.storage, saver.writes, saver.blobs)))
    assert len(stored) > 10_000  # the unit's states were checkpointed
    for raw in (SECRET, PASSWORD):
        assert raw.encode() not in stored
    assert "[REDACTED]" in first.steps[0].output
    # What the model saw next was masked as well.
    second_turn = [c["messages"] for c in model.calls if c["node"] == "act"][1]
    assert SECRET not in second_turn[-1].text and "[REDACTED]" in second_turn[-1].text


def test_without_a_redactor_the_raw_result_is_kept() -> None:
    tool = StructuredTool.from_function(connect)
    model = ScriptedChatModel(
        by_node={"imagine": ["Connect to db1"], "act": act, "reflect": ["Verdict: yes"]}
    )
    trials = explore(
        model,
        [tool],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
        redactor=None,
    )
    assert SECRET in trials[0].steps[0].output


def test_only_with_a_typo_is_an_error_listing_the_known_tools() -> None:
    with pytest.raises(ValueError, match=r"unknown tools \['convert_unit'\]") as info:
        explore(ScriptedChatModel(), example_tools(), only=["convert_unit"])
    assert "convert_units, search_catalog" in str(info.value)
    graph = create_explorer(ScriptedChatModel(), example_tools())
    with pytest.raises(ValueError, match="known tools: convert_units, search_catalog"):
        graph.invoke({"tools": ["nope"]})


def test_a_policy_naming_an_unknown_tool_is_an_error() -> None:
    policy = ToolPolicy(tools={"convert_unit": "skip"})
    with pytest.raises(ValueError, match=r"convert_unit.*convert_units, search_catalog"):
        create_explorer(ScriptedChatModel(), example_tools(), policy=policy)
    with pytest.raises(ValueError, match="convert_unit"):
        explore(ScriptedChatModel(), example_tools(), policy=policy)


def dump(host: str) -> str:
    """Dump a database host's settings."""
    return "x" * 300 + f" api_key={SECRET}"


def test_a_secret_past_what_the_model_saw_is_masked_in_the_stored_output() -> None:
    tool = StructuredTool.from_function(dump)
    call = {"name": "dump", "args": {"host": "db1"}, "id": "c1", "type": "tool_call"}
    model = ScriptedChatModel(
        by_node={
            "imagine": ["Dump db1"],
            "act": lambda m, t: (
                "Done." if isinstance(m[-1], ToolMessage) else AIMessage("", tool_calls=[call])
            ),
            "reflect": ["Verdict: yes"],
        }
    )
    [trial] = explore(
        model,
        [tool],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
        policy=ToolPolicy(max_output_chars=100),
    )
    tool_message = trial.to_messages()[2]
    assert SECRET not in tool_message.text  # the model saw a truncated output
    assert "ste_step" in tool_message.response_metadata  # the full one is kept beside it
    assert trial.steps[0].output.endswith("api_key=[REDACTED]")
    assert SECRET not in json.dumps(trial.to_dict())
