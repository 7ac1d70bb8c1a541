"""`trials.jsonl`: the append-only log that is the source of truth of an exploration.

One record per line, written with flush + fsync; a torn last line (a crash mid-write) is detected
and dropped on read, and duplicate ids are ignored so a resumed run never doubles a trial.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from langchain_ste.trial import Trial, TrialSchemaError

logger = logging.getLogger(__name__)


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
