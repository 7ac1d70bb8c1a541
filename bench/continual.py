"""Continual learning: fine-tune on one batch of tools after another, with and without replay.

The STE paper's claim: a learner fine-tuned round after round on new tools forgets the old ones,
unless a few earlier examples are replayed (with 10% replay the first batch's tools kept 65.0%
correct after three more rounds; without replay they fell to 0.0). Here the demo's six tools are
split, before anything was measured, into two batches by their order in `demo_tools`:
``A = find_customer, get_order, convert_currency`` and ``B = check_room, quote_shipping,
find_flights``. Each batch's usable explored trials (from a ``trials.jsonl``, e.g. the demo
run's memory) become SFT records in the learner's own tool format; round 1 trains a LoRA adapter
on A, round 2 continues it on B with ``replay_fraction`` 0 and 0.1 (`train_rounds`, which skips
a round already trained; round 1 is the same for both, trained once and copied). After each
round the learner answers the held-out demo questions of every batch seen so far (a question
belongs to the latest batch among its tools).

``--explore-episodes N`` first explores every demo tool up to N episodes (the demo's
exploration settings otherwise) in ``OUT/memory``, seeded with a copy of ``--trials`` (which is
never written): the earlier episodes are kept and steer the new ones elsewhere, so a batch with
few usable trials gets more.

Every step is kept under ``--out`` and skipped on a rerun (the exploration resumes at its next
trial, adapters by their training report, scores by their results file), so the table fills
over sittings.

Usage::

    python bench/continual.py --trials bench/results/demo/trials.jsonl \\
        --baseline bench/results/demo/results.json --out bench/results/continual
    python bench/continual.py --trials bench/results/demo/trials.jsonl --explore-episodes 6 \\
        --baseline bench/results/demo/results.json --out bench/results/continual-6ep
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.evaluate.pipeline import correct_rate

BATCHES = (
    ("find_customer", "get_order", "convert_currency"),
    ("check_room", "quote_shipping", "find_flights"),
)
REPLAY = (0.0, 0.1)


def say(message: str) -> None:
    print(message, flush=True)


def batch_of(expected: list[list[str]]) -> int:
    """The batch a question belongs to: the latest batch among the tools it needs.

    Example:
        >>> batch_of([["find_customer", "get_order"]]), batch_of([["find_flights"]])
        (0, 1)
    """
    names = {n for turn in expected for n in turn}
    return max(i for i, batch in enumerate(BATCHES) if names & set(batch))


def explore_more(trials: Path, out: Path, episodes: int, explorer: Any) -> Path:
    """Explore every demo tool up to ``episodes`` episodes in ``out/memory``; its trials file.

    The memory starts as a copy of ``trials`` (left as it is); trials already in it are not
    explored again, so a rerun resumes and duplicates nothing.
    """
    from langchain_ste.cli.demo import DEMO_EXPLORE
    from langchain_ste.explore import explore
    from langchain_ste.memory.chroma import ExplorationMemory
    from langchain_ste.tools.demo import demo_tools

    memory_dir = out / "memory"
    seeded = memory_dir / "trials.jsonl"
    if not seeded.is_file():
        memory_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(trials, seeded)
    memory = ExplorationMemory(memory_dir)
    before = len(memory)
    settings = replace(DEMO_EXPLORE, episodes_per_tool=episodes)
    began = time.perf_counter()
    found = explore(explorer, demo_tools(), memory=memory, settings=settings)
    say(f"explored: {len(found)} trials ({len(found) - before} new) in "
        f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    return seeded


def _scores(path: Path) -> list[EntryResult] | None:
    from langchain_ste.evaluate.report import load_results

    return next(iter(load_results(path).values()), None) if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=Path, required=True, help="explored trials.jsonl")
    parser.add_argument("--learner", default="local")
    parser.add_argument(
        "--baseline", type=Path, help="a demo results.json whose baseline row to show per batch"
    )
    parser.add_argument("--steps", type=int, default=30, help="LoRA steps per round")
    parser.add_argument("--out", type=Path, default=Path("bench/results/continual"))
    parser.add_argument(
        "--explore-episodes",
        type=int,
        help="first explore every demo tool up to this many episodes (seeded with --trials)",
    )
    parser.add_argument("--explorer", default=None, help="explorer spec (default: the 1.5B)")
    args = parser.parse_args(argv)

    from langchain_ste.evaluate.benchmarks.examples import demo_cases
    from langchain_ste.evaluate.report import write_report
    from langchain_ste.evaluate.runner import run_benchmark
    from langchain_ste.finetune import build_sft_records
    from langchain_ste.finetune.lora import LoraSettings
    from langchain_ste.finetune.replay import train_rounds
    from langchain_ste.models import load_chat_model
    from langchain_ste.models.loading import tool_format
    from langchain_ste.tools.demo import demo_tools
    from langchain_ste.trial import is_usable
    from langchain_ste.trial_log import read_trials

    tools = demo_tools()
    source = args.trials
    if args.explore_episodes:
        from langchain_ste.cli.demo import LOCAL_OPTIONS, _is_local
        from langchain_ste.models import DEFAULT_EXPLORER_SPEC

        spec = args.explorer or DEFAULT_EXPLORER_SPEC
        explorer = load_chat_model(spec, **(LOCAL_OPTIONS if _is_local(spec) else {}))
        source = explore_more(args.trials, args.out, args.explore_episodes, explorer)
        del explorer
    trials = [t for t in read_trials(source) if is_usable(t)]
    fmt = tool_format(args.learner)
    rounds = []
    for batch in BATCHES:
        mine = [t for t in trials if set(t.tools) <= set(batch)]
        try:
            records, _ = build_sft_records(mine, tools, format=fmt, seed=0)
        except ValueError:  # nothing usable to train on in this batch
            records = []
        say(f"batch {batch}: {len(mine)} usable trials, {len(records)} records")
        rounds.append(records)
    if not all(rounds):
        say("a batch has no usable trial: nothing to train on; explore more first")
        return 1
    cases = demo_cases()
    by_batch = [[c for c in cases if batch_of(c.expected) == i] for i in range(len(BATCHES))]
    settings = replace(LoraSettings(), max_steps=args.steps, lr=1e-3, batch_size=1, grad_accum=4)
    args.out.mkdir(parents=True, exist_ok=True)

    def score(adapter: Path, batch: int) -> float:
        path = adapter / f"batch{batch}.json"
        trained = (adapter / "train_report.json").stat().st_mtime
        stale = path.is_file() and path.stat().st_mtime < trained  # the round was retrained
        results = None if stale else _scores(path)
        if results is None:
            model = load_chat_model(
                f"{args.learner}+adapter={adapter}", protocol=fmt, max_new_tokens=128
            )
            results = run_benchmark(model, by_batch[batch], condition=f"batch{batch}",
                                    benchmark="demo")  # fmt: skip
            write_report({f"batch{batch}": results}, adapter, name=f"batch{batch}", title="")
        return correct_rate(results)

    table: dict[str, Any] = {"batches": [list(b) for b in BATCHES], "steps": args.steps,
                             "records": [len(r) for r in rounds], "trials": str(source),
                             "runs": {}}  # fmt: skip
    if args.baseline and args.baseline.is_file():
        from langchain_ste.evaluate.report import load_results

        base = {r.id: r for r in load_results(args.baseline)["baseline"]}
        table["baseline"] = [
            correct_rate([base[c.id] for c in group if c.id in base]) for group in by_batch
        ]
    first = args.out / "replay0" / "round1"
    after_first: float | None = None
    for fraction in REPLAY:
        name = f"replay{round(100 * fraction)}"
        run_dir = args.out / name
        trained_first = (first / "train_report.json").exists()
        if fraction and trained_first and not (run_dir / "round1").exists():
            shutil.copytree(first, run_dir / "round1")  # round 1 is the same for every fraction
        began = time.perf_counter()
        reports = train_rounds(rounds, out_dir=run_dir, settings=settings, replay_fraction=fraction,
                               base=args.learner, progress=False)  # fmt: skip
        say(f"{name}: rounds ready in {time.perf_counter() - began:.0f} s")
        if after_first is None:
            after_first = score(run_dir / "round1", 0)
        table["runs"][name] = {
            "replayed_records": reports[1].examples - len(rounds[1]),
            "after_round1": [after_first],
            "after_round2": [score(run_dir / "round2", 0), score(run_dir / "round2", 1)],
            "train_seconds": [r.seconds for r in reports],
        }
        (args.out / "results.json").write_text(json.dumps(table, indent=1), encoding="utf-8")
        say(f"{name}: {table['runs'][name]}")
    (args.out / "results.md").write_text(markdown(table), encoding="utf-8")
    return 0


def markdown(table: dict[str, Any]) -> str:
    a, b = (", ".join(batch) for batch in table["batches"])
    lines = [
        "# Continual learning on the demo tools: forgetting with and without replay",
        "",
        f"Batch A: {a}. Batch B: {b}. LoRA {table['steps']} steps per round; "
        f"SFT records per batch: {table['records']}.",
        "",
        "| run | A after round 1 | A after round 2 | B after round 2 | replayed records |",
        "| --- | --: | --: | --: | --: |",
    ]
    if "baseline" in table:
        base = table["baseline"]
        lines.append(f"| baseline (no adapter) | {100 * base[0]:.1f} | {100 * base[0]:.1f} | "
                     f"{100 * base[1]:.1f} | - |")  # fmt: skip
    for name, run in table["runs"].items():
        r1, (a2, b2) = run["after_round1"][0], run["after_round2"]
        lines.append(
            f"| {name} | {100 * r1:.1f} | {100 * a2:.1f} | {100 * b2:.1f} | "
            f"{run['replayed_records']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
