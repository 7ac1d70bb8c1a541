"""Benchmarks on held-out questions with known calls: the demo's help desk and the example tools.

They need nothing optional, so the demo can show before / after STE without BFCL. A question is
answered correctly when every call it expects was made, with matching arguments (numbers within a
tolerance, strings ignoring case; see `langchain_ste.evaluate.metrics.args_match`), whatever else
the agent called on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.tools import BaseTool

from langchain_ste.evaluate.benchmarks.base import (
    CallsPerTurn,
    CheckResult,
    EvalCase,
    ToolEnvironment,
)
from langchain_ste.evaluate.metrics import call_matches
from langchain_ste.tools.demo import DEMO_QUESTIONS, demo_tools
from langchain_ste.tools.examples import HELD_OUT_QUESTIONS, example_tools

CATEGORY = "example_tools"
DEMO_CATEGORY = "help_desk"


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
    questions = [
        {"question": q["question"], "calls": [{"tool": q["tool"], "args": q["args"]}]}
        for q in HELD_OUT_QUESTIONS
    ]
    return question_cases(
        questions, example_tools, category=CATEGORY, prefix="examples", limit=limit
    )


def demo_cases(*, limit: int | None = None) -> list[EvalCase]:
    """The demo's 24 held-out help-desk questions (`langchain_ste.tools.demo.DEMO_QUESTIONS`).

    Example:
        >>> case = demo_cases()[2]
        >>> case.expected
        [['find_customer', 'get_order']]
        >>> case.check([[{"name": "get_order", "args": {"order_id": "ORD-88240"}}]]).reason
        "expected find_customer with {'email': 'ana.silva@example.com'}"
    """
    questions = [dict(q) for q in DEMO_QUESTIONS]
    return question_cases(questions, demo_tools, category=DEMO_CATEGORY, prefix="demo", limit=limit)


def question_cases(
    questions: Sequence[Mapping[str, Any]],
    tools: Callable[[], list[BaseTool]],
    *,
    category: str,
    prefix: str,
    limit: int | None = None,
) -> list[EvalCase]:
    """One single-turn `EvalCase` per ``{"question": str, "calls": [{"tool", "args"}]}``."""
    chosen = list(questions) if limit is None else list(questions)[: max(limit, 0)]
    return [_case(f"{prefix}_{i}", q, tools, category) for i, q in enumerate(chosen)]


def _case(
    case_id: str,
    question: Mapping[str, Any],
    tools: Callable[[], list[BaseTool]],
    category: str,
) -> EvalCase:
    expected = list(question["calls"])

    def check(calls: CallsPerTurn) -> CheckResult:
        made = [c for turn in calls for c in turn]
        for call in expected:
            if not call_matches(made, call["tool"], call["args"]):
                if not made:
                    return CheckResult(correct=False, reason="no tool call reached a tool")
                return CheckResult(
                    correct=False,
                    reason=f"expected {call['tool']} with {call['args']}",
                    detail={"expected": {"name": call["tool"], "args": dict(call["args"])}},
                )
        return CheckResult(correct=True)

    return EvalCase(
        id=case_id,
        category=category,
        turns=[str(question["question"])],
        expected=[[c["tool"] for c in expected]],
        environment=lambda: ToolEnvironment.wrap(tools()),
        check=check,
    )
