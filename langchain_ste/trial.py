"""Trial records: what one simulated trial of a tool produced.

A `Trial` is plain data (JSON-serialisable through `to_dict`/`from_dict`) so it can travel through
LangGraph state, checkpoints, Ray tasks and files without serializer allow-lists. The trajectory is
kept as LangChain message dicts (`messages_to_dict`), in which every AI tool call is paired with the
`ToolMessage` that answered it.

The durable `trials.jsonl` that keeps them is `langchain_ste.trial_log`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ToolMessage,
    messages_from_dict,
    messages_to_dict,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the on-disk trial record; readers refuse newer versions instead of guessing."""

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


class TrialSchemaError(ValueError):
    """A trial record that this version of langchain-ste cannot read."""


@dataclass
class Step:
    """One tool call made during a trial, with what came back.

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
            ... except TrialSchemaError as exc:
            ...     print(exc)
            step.args must be an object, not list []
        """
        _validate(data, _STEP_FIELDS, ("tool", "args", "call_id"), where)
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Trial:
    """One imagined query, the agent's attempt at it with the real tools, and the verdict.

    `signals` holds execution-grounded checks that a weak reflector cannot fool (``parsed``,
    ``executed_ok``, ``nonempty_result``, ``answer_uses_result``) next to the model's own
    ``model_verdict``; `success` is the combined verdict used downstream.

    Example:
        >>> t = Trial(trial_id="add/e000/t0", tools=["add"], episode=0, index=0, query="1+2?")
        >>> Trial.from_dict(t.to_dict()) == t
        True
    """

    trial_id: str
    tools: list[str]
    episode: int
    index: int
    query: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    final_answer: str = ""
    success: bool = False
    lesson: str = ""
    signals: dict[str, bool] = field(default_factory=dict)
    emulated: bool = False
    exemplars: list[str] = field(default_factory=list)
    model: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @staticmethod
    def make_id(tools: Sequence[str], episode: int, index: int) -> str:
        """Deterministic trial id, so that a resumed run recognises trials it already has.

        Example:
            >>> Trial.make_id(["search"], 3, 1)
            'search/e003/t1'
        """
        return f"{'+'.join(tools)}/e{episode:03d}/t{index}"

    @property
    def clean(self) -> bool:
        """Whether there was at least one tool call and the last one executed without error."""
        return bool(self.steps) and self.steps[-1].ok

    def to_messages(self) -> list[BaseMessage]:
        """The trajectory as LangChain messages (human query, AI calls, tool results, answer)."""
        return messages_from_dict(self.messages)

    def to_dict(self) -> dict[str, Any]:
        """Return the trial as plain JSON data."""
        data = asdict(self)
        data["steps"] = [s.to_dict() for s in self.steps]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        """Build a trial from `to_dict` output, refusing records from a newer schema.

        Every known field is type-checked, so a record with the right keys but wrong values
        (``"query": 123``, ``"tools": [1]``) is refused here instead of failing later.

        Raises:
            TrialSchemaError: the record was written by a newer, incompatible version, is
                missing required fields, or a field has the wrong type (named in the message).

        Example:
            >>> record = {"trial_id": "a", "tools": ["a"], "episode": "zero", "index": 0,
            ...           "query": "q"}
            >>> try:
            ...     Trial.from_dict(record)
            ... except TrialSchemaError as exc:
            ...     print(exc)
            not a trial record: episode must be an integer, not str 'zero'
        """
        if not isinstance(data, dict):
            raise TrialSchemaError(
                f"not a trial record: a JSON {type(data).__name__}, not an object"
            )
        version = data.get("schema_version", 1)
        if not _is_int(version):
            raise TrialSchemaError(f"not a trial record: schema_version {version!r}")
        if version > SCHEMA_VERSION:
            raise TrialSchemaError(
                f"trial {data.get('trial_id')!r} has schema version {version}, this "
                f"langchain-ste reads up to {SCHEMA_VERSION}: upgrade langchain-ste"
            )
        try:
            _validate(data, _TRIAL_FIELDS, _TRIAL_REQUIRED, "")
            steps = data.get("steps") or []
            kwargs = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            kwargs["steps"] = [
                Step.from_dict(step, where=f"steps[{i}]") for i, step in enumerate(steps)
            ]
        except TrialSchemaError as exc:
            raise TrialSchemaError(f"not a trial record: {exc}") from exc
        return cls(**kwargs)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_message(value: Any) -> bool:
    """A `messages_to_dict` entry: ``{"type": "human", "data": {...}}``."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("type"), str)
        and isinstance(value.get("data"), dict)
    )


_Check = tuple[Callable[[Any], bool], str]
_STRING: _Check = (lambda v: isinstance(v, str), "a string")
_OPTIONAL_STRING: _Check = (lambda v: v is None or isinstance(v, str), "a string or null")
_INTEGER: _Check = (_is_int, "an integer")
_NUMBER: _Check = (_is_number, "a number")
_BOOLEAN: _Check = (lambda v: isinstance(v, bool), "true or false")
_OBJECT: _Check = (lambda v: isinstance(v, dict), "an object")
_STRINGS: _Check = (
    lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "a list of strings",
)
_OBJECTS: _Check = (
    lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "a list of objects",
)
_MESSAGES: _Check = (
    lambda v: isinstance(v, list) and all(_is_message(x) for x in v),
    'a list of message objects ({"type": ..., "data": {...}})',
)
_STATUS: _Check = (
    lambda v: v in ("ok", "error", "skipped", "emulated"),
    "one of ok, error, skipped, emulated",
)

_STEP_FIELDS: dict[str, _Check] = {
    "tool": _STRING,
    "args": _OBJECT,
    "call_id": _STRING,
    "output": _STRING,
    "status": _STATUS,
    "error_kind": _OPTIONAL_STRING,
    "error": _OPTIONAL_STRING,
    "duration_s": _NUMBER,
}
_TRIAL_REQUIRED = ("trial_id", "tools", "episode", "index", "query")
_TRIAL_FIELDS: dict[str, _Check] = {
    "trial_id": _STRING,
    "tools": _STRINGS,
    "episode": _INTEGER,
    "index": _INTEGER,
    "query": _STRING,
    "messages": _MESSAGES,
    "steps": _OBJECTS,
    "final_answer": _STRING,
    "success": _BOOLEAN,
    "lesson": _STRING,
    "signals": _OBJECT,
    "emulated": _BOOLEAN,
    "exemplars": _STRINGS,
    "model": _STRING,
    "usage": _OBJECT,
    "timings": _OBJECT,
    "created_at": _NUMBER,
    "error": _OPTIONAL_STRING,
    "extra": _OBJECT,
}


def _validate(data: Any, fields: dict[str, _Check], required: Sequence[str], where: str) -> None:
    """Raise `TrialSchemaError` naming the first missing or mistyped field of ``data``."""
    prefix = f"{where}." if where else ""
    if not isinstance(data, dict):
        raise TrialSchemaError(f"{where or 'record'} must be an object, not {_describe(data)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise TrialSchemaError(f"{where or 'record'} is missing {', '.join(missing)}")
    for name, (check, expected) in fields.items():
        if name in data and not check(data[name]):
            raise TrialSchemaError(
                f"{prefix}{name} must be {expected}, not {_describe(data[name])}"
            )


def _describe(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 40 else shown[:37] + '...'}"


def trajectory_to_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Serialise a trajectory, checking that every tool call has its ToolMessage.

    Raises:
        ValueError: an AI tool call has no matching ToolMessage, or a ToolMessage answers no
            call; such a history would be rejected by providers.
    """
    check_tool_pairing(messages)
    return messages_to_dict(list(messages))


