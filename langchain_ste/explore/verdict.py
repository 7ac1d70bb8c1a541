"""Execution-grounded verdicts: signals about a trial that a weak reflector cannot fake.

A small model judging its own trial says "yes" to almost anything. These signals come from what
really happened: the calls parsed, a tool ran without error, its result was non-empty, the final
answer uses the result. `combine` turns them (with the model's own verdict) into the trial's
success according to a mode.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from langchain_ste.trajectory import Step

VerdictMode = Literal["model", "grounded"]
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[a-zA-Z][a-zA-Z\-]{3,}")
_STOPWORDS = {
    "with",
    "that",
    "this",
    "from",
    "your",
    "have",
    "will",
    "result",
    "error",
    "there",
    "their",
    "about",
    "which",
    "would",
    "could",
    "should",
    "answer",
}


def _numbers(text: str) -> set[float]:
    return {round(float(n), 2) for n in _NUMBER.findall(text)}


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _STOPWORDS


def answer_uses_result(answer: str, outputs: Sequence[str]) -> bool:
    """Whether the answer shares a number or a salient word with a tool result.

    Example:
        >>> answer_uses_result("3 inches are 7.62 cm.", ["3 in = 7.62 cm"])
        True
        >>> answer_uses_result("I don't know.", ["3 in = 7.62 cm"])
        False
    """
    if not answer.strip():
        return False
    nums, words = _numbers(answer), _words(answer)
    for out in outputs:
        if (_numbers(out) - {0.0}) & nums and len(_numbers(out) & nums) >= min(2, len(nums)):
            return True
        if _words(out) & words:
            return True
    return False


def signals(
    steps: Sequence[Step],
    final_answer: str,
    *,
    model_verdict: bool,
    targets: Sequence[str] = (),
) -> dict[str, bool]:
    """Compute the grounded signals of a trial.

    Example:
        >>> s = Step(tool="add", args={"a": 1}, call_id="c", output="3")
        >>> signals([s], "It is 3", model_verdict=True, targets=["add"])["answer_uses_result"]
        True
    """
    ok = [s for s in steps if s.ok]
    outputs = [s.output for s in ok if s.output.strip()]
    return {
        "parsed": not any(s.error_kind in ("parse_error", "unknown_tool") for s in steps),
        "executed_ok": bool(ok),
        "called_target": any(s.tool in targets for s in ok) if targets else bool(ok),
        "nonempty_result": bool(outputs),
        "answer_uses_result": answer_uses_result(final_answer, outputs),
        "model_verdict": model_verdict,
    }


def combine(sig: dict[str, bool], mode: VerdictMode = "grounded") -> bool:
    """The trial's success: the model's verdict alone (``"model"``), or grounded in execution:
    a target tool ran without error and returned something, and the model said yes or the
    answer visibly uses the result (``"grounded"``).

    Example:
        >>> sig = {"executed_ok": True, "called_target": True, "nonempty_result": True,
        ...        "answer_uses_result": False, "model_verdict": True}
        >>> combine(sig, "grounded"), combine({**sig, "called_target": False}, "grounded")
        (True, False)
    """
    if mode == "model":
        return bool(sig.get("model_verdict"))
    return bool(
        sig.get("executed_ok")
        and sig.get("called_target")
        and sig.get("nonempty_result")
        and (sig.get("model_verdict") or sig.get("answer_uses_result"))
    )
