"""How often are trial verdicts right? The reflect judge against the benchmark's own checker.

A wrong "yes" puts a bad exemplar into memory and a bad example into the fine-tuning set, yet no
STE implementation reports its judge's accuracy. Here the truth is known: every entry of an
evaluation report on the demo benchmark (``results.json`` of ``ste demo`` or a bench) holds the
request, the calls the agent made, its answer, and whether the checker scored it correct. The
calls are replayed on the demo tools (deterministic, side-effect free) to get their results, and
each transcript is judged three ways, exactly as exploration judges a trial:

- ``model``: the judge model's own verdict (`langchain_ste.explore.reflect.reflect_on`'s prompt);
- ``grounded-only``: the execution signals alone (a target tool ran and returned something, and
  the answer uses its result; `langchain_ste.explore.verdict`), no model;
- ``grounded``: the two combined as ``verdict_mode="grounded"`` does (signals, and the model says
  yes or the answer uses the result).

Precision is the share of "yes" verdicts that were right (what keeps memory clean), recall the
share of correct transcripts that were kept. Identical transcripts (the same request, calls and
answer under several conditions) are judged once.

Usage::

    python bench/judge_accuracy.py --results bench/results/demo/results.json \\
        --judge local:qwen2.5-coder-1.5b local --out bench/results/judge
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from langchain_ste.explore.reflect import parse_reflection, reflection_messages
from langchain_ste.explore.verdict import combine, signals
from langchain_ste.trajectory import Step

METHODS = ("model", "grounded-only", "grounded")


@dataclass
class Labelled:
    """One judged-to-be transcript with its truth from the checker."""

    question: str
    calls: list[dict[str, Any]]
    answer: str
    expected: list[str]
    correct: bool
    steps: list[Step]


def say(message: str) -> None:
    print(message, flush=True)


def replay(calls: list[dict[str, Any]], tools: dict[str, BaseTool]) -> list[Step]:
    """The recorded calls run again on the (deterministic) tools, as steps."""
    from langchain_ste.tools.execution import execute_tool_call

    steps = []
    for i, call in enumerate(calls):
        tool_call = {"name": call["name"], "args": call.get("args") or {}, "id": f"c{i}"}
        _, step = asyncio.run(execute_tool_call(tool_call, tools))  # type: ignore[arg-type]
        steps.append(step)
    return steps


def labelled(paths: list[Path], tools: dict[str, BaseTool]) -> list[Labelled]:
    """Every single-turn entry of the reports, deduplicated by what the judge would see."""
    seen: set[str] = set()
    out = []
    for path in paths:
        entries = json.loads(path.read_text(encoding="utf-8"))["entries"]
        for results in entries.values():
            for entry in results:
                if len(entry["turns"]) != 1 or entry.get("error"):
                    continue
                turn = entry["turns"][0]
                calls = [{"name": c["name"], "args": c.get("args") or {}} for c in turn["calls"]]
                key = json.dumps([turn["question"], calls, turn.get("answer", "")], sort_keys=True)
                if key in seen:
                    continue
                seen.add(key)
                out.append(
                    Labelled(
                        question=turn["question"],
                        calls=calls,
                        answer=str(turn.get("answer") or ""),
                        expected=list(turn.get("expected") or []),
                        correct=bool(entry["correct"]),
                        steps=replay(calls, tools),
                    )
                )
    return out


def rates(predicted: list[bool], truth: list[bool]) -> dict[str, Any]:
    """Confusion counts, precision, recall and accuracy of ``predicted`` against ``truth``.

    Example:
        >>> rates([True, True, False, False], [True, False, True, False])["precision"]
        0.5
    """
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    fp = sum(p and not t for p, t in zip(predicted, truth, strict=True))
    fn = sum(t and not p for p, t in zip(predicted, truth, strict=True))
    tn = len(truth) - tp - fp - fn
    return {
        "n": len(truth),
        "true_yes": tp,
        "false_yes": fp,
        "false_no": fn,
        "true_no": tn,
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "accuracy": round((tp + tn) / len(truth), 3) if truth else None,
    }


def judge(model: BaseChatModel, items: list[Labelled]) -> dict[str, list[bool]]:
    """The three verdicts of every item."""
    conversations = [reflection_messages(i.question, i.steps, i.answer) for i in items]
    replies = model.batch(conversations, config={"max_concurrency": 8})  # type: ignore[arg-type]
    verdicts: dict[str, list[bool]] = {m: [] for m in METHODS}
    for item, reply in zip(items, replies, strict=True):
        said, _ = parse_reflection(reply.text)
        sig = signals(item.steps, item.answer, model_verdict=said, targets=item.expected)
        verdicts["model"].append(said)
        verdicts["grounded-only"].append(combine({**sig, "model_verdict": False}, "grounded"))
        verdicts["grounded"].append(combine(sig, "grounded"))
    return verdicts


def load(spec: str) -> BaseChatModel:
    if spec == "scripted":
        from langchain_ste.testing import ScriptedChatModel

        return ScriptedChatModel(script=["Verdict: yes\nLesson: none."])
    from langchain_ste.models import load_chat_model

    return load_chat_model(spec, max_new_tokens=96)


def table(report: dict[str, Any]) -> str:
    lines = [
        "# How often the trial verdict is right (demo benchmark, checker = truth)",
        "",
        f"{report['transcripts']} distinct transcripts, {report['correct']} correct "
        f"(from {', '.join(report['sources'])}).",
        "",
        "| judge | method | yes | false yes | false no | precision | recall | accuracy |",
        "| --- | --- | --: | --: | --: | --: | --: | --: |",
    ]
    for name, methods in report["judges"].items():
        for method, r in methods.items():
            if method == "seconds":
                continue
            cells = [r["precision"], r["recall"], r["accuracy"]]
            shown = ["-" if c is None else f"{100 * c:.1f}" for c in cells]
            lines.append(
                f"| {name} | {method} | {r['true_yes'] + r['false_yes']} | {r['false_yes']} | "
                f"{r['false_no']} | {' | '.join(shown)} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, nargs="+", required=True)
    parser.add_argument("--judge", nargs="+", default=["local:qwen2.5-coder-1.5b"])
    parser.add_argument("--out", type=Path, default=Path("bench/results/judge"))
    args = parser.parse_args(argv)
    from langchain_ste.tools.demo import demo_tools

    tools = {t.name: t for t in demo_tools()}
    items = labelled(args.results, tools)
    truth = [i.correct for i in items]
    say(f"{len(items)} transcripts, {sum(truth)} correct")
    report: dict[str, Any] = {
        "sources": [str(p) for p in args.results],
        "transcripts": len(items),
        "correct": sum(truth),
        "judges": {},
    }
    for spec in args.judge:
        began = time.perf_counter()
        verdicts = judge(load(spec), items)
        report["judges"][spec] = {m: rates(verdicts[m], truth) for m in METHODS}
        report["judges"][spec]["seconds"] = round(time.perf_counter() - began, 1)
        say(f"{spec}: " + ", ".join(f"{m} {report['judges'][spec][m]}" for m in METHODS))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (args.out / "results.md").write_text(table(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
