"""`trials.jsonl`: the append-only log that is the source of truth of an exploration.

One record per line, written with flush + fsync; a torn last line (a crash mid-write) is detected
and dropped on read, and duplicate ids are ignored so a resumed run never doubles a trial.

Every append holds an in-process lock and a cross-process file lock (``.trials.jsonl.lock`` next
to the log) and re-reads what other writers appended before deciding what is new, so any number
of threads and processes can append to one log: nothing is lost, nothing is written twice, and
the torn-tail repair only ever cuts what a dead writer left.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from langchain_ste.trial import Trial, TrialSchemaError

logger = logging.getLogger(__name__)

_GUARDS: dict[str, threading.RLock] = {}
_GUARDS_LOCK = threading.Lock()


def _guard_for(path: Path) -> threading.RLock:
    """One re-entrant lock per log file in this process, shared by every `TrialLog` on it."""
    key = os.path.realpath(path)
    with _GUARDS_LOCK:
        return _GUARDS.setdefault(key, threading.RLock())


class TrialLog:
    """Append-only JSONL file of trials: the source of truth of an exploration.

    Each `append` writes whole lines and fsyncs, so a process killed at any moment leaves at most
    one torn last line, which `read` drops with a warning. Ids already in the file are skipped,
    including ids that another thread or process appended a moment ago: appends are serialised
    by `lock` (a thread lock plus a file lock) and re-read the file's new lines first.

    Example:
        >>> import tempfile, pathlib
        >>> log = TrialLog(pathlib.Path(tempfile.mkdtemp()) / "trials.jsonl")
        >>> t = Trial(trial_id="x/e000/t0", tools=["x"], episode=0, index=0, query="q")
        >>> log.append([t, t]), TrialLog(log.path).append([t])
        (1, 0)
        >>> [r.trial_id for r in log.read()]
        ['x/e000/t0']
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._guard = _guard_for(self.path)
        self._file_lock = FileLock(
            self.path.with_name(f".{self.path.name}.lock"), is_singleton=False, poll_interval=0.002
        )
        # What this object has seen of the file: complete lines up to _offset, their ids.
        self._ids: set[str] = set()
        self._offset = 0
        self._lineno = 0

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the log's write lock (re-entrant): no other thread or process appends meanwhile.

        Example:
            >>> import tempfile, pathlib
            >>> log = TrialLog(pathlib.Path(tempfile.mkdtemp()) / "trials.jsonl")
            >>> with log.lock():
            ...     log.new_trials()
            []
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard, self._file_lock:
            yield

    def ids(self) -> set[str]:
        """Ids of the trials already in the file."""
        with self._guard:
            self._scan()
            return set(self._ids) | {t.trial_id for t in self._complete_tail()}

    def new_trials(self) -> list[Trial]:
        """Trials that reached the file (from any writer) since this object last looked.

        Call it under `lock` to be sure that nothing is appended between this and a write.
        """
        with self._guard:
            return self._scan()

    def append(self, trials: Iterable[Trial]) -> int:
        """Append trials not yet in the log; return how many were written.

        Raises:
            TrialSchemaError: a complete line of the file is corrupt (nothing is written).
        """
        batch = list(trials)
        if not batch:
            return 0
        with self.lock():
            self._scan()  # raises on a corrupt line before anything changes
            self._repair_torn_tail()
            self._scan()  # a complete last record that only lacked its newline
            written: set[str] = set()
            lines: list[bytes] = []
            for trial in batch:
                if trial.trial_id in self._ids or trial.trial_id in written:
                    continue
                written.add(trial.trial_id)
                lines.append(_encode(trial))
            if not lines:
                return 0
            # One write of whole lines, then fsync: a crash leaves at most one torn last line.
            with self.path.open("ab") as fh:
                fh.write(b"".join(lines))
                fh.flush()
                os.fsync(fh.fileno())
                self._offset = fh.tell()
            self._ids.update(written)
            self._lineno += len(lines)
            return len(lines)

    def read(self) -> list[Trial]:
        """All trials in file order, without duplicates; a torn last line is dropped.

        Raises:
            TrialSchemaError: a line in the middle of the file is corrupt, or a record comes
                from a newer schema (never silently skipped: that would lose data). Nothing
                in the file is changed.
        """
        with self._guard:
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                return []
            end = data.rfind(b"\n") + 1
            trials, lines = self._parse_lines(data[:end], set(), 0)
            if self._offset == 0:  # what a later append or new_trials need not parse again
                self._ids, self._offset, self._lineno = {t.trial_id for t in trials}, end, lines
            tail = data[end:]
            if tail.strip():
                if _complete_record(tail) is None:
                    logger.warning("%s: dropping torn last line (interrupted write)", self.path)
                else:
                    trials.extend(
                        self._parse_lines(tail + b"\n", {t.trial_id for t in trials}, lines)[0]
                    )
            return trials

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.read())

    def __len__(self) -> int:
        return len(self.ids())

    def _scan(self) -> list[Trial]:
        """Parse the complete lines after `_offset`; return the trials with new ids."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._offset:  # replaced or truncated by someone else: start over
            self._ids, self._offset, self._lineno = set(), 0, 0
        if size == self._offset:
            return []
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read(size - self._offset)
        end = data.rfind(b"\n") + 1
        fresh, lines = self._parse_lines(data[:end], self._ids, self._lineno)
        self._ids.update(t.trial_id for t in fresh)
        self._offset += end
        self._lineno += lines
        return fresh

    def _parse_lines(self, data: bytes, known: set[str], lineno: int) -> tuple[list[Trial], int]:
        """The trials of whole lines ``data`` whose ids are not in ``known``; the line count."""
        lines = data.split(b"\n")[:-1]
        seen: set[str] = set()
        fresh: list[Trial] = []
        for n, line in enumerate(lines, start=lineno + 1):
            if not line.strip():
                continue
            trial = self._parse(line, n)
            if trial.trial_id not in known and trial.trial_id not in seen:
                seen.add(trial.trial_id)
                fresh.append(trial)
        return fresh, len(lines)

    def _complete_tail(self) -> list[Trial]:
        """The last record when it is complete but lacks its newline (kept by every reader)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                tail = fh.read()
        except FileNotFoundError:
            return []
        if not tail.strip() or b"\n" in tail or _complete_record(tail) is None:
            return []
        return [self._parse(tail, self._lineno + 1)]

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
            raise TrialSchemaError(
                f"{where}: {exc}; fix or remove that line, nothing was changed"
            ) from exc

    def _repair_torn_tail(self) -> None:
        """Make the file end with a newline before appending (call it under `lock`).

        A torn last line left by a crash is cut; a complete record that only lacks its newline
        gets one (so nothing readable is ever thrown away). Under the lock no other writer is
        mid-append, so a torn line can only be a dead writer's.
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
