"""Latency that STEMiddleware adds to each model call, against one call of the embedded model.

A real `ExplorationMemory` (Chroma on disk, MiniLM embeddings) is filled with ``--trials``
successful trials of the example tools. The added work per model call is what the middleware
does before calling the model: embed the request, search (MMR over 2k candidates), filter, and
render k exemplars as messages within the token budget. It is timed over ``--queries`` distinct
requests (after one warm-up) and compared with the median of ``--calls`` calls of the embedded
SmolLM2 model on the same request with exemplars and the tools bound (``--max-new-tokens``).
Target: under 5% of a model call.

    python bench/retrieval_latency.py [--trials 300] [--queries 50] [--calls 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_ste.trial import Trial

ROOT = Path(__file__).resolve().parents[1]
UNITS = [("in", "cm"), ("km", "m"), ("kg", "lb"), ("C", "F"), ("mi", "km"), ("g", "oz")]
ITEMS = ["yoga mat", "kettle", "running shoes", "desk lamp", "backpack", "water bottle"]


def make_trials(n: int) -> list[Trial]:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from langchain_ste.tools.examples import convert_units, search_catalog
    from langchain_ste.trajectory import trajectory_to_dicts
    from langchain_ste.trial import Trial

    trials = []
    for i in range(n):
        if i % 2:
            tool, query = search_catalog, f"Do you sell a {ITEMS[i % len(ITEMS)]} (#{i})?"
            args: dict[str, object] = {"query": ITEMS[i % len(ITEMS)]}
        else:
            src, dst = UNITS[i % len(UNITS)]
            tool, query = convert_units, f"How much is {i} {src} in {dst}?"
            args = {"value": i, "from_unit": src, "to_unit": dst}
        output = str(tool.invoke(args))
        call = {"name": tool.name, "args": args, "id": "call_1", "type": "tool_call"}
        messages = [
            HumanMessage(query),
            AIMessage("", tool_calls=[call]),
            ToolMessage(output, tool_call_id="call_1", name=tool.name),
            AIMessage(f"Answer: {output[:80]}"),
        ]
        trials.append(
            Trial(
                trial_id=f"{tool.name}/e{i // 4:03d}/t{i % 4}",
                tools=[tool.name],
                episode=i // 4,
                index=i % 4,
                query=query,
                messages=trajectory_to_dicts(messages),
                success=True,
            )
        )
    return trials


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(ROOT))

    from langchain_core.messages import BaseMessage, HumanMessage

    from langchain_ste.exploit import ExemplarRetriever
    from langchain_ste.memory.chroma import ExplorationMemory
    from langchain_ste.memory.embeddings import load_embeddings
    from langchain_ste.models import load_chat_model
    from langchain_ste.tools.examples import example_tools

    tools = example_tools()
    queries = [
        f"Please convert {q + 1.5} {UNITS[q % len(UNITS)][0]} to {UNITS[q % len(UNITS)][1]}"
        if q % 2
        else f"I am looking for a {ITEMS[q % len(ITEMS)]}, size {q}"
        for q in range(args.queries)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        memory = ExplorationMemory(tmp, embeddings=load_embeddings())
        started = time.perf_counter()
        memory.add(make_trials(args.trials))
        fill_s = time.perf_counter() - started
        retriever = ExemplarRetriever(memory, k=args.k)

        def added(query: str) -> list[BaseMessage]:
            return retriever.as_messages(retriever.retrieve(query, tools))

        added("warm-up")
        per_call = []
        for query in queries:
            started = time.perf_counter()
            exemplars = added(query)
            per_call.append(time.perf_counter() - started)
        assert exemplars, "the memory returned no exemplars: the benchmark measures nothing"

        model = load_chat_model("local", max_new_tokens=args.max_new_tokens).bind_tools(tools)
        request = [*exemplars, HumanMessage(queries[0])]
        model.invoke(request)  # load and warm up
        model_s = []
        for _ in range(args.calls):
            started = time.perf_counter()
            model.invoke(request)
            model_s.append(time.perf_counter() - started)

    retrieval_ms = 1000 * statistics.median(per_call)
    model_ms = 1000 * statistics.median(model_s)
    result = {
        "trials": args.trials,
        "k": args.k,
        "queries": args.queries,
        "fill_s": round(fill_s, 2),
        "retrieval_ms_median": round(retrieval_ms, 2),
        "retrieval_ms_p95": round(1000 * sorted(per_call)[int(0.95 * (len(per_call) - 1))], 2),
        "model_call_ms_median": round(model_ms, 1),
        "max_new_tokens": args.max_new_tokens,
        "overhead_pct": round(100 * retrieval_ms / model_ms, 2),
        "target_pct": 5.0,
    }
    print(f"memory: {args.trials} trials (filled in {fill_s:.1f} s), k={args.k}")
    print(
        f"retrieval + rendering per model call: median {retrieval_ms:.1f} ms, "
        f"p95 {result['retrieval_ms_p95']} ms over {args.queries} requests"
    )
    print(f"embedded model call ({args.max_new_tokens} new tokens max): median {model_ms:.0f} ms")
    print(f"added latency: {result['overhead_pct']}% of a model call (target < 5%)")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
