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
from langchain_core.utils.function_calling import convert_to_openai_tool

ReplyKind = Literal["action", "final", "invalid", "unformatted"]

_KEY = r"\**\s*{}\s*\**\s*:\s*\**"
_ACTION = re.compile(_KEY.format(r"Action(?!\s*Input)"), re.IGNORECASE)
_ACTION_INPUT = re.compile(_KEY.format(r"Action\s*Input"), re.IGNORECASE)
_FINAL = re.compile(_KEY.format(r"Final\s*Answer"), re.IGNORECASE)
_THOUGHT = re.compile(_KEY.format(r"Thought"), re.IGNORECASE)
_OBSERVATION = re.compile(r"^\s*Observation\s*:", re.IGNORECASE | re.MULTILINE)

OBSERVATION_PREFIX = "Observation: "
STOP_SEQUENCES = ("\nObservation:",)
"""Stop here: the model must not invent tool results."""


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

    @property
    def well_formed(self) -> bool:
        """Whether the reply followed the protocol (a valid action or a final answer)."""
        return self.kind in ("action", "final")


def new_call_id() -> str:
    """A fresh, provider-safe tool call id."""
    return f"call_{uuid.uuid4().hex[:16]}"


def parse_react(text: str, tool_names: Sequence[str] | None = None) -> ReactReply:
    """Parse a ReAct reply strictly, never raising.

    Everything after a model-written ``Observation:`` is ignored (the model must not invent tool
    results). Each ``Action:`` / ``Action Input:`` pair becomes a tool call; an unknown tool name,
    a missing input or input that is not a JSON object (Python-literal dicts with single quotes
    are accepted) becomes an `InvalidToolCall` with the reason in ``error``.

    Args:
        text: the model's reply.
        tool_names: the tools the model may call; None accepts any name.

    Example:
        >>> parse_react("Thought: done\\nFinal Answer: 42").final_answer
        '42'
        >>> parse_react("Action: nope\\nAction Input: {}", ["add"]).invalid_tool_calls[0]["error"]
        "unknown tool 'nope'; available tools: add"
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

    reply = ReactReply(kind="action", thought=thought)
    bounds = [m.start() for m in actions[1:]] + [len(body)]
    for match, end in zip(actions, bounds, strict=True):
        _parse_one(body[match.end() : end], tool_names, reply)
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


def _parse_one(chunk: str, tool_names: Sequence[str] | None, reply: ReactReply) -> None:
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
        return invalid("Action has no tool name")
    if tool_names is not None and name not in tool_names:
        available = ", ".join(tool_names) or "(none)"
        return invalid(f"unknown tool {name!r}; available tools: {available}")
    if inp is None or not raw_args:
        return invalid(f"Action {name!r} has no Action Input (a JSON object of arguments)")
    args, error = parse_arguments(raw_args)
    if error is not None:
        return invalid(error)
    assert args is not None
    reply.tool_calls.append(ToolCall(name=name, args=args, id=call_id, type="tool_call"))


def parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """Parse an ``Action Input`` into an argument dict, returning ``(args, error)``.

    The first balanced ``{...}`` is taken (text after it is ignored); JSON is tried first, then a
    Python literal (single quotes, True/None).

    Example:
        >>> parse_arguments("{'x': 1} trailing words")
        ({'x': 1}, None)
        >>> parse_arguments("42")[1]
        'Action Input is not a JSON object: 42'
    """
    text = raw.strip()
    if text.startswith("```"):
        text = re.sub(r"^```[a-zA-Z]*\s*|\s*```.*$", "", text, flags=re.DOTALL)
    start = text.find("{")
    obj = _balanced(text, start) if start >= 0 else None
    if obj is None:
        return None, f"Action Input is not a JSON object: {_clip(text)}"
    try:
        value = json.loads(obj)
    except json.JSONDecodeError as exc:
        try:
            value = ast.literal_eval(obj)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            return None, f"Action Input is not valid JSON ({exc.msg}): {_clip(obj)}"
    except RecursionError:
        return None, "Action Input is nested too deeply"
    if not isinstance(value, dict):
        return None, f"Action Input is not a JSON object: {_clip(obj)}"
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None, f"Action Input has values that are not JSON: {_clip(obj)}"
    return {str(k): v for k, v in value.items()}, None


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


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def tool_schemas(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI-style function schemas for tools (BaseTool, functions, pydantic models or dicts)."""
    return [convert_to_openai_tool(t)["function"] for t in tools]


