"""LoRA training throughput of the embedded SmolLM2 on CPU: padded, bucketed and packed batches.

Trains a fresh r=8 adapter (q/k/v/o) for a few steps on SFT records of the example tools (the
held-out questions, rendered in the ReAct format with both tools in the prompt) and reports
training tokens per second (real tokens, no padding), seconds per step and peak memory
(``resource.getrusage``). Each mode runs in its own process so peak memory is its own. The
reference is a naive PEFT loop (full-vocabulary loss, padded batches): about 170 tokens/s on the
2-core development machine; the target is at least twice that. Timings on a machine shared with
other work are noisy.

    python bench/finetune_throughput.py [--steps 6] [--batch-size 4] [--bf16] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from typing import Any

MODES: dict[str, dict[str, Any]] = {
    "padded": {"bucket": False},
    "bucketed": {"bucket": True},
    "packed": {"packing": True},
}


def example_records(copies: int = 2) -> list[dict[str, Any]]:
    """SFT records of the example tools: each held-out question, called and answered."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from langchain_ste.finetune import build_sft_records
    from langchain_ste.tools.examples import HELD_OUT_QUESTIONS, example_tools
    from langchain_ste.trajectory import trajectory_to_dicts
    from langchain_ste.trial import Trial

    tools = {t.name: t for t in example_tools()}
    trials = []
    for i, q in enumerate(HELD_OUT_QUESTIONS * copies):
        output = str(tools[q["tool"]].invoke(q["args"]))
        call = {"name": q["tool"], "args": q["args"], "id": f"c{i}", "type": "tool_call"}
        messages = [
            HumanMessage(q["question"]),
            AIMessage("", tool_calls=[call]),
            ToolMessage(output, tool_call_id=f"c{i}"),
            AIMessage(output),
        ]
        trials.append(
            Trial(
                trial_id=f"bench/{i}",
                tools=[q["tool"]],
                episode=0,
                index=i,
                query=q["question"],
                messages=trajectory_to_dicts(messages),
                success=True,
            )
        )
    records, _ = build_sft_records(trials, example_tools(), dedupe=False)
    return records


def run_mode(mode: str, steps: int, batch_size: int, bf16: bool) -> dict[str, Any]:
    """Train one mode in this process and return its figures."""
    from langchain_ste.finetune.lora import LoraSettings, train_lora

    records = example_records()
    with tempfile.TemporaryDirectory() as out:
        settings = LoraSettings(
            max_steps=steps,
            batch_size=batch_size,
            max_length=2048 if mode == "packed" else 1024,
            bf16=bf16,
            seed=0,
            **MODES[mode],
        )
        report = train_lora(
            records, out_dir=out, settings=settings, base="local", device="cpu", progress=False
        )
    return {
        "mode": mode,
        "bf16": bf16,
        "steps": report.steps,
        "tokens": report.train_tokens,
        "seconds": report.seconds,
        "tokens_per_s": report.tokens_per_s,
        "s_per_step": round(report.seconds / max(report.steps, 1), 2),
        "peak_rss_mb": report.peak_rss_mb,
        "loss_first": report.loss_curve[0],
        "loss_last": report.loss_curve[-1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CPUs with bf16)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated")
    parser.add_argument("--only", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print a JSON summary last")
    args = parser.parse_args(argv)
    if args.only:
        print(json.dumps(run_mode(args.only, args.steps, args.batch_size, args.bf16)))
        return 0
    results = []
    for mode in args.modes.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--only",
            mode,
            "--steps",
            str(args.steps),
            "--batch-size",
            str(args.batch_size),
            *(["--bf16"] if args.bf16 else []),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(row)
        print(
            f"{mode:9s} {row['tokens_per_s']:7.1f} tokens/s  {row['s_per_step']:5.2f} s/step  "
            f"peak {row['peak_rss_mb']:.0f} MB  loss {row['loss_first']:.2f} -> "
            f"{row['loss_last']:.2f}",
            flush=True,
        )
    best = max(r["tokens_per_s"] for r in results)
    print(f"best {best:.0f} tokens/s = {best / 170:.1f}x the naive 170 tokens/s")
    if args.json:
        print(
            json.dumps(
                {
                    "results": results,
                    "naive_tokens_per_s": 170,
                    "speedup_vs_naive": round(best / 170, 2),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
