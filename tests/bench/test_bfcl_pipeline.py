"""`bench/bfcl_pipeline.py` runs the shared pipeline from its command line, resumably."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bfcl_pipeline
from langchain_ste.testing import ScriptedExplorer


def test_the_bench_runs_the_shared_pipeline_and_records_its_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_ste import models

    monkeypatch.setattr(models, "load_chat_model", lambda spec, **kw: ScriptedExplorer())
    args = ["--benchmark", "examples", "--explorer", "scripted", "--learner", "served-model"]
    args += ["--learner-base-url", "http://127.0.0.1:1/v1", "--limit", "2", "--episodes", "1"]
    args += ["--trials", "1", "--out", str(tmp_path)]
    assert bfcl_pipeline.main(args) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    assert list(report["scores"]) == ["baseline", "ste-in-context", "explorer-zero-shot"]
    assert report["meta"]["command"].endswith("--out " + str(tmp_path))
    assert report["meta"]["trials"] == 2 and report["meta"]["subset"] == "all"
    assert "ste-fine-tuned" not in report["scores"]  # a served learner is not fine-tuned here
    assert (tmp_path / "memory" / "trials.jsonl").exists()


def test_exploration_tools_are_the_benchmarks_own() -> None:
    names = [t.name for t in bfcl_pipeline.exploration_tools("demo", [])]
    assert names[:2] == ["find_customer", "get_order"]
    assert [t.name for t in bfcl_pipeline.exploration_tools("examples", [])] == [
        "convert_units",
        "search_catalog",
    ]


def test_a_limit_draws_from_all_entries_even_for_a_local_learner() -> None:
    assert bfcl_pipeline.default_subset(local=True, limit=None) == "cpu"
    assert bfcl_pipeline.default_subset(local=True, limit=40) == "all"  # cpu holds only 6
    assert bfcl_pipeline.default_subset(local=False, limit=None) == "all"
