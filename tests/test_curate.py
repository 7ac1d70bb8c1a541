"""Trial post-processing steps."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from langchain_ste.curate import dedupe, keep_successful, llm_filter, paraphrase
from langchain_ste.example_tools import convert_units
from langchain_ste.refine import export_descriptions, refine_tool_descriptions
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.trial import Step, Trial


def trial(i: int, query: str, success: bool = True, ok: bool = True, **kw: object) -> Trial:
    step = Step(tool="convert_units", args={"value": i}, call_id="c", output="x" if ok else "",
                status="ok" if ok else "error", error="boom" if not ok else None)
    return Trial(trial_id=f"convert_units/e000/t{i}", tools=["convert_units"], episode=0,
                 index=i, query=query, success=success, steps=[step],
                 messages=[{"type": "human", "data": {"content": query, "type": "human"}}],
                 **kw)  # type: ignore[arg-type]


def test_keep_successful_requires_clean_final_calls_and_signals() -> None:
    trials = [trial(0, "a"), trial(1, "b", success=False), trial(2, "c", ok=False),
              trial(3, "d", signals={"executed_ok": False})]
    assert [t.index for t in keep_successful(trials)] == [0, 3]
    assert [t.index for t in keep_successful(trials, require_clean=False)] == [0, 2, 3]
    assert [t.index for t in keep_successful(trials, require_signals=["executed_ok"])] == []


def test_dedupe_with_and_without_embeddings(embeddings) -> None:
    trials = [trial(0, "Convert 3 inches to cm"), trial(1, "convert 3 inches to CM!"),
              trial(2, "How many centimetres in 3 inches?"), trial(3, "5 kg in pounds")]
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


def test_refined_descriptions_are_copies() -> None:
    lessons = [trial(0, "a", lesson="Use upper-case C for Celsius."), trial(1, "b", ok=False)]
    writer = ScriptedChatModel(script=[AIMessage("Converts units; write C, F, K in capitals.")])
    [new] = refine_tool_descriptions([convert_units], lessons, writer)
    assert new.description == "Converts units; write C, F, K in capitals."
    assert convert_units.description.startswith("Convert a quantity")
    prompt = writer.calls[0]["messages"][0].text
    assert "Use upper-case C for Celsius." in prompt and "boom" in prompt
    untouched = refine_tool_descriptions([convert_units], [], writer)[0]
    assert untouched.description == convert_units.description
    assert export_descriptions([new]) == {"convert_units": new.description}
