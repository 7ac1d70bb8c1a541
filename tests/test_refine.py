"""Tool descriptions refined from exploration notes: copies, grounded in the trials."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from langchain_ste.example_tools import convert_units, search_catalog
from langchain_ste.explore.store import ListStore
from langchain_ste.refine import (
    apply_descriptions,
    export_descriptions,
    refine_tool_descriptions,
    tool_notes,
)
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.trial import Step, Trial


def trial(i: int, *, ok: bool = True, success: bool = True, lesson: str = "") -> Trial:
    step = Step(
        tool="convert_units",
        args={"value": i, "from_unit": "c"},
        call_id="c",
        output=f"{i} C" if ok else "",
        status="ok" if ok else "error",
        error=None if ok else "unknown unit 'c'",
    )
    return Trial(
        trial_id=f"convert_units/e000/t{i}",
        tools=["convert_units"],
        episode=0,
        index=i,
        query=f"q{i}",
        steps=[step],
        success=success,
        lesson=lesson,
    )


def test_refined_descriptions_are_copies_written_from_the_notes() -> None:
    trials = [trial(0, lesson="Use upper-case C for Celsius."), trial(1, ok=False, success=False)]
    writer = ScriptedChatModel(script=[AIMessage("Description: Converts units; write C, F, K.")])
    new_convert, new_search = refine_tool_descriptions(
        [convert_units, search_catalog], trials, writer
    )
    assert new_convert.description == "Converts units; write C, F, K."  # label stripped
    assert new_convert is not convert_units and new_search is not search_catalog
    assert convert_units.description.startswith("Convert a quantity")  # original untouched
    assert new_search.description == search_catalog.description  # no trials: unchanged
    assert len(writer.calls) == 1  # the tool without trials cost no model call
    prompt = writer.calls[0]["messages"][0].text
    assert "Use upper-case C for Celsius." in prompt and "unknown unit 'c'" in prompt
    assert '"value": 0' in prompt  # a call that worked
    assert new_convert.invoke({"value": 1, "from_unit": "in", "to_unit": "cm"}) == (
        convert_units.invoke({"value": 1, "from_unit": "in", "to_unit": "cm"})
    )


def test_a_memory_works_and_failures_keep_the_description() -> None:
    memory = ListStore([trial(0, lesson="x")])
    failing = ScriptedChatModel(script=[RuntimeError("server down")])
    [kept] = refine_tool_descriptions([convert_units], memory, failing)
    assert kept.description == convert_units.description
    [empty] = refine_tool_descriptions([convert_units], memory, ScriptedChatModel(script=["  "]))
    assert empty.description == convert_units.description


def test_notes_are_bounded_and_deduplicated() -> None:
    trials = [trial(i, ok=False, lesson="same lesson") for i in range(10)]
    notes = tool_notes("convert_units", trials, max_lessons=3).splitlines()
    assert notes.count("- lesson: same lesson") == 1
    assert sum(line.startswith("- error") for line in notes) == 3
    assert tool_notes("search_catalog", trials) == ""


def test_export_and_apply_round_trip() -> None:
    saved = export_descriptions([convert_units.model_copy(update={"description": "Better."})])
    assert saved == {"convert_units": "Better."}
    new_convert, new_search = apply_descriptions([convert_units, search_catalog], saved)
    assert (new_convert.description, new_search.description) == (
        "Better.",
        search_catalog.description,
    )
    assert convert_units.description != "Better."
