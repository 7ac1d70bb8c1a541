"""STE on BFCL through the shared pipeline (`langchain_ste.evaluate.pipeline.run_pipeline`).

The explorer explores the functions of the API classes the held-out entries involve (on the
exploration scenario, never the test questions); the learner then plays the entries as
``baseline`` (its best zero-shot tool format), ``ste-in-context``, ``ste-fine-tuned`` (local
learners) and the explorer's zero-shot as a reference. One report comes out
(``results.md`` / ``.json`` / ``.png`` in ``--out``), rewritten after each condition; a rerun on
the same ``--out`` resumes exploration and reuses measured conditions.

``--explorer scripted`` explores with `ScriptedExplorer` (schema-derived arguments, always-yes
verdicts): a diagnostic, *not* STE, that shows whether the learner can use good trials at all.

One exploration serves several runs: ``--explore-entries N`` explores the functions of the first
N entries' classes (as the run with ``--limit N`` does), and ``--from RUN`` starts ``--out`` with
a copy of RUN's memory and adapter (never changing RUN), so a multi-turn run or another learner
reuses what the single-turn run explored; an adapter trained on other records or another base
is trained again.

Usage::

    python bench/bfcl_pipeline.py --quick --out bench/results/bfcl-quick
    python bench/bfcl_pipeline.py --benchmark bfcl-single-turn --subset all --limit 40 \\
        --max-tools 24 --out bench/results/bfcl-qwen/single-0.5b
    python bench/bfcl_pipeline.py --benchmark bfcl-multi-turn --limit 10 --explore-entries 40 \\
        --max-tools 24 --from bench/results/bfcl-qwen/single-0.5b \\
        --out bench/results/bfcl-qwen/multi-0.5b
    python bench/bfcl_pipeline.py --explorer qwen2.5-7b \\
        --explorer-base-url http://localhost:8000/v1 \\
        --learner qwen2.5-7b --learner-base-url http://localhost:8000/v1 --subset all
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool

from langchain_ste.evaluate.benchmarks.base import EvalCase
from langchain_ste.evaluate.pipeline import (
    PipelineSettings,
    correct_rate,
    lora_finetune,
    run_pipeline,
    spec_learner,
)
from langchain_ste.evaluate.runner import load_cases
from langchain_ste.explore.settings import ExploreSettings


def say(message: str) -> None:
    print(message, flush=True)


def exploration_tools(
    benchmark: str, cases: Sequence[EvalCase], *, max_tools: int | None = None, seed: int = 0
) -> list[BaseTool]:
    """The tools to explore: the functions of the classes the test entries involve, or a seeded
    sample of ``max_tools`` of them (chosen without looking at the ground truth)."""
    if benchmark in ("examples", "demo"):
        from langchain_ste.tools.demo import demo_tools
        from langchain_ste.tools.examples import example_tools

        return example_tools() if benchmark == "examples" else demo_tools()
    from langchain_ste.evaluate.benchmarks.bfcl import bfcl_exploration_tools, load_entries

    entries = load_entries(ids=[c.id for c in cases])
    classes = sorted({name for e in entries for name in e.involved_classes})
    tools = bfcl_exploration_tools(classes)
    if max_tools is not None and len(tools) > max_tools:
        tools = sorted(random.Random(seed).sample(tools, max_tools), key=lambda t: t.name)
    say(f"exploring {len(tools)} functions of {', '.join(classes)}")
    return tools


def start_from(run: Path, out: Path) -> list[str]:
    """Copy ``run``'s exploration memory and adapter into a new ``out`` (what is already in
    ``out`` is kept: a resumed run goes on with its own); returns what was copied.

    Example:
        >>> import tempfile
        >>> run, out = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        >>> (run / "memory").mkdir(); _ = (run / "memory" / "trials.jsonl").write_text("")
        >>> start_from(run, out), start_from(run, out), (run / "memory" / "trials.jsonl").exists()
        (['memory'], [], True)
    """
    import shutil

    if not (run / "memory").is_dir():
        raise FileNotFoundError(f"--from {run}: no memory folder (not a bfcl_pipeline run?)")
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    for part in ("memory", "adapter"):
        if (run / part).is_dir() and not (out / part).exists():
            shutil.copytree(run / part, out / part)
            copied.append(part)
    return copied


def default_subset(*, local: bool, limit: int | None) -> str:
    """BFCL entries to draw from without ``--subset``: the 6-entry CPU subset for a local learner
    unless ``--limit`` asks for entries (``--limit 40`` of the CPU subset would be 6), else all.

    Example:
        >>> default_subset(local=True, limit=None), default_subset(local=True, limit=40)
        ('cpu', 'all')
    """
    return "cpu" if local and limit is None else "all"


def _is_local(spec: str) -> bool:
    return spec == "local" or spec.startswith(("local:", "local+"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--explorer",
        default="local:qwen2.5-coder-1.5b",
        help="explorer spec, or 'scripted' for the diagnostic explorer",
    )
    parser.add_argument("--learner", default="local", help="learner spec")
    parser.add_argument("--explorer-base-url", default=None)
    parser.add_argument("--learner-base-url", default=None)
    parser.add_argument(
        "--benchmark",
        default=None,
        choices=["bfcl-multi-turn", "bfcl-single-turn", "demo", "examples"],
        help="default: bfcl-single-turn with --quick, else bfcl-multi-turn",
    )
    parser.add_argument("--category", default="base", help="BFCL multi-turn category (or all)")
    parser.add_argument(
        "--subset",
        default=None,
        choices=["all", "cpu"],
        help="default: cpu (6 short entries) for a local learner without --limit, else all",
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="a short CPU run")
    parser.add_argument("--episodes", type=int, default=None, help="episodes per tool")
    parser.add_argument("--trials", type=int, default=None, help="trials per episode")
    parser.add_argument("--max-steps", type=int, default=4, help="model calls per user turn")
    parser.add_argument("--lora-steps", type=int, default=None)
    parser.add_argument(
        "--max-length",
        type=int,
        default=4096,
        help="LoRA records longer than this many tokens are skipped (8 BFCL functions: ~1,200)",
    )
    parser.add_argument(
        "--act-tools",
        choices=["all", "targets"],
        default="all",
        help="tools bound while exploring: all explored ones, or the unit's own (short prompts: "
        "all 68 functions of 40 entries become explorable on CPU)",
    )
    parser.add_argument(
        "--record-tools",
        choices=["all", "trial"],
        default="all",
        help="tools rendered into each LoRA record: all explored ones, or the trial's own "
        "(24 BFCL functions: ~2,800 tokens a record, so 60 steps take hours on CPU)",
    )
    parser.add_argument("--no-finetune", action="store_true")
    parser.add_argument(
        "--max-tools",
        type=int,
        default=None,
        help="explore a seeded sample of this many functions (quick: 8)",
    )
    parser.add_argument(
        "--explore-entries",
        type=int,
        default=None,
        help="explore the classes of the first N entries (default: the entries scored)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=Path,
        default=None,
        help="start from a copy of this run's memory and adapter",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/bfcl"))
    args = parser.parse_args(argv)  # fmt: skip

    from langchain_ste.evaluate.benchmarks.bfcl import BFCLUnavailableError
    from langchain_ste.models import load_chat_model

    local = _is_local(args.learner)
    benchmark = args.benchmark or ("bfcl-single-turn" if args.quick else "bfcl-multi-turn")
    subset = args.subset or default_subset(local=local, limit=args.limit)
    limit = args.limit if args.limit is not None else (2 if args.quick else None)
    try:
        cases = load_cases(
            benchmark, limit=limit, subset=subset, seed=args.seed, category=args.category
        )
    except BFCLUnavailableError as exc:
        say(f"error: {exc}")
        return 2
    if args.start is not None:
        try:
            say(f"from {args.start}: copied {start_from(args.start, args.out) or 'nothing'}")
        except FileNotFoundError as exc:
            say(f"error: {exc}")
            return 2
    if args.explorer == "scripted":
        from langchain_ste.testing import ScriptedExplorer

        explorer: Any = ScriptedExplorer()
    else:
        options = {"max_new_tokens": 160} if _is_local(args.explorer) else {}
        explorer = load_chat_model(args.explorer, base_url=args.explorer_base_url, **options)
    small = args.quick or local
    explore = ExploreSettings(
        episodes_per_tool=args.episodes or (1 if small else 3),
        trials_per_episode=args.trials or (1 if args.quick else 2),
        max_steps=3 if small else 4,
        verdict_mode="grounded",
        act_tools=args.act_tools,
    )
    lora_steps = args.lora_steps or (20 if args.quick else 60)
    settings = PipelineSettings(
        explore=explore,
        max_steps=args.max_steps,
        finetune=local and not args.no_finetune,
        lora_steps=lora_steps,
        protocols=("native", "react") if local else ("native",),
    )
    explored_cases = cases
    if args.explore_entries is not None:
        explored_cases = load_cases(benchmark, limit=args.explore_entries, subset=subset,
                                    seed=args.seed, category=args.category)  # fmt: skip
    tools = exploration_tools(benchmark, explored_cases, max_tools=args.max_tools or (
        8 if args.quick else None), seed=args.seed)  # fmt: skip
    learner_options = {"max_new_tokens": 160} if local else {}
    say(f"{benchmark} ({subset}, {len(cases)} entries): explorer {args.explorer}, "
        f"learner {args.learner}")  # fmt: skip
    started = time.perf_counter()

    def on_event(stage: str, details: dict[str, Any]) -> None:
        if stage in ("explored", "condition", "reused"):
            say(f"{stage}: {details}")
        elif stage == "result":
            r = details["result"]
            say(f"  {details['condition']} {r.id}: {'error' if r.error else r.correct} "
                f"({r.seconds:.0f} s)")  # fmt: skip

    result = run_pipeline(
        explorer,
        spec_learner(args.learner, base_url=args.learner_base_url, **learner_options),
        tools,
        cases,
        out=args.out,
        settings=settings,
        finetune=(
            lora_finetune(
                tools,
                base=args.learner,
                steps=lora_steps,
                seed=args.seed,
                max_length=args.max_length,
                render_tools=args.record_tools,
            )
            if settings.finetune
            else None
        ),
        benchmark=benchmark,
        title=f"STE on {benchmark}: explorer {args.explorer}, learner {args.learner}",
        on_event=on_event,
        extra_meta={
            "subset": subset,
            "category": args.category,
            "seed": args.seed,
            "command": "python bench/bfcl_pipeline.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
        },
    )
    for condition, results in result.runs.items():
        say(f"{condition}: correct {100 * correct_rate(results):.1f}%")
    say(f"{time.perf_counter() - started:.0f} s; report: {result.paths['md']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
