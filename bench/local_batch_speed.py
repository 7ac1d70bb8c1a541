"""Tokens per second at batch 1, 2, 4, 8 through the library's own chat model (`ChatLocalHF`).

For each model and batch size B, B different questions are asked at once from B threads; the
calls meet in the model's micro-batching queue (`langchain_ste.models.batching`) and decode
together. Wall time covers everything a caller waits for (tokenising, prefill, decode), best of
``--repeats`` after one warm-up; tokens/s = new tokens of all B replies / wall time. Decoding on
CPU is bound by memory bandwidth, so the total grows almost linearly with B. On a shared machine
the figures move with the load: the load average is recorded next to each.

    python bench/local_batch_speed.py [--models local,local:qwen2.5-coder-1.5b]
        [--batches 1,2,4,8] [--tokens 64] [--repeats 1] [--out FILE.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from langchain_ste.models.local import ChatLocalHF

QUESTIONS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle gear works, step by step.",
    "Describe a walk through a busy market in the morning.",
    "Tell me about the history of the printing press.",
    "Write a letter to a friend about a trip to the mountains.",
    "Explain why the sea is salty, in detail.",
    "Describe how bread is made, from flour to loaf.",
    "Write a poem about autumn leaves and rain.",
]


def one_batch(model: ChatLocalHF, size: int) -> tuple[float, int, int]:
    """Wall seconds, new tokens in all, and the largest decode batch for ``size`` callers."""
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(size)]
    started = time.perf_counter()
    with ThreadPoolExecutor(size) as pool:
        replies = list(pool.map(lambda q: model.invoke([HumanMessage(q)]), questions))
    wall = time.perf_counter() - started
    tokens = sum(int((r.usage_metadata or {}).get("output_tokens", 0)) for r in replies)
    return wall, tokens, max(int(r.response_metadata.get("batch_size", 1)) for r in replies)


def measure(spec: str, batches: list[int], tokens: int, repeats: int) -> dict[str, Any]:
    """Tokens/s (in all and per sequence) at each batch size for one model spec."""
    model = ChatLocalHF(
        model_path=spec,
        max_new_tokens=tokens,
        max_batch_size=max(batches),
        max_batch_wait_ms=200.0,  # the threads start within a few ms of each other
        prefix_cache_size=0,  # every repeat asks the same questions: no prefix reuse here
    )
    one_batch(model, 1)  # warm-up: load, first kernels
    rows: dict[str, Any] = {}
    for size in batches:
        best: tuple[float, int, int] | None = None
        for _ in range(repeats):
            run = one_batch(model, size)
            if best is None or run[1] / run[0] > best[1] / best[0]:
                best = run
        assert best is not None
        wall, new_tokens, batched = best
        rows[str(size)] = {
            "tokens_per_s": round(new_tokens / wall, 2),
            "tokens_per_s_per_sequence": round(new_tokens / wall / size, 2),
            "new_tokens": new_tokens,
            "wall_s": round(wall, 2),
            "largest_decode_batch": batched,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        print(
            f"{spec:<28} batch {size}: {new_tokens / wall:6.1f} tok/s in all "
            f"({new_tokens / wall / size:5.1f} per sequence, {new_tokens} tokens in {wall:.1f} s, "
            f"decoded {batched} together; load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return {
        "model": model.model_name,
        "spec": spec,
        "dtype": model.dtype or "auto",
        **{
            "batches": rows,
            "speedup_at_largest": round(
                rows[str(max(batches))]["tokens_per_s"] / rows[str(min(batches))]["tokens_per_s"], 2
            ),
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="local,local:qwen2.5-coder-1.5b")
    parser.add_argument("--batches", default="1,2,4,8")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )
    parser.add_argument("--quick", action="store_true", help="the 0.5B at batch 1 and 4, 16 tokens")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.quick:
        args.models, args.batches, args.tokens = "local", "1,4", 16
    batches = [int(b) for b in args.batches.split(",")]
    report = {
        "tokens": args.tokens,
        "torch_threads": _torch_threads(),
        "cpus": os.cpu_count(),
        "models": [measure(s, batches, args.tokens, args.repeats) for s in args.models.split(",")],
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


if __name__ == "__main__":
    main()
