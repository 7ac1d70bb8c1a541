"""`bench/refinement.py`: the learner with the original and the refined tool descriptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import refinement
from langchain_ste.evaluate import runner
from langchain_ste.evaluate.metrics import EntryResult, TurnResult
from langchain_ste.evaluate.report import write_report
from langchain_ste.explore import ExploreSettings, explore
from langchain_ste.memory.chroma import ExplorationMemory
from langchain_ste.testing import ScriptedExplorer
from langchain_ste.tools.demo import demo_tools

REFINED = "Refined: pass every argument in the format shown."


@pytest.fixture
def memory_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "memory"
    settings = ExploreSettings(episodes_per_tool=1, trials_per_episode=1)
    explore(ScriptedExplorer(), demo_tools(), memory=ExplorationMemory(folder), settings=settings)
    return folder


def test_rows_with_refined_descriptions_are_scored_and_resumed(
    memory_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    args = ["--memory", str(memory_dir), "--writer", "scripted", "--learner", "scripted"]
    args += ["--questions", "2", "--out", str(out)]
    assert refinement.main(args) == 0
    record = json.loads((out / "descriptions.json").read_text())
    assert set(record["refined"].values()) == {REFINED}  # every explored tool rewritten
    assert record["original"]["get_order"] != REFINED
    assert {t.description for t in refinement.tools_with(record["refined"])} == {REFINED}
    report = json.loads((out / "results.json").read_text())
    assert list(report["rows"]) == list(refinement.ROWS)
    assert all(r["entries"] == 2 for r in report["rows"].values())
    assert "| ste-in-context |" in (out / "results.md").read_text()

    scored: list[str] = []
    real = runner.run_benchmark
    monkeypatch.setattr(
        runner, "run_benchmark", lambda *a, **kw: scored.append(kw["condition"]) or real(*a, **kw)
    )
    from langchain_ste.exploit import refine

    monkeypatch.setattr(  # the descriptions are read back, not written again
        refine, "refine_tool_descriptions", lambda *a, **kw: pytest.fail("rewritten again")
    )
    assert refinement.main(args) == 0
    assert scored == []


def test_original_rows_come_from_the_demo_report(memory_dir: Path, tmp_path: Path) -> None:
    def entries(correct: bool) -> list[EntryResult]:
        turn = TurnResult("q", calls=[], expected=["get_order"])
        return [EntryResult(id=f"q{i}", category="demo", correct=correct, turns=[turn])
                for i in range(2)]  # fmt: skip

    demo = write_report(
        {"baseline": entries(True), "ste-in-context": entries(False)},
        tmp_path / "demo",
        title="demo",
        meta={"questions": 2},
    )["json"]
    out = tmp_path / "out"
    args = ["--memory", str(memory_dir), "--writer", "scripted", "--learner", "scripted"]
    args += ["--questions", "2", "--baseline", str(demo), "--out", str(out)]
    assert refinement.main(args) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert rows["zero-shot"]["correct_rate"] == 1.0 and rows["ste-in-context"]["correct_rate"] == 0
    assert not (out / "zero-shot").exists() and (out / "zero-shot-refined").is_dir()
