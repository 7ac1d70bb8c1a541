"""Where exploration keeps trials: an `ExplorationMemory`, a plain `trials.jsonl`, or a list.

All three answer the same small protocol, so the graph neither knows nor cares; writes are
idempotent by trial id, which is what makes a resumed run add nothing twice.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from langchain_ste.trial import Trial, recent_queries
from langchain_ste.trial_log import TrialLog


@runtime_checkable
class TrialStore(Protocol):
    """What exploration needs from a memory (`ExplorationMemory` implements it)."""

    def add(self, trials: Iterable[Trial]) -> int: ...

    def trials(self, tool: str | None = None) -> list[Trial]: ...

    def past_queries(self, tool: str, limit: int = 20) -> list[str]: ...


class SupportsSearch(Protocol):
    """What similarity search over past trials needs from a memory (`ExplorationMemory` fits;
    used by bootstrapping and by exemplar retrieval)."""

    def search(
        self,
        query: str,
        k: int = 3,
        *,
        tools: Sequence[str] | None = None,
        only_successful: bool = True,
        diverse: bool = True,
        exclude_ids: Collection[str] = (),
    ) -> list[Trial]: ...


class TrialsById:
    """The reading half every in-process store shares: trials kept by id, in insertion order."""

    _trials: dict[str, Trial]

    def trials(self, tool: str | None = None) -> list[Trial]:
        """All trials in the order they were added, optionally only those of ``tool``."""
        return [t for t in list(self._trials.values()) if tool is None or tool in t.tools]

    def past_queries(self, tool: str, limit: int = 20) -> list[str]:
        """Queries already explored for ``tool``, most recent first (for the imagine prompt)."""
        return recent_queries(list(self._trials.values()), tool, limit)


class ListStore(TrialsById):
    """Trials kept in this process only (no persistence, no similarity search).

    Example:
        >>> store = ListStore()
        >>> t = Trial(trial_id="a/e000/t0", tools=["a"], episode=0, index=0, query="q")
        >>> store.add([t, t]), store.past_queries("a")
        (1, ['q'])
    """

    def __init__(self, trials: Iterable[Trial] = ()) -> None:
        self._trials: dict[str, Trial] = {}
        self._lock = threading.Lock()
        ListStore.add(self, trials)

    def add(self, trials: Iterable[Trial]) -> int:
        """Keep trials not seen before; return how many were new (thread-safe)."""
        added = 0
        with self._lock:
            for trial in trials:
                if trial.trial_id not in self._trials:
                    self._trials[trial.trial_id] = trial
                    added += 1
        return added

    def search(
        self,
        query: str,
        k: int = 3,
        *,
        tools: Sequence[str] | None = None,
        only_successful: bool = True,
        diverse: bool = True,
        exclude_ids: Collection[str] = (),
    ) -> list[Trial]:
        """Most recent matching trials (no embeddings here: order is recency, not similarity)."""
        found = [
            t
            for t in reversed(list(self._trials.values()))
            if (not tools or set(tools) & set(t.tools))
            and (t.success or not only_successful)
            and t.trial_id not in exclude_ids
        ]
        return found[:k]


class LogStore(ListStore):
    """A `ListStore` backed by an append-only ``trials.jsonl`` (fsync per record).

    Writes go through `TrialLog.append` under the log's lock (thread lock plus file lock), after
    taking in what other threads and processes appended: each id is written once.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "trials.jsonl"
        >>> t = Trial(trial_id="a/e000/t0", tools=["a"], episode=0, index=0, query="q")
        >>> LogStore(path).add([t]), LogStore(path).add([t])
        (1, 0)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.log = TrialLog(Path(path))
        super().__init__(self.log.read())

    def add(self, trials: Iterable[Trial]) -> int:
        """Append new trials to the file, then keep them in memory; return how many were new."""
        batch = list(trials)
        with self.log.lock():
            super().add(self.log.new_trials())  # other writers' appends
            new = [t for t in batch if t.trial_id not in self._trials]
            self.log.append(new)
            return super().add(new)
