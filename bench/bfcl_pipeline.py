"""The whole STE pipeline on BFCL for one model: baseline -> explore -> in-context -> fine-tuned.

1. **baseline**: the model plays the held-out BFCL entries as is;
2. **explore**: STE explores the functions of the API classes those entries involve, on the
   exploration scenario (never the test questions), into an `ExplorationMemory`;
3. **ste-in-context**: the same entries with `STEMiddleware` retrieving explored trials as
   few-shot exemplars;
4. **ste-finetuned**: a LoRA adapter trained on the successful trials (embedded model only).

One results table comes out (``results.md`` / ``.json`` / ``.png`` in ``--out``). A part whose
module has not landed (or whose optional packages are missing) is skipped with a message.

Runs (seed 0):

* embedded model on CPU, ``--quick``: the BFCL single-turn view of the first 2 entries of the
  fixed CPU subset
  (`langchain_ste.evaluate.benchmarks.bfcl.cpu_subset`, 6 entries of at most 3 turns),
  1 episode x 1 trial for a seeded sample of 8 of the involved functions, 20 LoRA steps;
  budget ~10 minutes on 2 free cores (a BFCL single-turn entry took 3-170 s to evaluate
  here: the prompt renders every function of the involved classes);
* embedded model, default: the 6-entry CPU subset, multi-turn view (``--benchmark`` for others);
* a real model server (``--model NAME --base-url URL``): all 200 ``multi_turn_base`` entries,
  ``--subset all``; the fine-tuned condition is skipped (serve your own fine-tuned model).

Usage::

    python bench/bfcl_pipeline.py --model local --quick --out bench/results/bfcl-quick
    python bench/bfcl_pipeline.py --model qwen2.5-7b --base-url http://localhost:8000/v1 \\
        --subset all --out bench/results/bfcl-qwen
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from langchain_ste.evaluate.benchmarks.base import EvalCase
from langchain_ste.evaluate.metrics import ALL, EntryResult, aggregate
from langchain_ste.evaluate.report import write_report
from langchain_ste.evaluate.runner import load_cases, run_benchmark

log = logging.getLogger("bfcl_pipeline")


def say(message: str) -> None:
    print(message, flush=True)


def exploration_tools(
    benchmark: str, cases: Sequence[EvalCase], *, max_tools: int | None = None, seed: int = 0
) -> list[BaseTool]:
    """The tools to explore: the functions of the classes the test entries involve, or a seeded
    sample of ``max_tools`` of them (chosen without looking at the ground truth)."""
    if benchmark == "examples":
        from langchain_ste.tools.examples import example_tools

        return example_tools()
    from langchain_ste.evaluate.benchmarks.bfcl import bfcl_exploration_tools, load_entries

    entries = load_entries(ids=[c.id for c in cases])
    classes = sorted({name for e in entries for name in e.involved_classes})
    tools = bfcl_exploration_tools(classes)
    if max_tools is not None and len(tools) > max_tools:
        tools = sorted(random.Random(seed).sample(tools, max_tools), key=lambda t: t.name)
    say(f"exploring {len(tools)} functions of {', '.join(classes)}")
    return tools


def run_pipeline(
    model: BaseChatModel,
    *,
    benchmark: str,
    cases: Sequence[EvalCase],
    out: Path,
    local: bool,
    episodes: int,
    trials: int,
    explore_steps: int,
    eval_steps: int,
    lora_steps: int,
    max_tools: int | None = None,
    k: int = 3,
    seed: int = 0,
    on_condition: Any = None,
    stats: dict[str, Any] | None = None,
    explorers: Sequence[str] = ("model",),
) -> dict[str, list[EntryResult]]:
    """Run every available condition and return the results by condition.

    ``explorers``: ``"model"`` explores with the model under test (STE proper); ``"scripted"``
    explores with `ScriptedExplorer` (schema-derived arguments, always-yes verdicts), a
    diagnostic that is *not* STE: it shows whether the model can use good trials at all, apart
    from whether it can find them (conditions suffixed ``[scripted explorer]``).

    ``on_condition(runs)`` is called after each condition (the report is rewritten then, so an
    interrupted run keeps what it measured). ``stats`` receives the exploration's counts.
    """
    stats = {} if stats is None else stats
    runs: dict[str, list[EntryResult]] = {}

    def evaluate(condition: str, chat_model: BaseChatModel, middleware: Sequence[Any] = ()) -> None:
        started = time.perf_counter()
        runs[condition] = run_benchmark(
            chat_model,
            cases,
            middleware=middleware,
            condition=condition,
            benchmark=benchmark,
            max_steps=eval_steps,
            seed=seed,
            on_result=lambda r: say(
                f"  {condition} {r.id}: {'error' if r.error else r.correct} ({r.seconds:.0f} s)"
            ),
        )
        if on_condition is not None:
            on_condition(runs)
        rates = aggregate(runs[condition])[ALL].rates()
        say(
            f"{condition}: correct {100 * rates['correct']:.1f}% "
            f"({time.perf_counter() - started:.0f} s)"
        )

    evaluate("baseline", model)

    tools = exploration_tools(benchmark, cases, max_tools=max_tools, seed=seed)
    for explorer in explorers:
        explore_and_exploit(
            model,
            tools,
            explorer=explorer,
            evaluate=evaluate,
            out=out,
            local=local,
            episodes=episodes,
            trials=trials,
            explore_steps=explore_steps,
            lora_steps=lora_steps,
            k=k,
            seed=seed,
            stats=stats,
        )
    return runs


def explore_and_exploit(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    *,
    explorer: str,
    evaluate: Any,
    out: Path,
    local: bool,
    episodes: int,
    trials: int,
    explore_steps: int,
    lora_steps: int,
    k: int,
    seed: int,
    stats: dict[str, Any],
) -> None:
    """Explore ``tools`` with ``explorer``; evaluate in context and (embedded model) fine-tuned."""
    try:
        from langchain_ste.explore import explore
        from langchain_ste.explore.settings import resolve_settings
        from langchain_ste.memory.chroma import ExplorationMemory
    except ImportError as exc:
        say(f"skipping exploration and both STE conditions: {exc}")
        return
    tag, prefix, explorer_model, preset = "", "", model, None
    if explorer == "scripted":
        from langchain_ste.testing import ScriptedExplorer

        tag, prefix, explorer_model, preset = (
            " [scripted explorer]",
            "scripted_",
            ScriptedExplorer(),
            "paper",
        )
    memory = ExplorationMemory(out / f"{prefix}memory")
    started = time.perf_counter()
    explored = explore(
        explorer_model,
        tools,
        memory=memory,
        settings=resolve_settings(
            explorer_model,
            preset,
            {
                "episodes_per_tool": episodes,
                "trials_per_episode": trials,
                "max_steps": explore_steps,
            },
        ),
    )
    wins = sum(t.success for t in explored)
    stats.update(
        {
            f"{prefix}explored_tools": len(tools),
            f"{prefix}explored_trials": len(explored),
            f"{prefix}successful_trials": wins,
            f"{prefix}well_formed_trials": sum(bool(t.signals.get("parsed")) for t in explored),
            f"{prefix}explore_seconds": round(time.perf_counter() - started),
        }
    )
    say(
        f"explored {len(tools)} tools with {explorer}: {len(explored)} trials, {wins} successful "
        f"({time.perf_counter() - started:.0f} s)"
    )

    try:
        from langchain_ste.exploit import STEMiddleware
    except ImportError as exc:
        say(f"skipping ste-in-context: {exc}")
    else:
        evaluate(f"ste-in-context{tag}", model, [STEMiddleware(memory, k=k)])

    if not local:
        say("skipping ste-finetuned: LoRA training here is for the embedded model")
        return
    try:
        from langchain_ste.finetune import build_sft_records
        from langchain_ste.finetune.lora import train_lora
        from langchain_ste.models import load_chat_model
    except ImportError as exc:
        say(f"skipping ste-finetuned: {exc}")
        return
    try:
        records, _ = build_sft_records(explored, tools, seed=seed)
    except ValueError as exc:
        say(f"skipping ste-finetuned{tag}: {exc}")
        return
    adapter = out / f"{prefix}adapter"
    report = train_lora(
        records, out_dir=adapter, base="local", max_steps=lora_steps, seed=seed, progress=False
    )
    curve = report.loss_curve or [float("nan")]
    say(
        f"trained a LoRA adapter on {len(records)} records, {report.steps} steps, loss "
        f"{curve[0]:.2f} -> {curve[-1]:.2f} ({report.seconds:.0f} s) -> {adapter}"
    )
    evaluate(f"ste-finetuned{tag}", load_chat_model(f"local+adapter={adapter}"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default="local", help="local, provider:model or served name")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server")
    parser.add_argument(
        "--benchmark",
        default=None,
        choices=["bfcl-multi-turn", "bfcl-single-turn", "examples"],
        help="default: bfcl-single-turn with --quick, else bfcl-multi-turn",
    )
    parser.add_argument(
        "--subset",
        default=None,
        choices=["all", "cpu"],
        help="default: cpu for the embedded model, all for servers",
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="the ~10 minute CPU run")
    parser.add_argument("--episodes", type=int, default=None, help="episodes per tool")
    parser.add_argument("--trials", type=int, default=None, help="trials per episode")
    parser.add_argument("--max-steps", type=int, default=4, help="model calls per user turn")
    parser.add_argument("--lora-steps", type=int, default=None)
    parser.add_argument(
        "--max-tools",
        type=int,
        default=None,
        help="explore a seeded sample of this many functions (quick: 8)",
    )
    parser.add_argument(
        "--explorer",
        default="model",
        choices=["model", "scripted", "both"],
        help="who explores: the model (STE), a scripted schema explorer (diagnostic), or both",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/bfcl"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from langchain_ste.evaluate.benchmarks.bfcl import BFCLUnavailableError
    from langchain_ste.models import load_chat_model

    local = args.model == "local"
    benchmark = args.benchmark or ("bfcl-single-turn" if args.quick else "bfcl-multi-turn")
    subset = args.subset or ("cpu" if local else "all")
    limit = args.limit if args.limit is not None else (2 if args.quick else None)
    try:
        cases = load_cases(benchmark, limit=limit, subset=subset, seed=args.seed)
    except BFCLUnavailableError as exc:
        say(f"error: {exc}")
        return 2
    model = load_chat_model(args.model, base_url=args.base_url)
    small = args.quick or local
    settings: dict[str, Any] = {
        "episodes": args.episodes or (1 if small else 3),
        "trials": args.trials or (1 if args.quick else 2),
        "explore_steps": 2 if small else 4,
        "lora_steps": args.lora_steps or (20 if args.quick else 60),
        "max_tools": args.max_tools or (8 if args.quick else None),
    }
    say(f"{benchmark} ({subset}, {len(cases)} entries) with {args.model}: {settings}")
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    def meta() -> dict[str, Any]:
        return {
            "benchmark": benchmark,
            "model": args.model,
            "subset": subset,
            "entries": len(cases),
            "seed": args.seed,
            "max_steps": args.max_steps,
            **settings,
            **stats,
            "seconds": round(time.perf_counter() - started),
            "command": "python bench/bfcl_pipeline.py " + " ".join(sys.argv[1:]),
        }

    def save(runs: dict[str, list[EntryResult]]) -> dict[str, Path]:
        return write_report(runs, args.out, title=f"STE on {benchmark}: {args.model}", meta=meta())

    stats: dict[str, Any] = {}
    runs = run_pipeline(
        model,
        on_condition=save,
        stats=stats,
        explorers=["model", "scripted"] if args.explorer == "both" else [args.explorer],
        benchmark=benchmark,
        cases=cases,
        out=args.out,
        local=local,
        eval_steps=args.max_steps,
        seed=args.seed,
        **settings,
    )
    paths = save(runs)
    say(paths["md"].read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
