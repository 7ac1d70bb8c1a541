"""Exploration throughput with a fixed-latency fake model (simulating a model server).

64 episodes (one per tool; each trial = imagine, act with one tool call, act, reflect) at
concurrency 1, 8 and 32. Reports wall time, the ratio to the ideal (model calls x latency /
concurrency) and the speed-up over concurrency 1. The original STE code is strictly sequential.
The CPU time per model call (graph steps, message handling, the fake model itself) is reported
too: at concurrency 32 the ideal leaves 50 ms / 32 = 1.6 ms per call, so that CPU time, not the
waiting, bounds the ratio there (and it is noisy on a machine shared with other work). A short
warm-up run goes first, so that imports and first calls are not charged to concurrency 1.

    python bench/exploration_throughput.py [--latency 0.05] [--episodes 64] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool

from langchain_ste.explore import ExploreSettings, explore
from langchain_ste.testing import ScriptedChatModel


def make_tools(n: int) -> list[StructuredTool]:
    """Instant tools (async: a sync tool runs in a thread of its own, which is not instant)."""

    def echo(text: str) -> str:
        return text.upper()

    async def aecho(text: str) -> str:
        return text.upper()

    return [
        StructuredTool.from_function(
            echo, coroutine=aecho, name=f"echo_{i}", description=f"Echo #{i}."
        )
        for i in range(n)
    ]


def act(messages: list[BaseMessage], tools: list[str]) -> AIMessage | str:
    if isinstance(messages[-1], ToolMessage):
        return "HELLO"
    target = tools[0] if tools else "echo_0"
    return AIMessage(
        "",
        tool_calls=[
            {
                "name": target,
                "args": {"text": "hello"},
                "id": f"c{time.perf_counter_ns()}",
                "type": "tool_call",
            }
        ],
    )


def run(episodes: int, latency: float, concurrency: int) -> tuple[float, int, float]:
    """Wall seconds, model calls and CPU seconds of one exploration run."""
    model = ScriptedChatModel(
        by_node={
            "imagine": ["Please shout hello"],
            "act": act,
            "reflect": ["Verdict: yes\nLesson: it upper-cases."],
        },
        latency=latency,
    )
    tools = make_tools(episodes)
    started, cpu = time.perf_counter(), time.process_time()
    trials = explore(
        model,
        tools,
        redactor=None,
        settings=ExploreSettings(
            episodes_per_tool=1,
            trials_per_episode=1,
            max_steps=2,
            max_concurrency=concurrency,
        ),
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(trials) == episodes, len(trials)
    return wall, len(model.calls), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ratios, walls, cpu_ms = {}, {}, {}
    run(min(8, args.episodes), args.latency, 8)  # warm-up: imports and first-call costs
    for conc in (1, 8, 32):
        wall, calls, cpu = run(args.episodes, args.latency, conc)
        ideal = calls * args.latency / conc
        walls[str(conc)], ratios[str(conc)] = round(wall, 3), round(wall / ideal, 3)
        cpu_ms[str(conc)] = round(1000 * cpu / calls, 2)
        print(
            f"concurrency {conc:>2}: {wall:6.2f} s for {calls} model calls "
            f"(ideal {ideal:5.2f} s, ratio {wall / ideal:.2f}; "
            f"{cpu_ms[str(conc)]} ms CPU per model call)"
        )
    speedup = {c: round(walls["1"] / walls[c], 2) for c in ("8", "32")}
    print(f"speed-up vs concurrency 1: x{speedup['8']} at 8, x{speedup['32']} at 32")
    if args.json:
        print(
            json.dumps(
                {
                    "episodes": args.episodes,
                    "latency_s": args.latency,
                    "wall_s": walls,
                    "ratio_to_ideal": ratios,
                    "speedup_vs_1": speedup,
                    "cpu_ms_per_model_call": cpu_ms,
                }
            )
        )


if __name__ == "__main__":
    main()
