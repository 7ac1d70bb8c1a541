"""`ste eval`: score a model on a benchmark, as is or with STE (memory and / or adapter)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from langchain_ste.cli.app import BaseUrlOption, ModelOption, app, load_model_option
from langchain_ste.evaluate.runner import BENCHMARKS, DEFAULT_MAX_STEPS


def condition_name(memory: Path | None, adapter: Path | None) -> str:
    """The report label of a run: what STE adds to the model.

    Example:
        >>> condition_name(None, None), condition_name(Path("m"), Path("a"))
        ('baseline', 'ste-finetuned+in-context')
    """
    if adapter and memory:
        return "ste-finetuned+in-context"
    if adapter:
        return "ste-finetuned"
    return "ste-in-context" if memory else "baseline"


def model_spec(model: str, adapter: Path | None) -> str:
    """The `load_chat_model` spec with the adapter folded in (adapters fit the embedded model).

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> model_spec("local", Path(folder)) == f"local+adapter={folder}"
        True
    """
    if adapter is None:
        return model
    if model != "local" and not model.startswith("local:"):
        raise typer.BadParameter(
            f"--adapter applies to an embedded model (--model local[:NAME]), not {model!r}; "
            "serve a fine-tuned remote model under its own name instead",
            param_hint="--adapter",
        )
    if not adapter.is_dir():
        raise typer.BadParameter(f"no adapter folder at {adapter}", param_hint="--adapter")
    return f"{model}+adapter={adapter}"


def ste_middleware(memory: Path, k: int) -> list[Any]:
    """``[STEMiddleware(ExplorationMemory(memory), k=k)]``, with clear errors."""
    if not (memory / "trials.jsonl").exists():
        raise typer.BadParameter(
            f"no exploration memory at {memory} (no trials.jsonl): run `ste explore` first",
            param_hint="--memory",
        )
    from langchain_ste.exploit import STEMiddleware
    from langchain_ste.memory.chroma import ExplorationMemory

    return [STEMiddleware(ExplorationMemory(memory), k=k)]


@app.command("eval")
def eval_command(
    benchmark: Annotated[
        str, typer.Option("--benchmark", "-b", help=f"One of: {', '.join(BENCHMARKS)}.")
    ] = "examples",
    model: ModelOption = "local",
    base_url: BaseUrlOption = None,
    memory: Annotated[
        Path | None,
        typer.Option("--memory", help="Exploration memory folder: adds STE exemplars."),
    ] = None,
    adapter: Annotated[
        Path | None,
        typer.Option("--adapter", help="LoRA adapter folder from `ste finetune` (local model)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most N entries.")] = None,
    subset: Annotated[
        str, typer.Option("--subset", help="BFCL: 'all' (200) or 'cpu' (fixed seeded sample).")
    ] = "all",
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            help="BFCL multi-turn category: base, miss_func, miss_param, long_context or all "
            "(repeatable; default base).",
        ),
    ] = None,
    max_steps: Annotated[
        int, typer.Option("--max-steps", help="Model calls per user turn (BFCL's 20).")
    ] = DEFAULT_MAX_STEPS,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Score calls written as Python literals (single quotes, trailing commas) as "
            "well-formed; by default only JSON is.",
        ),
    ] = False,
    k: Annotated[int, typer.Option("--k", help="Exemplars per model call with --memory.")] = 3,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    condition: Annotated[
        str | None, typer.Option("--condition", help="Report label (default: from options).")
    ] = None,
    merge: Annotated[
        bool, typer.Option("--merge", help="Add this condition to an existing report in --out.")
    ] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("ste-eval"),
) -> None:
    """Evaluate a model on a benchmark and write results.md / .json / .png."""
    from langchain_ste.evaluate.benchmarks.bfcl import BFCLUnavailableError
    from langchain_ste.evaluate.metrics import ALL, aggregate
    from langchain_ste.evaluate.report import load_results, write_report
    from langchain_ste.evaluate.runner import load_cases, run_benchmark

    if benchmark not in BENCHMARKS:
        raise typer.BadParameter(f"choose one of {', '.join(BENCHMARKS)}", param_hint="--benchmark")
    try:
        cases = load_cases(
            benchmark, limit=limit, subset=subset, seed=seed, category=category or "base"
        )
    except BFCLUnavailableError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    label = condition or condition_name(memory, adapter)
    middleware = ste_middleware(memory, k) if memory else []
    chat_model = load_model_option(model_spec(model, adapter), base_url)
    typer.echo(f"{benchmark}: {len(cases)} entries, condition {label}, model {model}")

    def progress(result: Any) -> None:
        mark = "error" if result.error else ("ok" if result.correct else "wrong")
        typer.echo(f"  {result.id}: {mark} ({result.seconds:.1f} s)")

    started = time.perf_counter()
    results = run_benchmark(
        chat_model,
        cases,
        middleware=middleware,
        condition=label,
        benchmark=benchmark,
        max_steps=max_steps,
        seed=seed,
        on_result=progress,
        lenient=lenient,
    )
    runs: dict[str, list[Any]] = {}
    if merge and (out / "results.json").exists():
        runs = load_results(out / "results.json")
    runs[label] = results
    meta = {
        "benchmark": benchmark,
        "model": model,
        "subset": subset,
        **({"category": ",".join(category or ["base"])} if benchmark.startswith("bfcl") else {}),
        "limit": limit,
        "lenient": lenient,
        "max_steps": max_steps,
        "seed": seed,
        "seconds": round(time.perf_counter() - started),
    }
    paths = write_report(runs, out, title=f"ste eval: {benchmark}", meta=meta)
    rates = aggregate(results)[ALL].all_rates()
    typer.echo(
        f"well-formed {100 * rates['well_formed']:.1f}%  tool match "
        f"{100 * rates['tool_match']:.1f}%  correct {100 * rates['correct']:.1f}%  "
        f"(paper: well-formed {100 * rates['paper_well_formed']:.1f}%  API match "
        f"{100 * rates['paper_api_match']:.1f}%)  -> {paths['md']}"
    )
