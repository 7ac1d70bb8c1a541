"""`bench/ablations.py`: full exploration and each ablation, scored in context, resumably."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import ablations
from langchain_ste.evaluate import runner


def test_each_condition_explores_scores_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--explorer", "scripted", "--learner", "scripted", "--questions", "2"]
    args += ["--out", str(tmp_path), "--only", "full", "no-execution-feedback"]
    assert ablations.main(args) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    rows = {r["condition"]: r for r in report["rows"]}
    assert list(rows) == ["full", "no-execution-feedback"]
    assert rows["full"]["trials"] == rows["no-execution-feedback"]["trials"] == 24
    # Emulated trials count as usable only in the ablation that has nothing else.
    assert rows["no-execution-feedback"]["usable_trials"] == 24
    assert rows["full"]["paper_correct"] == 73.3
    assert "| no-execution-feedback | 24 | 24 |" in (tmp_path / "results.md").read_text()
    trials = (tmp_path / "no-execution-feedback" / "memory" / "trials.jsonl").read_text()
    assert '"status": "emulated"' in trials and '"status": "ok"' not in trials

    scored: list[str] = []
    real = runner.run_benchmark
    monkeypatch.setattr(
        runner, "run_benchmark", lambda *a, **kw: scored.append(kw["condition"]) or real(*a, **kw)
    )
    assert ablations.main([*args[:-3], "--only", "full"]) == 0
    assert scored == []  # nothing re-explored or re-scored
    assert len(json.loads((tmp_path / "results.json").read_text())["rows"]) == 2


def test_conditions_are_the_papers_ablations() -> None:
    assert ablations.CONDITIONS[0] == "full" and set(ablations.PAPER) == set(ablations.CONDITIONS)
    assert not ablations.settings_for("no-long-term-memory").long_term_memory
    assert ablations.settings_for("full") == ablations.DEMO_EXPLORE
