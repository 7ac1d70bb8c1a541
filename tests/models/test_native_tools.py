"""The native tool-call parser on hand-written replies of the shapes Qwen2.5-Coder emits."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_ste.models.native_tools import parse_tool_reply, to_chat_messages

NAMES = ["get_order", "convert_currency"]


def test_tagged_calls_several_in_one_reply() -> None:
    reply = parse_tool_reply(
        '<tool_call>\n{"name": "get_order", "arguments": {"order_id": "ORD-1"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "convert_currency", "arguments": {"amount": 5, "source": "USD", '
        '"target": "EUR"}}\n</tool_call>',
        NAMES,
    )
    assert [c["name"] for c in reply.tool_calls] == NAMES
    assert reply.tool_calls[1]["args"] == {"amount": 5, "source": "USD", "target": "EUR"}
    assert len({c["id"] for c in reply.tool_calls}) == 2 and not reply.invalid_tool_calls
    assert reply.content == ""


def test_an_unclosed_tag_at_the_end_of_the_reply_still_counts() -> None:
    reply = parse_tool_reply(
        '<tool_call>{"name": "get_order", "arguments": {"order_id": "x"}}', NAMES
    )
    assert reply.tool_calls[0]["args"] == {"order_id": "x"}


def test_fenced_and_bare_json_calls_with_text_around_them() -> None:
    fenced = parse_tool_reply(
        'Let me look.\n```json\n{"name": "get_order", "arguments": {"order_id": "ORD-7"}}\n```',
        NAMES,
    )
    assert fenced.tool_calls[0]["args"] == {"order_id": "ORD-7"}
    assert fenced.content == "Let me look."
    bare = parse_tool_reply(
        'Calling: {"name": "get_order", "parameters": {"order_id": "ORD-8"}} now', NAMES
    )
    assert bare.tool_calls[0]["args"] == {"order_id": "ORD-8"}
    listed = parse_tool_reply(
        '[{"name": "get_order", "arguments": {"order_id": "a"}}, '
        '{"name": "get_order", "arguments": {"order_id": "b"}}]',
        NAMES,
    )
    assert [c["args"]["order_id"] for c in listed.tool_calls] == ["a", "b"]


def test_arguments_given_as_a_json_string_are_decoded() -> None:
    reply = parse_tool_reply(
        '<tool_call>{"name": "get_order", '
        '"arguments": "{\\"order_id\\": \\"ORD-2\\"}"}</tool_call>',
        NAMES,
    )
    assert reply.tool_calls[0]["args"] == {"order_id": "ORD-2"}


def test_broken_json_unknown_tools_and_bad_arguments_become_invalid_calls() -> None:
    broken = parse_tool_reply('<tool_call>{"name": "get_order", "arguments": {</tool_call>', NAMES)
    assert not broken.tool_calls
    assert "malformed tool call" in str(broken.invalid_tool_calls[0]["error"])
    assert '"arguments": {' in str(broken.invalid_tool_calls[0]["args"])  # the raw text is kept
    unknown = parse_tool_reply('<tool_call>{"name": "refund", "arguments": {}}</tool_call>', NAMES)
    assert unknown.invalid_tool_calls[0]["name"] == "refund"
    assert "unknown tool 'refund'" in str(unknown.invalid_tool_calls[0]["error"])
    not_object = parse_tool_reply(
        '<tool_call>{"name": "get_order", "arguments": [1, 2]}</tool_call>', NAMES
    )
    assert "must be a JSON object" in str(not_object.invalid_tool_calls[0]["error"])


def test_text_and_data_that_are_not_calls_stay_a_plain_answer() -> None:
    for text in (
        "Your order ORD-1 has shipped.",
        'The product is {"name": "yoga mat", "price": 25}.',
        "```python\nprint('hi')\n```",
        "",
    ):
        reply = parse_tool_reply(text, NAMES)
        assert not reply.tool_calls and not reply.invalid_tool_calls
        assert reply.content == text.strip()


def test_message_fields_pass_through() -> None:
    reply = parse_tool_reply("ok", NAMES, response_metadata={"model_name": "m"})
    assert reply.response_metadata == {"model_name": "m"}


def test_history_becomes_template_messages_with_dict_arguments() -> None:
    call = {"name": "get_order", "args": {"order_id": "ORD-1"}, "id": "c1", "type": "tool_call"}
    chat = to_chat_messages(
        [
            SystemMessage("sys"),
            HumanMessage("where is my order?"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("shipped", tool_call_id="c1"),
        ]
    )
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "tool"]
    function = chat[2]["tool_calls"][0]["function"]
    assert function == {"name": "get_order", "arguments": {"order_id": "ORD-1"}}
    assert chat[3]["content"] == "shipped"
