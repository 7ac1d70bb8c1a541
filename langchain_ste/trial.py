"""Trial records: what one simulated trial of a tool produced.

A `Trial` is plain data (JSON-serialisable through `to_dict`/`from_dict`) so it can travel through
LangGraph state, checkpoints, Ray tasks and files without serializer allow-lists. Its trajectory is
kept once, as LangChain message dicts (`messages_to_dict`), in which every AI tool call is paired
with the `ToolMessage` that answered it. The step records (`Trial.steps`: status, error kind,
duration, the stored output when it is longer than what the model was shown) travel inside those
ToolMessages, under ``response_metadata["ste_step"]``; `Trial.steps` and `Trial.final_answer` are
derived from the messages, never stored beside them. `Trial.from_steps` builds a trial from steps
for hand-made records.

The durable `trials.jsonl` that keeps them is `langchain_ste.trial_log`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage, messages_from_dict

from langchain_ste._checks import (
    BOOLEAN,
    INTEGER,
    MESSAGES,
    NUMBER,
    OBJECT,
    OBJECTS,
    OPTIONAL_STRING,
    STRING,
    STRINGS,
    Check,
    TrialSchemaError,
    is_int,
    validate,
)
from langchain_ste.trajectory import (
    Step,
    attach_steps,
    check_step_records,
    check_tool_pairing,
    final_answer_of,
    messages_from_steps,
    steps_of,
)

__all__ = [
    "SCHEMA_VERSION",
    "Trial",
    "TrialSchemaError",
    "exemplar_messages",
    "is_usable",
    "normalise_query",
    "query_key",
    "recent_queries",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""Version of the on-disk trial record; readers refuse newer versions instead of guessing.

Version 1 stored ``steps`` and ``final_answer`` beside the messages; `Trial.from_dict` moves the
step records into the messages (`STEP_KEY`) when it reads one.
"""


@dataclass
class Trial:
    """One imagined query, the agent's attempt at it with the real tools, and the verdict.

    The trajectory is `messages` (LangChain message dicts, the step records inside the
    ToolMessages); `steps` and `final_answer` are read from it. Build a trial from steps with
    `from_steps`.

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

    @classmethod
    def from_steps(
        cls,
        *,
        trial_id: str,
        tools: list[str],
        episode: int,
        index: int,
        query: str,
        steps: Sequence[Step] = (),
        final_answer: str = "",
        **fields: Any,
    ) -> Trial:
        """A trial whose trajectory is built from its steps: the query, one AI call and its
        ToolMessage per step (the step record inside), then the answer.

        For hand-made trials (tests, imports from other tools); exploration records the real
        messages. A step without a call id gets ``call_{n}``. ``fields`` are the other `Trial`
        fields (``success``, ``lesson``, ...), ``messages`` excepted.

        Example:
            >>> t = Trial.from_steps(trial_id="a", tools=["add"], episode=0, index=0, query="1+2?",
            ...     steps=[Step(tool="add", args={"a": 1, "b": 2}, call_id="c1", output="3")],
            ...     final_answer="3")
            >>> [m.type for m in t.to_messages()], t.steps[0].output, t.final_answer
            (['human', 'ai', 'tool', 'ai'], '3', '3')
        """
        if "messages" in fields:
            raise TypeError("from_steps builds the messages: pass steps, not messages")
        return cls(
            trial_id=trial_id,
            tools=tools,
            episode=episode,
            index=index,
            query=query,
            messages=messages_from_steps(query, steps, final_answer),
            **fields,
        )

    @property
    def steps(self) -> tuple[Step, ...]:
        """The tool calls of the trajectory with what came back, in order (see `steps_of`).

        Read from `messages` on each access; build a changed trial with `from_steps`."""
        return steps_of(self.messages)

    @property
    def final_answer(self) -> str:
        """The last AI message's text when it calls no tool, else "" (see `final_answer_of`)."""
        return final_answer_of(self.messages)

    @property
    def clean(self) -> bool:
        """Whether there was at least one tool call and the last one executed without error."""
        steps = self.steps
        return bool(steps) and steps[-1].ok

    def to_messages(self) -> list[BaseMessage]:
        """The trajectory as LangChain messages (human query, AI calls, tool results, answer)."""
        return messages_from_dict(self.messages)

    def to_dict(self) -> dict[str, Any]:
        """Return the trial as plain JSON data."""
        return asdict(self)

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
        if not is_int(version):
            raise TrialSchemaError(f"not a trial record: schema_version {version!r}")
        if version > SCHEMA_VERSION:
            raise TrialSchemaError(
                f"trial {data.get('trial_id')!r} has schema version {version}, this "
                f"langchain-ste reads up to {SCHEMA_VERSION}: upgrade langchain-ste"
            )
        try:
            validate(data, _TRIAL_FIELDS, _TRIAL_REQUIRED, "")
            kwargs = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            if version < 2:
                validate(data, _V1_FIELDS, (), "")
                steps = [
                    Step.from_dict(step, where=f"steps[{i}]")
                    for i, step in enumerate(data.get("steps") or [])
                ]
                kwargs["messages"] = attach_steps(
                    data.get("messages") or [], data["query"], steps, data.get("final_answer", "")
                )
                kwargs["schema_version"] = SCHEMA_VERSION
            else:
                check_step_records(kwargs.get("messages") or [])
        except TrialSchemaError as exc:
            raise TrialSchemaError(f"not a trial record: {exc}") from exc
        return cls(**kwargs)


_TRIAL_REQUIRED = ("trial_id", "tools", "episode", "index", "query")
_TRIAL_FIELDS: dict[str, Check] = {
    "trial_id": STRING,
    "tools": STRINGS,
    "episode": INTEGER,
    "index": INTEGER,
    "query": STRING,
    "messages": MESSAGES,
    "success": BOOLEAN,
    "lesson": STRING,
    "signals": OBJECT,
    "emulated": BOOLEAN,
    "exemplars": STRINGS,
    "model": STRING,
    "usage": OBJECT,
    "timings": OBJECT,
    "created_at": NUMBER,
    "error": OPTIONAL_STRING,
    "extra": OBJECT,
}


_V1_FIELDS: dict[str, Check] = {"steps": OBJECTS, "final_answer": STRING}
"""Fields of a version-1 record that version 2 keeps inside the messages."""


def exemplar_messages(trial: Trial, prefix: str) -> list[BaseMessage]:
    """The trial's trajectory with tool call ids renamed ``{prefix}_{n}``, pairs kept intact.

    Use a distinct ``prefix`` per exemplar so that several exemplars (and the live conversation)
    never share a tool call id, which providers reject.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
        >>> from langchain_ste.trajectory import trajectory_to_dicts
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
        >>> def made(*steps, **fields):
        ...     return Trial.from_steps(trial_id="a", tools=["add"], episode=0, index=0,
        ...                             query="q", success=True, steps=steps, **fields)
        >>> is_usable(made(bad, bad)), is_usable(made(bad, bad), require_clean=False)
        (False, False)
        >>> is_usable(made(ok, bad)), is_usable(made(ok, bad), require_clean=False)
        (False, True)
        >>> t = made(ok, emulated=True)
        >>> is_usable(t), is_usable(t, allow_emulated=True)
        (False, True)
    """
    if require_success and not (trial.success and not trial.error):
        return False
    steps = trial.steps
    if not any(step.ok for step in steps):
        return False
    if require_clean and not steps[-1].ok:
        return False
    if not allow_emulated and (trial.emulated or any(s.status == "emulated" for s in steps)):
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
