"""`bench/judge_accuracy.py`: verdicts scored against the checker on replayed transcripts."""

from __future__ import annotations

import json
from pathlib import Path

from bench import judge_accuracy
from langchain_ste.evaluate.metrics import EntryResult, TurnResult
from langchain_ste.evaluate.report import write_report


def entry(i: int, calls: list[dict], answer: str, correct: bool) -> EntryResult:
    turn = TurnResult("Convert 10 USD to EUR", calls=calls, expected=["convert_currency"])
    turn.answer = answer
    return EntryResult(id=f"q{i}", category="demo", correct=correct, turns=[turn])


def test_verdicts_are_scored_against_the_checker(tmp_path: Path) -> None:
    args = {"amount": 10, "source": "USD", "target": "EUR"}
    good = [{"name": "convert_currency", "args": args}]
    bad = [{"name": "convert_currency", "args": {**args, "source": "dollars"}}]
    runs = {
        "baseline": [entry(0, bad, "Sorry, it failed.", False), entry(1, good, "9.20 EUR", True)],
        "other": [entry(1, good, "9.20 EUR", True), entry(2, [], "About 9 EUR.", False)],
    }
    paths = write_report(runs, tmp_path / "eval", title="t")
    args = ["--results", str(paths["json"]), "--judge", "scripted", "--out", str(tmp_path / "j")]
    assert judge_accuracy.main(args) == 0
    report = json.loads((tmp_path / "j" / "results.json").read_text())
    assert report["transcripts"] == 3 and report["correct"] == 1  # the repeat is judged once
    said_yes = report["judges"]["scripted"]["model"]
    assert (said_yes["true_yes"], said_yes["false_yes"], said_yes["precision"]) == (1, 2, 0.333)
    grounded = report["judges"]["scripted"]["grounded"]
    # The failed call and the call-free guess are refused on execution, whatever the judge says.
    assert (grounded["true_yes"], grounded["false_yes"], grounded["false_no"]) == (1, 0, 0)
    assert "| scripted | grounded | 1 | 0 | 0 | 100.0 | 100.0 | 100.0 |" in (
        tmp_path / "j" / "results.md"
    ).read_text()
