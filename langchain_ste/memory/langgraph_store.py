"""A LangGraph `BaseStore` view of an `ExplorationMemory`: trials under ``("ste", tool_name)``.

Agents that already read long-term memory from a LangGraph store (``runtime.store``,
``create_agent(store=...)``) can read explored trials the same way: each tool's trials live in the
namespace ``("ste", tool)``, keyed by trial id, with ``trial.to_dict()`` as the value. A search
with ``query`` ranks by similarity through the memory's Chroma index (scores are cosine
similarities); without ``query`` items come in file order. ``filter`` compares top-level value
fields for equality (e.g. ``{"success": True}``).

Trials are append-only data (``trials.jsonl`` is the source of truth), so a ``put`` of a new key
adds a trial and a ``put`` of a known key is ignored; deleting (``put(..., None)`` / ``delete``)
raises `NotImplementedError`. To combine this view with a user's own store, route the ``"ste"``
namespace here and everything else to that store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from langchain_ste.memory.chroma import ExplorationMemory
from langchain_ste.trial import Trial


class ExplorationStore(BaseStore):
    """Read (and append) explored trials through LangGraph's `BaseStore` interface.

    Args:
        memory: the exploration memory to expose.
        prefix: first label of every namespace (``"ste"``).

    Example:
        >>> import tempfile
        >>> memory = ExplorationMemory(tempfile.mkdtemp())
        >>> store = ExplorationStore(memory)
        >>> store.put(("ste", "add"), "add/e000/t0",
        ...           {"query": "What is 2 plus 3?", "success": True, "episode": 0, "index": 0})
        >>> store.get(("ste", "add"), "add/e000/t0").value["query"]
        'What is 2 plus 3?'
        >>> [i.key for i in store.search(("ste", "add"), query="sum of two numbers")]
        ['add/e000/t0']
        >>> store.list_namespaces()
        [('ste', 'add')]
    """

    __slots__ = ("memory", "prefix")

    def __init__(self, memory: ExplorationMemory, *, prefix: str = "ste") -> None:
        self.memory = memory
        self.prefix = prefix

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run store operations in order (see `BaseStore.batch`)."""
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op))
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, PutOp):
                self._put(op)
                results.append(None)
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                raise TypeError(f"unknown store operation {op!r}")
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async `batch` (runs in a worker thread: Chroma and the embedder are blocking)."""
        return await asyncio.to_thread(self.batch, list(ops))

    # -- operations ---------------------------------------------------------------------------

    def _tool_of(self, namespace: tuple[str, ...]) -> str | None:
        """The tool named by ``(prefix, tool)``; None for any other namespace."""
        if len(namespace) == 2 and namespace[0] == self.prefix:
            return namespace[1]
        return None

    def _item(self, trial: Trial, tool: str, score: float | None = None) -> SearchItem:
        stamp = datetime.fromtimestamp(trial.created_at, tz=UTC)
        return SearchItem(
            namespace=(self.prefix, tool),
            key=trial.trial_id,
            value=trial.to_dict(),
            created_at=stamp,
            updated_at=stamp,
            score=score,
        )

    def _get(self, op: GetOp) -> Item | None:
        tool = self._tool_of(op.namespace)
        trial = self.memory.get(op.key) if tool else None
        if trial is None or tool not in trial.tools:
            return None
        item = self._item(trial, tool)
        return Item(
            value=item.value,
            key=item.key,
            namespace=item.namespace,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        prefix = op.namespace_prefix
        if (prefix and prefix[0] != self.prefix) or len(prefix) > 2:
            return []
        tools = [prefix[1]] if len(prefix) == 2 else None
        wanted = op.offset + op.limit
        if op.query:
            only_successful = (op.filter or {}).get("success") is True
            found = self.memory.search_with_scores(
                op.query, 4 * wanted, tools=tools, only_successful=only_successful, diverse=False
            )
            pairs: list[tuple[Trial, float | None]] = list(found)
        else:
            pairs = [(t, None) for t in self.memory.trials(tools[0] if tools else None)]
        items = [
            self._item(trial, tools[0] if tools else trial.tools[0], score)
            for trial, score in pairs
            if trial.tools and _matches(trial.to_dict(), op.filter)
        ]
        return items[op.offset : wanted]

    def _put(self, op: PutOp) -> None:
        tool = self._tool_of(op.namespace)
        if tool is None:
            raise InvalidNamespaceError(
                f"namespace {op.namespace!r} is not a tool's: use ({self.prefix!r}, tool_name)"
            )
        if op.value is None:
            raise NotImplementedError(
                "exploration trials are append-only (trials.jsonl is the source of truth): "
                "they cannot be deleted through the store; curate them with `ste` instead"
            )
        data: dict[str, Any] = {"episode": 0, "index": 0, **op.value, "trial_id": op.key}
        data.setdefault("tools", [tool])
        if tool not in data["tools"]:
            data["tools"] = [tool, *data["tools"]]
        data.setdefault("query", "")
        self.memory.add([Trial.from_dict(data)])

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        tools = sorted({tool for t in self.memory.trials() for tool in t.tools})
        spaces: list[tuple[str, ...]] = []
        for tool in tools:
            ns: tuple[str, ...] = (self.prefix, tool)
            if not all(_namespace_matches(c, ns) for c in op.match_conditions or ()):
                continue
            if op.max_depth is not None:
                ns = ns[: op.max_depth]
            if ns not in spaces:
                spaces.append(ns)
        return spaces[op.offset : op.offset + op.limit]


def _matches(value: Mapping[str, Any], conditions: Mapping[str, Any] | None) -> bool:
    """Whether ``value`` equals every ``{field: expected}`` of ``conditions``."""
    return all(value.get(key) == expected for key, expected in (conditions or {}).items())


def _namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """Prefix / suffix match with ``"*"`` as a wildcard label."""
    path = tuple(condition.path)
    if len(path) > len(namespace):
        return False
    part = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    return all(p in ("*", n) for p, n in zip(path, part, strict=True)) if path else True
