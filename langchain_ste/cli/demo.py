"""`ste demo`: the whole STE story on the help-desk tools, offline, on a CPU.

1. **explore**: the explorer (default: the embedded Qwen2.5-Coder-1.5B) explores the six
   help-desk tools (`langchain_ste.tools.demo`) with simulated trial and error, with a progress bar;
2. **what was learned**: trials per tool, success rate, an example query, and the trials the
   middleware retrieves for the first held-out question;
3. **the learner answers 24 held-out questions** (default: the embedded Qwen2.5-Coder-0.5B) as
   ``baseline`` (its best zero-shot tool format: native calls or ReAct text, both shown),
   ``ste-in-context`` (`STEMiddleware`), ``ste-fine-tuned`` (a LoRA adapter trained on the explored
   trials; ``--no-finetune`` skips it), and the explorer's own zero-shot score for reference;
4. a results table, one line on what the numbers mean, and ``results.md`` / ``.json`` / ``.png``.

It runs `langchain_ste.evaluate.pipeline.run_pipeline`, like the benches. Running it again on
the same ``--out`` resumes: finished trials are kept, measured conditions are not redone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from rich.console import Console
from rich.table import Table

from langchain_ste.cli.app import app, load_model_option
from langchain_ste.evaluate.benchmarks.base import EvalCase
from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.evaluate.pipeline import (
    FineTune,
    Learner,
    PipelineResult,
    PipelineSettings,
    correct_rate,
    lora_finetune,
    spec_learner,
)
from langchain_ste.explore.settings import ExploreSettings
from langchain_ste.models import DEFAULT_EXPLORER_SPEC, DEFAULT_LEARNER_SPEC
from langchain_ste.trial import Trial, is_usable

DEMO_EXPLORE = ExploreSettings(
    episodes_per_tool=2,
    trials_per_episode=2,
    max_steps=3,
    verdict_mode="grounded",
    max_concurrency=8,
)
"""The demo's exploration: 6 tools x 2 episodes x 2 trials, up to 3 tool calls per trial (room
to recover from an error), execution-grounded verdicts; no act demonstrations (as prior chat
turns they made the native-format explorer answer without calling, see docs/evaluation.md)."""
DEMO_SETTINGS = PipelineSettings(explore=DEMO_EXPLORE, k=3, max_steps=4, lora_steps=60)
LOCAL_OPTIONS = {"max_new_tokens": 128}


def format_call(call: Mapping[str, Any]) -> str:
    """A recorded tool call, compactly: ``name(value, ...)``, arguments in order, None left out.

    Example:
        >>> format_call({"name": "get_order", "args": {"order_id": "ORD-88213"}})
        "get_order('ORD-88213')"
        >>> format_call({"name": "search_catalog", "args": {"query": "mat", "category": None}})
        "search_catalog('mat')"
    """
    values = (call.get("args") or {}).values()
    args = ", ".join(repr(v) for v in values if v is not None)
    return f"{call.get('name')}({args})"


def outcome(result: EntryResult) -> str:
    """One cell of the side-by-side table: the calls that reached a tool (at most two), a mark.

    Example:
        >>> from langchain_ste.evaluate.metrics import TurnResult
        >>> r = EntryResult(id="q", category="x", correct=True, turns=[TurnResult(
        ...     "hi", calls=[{"name": "get_order", "args": {"order_id": "ORD-1"}}])])
        >>> outcome(r)
        "✓ get_order('ORD-1')"
        >>> outcome(EntryResult(id="q", category="x", turns=[TurnResult("hi", malformed=1)]))
        '✗ (malformed tool call)'
    """
    if result.error:
        return f"✗ error: {result.error[:60]}"
    calls = [c for turn in result.turns for c in turn.calls]
    mark = "✓" if result.correct else "✗"
    if calls:
        shown = " → ".join(format_call(c) for c in calls[:2])
        extra = f" +{len(calls) - 2}" if len(calls) > 2 else ""
        return f"{mark} {shown}{extra}"
    if any(turn.malformed for turn in result.turns):
        return f"{mark} (malformed tool call)"
    return f"{mark} (answered without a tool)"


def side_by_side(cases: Sequence[EvalCase], runs: Mapping[str, Sequence[EntryResult]]) -> Table:
    """A rich table: a row per held-out question, a column per condition."""
    table = Table(title="held-out questions (never seen while exploring)", show_lines=True)
    table.add_column("question")
    for condition in runs:
        table.add_column(condition)
    by_id = {c: {r.id: r for r in results} for c, results in runs.items()}
    for case in cases:
        cells = [outcome(by_id[c][case.id]) if case.id in by_id[c] else "" for c in runs]
        table.add_row(case.turns[0], *cells)
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
        >>> from langchain_ste.trajectory import Step
        >>> t = Trial.from_steps(trial_id="t", tools=["x"], episode=0, index=0, query="q",
        ...     success=True, steps=[Step(tool="x", args={}, call_id="c", output="ok")])
        >>> verdict_line([t], {"baseline": base, "ste-in-context": ste})
        'ste-in-context: correct +100 points over the baseline (1 of 1 explored trials usable).'
    """
    wins = sum(is_usable(t) for t in trials)
    if not wins:
        return (
            f"Exploration kept no usable trial of {len(trials)}, so STE had nothing to teach: "
            "try a stronger explorer with --explorer (e.g. a 7B model on a vLLM or Ollama "
            "server, with --explorer-base-url)."
        )
    base = correct_rate(runs.get("baseline", []))
    parts = [
        f"{c}: correct {100 * (correct_rate(r) - base):+.0f} points over the baseline"
        for c, r in runs.items()
        if c.startswith("ste-")
    ]
    return f"{'; '.join(parts)} ({wins} of {len(trials)} explored trials usable)."


