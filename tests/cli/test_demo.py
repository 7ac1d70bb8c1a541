"""`ste demo`: explore the example tools, show the memory, compare plain vs STE agents, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from rich.console import Console
from typer.testing import CliRunner

from langchain_ste import models
from langchain_ste.cli import app
from langchain_ste.cli import demo as demo_module
from langchain_ste.cli.demo import lora_finetuner, run_demo
from langchain_ste.evaluate.runner import EVAL_SYSTEM
from langchain_ste.testing import ScriptedChatModel, ScriptedExplorer
from langchain_ste.tools.examples import HELD_OUT_QUESTIONS, example_tools
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

ANSWERS = {q["question"]: q for q in HELD_OUT_QUESTIONS}


class LearnsFromExemplars(ScriptedExplorer):
    """Explores like `ScriptedExplorer`; as an agent it answers a held-out question right only
    when the conversation holds a worked tool call before the question (an STE exemplar)."""

    def _next(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> AIMessage:
        if not messages or messages[0].text != EVAL_SYSTEM:
            return super()._next(messages, tools)
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(f"Done: {messages[-1].text}")
        question = messages[-1].text
        saw_exemplar = any(isinstance(m, AIMessage) and m.tool_calls for m in messages[:-1])
        if question not in ANSWERS or not saw_exemplar:
            return AIMessage("Sorry, I cannot help with that.")
        item = ANSWERS[question]
        call = {"name": item["tool"], "args": dict(item["args"]), "id": "c1", "type": "tool_call"}
        return AIMessage("", tool_calls=[call])


def quiet() -> Console:
    return Console(record=True, width=200)


def test_demo_explores_then_ste_beats_the_plain_agent(tmp_path: Path) -> None:
    console = quiet()
    result = run_demo(
        LearnsFromExemplars(), out=tmp_path, episodes=1, trials=2, questions=4, console=console
    )
    # Exploration: 2 tools x 1 episode x 2 trials, on disk in the memory folder.
    assert len(result.trials) == 4
    assert len(TrialLog(tmp_path / "memory" / "trials.jsonl").read()) == 4
    # The plain agent never calls a tool; with the middleware's exemplars every answer is right.
    assert list(result.runs) == ["baseline", "ste-in-context"]
    assert [r.correct for r in result.runs["baseline"]] == [False] * 4
    assert [r.correct for r in result.runs["ste-in-context"]] == [True] * 4
    report = json.loads(result.paths["json"].read_text())
    assert set(report["entries"]) == {"baseline", "ste-in-context"}
    assert "| all | 0.0 | 100.0 (+100.0) |" in result.paths["md"].read_text()
    assert result.paths["png"].stat().st_size > 1000
    text = console.export_text()
    assert "what was learned" in text and "the middleware retrieves" in text
    assert HELD_OUT_QUESTIONS[0]["question"] in text
    assert "✓ convert_units(3.0, 'in', 'cm')" in text
    assert "✗ (answered without a tool)" in text


def test_demo_resumes_without_redoing_trials(tmp_path: Path) -> None:
    run_demo(ScriptedExplorer(), out=tmp_path, episodes=1, trials=1, questions=1, console=quiet())
    again = ScriptedExplorer()
    result = run_demo(again, out=tmp_path, episodes=1, trials=1, questions=1, console=quiet())
    ids = [t.trial_id for t in TrialLog(tmp_path / "memory" / "trials.jsonl").read()]
    assert len(ids) == len(set(ids)) == 2
    assert len(result.trials) == 2
    imagined = [c for c in again.calls if c["node"] == "imagine"]
    assert imagined == []  # nothing explored twice


def test_demo_evaluates_the_finetuned_model_it_is_given(tmp_path: Path) -> None:
    seen: list[int] = []

    def finetune(trials: list[Trial]) -> BaseChatModel:
        seen.append(len(trials))
        return LearnsFromExemplars()  # no exemplars without the middleware: all wrong

    result = run_demo(
        ScriptedExplorer(),
        out=tmp_path,
        episodes=1,
        trials=1,
        questions=2,
        finetune=finetune,
        console=quiet(),
    )
    assert seen == [2]
    assert list(result.runs) == ["baseline", "ste-in-context", "ste-finetuned"]
    assert len(result.runs["ste-finetuned"]) == 2
    assert "ste-finetuned" in result.paths["md"].read_text()


def test_lora_finetuner_skips_without_successful_trials(tmp_path: Path) -> None:
    console = quiet()
    failed = Trial(
        trial_id="t", tools=["convert_units"], episode=0, index=0, query="q", success=False
    )
    assert lora_finetuner(tmp_path, steps=1, console=console)([failed]) is None
    assert "no successful trials to train on" in console.export_text()
    assert not (tmp_path / "adapter").exists()


def test_cli_runs_the_demo_with_any_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    specs: list[tuple[str, dict[str, Any]]] = []

    def fake_load(spec: str, **kwargs: Any) -> BaseChatModel:
        specs.append((spec, kwargs))
        return LearnsFromExemplars()

    monkeypatch.setattr(models, "load_chat_model", fake_load)
    args = [
        "demo",
        "--model",
        "openai:x",
        "--base-url",
        "http://127.0.0.1:1/v1",
        "--out",
        str(tmp_path),
        "--episodes",
        "1",
        "--trials",
        "1",
        "--questions",
        "2",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert specs == [("openai:x", {"base_url": "http://127.0.0.1:1/v1"})]
    assert (tmp_path / "results.md").exists() and "done in" in result.output


def test_cli_finetune_needs_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "load_chat_model", lambda spec, **kw: ScriptedChatModel())
    result = CliRunner().invoke(app, ["demo", "--model", "openai:x", "--finetune"])
    assert result.exit_code == 2
    assert "use --model local" in result.output


def test_verdict_line_says_when_nothing_was_learned() -> None:
    failed = Trial(trial_id="t", tools=["x"], episode=0, index=0, query="q", success=False)
    line = demo_module.verdict_line([failed], {"baseline": [], "ste-in-context": []})
    assert line.startswith("Exploration found no successful trial in 1")


@pytest.mark.integration
def test_lora_finetuner_trains_the_embedded_model_on_explored_trials(tmp_path: Path) -> None:
    from langchain_ste.explore import ExploreSettings, explore
    from langchain_ste.models.local import ChatLocalHF

    trials = explore(
        ScriptedExplorer(),
        example_tools(),
        memory=tmp_path / "memory",
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
    )
    console = quiet()
    tuned = lora_finetuner(tmp_path, steps=1, console=console)(trials)
    assert isinstance(tuned, ChatLocalHF)
    assert tuned.adapter == str(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    assert "trained on 2 records, 1 steps" in console.export_text()
