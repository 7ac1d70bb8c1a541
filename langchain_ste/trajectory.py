"""A trial's trajectory: the LangChain messages it is kept as, and the steps read from them.

The messages are the one record of what happened in a trial: the query, the AI's tool calls
(``tool_calls``, and ``invalid_tool_calls`` for calls that could not be parsed), the ToolMessages
that answered them and the final answer. What the library knows about a call beyond what the
model saw (its status and error kind, its duration, the stored output when the model was shown a
truncated one) is the call's step record, kept in its ToolMessage's ``response_metadata`` under
`STEP_KEY`; `steps_of` reads the `Step` list back, `final_answer_of` the answer. Providers never
see ``response_metadata``, so a trajectory replays as-is as exemplars or training data.

Example:
    >>> from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, messages_to_dict
    >>> call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}
    >>> step = Step(tool="add", args={"a": 1, "b": 2}, call_id="c1", output="3", duration_s=0.5)
    >>> shown = with_step(ToolMessage("3", tool_call_id="c1", name="add"), step)
    >>> msgs = messages_to_dict([HumanMessage("1+2?"), AIMessage("", tool_calls=[call]), shown,
    ...                          AIMessage("It is 3.")])
    >>> steps_of(msgs) == (step,), final_answer_of(msgs)
    (True, 'It is 3.')
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, cast, get_args

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    ToolMessage,
    messages_to_dict,
)

from langchain_ste._checks import (
    NUMBER,
    OBJECT,
    OPTIONAL_STRING,
    STATUS,
    STRING,
    Check,
    validate,
)

logger = logging.getLogger(__name__)

STEP_KEY = "ste_step"
"""The ``response_metadata`` key of a ToolMessage that holds its step record: status, error_kind,
error, duration_s, and output when the stored output differs from the message's content. None
marks a ToolMessage that answers a call which was not run as a step (a repeated call, a call past
the step limit)."""

UNCOUNTED_KEY = "ste_uncounted"
"""The ``response_metadata`` key of an AIMessage listing the indices of its invalid tool calls that
are not steps (malformed calls made past the step limit)."""

StepStatus = Literal["ok", "error", "skipped", "emulated"]
ErrorKind = Literal[
    "parse_error",
    "unknown_tool",
    "invalid_args",
    "exception",
    "timeout",
    "policy",
    "budget",
    "crash",
]


@dataclass(frozen=True)
class Step:
    """One tool call made during a trial, with what came back (read-only: a trial's steps are
    read from its messages, so changing one would change nothing; build new ones instead).

    Example:
        >>> step = Step(tool="add", args={"a": 1, "b": 2}, call_id="c1", output="3")
        >>> step.ok
        True
    """

    tool: str
    args: dict[str, Any]
    call_id: str
    output: str = ""
    status: StepStatus = "ok"
    error_kind: ErrorKind | None = None
    error: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the call executed (really or emulated) without error."""
        return self.status in ("ok", "emulated")

    def to_dict(self) -> dict[str, Any]:
        """Return the step as plain JSON data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "step") -> Step:
        """Build a step from `to_dict` output (fields added by newer versions are ignored).

        Raises:
            TrialSchemaError: a field is missing or has the wrong type (``where`` names the
                step in the message).

        Example:
            >>> try:
            ...     Step.from_dict({"tool": "add", "args": [], "call_id": "c1"})
            ... except ValueError as exc:  # a TrialSchemaError
            ...     print(exc)
            step.args must be an object, not list []
        """
        validate(data, STEP_FIELDS, ("tool", "args", "call_id"), where)
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


STEP_FIELDS: dict[str, Check] = {
    "tool": STRING,
    "args": OBJECT,
    "call_id": STRING,
    "output": STRING,
    "status": STATUS,
    "error_kind": OPTIONAL_STRING,
    "error": OPTIONAL_STRING,
    "duration_s": NUMBER,
}
_RECORD_FIELDS = {k: v for k, v in STEP_FIELDS.items() if k not in ("tool", "args", "call_id")}
_ERROR_KINDS = frozenset(get_args(ErrorKind))
_AI = ("ai", "AIMessageChunk")
_TOOL = ("tool", "ToolMessageChunk")


def step_record(step: Step, shown: str) -> dict[str, Any]:
    """What a ToolMessage keeps of its step: all but the call (which the AI message holds), and
    the output only when it is not what the model was shown."""
    record: dict[str, Any] = {
        "status": step.status,
        "error_kind": step.error_kind,
        "error": step.error,
        "duration_s": step.duration_s,
    }
    if step.output != shown:
        record["output"] = step.output
    return record


def with_step(message: ToolMessage, step: Step) -> ToolMessage:
    """A copy of ``message`` carrying ``step``'s record (see `STEP_KEY`)."""
    metadata = {**message.response_metadata, STEP_KEY: step_record(step, message.text)}
    return message.model_copy(update={"response_metadata": metadata})


