"""ExplorationStore: the LangGraph BaseStore view of an ExplorationMemory (real Chroma, MiniLM)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langgraph.store.base import InvalidNamespaceError

from langchain_ste.memory.chroma import ExplorationMemory
from langchain_ste.memory.embeddings import MiniLMEmbeddings
from langchain_ste.memory.langgraph_store import ExplorationStore
from langchain_ste.trial import Trial

pytestmark = pytest.mark.integration


def make(tool: str, idx: int, query: str, success: bool = True) -> Trial:
    return Trial(
        trial_id=Trial.make_id([tool], 0, idx),
        tools=[tool],
        episode=0,
        index=idx,
        query=query,
        success=success,
        created_at=1000.0 + idx,
    )


@pytest.fixture
def store(tmp_path: Path, embeddings: MiniLMEmbeddings) -> ExplorationStore:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add(
        [
            make("convert_units", 0, "How many centimeters are in 3 inches?"),
            make("convert_units", 1, "Convert 100 Fahrenheit to Celsius", success=False),
            make("search_catalog", 0, "Find me a yoga mat under 30 dollars"),
        ]
    )
    return ExplorationStore(memory)


def test_get_by_tool_namespace(store: ExplorationStore) -> None:
    item = store.get(("ste", "convert_units"), "convert_units/e000/t0")
    assert item is not None
    assert item.value["query"] == "How many centimeters are in 3 inches?"
    assert item.created_at.timestamp() == pytest.approx(1000.0)
    assert store.get(("ste", "search_catalog"), "convert_units/e000/t0") is None  # other tool
    assert store.get(("other", "convert_units"), "convert_units/e000/t0") is None
    assert store.get(("ste", "convert_units"), "missing") is None


def test_search_semantic_filtered_and_listed(store: ExplorationStore) -> None:
    ranked = store.search(("ste",), query="a mat for yoga", limit=2)
    assert ranked[0].key == "search_catalog/e000/t0"
    assert ranked[0].namespace == ("ste", "search_catalog")
    assert ranked[0].score is not None and ranked[0].score > (ranked[1].score or 0)
    only_ok = store.search(("ste", "convert_units"), query="temperature", filter={"success": True})
    assert [i.key for i in only_ok] == ["convert_units/e000/t0"]
    listed = store.search(("ste", "convert_units"))
    assert [i.key for i in listed] == ["convert_units/e000/t0", "convert_units/e000/t1"]
    assert [i.key for i in store.search(("ste", "convert_units"), offset=1)] == [
        "convert_units/e000/t1"
    ]
    failures = store.search(("ste",), filter={"success": False})
    assert [i.key for i in failures] == ["convert_units/e000/t1"]
    assert store.search(("elsewhere",)) == []


def test_put_appends_and_namespaces_list(store: ExplorationStore) -> None:
    store.put(("ste", "add"), "add/e000/t0", {"query": "What is 2 plus 3?", "success": True})
    trial = store.memory.get("add/e000/t0")
    assert trial is not None and trial.tools == ["add"]
    assert store.list_namespaces() == [
        ("ste", "add"),
        ("ste", "convert_units"),
        ("ste", "search_catalog"),
    ]
    assert store.list_namespaces(suffix=("convert_units",)) == [("ste", "convert_units")]
    assert store.list_namespaces(max_depth=1) == [("ste",)]
    store.put(("ste", "add"), "add/e000/t0", {"query": "changed", "success": False})
    assert store.memory.get("add/e000/t0").query == "What is 2 plus 3?"  # append-only
    with pytest.raises(NotImplementedError, match="append-only"):
        store.delete(("ste", "add"), "add/e000/t0")
    with pytest.raises(InvalidNamespaceError, match="use \\('ste', tool_name\\)"):
        store.put(("notes",), "k", {"query": "x"})


def test_async_interface(store: ExplorationStore) -> None:
    async def run() -> list[str]:
        items = await store.asearch(("ste", "search_catalog"), query="yoga")
        return [i.key for i in items]

    assert asyncio.run(run()) == ["search_catalog/e000/t0"]
