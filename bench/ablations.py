"""The STE paper's ablation table on the demo tools: which part of exploration matters?

The explorer explores the help-desk tools once in full and once with each part switched off
(`langchain_ste.explore.settings.ABLATIONS`: no execution feedback, no short-term memory, no
long-term memory, no reflection), all at the demo's budget (`DEMO_EXPLORE`). Each exploration is
then scored by the learner in context (`STEMiddleware`, exemplars in the system prompt) on the
24 held-out demo questions, next to the learner's zero-shot baseline. The paper's figures are
Llama-2-7B *fine-tuned* on ToolBench (correct %): full 73.3, without execution feedback 50.5,
without short-term memory 53.9, without long-term memory 59.7, without reflection 60.1.

Every condition has its own folder under ``--out`` (``memory/`` and ``results.json``); a rerun
resumes the explorations by trial id and skips conditions already scored on the same trials, so
the table can be filled over several sittings. ``results.md`` / ``results.json`` sum it up.

Usage::

    python bench/ablations.py --out bench/results/ablations
    python bench/ablations.py --only full no-reflection --out bench/results/ablations
    python bench/ablations.py --explorer scripted --learner scripted --questions 2 --out /tmp/a
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_ste.cli.demo import DEMO_EXPLORE, DEMO_SETTINGS, LOCAL_OPTIONS
from langchain_ste.evaluate.benchmarks.examples import demo_cases
from langchain_ste.evaluate.pipeline import correct_rate
from langchain_ste.evaluate.report import scored_before
from langchain_ste.evaluate.reuse import trials_digest
from langchain_ste.explore.settings import ABLATIONS, ExploreSettings
from langchain_ste.models import DEFAULT_EXPLORER_SPEC, DEFAULT_LEARNER_SPEC
from langchain_ste.trial import is_usable

CONDITIONS = ("full", *ABLATIONS)
PAPER = {  # Llama-2-7B fine-tuned, ToolBench, correct % (STE paper, Table 4)
    "full": 73.3,
    "no-execution-feedback": 50.5,
    "no-short-term-memory": 53.9,
    "no-long-term-memory": 59.7,
    "no-reflection": 60.1,
}


def say(message: str) -> None:
    print(message, flush=True)


def model(spec: str, **options: Any) -> BaseChatModel:
    if spec == "scripted":
        from langchain_ste.testing import ScriptedExplorer

        return ScriptedExplorer()
    from langchain_ste.models import load_chat_model

    local = spec == "local" or spec.startswith("local:")
    return load_chat_model(spec, **({**LOCAL_OPTIONS, **options} if local else {}))


def settings_for(condition: str, base: ExploreSettings = DEMO_EXPLORE) -> ExploreSettings:
    """The exploration settings of one condition (``full`` is ``base`` itself)."""
    return replace(base, **ABLATIONS.get(condition, {}))


def run_condition(
    condition: str,
    explorer: BaseChatModel,
    learner: BaseChatModel,
    out: Path,
    *,
    cases: list[Any],
    k: int,
    max_steps: int,
) -> dict[str, Any]:
    """Explore (resumed) under one condition, then score the learner in context."""
    from langchain_ste.evaluate.report import write_report
    from langchain_ste.evaluate.runner import run_benchmark
    from langchain_ste.exploit import STEMiddleware
    from langchain_ste.explore import explore
    from langchain_ste.memory.chroma import ExplorationMemory
    from langchain_ste.tools.demo import demo_tools

    folder = out / condition
    memory = ExplorationMemory(folder / "memory")
    settings = settings_for(condition)
    began = time.perf_counter()
    trials = explore(explorer, demo_tools(), memory=memory, settings=settings)
    explore_s = time.perf_counter() - began
    emulated = not settings.execution_feedback  # its trials' results were invented by a model
    usable = [t for t in trials if is_usable(t, allow_emulated=emulated)]
    key = {
        "explorer": getattr(explorer, "model_name", type(explorer).__name__),
        "learner": getattr(learner, "model_name", type(learner).__name__),
        "settings": {k2: v for k2, v in asdict(settings).items() if k2 != "retry"},
        "trials": len(trials),
        "usable_digest": trials_digest(usable),  # the same count explored again is other data
        "questions": len(cases),
        "k": k,
        "max_steps": max_steps,
    }
    results = scored_before(folder / "results.json", key)
    score_s = 0.0
    if results is None:
        say(f"{condition}: {len(trials)} trials, {len(usable)} usable; scoring the learner")
        began = time.perf_counter()
        middleware = STEMiddleware(memory, k=k, mode="system", allow_emulated=emulated)
        results = run_benchmark(
            learner,
            cases,
            middleware=[middleware],
            condition=condition,
            benchmark="demo",
            max_steps=max_steps,
        )
        score_s = time.perf_counter() - began
        write_report(
            {condition: results},
            folder,
            title=f"ablation: {condition}",
            meta={"key": key, "seconds": {"explore": explore_s, "score": score_s}},
        )
    row = {
        "condition": condition,
        "trials": len(trials),
        "usable_trials": len(usable),
        "correct_rate": correct_rate(results),
        "paper_correct": PAPER.get(condition),
    }
    (folder / "row.json").write_text(json.dumps(row), encoding="utf-8")
    return row


def baseline(learner: BaseChatModel, out: Path, *, cases: list[Any], max_steps: int) -> float:
    """The learner's zero-shot score (native tool calls, its best zero-shot format on the demo)."""
    from langchain_ste.evaluate.report import write_report
    from langchain_ste.evaluate.runner import run_benchmark

    name = getattr(learner, "model_name", "")
    key = {"learner": name, "questions": len(cases), "max_steps": max_steps}
    path = out / "baseline" / "results.json"
    results = scored_before(path, key)
    if results is None:
        results = run_benchmark(
            learner, cases, condition="baseline", benchmark="demo", max_steps=max_steps
        )
        write_report({"baseline": results}, path.parent, title="baseline", meta={"key": key})
    return correct_rate(results)