def run_demo(
    explorer: BaseChatModel,
    learner: Learner,
    *,
    out: Path,
    settings: PipelineSettings = DEMO_SETTINGS,
    tools: Sequence[BaseTool] | None = None,
    cases: Sequence[EvalCase] | None = None,
    finetune: FineTune | None = None,
    console: Console | None = None,
) -> PipelineResult:
    """Explore the demo tools, show the memory, and score the learner without and with STE.

    Args:
        explorer: the exploring model.
        learner: builds the answering model per tool protocol and adapter (`spec_learner`).
        out: the demo's folder (``memory/``, ``adapter/``, ``results.*``); resumed.
        settings: what to run (default `DEMO_SETTINGS`).
        tools: the tools (default: the help desk, `langchain_ste.tools.demo.demo_tools`).
        cases: the held-out questions (default: its 24, `demo_cases`).
        finetune: the fine-tuning step (needed when ``settings.finetune``).
        console: where to print (default: stdout).

    Example:
        >>> import tempfile
        >>> from langchain_ste.testing import ScriptedExplorer
        >>> quick = replace(DEMO_SETTINGS, finetune=False, explorer_reference=False,
        ...     explore=replace(DEMO_EXPLORE, episodes_per_tool=1, trials_per_episode=1))
        >>> from langchain_ste.evaluate.benchmarks.examples import demo_cases
        >>> result = run_demo(ScriptedExplorer(), lambda p, a: ScriptedExplorer(),
        ...     out=Path(tempfile.mkdtemp()), settings=quick, cases=demo_cases(limit=2),
        ...     console=Console(quiet=True))
        >>> len(result.trials), list(result.runs)
        (6, ['baseline', 'ste-in-context', 'zero-shot-react'])
    """
    from langchain_ste.cli.progress import explore_with_progress, summary_table
    from langchain_ste.cli.show import memory_summary_table, summarize
    from langchain_ste.evaluate.benchmarks.examples import demo_cases
    from langchain_ste.evaluate.pipeline import run_pipeline
    from langchain_ste.memory.chroma import ExplorationMemory
    from langchain_ste.tools.demo import demo_tools

    console = console or Console()
    tools = list(tools) if tools is not None else demo_tools()
    cases = list(cases) if cases is not None else demo_cases()
    explore = settings.explore
    total = len(tools) * explore.episodes_per_tool * explore.trials_per_episode

    def explore_fn(model: BaseChatModel, tools: Sequence[BaseTool], **kwargs: Any) -> list[Trial]:
        memory = kwargs.pop("memory")
        console.rule(f"[bold]1 explore {', '.join(t.name for t in tools)}")
        if len(memory):
            console.print(f"resuming: {len(memory)} trials already explored in {out / 'memory'}")
        return explore_with_progress(
            model,
            tools,
            store={"memory": memory},
            total=total,
            done_before=len(memory),
            console=console,
            **kwargs,
        )

    def on_event(stage: str, details: dict[str, Any]) -> None:
        if stage == "explored":
            show_memory(details)
        elif stage == "condition":
            resumed = details.get("done_before") or 0
            note = f" (resumed: {resumed} questions already answered)" if resumed else ""
            console.print(f"[bold]{details['condition']}[/bold] ...{note}")
        elif stage == "reused":
            console.print(f"{details['condition']}: already measured in {out}, reused")
        elif stage == "result":
            r = details["result"]
            console.print(f"  {r.id}: {outcome(r)} ({r.seconds:.1f} s)")

    def show_memory(details: dict[str, Any]) -> None:
        memory = ExplorationMemory(out / "memory")
        trials = memory.trials()
        console.print(summary_table(trials))
        console.rule("[bold]2 what was learned")
        console.print(memory_summary_table(summarize(trials, examples=1), out / "memory"))
        probe = cases[0].turns[0]
        found = memory.search_with_scores(probe, settings.k, only_successful=True, diverse=True)
        console.print(f"for {probe!r} the middleware retrieves {len(found)} trial(s):")
        for trial, score in found:
            calls = ", ".join(format_call({"name": s.tool, "args": s.args}) for s in trial.steps)
            console.print(f"  {score:.2f}  {trial.query!r} -> {calls or '(no call)'}")
        console.rule(f"[bold]3 the learner answers {len(cases)} held-out questions")

    result = run_pipeline(
        explorer,
        learner,
        tools,
        cases,
        out=out,
        settings=settings,
        finetune=finetune,
        title="ste demo: help-desk tools",
        on_event=on_event,
        explore_fn=explore_fn,
    )
    console.rule("[bold]4 results")
    console.print(side_by_side(cases, result.runs))
    console.print(metrics_table(result.runs))
    console.print(verdict_line(result.trials, result.runs))
    console.print("report: " + ", ".join(str(p) for p in result.paths.values()))
    return result


