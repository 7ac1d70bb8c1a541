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
    assert report["meta"]["settings"]["explore"]["act_tools"] == "all"
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


def test_a_run_can_start_from_another_runs_exploration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_ste import models

    model = ScriptedExplorer()
    monkeypatch.setattr(models, "load_chat_model", lambda spec, **kw: model)
    args = ["--benchmark", "examples", "--explorer", "e", "--learner", "served-model"]
    args += ["--learner-base-url", "http://127.0.0.1:1/v1", "--episodes", "1", "--trials", "1"]
    first = tmp_path / "first"
    args += ["--act-tools", "targets"]
    assert bfcl_pipeline.main([*args, "--limit", "2", "--out", str(first)]) == 0
    explored = [c for c in model.calls if c["node"] in ("imagine", "act", "reflect")]
    assert {len(c["tools"]) for c in explored if c["node"] == "act"} == {1}  # its own tool
    before = (first / "memory" / "trials.jsonl").read_bytes()

    model.calls.clear()
    second = tmp_path / "second"
    again = [*args, "--limit", "1", "--explore-entries", "2", "--from", str(first)]
    assert bfcl_pipeline.main([*again, "--out", str(second)]) == 0
    assert not [c for c in model.calls if c["node"] in ("imagine", "act", "reflect")]
    report = json.loads((second / "results.json").read_text())
    assert report["meta"]["trials"] == 2 and report["meta"]["questions"] == 1
    assert (first / "memory" / "trials.jsonl").read_bytes() == before  # the source is untouched
    missing = tmp_path / "nowhere"
    assert bfcl_pipeline.main([*again[:-1], str(missing), "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
