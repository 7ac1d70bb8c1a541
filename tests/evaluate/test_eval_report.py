"""Reports: tables, JSON with every entry, the PNG plot, merging runs."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_ste.evaluate.metrics import EntryResult, TurnResult
from langchain_ste.evaluate.report import (
    comparison_table,
    load_results,
    results_table,
    write_report,
)


def runs() -> dict[str, list[EntryResult]]:
    def r(i: int, category: str, correct: bool, error: str | None = None) -> EntryResult:
        turn = TurnResult("q", calls=[{"name": "f", "args": {"x": i}}], expected=["f"], replies=2)
        return EntryResult(
            id=f"e{i}", category=category, correct=correct, turns=[turn], error=error
        )

    return {
        "baseline": [r(0, "a", False), r(1, "a", False), r(2, "b", True), r(3, "b", False)],
        "ste-in-context": [
            r(0, "a", True),
            r(1, "a", False),
            r(2, "b", True),
            r(3, "b", False, error="agent: boom"),
        ],
    }


def test_results_table_has_a_row_per_condition_and_category() -> None:
    rows = results_table(runs()).splitlines()
    assert len(rows) == 2 + 2 * 3
    assert rows[0].startswith(
        "| condition | category | n | well-formed % | tool match % | correct % | "
        "paper well-formed % | paper API match % | errors |"
    )
    assert "| baseline | all | 4 | 100.0 | 100.0 | 25.0 | 100.0 | 100.0 | 0 |" in rows
    # the errored entry is out of the paper's API-match denominator, not a miss in it
    assert "| ste-in-context | all | 4 | 75.0 | 75.0 | 50.0 | 75.0 | 100.0 | 1 |" in rows
    assert "| ste-in-context | a | 2 | 100.0 | 100.0 | 50.0 | 100.0 | 100.0 | 0 |" in rows


def test_comparison_table_shows_deltas_against_the_first_condition() -> None:
    table = comparison_table(runs())
    assert "| correct % | baseline | ste-in-context |" in table
    assert "| all | 25.0 | 50.0 (+25.0) |" in table
    assert "| a | 0.0 | 50.0 (+50.0) |" in table
    assert "| b | 50.0 | 50.0 (+0.0) |" in table
    assert "| well-formed % |" in comparison_table(runs(), "well_formed")


def test_write_report_writes_markdown_json_and_png(tmp_path: Path) -> None:
    paths = write_report(runs(), tmp_path / "out", title="BFCL", meta={"model": "fake"})
    md = paths["md"].read_text()
    assert md.startswith("# BFCL") and "- model: `fake`" in md and "(+25.0)" in md
    data = json.loads(paths["json"].read_text())
    assert data["meta"] == {"model": "fake"}
    assert data["scores"]["baseline"]["all"]["correct_rate"] == 0.25
    assert data["scores"]["ste-in-context"]["all"]["paper_api_match_rate"] == 1.0
    assert data["scores"]["ste-in-context"]["all"]["paper_well_formed"] == 3
    assert "## Paper API match by condition" in md and "paper well-formed" in md
    assert [e["id"] for e in data["entries"]["ste-in-context"]] == ["e0", "e1", "e2", "e3"]
    assert data["entries"]["ste-in-context"][3]["error"] == "agent: boom"
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_results(paths["json"]) == runs()


def test_answer_only_entries_separate_our_well_formed_from_the_papers() -> None:
    answered = TurnResult("q", expected=["f"], replies=1, parsed=0, answer="42")
    called = TurnResult("q", calls=[{"name": "f", "args": {}}], expected=["f"], replies=2, parsed=1)
    run = {
        "baseline": [
            EntryResult(id="e0", category="a", turns=[answered]),
            EntryResult(id="e1", category="a", turns=[called], correct=True),
        ]
    }
    assert "| baseline | all | 2 | 100.0 | 50.0 | 50.0 | 50.0 | 100.0 | 0 |" in results_table(run)
    assert "| paper API match % | baseline |" in comparison_table(run, "paper_api_match")
