"""`ste eval` on a scripted fake model (no real model loads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from typer.testing import CliRunner

from langchain_ste.testing import ScriptedChatModel
from langchain_ste.tools.examples import HELD_OUT_QUESTIONS


def answer_all(messages: list[BaseMessage], tools: list[str]) -> AIMessage:
    question = next(m for m in messages if isinstance(m, HumanMessage)).content
    q = next(q for q in HELD_OUT_QUESTIONS if q["question"] == question)
    if isinstance(messages[-1], HumanMessage):
        call = {"name": q["tool"], "args": q["args"], "id": "c1", "type": "tool_call"}
        return AIMessage("", tool_calls=[call])
    return AIMessage("Here you go.")


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    specs: list[str] = []

    def load(spec: str, **kwargs: Any) -> ScriptedChatModel:
        specs.append(spec)
        return ScriptedChatModel(script=answer_all)

    monkeypatch.setattr("langchain_ste.models.load_chat_model", load)
    return specs


def test_eval_examples_writes_a_report_and_merges_conditions(
    tmp_path: Path, fake_model: list[str]
) -> None:
    from langchain_ste.cli import app

    runner = CliRunner()
    out = tmp_path / "report"
    result = runner.invoke(
        app,
        ["eval", "--benchmark", "examples", "--model", "local", "--limit", "3", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "correct 100.0%" in result.output
    data = json.loads((out / "results.json").read_text())
    assert data["scores"]["baseline"]["all"]["n"] == 3
    assert (out / "results.png").exists() and "| baseline | all | 3 |" in (
        out / "results.md"
    ).read_text()

    again = runner.invoke(
        app,
        [
            "eval",
            "-b",
            "examples",
            "--limit",
            "2",
            "--condition",
            "other",
            "--merge",
            "--out",
            str(out),
        ],
    )
    assert again.exit_code == 0, again.output
    data = json.loads((out / "results.json").read_text())
    assert list(data["entries"]) == ["baseline", "other"]
    assert fake_model == ["local", "local"]


def test_eval_rejects_bad_options_with_clear_messages(
    tmp_path: Path, fake_model: list[str]
) -> None:
    from langchain_ste.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["eval", "--benchmark", "nope"])
    assert bad.exit_code != 0 and "bfcl-multi-turn" in bad.output
    no_memory = runner.invoke(app, ["eval", "--memory", str(tmp_path / "none")])
    assert no_memory.exit_code != 0 and "ste explore" in no_memory.output
    remote = runner.invoke(
        app, ["eval", "--model", "openai:gpt-4o-mini", "--adapter", str(tmp_path)]
    )
    assert remote.exit_code != 0 and "--model local" in _unboxed(remote.output)
    assert fake_model == []
    category = runner.invoke(app, ["eval", "-b", "bfcl-multi-turn", "--category", "nope"])
    assert category.exit_code != 0
    assert "miss_func" in _unboxed(category.output) and "long_context" in _unboxed(category.output)


def _unboxed(output: str) -> str:
    """Typer's error box wraps long messages: join its lines back into one text."""
    return " ".join(output.replace("│", " ").split())


def test_eval_bfcl_plays_the_chosen_categories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("bfcl_eval")
    from langchain_ste.cli import app

    model = ScriptedChatModel(script=["I cannot do that."])
    monkeypatch.setattr("langchain_ste.models.load_chat_model", lambda spec, **kw: model)
    out = tmp_path / "bfcl"
    args = ["eval", "-b", "bfcl-multi-turn", "--category", "miss_param", "--category"]
    result = CliRunner().invoke(app, [*args, "long_context", "--limit", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert [e["category"] for e in data["entries"]["baseline"]] == [
        "multi_turn_miss_param",
        "multi_turn_long_context",
    ]
    assert data["meta"]["category"] == "miss_param,long_context"
    assert data["meta"]["max_steps"] == 20
    assert "paper: well-formed 0.0%" in result.output


def test_eval_without_bfcl_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, fake_model: list[str]
) -> None:
    from langchain_ste.cli import app
    from langchain_ste.evaluate.benchmarks import bfcl

    def missing() -> Any:
        raise bfcl.BFCLUnavailableError(f"install it: `{bfcl.BFCL_INSTALL}`")

    monkeypatch.setattr(bfcl.data, "require_bfcl", missing)
    result = CliRunner().invoke(app, ["eval", "--benchmark", "bfcl-multi-turn"])
    assert result.exit_code == 2
    assert "pip install --no-deps bfcl-eval==2026.3.23 mpmath" in result.output
