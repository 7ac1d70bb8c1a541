"""Benchmarks the evaluation runner plays: BFCL multi-turn (optional) and the example tools."""

from __future__ import annotations

from langchain_ste.evaluate.benchmarks.base import (
    CheckResult,
    EvalCase,
    RecordedCall,
    ToolEnvironment,
)

__all__ = ["CheckResult", "EvalCase", "RecordedCall", "ToolEnvironment"]
