"""`ExplorationMemory.add` from many threads and from two processes: nothing lost or doubled."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

from langchain_core.embeddings import DeterministicFakeEmbedding

from langchain_ste.memory.chroma import ExplorationMemory
from langchain_ste.trajectory import Step
from langchain_ste.trial import Trial


def make(i: int, size: int = 50_000) -> Trial:
    return Trial.from_steps(
        trial_id=Trial.make_id(["t"], i // 10, i % 10),
        tools=["t"],
        episode=i // 10,
        index=i % 10,
        query=f"question number {i}",
        success=True,
        steps=[Step(tool="t", args={"i": i}, call_id="c", output="y" * size)],
    )


def fake() -> DeterministicFakeEmbedding:
    return DeterministicFakeEmbedding(size=16)


def jsonl_ids(directory: Path) -> list[str]:
    raw = (directory / "trials.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line)["trial_id"] for line in raw.splitlines()]


def chroma_ids(directory: Path) -> set[str]:
    """The ids in the index, read without `ExplorationMemory` (which would catch up)."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        str(directory / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    return set(client.get_collection("ste_trials").get(include=[])["ids"])


def test_threads_sharing_a_memory_and_with_their_own(tmp_path: Path) -> None:
    shared = ExplorationMemory(tmp_path, embeddings=fake())
    n, writers = 60, 6
    added = [0] * writers
    barrier = threading.Barrier(writers)

    def write(k: int) -> None:
        # half the writers share one object, half open their own on the same directory
        memory = shared if k % 2 else ExplorationMemory(tmp_path, embeddings=fake())
        barrier.wait()
        for i in range(k % 3, n, 2):  # overlapping ids between writers
            added[k] += memory.add([make(i)])

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = jsonl_ids(tmp_path)
    assert len(ids) == len(set(ids)) == n  # none lost, none twice
    assert sum(added) == n  # each trial counted by exactly one writer
    assert chroma_ids(tmp_path) == set(ids)


def _writer(directory: str, offset: int, n: int, go: multiprocessing.synchronize.Event) -> None:
    memory = ExplorationMemory(directory, embeddings=fake())
    go.wait()
    for i in range(n):
        memory.add([make(offset + i, 2_000), make(i, 2_000)])  # one own id, one shared


def test_two_processes_on_one_memory(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    n = 30
    procs = [
        ctx.Process(target=_writer, args=(str(tmp_path), 1000 * (k + 1), n, go)) for k in range(2)
    ]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    ids = jsonl_ids(tmp_path)
    assert len(ids) == len(set(ids)) == 3 * n
    assert chroma_ids(tmp_path) == set(ids)
