"""Evaluation: play an agent over a benchmark, score it, and report before / after STE."""

from __future__ import annotations

from langchain_ste.evaluate.metrics import (
    ALL,
    EntryResult,
    Scores,
    TurnResult,
    aggregate,
    args_match,
    is_correct,
    is_tool_match,
    is_well_formed,
    score,
)
from langchain_ste.evaluate.runner import (
    BENCHMARKS,
    TurnStepLimit,
    load_cases,
    play_case,
    run_benchmark,
)

__all__ = [
    "ALL",
    "BENCHMARKS",
    "EntryResult",
    "Scores",
    "TurnResult",
    "TurnStepLimit",
    "aggregate",
    "args_match",
    "is_correct",
    "is_tool_match",
    "is_well_formed",
    "load_cases",
    "play_case",
    "run_benchmark",
    "score",
]