def exemplar_messages(trial: Trial, prefix: str) -> list[BaseMessage]:
    """The trial's trajectory with tool call ids renamed ``{prefix}_{n}``, pairs kept intact.

    Use a distinct ``prefix`` per exemplar so that several exemplars (and the live conversation)
    never share a tool call id, which providers reject.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
        >>> call = {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}
        >>> t = Trial(trial_id="add/e000/t0", tools=["add"], episode=0, index=0, query="1+?",
        ...           messages=trajectory_to_dicts([HumanMessage("1+?"),
        ...               AIMessage("", tool_calls=[call]), ToolMessage("1", tool_call_id="c1")]))
        >>> msgs = exemplar_messages(t, "ex0")
        >>> msgs[1].tool_calls[0]["id"], msgs[2].tool_call_id
        ('ex0_0', 'ex0_0')
    """
    renamed: dict[str, str] = {}
    out: list[BaseMessage] = []
    for msg in trial.to_messages():
        if isinstance(msg, AIMessage) and msg.tool_calls:
            calls = []
            for call in msg.tool_calls:
                renamed[call["id"] or ""] = f"{prefix}_{len(renamed)}"
                calls.append({**call, "id": renamed[call["id"] or ""]})
            msg = msg.model_copy(update={"tool_calls": calls, "id": None})
        elif isinstance(msg, ToolMessage):
            msg = msg.model_copy(
                update={"tool_call_id": renamed.get(msg.tool_call_id, ""), "id": None}
            )
        else:
            msg = msg.model_copy(update={"id": None})
        out.append(msg)
    check_tool_pairing(out)
    return out


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


