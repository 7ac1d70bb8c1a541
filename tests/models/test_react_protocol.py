"""The ReAct text protocol: strict parsing that never raises, and rendering that round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_ste.models.react_protocol import (
    LENIENT_CALLS_KEY,
    format_ai_message,
    format_react_call,
    messages_to_react,
    parse_arguments,
    parse_react,
    reply_to_message,
)
from langchain_ste.models.schemas import render_tools
from langchain_ste.tools.examples import example_tools

TOOLS = ["convert_units", "search_catalog"]

CASES = [
    # (reply, kind, [(name, args)], n_invalid, final answer)
    (
        'Thought: convert\nAction: convert_units\nAction Input: {"value": 3, "from_unit": "in", '
        '"to_unit": "cm"}',
        "action",
        [("convert_units", {"value": 3, "from_unit": "in", "to_unit": "cm"})],
        0,
        None,
    ),
    (
        'Action: search_catalog\nAction Input: {"query": "mat"} and then I will answer',
        "action",
        [("search_catalog", {"query": "mat"})],
        0,
        None,
    ),
    # a Python literal is not JSON: invalid unless parsed leniently (see below)
    ("Action: search_catalog\nAction Input: {'query': 'mat', 'limit': 2}", "invalid", [], 1, None),
    ("Action: search_catalog\n", "invalid", [], 1, None),
    ('Action: delete_everything\nAction Input: {"x": 1}', "invalid", [], 1, None),
    (
        'Action: search_catalog\nAction Input: {"query": "a"}\nAction: convert_units\n'
        'Action Input: {"value": 1, "from_unit": "m", "to_unit": "cm"}',
        "action",
        [
            ("search_catalog", {"query": "a"}),
            ("convert_units", {"value": 1, "from_unit": "m", "to_unit": "cm"}),
        ],
        0,
        None,
    ),
    (
        'Action: search_catalog\nAction Input: {"query": "a"}\nObservation: A100 shoes\n'
        "Action: convert_units\nAction Input: {}",
        "action",
        [("search_catalog", {"query": "a"})],
        0,
        None,
    ),
    (
        '**Action:** search_catalog\n**Action Input:** {"query": "pan"}',
        "action",
        [("search_catalog", {"query": "pan"})],
        0,
        None,
    ),
    ("Thought: I know it\nFinal Answer: 7.62 cm", "final", [], 0, "7.62 cm"),
    ("3 inches is 7.62 cm.", "unformatted", [], 0, "3 inches is 7.62 cm."),
    ('Action: search_catalog\nAction Input: {"query": "a"', "invalid", [], 1, None),
    ("Action: search_catalog\nAction Input: [1, 2]", "invalid", [], 1, None),
    (
        '```\nAction: search_catalog\nAction Input: ```json\n{"query": "x"}\n```',
        "action",
        [("search_catalog", {"query": "x"})],
        0,
        None,
    ),
]


@pytest.mark.parametrize(("text", "kind", "calls", "n_invalid", "final"), CASES)
def test_parse_react_table(
    text: str, kind: str, calls: list, n_invalid: int, final: str | None
) -> None:
    reply = parse_react(text, TOOLS)
    assert reply.kind == kind
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == calls
    assert len(reply.invalid_tool_calls) == n_invalid
    assert all(c["id"] for c in reply.tool_calls)
    if final is not None:
        assert reply.final_answer == final


def test_invalid_calls_say_why() -> None:
    unknown = parse_react('Action: nope\nAction Input: {"a": 1}', TOOLS)
    assert "unknown tool 'nope'" in str(unknown.invalid_tool_calls[0]["error"])
    missing = parse_react("Action: search_catalog", TOOLS)
    assert "no Action Input" in str(missing.invalid_tool_calls[0]["error"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_parser_never_raises(text: str) -> None:
    reply = parse_react(text, TOOLS)
    assert reply.kind in ("action", "final", "invalid", "unformatted")


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.one_of(
            st.integers(),
            st.text(max_size=20),
            st.booleans(),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=5,
    )
)
def test_format_then_parse_round_trips(args: dict) -> None:
    reply = parse_react(format_react_call("search_catalog", args, thought="look"), TOOLS)
    assert reply.kind == "action"
    assert reply.tool_calls[0]["args"] == args


def test_parse_arguments_reports_non_objects() -> None:
    assert parse_arguments('{"a": [1, {"b": "}"}]}') == ({"a": [1, {"b": "}"}]}, None)
    assert parse_arguments("no braces")[1] == "Action Input is not a JSON object: no braces"


def test_render_tools_lists_every_tool_and_the_format() -> None:
    text = render_tools(example_tools())
    assert "- convert_units:" in text and "- search_catalog:" in text
    assert "Action: one tool name from [convert_units, search_catalog]" in text
    assert "Final Answer:" in text


class Address(BaseModel):
    street: str
    city: str = Field(description="the city")


class Item(BaseModel):
    sku: str
    qty: int = 1


@tool
def ship(address: Address, items: list[Item], tags: dict[str, str], notes: list[str]) -> str:
    """Ship items to an address."""
    return "ok"


def _arguments(text: str, name: str) -> str:
    line = next(li for li in text.splitlines() if li.startswith(f"- {name}:"))
    return line.split(" Arguments: ", 1)[1]


def test_nested_objects_render_their_fields_and_lists_keep_item_types() -> None:
    args = _arguments(render_tools([ship]), "ship")
    assert '"address": object {"street": string, "city": string (the city)}' in args
    assert '"items": array of object {"sku": string, "qty": integer (default 1)}' in args
    assert '"tags": object of string values' in args
    assert '"notes": array of string' in args


def test_bfcl_style_docs_render_nested_fields_and_written_item_types() -> None:
    edit_ticket = {
        "name": "edit_ticket",
        "description": "Modify the details of an existing ticket.",
        "parameters": {
            "type": "dict",
            "required": ["ticket_id", "updates"],
            "properties": {
                "ticket_id": {"type": "integer"},
                "updates": {
                    "type": "dict",
                    "properties": {
                        "title": {"type": "string"},
                        "priority": {"type": "integer"},
                    },
                },
                "tags": {"type": "list(str)"},
                "scores": {"type": "float"},
            },
        },
    }
    args = _arguments(render_tools([edit_ticket]), "edit_ticket")
    assert '"updates": object {"title": string (optional), "priority": integer (optional)}' in args
    assert '"tags": array of string (optional)' in args
    assert '"scores": number (optional)' in args


def test_nested_fields_stop_at_the_depth_limit() -> None:
    def nest(level: int) -> dict:
        if level == 0:
            return {"type": "string"}
        return {"type": "object", "properties": {f"l{level}": nest(level - 1)}}

    deep = {"name": "deep", "description": "d", "parameters": nest(5)}
    args = _arguments(render_tools([deep], max_depth=2), "deep")
    assert args == '{"l5": object {"l4": object {"l3": object (optional)} (optional)} (optional)}'
    full = _arguments(render_tools([deep], max_depth=10), "deep")
    assert '"l1": string' in full


def test_union_types_keep_each_item_type() -> None:
    @tool
    def tag(labels: list[str] | str) -> str:
        """Tag something."""
        return "ok"

    assert '"labels": array of string | string' in render_tools([tag])


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ({"name": "f", "description": "d", "arguments": {"x": "int"}}, "has no 'parameters'"),
        ({"name": "f", "parameters": ["x"]}, "must be a JSON Schema object"),
        ({"name": "f", "parameters": {"type": "object", "properties": {"x": "int"}}}, "x need"),
        ({"tool": "f", "args": {}}, "cannot read tool"),
    ],
)
def test_tool_dicts_in_an_unknown_shape_are_refused(shape: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_tools([shape])


@pytest.mark.parametrize(
    "shape",
    [
        {"name": "ping", "description": "Ping."},
        {"name": "ping", "description": "Ping.", "parameters": {}},
        {"type": "function", "function": {"name": "ping", "parameters": {"type": "object"}}},
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
        {"name": "ping", "parameters": {"type": "dict", "properties": {}}, "response": {}},
    ],
)
def test_tool_dicts_in_known_shapes_render(shape: dict) -> None:
    assert "- ping:" in render_tools([shape])


def test_history_is_rewritten_as_react_turns() -> None:
    call = {"name": "search_catalog", "args": {"query": "mat"}, "id": "c1", "type": "tool_call"}
    msgs = messages_to_react(
        [
            SystemMessage("Be brief."),
            HumanMessage("mat?"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("A101 yoga mat", tool_call_id="c1"),
            AIMessage("We sell a yoga mat."),
        ],
        example_tools(),
    )
    assert [m.type for m in msgs] == ["system", "human", "ai", "human", "ai"]
    assert msgs[0].text.startswith("Be brief.\n\nYou can use these tools:")
    assert msgs[2].content == 'Action: search_catalog\nAction Input: {"query": "mat"}'
    assert msgs[3].content == "Observation: A101 yoga mat"
    assert msgs[4].content == "Final Answer: We sell a yoga mat."


def test_rendered_ai_turns_parse_back_to_the_same_calls() -> None:
    msg = reply_to_message(
        'Thought: t\nAction: search_catalog\nAction Input: {"query": "x"}', TOOLS
    )
    again = parse_react(format_ai_message(msg), TOOLS)
    assert [(c["name"], c["args"]) for c in again.tool_calls] == [
        ("search_catalog", {"query": "x"})
    ]
    bad = reply_to_message("Action: nope\nAction Input: {}", TOOLS)
    assert format_ai_message(bad) == "Action: nope\nAction Input: {}"
    assert bad.response_metadata["react"] == "invalid"


_FRAGMENTS = st.sampled_from(
    [
        "Action:",
        "Action Input:",
        "Final Answer:",
        "Thought:",
        "Observation:",
        "**",
        "{",
        "}",
        "'",
        '"',
        "\n",
        " ",
        "search_catalog",
        "convert_units",
        '{"query": "x"}',
        "```",
        "\\",
        ":",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join))
def test_parser_never_raises_on_protocol_like_text(text: str) -> None:
    reply = parse_react(text, TOOLS)
    assert reply.kind in ("action", "final", "invalid", "unformatted")
    assert all(c["name"] in TOOLS and isinstance(c["args"], dict) for c in reply.tool_calls)
    assert reply.kind != "action" or reply.tool_calls
    message = reply_to_message(text, TOOLS, lenient=False)
    assert len(message.tool_calls) == len(reply.tool_calls)


def test_deeply_nested_input_is_an_invalid_call() -> None:
    reply = parse_react("Action: search_catalog\nAction Input: " + "{" * 5000 + "}" * 5000, TOOLS)
    assert reply.kind == "invalid" and reply.invalid_tool_calls[0]["error"]


WEATHER_TOOLS = ["get_weather", "convert_units"]


@pytest.mark.parametrize(
    "written", ["<tool_get_weather>", "tool_get_weather", "<|tool_get_weather|>", "get_weather"]
)
def test_special_token_tool_names_map_to_the_one_known_tool(written: str) -> None:
    reply = parse_react(f'Action: {written}\nAction Input: {{"city": "Paris"}}', WEATHER_TOOLS)
    assert reply.kind == "action"
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]


def test_a_special_token_name_that_fits_two_tools_is_refused() -> None:
    reply = parse_react('Action: <tool_get>\nAction Input: {"x": 1}', ["get", "tool_get_x", "GET"])
    assert reply.kind == "invalid"
    assert "ambiguous tool name '<tool_get>'" in str(reply.invalid_tool_calls[0]["error"])
    # an exact name always wins over a special-token reading
    exact = parse_react('Action: tool_get\nAction Input: {"x": 1}', ["get", "tool_get"])
    assert exact.tool_calls[0]["name"] == "tool_get"


def test_doubled_braces_are_read_as_the_json_they_escape() -> None:
    reply = parse_react('Action: get_weather\nAction Input: {{"city": "Paris"}}', WEATHER_TOOLS)
    assert reply.tool_calls[0]["args"] == {"city": "Paris"}
    nested = parse_arguments('{{"where": {{"city": "Paris", "unit": "C"}}}}')
    assert nested == ({"where": {"city": "Paris", "unit": "C"}}, None)


@pytest.mark.parametrize(
    "raw", ["{'city': 'Paris'}", '{"city": "Paris",}', "{'city': 'Paris', 'metric': True}"]
)
def test_python_literals_are_not_json_unless_parsing_is_lenient(raw: str) -> None:
    text = f"Action: get_weather\nAction Input: {raw}"
    strict = parse_react(text, WEATHER_TOOLS)
    assert strict.kind == "invalid" and "not valid JSON" in str(
        strict.invalid_tool_calls[0]["error"]
    )
    lenient = parse_react(text, WEATHER_TOOLS, lenient=True)
    assert lenient.kind == "action" and lenient.tool_calls[0]["args"]["city"] == "Paris"
    assert lenient.lenient_calls == [lenient.tool_calls[0]["id"]]
    # the agent path stays lenient but marks the call, so that scoring can stay strict
    message = reply_to_message(text, WEATHER_TOOLS)
    assert message.response_metadata[LENIENT_CALLS_KEY] == [message.tool_calls[0]["id"]]
    assert reply_to_message(text, WEATHER_TOOLS, lenient=False).tool_calls == []
    json_message = reply_to_message(
        'Action: get_weather\nAction Input: {"city": "P"}', WEATHER_TOOLS
    )
    assert LENIENT_CALLS_KEY not in json_message.response_metadata


@pytest.mark.parametrize(
    "invented",
    [
        "\nUser Query: and in Rome?\nThought: again\n",
        "\nQuestion: and in Rome?\n",
        " Observation: sunny, 21 C\nThought: now Rome\n",
        "\n**Observation:** sunny\n",
        "\nFinal Answer: it is sunny\nUser: thanks. Rome?\n",
        "<|im_end|>\n<|im_start|>user\nRome?<|im_end|>\n<|im_start|>assistant\n",
    ],
)
def test_a_reply_that_invents_more_turns_yields_only_its_first_call(invented: str) -> None:
    text = (
        'Thought: weather\nAction: get_weather\nAction Input: {"city": "Paris"}'
        + invented
        + 'Action: get_weather\nAction Input: {"city": "Rome"}'
    )
    reply = parse_react(text, WEATHER_TOOLS)
    assert [c["args"] for c in reply.tool_calls] == [{"city": "Paris"}]
    assert reply.invalid_tool_calls == []


def test_consecutive_actions_are_still_parallel_calls() -> None:
    text = (
        'Action: get_weather\nAction Input: {"city": "Paris"}\n'
        'Thought: and the other one\nAction: get_weather\nAction Input: {"city": "Rome"}'
    )
    reply = parse_react(text, WEATHER_TOOLS)
    assert [c["args"]["city"] for c in reply.tool_calls] == ["Paris", "Rome"]
