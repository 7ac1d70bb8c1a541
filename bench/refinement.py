"""Tool-description refinement, measured: the learner with the original vs the refined descriptions.

A writer model rewrites each demo tool's description from what an exploration memory learned (the
reflection lessons, the errors its calls raised and calls that worked:
`langchain_ste.exploit.refine.refine_tool_descriptions`); the learner then answers the 24
held-out demo questions with the refined descriptions, zero-shot and in context (`STEMiddleware`
with the demo's ``k`` and exemplar mode), next to the same two rows with the original
descriptions. The held-out questions and their checker are the demo's; only the descriptions the
learner reads change.

The original rows are taken from the demo run's report when ``--baseline`` names it (its
``baseline`` and ``ste-in-context`` rows: the same learner, questions and settings), else measured
here. Everything is kept under ``--out`` (``descriptions.json``, one folder per row), so a rerun
resumes: the descriptions are written once (delete ``descriptions.json`` to rewrite them) and a
row is scored again only if its descriptions or the memory's usable trials changed.

Usage::

    python bench/refinement.py --memory ste-demo/memory --baseline ste-demo/results.json \\
        --out bench/results/refinement
    python bench/refinement.py --memory /tmp/m --writer scripted --learner scripted \\
        --questions 2 --out /tmp/r
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from langchain_ste.cli.demo import DEMO_SETTINGS, LOCAL_OPTIONS
from langchain_ste.evaluate.benchmarks.examples import question_cases
from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.evaluate.pipeline import correct_rate
from langchain_ste.evaluate.reuse import trials_digest
from langchain_ste.models import DEFAULT_EXPLORER_SPEC, DEFAULT_LEARNER_SPEC
from langchain_ste.tools.demo import DEMO_QUESTIONS, demo_tools
from langchain_ste.trial import is_usable

ROWS = ("zero-shot", "zero-shot-refined", "ste-in-context", "ste-in-context-refined")
FROM_DEMO = {"zero-shot": "baseline", "ste-in-context": "ste-in-context"}
"""Rows that the demo run's report already holds, by the name they have there."""


def say(message: str) -> None:
    print(message, flush=True)


def model(spec: str, **options: Any) -> BaseChatModel:
    if spec == "scripted":
        from langchain_ste.testing import ScriptedExplorer

        return ScriptedExplorer()
    if spec == "scripted-writer":
        from langchain_ste.testing import ScriptedChatModel

        return ScriptedChatModel(script=["Refined: pass every argument in the format shown."])
    from langchain_ste.models import load_chat_model

    local = spec == "local" or spec.startswith("local:")
    return load_chat_model(spec, **({**LOCAL_OPTIONS, **options} if local else {}))


def descriptions(memory: Any, writer: BaseChatModel, out: Path) -> dict[str, str]:
    """The refined descriptions (written once, then read back from ``descriptions.json``)."""
    from langchain_ste.exploit.refine import export_descriptions, refine_tool_descriptions

    path = out / "descriptions.json"
    if path.is_file():
        return dict(json.loads(path.read_text(encoding="utf-8"))["refined"])
    began = time.perf_counter()
    refined = export_descriptions(refine_tool_descriptions(demo_tools(), memory, writer))
    record = {
        "writer": getattr(writer, "model_name", type(writer).__name__),
        "seconds": round(time.perf_counter() - began, 1),
        "original": {t.name: t.description for t in demo_tools()},
        "refined": refined,
    }
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    return refined


def tools_with(described: dict[str, str] | None) -> list[BaseTool]:
    """The demo tools, with ``described`` descriptions applied (None: the originals)."""
    from langchain_ste.exploit.refine import apply_descriptions

    return apply_descriptions(demo_tools(), described) if described else demo_tools()


