"""Execution-grounded verdict signals."""

from __future__ import annotations

from langchain_ste.explore.verdict import answer_uses_result, combine, signals
from langchain_ste.trajectory import Step


def step(
    tool: str = "convert_units",
    output: str = "3 in = 7.62 cm",
    ok: bool = True,
    kind: str | None = None,
) -> Step:
    return Step(
        tool=tool,
        args={},
        call_id="c",
        output=output if ok else "",
        status="ok" if ok else "error",
        error_kind=kind,
    )  # type: ignore[arg-type]


def test_signals_from_a_clean_trial() -> None:
    sig = signals([step()], "That is 7.62 cm.", model_verdict=False, targets=["convert_units"])
    assert sig == {
        "parsed": True,
        "executed_ok": True,
        "called_target": True,
        "nonempty_result": True,
        "answer_uses_result": True,
        "model_verdict": False,
    }
    assert combine(sig, "grounded") and not combine(sig, "model")


def test_weak_reflector_cannot_fake_success() -> None:
    failed = signals(
        [step(ok=False, kind="exception")], "Done!", model_verdict=True, targets=["convert_units"]
    )
    assert not failed["executed_ok"] and combine(failed, "model")
    assert not combine(failed, "grounded")
    wrong_tool = signals(
        [step(tool="search_catalog")], "7.62", model_verdict=True, targets=["convert_units"]
    )
    assert not wrong_tool["called_target"] and not combine(wrong_tool, "grounded")
    unparsed = signals([step(ok=False, kind="parse_error")], "", model_verdict=True)
    assert not unparsed["parsed"]


def test_answer_uses_result() -> None:
    assert answer_uses_result("We have a yoga mat for $25.", ["A101 yoga mat (sports) $25.00"])
    assert not answer_uses_result("", ["anything"])
    assert not answer_uses_result("I cannot help.", ["A101 yoga mat (sports) $25.00"])