def summary(rows: list[dict[str, Any]], base: float) -> str:
    full = next((r["correct_rate"] for r in rows if r["condition"] == "full"), None)
    lines = [
        "# STE ablations on the demo tools (learner in context)",
        "",
        f"Learner zero-shot baseline: **{100 * base:.1f}%** correct.",
        "",
        "| exploration | trials | usable | correct % | vs full | paper (Llama-2-7B FT) |",
        "| --- | --: | --: | --: | --: | --: |",
    ]
    for r in rows:
        delta = "" if full is None else f"{100 * (r['correct_rate'] - full):+.1f}"
        paper = "" if r["paper_correct"] is None else f"{r['paper_correct']:.1f}"
        lines.append(
            f"| {r['condition']} | {r['trials']} | {r['usable_trials']} | "
            f"{100 * r['correct_rate']:.1f} | {delta} | {paper} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/ablations"))
    parser.add_argument("--explorer", default=DEFAULT_EXPLORER_SPEC)
    parser.add_argument("--learner", default=DEFAULT_LEARNER_SPEC)
    parser.add_argument("--only", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    parser.add_argument("--questions", type=int, default=None, help="held-out questions (all)")
    args = parser.parse_args(argv)
    explorer = model(args.explorer)
    learner = model(args.learner, protocol="native")
    cases = demo_cases(limit=args.questions)
    k, max_steps = DEMO_SETTINGS.k, DEMO_SETTINGS.max_steps
    args.out.mkdir(parents=True, exist_ok=True)
    base = baseline(learner, args.out, cases=cases, max_steps=max_steps)
    say(f"baseline: {100 * base:.1f}% correct")
    for condition in args.only:
        row = run_condition(
            condition, explorer, learner, args.out, cases=cases, k=k, max_steps=max_steps
        )
        say(f"{condition}: {100 * row['correct_rate']:.1f}% correct")
        rows = [  # every condition scored so far, in the table's order
            json.loads((args.out / c / "row.json").read_text(encoding="utf-8"))
            for c in CONDITIONS
            if (args.out / c / "row.json").is_file()
        ]
        report = {"baseline_correct_rate": base, "rows": rows, "explorer": args.explorer,
                  "learner": args.learner, "questions": len(cases)}  # fmt: skip
        (args.out / "results.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        (args.out / "results.md").write_text(summary(rows, base), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