def not_a_step(message: ToolMessage) -> ToolMessage:
    """A copy of ``message`` marked as answering a call that was not run as a step."""
    metadata = {**message.response_metadata, STEP_KEY: None}
    return message.model_copy(update={"response_metadata": metadata})


def uncount_invalid_calls(message: AIMessage, indices: Iterable[int]) -> AIMessage:
    """A copy of ``message`` whose invalid tool calls at ``indices`` are not steps."""
    uncounted = sorted(set(message.response_metadata.get(UNCOUNTED_KEY) or []) | set(indices))
    metadata = {**message.response_metadata, UNCOUNTED_KEY: uncounted}
    return message.model_copy(update={"response_metadata": metadata})


def steps_of(messages: Sequence[dict[str, Any]]) -> tuple[Step, ...]:
    """The steps of a trajectory (message dicts), in the order they ran.

    Each ToolMessage is one step (its call from the AI message before it, its record from
    `STEP_KEY`; without a record, ``ok`` or ``error`` from the message's status), except those
    marked as no step; each invalid tool call is a failed step (``parse_error``, or
    ``unknown_tool``), after the calls of the same AI message that ran, except those marked
    uncounted.
    """
    steps: list[Step] = []
    calls: dict[str, dict[str, Any]] = {}
    pending: list[Step] = []
    for entry in messages:
        kind, data = entry.get("type"), entry.get("data") or {}
        if kind in _TOOL:
            step = _tool_step(data, calls)
            if step is not None:
                steps.append(step)
            continue
        steps.extend(pending)
        pending = []
        if kind in _AI:
            for call in data.get("tool_calls") or []:
                calls[call.get("id") or ""] = call
            skipped = set((data.get("response_metadata") or {}).get(UNCOUNTED_KEY) or [])
            pending = [
                _invalid_step(bad)
                for i, bad in enumerate(data.get("invalid_tool_calls") or [])
                if i not in skipped
            ]
    steps.extend(pending)
    return tuple(steps)


def final_answer_of(messages: Sequence[dict[str, Any]]) -> str:
    """The text of the last message when it is an AI answer that calls no tool, else ""."""
    if not messages:
        return ""
    last = messages[-1]
    data = last.get("data") or {}
    if (
        last.get("type") in _AI
        and not data.get("tool_calls")
        and not data.get("invalid_tool_calls")
    ):
        return content_text(data.get("content")).strip()
    return ""


def messages_from_steps(
    query: str, steps: Sequence[Step], final_answer: str = ""
) -> list[dict[str, Any]]:
    """A trajectory built from steps: the query, one AI call and ToolMessage per step, the answer.

    A failed step shows the model ``Error: ...``; a step without a call id gets ``call_{n}``.
    Nothing at all (no step, no answer) is an empty trajectory.

    Example:
        >>> msgs = messages_from_steps("q", [Step(tool="t", args={}, call_id="", status="error",
        ...                                       error="boom")])
        >>> msgs[2]["data"]["content"], steps_of(msgs)[0].call_id, steps_of(msgs)[0].output
        ('Error: boom', 'call_0', '')
    """
    if not steps and not final_answer:
        return []
    out: list[BaseMessage] = [HumanMessage(query)]
    for n, step in enumerate(steps):
        if not step.call_id:
            step = replace(step, call_id=f"call_{n}")
        call = {"name": step.tool, "args": step.args, "id": step.call_id, "type": "tool_call"}
        out.append(AIMessage("", tool_calls=[call]))
        shown = f"Error: {step.error}" if not step.ok and step.error else step.output
        status = "success" if step.ok else "error"
        message = ToolMessage(shown, tool_call_id=step.call_id, name=step.tool, status=status)
        out.append(with_step(message, step))
    if final_answer:
        out.append(AIMessage(final_answer))
    return messages_to_dict(out)


