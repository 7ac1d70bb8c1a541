"""Cold-start demonstrations and self-bootstrapping on the embedded SmolLM2-135M model.

Explores the example tools with a fixed seed and a fixed budget in three arms:

- ``off``: no demonstrations (the model's zero-shot ReAct skill);
- ``schema``: schema-derived format examples only (a store without similarity search);
- ``on``: demonstrations with self-bootstrapping from `ExplorationMemory` (successful, clean
  trials replace the format examples as soon as there are any).

For each arm it reports the fraction of trials that are well-formed (at least one tool call and
no unparseable / unknown-tool reply), that execute cleanly (the last tool call ran without
error) and that are judged successful (grounded verdict), the fraction of act prompts that
carried bootstrapped (non-synthetic) exemplars, and the distinct successful queries per tool.

    python bench/bootstrap_small_model.py [--quick] [--arms off,on] [--json]

``--quick`` (1 episode x 2 trials per tool, arms ``off`` and ``on``) takes a few minutes on
2 CPU cores; the default budget (3 episodes x 3 trials per tool, all three arms) takes longer.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from langchain_ste.explore import PRESETS, explore
from langchain_ste.memory.base import LogStore
from langchain_ste.models import load_chat_model
from langchain_ste.tools.examples import example_tools
from langchain_ste.trial import Trial

ARMS = ("off", "schema", "on")


class _NoSearchStore:
    """A trials.jsonl store without `search`, so the act step only gets format examples."""

    def __init__(self, path: Path) -> None:
        self._inner = LogStore(path)

    def add(self, trials: Iterable[Trial]) -> int:
        return self._inner.add(trials)

    def trials(self, tool: str | None = None) -> list[Trial]:
        return self._inner.trials(tool)

    def past_queries(self, tool: str, limit: int = 20) -> list[str]:
        return self._inner.past_queries(tool, limit)


def well_formed(trial: Trial) -> bool:
    """At least one tool call, and none that failed to parse or named an unknown tool."""
    bad = {"parse_error", "unknown_tool"}
    return bool(trial.steps) and not any(s.error_kind in bad for s in trial.steps)


def summarise(trials: list[Trial], wall_s: float) -> dict[str, Any]:
    """Fractions and counts for one arm."""
    n = len(trials) or 1
    per_tool: dict[str, set[str]] = {}
    for t in trials:
        bucket = per_tool.setdefault("+".join(t.tools), set())
        if t.success:
            bucket.add(" ".join(t.query.split()).lower())
    return {
        "trials": len(trials),
        "well_formed": round(sum(map(well_formed, trials)) / n, 3),
        "clean": round(sum(t.clean for t in trials) / n, 3),
        "success": round(sum(t.success for t in trials) / n, 3),
        "bootstrapped_prompts": round(
            sum(any(not e.startswith("synthetic:") for e in t.exemplars) for t in trials) / n, 3
        ),
        "distinct_successful_queries": {k: len(v) for k, v in sorted(per_tool.items())},
        "wall_s": round(wall_s, 1),
    }


def run_arm(arm: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Explore the example tools once under ``arm`` and summarise the trials."""
    model = load_chat_model(
        "local", seed=args.seed, temperature=args.temperature, max_new_tokens=args.max_new_tokens
    )
    settings = replace(
        PRESETS["small-model"],
        episodes_per_tool=args.episodes,
        trials_per_episode=args.trials,
        max_steps=args.max_steps,
        max_concurrency=1,  # one CPU-bound model: concurrency only adds contention
        demonstrations=arm != "off",
    )
    directory = out / arm
    memory: Any = directory
    if arm == "on":
        from langchain_ste.memory.chroma import ExplorationMemory

        memory = ExplorationMemory(directory)
    elif arm == "schema":
        memory = _NoSearchStore(directory / "trials.jsonl")
    started = time.perf_counter()
    trials = explore(model, example_tools(), memory=memory, settings=settings)
    return summarise(trials, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 episode x 2 trials, arms off,on")
    parser.add_argument("--arms", default=None, help=f"comma-separated subset of {ARMS}")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="keep the trials here (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    args = parser.parse_args()
    if args.quick:
        args.episodes, args.trials = 1, 2
    arms = (args.arms or ("off,on" if args.quick else ",".join(ARMS))).split(",")
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        parser.error(f"unknown arms {unknown}; choose from {list(ARMS)}")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="ste-bootstrap-"))
    results: dict[str, Any] = {}
    for arm in arms:
        results[arm] = row = run_arm(arm, args, out)
        print(
            f"{arm:>6}: {row['trials']:>3} trials  well-formed {row['well_formed']:.0%}  "
            f"clean {row['clean']:.0%}  success {row['success']:.0%}  "
            f"bootstrapped prompts {row['bootstrapped_prompts']:.0%}  "
            f"distinct successes {row['distinct_successful_queries']}  ({row['wall_s']} s)",
            flush=True,
        )
    print(f"trials kept in {out}")
    if args.json:
        budget = {k: getattr(args, k) for k in ("episodes", "trials", "max_steps", "seed")}
        print(json.dumps({"budget": {**budget, "temperature": args.temperature}, **results}))


if __name__ == "__main__":
    main()
