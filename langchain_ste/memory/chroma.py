"""Long-term memory of exploration: trials in `trials.jsonl`, indexed in a Chroma collection.

The JSONL file is the source of truth; the Chroma collection (one document per trial: the query as
text, the trial's tools, verdict and ids as metadata) is derived data that is caught up from the
JSONL on open and can be rebuilt from it at any time.

We use `chromadb` directly rather than `langchain-chroma`: we need idempotent writes by id with our
own precomputed embeddings (one embedding pass serves duplicate detection and insertion), metadata
filters by tool and verdict, the collection's own metadata to detect an incompatible memory, and
both the embedded `PersistentClient` and `HttpClient`; MMR comes from
`langchain_core.vectorstores.utils.maximal_marginal_relevance`.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from langchain_ste.memory.base import TrialsById
from langchain_ste.memory.embeddings import ChromaEmbeddingFunction, load_embeddings
from langchain_ste.memory.index import (
    MemoryStoreError,
    connect,
    get_or_create,
    incompatibility,
    move_aside,
    passes,
    tools_in,
    trial_in,
    trial_metadata,
    where_filter,
)
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection as ChromaCollection

logger = logging.getLogger(__name__)

_MAX_UNFILTERED = 8_000
"""Largest over-fetch of an unfiltered query before a search uses Chroma's `where` filter."""


