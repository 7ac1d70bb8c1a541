"""Native tool calling for local models whose chat template renders tools (Qwen2.5 and kin).

The tools go through the model's own chat template (``apply_chat_template(..., tools=...)``), and
the reply is parsed into ``AIMessage.tool_calls``. Three shapes are accepted, because the
Qwen2.5-Coder models use all three zero-shot: ``<tool_call>{json}</tool_call>`` blocks (the
template's own format), fenced ```` ```json ```` blocks, and bare JSON objects, each with ``name``
and ``arguments``. A block that is meant as a call but cannot be used (broken JSON, an unknown tool,
arguments that are not an object) becomes an ``invalid_tool_calls`` entry with the raw text; the
parser never raises. Text with no call is a plain answer.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.messages.tool import InvalidToolCall, ToolCall

from langchain_ste.trajectory import content_text

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCED = re.compile(r"```(?:json|tool_call|JSON)?\s*\n?(.*?)```", re.DOTALL)
_ARG_KEYS = ("arguments", "parameters", "args")


def supports_native_tools(tokenizer: Any) -> bool:
    """Whether a tokenizer's chat template renders a ``tools`` list itself.

    Example:
        >>> class Tok:
        ...     chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"
        >>> supports_native_tools(Tok())
        False
    """
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = " ".join(str(v) for v in template.values())
    return bool(template) and "tools" in str(template)


def to_chat_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as the OpenAI-style dicts HF chat templates read (dict arguments).

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
        >>> call = {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}
        >>> chat = to_chat_messages([HumanMessage("1+?"), AIMessage("", tool_calls=[call]),
        ...                          ToolMessage("2", tool_call_id="c1")])
        >>> [m["role"] for m in chat], chat[1]["tool_calls"][0]["function"]["arguments"]
        (['user', 'assistant', 'tool'], {'a': 1})
    """
    out = convert_to_openai_messages(list(messages))
    assert isinstance(out, list)
    for message in out:
        if not isinstance(message.get("content"), str):
            message["content"] = content_text(message.get("content"))
        for call in message.get("tool_calls", []):
            args = call["function"].get("arguments")
            if isinstance(args, str):
                try:
                    call["function"]["arguments"] = json.loads(args or "{}")
                except ValueError:
                    call["function"]["arguments"] = {}
    return out


def openai_tools(schemas: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``{"name", "description", "parameters"}`` schemas in the ``{"type": "function"}`` wrapper
    that chat templates expect."""
    return [
        s if s.get("type") == "function" else {"type": "function", "function": s} for s in schemas
    ]


def parse_tool_reply(text: str, names: Sequence[str], **message_fields: Any) -> AIMessage:
    """Parse a model's reply into an `AIMessage` with ``tool_calls`` / ``invalid_tool_calls``.

    Args:
        text: the generated text.
        names: the bound tool names; a call to another name is invalid.
        **message_fields: passed to `AIMessage` (usage metadata, response metadata).

    Example:
        >>> text = '<tool_call>\\n{"name": "add", "arguments": {"a": 1, "b": 2}}\\n</tool_call>'
        >>> reply = parse_tool_reply(text, ["add"])
        >>> reply.tool_calls[0]["name"], reply.tool_calls[0]["args"]
        ('add', {'a': 1, 'b': 2})
        >>> parse_tool_reply('```json\\n{"name": "add", "arguments": {"a": 1}}\\n```',
        ...                  ["add"]).tool_calls[0]["args"]
        {'a': 1}
        >>> parse_tool_reply('{"name": "sub", "arguments": {}}', ["add"]).invalid_tool_calls[0][
        ...     "error"]
        "unknown tool 'sub'; the tools are: add"
        >>> parse_tool_reply("It is 3.", ["add"]).content
        'It is 3.'
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    blocks, rest = _call_blocks(text)
    for raw in blocks:
        for item in _decode(raw):
            _classify(item, raw, names, calls, invalid)
    content = rest.strip() if (calls or invalid) else text.strip()
    return AIMessage(
        content=content, tool_calls=calls, invalid_tool_calls=invalid, **message_fields
    )


def _call_blocks(text: str) -> tuple[list[str], str]:
    """The raw call blocks and the text around them (tagged, else fenced, else bare JSON)."""
    tagged = [m.group(1) for m in _TAGGED.finditer(text) if m.group(1).strip()]
    if tagged:
        return tagged, _TAGGED.sub("", text)
    fenced = [m.group(1) for m in _FENCED.finditer(text) if _looks_like_call(m.group(1))]
    if fenced:
        return fenced, _FENCED.sub("", text)
    bare: list[str] = []
    rest = text
    for start, end in _json_spans(text):
        chunk = text[start:end]
        if _looks_like_call(chunk):
            bare.append(chunk)
            rest = rest.replace(chunk, "", 1)
    return bare, rest


def _looks_like_call(chunk: str) -> bool:
    """A JSON chunk outside ``<tool_call>`` tags counts as a call only with a name and arguments
    (a product record with a ``name`` field is data, not a call)."""
    return '"name"' in chunk and any(f'"{key}"' in chunk for key in _ARG_KEYS)


def _json_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of the top-level JSON objects or arrays in free text."""
    decoder = json.JSONDecoder()
    i = 0
    while i < len(text):
        if text[i] not in "{[":
            i += 1
            continue
        try:
            _, end = decoder.raw_decode(text, i)
        except ValueError:
            i += 1
            continue
        yield i, end
        i = end


def _decode(raw: str) -> list[Any]:
    """The call objects in one block: a dict, a list of dicts, or the raw text when unreadable."""
    raw = raw.strip()
    try:
        value = json.loads(raw)
    except ValueError:
        spans = list(_json_spans(raw))
        if not spans:
            return [raw]
        value = [json.loads(raw[s:e]) for s, e in spans]
        value = [v for item in value for v in (item if isinstance(item, list) else [item])]
    return value if isinstance(value, list) else [value]


def _classify(
    item: Any,
    raw: str,
    names: Sequence[str],
    calls: list[ToolCall],
    invalid: list[InvalidToolCall],
) -> None:
    call_id = f"call_{uuid.uuid4().hex[:12]}"
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        invalid.append(
            InvalidToolCall(
                name=None,
                args=raw[:2000],
                id=call_id,
                error="malformed tool call: expected a JSON object with 'name' and 'arguments'",
                type="invalid_tool_call",
            )
        )
        return
    name = item["name"].strip()
    args: Any = next((item[k] for k in _ARG_KEYS if k in item), {})
    if isinstance(args, str):
        try:
            args = json.loads(args or "{}")
        except ValueError:
            pass
    error = None
    if name not in names:
        error = f"unknown tool {name!r}; the tools are: {', '.join(names)}"
    elif not isinstance(args, dict):
        error = f"the arguments of {name} must be a JSON object"
    if error or not isinstance(args, dict):
        invalid.append(
            InvalidToolCall(
                name=name, args=raw[:2000], id=call_id, error=error, type="invalid_tool_call"
            )
        )
        return
    calls.append(ToolCall(name=name, args=args, id=call_id, type="tool_call"))
