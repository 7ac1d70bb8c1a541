"""Trial post-processing steps."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from langchain_ste.cli import app
from langchain_ste.finetune.curate import dedupe, keep_successful, llm_filter, paraphrase
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.trajectory import Step
from langchain_ste.trial import Trial
from langchain_ste.trial_log import read_trials, write_trials


def step(i: int, ok: bool = True) -> Step:
    return Step(
        tool="convert_units",
        args={"value": i},
        call_id="c",
        output="x" if ok else "",
        status="ok" if ok else "error",
        error="boom" if not ok else None,
    )


def trial(
    i: int, query: str, success: bool = True, ok: bool = True, first_ok: bool = False, **kw: object
) -> Trial:
    """One call (``ok`` or raised); with ``first_ok``, a clean call before it."""
    steps = ([step(i)] if first_ok else []) + [step(i, ok)]
    return Trial.from_steps(
        trial_id=f"convert_units/e000/t{i}",
        tools=["convert_units"],
        episode=0,
        index=i,
        query=query,
        success=success,
        steps=steps,
        **kw,
    )  # type: ignore[arg-type]


def test_keep_successful_requires_clean_final_calls_and_signals() -> None:
    last_failed = trial(2, "c", ok=False, first_ok=True)  # a call ran, then the last one raised
    trials = [
        trial(0, "a"),
        trial(1, "b", success=False),
        last_failed,
        trial(3, "d", signals={"executed_ok": False}),
        trial(4, "e", ok=False),  # judged a success, but its every call raised
    ]
    assert [t.index for t in keep_successful(trials)] == [0, 3]
    assert [t.index for t in keep_successful(trials, require_clean=False)] == [0, 2, 3]
    assert [t.index for t in keep_successful(trials, require_signals=["executed_ok"])] == []


def test_emulated_trials_are_kept_for_curation_unless_refused() -> None:
    emulated = trial(0, "a", emulated=True)
    assert keep_successful([emulated]) == [emulated]
    assert keep_successful([emulated], allow_emulated=False) == []


def test_dedupe_with_and_without_embeddings(embeddings) -> None:
    trials = [
        trial(0, "Convert 3 inches to cm"),
        trial(1, "convert 3 inches to CM!"),
        trial(2, "How many centimetres in 3 inches?"),
        trial(3, "5 kg in pounds"),
    ]
    assert [t.index for t in dedupe(trials)] == [0, 2, 3]
    assert [t.index for t in dedupe(trials, embeddings=embeddings, threshold=0.75)] == [0, 3]
    assert [t.index for t in dedupe(trials, embeddings=embeddings, threshold=0.9)] == [0, 2, 3]


def test_llm_filter_and_paraphrase() -> None:
    trials = [trial(0, "a"), trial(1, "b", success=False)]
    judge = ScriptedChatModel(script=["yes", "no"])
    assert [t.index for t in llm_filter(trials, judge)] == [0]
    unreadable = ScriptedChatModel(script=["hmm"])
    assert [t.index for t in llm_filter(trials, unreadable)] == [0]  # own verdicts kept
    more = paraphrase([trials[0]], ScriptedChatModel(script=["Another way to say a", "a"]), n=2)
    assert [t.trial_id for t in more] == ["convert_units/e000/t0", "convert_units/e000/t0/p0"]
    assert more[1].query == "Another way to say a"
    assert more[1].extra["paraphrase_of"] == "convert_units/e000/t0"
    assert more[1].to_messages()[0].content == "Another way to say a"


def test_failed_model_calls_keep_verdicts_and_drop_paraphrases() -> None:
    trials = [trial(0, "a"), trial(1, "b", success=False)]
    failing = ScriptedChatModel(script=[RuntimeError("server down")])
    assert [t.index for t in llm_filter(trials, failing)] == [0]
    assert paraphrase(trials, failing, n=2) == trials
    repeated = paraphrase([trials[0]], ScriptedChatModel(script=["Request: say a again"]), n=3)
    assert [t.query for t in repeated] == ["a", "say a again"]  # repeats dropped, label removed


def write(path: Path, trials: list[Trial]) -> Path:
    write_trials(path, trials)
    return path


def test_cli_curate_filters_dedupes_and_refuses_to_clobber(tmp_path: Path) -> None:
    last_failed = trial(2, "c", ok=False, first_ok=True)
    src = write(
        tmp_path / "in" / "trials.jsonl",
        [
            trial(0, "Convert 3 in"),
            trial(1, "convert 3 IN!"),
            last_failed,
            trial(3, "d", success=False),
            trial(4, "e", ok=False),  # every call raised: never kept
        ],
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["curate", str(src.parent), str(out), "--dedupe"])
    assert result.exit_code == 0, result.output
    assert [t.index for t in read_trials(out)] == [0]
    assert "successful: 2" in result.output and "deduplicated: 1" in result.output
    again = CliRunner().invoke(app, ["curate", str(src), str(out), "--no-require-clean"])
    assert again.exit_code != 0 and "--overwrite" in again.output
    again = CliRunner().invoke(
        app, ["curate", str(src), str(out), "--no-require-clean", "--overwrite"]
    )
    assert again.exit_code == 0 and [t.index for t in read_trials(out)] == [0, 1, 2]
    missing = CliRunner().invoke(app, ["curate", str(tmp_path / "nope"), str(out)])
    assert missing.exit_code != 0 and "run `ste explore` first" in missing.output
    same = CliRunner().invoke(app, ["curate", str(src), str(src.parent)])
    assert same.exit_code != 0 and "OUT must differ from IN" in same.output
    no_model = CliRunner().invoke(
        app, ["curate", str(src), str(tmp_path / "o2"), "--paraphrase", "1"]
    )
    assert no_model.exit_code != 0 and "--model" in no_model.output
