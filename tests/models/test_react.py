"""ReActChatModel: any chat model speaks tools through the ReAct text protocol."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatResult
from pydantic import Field

from langchain_ste.models.react import ReActChatModel, react_generate
from langchain_ste.models.react_protocol import LENIENT_CALLS_KEY
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.tools.examples import example_tools

CALL = (
    'Thought: convert\nAction: convert_units\nAction Input: {"value": 2, "from_unit": "km", '
    '"to_unit": "m"}'
)


class StopRecorder(ScriptedChatModel):
    """A scripted model that also records the stop sequences of each call."""

    stops: list[list[str] | None] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.stops.append(stop)
        return super()._generate(messages, stop, run_manager, **kwargs)


def test_bound_tools_become_a_react_prompt_and_replies_become_tool_calls() -> None:
    inner = StopRecorder(
        script=[
            AIMessage(
                CALL, usage_metadata={"input_tokens": 50, "output_tokens": 20, "total_tokens": 70}
            )
        ]
    )
    reply = (
        ReActChatModel(inner=inner)
        .bind_tools(example_tools())
        .invoke([HumanMessage("2 km in m?")], stop=["\nUser:"])
    )
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("convert_units", {"value": 2, "from_unit": "km", "to_unit": "m"})
    ]
    assert reply.response_metadata["react"] == "action"
    assert reply.additional_kwargs["react_thought"] == "convert"
    assert reply.usage_metadata and reply.usage_metadata["total_tokens"] == 70
    shown = inner.calls[0]["messages"]
    assert shown[0].type == "system" and "- convert_units:" in shown[0].text
    assert inner.calls[0]["tools"] == []  # the inner model never sees native tools
    assert inner.stops == [["\nUser:", "\nObservation:"]]


def test_history_with_tool_calls_is_rendered_as_action_and_observation_text() -> None:
    inner = ScriptedChatModel(script=["Thought: done\nFinal Answer: 2000 m"])
    call = {
        "name": "convert_units",
        "args": {"value": 2, "from_unit": "km", "to_unit": "m"},
        "id": "c1",
        "type": "tool_call",
    }
    history = [
        HumanMessage("2 km in m?"),
        AIMessage("", tool_calls=[call]),
        ToolMessage("2 km = 2000 m", tool_call_id="c1"),
    ]
    reply = ReActChatModel(inner=inner).bind_tools(example_tools()).invoke(history)
    assert reply.content == "2000 m" and not reply.tool_calls
    assert reply.response_metadata["react"] == "final"
    shown = inner.calls[0]["messages"]
    assert [m.type for m in shown] == ["system", "human", "ai", "human"]
    assert shown[2].text.startswith("Action: convert_units\nAction Input: {")
    assert shown[3].text == "Observation: 2 km = 2000 m"


def test_bad_replies_become_invalid_tool_calls_not_errors() -> None:
    inner = ScriptedChatModel(
        script=[
            "Action: teleport\nAction Input: {}",
            "Action: convert_units\nAction Input: {value: 2",
        ]
    )
    bound = ReActChatModel(inner=inner).bind_tools(example_tools())
    unknown, broken = bound.invoke("go"), bound.invoke("go")
    assert not unknown.tool_calls and "unknown tool 'teleport'" in (
        unknown.invalid_tool_calls[0]["error"] or ""
    )
    assert not broken.tool_calls and broken.invalid_tool_calls[0]["name"] == "convert_units"


def test_python_literal_inputs_run_when_lenient_and_are_refused_when_strict() -> None:
    literal = "Action: convert_units\nAction Input: {'value': 2, 'from_unit': 'km', 'to_unit': 'm'}"
    lenient = ReActChatModel(inner=ScriptedChatModel(script=[literal])).bind_tools(example_tools())
    ran = lenient.invoke("go")
    assert ran.tool_calls[0]["args"] == {"value": 2, "from_unit": "km", "to_unit": "m"}
    assert ran.response_metadata[LENIENT_CALLS_KEY] == [ran.tool_calls[0]["id"]]
    strict = ReActChatModel(inner=ScriptedChatModel(script=[literal]), lenient=False)
    refused = strict.bind_tools(example_tools()).invoke("go")
    assert not refused.tool_calls and "not valid JSON" in str(
        refused.invalid_tool_calls[0]["error"]
    )


def test_without_tools_calls_pass_straight_through() -> None:
    inner = ScriptedChatModel(script=["Action: nothing parsed here"])
    reply = ReActChatModel(inner=inner).invoke([HumanMessage("hi")])
    assert reply.content == "Action: nothing parsed here" and not reply.invalid_tool_calls
    assert [m.type for m in inner.calls[0]["messages"]] == ["human"]


def test_async_path_matches_sync() -> None:
    inner = ScriptedChatModel(script=[CALL])
    bound = ReActChatModel(inner=inner).bind_tools(example_tools())
    reply = asyncio.run(bound.ainvoke("2 km in m?"))
    assert reply.tool_calls[0]["name"] == "convert_units"
    assert inner.calls[0]["messages"][0].type == "system"


def test_react_generate_is_the_shared_text_path() -> None:
    seen: dict[str, Any] = {}

    def call(messages: list[BaseMessage], stop: list[str] | None) -> AIMessage:
        seen.update(messages=messages, stop=stop)
        return AIMessage(CALL, response_metadata={"model_name": "m"})

    reply = react_generate(call, [HumanMessage("x")], example_tools(), ["END"])
    assert seen["stop"] == ["END", "\nObservation:"]
    assert reply.response_metadata == {"model_name": "m", "react": "action"}


def test_model_name_comes_from_the_inner_model() -> None:
    assert ReActChatModel(inner=ScriptedChatModel(model_name="qwen")).model_name == "qwen"
