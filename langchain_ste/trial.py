"""Trial records: what one simulated trial of a tool produced, and the JSONL log that keeps them.

A `Trial` is plain data (JSON-serialisable through `to_dict`/`from_dict`) so it can travel through
LangGraph state, checkpoints, Ray tasks and files without serializer allow-lists. The trajectory is
kept as LangChain message dicts (`messages_to_dict`), in which every AI tool call is paired with the
`ToolMessage` that answered it.

`TrialLog` is the append-only `trials.jsonl` that is the source of truth of an exploration: one
record per line, written with flush + fsync, a torn last line (a crash mid-write) is detected and
dropped on read, and duplicate ids are ignored so a resumed run never doubles a trial.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
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
    def from_dict(cls, data: dict[str, Any]) -> Step:
        """Build a step from `to_dict` output (fields added by newer versions are ignored)."""
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

        Raises:
            TrialSchemaError: the record was written by a newer, incompatible version, or is
                missing required fields.
        """
        if not isinstance(data, dict):
            raise TrialSchemaError(
                f"not a trial record: a JSON {type(data).__name__}, not an object"
            )
        try:
            version = int(data.get("schema_version", 1))
        except (TypeError, ValueError) as exc:
            raise TrialSchemaError(
                f"not a trial record: schema_version {data.get('schema_version')!r}"
            ) from exc
        if version > SCHEMA_VERSION:
            raise TrialSchemaError(
                f"trial {data.get('trial_id')!r} has schema version {version}, this "
                f"langchain-ste reads up to {SCHEMA_VERSION}: upgrade langchain-ste"
            )
        known = set(cls.__dataclass_fields__)
        kwargs = {k: v for k, v in data.items() if k in known}
        try:
            kwargs["steps"] = [Step.from_dict(s) for s in data.get("steps") or []]
            trial = cls(**kwargs)
        except (TypeError, ValueError, AttributeError) as exc:
            raise TrialSchemaError(f"not a trial record: {exc}") from exc
        if not isinstance(trial.trial_id, str) or not isinstance(trial.tools, list):
            raise TrialSchemaError("not a trial record: trial_id must be a string, tools a list")
        return trial


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


class TrialLog:
    """Append-only JSONL file of trials: the source of truth of an exploration.

    Each `append` writes whole lines and fsyncs, so a process killed at any moment leaves at most
    one torn last line, which `read` drops with a warning. Ids already in the file are skipped.

    Example:
        >>> import tempfile, pathlib
        >>> log = TrialLog(pathlib.Path(tempfile.mkdtemp()) / "trials.jsonl")
        >>> t = Trial(trial_id="x/e000/t0", tools=["x"], episode=0, index=0, query="q")
        >>> log.append([t, t])
        1
        >>> [r.trial_id for r in log.read()]
        ['x/e000/t0']
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ids: set[str] | None = None

    def ids(self) -> set[str]:
        """Ids of the trials already in the file."""
        if self._ids is None:
            self._ids = {t.trial_id for t in self.read()}
        return set(self._ids)

    def append(self, trials: Iterable[Trial]) -> int:
        """Append trials not yet in the log; return how many were written."""
        known = self.ids()
        lines: list[bytes] = []
        for trial in trials:
            if trial.trial_id in known:
                continue
            known.add(trial.trial_id)
            lines.append(_encode(trial))
        if not lines:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        # One write of whole lines, then fsync: a crash leaves at most one torn last line.
        with self.path.open("ab") as fh:
            fh.write(b"".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
        self._ids = known
        return len(lines)

    def read(self) -> list[Trial]:
        """All trials in file order, without duplicates; a torn last line is dropped.

        Raises:
            TrialSchemaError: a line in the middle of the file is corrupt, or a record comes
                from a newer schema (never silently skipped: that would lose data). Nothing
                in the file is changed.
        """
        return list(self._iter())

    def __iter__(self) -> Iterator[Trial]:
        return self._iter()

    def __len__(self) -> int:
        return len(self.ids())

    def _iter(self) -> Iterator[Trial]:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        torn_tail = lines.pop()  # b"" when the file ends with a newline
        seen: set[str] = set()
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            trial = self._parse(line, lineno)
            if trial.trial_id in seen:
                continue
            seen.add(trial.trial_id)
            yield trial
        if torn_tail.strip():
            record = _complete_record(torn_tail)
            if record is None:
                logger.warning("%s: dropping torn last line (interrupted write)", self.path)
                return
            trial = self._parse(torn_tail, len(lines) + 1)
            if trial.trial_id not in seen:
                yield trial

    def _parse(self, line: bytes, lineno: int) -> Trial:
        where = f"{self.path}:{lineno}"
        try:
            data = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            raise TrialSchemaError(
                f"{where}: corrupt trial record ({reason}); fix or remove that line, nothing "
                "was changed"
            ) from exc
        try:
            return Trial.from_dict(data)
        except TrialSchemaError as exc:
            raise TrialSchemaError(f"{where}: {exc}") from exc

    def _repair_torn_tail(self) -> None:
        """Make the file end with a newline before appending.

        A torn last line left by a crash is cut; a complete record that only lacks its newline
        gets one (so nothing readable is ever thrown away).
        """
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            start, tail = size, b""
            while start > 0 and b"\n" not in tail:
                step = min(start, 65536)
                start -= step
                fh.seek(start)
                tail = fh.read(step) + tail
            cut = start + tail.rfind(b"\n") + 1
            fh.seek(cut)
            if _complete_record(fh.read()) is not None:
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n")
            else:
                fh.truncate(cut)
                logger.warning("%s: removed torn last line before appending", self.path)
            fh.flush()
            os.fsync(fh.fileno())


def _encode(trial: Trial) -> bytes:
    data = trial.to_dict()
    try:
        return (json.dumps(data, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escaped, and read back as they were
        return (json.dumps(data, ensure_ascii=True, default=str) + "\n").encode("ascii")


def _complete_record(line: bytes) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None when it is not one (a torn write)."""
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


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


def read_trials(path: str | os.PathLike[str]) -> list[Trial]:
    """Read a `trials.jsonl` file (see `TrialLog.read`).

    Example:
        >>> read_trials("/nonexistent/trials.jsonl")
        []
    """
    return TrialLog(path).read()


def write_trials(path: str | os.PathLike[str], trials: Iterable[Trial]) -> int:
    """Append trials to a `trials.jsonl` file, skipping ids it already holds; return the count."""
    return TrialLog(path).append(trials)