def score(
    row: str,
    learner: BaseChatModel,
    memory: Any,
    described: dict[str, str] | None,
    out: Path,
    *,
    questions: int | None,
    key: dict[str, Any],
) -> list[EntryResult]:
    """One row, scored (or read back when scored before with the same ``key``)."""
    from langchain_ste.evaluate.report import scored_before, write_report
    from langchain_ste.evaluate.runner import run_benchmark
    from langchain_ste.exploit import STEMiddleware

    path = out / row / "results.json"
    earlier = scored_before(path, key)
    if earlier is not None:
        return earlier
    cases = question_cases(
        [dict(q) for q in DEMO_QUESTIONS],
        lambda: tools_with(described),
        category="demo",
        prefix="demo",
        limit=questions,
    )
    middleware = []
    if row.startswith("ste-in-context"):
        middleware = [STEMiddleware(memory, k=DEMO_SETTINGS.k, mode=DEMO_SETTINGS.exemplar_mode)]
    say(f"{row}: scoring {len(cases)} questions")
    began = time.perf_counter()
    results = run_benchmark(
        learner,
        cases,
        middleware=middleware,
        condition=row,
        benchmark="demo",
        max_steps=DEMO_SETTINGS.max_steps,
        max_concurrency=DEMO_SETTINGS.max_concurrency,
    )
    seconds = round(time.perf_counter() - began, 1)
    write_report({row: results}, path.parent, title=row, meta={"key": key, "seconds": seconds})
    return results


def from_demo(report: Path, row: str, questions: int) -> list[EntryResult] | None:
    """The demo report's row of that name, if it answered the same number of questions."""
    from langchain_ste.evaluate.report import load_results

    data = json.loads(report.read_text(encoding="utf-8"))
    if (data.get("meta") or {}).get("questions") != questions:
        return None
    return load_results(report).get(FROM_DEMO[row])


def table(rows: dict[str, dict[str, Any]], record: dict[str, Any]) -> str:
    lines = [
        "# Tool-description refinement on the demo tools (learner, 24 held-out questions)",
        "",
        f"Descriptions rewritten by `{record['writer']}` from the exploration memory's lessons, "
        "errors and working calls.",
        "",
        "| learner | original descriptions | refined descriptions | change |",
        "| --- | --: | --: | --: |",
    ]
    for plain in ("zero-shot", "ste-in-context"):
        a, b = rows.get(plain), rows.get(f"{plain}-refined")
        if a is None or b is None:
            continue
        lines.append(
            f"| {plain} | {100 * a['correct_rate']:.1f}% | {100 * b['correct_rate']:.1f}% | "
            f"{100 * (b['correct_rate'] - a['correct_rate']):+.1f} |"
        )
    lines += ["", "| tool | original | refined |", "| --- | --- | --- |"]
    for name, text in record["refined"].items():
        original = record["original"].get(name, "")
        lines.append(f"| {name} | {original} | {text} |".replace("\n", " "))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", type=Path, required=True, help="an exploration memory")
    parser.add_argument("--baseline", type=Path, default=None, help="the demo's results.json")
    parser.add_argument("--writer", default=DEFAULT_EXPLORER_SPEC)
    parser.add_argument("--learner", default=DEFAULT_LEARNER_SPEC)
    parser.add_argument("--questions", type=int, default=None, help="held-out questions (all)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/refinement"))
    args = parser.parse_args(argv)
    from langchain_ste.memory.chroma import ExplorationMemory

    memory = ExplorationMemory(args.memory, create=False)
    args.out.mkdir(parents=True, exist_ok=True)
    writer = model("scripted-writer" if args.writer == "scripted" else args.writer)
    refined = descriptions(memory, writer, args.out)
    learner = model(args.learner, protocol="native")
    count = len(DEMO_QUESTIONS) if args.questions is None else min(args.questions, 24)
    usable = trials_digest([t for t in memory.trials() if is_usable(t)])
    rows: dict[str, dict[str, Any]] = {}
    for row in ROWS:
        described = refined if row.endswith("-refined") else None
        results = None
        if row in FROM_DEMO and args.baseline is not None:
            results = from_demo(args.baseline, row, count)
            if results is not None:
                say(f"{row}: from {args.baseline}")
        if results is None:
            digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()
            key = {
                "learner": getattr(learner, "model_name", type(learner).__name__),
                "questions": count,
                "descriptions": digest[:16],
                "usable_trials": usable if row.startswith("ste-") else None,
            }
            results = score(
                row, learner, memory, described, args.out, questions=args.questions, key=key
            )
        rows[row] = {"row": row, "correct_rate": correct_rate(results), "entries": len(results)}
        say(f"{row}: {100 * rows[row]['correct_rate']:.1f}% correct")
    record = json.loads((args.out / "descriptions.json").read_text(encoding="utf-8"))
    report = {"learner": args.learner, "writer": record["writer"], "memory": str(args.memory),
              "baseline": str(args.baseline) if args.baseline else None, "rows": rows}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (args.out / "results.md").write_text(table(rows, record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
