"""Reports of evaluation runs: markdown tables, a PNG plot, and JSON with every entry's outcome.

Results come grouped by condition (``baseline``, ``ste-in-context``, ``ste-finetuned``, ...), in
the order given; the first condition is the reference for the deltas of `comparison_table`. The
tables show our metrics and, beside them, the STE paper's (`langchain_ste.evaluate.metrics`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_ste.evaluate.metrics import ALL, METRICS, PAPER_METRICS, EntryResult, aggregate

logger = logging.getLogger(__name__)

Results = Mapping[str, Sequence[EntryResult]]
_LABELS = {
    "well_formed": "well-formed",
    "tool_match": "tool match",
    "correct": "correct",
    "paper_well_formed": "paper well-formed",
    "paper_api_match": "paper API match",
    "paper_correct": "paper correct",
}
METRIC_NOTES = (
    "Ours: **well-formed** = every reply followed the protocol (an answer without a call "
    "counts), **tool match** and **correct** over all entries. The STE paper's: **paper "
    "well-formed** = a parseable call is present in each turn that expects one, **paper API "
    "match** = the right functions, over the paper-well-formed entries only; paper correct is "
    "our correct."
)
"""The legend `write_report` puts under the tables."""


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def results_table(results: Results) -> str:
    """A markdown table: one row per condition and category (overall first), rates in percent,
    ours then the paper's (paper correct is our correct, not repeated).

    Example:
        >>> from langchain_ste.evaluate.metrics import EntryResult, TurnResult
        >>> turn = TurnResult("q", expected=["f"], replies=1, parsed=0)
        >>> table = results_table({"baseline": [EntryResult(id="a", category="x", turns=[turn])]})
        >>> print(table.replace("well-formed", "WF").replace(" match", ""))
        | condition | category | n | WF % | tool % | correct % | paper WF % | paper API % | errors |
        | --- | --- | --: | --: | --: | --: | --: | --: | --: |
        | baseline | all | 1 | 100.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0 |
        | baseline | x | 1 | 100.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0 |
    """
    shown = (*METRICS, *PAPER_METRICS[:2])
    lines = [
        f"| condition | category | n | {' | '.join(f'{_LABELS[m]} %' for m in shown)} | errors |",
        f"| --- | --- | --: |{' --: |' * len(shown)} --: |",
    ]
    for condition, entries in results.items():
        for category, scores in aggregate(list(entries)).items():
            rates = scores.all_rates()
            cells = " | ".join(_pct(rates[m]) for m in shown)
            lines.append(f"| {condition} | {category} | {scores.n} | {cells} | {scores.errors} |")
    return "\n".join(lines)


def comparison_table(results: Results, metric: str = "correct") -> str:
    """One metric side by side: a row per category, a column per condition, with the change
    from the first condition in points.

    Example:
        >>> from langchain_ste.evaluate.metrics import EntryResult
        >>> runs = {"baseline": [EntryResult(id="a", category="x")],
        ...         "ste": [EntryResult(id="a", category="x", correct=True)]}
        >>> print(comparison_table(runs))
        | correct % | baseline | ste |
        | --- | --: | --: |
        | all | 0.0 | 100.0 (+100.0) |
        | x | 0.0 | 100.0 (+100.0) |
    """
    if metric not in _LABELS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(_LABELS)}")
    conditions = list(results)
    scores = {c: aggregate(list(results[c])) for c in conditions}
    categories = [ALL, *sorted({k for s in scores.values() for k in s} - {ALL})]
    lines = [
        f"| {_LABELS[metric]} % | {' | '.join(conditions)} |",
        f"| --- |{' --: |' * len(conditions)}",
    ]
    for category in categories:
        cells, reference = [], None
        for condition in conditions:
            group = scores[condition].get(category)
            if group is None or group.n == 0:
                cells.append("-")
                continue
            value = 100 * group.all_rates()[metric]
            if reference is None:
                reference = value
                cells.append(f"{value:.1f}")
            else:
                cells.append(f"{value:.1f} ({value - reference:+.1f})")
        lines.append(f"| {category} | {' | '.join(cells)} |")
    return "\n".join(lines)


def plot_results(results: Results, path: str | Path, *, title: str = "") -> Path | None:
    """Save a grouped bar chart of the overall metrics per condition as PNG.

    Returns the path, or None when matplotlib is not installed (logged, not raised).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning("matplotlib is not installed (pip install matplotlib): no plot written")
        return None
    conditions = list(results)
    overall = [aggregate(list(results[c]))[ALL].rates() for c in conditions]
    width = 0.8 / max(len(conditions), 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (condition, rates) in enumerate(zip(conditions, overall, strict=True)):
        xs = [m + i * width for m in range(len(METRICS))]
        values = [100 * rates[m] for m in METRICS]
        bars = ax.bar(xs, values, width, label=condition)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks([m + width * (len(conditions) - 1) / 2 for m in range(len(METRICS))])
    ax.set_xticklabels([_LABELS[m] for m in METRICS])
    ax.set_ylabel("% of entries")
    ax.set_ylim(0, 105)
    ax.set_title(title or "tool use before / after STE")
    ax.legend()
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def report_dict(results: Results, *, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything as JSON-ready data: run metadata, scores per condition and category, and every
    entry's outcome.

    Each score holds the counts and a ``NAME_rate`` per metric, ours and the paper's
    (``correct_rate``, ``paper_api_match_rate``, ...).

    Example:
        >>> from langchain_ste.evaluate.metrics import EntryResult
        >>> data = report_dict({"base": [EntryResult(id="a", category="x")]}, meta={"seed": 0})
        >>> data["meta"], data["scores"]["base"]["all"]["n"], data["entries"]["base"][0]["id"]
        ({'seed': 0}, 1, 'a')
    """
    scores = {
        condition: {
            category: {**vars(s), **{f"{k}_rate": v for k, v in s.all_rates().items()}}
            for category, s in aggregate(list(entries)).items()
        }
        for condition, entries in results.items()
    }
    return {
        "meta": dict(meta or {}),
        "scores": scores,
        "entries": {c: [r.to_dict() for r in entries] for c, entries in results.items()},
    }


def write_report(
    results: Results,
    out_dir: str | Path,
    *,
    title: str = "Evaluation",
    meta: Mapping[str, Any] | None = None,
    name: str = "results",
) -> dict[str, Path]:
    """Write ``NAME.md`` (tables), ``NAME.json`` (every entry) and ``NAME.png`` (plot).

    Example:
        >>> import tempfile
        >>> from langchain_ste.evaluate.metrics import EntryResult
        >>> paths = write_report({"baseline": [EntryResult(id="a", category="x")]},
        ...                      tempfile.mkdtemp())
        >>> sorted(paths)
        ['json', 'md', 'png']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = report_dict(results, meta=meta)
    paths = {"json": out / f"{name}.json", "md": out / f"{name}.md"}
    paths["json"].write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    parts = [f"# {title}", ""]
    if meta:
        parts += [f"- {k}: `{v}`" for k, v in meta.items()] + [""]
    if len(results) > 1:
        parts += ["## Correctness by condition", "", comparison_table(results), ""]
        parts += [
            "## Paper API match by condition",
            "",
            comparison_table(results, "paper_api_match"),
            "",
        ]
    parts += ["## All metrics", "", results_table(results), "", METRIC_NOTES, ""]
    paths["md"].write_text("\n".join(parts), encoding="utf-8")
    png = plot_results(results, out / f"{name}.png", title=title)
    if png is not None:
        paths["png"] = png
    return paths


def load_results(path: str | Path) -> dict[str, list[EntryResult]]:
    """Read back the entries of a JSON report, by condition (to merge runs into one report).

    Example:
        >>> import tempfile
        >>> from langchain_ste.evaluate.metrics import EntryResult
        >>> paths = write_report({"ste": [EntryResult(id="a", category="x")]}, tempfile.mkdtemp())
        >>> load_results(paths["json"])["ste"][0].id
        'a'
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {c: [EntryResult.from_dict(r) for r in rows] for c, rows in data["entries"].items()}


def scored_before(path: str | Path, key: Mapping[str, Any]) -> list[EntryResult] | None:
    """The one condition of a report written with ``meta={"key": key}``, or None when there is
    no such report or its key differs (a resumable bench scores that row again).

    Example:
        >>> import tempfile
        >>> from langchain_ste.evaluate.metrics import EntryResult
        >>> paths = write_report({"row": [EntryResult(id="a", category="x")]}, tempfile.mkdtemp(),
        ...                      meta={"key": {"k": 3}})
        >>> len(scored_before(paths["json"], {"k": 3})), scored_before(paths["json"], {"k": 4})
        (1, None)
    """
    if not Path(path).is_file():
        return None
    meta = json.loads(Path(path).read_text(encoding="utf-8")).get("meta") or {}
    if meta.get("key") != json.loads(json.dumps(key, default=str)):
        return None
    return next(iter(load_results(path).values()), None)
