"""The ReAct text protocol, for models without native tool calling.

Tools are rendered into the system prompt; the model answers with::

    Thought: ...
    Action: tool_name
    Action Input: {"arg": "value"}

or ``Final Answer: ...``. `parse_react` turns such a reply into LangChain `tool_calls` and
`invalid_tool_calls` and never raises; `format_react_call` and `messages_to_react` render calls and
results back into the same text, so a fine-tuned model sees exactly what inference will parse.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)

from langchain_ste.models.schemas import clip, render_tools

ReplyKind = Literal["action", "final", "invalid", "unformatted"]

_KEY = r"\**\s*{}\s*\**\s*:\s*\**"
_ACTION = re.compile(_KEY.format(r"Action(?!\s*Input)"), re.IGNORECASE)
_ACTION_INPUT = re.compile(_KEY.format(r"Action\s*Input"), re.IGNORECASE)
_FINAL = re.compile(_KEY.format(r"Final\s*Answer"), re.IGNORECASE)
_THOUGHT = re.compile(_KEY.format(r"Thought"), re.IGNORECASE)
_OBSERVATION = re.compile(r"^[\s*#>]*Observation[\s*]*:", re.IGNORECASE | re.MULTILINE)
_INLINE_OBSERVATION = re.compile(r"\bObservation[\s*]*:", re.IGNORECASE)
# A turn the model goes on to invent after its first action: a user (or assistant) line, a final
# answer, or a chat-template token.
_INVENTED_TURN = re.compile(
    r"^[\s*#>]*(?:User(?:\s*Query)?|Human|Question|Query|Assistant|Final\s*Answer)[\s*]*:"
    r"|<\|(?:im_start|im_end|endoftext|eot_id|start_header_id|end_of_turn)\|>",
    re.IGNORECASE | re.MULTILINE,
)
_NAME_PREFIXES = ("tool_", "tool-", "tool:", "tool.", "tools.", "functions.", "function.")

OBSERVATION_PREFIX = "Observation: "
STOP_SEQUENCES = ("\nObservation:",)
"""Stop here: the model must not invent tool results."""

LENIENT_CALLS_KEY = "react_lenient_calls"
"""``response_metadata`` key of `reply_to_message`: the ids of the calls whose arguments parsed
only leniently (a Python literal, not JSON), so that scoring can stay strict."""


@dataclass
class ReactReply:
    """A parsed ReAct reply.

    Example:
        >>> r = parse_react('Action: add\\nAction Input: {"a": 1, "b": 2}', ["add"])
        >>> r.kind, r.tool_calls[0]["name"], r.tool_calls[0]["args"]
        ('action', 'add', {'a': 1, 'b': 2})
    """

    kind: ReplyKind
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)
    final_answer: str | None = None
    thought: str | None = None
    lenient_calls: list[str] = field(default_factory=list)
    """Ids of the calls accepted only by the lenient (Python-literal) reading of their input."""

    @property
    def well_formed(self) -> bool:
        """Whether the reply followed the protocol (a valid action or a final answer)."""
        return self.kind in ("action", "final")


def new_call_id() -> str:
    """A fresh, provider-safe tool call id."""
    return f"call_{uuid.uuid4().hex[:16]}"


def parse_react(
    text: str, tool_names: Sequence[str] | None = None, *, lenient: bool = False
) -> ReactReply:
    """Parse a ReAct reply, never raising.

    The reply ends where the model starts inventing the conversation: at a model-written
    ``Observation:`` (it must not invent tool results), or, after its first action, at an
    invented ``User Query:`` / ``Question:`` / ``Final Answer:`` line or chat-template token.
    Each ``Action:`` / ``Action Input:`` pair before that becomes a tool call (several pairs are
    parallel calls). A tool name written as a special token (``<tool_get_weather>``,
    ``tool_get_weather``) is accepted when it maps to exactly one known tool
    (`resolve_tool_name`). An unknown tool, a missing input or input that is not a JSON object
    becomes an `InvalidToolCall` with the reason in ``error``.

    Args:
        text: the model's reply.
        tool_names: the tools the model may call; None accepts any name.
        lenient: also accept a Python literal (single quotes, trailing commas, True/None) where
            JSON is expected; such calls are listed in ``lenient_calls``. Off by default: the
            paper's well-formedness is strict JSON.

    Example:
        >>> parse_react("Thought: done\\nFinal Answer: 42").final_answer
        '42'
        >>> parse_react("Action: nope\\nAction Input: {}", ["add"]).invalid_tool_calls[0]["error"]
        "unknown tool 'nope'; available tools: add"
        >>> reply = parse_react('Action: <tool_add>\\nAction Input: {{"a": 1}}', ["add"])
        >>> reply.tool_calls[0]["name"], reply.tool_calls[0]["args"]
        ('add', {'a': 1})
        >>> parse_react("Action: add\\nAction Input: {'a': 1}", ["add"]).kind
        'invalid'
        >>> parse_react("Action: add\\nAction Input: {'a': 1}", ["add"], lenient=True).kind
        'action'
    """
    if not isinstance(text, str):
        text = str(text)
    obs = _OBSERVATION.search(text)
    body = text[: obs.start()] if obs else text
    thought = _section(body, _THOUGHT)
    actions = list(_ACTION.finditer(body))
    final = _FINAL.search(body)
    if final and (not actions or final.start() < actions[0].start()):
        answer = body[final.end() :].strip()
        return ReactReply(kind="final", final_answer=answer, thought=thought)
    if not actions:
        return ReactReply(kind="unformatted", final_answer=text.strip() or None, thought=thought)

    invented = _INVENTED_TURN.search(body, actions[0].end())
    if invented:
        body = body[: invented.start()]
        actions = [a for a in actions if a.start() < invented.start()]
    reply = ReactReply(kind="action", thought=thought)
    bounds = [m.start() for m in actions[1:]] + [len(body)]
    for match, end in zip(actions, bounds, strict=True):
        if _parse_one(body[match.end() : end], tool_names, reply, lenient=lenient):
            break  # the model went on to invent the tool's result
    if not reply.tool_calls:
        reply.kind = "invalid"
    return reply


def _section(body: str, key: re.Pattern[str]) -> str | None:
    match = key.search(body)
    if not match:
        return None
    rest = body[match.end() :]
    stop = re.search(r"\n\s*\**\s*(Action|Final\s*Answer)\b", rest, re.IGNORECASE)
    return (rest[: stop.start()] if stop else rest).strip() or None


def resolve_tool_name(name: str, tool_names: Sequence[str] | None) -> tuple[str | None, str | None]:
    """Map the tool name a model wrote to a known tool, returning ``(name, error)``.

    An exact name wins; otherwise the name is compared without special-token dressing (``<``,
    ``>``, ``|``), case and a ``tool_`` / ``functions.`` prefix, and accepted when exactly one
    known tool matches.

    Example:
        >>> resolve_tool_name("<tool_get_weather>", ["get_weather", "get_time"])
        ('get_weather', None)
        >>> resolve_tool_name("tool_get", ["get", "Get"])[1]
        "ambiguous tool name 'tool_get': it could be Get, get"
    """
    bare = name.strip("<>| ")
    if tool_names is None:
        return (bare or None), (None if bare else "Action has no tool name")
    if name in tool_names:
        return name, None
    if bare in tool_names:
        return bare, None
    key = _name_key(bare)
    matches = sorted({t for t in tool_names if key and _name_key(t) == key})
    if len(matches) == 1:
        return matches[0], None
    if matches:
        return None, f"ambiguous tool name {name!r}: it could be {', '.join(matches)}"
    available = ", ".join(tool_names) or "(none)"
    return None, f"unknown tool {name!r}; available tools: {available}"


def _name_key(name: str) -> str:
    key = name.strip("<>|[]` ").lower()
    for prefix in _NAME_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


def _parse_one(
    chunk: str, tool_names: Sequence[str] | None, reply: ReactReply, *, lenient: bool
) -> bool:
    """Add one call (valid or not) to ``reply``; True when the model wrote an observation after
    its input, so that no later action is real."""
    inp = _ACTION_INPUT.search(chunk)
    name_part = chunk[: inp.start()] if inp else chunk
    name = (
        name_part.strip().splitlines()[0].strip().strip("`'\"*[]() ") if name_part.strip() else ""
    )
    call_id = new_call_id()
    raw_args = chunk[inp.end() :].strip() if inp else ""

    def invalid(error: str) -> None:
        reply.invalid_tool_calls.append(
            InvalidToolCall(
                name=name or None,
                args=raw_args or None,
                id=call_id,
                error=error,
                type="invalid_tool_call",
            )
        )

    if not name:
        invalid("Action has no tool name")
        return False
    resolved, error = resolve_tool_name(name, tool_names)
    if error is not None or resolved is None:
        invalid(error or "Action has no tool name")
        return False
    name = resolved
    if inp is None or not raw_args:
        invalid(f"Action {name!r} has no Action Input (a JSON object of arguments)")
        return False
    parsed = _read_arguments(raw_args, lenient=lenient)
    ends_turn = bool(_INLINE_OBSERVATION.search(raw_args[parsed.end :]))
    if parsed.error is not None or parsed.args is None:
        invalid(parsed.error or "Action Input is not a JSON object")
        return ends_turn
    reply.tool_calls.append(ToolCall(name=name, args=parsed.args, id=call_id, type="tool_call"))
    if parsed.lenient:
        reply.lenient_calls.append(call_id)
    return ends_turn


@dataclass
class _Arguments:
    args: dict[str, Any] | None
    error: str | None
    end: int = 0
    """Where the object ended in the raw input (0 when none was found)."""
    lenient: bool = False
    """The object parsed only as a Python literal."""


def parse_arguments(raw: str, *, lenient: bool = False) -> tuple[dict[str, Any] | None, str | None]:
    """Parse an ``Action Input`` into an argument dict, returning ``(args, error)``.

    The first balanced ``{...}`` is taken (text after it is ignored) and read as JSON; doubled
    braces (``{{"a": 1}}``, template-escaped JSON) are read as the JSON they escape. With
    ``lenient=True`` a Python literal (single quotes, trailing commas, True/None) is accepted too.

    Example:
        >>> parse_arguments('{"x": 1} trailing words')
        ({'x': 1}, None)
        >>> parse_arguments("{{\\"x\\": 1}}")
        ({'x': 1}, None)
        >>> parse_arguments("{'x': 1,}")[1][:31]
        'Action Input is not valid JSON '
        >>> parse_arguments("{'x': 1,}", lenient=True)
        ({'x': 1}, None)
        >>> parse_arguments("42")[1]
        'Action Input is not a JSON object: 42'
    """
    parsed = _read_arguments(raw, lenient=lenient)
    return parsed.args, parsed.error


def _read_arguments(raw: str, *, lenient: bool) -> _Arguments:
    text = raw.strip()
    offset = len(raw) - len(raw.lstrip())
    if text.startswith("```"):
        fence = re.match(r"```[a-zA-Z]*\s*", text)
        skip = fence.end() if fence else 3
        offset += skip
        text = text[skip:]
    start = text.find("{")
    obj = _balanced(text, start) if start >= 0 else None
    if obj is None:
        shown = re.sub(r"\s*```.*$", "", text, flags=re.DOTALL)
        return _Arguments(None, f"Action Input is not a JSON object: {clip(shown)}")
    end = offset + start + len(obj)
    value, error, was_lenient = _load_object(obj, lenient=lenient)
    if error is not None:
        return _Arguments(None, error, end)
    if not isinstance(value, dict):
        return _Arguments(None, f"Action Input is not a JSON object: {clip(obj)}", end)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return _Arguments(None, f"Action Input has values that are not JSON: {clip(obj)}", end)
    return _Arguments({str(k): v for k, v in value.items()}, None, end, was_lenient)


def _load_object(obj: str, *, lenient: bool) -> tuple[Any, str | None, bool]:
    """``(value, error, parsed only as a Python literal)``."""
    try:
        return json.loads(obj), None, False
    except json.JSONDecodeError as exc:
        first = exc
    except RecursionError:
        return None, "Action Input is nested too deeply", False
    if obj.startswith("{{") and obj.endswith("}}"):
        for unescaped in (obj.replace("{{", "{").replace("}}", "}"), obj[1:-1]):
            try:
                return json.loads(unescaped), None, False
            except (json.JSONDecodeError, RecursionError):
                continue
    if lenient:
        try:
            return ast.literal_eval(obj), None, True
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
    return None, f"Action Input is not valid JSON ({first.msg}): {clip(obj)}", False


def _balanced(text: str, start: int) -> str | None:
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def format_react_call(name: str, args: Mapping[str, Any], thought: str | None = None) -> str:
    """Render one tool call as ReAct text (the inverse of `parse_react`).

    Example:
        >>> print(format_react_call("add", {"a": 1}, thought="add them"))
        Thought: add them
        Action: add
        Action Input: {"a": 1}
    """
    head = f"Thought: {thought}\n" if thought else ""
    return f"{head}Action: {name}\nAction Input: {json.dumps(dict(args), ensure_ascii=False)}"


def format_react_final(answer: str, thought: str | None = None) -> str:
    """Render a final answer as ReAct text."""
    head = f"Thought: {thought}\n" if thought else ""
    return f"{head}Final Answer: {answer}"


def format_ai_message(message: AIMessage) -> str:
    """Render an AI message (tool calls or answer) as the ReAct text the model should produce."""
    text = message.content if isinstance(message.content, str) else message.text
    thought = message.additional_kwargs.get("react_thought")
    if message.invalid_tool_calls and not message.tool_calls:
        return text  # keep a malformed reply as the model wrote it
    if message.tool_calls:
        return "\n".join(
            format_react_call(c["name"], c["args"], thought if i == 0 else None)
            for i, c in enumerate(message.tool_calls)
        )
    return format_react_final(text.strip(), thought)


def messages_to_react(
    messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None
) -> list[BaseMessage]:
    """Rewrite a tool-calling history as plain chat turns for a ReAct text model.

    AI tool calls become ``Action:`` text, ToolMessages become ``Observation:`` user turns, and the
    rendered tools are appended to the (first) system message, or put in a new one.

    Example:
        >>> from langchain_core.messages import HumanMessage, ToolMessage, AIMessage
        >>> call = {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}
        >>> out = messages_to_react([HumanMessage("hi"), AIMessage("", tool_calls=[call]),
        ...                          ToolMessage("3", tool_call_id="c1")])
        >>> [m.type for m in out], out[2].content
        (['human', 'ai', 'human'], 'Observation: 3')
    """
    out: list[BaseMessage] = []
    for msg in messages:
        if isinstance(msg, AIMessage):
            out.append(AIMessage(format_ai_message(msg)))
        elif isinstance(msg, ToolMessage):
            out.append(HumanMessage(OBSERVATION_PREFIX + _text(msg)))
        elif isinstance(msg, SystemMessage):
            out.append(SystemMessage(_text(msg)))
        else:
            out.append(HumanMessage(_text(msg)) if msg.type != "human" else msg)
    if tools:
        rendered = render_tools(tools)
        for i, msg in enumerate(out):
            if isinstance(msg, SystemMessage):
                out[i] = SystemMessage(f"{_text(msg)}\n\n{rendered}".strip())
                break
        else:
            out.insert(0, SystemMessage(rendered))
    return out


def _text(msg: BaseMessage) -> str:
    return msg.content if isinstance(msg.content, str) else msg.text


def reply_to_message(
    text: str, tool_names: Sequence[str] | None, *, lenient: bool = True, **kwargs: Any
) -> AIMessage:
    """Parse ReAct text into an `AIMessage` with `tool_calls` / `invalid_tool_calls`.

    The message content is the final answer when there is one, else the raw text; the protocol
    verdict is kept in ``response_metadata["react"]`` (``action``, ``final``, ``invalid`` or
    ``unformatted``). This is the agent's path, lenient by default (a Python-literal input still
    runs): the ids of such calls go to ``response_metadata[LENIENT_CALLS_KEY]`` so that scoring
    can count them as malformed (`langchain_ste.evaluate.metrics.is_malformed_reply`).

    Example:
        >>> msg = reply_to_message('Action: add\\nAction Input: {"a": 1}', ["add"])
        >>> msg.tool_calls[0]["args"], msg.response_metadata["react"]
        ({'a': 1}, 'action')
        >>> msg = reply_to_message("Action: add\\nAction Input: {'a': 1}", ["add"])
        >>> msg.response_metadata[LENIENT_CALLS_KEY] == [msg.tool_calls[0]["id"]]
        True
    """
    reply = parse_react(text, tool_names, lenient=lenient)
    content = reply.final_answer if reply.kind == "final" and reply.final_answer else text
    extra = {"react_thought": reply.thought} if reply.thought else {}
    metadata = dict(kwargs.pop("response_metadata", {}) or {})
    metadata["react"] = reply.kind
    if reply.lenient_calls:
        metadata[LENIENT_CALLS_KEY] = list(reply.lenient_calls)
    return AIMessage(
        content=content,
        tool_calls=reply.tool_calls,
        invalid_tool_calls=reply.invalid_tool_calls,
        additional_kwargs=extra,
        response_metadata=metadata,
        **kwargs,
    )
