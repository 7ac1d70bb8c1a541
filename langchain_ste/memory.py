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
import shutil
import time
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from langchain_ste.embeddings import ChromaEmbeddingFunction, load_embeddings
from langchain_ste.trial import Trial, TrialLog

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection as ChromaCollection

logger = logging.getLogger(__name__)

MEMORY_VERSION = 1
_TOOL_KEY = "tool:"


class MemoryStoreError(RuntimeError):
    """A memory that cannot be opened as asked; the message names the cause and the fix."""


class ExplorationMemory:
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

    Raises:
        MemoryStoreError: the collection was written by a newer langchain-ste or with another
            embedding model (dimension mismatch), or the server does not answer.

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
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = TrialLog(self.directory / "trials.jsonl")
        self.embeddings = embeddings or load_embeddings()
        self.duplicate_threshold = duplicate_threshold
        self.collection_name = collection
        self._function = ChromaEmbeddingFunction(self.embeddings)
        self._dim = len(self.embeddings.embed_query("dimension probe"))
        self._host, self._port = host, port
        self._client = client
        self._trials: dict[str, Trial] = {t.trial_id: t for t in self.log.read()}
        self._collection = self._open_collection()
        self._catch_up()

    @property
    def trials_path(self) -> Path:
        """The JSONL file that is the source of truth."""
        return self.log.path

    def __len__(self) -> int:
        return len(self._trials)

    # -- opening ------------------------------------------------------------------------------

    def _connect(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self._host is not None:
            try:
                client = chromadb.HttpClient(host=self._host, port=self._port or 8000,
                                             settings=settings)
                client.heartbeat()
            except Exception as exc:
                raise MemoryStoreError(
                    f"the Chroma server at {self._host}:{self._port} does not answer ({exc}); "
                    "start it with `chroma run --path DIR --host HOST --port PORT` or fix the "
                    "address"
                ) from exc
            return client
        return chromadb.PersistentClient(str(self.directory / "chroma"), settings=settings)

    def _open_collection(self) -> ChromaCollection:
        try:
            if self._client is None:
                self._client = self._connect()
            collection = self._get_or_create()
            collection.count()
        except MemoryStoreError:
            raise
        except Exception as exc:
            if self._host is not None:
                raise MemoryStoreError(f"the Chroma server failed: {exc}") from exc
            collection = self._recover(exc)
        self._check_compatible(collection)
        return collection

    def _get_or_create(self) -> ChromaCollection:
        assert self._client is not None
        return self._client.get_or_create_collection(
            self.collection_name,
            embedding_function=self._function,  # type: ignore[arg-type]
            metadata={"hnsw:space": "cosine", "ste_version": MEMORY_VERSION,
                      "embedding_dim": self._dim,
                      "embedding_model": str(getattr(self.embeddings, "name", "custom"))},
        )

    def _recover(self, exc: Exception) -> ChromaCollection:
        chroma_dir = self.directory / "chroma"
        aside = chroma_dir.with_name(f"chroma.corrupt-{int(time.time())}")
        logger.warning("Chroma index in %s is unreadable (%s); moving it to %s and rebuilding "
                       "from %s", chroma_dir, exc, aside.name, self.trials_path.name)
        self._client = None
        import chromadb

        chromadb.api.client.SharedSystemClient.clear_system_cache()
        if chroma_dir.exists():
            shutil.move(str(chroma_dir), str(aside))
        self._client = self._connect()
        return self._get_or_create()

    def _check_compatible(self, collection: ChromaCollection) -> None:
        meta = collection.metadata or {}
        version = int(meta.get("ste_version", MEMORY_VERSION))
        if version > MEMORY_VERSION:
            raise MemoryStoreError(
                f"memory {self.directory} was written by a newer langchain-ste (format "
                f"{version}); upgrade langchain-ste to read it"
            )
        dim = int(meta.get("embedding_dim", self._dim))
        if dim != self._dim:
            raise MemoryStoreError(
                f"memory {self.directory} was indexed with {dim}-dimensional embeddings "
                f"({meta.get('embedding_model')}), these are {self._dim}-dimensional: open it with "
                "the same embedding model, or call rebuild() to re-index it with this one"
            )

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

        A trial whose query nearly repeats an earlier one of the same tool is kept but flagged
        with ``extra["duplicate_of"]``; searches skip flagged trials.

        Returns:
            How many trials were newly added.
        """
        new: list[Trial] = []
        seen: set[str] = set()
        for trial in trials:
            if trial.trial_id in self._trials or trial.trial_id in seen:
                continue
            seen.add(trial.trial_id)
            new.append(trial)
        if not new:
            return 0
        vectors = self.embeddings.embed_documents([t.query for t in new])
        for i, (trial, vector) in enumerate(zip(new, vectors, strict=True)):
            original = self._near_duplicate(trial, vector, new[:i], vectors[:i])
            if original:
                trial.extra["duplicate_of"] = original
        self.log.append(new)
        for trial in new:
            self._trials[trial.trial_id] = trial
        self._index(new, vectors)
        return len(new)

    def _near_duplicate(
        self, trial: Trial, vector: list[float], batch: list[Trial], batch_vectors: list[list[float]]
    ) -> str | None:
        if not trial.query.strip():
            return None
        import numpy as np

        v = np.asarray(vector)
        for other, other_vec in zip(batch, batch_vectors, strict=True):
            if set(other.tools) & set(trial.tools) and float(v @ np.asarray(other_vec)) >= \
                    self.duplicate_threshold:
                return other.trial_id
        if not self._collection.count():
            return None
        hit = self._collection.query(
            query_embeddings=[vector], n_results=1, where=self._where(trial.tools, False, False),
            include=["distances"],
        )
        if hit["ids"] and hit["ids"][0]:
            similarity = 1.0 - float(hit["distances"][0][0])  # type: ignore[index]
            if similarity >= self.duplicate_threshold:
                return str(hit["ids"][0][0])
        return None

    def _index(self, trials: Sequence[Trial], vectors: Sequence[Sequence[float]]) -> None:
        for start in range(0, len(trials), 1000):
            chunk = trials[start : start + 1000]
            self._collection.upsert(
                ids=[t.trial_id for t in chunk],
                embeddings=[list(v) for v in vectors[start : start + 1000]],  # type: ignore[arg-type]
                documents=[t.query for t in chunk],
                metadatas=[_metadata(t) for t in chunk],  # type: ignore[misc]
            )

    def rebuild(self, from_jsonl: str | os.PathLike[str] | None = None) -> int:
        """Recreate the Chroma collection from the JSONL (this memory's, or ``from_jsonl``'s
        trials merged into it first). Returns the number of trials indexed."""
        if from_jsonl is not None and Path(from_jsonl).resolve() != self.trials_path.resolve():
            incoming = TrialLog(from_jsonl).read()
            self.log.append(incoming)
            for t in incoming:
                self._trials.setdefault(t.trial_id, t)
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
        """The trial with this id, or None."""
        return self._trials.get(trial_id)

    def trials(self, tool: str | None = None) -> list[Trial]:
        """All trials in file order, optionally only those of ``tool``."""
        return [t for t in self._trials.values() if tool is None or tool in t.tools]

    def past_queries(self, tool: str, limit: int = 20) -> list[str]:
        """Queries already explored for ``tool``, most recent first (for the imagine prompt)."""
        ordered = sorted(self.trials(tool), key=lambda t: t.created_at, reverse=True)
        return [t.query for t in ordered[:limit]]

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
        """Trials whose queries are most similar to ``query``.

        Args:
            query: the text to match.
            k: how many trials to return.
            tools: only trials of any of these tools.
            only_successful: only trials judged successful.
            diverse: skip flagged near-duplicates and rank with maximal marginal relevance, so
                the k results are not copies of each other.
            exclude_ids: trial ids never to return (e.g. the trial being run).
        """
        if k <= 0 or not self._trials:
            return []
        fetch = min(len(self._trials), (4 * k if diverse else k) + len(exclude_ids))
        qvec = self.embeddings.embed_query(query)
        found = self._collection.query(
            query_embeddings=[qvec], n_results=max(fetch, 1),
            where=self._where(tools, only_successful, diverse),
            include=["embeddings", "distances"] if diverse else ["distances"],
        )
        ids = [str(i) for i in (found["ids"][0] if found["ids"] else [])]
        keep = [j for j, i in enumerate(ids) if i not in exclude_ids and i in self._trials]
        if diverse and len(keep) > k:
            import numpy as np
            from langchain_core.vectorstores.utils import maximal_marginal_relevance

            vecs = np.asarray([found["embeddings"][0][j] for j in keep])  # type: ignore[index]
            picked = maximal_marginal_relevance(np.asarray(qvec), list(vecs), lambda_mult=0.5, k=k)
            keep = [keep[p] for p in picked]
        return [self._trials[ids[j]] for j in keep[:k]]

    @staticmethod
    def _where(
        tools: Sequence[str] | None, only_successful: bool, skip_duplicates: bool
    ) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if tools:
            ors = [{_TOOL_KEY + t: True} for t in tools]
            clauses.append(ors[0] if len(ors) == 1 else {"$or": ors})
        if only_successful:
            clauses.append({"success": True})
        if skip_duplicates:
            clauses.append({"duplicate_of": ""})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _metadata(trial: Trial) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "success": bool(trial.success),
        "clean": bool(trial.clean),
        "emulated": bool(trial.emulated),
        "episode": int(trial.episode),
        "index": int(trial.index),
        "created_at": float(trial.created_at),
        "model": trial.model or "",
        "duplicate_of": str(trial.extra.get("duplicate_of") or ""),
    }
    for tool in trial.tools:
        meta[_TOOL_KEY + tool] = True
    return meta
