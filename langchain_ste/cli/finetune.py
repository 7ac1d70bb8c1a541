"""`ste export` and `ste finetune`: trials -> a fine-tuning dataset, or on to a LoRA adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from langchain_ste.cli.app import app

_FORMATS = {"react": "react", "hf": "native", "native": "native", "openai": "openai"}


def load_trials_or_exit(path: Path) -> list[Any]:
    """The trials of a ``trials.jsonl`` file or of an exploration folder holding one.

    Example:
        >>> try:
        ...     load_trials_or_exit(Path("/nonexistent"))
        ... except typer.BadParameter as exc:
        ...     print(exc.message)
        no trials file at /nonexistent/trials.jsonl: run `ste explore` first
    """
    from langchain_ste.trial_log import read_trials

    source = path / "trials.jsonl" if path.is_dir() or not path.suffix else path
    if not source.is_file():
        raise typer.BadParameter(f"no trials file at {source}: run `ste explore` first")
    return read_trials(source)


def tools_or_none(spec: str | None) -> list[Any] | None:
    """The tools of an import spec (``module:attr``), or None to rebuild schemas from trials."""
    if spec is None:
        return None
    from langchain_ste.tools.loading import load_tools

    try:
        return load_tools(spec)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tools") from exc


def previous_records(folders: list[Path]) -> list[list[dict[str, Any]]]:
    """The records each earlier round trained on (``round_records.jsonl`` in its adapter)."""
    from langchain_ste.finetune.dataset import read_jsonl
    from langchain_ste.finetune.replay import RECORDS_FILE

    rounds = []
    for folder in folders:
        path = folder / RECORDS_FILE
        if not path.is_file():
            raise typer.BadParameter(
                f"{folder} has no {RECORDS_FILE}: pass adapter folders written by `ste finetune`",
                param_hint="--previous",
            )
        rounds.append(read_jsonl(path))
    return rounds


ToolsOption = Annotated[
    str | None,
    typer.Option(
        "--tools",
        help="Import spec of the tools (module:attr); default: schemas rebuilt from the trials.",
    ),
]


@app.command("export")
def export_command(
    trials: Annotated[Path, typer.Argument(help="trials.jsonl, or an exploration folder.")],
    out: Annotated[Path, typer.Argument(help="The JSONL file to write.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="react, hf (= native) or openai.")
    ] = "react",
    tools: ToolsOption = None,
    include_failed: Annotated[
        bool, typer.Option("--include-failed", help="Also export unsuccessful trials.")
    ] = False,
    dedupe: Annotated[bool, typer.Option(help="Drop repeated queries.")] = True,
    max_per_tool: Annotated[
        int | None, typer.Option("--max-per-tool", help="At most N examples per tool.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Export trials as a fine-tuning dataset (JSONL, plus tools.json with the tool schemas)."""
    from langchain_ste.finetune.dataset import export_dataset

    if format not in _FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(_FORMATS)}", param_hint="--format")
    try:
        stats = export_dataset(
            trials,
            out,
            format=_FORMATS[format],  # type: ignore[arg-type]
            tools=tools_or_none(tools),
            only_successful=not include_failed,
            dedupe=dedupe,
            max_per_tool=max_per_tool,
            seed=seed,
        )
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="TRIALS") from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{stats} -> {out}")


@app.command("finetune")
def finetune_command(
    trials: Annotated[Path, typer.Argument(help="trials.jsonl, or an exploration folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Adapter folder to write.")] = Path(
        "ste-adapter"
    ),
    base: Annotated[str, typer.Option("--base", help="Base model: local or a model folder.")] = (
        "local"
    ),
    tools: ToolsOption = None,
    replay: Annotated[
        float, typer.Option("--replay", help="Fraction of new examples replayed from --previous.")
    ] = 0.2,
    previous: Annotated[
        list[Path] | None,
        typer.Option("--previous", help="Earlier rounds' adapter folders (repeatable)."),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="New adapter instead of continuing the last previous.")
    ] = False,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Optimiser steps.")] = None,
    epochs: Annotated[float, typer.Option("--epochs")] = 1.0,
    lr: Annotated[float, typer.Option("--lr")] = 2e-4,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 4,
    grad_accum: Annotated[int, typer.Option("--grad-accum")] = 1,
    max_length: Annotated[int, typer.Option("--max-length", help="Longer: skipped.")] = 1024,
    packing: Annotated[bool, typer.Option("--packing", help="Pack examples.")] = False,
    rank: Annotated[int, typer.Option("--rank", help="LoRA rank.")] = 8,
    device: Annotated[str | None, typer.Option("--device")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Train a LoRA adapter on the successful trials (with replay of earlier rounds)."""
    from langchain_ste.finetune.dataset import build_sft_records, write_jsonl
    from langchain_ste.finetune.lora import train_lora
    from langchain_ste.finetune.replay import RECORDS_FILE, replay_mix

    loaded = load_trials_or_exit(trials)
    earlier = previous_records(list(previous or []))
    try:
        records, stats = build_sft_records(loaded, tools_or_none(tools), seed=seed)
        mixed = replay_mix(records, earlier, replay_fraction=replay, seed=seed)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    adapter = None if fresh or not previous else previous[-1]
    typer.echo(
        f"{stats}; training on {len(mixed)} records ({len(mixed) - len(records)} replayed)"
        + (f", continuing {adapter}" if adapter else "")
    )
    try:
        report = train_lora(
            mixed,
            out_dir=out,
            base=base,
            adapter=adapter,
            r=rank,
            alpha=2 * rank,
            epochs=epochs,
            max_steps=max_steps,
            lr=lr,
            batch_size=batch_size,
            grad_accum=grad_accum,
            max_length=max_length,
            packing=packing,
            device=device,
            seed=seed,
        )
    except ValueError as exc:  # includes an adapter for another base model
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    write_jsonl(records, out / RECORDS_FILE)
    curve = report.loss_curve
    typer.echo(
        f"{report.steps} steps, loss {curve[0]:.3f} -> {curve[-1]:.3f}, "
        f"{report.tokens_per_s:.0f} tokens/s -> {out}"
        if curve
        else f"{report.steps} steps -> {out}"
    )