def recent_queries(trials: Iterable[Trial], tool: str, limit: int = 20) -> list[str]:
    """Queries of ``tool``'s trials, most recent first (long-term memory for the imagine step).

    Example:
        >>> ts = [Trial(trial_id=f"t/e000/t{i}", tools=["t"], episode=0, index=i, query=f"q{i}",
        ...             created_at=float(i)) for i in range(3)]
        >>> recent_queries(ts, "t", limit=2)
        ['q2', 'q1']
    """
    mine = [t for t in trials if tool in t.tools]
    ordered = sorted(mine, key=lambda t: t.created_at, reverse=True)
    return [t.query for t in ordered[:limit]]


def is_usable(
    trial: Trial,
    *,
    allow_emulated: bool = False,
    require_success: bool = True,
    require_clean: bool = True,
    require_signals: Sequence[str] = (),
) -> bool:
    """Whether a trial may teach: as an exemplar, a training example or a curated trial.

    The one rule every consumer applies (exemplar retrieval, SFT export, curation, ``ste show``):
    judged successful without a run error; at least one tool call executed (a trial whose every
    call raised, or that called nothing, showed no working use of a tool, whatever its verdict);
    with ``require_clean``, the last call executed too (STE's rule); not emulated unless
    ``allow_emulated`` (its tool results were invented by a model, not returned by the tool);
    every signal in ``require_signals`` true.

    Example:
        >>> ok = Step(tool="add", args={}, call_id="c1", output="3")
        >>> bad = Step(tool="add", args={}, call_id="c2", status="error", error="boom")
        >>> t = Trial(trial_id="a", tools=["add"], episode=0, index=0, query="q", success=True,
        ...           steps=[bad, bad])
        >>> is_usable(t), is_usable(t, require_clean=False)
        (False, False)
        >>> t.steps = [ok, bad]
        >>> is_usable(t), is_usable(t, require_clean=False)
        (False, True)
        >>> t.steps, t.emulated = [ok], True
        >>> is_usable(t), is_usable(t, allow_emulated=True)
        (False, True)
    """
    if require_success and not (trial.success and not trial.error):
        return False
    if not any(step.ok for step in trial.steps):
        return False
    if require_clean and not trial.clean:
        return False
    if not allow_emulated and (trial.emulated or any(s.status == "emulated" for s in trial.steps)):
        return False
    return all(trial.signals.get(name) for name in require_signals)


def query_key(trial: Trial) -> tuple[tuple[str, ...], str]:
    """What two trials share when they ask the same thing: their tools and normalised query.

    Case, punctuation and spacing are ignored; the one key every exact dedupe uses.

    Example:
        >>> a = Trial(trial_id="a", tools=["t"], episode=0, index=0, query="3 in to cm?")
        >>> b = Trial(trial_id="b", tools=["t"], episode=0, index=1, query=" 3 IN to  cm")
        >>> query_key(a) == query_key(b), query_key(a)
        (True, (('t',), '3 in to cm'))
    """
    return tuple(sorted(trial.tools)), normalise_query(trial.query)


def normalise_query(text: str) -> str:
    """A query in lower case with runs of anything but letters and digits made one space.

    Example:
        >>> normalise_query("How many CM, in 3 inches?!")
        'how many cm in 3 inches'
    """
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
