"""ExplorationMemory on real Chroma (on disk) with the real embedded MiniLM."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from langchain_ste.memory.chroma import ExplorationMemory, MemoryStoreError
from langchain_ste.memory.embeddings import MiniLMEmbeddings
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

pytestmark = pytest.mark.integration


def make(tool: str, ep: int, idx: int, query: str, success: bool = True) -> Trial:
    return Trial(
        trial_id=Trial.make_id([tool], ep, idx),
        tools=[tool],
        episode=ep,
        index=idx,
        query=query,
        success=success,
        created_at=1000.0 + 10 * ep + idx,
    )


TRIALS = [
    make("convert_units", 0, 0, "How many centimeters are in 3 inches?"),
    make("convert_units", 0, 1, "Convert 100 Fahrenheit to Celsius"),
    make("convert_units", 1, 0, "What is 5 kilograms in pounds?", success=False),
    make("search_catalog", 0, 0, "Find me a yoga mat under 30 dollars"),
    make("search_catalog", 0, 1, "Which kitchen knives do you sell?"),
]


def test_add_is_idempotent_by_id(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    assert memory.add(TRIALS) == len(TRIALS)
    assert memory.add(TRIALS) == 0
    assert len(memory) == len(TRIALS)
    assert len(TrialLog(tmp_path / "trials.jsonl").read()) == len(TRIALS)
    reopened = ExplorationMemory(tmp_path, embeddings=embeddings)
    assert reopened.add(TRIALS[:2]) == 0
    assert len(reopened) == len(TRIALS)


def test_search_filters_by_tool_and_verdict(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add(TRIALS)
    hits = memory.search("kilograms to pounds", k=5, tools=["convert_units"])
    assert {t.trial_id for t in hits} == {"convert_units/e000/t0", "convert_units/e000/t1"}
    with_failures = memory.search(
        "kilograms to pounds", k=1, tools=["convert_units"], only_successful=False
    )
    assert with_failures[0].trial_id == "convert_units/e001/t0"
    top = memory.search("a mat for yoga", k=1)
    assert top[0].tools == ["search_catalog"]
    assert memory.search("a mat for yoga", k=1, exclude_ids={top[0].trial_id})[0] != top[0]
    assert memory.past_queries("convert_units", limit=2) == [
        "What is 5 kilograms in pounds?",
        "Convert 100 Fahrenheit to Celsius",
    ]


def test_near_duplicates_are_flagged_and_mmr_diversifies(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings, duplicate_threshold=0.9)
    memory.add([make("convert_units", 0, 0, "How many centimeters are in 3 inches?")])
    memory.add([make("convert_units", 0, 1, "How many centimeters are in 3 inches ?")])
    assert memory.get("convert_units/e000/t1").extra["duplicate_of"] == "convert_units/e000/t0"
    # Without the flag (threshold 1.01), MMR must still avoid returning near-copies together.
    plain = ExplorationMemory(tmp_path / "b", embeddings=embeddings, duplicate_threshold=1.01)
    queries = [
        "How many centimeters are in 3 inches?",
        "How many centimetres are in 3 inches?",
        "How many centimeters is 3 inches?",
        "Convert 100 Fahrenheit to Celsius",
        "What is 5 kilograms in pounds?",
    ]
    plain.add([make("convert_units", 0, i, q) for i, q in enumerate(queries)])
    similar = plain.search("centimeters in 3 inches", k=3, diverse=False)
    diverse = plain.search("centimeters in 3 inches", k=3, diverse=True)
    inch = lambda ts: sum("inches" in t.query for t in ts)  # noqa: E731
    assert inch(similar) == 3
    assert inch(diverse) < inch(similar)


def test_rebuild_gives_identical_search_results(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add(TRIALS)
    before = [t.trial_id for t in memory.search("unit conversion", k=3, diverse=False)]
    assert memory.rebuild() == len(TRIALS)
    assert [t.trial_id for t in memory.search("unit conversion", k=3, diverse=False)] == before
    other = ExplorationMemory(tmp_path / "copy", embeddings=embeddings)
    other.rebuild(from_jsonl=tmp_path / "trials.jsonl")
    assert [t.trial_id for t in other.search("unit conversion", k=3, diverse=False)] == before


def test_index_catches_up_from_jsonl(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add(TRIALS[:2])
    TrialLog(tmp_path / "trials.jsonl").append(TRIALS[2:])  # "crash" before indexing
    reopened = ExplorationMemory(tmp_path, embeddings=embeddings)
    assert reopened._collection.count() == len(TRIALS)
    assert reopened.search("yoga mat", k=1)[0].trial_id == "search_catalog/e000/t0"


def test_corrupt_collection_is_rebuilt_without_losing_trials(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add(TRIALS)
    del memory
    import chromadb

    chromadb.api.client.SharedSystemClient.clear_system_cache()
    (tmp_path / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    recovered = ExplorationMemory(tmp_path, embeddings=embeddings)
    assert len(recovered) == len(TRIALS)
    assert recovered.search("yoga mat", k=1)[0].trial_id == "search_catalog/e000/t0"
    assert list(tmp_path.glob("chroma.corrupt-*")), "the unreadable index is kept aside"


class TinyEmbeddings(MiniLMEmbeddings):
    name = "tiny"  # type: ignore[assignment]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(len(t)), 1.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(len(text)), 1.0]


def test_other_embedding_dimension_is_a_clear_error(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    ExplorationMemory(tmp_path, embeddings=embeddings).add(TRIALS[:1])
    with pytest.raises(MemoryStoreError, match=r"384-dimensional.*2-dimensional"):
        ExplorationMemory(tmp_path, embeddings=TinyEmbeddings())
    assert len(TrialLog(tmp_path / "trials.jsonl").read()) == 1


def test_reindex_replaces_only_the_index(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    ExplorationMemory(tmp_path, embeddings=embeddings).add(TRIALS)
    tiny = ExplorationMemory(tmp_path, embeddings=TinyEmbeddings(), reindex=True)
    assert len(tiny) == len(TRIALS)
    assert tiny._collection.count() == len(TRIALS)
    assert len(TrialLog(tmp_path / "trials.jsonl").read()) == len(TRIALS)
    # ... and back: the MiniLM memory works again after re-indexing once more.
    back = ExplorationMemory(tmp_path, embeddings=embeddings, reindex=True)
    assert back.search("yoga mat", k=1)[0].trial_id == "search_catalog/e000/t0"


def test_missing_memory_is_a_clear_error(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    with pytest.raises(MemoryStoreError, match=r"no exploration memory.*ste explore"):
        ExplorationMemory(tmp_path / "nope", embeddings=embeddings, create=False)
    assert not (tmp_path / "nope").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(MemoryStoreError, match="is a file"):
        ExplorationMemory(tmp_path / "file", embeddings=embeddings)


def test_duplicates_within_one_batch_and_across_tools(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings, duplicate_threshold=0.9)
    batch = [
        make("convert_units", 0, 0, "How many centimeters are in 3 inches?"),
        make("convert_units", 0, 1, "How many centimeters are in 3 inches ?"),
        make("search_catalog", 0, 0, "How many centimeters are in 3 inches?"),  # other tool
        make("convert_units", 0, 2, ""),
        make("convert_units", 0, 3, ""),  # empty queries are never duplicates
    ]
    memory.add(batch)
    flags = {t.trial_id: t.extra.get("duplicate_of") for t in memory.trials()}
    assert flags == {
        "convert_units/e000/t0": None,
        "convert_units/e000/t1": "convert_units/e000/t0",
        "search_catalog/e000/t0": None,
        "convert_units/e000/t2": None,
        "convert_units/e000/t3": None,
    }
    reopened = ExplorationMemory(tmp_path, embeddings=embeddings)
    assert reopened.get("convert_units/e000/t1").extra["duplicate_of"] == "convert_units/e000/t0"


def test_scores_are_cosine_similarities(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add(TRIALS)
    scored = memory.search_with_scores(TRIALS[0].query, k=3, diverse=False)
    assert scored[0][0].trial_id == TRIALS[0].trial_id
    assert scored[0][1] == pytest.approx(1.0, abs=1e-3)
    assert [s for _, s in scored] == sorted((s for _, s in scored), reverse=True)
    assert memory.search_with_scores("anything", k=0) == []


def test_unreachable_server_is_a_clear_error(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    with pytest.raises(MemoryStoreError, match="does not answer"):
        ExplorationMemory(tmp_path, host="127.0.0.1", port=_free_port(), embeddings=embeddings)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_filtered_query_path_gives_the_same_results(
    tmp_path: Path, embeddings: MiniLMEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add(TRIALS)
    cases = [
        ("kilograms to pounds", {"tools": ["convert_units"]}),
        ("kilograms to pounds", {"tools": ["convert_units"], "only_successful": False}),
        ("something to buy", {"diverse": False}),
        ("something to buy", {"tools": ["search_catalog", "convert_units"]}),
    ]
    over_fetch = [[t.trial_id for t in memory.search(q, k=2, **kw)] for q, kw in cases]
    monkeypatch.setattr("langchain_ste.memory.chroma._MAX_UNFILTERED", 0)  # Chroma `where` filters
    filtered = [[t.trial_id for t in memory.search(q, k=2, **kw)] for q, kw in cases]
    assert filtered == over_fetch
    assert all(over_fetch)


def test_search_widens_the_unfiltered_fetch_before_using_a_metadata_filter(
    tmp_path: Path, embeddings: MiniLMEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Near the query, failures are far denser than on average: the first over-fetch finds no
    # successful trial; a wider unfiltered query must find them (Chroma's `where` filter costs
    # ~300 ms at 100k trials against a few ms for an unfiltered query).
    cities = ["Paris", "Rome", "Oslo", "Lima", "Cairo", "Tokyo"]
    failed = [
        make("weather", ep, i, f"What is the weather in {city} on day {ep * 50 + i}?", False)
        for ep, city in enumerate(cities)
        for i in range(50)
    ]
    ok_queries = [
        "Convert 3 inches to centimeters",
        "Find a yoga mat",
        "Book a table for two",
        "Translate hello into French",
        "Send an email to Bob",
        "Play some jazz music",
        "Set an alarm for 7 am",
        "How tall is Mount Everest?",
        "Order a large pizza",
        "Add milk to my shopping list",
        "Call a taxi to the airport",
        "Turn off the lights",
    ]
    good = [make("misc", 0, i, q) for i, q in enumerate(ok_queries)]
    memory = ExplorationMemory(tmp_path, embeddings=embeddings)
    memory.add([*failed, *good])
    calls: list[tuple[int, object]] = []
    query = memory._query

    def spy(qvec: list[float], n: int, where: dict[str, object] | None) -> list[object]:
        calls.append((n, where))
        return query(qvec, n, where)  # type: ignore[return-value]

    monkeypatch.setattr(memory, "_query", spy)
    found = memory.search("What is the weather in Paris tomorrow?", k=1)
    assert len(found) == 1 and found[0].success
    assert [where for _, where in calls] == [None, None]  # widened, never filtered
    assert calls[0][0] < calls[1][0] == len(memory)
