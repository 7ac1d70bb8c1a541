"""`bench/bfcl_summary.py`: every BFCL run in one table, and each by the classes of its entries."""

from __future__ import annotations

from pathlib import Path

from bench import bfcl_summary
from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.evaluate.report import write_report


def test_runs_are_summed_up_and_regrouped_by_class(tmp_path: Path) -> None:
    def rows(correct: set[str]) -> list[EntryResult]:
        return [EntryResult(id=i, category="single_turn_base", correct=i in correct)
                for i in ("a", "b", "c")]  # fmt: skip

    results = {"baseline": rows(set()), "ste-in-context": rows({"a", "b"})}
    write_report(results, tmp_path / "single", meta={"learner": "Qwen/Small", "trials": 4,
                                                     "successful_trials": 3})  # fmt: skip
    runs = bfcl_summary.load_runs(tmp_path)
    classes = {"a": ["GorillaFileSystem", "MathAPI"], "b": ["GorillaFileSystem", "MathAPI"],
               "c": ["GorillaFileSystem"]}  # fmt: skip
    text = bfcl_summary.summary(runs, classes)
    assert "| single | ? | Small | 4 (3) | 0.0 (0/3) | 66.7 (2/3) | - | - |" in text
    assert "| MathAPI (2) | 0.0 | 100.0 (+100.0) |" in text
    assert "| GorillaFileSystem only (1) | 0.0 | 0.0 (+0.0) |" in text
    assert [r.category for r in results["baseline"]] == ["single_turn_base"] * 3  # unchanged