class ExplorationMemory(TrialsById):
    """Trials of past explorations, searchable by similarity of their queries.

    Args:
        directory: holds ``trials.jsonl`` and, for the embedded Chroma, ``chroma/``.
        collection: Chroma collection name (3-512 characters).
        host: a shared Chroma server (``chroma run``) instead of the embedded database.
        port: the server's port.
        client: an existing Chroma client to use.
        embeddings: LangChain embeddings (default: the embedded MiniLM).
        duplicate_threshold: cosine similarity at or above which a new query of the same tool is
            flagged as a near-duplicate of an earlier one.
        create: create the directory if it is missing (``False``: a missing memory is an error,
            for readers such as ``ste show``).
        reindex: re-index ``trials.jsonl`` when the index was built with another embedding model
            (instead of raising); only the derived index is replaced.

    With a shared server (``host``/``port`` or ``client``), searches also return trials that
    other workers indexed (each document carries its trial's JSON), while `trials`, `len` and
    `past_queries` cover this directory's ``trials.jsonl``.

    Raises:
        MemoryStoreError: the directory is missing (with ``create=False``), the collection was
            written by a newer langchain-ste or with another embedding model (dimension
            mismatch), or the server does not answer.

    Example:
        >>> import tempfile
        >>> memory = ExplorationMemory(tempfile.mkdtemp())
        >>> t = Trial(trial_id="convert_units/e000/t0", tools=["convert_units"], episode=0,
        ...           index=0, query="How many cm are 3 inches?", success=True)
        >>> memory.add([t]), memory.add([t])
        (1, 0)
        >>> [r.trial_id for r in memory.search("inches to centimeters", k=1)]
        ['convert_units/e000/t0']
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        collection: str = "ste_trials",
        host: str | None = None,
        port: int | None = None,
        client: ClientAPI | None = None,
        embeddings: Embeddings | None = None,
        duplicate_threshold: float = 0.92,
        create: bool = True,
        reindex: bool = False,
    ) -> None:
        self.directory = Path(directory)
        if not create and not (self.directory / "trials.jsonl").is_file():
            raise MemoryStoreError(
                f"no exploration memory at {self.directory} (no trials.jsonl): check the path, "
                "or run `ste explore` to create one"
            )
        if self.directory.exists() and not self.directory.is_dir():
            raise MemoryStoreError(
                f"{self.directory} is a file, not a memory directory: pass a directory"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = TrialLog(self.directory / "trials.jsonl")
        self.embeddings = embeddings or load_embeddings()
        self.duplicate_threshold = duplicate_threshold
        self.collection_name = collection
        self._function = ChromaEmbeddingFunction(self.embeddings)
        self._dim = len(self.embeddings.embed_query("dimension probe"))
        self._host, self._port = host, port
        self._client = client
        self._shared = host is not None or client is not None
        self._reindex = reindex
        self._trials: dict[str, Trial] = {}
        self._per_tool: Counter[str] = Counter()  # trials per tool
        self._per_tool_ok: Counter[str] = Counter()  # successful, not flagged, per tool
        self._ok = 0
        for trial in self.log.read():
            self._remember(trial)
        # Under the writers' lock: two processes creating (or recovering) the same Chroma folder
        # at once would pull the database file from under each other.
        with self._open_lock():
            for trial in self.log.new_trials():
                self._remember(trial)
            self._collection = self._open_collection()
            self._catch_up()

    @contextmanager
    def _open_lock(self) -> Iterator[None]:
        """The log's write lock for opening; a read-only memory folder opens without it."""
        if self._shared or not os.access(self.directory, os.W_OK):
            yield
            return
        with self.log.lock():
            yield

    @property
    def trials_path(self) -> Path:
        """The JSONL file that is the source of truth."""
        return self.log.path

    def __len__(self) -> int:
        return len(self._trials)

    # -- opening ------------------------------------------------------------------------------

    def _open_collection(self) -> ChromaCollection:
        try:
            if self._client is None:
                self._client = connect(self.directory, self._host, self._port)
            collection = self._get_or_create()
            collection.count()
        except MemoryStoreError:
            raise
        except Exception as exc:
            if self._host is not None:
                raise MemoryStoreError(f"the Chroma server failed: {exc}") from exc
            self._client = None
            move_aside(self.directory, exc, self.trials_path.name)
            self._client = connect(self.directory)
            collection = self._get_or_create()
        mismatch = incompatibility(
            dict(collection.metadata or {}), self.directory, dim=self._dim, model=self._model_name
        )
        if mismatch:
            if not self._reindex:
                raise MemoryStoreError(
                    f"{mismatch}: open it with the same embedding model, or pass reindex=True to "
                    "re-index trials.jsonl with this one (trials.jsonl is kept)"
                )
            logger.warning("%s; re-indexing %s with this model", mismatch, self.trials_path.name)
            assert self._client is not None
            self._client.delete_collection(self.collection_name)
            collection = self._get_or_create()
        return collection

    def _get_or_create(self) -> ChromaCollection:
        assert self._client is not None
        name, dim, model = self.collection_name, self._dim, self._model_name
        return get_or_create(self._client, name, self._function, dim=dim, model=model)

    @property
    def _model_name(self) -> str:
        name = getattr(self.embeddings, "name", None)
        return name if isinstance(name, str) and name else "custom"

    def _catch_up(self) -> None:
        """Index trials that reached the JSONL but not Chroma (e.g. a crash between the two)."""
        if not self._trials:
            return
        indexed = set(self._collection.get(include=[])["ids"])
        missing = [t for tid, t in self._trials.items() if tid not in indexed]
        if missing:
            logger.info("indexing %d trials missing from the Chroma collection", len(missing))
            self._index(missing, self.embeddings.embed_documents([t.query for t in missing]))

    # -- writing ------------------------------------------------------------------------------

    def add(self, trials: Iterable[Trial]) -> int:
        """Store new trials (JSONL first, then the index); known ids are skipped.

        Safe from many threads and processes at once: the write holds the log's lock (a thread
        lock plus a file lock), first takes in the trials other writers appended meanwhile, and
        so writes each id once, to the JSONL and to the index alike. The embeddings are computed
        before the lock is taken.

        A trial whose query nearly repeats an earlier one of the same tool is kept but flagged
        with ``extra["duplicate_of"]``; searches skip flagged trials.

        Returns:
            How many trials were newly added (by this call).
        """
        candidates: dict[str, Trial] = {}
        for trial in trials:
            if trial.trial_id not in self._trials:
                candidates.setdefault(trial.trial_id, trial)
        if not candidates:
            return 0
        queries = [t.query for t in candidates.values()]
        by_id = dict(zip(candidates, self.embeddings.embed_documents(queries), strict=True))
        with self.log.lock():
            for trial in self.log.new_trials():  # other threads' and processes' appends
                self._remember(trial)
            new = [t for tid, t in candidates.items() if tid not in self._trials]
            if not new:
                return 0
            vectors = [by_id[t.trial_id] for t in new]
            for trial, original in zip(new, self._near_duplicates(new, vectors), strict=True):
                if original:
                    trial.extra["duplicate_of"] = original
            self.log.append(new)
            for trial in new:
                self._remember(trial)
            self._index(new, vectors)
        return len(new)

    def _remember(self, trial: Trial) -> None:
        if trial.trial_id in self._trials:
            return
        self._trials[trial.trial_id] = trial
        ok = bool(trial.success) and not trial.extra.get("duplicate_of")
        self._ok += ok
        for tool in set(trial.tools):
            self._per_tool[tool] += 1
            self._per_tool_ok[tool] += ok

    def _near_duplicates(self, new: list[Trial], vectors: list[list[float]]) -> list[str | None]:
        """For each new trial, the id of an earlier trial of a shared tool it nearly repeats.

        Earlier means already indexed (among the few nearest neighbours, found with one
        unfiltered query for the whole batch: Chroma's metadata filters are slow at scale), or
        before it in this batch.
        """
        import numpy as np

        found: list[str | None] = [None] * len(new)
        mat = np.asarray(vectors, dtype=np.float32).reshape(len(new), -1)
        rows = [i for i, t in enumerate(new) if t.query.strip()]
        count = self._collection.count() if rows else 0
        hits = None
        if count:
            try:
                hits = self._collection.query(
                    query_embeddings=mat[rows],
                    n_results=min(count, 8),
                    include=["distances", "metadatas"] if self._shared else ["distances"],
                )
            except Exception as exc:
                # Best effort: a shared server can briefly fail on a collection another worker
                # just created ("Nothing found on disk"); the trial is stored unflagged.
                logger.warning("near-duplicate check skipped: %s", exc)
        if hits is not None:
            metas = hits["metadatas"] or [[{}] * len(ids) for ids in hits["ids"]]
            for row, ids, dists, mds in zip(
                rows, hits["ids"], hits["distances"] or [], metas, strict=False
            ):
                tools = set(new[row].tools)
                for other, dist, meta in zip(ids, dists, mds, strict=False):
                    if 1.0 - float(dist) < self.duplicate_threshold:
                        break
                    if tools & self._tools_of(str(other), meta):
                        found[row] = str(other)
                        break
        sims = mat @ mat.T
        for i in rows:
            if found[i]:
                continue
            tools = set(new[i].tools)
            for j in rows:
                if j >= i:
                    break
                if sims[i, j] >= self.duplicate_threshold and tools & set(new[j].tools):
                    found[i] = new[j].trial_id
                    break
        return found

    def _tools_of(self, trial_id: str, meta: Any) -> set[str]:
        """Tools of an indexed trial: from the JSONL, else from its metadata."""
        trial = self._trials.get(trial_id)
        if trial is not None:
            return set(trial.tools)
        return tools_in(meta)

    def _index(self, trials: Sequence[Trial], vectors: Sequence[Sequence[float]]) -> None:
        for start in range(0, len(trials), 1000):
            chunk = trials[start : start + 1000]
            self._collection.upsert(
                ids=[t.trial_id for t in chunk],
                embeddings=[list(v) for v in vectors[start : start + 1000]],  # type: ignore[arg-type]
                documents=[t.query for t in chunk],
                metadatas=[trial_metadata(t, with_record=self._shared) for t in chunk],
            )

    def rebuild(self, from_jsonl: str | os.PathLike[str] | None = None) -> int:
        """Recreate the Chroma collection from the JSONL (this memory's, or ``from_jsonl``'s
        trials merged into it first). Returns the number of trials indexed."""
        incoming = []
        if from_jsonl is not None and Path(from_jsonl).resolve() != self.trials_path.resolve():
            incoming = TrialLog(from_jsonl).read()
        with self.log.lock():  # no writer adds to the collection while it is replaced
            for trial in self.log.new_trials():
                self._remember(trial)
            if incoming:
                self.log.append(t for t in incoming if t.trial_id not in self._trials)
                for trial in incoming:
                    self._remember(trial)
            try:
                assert self._client is not None
                self._client.delete_collection(self.collection_name)
            except Exception as exc:  # absent or unreadable: recreate either way
                logger.debug("delete_collection: %s", exc)
            self._collection = self._get_or_create()
            trials = list(self._trials.values())
            if trials:
                self._index(trials, self.embeddings.embed_documents([t.query for t in trials]))
        return len(trials)

    # -- reading ------------------------------------------------------------------------------

    def get(self, trial_id: str) -> Trial | None:
        """The trial with this id (with a shared server, also other workers'), or None."""
        trial = self._trials.get(trial_id)
        if trial is None and self._shared:
            found = self._collection.get(ids=[trial_id], include=["metadatas"])
            if found["ids"]:
                trial = self._resolve(trial_id, (found["metadatas"] or [{}])[0])
        return trial

    def search(
        self,
        query: str,
        k: int = 3,
        *,
        tools: Sequence[str] | None = None,
        only_successful: bool = True,
        diverse: bool = True,
        exclude_ids: Collection[str] = (),
        min_similarity: float = 0.0,
    ) -> list[Trial]:
        """Trials whose queries are most similar to ``query``.

        Args:
            query: the text to match.
            k: how many trials to return.
            tools: only trials of any of these tools.
            only_successful: only trials judged successful.
            diverse: skip flagged near-duplicates and rank with maximal marginal relevance, so
                the k results are not copies of each other.
            exclude_ids: trial ids never to return (e.g. the trial being run).
            min_similarity: a floor on the cosine similarity to ``query`` (applied before MMR),
                so that ``k`` is not filled with unrelated trials.
        """
        return [
            trial
            for trial, _ in self.search_with_scores(
                query,
                k,
                tools=tools,
                only_successful=only_successful,
                diverse=diverse,
                exclude_ids=exclude_ids,
                min_similarity=min_similarity,
            )
        ]

    def search_with_scores(
        self,
        query: str,
        k: int = 3,
        *,
        tools: Sequence[str] | None = None,
        only_successful: bool = True,
        diverse: bool = True,
        exclude_ids: Collection[str] = (),
        min_similarity: float = 0.0,
    ) -> list[tuple[Trial, float]]:
        """Like `search`, with each trial's cosine similarity to ``query``.

        Example:
            >>> import tempfile
            >>> memory = ExplorationMemory(tempfile.mkdtemp())
            >>> _ = memory.add([Trial(trial_id="t1", tools=["add"], episode=0, index=0,
            ...                       query="What is 2 plus 2?", success=True)])
            >>> [(t.trial_id, s > 0.7) for t, s in memory.search_with_scores("2 plus 2?")]
            [('t1', True)]
        """
        total = self._collection.count() if self._shared else len(self._trials)
        if k <= 0 or not total:
            return []
        wanted = (4 * k if diverse else k) + len(exclude_ids)
        qvec = self.embeddings.embed_query(query)
        where = where_filter(tools, only_successful, diverse)
        # Chroma's metadata filters scan the matching rows (~300 ms at 100k trials), while an
        # unfiltered nearest-neighbour query takes 2-30 ms for 100-8000 results: over-fetch
        # unfiltered and filter here, widening the fetch while too few candidates pass (near a
        # query, failed trials and near-duplicates can be far denser than on average); fall back
        # to the filtered query only past _MAX_UNFILTERED.
        eligible = self._eligible(tools, only_successful, diverse)
        hits: list[tuple[str, Trial, float]] = []
        if where is None:
            hits = self._query(qvec, min(total, wanted), None)
        elif eligible != 0:
            expected = total if eligible is None else wanted * total / max(eligible, 1)
            n = min(total, int(2 * expected) + wanted)
            while n <= _MAX_UNFILTERED:
                found = self._query(qvec, n, None)
                hits = [h for h in found if passes(h[1], tools, only_successful, diverse)]
                if len(hits) >= wanted or n >= total:
                    break
                n = min(total, 4 * n)
        if where is not None and len(hits) < wanted and (eligible is None or len(hits) < eligible):
            hits = self._query(qvec, min(total, wanted), where)
        hits = [h for h in hits if h[0] not in exclude_ids and h[2] >= min_similarity]
        if diverse and len(hits) > k:
            import numpy as np
            from langchain_core.vectorstores.utils import maximal_marginal_relevance

            ids = [h[0] for h in hits]
            got = self._collection.get(ids=ids, include=["embeddings"])
            by_id = dict(zip(got["ids"], got["embeddings"], strict=True))  # type: ignore[arg-type]
            # one 2-D array: MMR re-converts a list of lists on every step (11 ms per search)
            vecs: Any = np.asarray([by_id[i] for i in ids], dtype=np.float32)
            picked = maximal_marginal_relevance(
                np.asarray(qvec, dtype=np.float32), vecs, lambda_mult=0.5, k=k
            )
            hits = [hits[p] for p in picked]
        return [(trial, score) for _, trial, score in hits[:k]]

    def _query(
        self, qvec: list[float], n: int, where: dict[str, Any] | None
    ) -> list[tuple[str, Trial, float]]:
        """Nearest neighbours as (id, trial, cosine similarity), best first."""
        found = self._collection.query(
            query_embeddings=[qvec],  # type: ignore[arg-type]
            n_results=max(n, 1),
            where=where,
            include=["distances", "metadatas"] if self._shared else ["distances"],
        )
        ids = [str(i) for i in (found["ids"][0] if found["ids"] else [])]
        dists = found["distances"][0] if found["distances"] else [1.0] * len(ids)
        metas = found["metadatas"][0] if found["metadatas"] else [{}] * len(ids)
        out = []
        for i, dist, meta in zip(ids, dists, metas, strict=True):
            trial = self._resolve(i, meta)
            if trial is not None:
                out.append((i, trial, 1.0 - float(dist)))
        return out

    def _eligible(
        self, tools: Sequence[str] | None, only_successful: bool, skip_duplicates: bool
    ) -> int | None:
        """How many local trials pass a filter (an upper bound; None with a shared server)."""
        if self._shared:
            return None
        strict = only_successful and skip_duplicates
        if tools:
            counts = self._per_tool_ok if strict else self._per_tool
            return sum(counts[t] for t in set(tools))
        return self._ok if strict else len(self._trials)

    def _resolve(self, trial_id: str, meta: Any) -> Trial | None:
        """The trial of a search hit: from the JSONL, else from the document (shared server)."""
        trial = self._trials.get(trial_id)
        if trial is None and self._shared:
            trial = trial_in(trial_id, meta)
        return trial
