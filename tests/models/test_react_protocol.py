"""The ReAct text protocol: strict parsing that never raises, and rendering that round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_ste.models.react_protocol import (
    format_ai_message,
    format_react_call,
    messages_to_react,
    parse_arguments,
    parse_react,
    render_tools,
    reply_to_message,
)
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
    (
        "Action: search_catalog\nAction Input: {'query': 'mat', 'limit': 2}",
        "action",
        [("search_catalog", {"query": "mat", "limit": 2})],
        0,
        None,
    ),
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
    message = reply_to_message(text, TOOLS)
    assert len(message.tool_calls) == len(reply.tool_calls)


def test_deeply_nested_input_is_an_invalid_call() -> None:
    reply = parse_react("Action: search_catalog\nAction Input: " + "{" * 5000 + "}" * 5000, TOOLS)
    assert reply.kind == "invalid" and reply.invalid_tool_calls[0]["error"]


def test_docstring_examples_run() -> None:
    import doctest

    from langchain_ste.models import react_protocol as protocol

    assert doctest.testmod(protocol, raise_on_error=False).failed == 0
