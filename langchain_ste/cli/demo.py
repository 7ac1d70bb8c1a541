"""`ste demo`: the whole STE story on the example tools, offline, in a few minutes on a CPU.

1. **explore** the example tools (``convert_units``, ``search_catalog``) with simulated trial
   and error into an exploration memory, with a progress bar;
2. **show what was learned**: trials per tool, success rate, example queries, and the trials the
   middleware retrieves for the first held-out question;
3. **answer the held-out questions** (never seen during exploration) with a plain
   `create_agent` agent and with the same agent plus `STEMiddleware`, side by side;
4. with ``--finetune``, **train a short LoRA** on the successful trials (embedded model only) and
   answer the questions again with the adapter;
5. print a small results table and write ``results.md`` / ``.json`` / ``.png`` to ``--out``.

Running it again on the same ``--out`` resumes: finished trials are kept, not redone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from langchain_core.language_models import BaseChatModel
from rich.console import Console
from rich.table import Table

from langchain_ste.cli.app import BaseUrlOption, ModelOption, app, load_model_option
from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.tools.examples import HELD_OUT_QUESTIONS, example_tools
from langchain_ste.trial import Trial

DEMO_EPISODES = 2
DEMO_TRIALS = 2
DEMO_MAX_STEPS = 2
"""Model calls per held-out question: one to call a tool, one to answer with its result."""


@dataclass
class DemoResult:
    """What a demo run produced.

    Args:
        trials: every trial in the demo's memory after exploring.
        runs: the held-out results per condition (``baseline``, ``ste-in-context``, ...).
        paths: the report files (``md``, ``json`` and, with matplotlib, ``png``).
        seconds: wall time per stage.
    """

    trials: list[Trial]
    runs: dict[str, list[EntryResult]]
    paths: dict[str, Path]
    seconds: dict[str, float] = field(default_factory=dict)


def format_call(call: Mapping[str, Any]) -> str:
    """A recorded tool call, compactly: ``name(value, ...)``, arguments in order, None left out.

    Example:
        >>> format_call({"name": "convert_units", "args": {"value": 3, "to_unit": "cm"}})
        "convert_units(3, 'cm')"
        >>> format_call({"name": "search_catalog", "args": {"query": "mat", "category": None}})
        "search_catalog('mat')"
    """
    values = (call.get("args") or {}).values()
    args = ", ".join(repr(v) for v in values if v is not None)
    return f"{call.get('name')}({args})"


def outcome(result: EntryResult) -> str:
    """One cell of the side-by-side table: the first call that reached a tool, and a mark.

    Example:
        >>> from langchain_ste.evaluate.metrics import TurnResult
        >>> r = EntryResult(id="q", category="x", correct=True, turns=[TurnResult(
        ...     "hi", calls=[{"name": "search_catalog", "args": {"query": "mat"}}])])
        >>> outcome(r)
        "✓ search_catalog('mat')"
        >>> outcome(EntryResult(id="q", category="x", turns=[TurnResult("hi", malformed=1)]))
        '✗ (malformed tool call)'
    """
    if result.error:
        return f"✗ error: {result.error[:60]}"
    calls = [c for turn in result.turns for c in turn.calls]
    mark = "✓" if result.correct else "✗"
    if calls:
        extra = f" +{len(calls) - 1}" if len(calls) > 1 else ""
        return f"{mark} {format_call(calls[0])}{extra}"
    if any(turn.malformed for turn in result.turns):
        return f"{mark} (malformed tool call)"
    return f"{mark} (answered without a tool)"


def side_by_side(runs: Mapping[str, Sequence[EntryResult]]) -> Table:
    """A rich table: a row per held-out question, a column per condition."""
    table = Table(title="held-out questions (never seen while exploring)", show_lines=True)
    table.add_column("question")
    table.add_column("expected")
    for condition in runs:
        table.add_column(condition)
    # the example cases are the held-out questions, in order
    for question, *results in zip(HELD_OUT_QUESTIONS, *runs.values(), strict=False):
        expected = format_call({"name": question["tool"], "args": question["args"]})
        table.add_row(question["question"], expected, *(outcome(r) for r in results))
    return table


def metrics_table(runs: Mapping[str, Sequence[EntryResult]]) -> Table:
    """A rich table: a row per condition with well-formed, tool-match and correct rates."""
    from langchain_ste.evaluate.metrics import ALL, aggregate

    table = Table(title="results")
    for name in ("condition", "questions", "well-formed", "tool match", "correct"):
        table.add_column(name, justify="left" if name == "condition" else "right")
    for condition, results in runs.items():
        scores = aggregate(list(results))[ALL]
        rates = scores.rates()
        table.add_row(
            condition,
            str(scores.n),
            *(f"{100 * rates[m]:.0f}%" for m in ("well_formed", "tool_match", "correct")),
        )
    return table


def verdict_line(trials: Sequence[Trial], runs: Mapping[str, Sequence[EntryResult]]) -> str:
    """One sentence on what the run shows, from the numbers (never claims more than measured).

    Example:
        >>> base = [EntryResult(id="a", category="x")]
        >>> ste = [EntryResult(id="a", category="x", correct=True)]
        >>> t = Trial(trial_id="t", tools=["x"], episode=0, index=0, query="q", success=True)
        >>> verdict_line([t], {"baseline": base, "ste-in-context": ste})
        'ste-in-context: correct +100 points over the plain agent (1 successful trial explored).'
    """
    from langchain_ste.evaluate.metrics import ALL, aggregate

    wins = sum(t.success for t in trials)
    if not wins:
        return (
            f"Exploration found no successful trial in {len(trials)}, so the middleware had no "
            "exemplar to show: this model is too weak an explorer. Try a stronger one with "
            "--model (e.g. a 7B model on a local vLLM or Ollama server, with --base-url)."
        )
    rates = {c: aggregate(list(r))[ALL].rates()["correct"] for c, r in runs.items()}
    base = rates.pop("baseline", 0.0)
    parts = [
        f"{c}: correct {100 * (v - base):+.0f} points over the plain agent"
        for c, v in rates.items()
    ]
    return f"{'; '.join(parts)} ({wins} successful trial{'s' if wins != 1 else ''} explored)."


def run_demo(
    model: BaseChatModel,
    *,
    out: Path,
    episodes: int = DEMO_EPISODES,
    trials: int = DEMO_TRIALS,
    questions: int | None = None,
    k: int = 3,
    finetune: Callable[[list[Trial]], BaseChatModel | None] | None = None,
    console: Console | None = None,
) -> DemoResult:
    """Explore the example tools, show the memory, and compare agents on held-out questions.

    Args:
        model: the chat model (explorer and agent).
        out: the demo's folder: ``memory/`` (trials and Chroma index), ``adapter/`` and the
            ``results.*`` report. An existing folder is resumed.
        episodes: exploration episodes per tool.
        trials: trials per episode.
        questions: how many held-out questions to ask (default: all of them).
        k: exemplars the middleware retrieves per model call.
        finetune: given the explored trials, returns a fine-tuned model to evaluate too (or
            None to skip); ``ste demo --finetune`` passes a short LoRA run.
        console: where to print (default: stdout).

    Example:
        >>> import tempfile
        >>> from langchain_ste.testing import ScriptedExplorer
        >>> result = run_demo(ScriptedExplorer(), out=Path(tempfile.mkdtemp()), episodes=1,
        ...                   trials=1, questions=2, console=Console(quiet=True))
        >>> len(result.trials), list(result.runs), sorted(result.paths)[:2]
        (2, ['baseline', 'ste-in-context'], ['json', 'md'])
    """
    from langchain_ste.cli.explore import explore_with_progress, summary_table
    from langchain_ste.cli.show import memory_summary_table, summarize
    from langchain_ste.evaluate.report import write_report
    from langchain_ste.evaluate.runner import load_cases, run_benchmark
    from langchain_ste.exploit import STEMiddleware
    from langchain_ste.explore.settings import resolve_settings
    from langchain_ste.memory.chroma import ExplorationMemory

    console = console or Console()
    tools = example_tools()
    seconds: dict[str, float] = {}
    stages = 4 if finetune else 3

    def stage(n: int, text: str) -> float:
        console.rule(f"[bold]{n}/{stages} {text}")
        return time.perf_counter()

    started = stage(1, f"explore {', '.join(t.name for t in tools)}")
    memory = ExplorationMemory(out / "memory")
    before = len(memory)
    if before:
        console.print(f"resuming: {before} trials already explored in {out / 'memory'}")
    explored = explore_with_progress(
        model,
        tools,
        store={"memory": memory},
        total=len(tools) * episodes * trials,
        done_before=before,
        console=console,
        settings=resolve_settings(
            model, None, {"episodes_per_tool": episodes, "trials_per_episode": trials}
        ),
    )
    console.print(summary_table(explored))
    seconds["explore"] = time.perf_counter() - started

    started = stage(2, "what was learned")
    console.print(memory_summary_table(summarize(explored, examples=1), out / "memory"))
    cases = load_cases("examples", limit=questions)
    probe = cases[0].turns[0]
    found = memory.search_with_scores(probe, k, only_successful=True, diverse=True)
    console.print(f"for {probe!r} the middleware retrieves {len(found)} successful trial(s):")
    for trial, score in found:
        calls = ", ".join(format_call({"name": s.tool, "args": s.args}) for s in trial.steps)
        console.print(f"  {score:.2f}  {trial.query!r} -> {calls or '(no call)'}")
    seconds["show"] = time.perf_counter() - started

    started = stage(3, f"{len(cases)} held-out questions: plain agent vs STE middleware")
    runs: dict[str, list[EntryResult]] = {}

    def evaluate(condition: str, chat_model: BaseChatModel, middleware: Sequence[Any]) -> None:
        console.print(f"{condition} ...")
        runs[condition] = run_benchmark(
            chat_model,
            cases,
            middleware=middleware,
            condition=condition,
            benchmark="examples",
            max_steps=DEMO_MAX_STEPS,
            on_result=lambda r: console.print(f"  {r.id}: {outcome(r)} ({r.seconds:.1f} s)"),
        )

    evaluate("baseline", model, [])
    evaluate("ste-in-context", model, [STEMiddleware(memory, k=k)])
    seconds["answer"] = time.perf_counter() - started

    if finetune is not None:
        started = stage(4, "fine-tune a LoRA adapter on the successful trials")
        tuned = finetune(explored)
        if tuned is not None:
            evaluate("ste-finetuned", tuned, [])
        seconds["finetune"] = time.perf_counter() - started

    console.rule("[bold]results")
    console.print(side_by_side(runs))
    console.print(metrics_table(runs))
    console.print(verdict_line(explored, runs))
    meta = {
        "model": getattr(model, "model_name", None) or type(model).__name__,
        "episodes_per_tool": episodes,
        "trials_per_episode": trials,
        "k": k,
        "max_steps": DEMO_MAX_STEPS,
        "seconds": {name: round(value, 1) for name, value in seconds.items()},
    }
    paths = write_report(runs, out, title="ste demo: example tools", meta=meta)
    console.print("report: " + ", ".join(str(p) for p in paths.values()))
    return DemoResult(trials=explored, runs=runs, paths=paths, seconds=seconds)


def lora_finetuner(
    out: Path, *, steps: int, console: Console
) -> Callable[[list[Trial]], BaseChatModel | None]:
    """The ``finetune`` step of `run_demo` for the embedded model: a short LoRA run."""

    def finetune(trials: list[Trial]) -> BaseChatModel | None:
        from langchain_ste.finetune import build_sft_records
        from langchain_ste.finetune.lora import train_lora
        from langchain_ste.models import load_chat_model

        try:
            records, _ = build_sft_records(trials, example_tools())
        except ValueError as exc:
            console.print(f"no successful trials to train on: {exc}; skipping fine-tuning")
            return None
        report = train_lora(records, out_dir=out / "adapter", max_steps=steps, progress=False)
        curve = report.loss_curve or [float("nan")]
        console.print(
            f"trained on {len(records)} records, {report.steps} steps: loss "
            f"{curve[0]:.2f} -> {curve[-1]:.2f} ({report.seconds:.0f} s)"
        )
        return load_chat_model(f"local+adapter={out / 'adapter'}", max_new_tokens=96)

    return finetune


@app.command("demo")
def demo(
    model: ModelOption = "local",
    base_url: BaseUrlOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Demo folder (resumed).")] = Path(
        "ste-demo"
    ),
    episodes: Annotated[
        int, typer.Option("--episodes", min=1, help="Episodes per tool.")
    ] = DEMO_EPISODES,
    trials: Annotated[
        int, typer.Option("--trials", min=1, help="Trials per episode.")
    ] = DEMO_TRIALS,
    questions: Annotated[
        int | None, typer.Option("--questions", min=1, help="Held-out questions (default: all).")
    ] = None,
    finetune: Annotated[
        bool, typer.Option("--finetune", help="Also train a short LoRA (embedded model only).")
    ] = False,
    lora_steps: Annotated[int, typer.Option("--lora-steps", min=1)] = 30,
) -> None:
    """Explore the example tools, show what was learned, and compare a plain agent with STE."""
    console = Console()
    local = model == "local" or model.startswith("local+")
    options: dict[str, Any] = {"max_new_tokens": 96} if local else {}
    chat_model = load_model_option(model, base_url, **options)
    tuner = None
    if finetune:
        if model != "local":
            raise typer.BadParameter(
                "fine-tuning in the demo trains the embedded model: use --model local",
                param_hint="--finetune",
            )
        tuner = lora_finetuner(out, steps=lora_steps, console=console)
    started = time.perf_counter()
    run_demo(
        chat_model,
        out=out,
        episodes=episodes,
        trials=trials,
        questions=questions,
        finetune=tuner,
        console=console,
    )
    console.print(f"done in {time.perf_counter() - started:.0f} s")


__all__ = [
    "DemoResult",
    "demo",
    "format_call",
    "lora_finetuner",
    "metrics_table",
    "outcome",
    "run_demo",
    "side_by_side",
    "verdict_line",
]
