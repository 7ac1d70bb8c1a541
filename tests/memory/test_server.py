"""ExplorationMemory on a real `chroma run` server on 127.0.0.1: several workers, one index."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_ste.memory.chroma import ExplorationMemory
from langchain_ste.memory.embeddings import MiniLMEmbeddings
from langchain_ste.trial import Trial

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A `chroma run` server on a free loopback port, stopped after the module."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    path = tmp_path_factory.mktemp("server")
    server = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import chromadb
        from chromadb.config import Settings

        deadline = time.monotonic() + 30
        while True:
            try:
                client = chromadb.HttpClient(
                    host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False)
                )
                client.heartbeat()
                break
            except Exception:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("chroma server did not start")
                time.sleep(0.3)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def make(tool: str, idx: int, query: str) -> Trial:
    return Trial.from_steps(
        trial_id=Trial.make_id([tool], 0, idx),
        tools=[tool],
        episode=0,
        index=idx,
        query=query,
        success=True,
        final_answer=f"answer {idx}",
    )


def test_workers_share_one_index(
    tmp_path: Path, chroma_port: int, embeddings: MiniLMEmbeddings
) -> None:
    worker_a = ExplorationMemory(
        tmp_path / "a",
        host="127.0.0.1",
        port=chroma_port,
        embeddings=embeddings,
        collection="shared_one",
    )
    worker_a.add(
        [
            make("convert_units", 0, "How many centimeters are in 3 inches?"),
            make("convert_units", 1, "Convert 100 Fahrenheit to Celsius"),
        ]
    )
    worker_b = ExplorationMemory(
        tmp_path / "b",
        host="127.0.0.1",
        port=chroma_port,
        embeddings=embeddings,
        collection="shared_one",
    )
    assert len(worker_b) == 0  # its own trials.jsonl is empty ...
    hit = worker_b.search("inches to cm", k=1)  # ... but it finds worker A's trials
    assert [t.trial_id for t in hit] == ["convert_units/e000/t0"]
    assert hit[0].final_answer == "answer 0"  # the full trial travelled with the document
    assert worker_b.get("convert_units/e000/t1") is not None
    # B's near-copy of A's query is flagged against A's trial.
    worker_b.add([make("convert_units", 2, "How many centimeters are in 3 inches ?")])
    assert worker_b.get("convert_units/e000/t2").extra["duplicate_of"] == "convert_units/e000/t0"
    assert not (tmp_path / "b" / "chroma").exists()  # no embedded index next to a server


def test_server_memory_survives_reopen(
    tmp_path: Path, chroma_port: int, embeddings: MiniLMEmbeddings
) -> None:
    first = ExplorationMemory(
        tmp_path, host="127.0.0.1", port=chroma_port, embeddings=embeddings, collection="shared_two"
    )
    assert first.add([make("search_catalog", 0, "Find me a yoga mat")]) == 1
    again = ExplorationMemory(
        tmp_path, host="127.0.0.1", port=chroma_port, embeddings=embeddings, collection="shared_two"
    )
    assert again.add([make("search_catalog", 0, "Find me a yoga mat")]) == 0
    assert [t.trial_id for t in again.search("yoga", k=3)] == ["search_catalog/e000/t0"]
