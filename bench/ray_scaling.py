"""Ray executor vs the in-process executor, with a fixed-latency fake model.

128 episodes (64 tools x 2 ordered episodes, one trial each, one tool call per trial: 3 model calls
of ``--latency`` seconds per episode). Runs the in-process executor at concurrency 2 (as many units
at once as Ray gets workers here) and Ray with 2 workers on this machine, and reports wall times
and the overhead per episode that Ray adds.

    python bench/ray_scaling.py [--latency 0.05] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from langchain_core.tools import StructuredTool

ROOT = Path(__file__).resolve().parents[1]
N_TOOLS = 64
LATENCY = float(os.environ.get("STE_BENCH_LATENCY", "0.05"))


def tools() -> list[StructuredTool]:
    def echo(text: str) -> str:
        return text.upper()

    return [StructuredTool.from_function(echo, name=f"echo_{i}", description=f"Echo number {i}.")
            for i in range(N_TOOLS)]


def slow_model():  # type: ignore[no-untyped-def]
    from langchain_ste.testing import ScriptedExplorer

    return ScriptedExplorer(latency=LATENCY)


EPISODES_PER_TOOL = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=LATENCY)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["STE_BENCH_LATENCY"] = str(args.latency)
    sys.path.insert(0, str(ROOT))
    import ray

    from langchain_ste.explore import ExploreSettings, explore
    from langchain_ste.explore.ray import explore_on_ray

    settings = ExploreSettings(episodes_per_tool=EPISODES_PER_TOOL, trials_per_episode=1,
                               max_steps=1)
    episodes = N_TOOLS * EPISODES_PER_TOOL
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        local = explore(slow_model(), tools(), memory=Path(tmp) / "local", redactor=None,
                        settings=replace(settings, max_concurrency=2))
        local_s = time.perf_counter() - started

        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT),
                                           "STE_BENCH_LATENCY": str(args.latency)}})
        init_s = time.perf_counter() - started
        started = time.perf_counter()
        remote = explore_on_ray("bench.ray_scaling:tools", out_dir=Path(tmp) / "ray",
                                model_factory="bench.ray_scaling:slow_model", settings=settings)
        ray_s = time.perf_counter() - started
        ray.shutdown()
    assert len(local) == len(remote) == episodes
    ideal = episodes * 3 * args.latency / 2
    overhead_ms = (ray_s - local_s) / episodes * 1000
    print(f"{episodes} episodes, {args.latency * 1000:.0f} ms per model call, 2 at a time "
          f"(ideal {ideal:.2f} s)")
    print(f"in-process executor: {local_s:6.2f} s  ({episodes / local_s:5.1f} episodes/s)")
    print(f"Ray, 2 workers:      {ray_s:6.2f} s  ({episodes / ray_s:5.1f} episodes/s), "
          f"plus {init_s:.1f} s to start Ray")
    print(f"Ray overhead: {overhead_ms:+.1f} ms per episode")
    if args.json:
        print(json.dumps({"episodes": episodes, "latency_s": args.latency,
                          "inprocess_s": round(local_s, 2), "ray_s": round(ray_s, 2),
                          "ray_init_s": round(init_s, 2),
                          "ray_overhead_ms_per_episode": round(overhead_ms, 1)}))


if __name__ == "__main__":
    main()
