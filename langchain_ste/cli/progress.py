"""What `ste explore` and `ste demo` show while and after exploring: a bar, a summary table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from rich.console import Console
from rich.table import Table

from langchain_ste.trial import Trial, query_key


def summary_rows(trials: Sequence[Trial]) -> list[dict[str, Any]]:
    """Per target tool: trials, well-formed, clean executions, successes, distinct successes.

    Example:
        >>> t = Trial(trial_id="a/e000/t0", tools=["a"], episode=0, index=0, query="q",
        ...           success=True, signals={"parsed": True, "executed_ok": True})
        >>> summary_rows([t])
        [{'tools': 'a', 'trials': 1, 'well_formed': 1, 'executed_ok': 1, 'successful': 1, \
'distinct_successful': 1, 'errors': 0}]
    """
    groups: dict[str, list[Trial]] = {}
    for trial in trials:
        groups.setdefault("+".join(trial.tools), []).append(trial)
    return [
        {
            "tools": name,
            "trials": len(group),
            "well_formed": sum(bool(t.signals.get("parsed")) for t in group),
            "executed_ok": sum(bool(t.signals.get("executed_ok")) for t in group),
            "successful": sum(t.success for t in group),
            "distinct_successful": len({query_key(t) for t in group if t.success}),
            "errors": sum(t.error is not None for t in group),
        }
        for name, group in sorted(groups.items())
    ]


def explore_with_progress(
    chat_model: BaseChatModel,
    tools: Sequence[BaseTool],
    *,
    store: dict[str, Any],
    total: int,
    done_before: int = 0,
    console: Console | None = None,
    **options: Any,
) -> list[Trial]:
    """`explore` with a rich progress bar that advances per finished trial.

    Args:
        chat_model: the explorer model.
        tools: the tools to explore.
        store: ``{"memory": ExplorationMemory}`` or ``{"memory": directory}``.
        total: the trials this run will end with (the bar's length).
        done_before: trials already finished by an earlier run (resume starts the bar there).
        console: where the bar goes (default: stderr).
        **options: the rest of `explore`'s options (``on_event`` is taken by the bar).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from langchain_ste.explore import explore

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ok {task.fields[ok]}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task("exploring", total=total, completed=min(done_before, total), ok=0)
        successes = {"n": 0}

        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") == "trial":
                successes["n"] += bool(event.get("success"))
                bar.update(
                    task,
                    advance=1,
                    ok=successes["n"],
                    description=f"exploring {'+'.join(event.get('tools', []))}",
                )
            elif event.get("event") == "stopped":
                bar.update(task, description=f"stopped: {event.get('reason')}")

        return explore(chat_model, tools, **store, on_event=on_event, **options)


def summary_table(trials: Sequence[Trial], *, title: str = "exploration summary") -> Table:
    """`summary_rows` as a rich table."""
    table = Table(title=title)
    for i, header in enumerate(_HEADERS):
        table.add_column(header, no_wrap=i == 0, justify="left" if i == 0 else "right")
    for row in summary_rows(trials):
        table.add_row(*(str(v) for v in row.values()))
    return table


_HEADERS = ("tool", "trials", "parsed", "ran ok", "success", "distinct ok", "errors")


def finished_trials(out: Path, tools: Sequence[str]) -> int:
    """Trials of ``tools`` already in ``out`` (a resumed run starts its bar there)."""
    from langchain_ste.trial_log import TrialLog

    path = out / "trials.jsonl"
    if not path.exists():
        return 0
    return sum(bool(set(t.tools) & set(tools)) for t in TrialLog(path).read())


__all__ = ["explore_with_progress", "finished_trials", "summary_rows", "summary_table"]