def render_tools(tools: Sequence[Any]) -> str:
    """Render tools and the ReAct format as compact system-prompt text.

    Each argument is shown as ``name: type`` with its allowed values, default or optional flag:
    short prompts matter for small models and for training cost.

    Example:
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def add(a: int, b: int = 1) -> int:
        ...     '''Add two integers.'''
        ...     return a + b
        >>> print(render_tools([add]).splitlines()[2])
        - add: Add two integers. Arguments: {"a": integer, "b": integer (default 1)}
    """
    lines = ["You can use these tools:", ""]
    names = []
    for schema in tool_schemas(tools):
        names.append(schema["name"])
        params = schema.get("parameters", {}) or {}
        required = set(params.get("required") or [])
        args = ", ".join(
            f'"{name}": {_describe(prop, name in required)}'
            for name, prop in (params.get("properties") or {}).items()
        )
        desc = " ".join(str(schema.get("description", "")).split())
        lines.append(f"- {schema['name']}: {desc} Arguments: {{{args}}}")
    lines += [
        "",
        "To use a tool, reply exactly in this format:",
        "Thought: what you need to do",
        f"Action: one tool name from [{', '.join(names)}]",
        'Action Input: the arguments as a JSON object, e.g. {"name": "value"}',
        "",
        'You will then get "Observation: <the tool result>". When you can answer, reply:',
        "Thought: I can answer now",
        "Final Answer: your answer to the user",
    ]
    return "\n".join(lines)


def _describe(prop: Mapping[str, Any], required: bool) -> str:
    """``integer``, ``string, one of a|b``, ``number (optional)``, ``array of string``..."""
    options = [p for p in prop.get("anyOf", prop.get("oneOf", [])) if p.get("type") != "null"]
    base = dict(options[0]) if len(options) == 1 else dict(prop)
    kind = base.get("type") or ("|".join(str(o.get("type")) for o in options) or "any")
    if kind == "array" and isinstance(base.get("items"), dict):
        kind = f"array of {base['items'].get('type', 'any')}"
    text = str(kind)
    if base.get("enum"):
        text += ", one of " + "|".join(str(v) for v in base["enum"])
    if prop.get("description"):
        text += f" ({' '.join(str(prop['description']).split())})"
    if "default" in prop and prop["default"] is not None:
        text += f" (default {json.dumps(prop['default'])})"
    elif not required:
        text += " (optional)"
    return text


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


def reply_to_message(text: str, tool_names: Sequence[str] | None, **kwargs: Any) -> AIMessage:
    """Parse ReAct text into an `AIMessage` with `tool_calls` / `invalid_tool_calls`.

    The message content is the final answer when there is one, else the raw text; the protocol
    verdict is kept in ``response_metadata["react"]`` (``action``, ``final``, ``invalid`` or
    ``unformatted``).

    Example:
        >>> msg = reply_to_message('Action: add\\nAction Input: {"a": 1}', ["add"])
        >>> msg.tool_calls[0]["args"], msg.response_metadata["react"]
        ({'a': 1}, 'action')
    """
    reply = parse_react(text, tool_names)
    content = reply.final_answer if reply.kind == "final" and reply.final_answer else text
    extra = {"react_thought": reply.thought} if reply.thought else {}
    metadata = dict(kwargs.pop("response_metadata", {}) or {})
    metadata["react"] = reply.kind
    return AIMessage(
        content=content,
        tool_calls=reply.tool_calls,
        invalid_tool_calls=reply.invalid_tool_calls,
        additional_kwargs=extra,
        response_metadata=metadata,
        **kwargs,
    )
