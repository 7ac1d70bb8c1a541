"""`ste demo`: explore, show the memory, score the learner without and with STE, report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from rich.console import Console
from typer.testing import CliRunner

from langchain_ste import models
from langchain_ste.cli import app
from langchain_ste.cli.demo import DEMO_EXPLORE, DEMO_SETTINGS, run_demo, verdict_line
from langchain_ste.evaluate.benchmarks.examples import example_cases
from langchain_ste.evaluate.pipeline import lora_finetune
from langchain_ste.evaluate.runner import EVAL_SYSTEM
from langchain_ste.testing import ScriptedChatModel, ScriptedExplorer
from langchain_ste.tools.examples import HELD_OUT_QUESTIONS, example_tools
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

ANSWERS = {q["question"]: q for q in HELD_OUT_QUESTIONS}
QUICK = replace(
    DEMO_SETTINGS,
    explore=replace(DEMO_EXPLORE, episodes_per_tool=1, trials_per_episode=2),
    finetune=False,
    explorer_reference=False,
    protocols=("native",),
    exemplar_mode="messages",  # the scripted learner learns from replayed turns
)


class LearnsFromExemplars(ScriptedExplorer):
    """Explores like `ScriptedExplorer`; as an agent it answers a held-out question right only
    when the conversation holds a worked tool call before the question (an STE exemplar)."""

    def _next(
        self,
        messages: list[BaseMessage],
        tools: list[dict[str, Any]] | None,
        options: dict[str, Any] | None = None,
    ) -> AIMessage:
        if not messages or messages[0].text != EVAL_SYSTEM:
            return super()._next(messages, tools, options)
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


def demo(model: BaseChatModel, out: Path, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"settings": QUICK, "console": quiet(), **kwargs}
    return run_demo(
        model,
        lambda protocol, adapter: model,
        out=out,
        tools=example_tools(),
        cases=example_cases(limit=4),
        **options,
    )


def test_demo_explores_then_ste_beats_the_baseline(tmp_path: Path) -> None:
    console = quiet()
    result = demo(LearnsFromExemplars(), tmp_path, console=console)
    # Exploration: 2 tools x 1 episode x 2 trials, on disk in the memory folder.
    assert len(result.trials) == 4
    assert len(TrialLog(tmp_path / "memory" / "trials.jsonl").read()) == 4
    # The plain agent never calls a tool; with the middleware's exemplars every answer is right.
    assert list(result.runs) == ["baseline", "ste-in-context"]
    assert [r.correct for r in result.runs["baseline"]] == [False] * 4
    assert [r.correct for r in result.runs["ste-in-context"]] == [True] * 4
    report = json.loads(result.paths["json"].read_text())
    assert report["scores"]["ste-in-context"]["all"]["correct_rate"] == 1.0
    assert report["meta"]["explorer"] == report["meta"]["learner"] == "scripted-explorer"
    assert report["meta"]["successful_trials"] == 4 and report["meta"]["baseline_protocol"]
    assert result.paths["png"].stat().st_size > 1000
    text = console.export_text()
    assert "what was learned" in text and "the middleware retrieves" in text
    assert HELD_OUT_QUESTIONS[0]["question"] in text
    assert "✓ convert_units(3.0, 'in', 'cm')" in text
    assert "✗ (answered without a tool)" in text
    assert "ste-in-context: correct +100 points over the baseline" in text


def test_a_rerun_redoes_no_trial_and_no_measured_condition(tmp_path: Path) -> None:
    demo(ScriptedExplorer(), tmp_path)
    again = ScriptedExplorer()
    console = quiet()
    result = demo(again, tmp_path, console=console)
    ids = [t.trial_id for t in TrialLog(tmp_path / "memory" / "trials.jsonl").read()]
    assert len(ids) == len(set(ids)) == len(result.trials) == 4
    assert again.calls == []  # nothing explored or answered twice
    text = console.export_text()
    assert "zero-shot-native: already measured" in text  # the baseline is stored under its name
    assert "ste-in-context: already measured" in text


def test_a_rerun_with_other_exemplar_settings_measures_only_ste_in_context(
    tmp_path: Path,
) -> None:
    demo(ScriptedExplorer(), tmp_path)
    first = json.loads((tmp_path / "results.json").read_text())["meta"]["seconds"]
    console = quiet()
    again = ScriptedExplorer()
    demo(again, tmp_path, console=console, settings=replace(QUICK, k=1))
    text = console.export_text()
    assert "zero-shot-native: already measured" in text
    assert "ste-in-context: already measured" not in text
    assert {c["node"] for c in again.calls} == {"model"}  # answered again; nothing explored
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["meta"]["condition_keys"]["ste-in-context"]["k"] == 1
    # The reused row keeps the time it took when it was measured; exploration adds up sittings.
    seconds = report["meta"]["seconds"]
    assert seconds["zero-shot-native"] == first["zero-shot-native"] > 0
    assert seconds["explore"] >= first["explore"]
    assert report["meta"]["condition_keys"]["baseline"]["model"] == "scripted-explorer"


def test_the_best_zero_shot_protocol_is_the_baseline(tmp_path: Path) -> None:
    react_knows = LearnsFromExemplars()
    plain = ScriptedExplorer()
    settings = replace(QUICK, protocols=("native", "react"))
    result = run_demo(
        plain,
        lambda protocol, adapter: react_knows if protocol == "react" else plain,
        out=tmp_path,
        settings=settings,
        tools=example_tools(),
        cases=example_cases(limit=2),
        console=quiet(),
    )
    assert result.meta["baseline_protocol"] in ("native", "react")
    assert "zero-shot-native" in result.runs or "zero-shot-react" in result.runs
    best = result.meta["baseline_protocol"]
    other = next(c for c in result.runs if c.startswith("zero-shot-"))
    assert other == f"zero-shot-{'react' if best == 'native' else 'native'}"


def test_the_fine_tuned_learner_is_scored_with_its_adapter(tmp_path: Path) -> None:
    built: list[tuple[str, str | None]] = []
    model = ScriptedExplorer()

    def learner(protocol: Any, adapter: str | None) -> BaseChatModel:
        built.append((protocol, adapter))
        return model

    def finetune(trials: list[Trial], folder: Path) -> tuple[str, Any]:
        assert len(trials) == 4
        return str(folder), "react"

    settings = replace(QUICK, finetune=True, explorer_reference=True)
    result = run_demo(
        model,
        learner,
        out=tmp_path,
        settings=settings,
        tools=example_tools(),
        cases=example_cases(limit=2),
        finetune=finetune,
        console=quiet(),
    )
    assert list(result.runs) == [
        "baseline",
        "ste-in-context",
        "ste-fine-tuned",
        "explorer-zero-shot",
    ]
    assert ("react", str(tmp_path / "adapter")) in built
    assert len(result.runs["ste-fine-tuned"]) == 2


def test_fine_tuning_without_usable_trials_is_skipped_with_a_reason(tmp_path: Path) -> None:
    settings = replace(QUICK, finetune=True)
    result = demo(ScriptedExplorer(), tmp_path, settings=settings, finetune=lambda t, f: None)
    assert "ste-fine-tuned" not in result.runs
    assert result.meta["ste-fine-tuned"] == "skipped: no usable trial to train on"


def test_cli_takes_any_explorer_and_learner(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    specs: list[tuple[str, dict[str, Any]]] = []

    def fake_load(spec: str, **kwargs: Any) -> BaseChatModel:
        specs.append((spec, kwargs))
        return ScriptedChatModel(script=["Hello."])

    monkeypatch.setattr(models, "load_chat_model", fake_load)
    out = tmp_path / "demo"
    args = ["demo", "--explorer", "openai:x", "--learner", "srv-model", "--learner-base-url"]
    args += ["http://127.0.0.1:1/v1", "--out", str(out), "--episodes", "1", "--trials", "1"]
    result = CliRunner().invoke(app, [*args, "--questions", "1"])
    assert result.exit_code == 0, result.output
    assert ("openai:x", {"protocol": "auto"}) in specs or specs[0][0] == "openai:x"
    assert any(s == "srv-model" and k.get("base_url") == "http://127.0.0.1:1/v1" for s, k in specs)
    assert "skipping it" in result.output  # a remote learner is not fine-tuned
    assert (out / "results.md").exists() and "done in" in result.output


def test_verdict_line_says_when_nothing_was_learned() -> None:
    failed = Trial(trial_id="t", tools=["x"], episode=0, index=0, query="q", success=False)
    line = verdict_line([failed], {"baseline": [], "ste-in-context": []})
    assert line.startswith("Exploration kept no usable trial of 1")


def test_lora_finetune_trains_the_tiny_model_in_its_own_format(tmp_path: Path) -> None:
    trials = demo(ScriptedExplorer(), tmp_path / "run").trials
    tune = lora_finetune(example_tools(), base="local:smollm2-135m", steps=1)
    tuned = tune(trials, tmp_path / "adapter")
    assert tuned == (str(tmp_path / "adapter"), "react")  # SmolLM2's template has no tools
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    again = tune(trials, tmp_path / "adapter")  # same records: the adapter is reused
    assert again == tuned
    assert tune([], tmp_path / "none") is None


def test_lora_finetune_passes_max_length_to_training(tmp_path: Path) -> None:
    trials = demo(ScriptedExplorer(), tmp_path / "run").trials
    tune = lora_finetune(example_tools(), base="local:smollm2-135m", steps=1, max_length=8)
    with pytest.raises(ValueError, match="longer than max_length=8"):
        tune(trials, tmp_path / "adapter")


def test_a_condition_stopped_halfway_resumes_at_its_next_question(tmp_path: Path) -> None:
    class Stop(BaseException):  # as a kill would: not caught as a failed case
        pass

    answered = []

    class DiesOnTheThirdQuestion(ScriptedExplorer):
        def _next(self, messages: list[BaseMessage], tools: Any, options: Any = None) -> AIMessage:
            if messages and messages[0].text == EVAL_SYSTEM and len(messages) == 2:
                answered.append(messages[1].text)
                if len(answered) == 3:
                    raise Stop  # the process is killed while it answers question 3
            return super()._next(messages, tools, options)

    with pytest.raises(Stop):
        demo(DiesOnTheThirdQuestion(), tmp_path, settings=replace(QUICK, max_concurrency=1))
    kept = (tmp_path / "partial" / "zero-shot-native.jsonl").read_text().splitlines()
    assert len(kept) == 3  # the row's key, then questions 1 and 2

    again = ScriptedExplorer()
    console = quiet()
    result = demo(again, tmp_path, console=console, settings=replace(QUICK, max_concurrency=1))
    zero_shot = [  # a zero-shot question opens its conversation (no exemplars before it)
        c["messages"][1].text
        for c in again.calls
        if len(c["messages"]) == 2 and c["messages"][0].text == EVAL_SYSTEM
    ]
    assert zero_shot == [c.turns[0] for c in example_cases(limit=4)][2:]
    assert [r.id for r in result.runs["baseline"]] == [c.id for c in example_cases(limit=4)]
    assert "(resumed: 2 questions already answered)" in console.export_text()
    assert not (tmp_path / "partial" / "zero-shot-native.jsonl").exists()
