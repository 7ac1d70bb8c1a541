"""How ExplorationMemory scales: inserts, search latency and disk size up to 100,000 trials.

Synthetic trials (20 tools, templated queries with random values, 70 % successful) go through
`ExplorationMemory.add` in batches, the real path: trials.jsonl with fsync, near-duplicate
detection, Chroma upsert.

- Insert rate *with embeddings*: the first ``--embedded`` trials are embedded by the real MiniLM.
- Insert rate *without embeddings*: the remaining trials get vectors near those real ones
  (a real vector of the same template plus small noise, normalised), so only storage is timed;
  embedding 100k texts would take minutes here and is measured by the first rate anyway.
- Search at 1k, 10k (and 100k) trials: `memory.search(query, k=5)` for held-out questions, query
  embedding included (default search: successful only, duplicates skipped, MMR), also restricted
  to one tool; and the index alone (precomputed query vector) against a brute-force numpy cosine
  search over the same vectors, with the index's recall@5 against that exact search.

    python bench/memory_scale.py [--quick] [--json] [--dir DIR]

``--quick``: 10,000 trials (under 45 s on 2 cores); default 100,000. ``--json`` prints one JSON
object as the last line (n_trials, search_p50_ms, search_p95_ms, insert_per_s, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np
from langchain_core.embeddings import Embeddings

from langchain_ste.memory.chroma import ExplorationMemory
from langchain_ste.memory.embeddings import MiniLMEmbeddings, load_embeddings
from langchain_ste.trial import Trial

TEMPLATES = [
    ("convert_units", "How many {u2} are in {n} {u1}?"),
    ("convert_units", "Convert {n} {u1} to {u2} please"),
    ("get_weather", "What's the weather in {city} on day {n}?"),
    ("get_weather", "Will it rain in {city} in {n} days?"),
    ("search_catalog", "Find me a {item} under {n} dollars"),
    ("search_catalog", "Do you sell a {color} {item}?"),
    ("book_flight", "Book a flight from {city} to {city2} for {n} people"),
    ("book_flight", "I need {n} seats to {city2} next week"),
    ("send_message", "Text {name} that I will be {n} minutes late"),
    ("send_message", "Send {name} a message about the {item}"),
    ("calculator", "What is {n} times {m}?"),
    ("calculator", "Compute {n} divided by {m}"),
    ("translate", "Translate 'the {color} {item}' into {lang}"),
    ("translate", "How do you say {n} in {lang}?"),
    ("stock_price", "What was the closing price of ticker {tick} {n} days ago?"),
    ("stock_price", "Show me {tick} stock performance over {n} months"),
    ("file_system", "List the files in folder {item}_{n}"),
    ("file_system", "Delete the file report_{n}.txt in {city}"),
    ("calendar", "Schedule a meeting with {name} at {n} o'clock"),
    ("calendar", "What is on my calendar on {city} day {n}?"),
    ("wiki_search", "Who founded {city}? Give {n} facts"),
    ("wiki_search", "Tell me about the history of the {item}"),
    ("ticketing", "Open a support ticket: my {item} broke after {n} days"),
    ("ticketing", "What is the status of ticket {n}?"),
    ("vehicle", "Set the car temperature to {n} degrees"),
    ("vehicle", "How much fuel is left after {n} km to {city2}?"),
    ("math_stats", "Mean and variance of {n}, {m} and 7"),
    ("math_stats", "Is {n} a prime number?"),
    ("recipes", "A {color} {item} recipe for {n} guests"),
    ("recipes", "How long do I bake bread at {n} degrees?"),
    ("news", "Latest news about {city} and {tick}"),
    ("news", "Summarise {n} headlines about {item}s"),
    ("maps", "Directions from {city} to {city2} avoiding tolls"),
    ("maps", "How far is {city2} from {city} in km?"),
    ("email", "Email {name} the {item} invoice number {n}"),
    ("email", "Find emails from {name} about {lang} lessons"),
    ("music", "Play {n} songs by a {lang} artist"),
    ("music", "Add the {color} album to playlist {n}"),
    ("shopping_cart", "Add {n} {color} {item}s to my cart"),
    ("shopping_cart", "Remove the {item} from my cart and check out"),
]
WORDS = {
    "u1": ["inches", "miles", "pounds", "liters", "feet", "ounces", "kilometers", "gallons"],
    "u2": ["centimeters", "kilometers", "kilograms", "cups", "meters", "grams", "yards", "pints"],
    "city": ["Paris", "Tokyo", "Lagos", "Lima", "Oslo", "Cairo", "Denver", "Hanoi", "Perth"],
    "city2": ["Berlin", "Madrid", "Seoul", "Quito", "Dublin", "Nairobi", "Austin", "Rome"],
    "item": ["yoga mat", "kettle", "lamp", "backpack", "guitar", "laptop", "bike", "blender"],
    "color": ["red", "blue", "green", "black", "white", "silver", "orange", "purple"],
    "name": ["Alice", "Bob", "Chen", "Dana", "Emeka", "Fatima", "Goran", "Hiro"],
    "lang": ["French", "Spanish", "Japanese", "Swahili", "German", "Hindi", "Korean"],
    "tick": ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "IBM"],
}
HELD_OUT = [
    "convert three inches into centimetres",
    "is it going to be sunny in Paris tomorrow",
    "I want to buy a cheap yoga mat",
    "fly me to Rome with my family",
    "tell Bob I am running late",
    "multiply 12 by 7",
    "how do I say thank you in Japanese",
    "how did NVDA stock do last month",
    "show me the files in my documents folder",
    "book a meeting with Dana on Friday",
    "what is the population history of Lagos",
    "my laptop stopped working, open a ticket",
    "make the car cooler",
    "average of 3, 9 and 12",
    "a quick dinner recipe for four",
    "headlines about electric bikes",
    "route from Oslo to Berlin",
    "send the invoice to Alice by email",
    "play some Korean pop music",
    "put two lamps in my basket",
]


class VectorCache(Embeddings):
    """Known texts come from a table (storage-only timing); others from the real model."""

    def __init__(self, inner: MiniLMEmbeddings) -> None:
        self.inner = inner
        self.name = inner.name
        self.table: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.table]
        if missing:
            self.table.update(zip(missing, self.inner.embed_documents(missing), strict=True))
        return [self.table[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table.get(text) or self.inner.embed_query(text)


def make_trials(n: int, seed: int = 0) -> tuple[list[Trial], list[int]]:
    """``n`` synthetic trials with unique queries, and the template index of each."""
    rng = random.Random(seed)
    trials: list[Trial] = []
    kinds: list[int] = []
    seen: set[str] = set()
    per_tool: dict[str, int] = {}
    while len(trials) < n:
        kind = rng.randrange(len(TEMPLATES))
        tool, template = TEMPLATES[kind]
        values = {key: rng.choice(words) for key, words in WORDS.items()}
        query = template.format(n=rng.randint(2, 9999), m=rng.randint(2, 999), **values)
        if query in seen:
            continue
        seen.add(query)
        idx = per_tool.get(tool, 0)
        per_tool[tool] = idx + 1
        trials.append(
            Trial.from_steps(
                trial_id=Trial.make_id([tool], idx // 100, idx % 100),
                tools=[tool],
                episode=idx // 100,
                index=idx % 100,
                query=query,
                success=rng.random() < 0.7,
                final_answer="ok",
                model="bench",
                created_at=1_700_000_000.0 + len(trials),
            )
        )
        kinds.append(kind)
    return trials, kinds


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ms = sorted(1000 * s for s in samples_s)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return statistics.median(ms), p95


def disk_mb(path: Path) -> float:
    """Size of everything under ``path`` in MiB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def measure_search(
    memory: ExplorationMemory, cache: VectorCache, vectors: np.ndarray, repeats: int
) -> dict[str, Any]:
    """Search latencies at the memory's current size, and index vs brute force."""
    queries = HELD_OUT * repeats
    tool_of = {q: TEMPLATES[2 * (i % (len(TEMPLATES) // 2))][0] for i, q in enumerate(HELD_OUT)}
    memory.search(queries[0], k=5)  # warm-up
    full: list[float] = []
    tool: list[float] = []
    for q in queries:
        t0 = time.perf_counter()
        memory.search(q, k=5)
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        memory.search(q, k=5, tools=[tool_of[q]])
        tool.append(time.perf_counter() - t0)
    qvecs = np.asarray(cache.inner.embed_documents(HELD_OUT), dtype=np.float32)
    index: list[float] = []
    brute: list[float] = []
    recall: list[float] = []
    collection = memory._collection
    for _ in range(repeats):
        for qv in qvecs:
            t0 = time.perf_counter()
            found = collection.query(query_embeddings=[qv], n_results=5, include=[])
            index.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            scores = vectors @ qv
            top = np.argpartition(-scores, 5)[:5]
            top = top[np.argsort(-scores[top])]
            brute.append(time.perf_counter() - t0)
            exact = {int(i) for i in top}
            got = {int(str(i).rsplit("#", 1)[-1]) for i in found["ids"][0]}
            recall.append(len(exact & got) / 5)
    p50, p95 = percentiles(full)
    tool50, tool95 = percentiles(tool)
    index50, _ = percentiles(index)
    brute50, _ = percentiles(brute)
    return {
        "n": len(memory),
        "search_p50_ms": round(p50, 2),
        "search_p95_ms": round(p95, 2),
        "tool_search_p50_ms": round(tool50, 2),
        "tool_search_p95_ms": round(tool95, 2),
        "index_query_p50_ms": round(index50, 3),
        "numpy_bruteforce_p50_ms": round(brute50, 3),
        "index_over_numpy": round(index50 / brute50, 2) if brute50 else None,
        "index_recall_at_5": round(float(np.mean(recall)), 3),
    }


def run(n_trials: int, embedded: int, directory: Path, repeats: int) -> dict[str, Any]:
    """Insert ``n_trials`` in batches, measuring search at 1k, 10k and 100k trials."""
    t_start = time.perf_counter()
    trials, kinds = make_trials(n_trials)
    # Ids encode the position so recall can compare index hits with numpy rows.
    for i, trial in enumerate(trials):
        trial.trial_id = f"{trial.trial_id}#{i}"
    cache = VectorCache(load_embeddings())
    t0 = time.perf_counter()
    cache.inner.embed_query("warm up")
    load_s = time.perf_counter() - t0
    memory = ExplorationMemory(directory, embeddings=cache)
    checkpoints = [c for c in (1_000, 10_000, 100_000) if c <= n_trials]
    results: list[dict[str, Any]] = []
    rng = np.random.default_rng(0)
    dim = 384
    vectors = np.zeros((n_trials, dim), dtype=np.float32)
    base: dict[int, np.ndarray] = {}
    with_emb_s = without_emb_s = 0.0
    done = 0
    while done < n_trials:
        end = min(n_trials, checkpoints[0] if checkpoints else n_trials)
        end = min(end, embedded, done + 100) if done < embedded else min(end, done + 1000)
        batch = trials[done:end]
        if done >= embedded:  # storage only: vectors near a real one of the same template
            for i in range(done, end):
                if kinds[i] not in base:
                    continue  # embedded for real by the cache
                noisy = base[kinds[i]] + rng.normal(0, 0.12, dim).astype(np.float32)
                cache.table[trials[i].query] = list(map(float, noisy / np.linalg.norm(noisy)))
        t0 = time.perf_counter()
        memory.add(batch)
        elapsed = time.perf_counter() - t0
        if done < embedded:
            with_emb_s += elapsed
        else:
            without_emb_s += elapsed
        for i in range(done, end):
            vectors[i] = cache.table[trials[i].query]
            base.setdefault(kinds[i], vectors[i])
        done = end
        if checkpoints and done == checkpoints[0]:
            checkpoints.pop(0)
            stats = measure_search(memory, cache, vectors[:done], repeats)
            stats["disk_mb"] = round(disk_mb(directory), 1)
            results.append(stats)
            print(json.dumps(stats), flush=True)
    n_emb = min(embedded, n_trials)
    last = results[-1] if results else {}
    flagged = sum(1 for t in memory.trials() if t.extra.get("duplicate_of"))
    return {
        "n_trials": n_trials,
        "search_p50_ms": last.get("search_p50_ms"),
        "search_p95_ms": last.get("search_p95_ms"),
        "insert_per_s": round(n_emb / with_emb_s, 1) if with_emb_s else None,
        "insert_per_s_without_embedding": (
            round((n_trials - n_emb) / without_emb_s, 1) if without_emb_s else None
        ),
        "embedded_trials": n_emb,
        "model_load_s": round(load_s, 2),
        "near_duplicates_flagged": flagged,
        "disk_mb": round(disk_mb(directory), 1),
        "by_size": results,
        "wall_s": round(time.perf_counter() - t_start, 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 trials (under 45 s)")
    parser.add_argument("--trials", type=int, default=None, help="override the trial count")
    parser.add_argument("--embedded", type=int, default=None, help="trials embedded for real")
    parser.add_argument("--repeats", type=int, default=None, help="passes over the 20 queries")
    parser.add_argument("--dir", type=Path, default=None, help="keep the memory here")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = parser.parse_args()
    n = args.trials or (10_000 if args.quick else 100_000)
    embedded = args.embedded or (500 if args.quick else 5_000)
    repeats = args.repeats or (2 if args.quick else 5)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="ste-memory-bench-"))
    try:
        result = run(n, embedded, directory, repeats)
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['n_trials']} trials, {result['disk_mb']} MiB on disk, {result['wall_s']} s")
        print(
            f"insert: {result['insert_per_s']} trials/s with embeddings, "
            f"{result['insert_per_s_without_embedding']} trials/s without"
        )
        for row in result["by_size"]:
            print(
                f"  at {row['n']:>6}: search p50 {row['search_p50_ms']} ms, p95 "
                f"{row['search_p95_ms']} ms (tool-filtered p50 {row['tool_search_p50_ms']} ms); "
                f"index {row['index_query_p50_ms']} ms vs numpy "
                f"{row['numpy_bruteforce_p50_ms']} ms (x{row['index_over_numpy']}), "
                f"recall@5 {row['index_recall_at_5']}"
            )


if __name__ == "__main__":
    main()
