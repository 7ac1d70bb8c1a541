"""A tiny benchmark on the example tools: `HELD_OUT_QUESTIONS`, one turn each.

It needs nothing optional, so the demo can show before / after STE without BFCL. A question is
answered correctly when the agent called the expected tool with matching arguments (numbers
within a tolerance, strings ignoring case; see `langchain_ste.evaluate.metrics.args_match`).
"""

from __future__ import annotations

from langchain_ste.evaluate.benchmarks.base import (
    CallsPerTurn,
    CheckResult,
    EvalCase,
    ToolEnvironment,
)
from langchain_ste.evaluate.metrics import call_matches
from langchain_ste.tools.examples import HELD_OUT_QUESTIONS, HeldOutQuestion, example_tools

CATEGORY = "example_tools"


def example_cases(*, limit: int | None = None) -> list[EvalCase]:
    """The held-out example-tool questions as `EvalCase`s.

    Example:
        >>> case = example_cases(limit=1)[0]
        >>> case.id, case.expected
        ('examples_0', [['convert_units']])
        >>> call = {"name": "convert_units", "args": {"value": 3.0, "from_unit": "in",
        ...                                           "to_unit": "cm"}}
        >>> case.check([[call]]).correct
        True
    """
    questions = HELD_OUT_QUESTIONS if limit is None else HELD_OUT_QUESTIONS[: max(limit, 0)]
    return [_case(i, q) for i, q in enumerate(questions)]


def _case(index: int, question: HeldOutQuestion) -> EvalCase:
    def check(calls: CallsPerTurn) -> CheckResult:
        made = [c for turn in calls for c in turn]
        if call_matches(made, question["tool"], question["args"]):
            return CheckResult(correct=True)
        if not made:
            return CheckResult(correct=False, reason="no tool call reached a tool")
        return CheckResult(
            correct=False,
            reason=f"expected {question['tool']} with {question['args']}",
            detail={"expected": {"name": question["tool"], "args": dict(question["args"])}},
        )

    return EvalCase(
        id=f"examples_{index}",
        category=CATEGORY,
        turns=[question["question"]],
        expected=[[question["tool"]]],
        environment=lambda: ToolEnvironment.wrap(example_tools()),
        check=check,
    )