def _is_local(spec: str) -> bool:
    return spec == "local" or spec.startswith(("local:", "local+"))


@app.command("demo")
def demo(
    explorer: Annotated[
        str, typer.Option("--explorer", help="The exploring model (a load_chat_model spec).")
    ] = DEFAULT_EXPLORER_SPEC,
    learner: Annotated[
        str, typer.Option("--learner", help="The model that answers (and is fine-tuned).")
    ] = DEFAULT_LEARNER_SPEC,
    explorer_base_url: Annotated[
        str | None, typer.Option("--explorer-base-url", help="OpenAI-compatible server.")
    ] = None,
    learner_base_url: Annotated[
        str | None, typer.Option("--learner-base-url", help="OpenAI-compatible server.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Demo folder (resumed).")] = Path(
        "ste-demo"
    ),
    episodes: Annotated[
        int, typer.Option("--episodes", min=1, help="Episodes per tool.")
    ] = DEMO_EXPLORE.episodes_per_tool,
    trials: Annotated[
        int, typer.Option("--trials", min=1, help="Trials per episode.")
    ] = DEMO_EXPLORE.trials_per_episode,
    questions: Annotated[
        int | None, typer.Option("--questions", min=1, help="Held-out questions (default: all).")
    ] = None,
    finetune: Annotated[
        bool, typer.Option("--finetune/--no-finetune", help="Train and score a LoRA adapter.")
    ] = True,
    lora_steps: Annotated[int, typer.Option("--lora-steps", min=1)] = DEMO_SETTINGS.lora_steps,
) -> None:
    """Explore the help-desk tools, show what was learned, and score a learner before and after."""
    from langchain_ste.evaluate.benchmarks.examples import demo_cases
    from langchain_ste.tools.demo import demo_tools

    console = Console()
    if finetune and not _is_local(learner):
        console.print(
            f"fine-tuning trains a local learner; {learner!r} is not one: skipping it "
            "(serve a fine-tuned model under its own name instead)"
        )
        finetune = False
    local_options = LOCAL_OPTIONS if _is_local(explorer) else {}
    explorer_model = load_model_option(
        explorer, explorer_base_url, option="--explorer", **local_options
    )
    learner_options = LOCAL_OPTIONS if _is_local(learner) else {}
    load_model_option(learner, learner_base_url, option="--learner", **learner_options)
    settings = replace(
        DEMO_SETTINGS,
        explore=replace(DEMO_EXPLORE, episodes_per_tool=episodes, trials_per_episode=trials),
        finetune=finetune,
        lora_steps=lora_steps,
        protocols=("native", "react") if _is_local(learner) else ("native",),
    )
    tools = demo_tools()
    tuner = lora_finetune(tools, base=learner, steps=lora_steps) if finetune else None
    started = time.perf_counter()
    run_demo(
        explorer_model,
        spec_learner(learner, base_url=learner_base_url, **learner_options),
        out=out,
        settings=settings,
        tools=tools,
        cases=demo_cases(limit=questions),
        finetune=tuner,
        console=console,
    )
    console.print(f"done in {time.perf_counter() - started:.0f} s")


__all__ = [
    "DEMO_EXPLORE",
    "DEMO_SETTINGS",
    "demo",
    "format_call",
    "metrics_table",
    "outcome",
    "run_demo",
    "side_by_side",
    "verdict_line",
]
