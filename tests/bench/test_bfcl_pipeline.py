"""`bench/bfcl_pipeline.py`: every condition runs, is labelled and saved as it finishes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.bfcl_pipeline import run_pipeline
from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.evaluate.runner import load_cases
from langchain_ste.testing import ScriptedChatModel, ScriptedExplorer


def test_pipeline_runs_each_explorer_and_saves_after_every_condition(tmp_path: Path) -> None:
    saved: list[list[str]] = []
    stats: dict[str, Any] = {}

    def on_condition(runs: dict[str, list[EntryResult]]) -> None:
        saved.append(list(runs))

    runs = run_pipeline(
        ScriptedExplorer(),
        benchmark="examples",
        cases=load_cases("examples", limit=2),
        out=tmp_path,
        local=False,  # no LoRA: the fine-tuned conditions are the embedded model's
        episodes=1,
        trials=1,
        explore_steps=2,
        eval_steps=2,
        lora_steps=1,
        on_condition=on_condition,
        stats=stats,
        explorers=["model", "scripted"],
    )
    labels = ["baseline", "ste-in-context", "ste-in-context [scripted explorer]"]
    assert list(runs) == labels
    assert saved == [labels[:1], labels[:2], labels]
    assert all(len(results) == 2 for results in runs.values())
    assert stats["explored_trials"] == stats["scripted_explored_trials"] == 2
    assert (tmp_path / "memory" / "trials.jsonl").exists()
    assert (tmp_path / "scripted_memory" / "trials.jsonl").exists()


def test_pipeline_goes_on_when_exploration_finds_nothing(tmp_path: Path) -> None:
    runs = run_pipeline(
        ScriptedChatModel(script=["no idea"]),  # imagines "no idea", never calls a tool
        benchmark="examples",
        cases=load_cases("examples", limit=1),
        out=tmp_path,
        local=True,  # would fine-tune, but there is no successful trial to train on
        episodes=1,
        trials=1,
        explore_steps=1,
        eval_steps=1,
        lora_steps=1,
    )
    assert list(runs) == ["baseline", "ste-in-context"]
    assert not (tmp_path / "adapter").exists()
