"""One table of every BFCL run under a folder, and each run by the API classes its entries use.

Every BFCL entry involves ``GorillaFileSystem``; what tells entries apart is the other class
(``TwitterAPI``, ``MathAPI``, ``MessageAPI``, ``TicketAPI``) or none. The run reports
(``bench/bfcl_pipeline.py``) keep BFCL's own category (``single_turn_base`` /
``multi_turn_base``); this script reads them back, regroups their entries by class and writes
``summary.md`` beside them (the reports themselves are only read).

Usage::

    python bench/bfcl_summary.py --root bench/results/bfcl-qwen
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.evaluate.pipeline import correct_rate

FILE_SYSTEM = "GorillaFileSystem"
SHOWN = ("baseline", "ste-in-context", "ste-fine-tuned", "explorer-zero-shot")


def class_label(classes: Iterable[str]) -> str:
    """An entry's group: its classes besides the file system, or the file system alone.

    Example:
        >>> class_label(["GorillaFileSystem", "TwitterAPI"]), class_label(["GorillaFileSystem"])
        ('TwitterAPI', 'GorillaFileSystem only')
    """
    others = sorted(set(classes) - {FILE_SYSTEM})
    return " + ".join(others) or f"{FILE_SYSTEM} only"


def by_class(
    results: dict[str, list[EntryResult]], classes: dict[str, list[str]]
) -> dict[str, list[EntryResult]]:
    """The same results, each entry's category replaced by its `class_label`."""
    return {
        condition: [replace(r, category=class_label(classes.get(r.id, []))) for r in rows]
        for condition, rows in results.items()
    }


def _cell(rows: list[EntryResult] | None) -> str:
    if not rows:
        return "-"
    return f"{100 * correct_rate(rows):.1f} ({sum(r.correct for r in rows)}/{len(rows)})"


def summary(runs: dict[str, tuple[dict[str, Any], dict[str, list[EntryResult]]]],
            classes: dict[str, list[str]]) -> str:  # fmt: skip
    """The markdown: one row per run, then each run's correctness by class."""
    from langchain_ste.evaluate.report import comparison_table

    lines = [
        "# BFCL with the Qwen2.5-Coder models: every run, and by API class",
        "",
        "Correct % (entries correct / scored). Baseline: the learner's better zero-shot "
        "protocol. Written by `python bench/bfcl_summary.py`; each run's own report is in its "
        "folder.",
        "",
        "| run | view | learner | trials (usable) | " + " | ".join(SHOWN) + " |",
        "| --- | --- | --- | --: |" + " --: |" * len(SHOWN),
    ]
    for name, (meta, results) in runs.items():
        learner = str(meta.get("learner", "?")).split("/")[-1]
        trials = f"{meta.get('trials', '?')} ({meta.get('successful_trials', '?')})"
        cells = " | ".join(_cell(results.get(c)) for c in SHOWN)
        lines.append(f"| {name} | {meta.get('benchmark', '?')} | {learner} | {trials} | {cells} |")
    for name, (_, results) in runs.items():
        shown = {c: results[c] for c in SHOWN if c in results}
        grouped = by_class(shown, classes)
        counts = Counter(r.category for r in next(iter(grouped.values()), []))
        table = comparison_table(grouped)
        for label, n in counts.items():
            table = table.replace(f"| {label} |", f"| {label} ({n}) |")
        lines += ["", f"## {name}: correct % by class (entries)", "", table]
    return "\n".join(lines) + "\n"


def load_runs(root: Path) -> dict[str, tuple[dict[str, Any], dict[str, list[EntryResult]]]]:
    """Each ``root/*/results.json``: its meta and results, by folder name (sorted)."""
    from langchain_ste.evaluate.report import load_results

    runs = {}
    for path in sorted(root.glob("*/results.json")):
        meta = json.loads(path.read_text(encoding="utf-8")).get("meta", {})
        runs[path.parent.name] = (meta, load_results(path))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("bench/results/bfcl-qwen"))
    args = parser.parse_args(argv)
    from langchain_ste.evaluate.benchmarks.bfcl.data import load_entries

    runs = load_runs(args.root)
    if not runs:
        print(f"no */results.json under {args.root}")
        return 1
    ids = sorted({r.id for _, results in runs.values() for rows in results.values() for r in rows})
    classes = {e.id: e.involved_classes for e in load_entries(ids=ids)}
    out = args.root / "summary.md"
    out.write_text(summary(runs, classes), encoding="utf-8")
    print(out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
