"""Crash safety: an exploration SIGKILLed at random moments and restarted loses and doubles nothing.

The exploration runs in a forked child process (so each restart costs no import time); the
parent kills it with SIGKILL at seeded random moments, restarts it on the same output directory,
and finally compares the trials with those of a clean run.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import tool

from langchain_ste.explore.settings import ExploreSettings
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses fork")

SETTINGS = ExploreSettings(
    episodes_per_tool=3, trials_per_episode=4, max_steps=2, max_concurrency=2
)


@tool
def shout(text: str) -> str:
    """Return the text in capitals."""
    return text.upper()


@tool
def count_letters(text: str) -> int:
    """Count the letters in a text."""
    return sum(c.isalpha() for c in text)


@tool
def reverse(text: str) -> str:
    """Reverse the order of the characters of a text."""
    return text[::-1]


TOOLS = [shout, count_letters, reverse]
MARKERS = {"shout": "capitals", "count_letters": "letters", "reverse": "Reverse"}


def deterministic_script(messages: list[BaseMessage], tools: list[str]) -> Any:
    """Replies that depend only on the conversation, never on how many calls came before."""
    digest = hashlib.sha1("".join(str(m.content) for m in messages).encode()).hexdigest()[:6]
    system = str(messages[0].content)
    if not tools:
        if "check whether" in system:
            return f"Verdict: {'yes' if int(digest, 16) % 3 else 'no'}\nLesson: note {digest}."
        head = system.split("\n\n")[0]  # the imagine prompt's first part names the tool's job
        target = next(name for name, word in MARKERS.items() if word in head)
        return f"Please {target} the words {digest}"
    last = messages[-1]
    if last.type == "tool":
        return AIMessage(f"The result is {last.content}.")
    query = str(last.content)
    name = next(t.name for t in TOOLS if t.name in query)
    return AIMessage(
        "",
        tool_calls=[{"name": name, "args": {"text": query[-6:]}, "id": "c1", "type": "tool_call"}],
    )


def run_exploration(out_dir: str, latency: float) -> None:
    from langchain_ste.explore import explore
    from langchain_ste.testing import ScriptedChatModel

    model = ScriptedChatModel(script=deterministic_script, latency=latency)
    explore(model, TOOLS, memory=out_dir, settings=SETTINGS)


def comparable(trial: Trial) -> dict[str, Any]:
    return {
        "id": trial.trial_id,
        "query": trial.query,
        "answer": trial.final_answer,
        "success": trial.success,
        "lesson": trial.lesson,
        "error": trial.error,
        "steps": [(s.tool, s.args, s.output, s.status) for s in trial.steps],
    }


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    clean_dir, crash_dir = tmp_path / "clean", tmp_path / "crashed"
    started = time.perf_counter()
    run_exploration(str(clean_dir), 0.02)
    clean_s = time.perf_counter() - started
    clean = TrialLog(clean_dir / "trials.jsonl").read()
    assert len(clean) == 3 * 3 * 4

    # Kill moments spread so that the 20 killed runs together cover most of the work.
    rng = random.Random(20240304)
    window = max(0.05, clean_s / 12)
    kills = 0
    for _ in range(20):
        proc = ctx.Process(target=run_exploration, args=(str(crash_dir), 0.02))
        proc.start()
        proc.join(rng.uniform(0.01, window))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
            proc.join()
            kills += proc.exitcode == -signal.SIGKILL
        assert proc.exitcode in (0, -signal.SIGKILL)
    assert kills >= 15
    done_before_final = len(TrialLog(crash_dir / "trials.jsonl").read())
    assert done_before_final < len(clean)  # the kills hit runs with work left
    proc = ctx.Process(target=run_exploration, args=(str(crash_dir), 0.0))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0

    raw = (crash_dir / "trials.jsonl").read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.splitlines()
    records = [json.loads(line) for line in lines]  # every line is a whole record
    ids = [r["trial_id"] for r in records]
    assert len(ids) == len(set(ids)), "a trial was written twice"
    crashed = TrialLog(crash_dir / "trials.jsonl").read()
    key = lambda t: t.trial_id  # noqa: E731
    assert [comparable(t) for t in sorted(crashed, key=key)] == [
        comparable(t) for t in sorted(clean, key=key)
    ]
    assert clean_s < 30


def run_with_memory(out_dir: str, latency: float) -> None:
    """Explore into an `ExplorationMemory` (JSONL + embedded Chroma) at ``out_dir``."""
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from langchain_ste.explore import explore
    from langchain_ste.memory.chroma import ExplorationMemory
    from langchain_ste.testing import ScriptedChatModel

    memory = ExplorationMemory(out_dir, embeddings=DeterministicFakeEmbedding(size=16))
    print("started", flush=True)
    model = ScriptedChatModel(script=deterministic_script, latency=latency)
    explore(model, TOOLS, memory=memory, settings=replace(SETTINGS, episodes_per_tool=2))


@pytest.mark.integration
def test_sigkill_with_chroma_memory_then_index_catches_up(tmp_path: Path) -> None:
    """Real processes (no fork: Chroma is not fork-safe) killed while writing JSONL + Chroma."""
    import subprocess

    from langchain_core.embeddings import DeterministicFakeEmbedding

    from langchain_ste.memory.chroma import ExplorationMemory

    clean_dir, crash_dir = tmp_path / "clean", tmp_path / "crashed"
    child = [sys.executable, __file__, str(crash_dir)]
    started = time.perf_counter()
    run_with_memory(str(clean_dir), 0.02)
    window = 0.05 + (time.perf_counter() - started) / 4
    rng = random.Random(11)
    kills = 0
    for _ in range(5):
        proc = subprocess.Popen(
            child, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.01, window))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
    assert kills >= 3
    final = subprocess.run(
        child, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert final.returncode == 0, final.stderr[-2000:]

    embeddings = DeterministicFakeEmbedding(size=16)
    clean = ExplorationMemory(clean_dir, embeddings=embeddings).trials()
    memory = ExplorationMemory(crash_dir, embeddings=embeddings)  # catches the index up
    crashed = memory.trials()
    key = lambda t: t.trial_id  # noqa: E731
    assert [comparable(t) for t in sorted(crashed, key=key)] == [
        comparable(t) for t in sorted(clean, key=key)
    ]
    indexed = memory._collection.get(include=[])["ids"]
    assert sorted(indexed) == sorted(t.trial_id for t in clean)


if __name__ == "__main__":
    run_with_memory(sys.argv[1], 0.02)
