"""The cost of exploration on the embedded explorer: ours against an original-style loop.

Both explore the same tools with the same model (greedy, fixed seed), the same trial budget
(tools x episodes x trials, at most ``--max-steps`` tool calls per trial) and the same
``max_new_tokens``:

- **ours**: `explore` with the model's preset (``small-model`` for the embedded model), episodes
  run as concurrent units, the model's calls meet in its micro-batching queue and reuse the
  key-value cache of shared prefixes (`langchain_ste.models.batching`).
- **original-style**: the original STE loop: one model call at a time, no batching, no prefix
  reuse, each imagine prompt carrying the whole list of the tool's past queries; act with the
  tools bound, execute, reflect with the same judge prompt.

Reported per run: trials per minute, model calls, prompt tokens (sent, and encoded after prefix
reuse) and generated tokens per kept trial (every finished trial is kept in memory), successes
(the grounded verdict, for both; the original-style run also reports how often the judge alone
said yes, which is what the original loop counted);
``speedup_vs_sequential`` is ours over the original-style loop in trials per minute. The machine
load is recorded next to each figure (the machine is shared).

    python bench/explore_cost.py [--model local:qwen2.5-coder-1.5b] [--episodes 4] [--trials 1]
        [--max-steps 2] [--max-new-tokens 96] [--seed 0] [--out FILE.json] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool

from langchain_ste.explore import explore
from langchain_ste.explore.imagine import clean_query
from langchain_ste.explore.prompts import DEFAULT_PROMPTS
from langchain_ste.explore.reflect import reflect_on
from langchain_ste.explore.settings import PRESETS, ExploreSettings
from langchain_ste.explore.verdict import combine, signals
from langchain_ste.models.batching import GeneratorStats
from langchain_ste.models.local import ChatLocalHF
from langchain_ste.tools.execution import execute_tool_call
from langchain_ste.trajectory import Step


def _tools() -> list[BaseTool]:
    from langchain_ste.tools import examples

    make = getattr(examples, "demo_tools", None) or examples.example_tools
    return list(make())


def _seed(seed: int) -> None:
    random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _figures(
    name: str, wall: float, kept: int, successes: int, stats: GeneratorStats
) -> dict[str, Any]:
    per = max(kept, 1)
    return {
        "name": name,
        "kept_trials": kept,
        "successful_trials": successes,
        "wall_s": round(wall, 1),
        "trials_per_minute": round(60 * kept / wall, 3),
        "model_calls": stats.requests,
        "model_calls_per_kept_trial": round(stats.requests / per, 2),
        "prompt_tokens_per_kept_trial": round(stats.prompt_tokens / per, 1),
        "encoded_prompt_tokens_per_kept_trial": round(
            (stats.prompt_tokens - stats.reused_tokens) / per, 1
        ),
        "prefill_tokens_saved_per_kept_trial": round(stats.reused_tokens / per, 1),
        "generated_tokens_per_kept_trial": round(stats.generated_tokens / per, 1),
        "decode_steps_by_batch_size": {str(k): v for k, v in sorted(stats.batch_sizes.items())},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run_ours(
    model: ChatLocalHF, tools: Sequence[BaseTool], settings: ExploreSettings, seed: int
) -> dict[str, Any]:
    """`explore` as the library runs it."""
    generator = model.generator()
    generator.reset_stats()
    _seed(seed)
    started = time.perf_counter()
    trials = explore(model, tools, settings=settings)
    wall = time.perf_counter() - started
    figures = _figures(
        "ours", wall, len(trials), sum(t.success for t in trials), generator.reset_stats()
    )
    return {**figures, "max_batch_size": model.max_batch_size}


def run_original(
    model: ChatLocalHF,
    tools: Sequence[BaseTool],
    *,
    episodes: int,
    trials: int,
    max_steps: int,
    seed: int,
) -> dict[str, Any]:
    """The original STE loop: strictly one call at a time, the whole past-query list in imagine."""
    model = model.model_copy(update={"max_batch_size": 1, "prefix_cache_size": 0})
    generator = model.generator()
    generator.reset_stats()
    bound = model.bind_tools(list(tools))
    by_name = {t.name: t for t in tools}
    p = DEFAULT_PROMPTS
    _seed(seed)
    kept = successes = judge_yes = 0
    started = time.perf_counter()
    for tool in tools:
        past: list[str] = []
        for _ in range(episodes * trials):
            description = (tool.description or "").split(". ")[0]
            inputs = ", ".join(tool.args) or "nothing"
            parts = [
                p.imagine_system.format(target=tool.name, description=description, inputs=inputs)
            ]
            if past:
                parts.append(p.imagine_past.format(queries="\n".join(f"- {q}" for q in past)))
            imagined = model.invoke(
                [SystemMessage("\n\n".join(parts)), HumanMessage(p.imagine_human)]
            )
            query = clean_query(imagined.text)
            past.append(query)
            messages: list[BaseMessage] = [SystemMessage(p.act_system), HumanMessage(query)]
            steps: list[Step] = []
            while True:
                reply = bound.invoke(messages)
                messages.append(reply)
                if not isinstance(reply, AIMessage) or not reply.tool_calls:
                    break
                for call in reply.tool_calls:
                    result, step = asyncio.run(execute_tool_call(call, by_name))
                    messages.append(result)
                    steps.append(step)
                if len(steps) >= max_steps:
                    break
            answer = messages[-1].text if isinstance(messages[-1], AIMessage) else ""
            said_yes, _ = reflect_on(model, query, steps, answer)
            sig = signals(steps, answer, model_verdict=said_yes, targets=[tool.name])
            kept += 1
            judge_yes += said_yes
            successes += combine(sig, "grounded")  # the same verdict as ours counts
    wall = time.perf_counter() - started
    figures = _figures("original-style", wall, kept, successes, generator.reset_stats())
    return {**figures, "judge_said_yes": judge_yes}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local:qwen2.5-coder-1.5b")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--max-batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )
    parser.add_argument("--quick", action="store_true", help="2 episodes, 1 step, 48 tokens")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.quick:
        args.episodes, args.max_steps, args.max_new_tokens = 2, 1, 48
    tools = _tools()
    model = ChatLocalHF(
        model_path=args.model,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
        max_batch_size=args.max_batch_size,
    )
    settings = replace(
        PRESETS["small-model"],
        episodes_per_tool=args.episodes,
        trials_per_episode=args.trials,
        max_steps=args.max_steps,
        ordered_episodes=False,  # episodes are independent units: they run (and batch) at once
        max_concurrency=args.max_batch_size,
    )
    model.invoke("Hi")  # load and warm up outside both timings
    original = run_original(
        model,
        tools,
        episodes=args.episodes,
        trials=args.trials,
        max_steps=args.max_steps,
        seed=args.seed,
    )
    print(json.dumps(original), flush=True)
    ours = run_ours(model, tools, settings, args.seed)
    print(json.dumps(ours), flush=True)
    report = {
        "model": model.model_name,
        "tools": [t.name for t in tools],
        "budget": {
            "episodes_per_tool": args.episodes,
            "trials_per_episode": args.trials,
            "max_steps": args.max_steps,
            "max_new_tokens": args.max_new_tokens,
            "seed": args.seed,
        },
        "settings": {
            k: v for k, v in asdict(settings).items() if k not in ("retry", "tool_groups")
        },
        "cpus": os.cpu_count(),
        "torch_threads": _torch_threads(),
        "runs": {"ours": ours, "original_style": original},
        "speedup_vs_sequential": round(
            ours["trials_per_minute"] / max(original["trials_per_minute"], 1e-9), 2
        ),
        "command": "python bench/explore_cost.py " + " ".join(argv or sys.argv[1:]),
    }
    print(f"speed-up vs the original-style loop: x{report['speedup_vs_sequential']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


if __name__ == "__main__":
    main()
