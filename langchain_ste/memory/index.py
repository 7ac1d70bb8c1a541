"""The Chroma side of long-term memory: client, collection, trial metadata and filters.

`ExplorationMemory` keeps the trials (``trials.jsonl``) and decides what to store and return;
this module is what it asks of Chroma: a client (embedded or a shared server), a collection
tagged with the memory's format and embedding model, one metadata record per trial, and the
metadata filters of a search.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_ste.trial import Trial

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection as ChromaCollection

logger = logging.getLogger(__name__)

MEMORY_VERSION = 1
"""The format of a memory's collection; a newer one is refused with the upgrade hint."""

TOOL_KEY = "tool:"
TRIAL_KEY = "trial"
MAX_TRIAL_JSON = 100_000
"""Trials up to this many characters of JSON also travel in the index (shared-server search)."""


class MemoryStoreError(RuntimeError):
    """A memory that cannot be opened as asked; the message names the cause and the fix."""


def connect(directory: Path, host: str | None = None, port: int | None = None) -> ClientAPI:
    """The embedded client of ``directory/chroma``, or a shared server's (checked to answer).

    Raises:
        MemoryStoreError: the server does not answer.
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if host is None:
        return chromadb.PersistentClient(str(directory / "chroma"), settings=settings)
    try:
        client = chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
        client.heartbeat()
    except Exception as exc:
        raise MemoryStoreError(
            f"the Chroma server at {host}:{port} does not answer ({exc}); start it with "
            "`chroma run --path DIR --host HOST --port PORT` or fix the address"
        ) from exc
    return client


def get_or_create(
    client: ClientAPI, name: str, function: Any, *, dim: int, model: str
) -> ChromaCollection:
    """The collection ``name`` (cosine space), tagged with our format and embedding model."""
    return client.get_or_create_collection(
        name,
        embedding_function=function,
        metadata={
            "hnsw:space": "cosine",
            "ste_version": MEMORY_VERSION,
            "embedding_dim": dim,
            "embedding_model": model,
        },
    )


def move_aside(directory: Path, exc: Exception, source: str) -> None:
    """Move an unreadable embedded index out of the way (it is rebuilt from ``source``)."""
    import chromadb

    chroma_dir = directory / "chroma"
    aside = chroma_dir.with_name(f"chroma.corrupt-{int(time.time())}")
    logger.warning(
        "Chroma index in %s is unreadable (%s); moving it to %s and rebuilding from %s",
        chroma_dir,
        exc,
        aside.name,
        source,
    )
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    if chroma_dir.exists():
        shutil.move(str(chroma_dir), str(aside))


def incompatibility(meta: dict[str, Any], where: Path, *, dim: int, model: str) -> str | None:
    """Why a collection's metadata does not fit these embeddings (None if it does).

    Raises:
        MemoryStoreError: the collection was written by a newer langchain-ste.

    Example:
        >>> meta = {"ste_version": 1, "embedding_dim": 384, "embedding_model": "all-MiniLM-L6-v2"}
        >>> incompatibility(meta, Path("m"), dim=384, model="all-MiniLM-L6-v2") is None
        True
        >>> print(incompatibility(meta, Path("m"), dim=768, model="other"))
        memory m was indexed with 384-dimensional embeddings (all-MiniLM-L6-v2), these are \
768-dimensional
    """
    version = int(meta.get("ste_version", MEMORY_VERSION))
    if version > MEMORY_VERSION:
        raise MemoryStoreError(
            f"memory {where} was written by a newer langchain-ste (format {version}); upgrade "
            "langchain-ste to read it"
        )
    theirs_dim = int(meta.get("embedding_dim", dim))
    if theirs_dim != dim:
        return (
            f"memory {where} was indexed with {theirs_dim}-dimensional embeddings "
            f"({meta.get('embedding_model')}), these are {dim}-dimensional"
        )
    theirs = str(meta.get("embedding_model", "custom"))
    if "custom" not in (theirs, model) and theirs != model:
        return f"memory {where} was indexed with the embedding model {theirs!r}, not {model!r}"
    return None


def trial_metadata(trial: Trial, *, with_record: bool = False) -> dict[str, Any]:
    """Chroma metadata of a trial (``with_record``: also its JSON, for shared servers).

    Example:
        >>> t = Trial(trial_id="add/e000/t0", tools=["add"], episode=0, index=0, query="1+2?")
        >>> meta = trial_metadata(t)
        >>> meta["tool:add"], meta["success"], TRIAL_KEY in meta
        (True, False, False)
    """
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
        meta[TOOL_KEY + tool] = True
    if with_record:
        record = json.dumps(trial.to_dict(), ensure_ascii=False, default=str)
        if len(record) <= MAX_TRIAL_JSON:
            meta[TRIAL_KEY] = record
    return meta


def tools_in(meta: Any) -> set[str]:
    """The tools a trial's metadata names."""
    return {k[len(TOOL_KEY) :] for k in (meta or {}) if k.startswith(TOOL_KEY)}


def trial_in(trial_id: str, meta: Any) -> Trial | None:
    """The trial a document carries (a shared server's), or None if absent or unreadable."""
    if not meta or not meta.get(TRIAL_KEY):
        return None
    try:
        return Trial.from_dict(json.loads(meta[TRIAL_KEY]))
    except Exception as exc:  # another version's record: skip it, never crash a search
        logger.debug("unreadable trial %s in the index: %s", trial_id, exc)
        return None


def where_filter(
    tools: Sequence[str] | None, only_successful: bool, skip_duplicates: bool
) -> dict[str, Any] | None:
    """Chroma's ``where`` for a search (None: no filter).

    Example:
        >>> where_filter(["add"], True, False)
        {'$and': [{'tool:add': True}, {'success': True}]}
    """
    clauses: list[dict[str, Any]] = []
    if tools:
        ors = [{TOOL_KEY + t: True} for t in tools]
        clauses.append(ors[0] if len(ors) == 1 else {"$or": ors})
    if only_successful:
        clauses.append({"success": True})
    if skip_duplicates:
        clauses.append({"duplicate_of": ""})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def passes(
    trial: Trial, tools: Sequence[str] | None, only_successful: bool, skip_duplicates: bool
) -> bool:
    """Whether a trial passes the filter `where_filter` builds (checked here, not by Chroma)."""
    return (
        (not tools or bool(set(tools) & set(trial.tools)))
        and (not only_successful or bool(trial.success))
        and (not skip_duplicates or not trial.extra.get("duplicate_of"))
    )
