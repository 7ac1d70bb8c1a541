"""Load time and generation speed of the embedded SmolLM2-135M-Instruct (transformers, CPU).

Reports: the cold load (GGUF -> dequantise -> save to a fresh cache folder, once per machine), the
load from that cache, and tokens per second for ``--tokens`` new tokens (forced: no early end of
sequence) in each dtype, best of ``--repeats`` after one warm-up. The numbers decide `pick_dtype`
on CPU. On a shared machine, run it alone: other work on the cores distorts every figure.

    python bench/local_model_speed.py [--tokens 64] [--repeats 2] [--dtypes float32,bfloat16]
                                      [--skip-cold] [--device cpu] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

from langchain_ste.models import loading

SPEC = "local:smollm2-135m"

PROMPT = "Explain in a few sentences why the sky is blue."


def cold_load_s() -> float:
    """Seconds to convert the GGUF into a fresh cache folder (a machine's first run pays it)."""
    previous = os.environ.get("STE_CACHE_DIR")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["STE_CACHE_DIR"] = cache
        try:
            started = time.perf_counter()
            loading.resolve_model_path(SPEC)
            return time.perf_counter() - started
        finally:
            if previous is None:
                os.environ.pop("STE_CACHE_DIR", None)
            else:
                os.environ["STE_CACHE_DIR"] = previous


def cached_load_s(dtype: str, device: str) -> tuple[float, Any, Any]:
    """Seconds to load from the cache folder (converting first if there is none), and the model."""
    loading.resolve_model_path(SPEC)
    started = time.perf_counter()
    model, tokenizer = loading.load_fresh(SPEC, dtype=dtype, device=device)
    return time.perf_counter() - started, model, tokenizer


def tokens_per_s(model: Any, tokenizer: Any, n_tokens: int, repeats: int) -> float:
    """Best-of-``repeats`` speed generating exactly ``n_tokens`` greedy tokens after a warm-up."""
    import torch

    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True, tokenize=False
    )
    ids = tokenizer(str(text), return_tensors="pt", add_special_tokens=False)["input_ids"]
    ids = ids.to(model.device)
    options = {
        "max_new_tokens": n_tokens,
        "min_new_tokens": n_tokens,
        "do_sample": False,
        "temperature": None,
        "top_p": None,
        "top_k": None,
        "pad_token_id": tokenizer.eos_token_id,
    }
    best = float("inf")
    with torch.inference_mode():
        model.generate(ids, **{**options, "max_new_tokens": 4, "min_new_tokens": 4})
        for _ in range(repeats):
            started = time.perf_counter()
            model.generate(ids, **options)
            best = min(best, time.perf_counter() - started)
    return n_tokens / best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-cold", action="store_true", help="skip the ~20 s GGUF conversion")
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    args = parser.parse_args()

    import torch

    result: dict[str, Any] = {
        "device": args.device,
        "threads": torch.get_num_threads(),
        "new_tokens": args.tokens,
        "torch": torch.__version__,
    }
    if not args.skip_cold:
        result["cold_load_s"] = round(cold_load_s(), 2)
        print(f"cold load (GGUF -> cache): {result['cold_load_s']:.1f} s")
    for dtype in args.dtypes.split(","):
        load_s, model, tokenizer = cached_load_s(dtype, args.device)
        speed = tokens_per_s(model, tokenizer, args.tokens, args.repeats)
        result[f"cached_load_s_{dtype}"] = round(load_s, 2)
        result[f"tok_per_s_{dtype}"] = round(speed, 1)
        print(f"{dtype}: cached load {load_s:.2f} s, {speed:.1f} tok/s ({args.tokens} new tokens)")
        del model
    result["pick_dtype"] = str(loading.pick_dtype(args.device)).removeprefix("torch.")
    print(f"pick_dtype({args.device!r}) -> {result['pick_dtype']}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
