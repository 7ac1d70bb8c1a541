"""`ste show`: summarise an exploration memory, or print the trials that best match a query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from langchain_ste.cli.app import app
from langchain_ste.exploit.retriever import DEFAULT_MIN_SIMILARITY
from langchain_ste.trial import Trial, TrialSchemaError, is_usable
from langchain_ste.trial_log import TrialLog


@dataclass
class ToolSummary:
    """What a memory holds about one tool (``successful``: usable trials, see `successful`)."""

    tool: str
    trials: int = 0
    successful: int = 0
    emulated: int = 0
    duplicates: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        """Share of the tool's trials judged successful."""
        return self.successful / self.trials if self.trials else 0.0


def successful(trial: Trial) -> bool:
    """Whether ``ste show`` counts a trial as a success: `is_usable`, emulated ones included
    (they have their own column). A trial judged a success whose every call raised is not one.

    Example:
        >>> from langchain_ste.trajectory import Step
        >>> raised = Step(tool="add", args={}, call_id="c", status="error", error="boom")
        >>> t = Trial.from_steps(trial_id="a", tools=["add"], episode=0, index=0, query="q",
        ...           success=True, steps=[raised])
        >>> successful(t)
        False
    """
    return is_usable(trial, allow_emulated=True)


def summarize(trials: Sequence[Trial], *, examples: int = 3) -> list[ToolSummary]:
    """Per-tool counts and a few distinct example queries (successful ones first), by tool name.

    Example:
        >>> from langchain_ste.trajectory import Step
        >>> ts = [Trial.from_steps(trial_id=f"t{i}", tools=["add"], episode=0, index=i,
        ...             query=f"What is {i} + 1?", success=i > 0,
        ...             steps=[Step(tool="add", args={"a": i}, call_id="c", output="ok")])
        ...       for i in range(3)]
        >>> s = summarize(ts, examples=2)[0]
        >>> s.tool, s.trials, s.successful, s.examples
        ('add', 3, 2, ['What is 1 + 1?', 'What is 2 + 1?'])
    """
    by_tool: dict[str, ToolSummary] = {}
    verdicts = {t.trial_id: successful(t) for t in trials}
    # stable: successes first, in file order
    ranked = sorted(trials, key=lambda t: not verdicts[t.trial_id])
    for trial in ranked:
        for tool in trial.tools or ["(no tool)"]:
            s = by_tool.setdefault(tool, ToolSummary(tool))
            s.trials += 1
            s.successful += verdicts[trial.trial_id]
            s.emulated += bool(trial.emulated)
            s.duplicates += bool(trial.extra.get("duplicate_of"))
            query = trial.query.strip()
            if query and query not in s.examples and len(s.examples) < examples:
                s.examples.append(query)
    return [by_tool[name] for name in sorted(by_tool)]


def _short(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def memory_summary_table(summaries: Sequence[ToolSummary], directory: Path) -> Table:
    """`summarize`'s output as a rich table (what `ste show DIR` prints)."""
    table = Table(title=f"Exploration memory {directory}")
    for name in ("tool", "trials", "successful", "success rate", "emulated", "duplicates"):
        table.add_column(name, justify="left" if name == "tool" else "right")
    table.add_column("example queries")
    for s in summaries:
        table.add_row(
            s.tool,
            str(s.trials),
            str(s.successful),
            f"{s.success_rate:.0%}",
            str(s.emulated),
            str(s.duplicates),
            "\n".join(_short(q) for q in s.examples),
        )
    total = sum(s.trials for s in summaries)
    ok = sum(s.successful for s in summaries)
    if len(summaries) > 1:
        table.add_section()
        rate = f"{ok / total:.0%}" if total else "-"
        table.add_row("all tools", str(total), str(ok), rate, "", "", "")
    return table


def _read_trials(directory: Path) -> list[Trial]:
    path = directory / "trials.jsonl"
    if not path.is_file():
        raise typer.BadParameter(
            f"no exploration memory at {directory} (no trials.jsonl): check the path, or run "
            "`ste explore --out DIR` to create one",
            param_hint="DIR",
        )
    try:
        return TrialLog(path).read()
    except TrialSchemaError as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="DIR") from exc


@app.command("show")
def show_command(
    directory: Annotated[Path, typer.Argument(help="A memory folder (holds trials.jsonl).")],
    tool: Annotated[str | None, typer.Option("--tool", "-t", help="Only this tool.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Print the trials that best match this.")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="How many matches to print.", min=1)] = 5,
    min_similarity: Annotated[
        float,
        typer.Option(
            "--min-similarity",
            help="With --query: leave out trials less similar than this (cosine; 0 = all).",
        ),
    ] = DEFAULT_MIN_SIMILARITY,
    all_verdicts: Annotated[
        bool, typer.Option("--all", help="Match failed trials and near-duplicates too.")
    ] = False,
    examples: Annotated[
        int, typer.Option("--examples", help="Example queries per tool.", min=0)
    ] = 3,
    reindex: Annotated[
        bool, typer.Option("--reindex", help="Re-index if built with another embedding model.")
    ] = False,
) -> None:
    """Summarise a memory (trials per tool, success rate, example queries), or search it.

    With ``--query``, the matches are listed by similarity score, best first, and trials below
    ``--min-similarity`` are left out (so ``-k`` is not filled with unrelated trials).
    """
    console = Console()
    trials = _read_trials(directory)
    if tool is not None:
        trials = [t for t in trials if tool in t.tools]
        if not trials:
            raise typer.BadParameter(
                f"no trials of tool {tool!r} in {directory}", param_hint="--tool"
            )
    if query is None:
        console.print(memory_summary_table(summarize(trials, examples=examples), directory))
        return

    from langchain_ste.memory.chroma import ExplorationMemory, MemoryStoreError

    try:
        memory = ExplorationMemory(directory, create=False, reindex=reindex)
    except MemoryStoreError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    found = memory.search_with_scores(
        query,
        k,
        tools=[tool] if tool else None,
        only_successful=not all_verdicts,
        diverse=not all_verdicts,
        min_similarity=min_similarity,
    )
    found = sorted(found, key=lambda hit: hit[1], reverse=True)  # MMR picks, the table ranks
    table = Table(title=f"Top {k} trials for {query!r}")
    for name in ("#", "score", "tool", "verdict", "query", "final answer"):
        table.add_column(name, justify="right" if name in ("#", "score") else "left")
    for rank, (trial, score) in enumerate(found, 1):
        verdict = "success" if successful(trial) else "failure"
        if trial.emulated:
            verdict += " (emulated)"
        table.add_row(
            str(rank),
            f"{score:.3f}",
            ", ".join(trial.tools),
            verdict,
            _short(trial.query),
            _short(trial.final_answer, 60),
        )
    console.print(table)
    if not found:
        console.print(
            f"no matching trials at similarity >= {min_similarity} (use --all to include "
            "failures and near-duplicates, --min-similarity 0 for any similarity)"
        )