def attach_steps(
    messages: list[dict[str, Any]], query: str, steps: Sequence[Step], final_answer: str
) -> list[dict[str, Any]]:
    """Version-1 records kept steps beside the messages: move each into its ToolMessage.

    Steps are matched to ToolMessages and invalid calls by call id, in order; a ToolMessage or
    invalid call that no step matches was not a step and is marked so. A record without messages
    gets them built from its steps (`messages_from_steps`).
    """
    if not messages:
        return messages_from_steps(query, steps, final_answer)
    queues: dict[str, list[Step]] = {}
    for step in steps:
        queues.setdefault(step.call_id, []).append(step)
    out: list[dict[str, Any]] = []
    for entry in messages:
        data = dict(entry["data"])
        metadata = dict(data.get("response_metadata") or {})
        if entry["type"] in _TOOL:
            queue = queues.get(data.get("tool_call_id") or "")
            shown = content_text(data.get("content"))
            metadata[STEP_KEY] = step_record(queue.pop(0), shown) if queue else None
            data["response_metadata"] = metadata
        elif entry["type"] in _AI and data.get("invalid_tool_calls"):
            uncounted = []
            for i, bad in enumerate(data["invalid_tool_calls"]):
                queue = queues.get(bad.get("id") or "")
                if queue:
                    queue.pop(0)
                else:
                    uncounted.append(i)
            if uncounted:
                metadata[UNCOUNTED_KEY] = uncounted
                data["response_metadata"] = metadata
        out.append({**entry, "data": data})
    left = sum(len(q) for q in queues.values())
    if left:
        logger.warning("%d step(s) of a version-1 trial answer no message; not kept", left)
    return out


def check_step_records(messages: Sequence[dict[str, Any]]) -> None:
    """Raise `TrialSchemaError` for a step record (see `STEP_KEY`) of the wrong shape."""
    for i, entry in enumerate(messages):
        metadata = (entry.get("data") or {}).get("response_metadata") or {}
        record = metadata.get(STEP_KEY) if isinstance(metadata, dict) else None
        if record is not None:
            validate(record, _RECORD_FIELDS, ("status",), f"messages[{i}].{STEP_KEY}")


def _tool_step(data: dict[str, Any], calls: dict[str, dict[str, Any]]) -> Step | None:
    metadata = data.get("response_metadata") or {}
    if STEP_KEY in metadata and metadata[STEP_KEY] is None:
        return None
    call_id = data.get("tool_call_id") or ""
    call = calls.get(call_id) or {}
    raw = call.get("args", {})
    args = dict(raw) if isinstance(raw, dict) else {"__raw__": raw}
    tool = data.get("name") or call.get("name") or ""
    shown = content_text(data.get("content"))
    record = metadata.get(STEP_KEY)
    if not isinstance(record, dict):
        status: StepStatus = "error" if data.get("status") == "error" else "ok"
        return Step(tool=tool, args=args, call_id=call_id, output=shown, status=status)
    kind = record.get("error_kind")
    return Step(
        tool=tool,
        args=args,
        call_id=call_id,
        output=record.get("output", shown),
        status=record.get("status", "ok"),
        error_kind=cast(ErrorKind, kind) if kind in _ERROR_KINDS else None,
        error=record.get("error"),
        duration_s=record.get("duration_s", 0.0),
    )


def _invalid_step(bad: dict[str, Any]) -> Step:
    error = str(bad.get("error") or "malformed tool call")
    kind: ErrorKind = "unknown_tool" if error.startswith("unknown tool") else "parse_error"
    return Step(
        tool=bad.get("name") or "",
        args={},
        call_id=bad.get("id") or "",
        output=str(bad.get("args") or ""),
        status="error",
        error_kind=kind,
        error=error,
    )


def content_text(content: Any) -> str:
    """A message content's text: a string, or the text of its text blocks (other blocks, such as
    images or tool-use blocks, carry none).

    Example:
        >>> content_text(["a", {"type": "text", "text": "b"}, {"type": "image_url"}])
        'ab'
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text") or ""))
        return "".join(parts)
    return ""


def trajectory_to_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Serialise a trajectory, checking that every tool call has its ToolMessage.

    Raises:
        ValueError: an AI tool call has no matching ToolMessage, or a ToolMessage answers no
            call; such a history would be rejected by providers.
    """
    check_tool_pairing(messages)
    return messages_to_dict(list(messages))


def check_tool_pairing(messages: Sequence[BaseMessage]) -> None:
    """Raise `ValueError` unless every AI tool call is answered by exactly one later ToolMessage.

    Example:
        >>> from langchain_core.messages import AIMessage, ToolMessage
        >>> call = {"name": "add", "args": {}, "id": "c1", "type": "tool_call"}
        >>> pair = [AIMessage("", tool_calls=[call]), ToolMessage("3", tool_call_id="c1")]
        >>> check_tool_pairing(pair)
    """
    open_ids: set[str] = set()
    answered: set[str] = set()
    for msg in messages:
        if isinstance(msg, AIMessage):
            for call in msg.tool_calls:
                if not call.get("id"):
                    raise ValueError(f"tool call {call.get('name')!r} has no id")
                open_ids.add(call["id"] or "")
        elif isinstance(msg, ToolMessage):
            if msg.tool_call_id not in open_ids or msg.tool_call_id in answered:
                raise ValueError(f"ToolMessage {msg.tool_call_id!r} answers no open tool call")
            answered.add(msg.tool_call_id)
    missing = open_ids - answered
    if missing:
        raise ValueError(f"tool calls without a ToolMessage: {sorted(missing)}")
