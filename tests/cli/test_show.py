"""`ste show`: per-tool summary with one success rule, and query hits ranked by similarity."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_ste.cli import app
from langchain_ste.memory.chroma import ExplorationMemory
from langchain_ste.memory.embeddings import MiniLMEmbeddings
from langchain_ste.trajectory import Step
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

pytestmark = pytest.mark.integration


def make(tool: str, ep: int, idx: int, query: str, success: bool = True, ok: bool = True) -> Trial:
    step = Step(tool=tool, args={}, call_id="c", output="done" if ok else "")
    if not ok:
        step = replace(step, status="error", error="boom")
    return Trial.from_steps(
        trial_id=Trial.make_id([tool], ep, idx),
        tools=[tool],
        episode=ep,
        index=idx,
        query=query,
        success=success,
        steps=[step],
        created_at=1000.0 + 10 * ep + idx,
    )


TRIALS = [
    make("convert_units", 0, 0, "How many centimeters are in 3 inches?"),
    make("convert_units", 0, 1, "Convert 100 Fahrenheit to Celsius"),
    make("convert_units", 1, 0, "What is 5 kilograms in pounds?", success=False),
    make("search_catalog", 0, 0, "Find me a yoga mat under 30 dollars"),
    make("search_catalog", 0, 1, "Which kitchen knives do you sell?"),
]


def rows(output: str) -> dict[str, str]:
    return {
        line.split("│")[1].strip(): line
        for line in output.splitlines()
        if line.count("│") > 3 and "success rate" not in line
    }


def test_show_summarises_a_memory(tmp_path: Path) -> None:
    TrialLog(tmp_path / "trials.jsonl").append(TRIALS)
    result = CliRunner().invoke(app, ["show", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    table = rows(result.output)
    assert "67%" in table["convert_units"] and "100%" in table["search_catalog"]
    assert "Find me a yoga mat" in result.output
    assert "80%" in table["all tools"]


def test_show_does_not_count_trials_whose_every_call_raised(tmp_path: Path) -> None:
    raised = make("search_catalog", 2, 0, "Find a tent", ok=False)  # judged a success anyway
    TrialLog(tmp_path / "trials.jsonl").append([*TRIALS, raised])
    result = CliRunner().invoke(app, ["show", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    line = rows(result.output)["search_catalog"]
    assert [cell.strip() for cell in line.split("│")[2:5]] == ["3", "2", "67%"]


def test_show_prints_top_matches(tmp_path: Path, embeddings: MiniLMEmbeddings) -> None:
    ExplorationMemory(tmp_path, embeddings=embeddings).add(TRIALS)
    result = CliRunner().invoke(
        app,
        ["show", str(tmp_path), "--tool", "search_catalog", "--query", "a yoga mat", "-k", "1"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "Find me a yoga mat" in result.output
    assert "kitchen knives" not in result.output  # k=1
    assert "Convert 100" not in result.output


def test_show_query_ranks_by_score_and_leaves_out_unrelated_trials(
    tmp_path: Path, embeddings: MiniLMEmbeddings
) -> None:
    unrelated = make("convert_units", 3, 0, "Send an email to Bob")
    ExplorationMemory(tmp_path, embeddings=embeddings).add([*TRIALS, unrelated])
    args = ["show", str(tmp_path), "--tool", "convert_units", "--query", "inches to cm", "-k", "5"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    scores = [
        float(line.split("│")[2])
        for line in result.output.splitlines()
        if "│" in line and line.split("│")[1].strip().isdigit()
    ]
    assert scores and scores == sorted(scores, reverse=True) and min(scores) >= 0.1
    assert "Send an email" not in result.output
    everything = CliRunner().invoke(app, [*args, "--min-similarity", "-1"], env={"COLUMNS": "200"})
    assert "Send an email" in everything.output


def test_show_missing_memory_names_the_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["show", str(tmp_path / "nope")], env={"COLUMNS": "200"})
    assert result.exit_code != 0
    assert "no exploration memory" in result.output and "ste explore" in result.output
    TrialLog(tmp_path / "trials.jsonl").append(TRIALS)
    result = CliRunner().invoke(app, ["show", str(tmp_path), "--tool", "nope"])
    assert result.exit_code != 0 and "no trials of tool" in result.output
