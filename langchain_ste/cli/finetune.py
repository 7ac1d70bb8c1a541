"""`ste export` and `ste finetune`: trials -> a fine-tuning dataset, or on to a LoRA adapter.

Bad input (a missing or corrupt trials file, a file without trials, an output that is the input
or already exists without ``--force``) is a one-line error with exit code 2, and nothing is
written; every file these commands replace is written atomically (`langchain_ste.fileio`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from langchain_ste.cli.app import app, fail

_FORMATS = {"react": "react", "hf": "native", "native": "native", "openai": "openai"}


def trials_source(path: Path) -> Path:
    """The ``trials.jsonl`` meant by ``path`` (the file, or the one in an exploration folder).

    Example:
        >>> trials_source(Path("runs/1")), trials_source(Path("runs/1/trials.jsonl"))
        (PosixPath('runs/1/trials.jsonl'), PosixPath('runs/1/trials.jsonl'))
    """
    return path / "trials.jsonl" if path.is_dir() or not path.suffix else path


def load_trials_or_exit(path: Path) -> list[Any]:
    """The trials of a ``trials.jsonl`` file or of an exploration folder holding one; a
    missing, corrupt or empty file ends the command with a one-line error.

    Example:
        >>> try:
        ...     load_trials_or_exit(Path("/nonexistent"))
        ... except typer.Exit as exc:
        ...     print(exc.exit_code)
        2
    """
    from langchain_ste.trial import TrialSchemaError
    from langchain_ste.trial_log import read_trials

    source = trials_source(path)
    if not source.is_file():
        fail(f"no trials file at {source}: run `ste explore` first")
    try:
        loaded = read_trials(source)
    except TrialSchemaError as exc:
        fail(f"{exc} (is {source.name} a trials file written by `ste explore`?)")
    if not loaded:
        fail(f"{source} holds no trials: run `ste explore` first")
    return loaded


def tools_or_none(spec: str | None) -> list[Any] | None:
    """The tools of an import spec (``module:attr``), or None to rebuild schemas from trials."""
    if spec is None:
        return None
    from langchain_ste.tools.loading import load_tools

    try:
        return load_tools(spec)
    except ValueError as exc:
        fail(f"--tools: {exc}")


def previous_records(folders: list[Path]) -> list[list[dict[str, Any]]]:
    """The records each earlier round trained on (``round_records.jsonl`` in its adapter)."""
    from langchain_ste.finetune.dataset import read_jsonl
    from langchain_ste.finetune.replay import RECORDS_FILE

    rounds = []
    for folder in folders:
        path = folder / RECORDS_FILE
        if not path.is_file():
            fail(
                f"--previous: {folder} has no {RECORDS_FILE}: pass adapter folders written by "
                "`ste finetune`"
            )
        try:
            rounds.append(read_jsonl(path))
        except (ValueError, UnicodeDecodeError) as exc:
            fail(f"--previous: {path} is not a JSONL file ({exc})")
    return rounds


def check_outputs(source: Path, outputs: list[Path], *, force: bool) -> None:
    """Refuse to write over the input, a folder, or (without ``force``) an existing file.

    Example:
        >>> try:
        ...     check_outputs(Path("t.jsonl"), [Path("t.jsonl")], force=True)
        ... except typer.Exit as exc:
        ...     print(exc.exit_code)
        2
    """
    for path in outputs:
        if path.resolve() == source.resolve() or (
            path.exists() and source.exists() and path.samefile(source)
        ):
            fail(f"{path} is the input trials file: write the output somewhere else")
        if path.is_dir():
            fail(f"{path} is a folder: pass a file to write")
    existing = [str(p) for p in outputs if p.exists()]
    if existing and not force:
        fail(f"{', '.join(existing)} already exists: pass --force to replace it")


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
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing OUT (and tools.json beside it).")
    ] = False,
) -> None:
    """Export trials as a fine-tuning dataset (JSONL, plus tools.json with the tool schemas).

    An existing OUT (or tools.json beside it) is only replaced with --force, never the input.
    """
    from langchain_ste.fileio import atomic_write_jsonl, atomic_write_text
    from langchain_ste.finetune.dataset import build_sft_records
    from langchain_ste.finetune.schemas import infer_tool_schemas, tool_schemas_of

    if format not in _FORMATS:
        fail(f"--format: choose one of {', '.join(_FORMATS)}, not {format!r}")
    if max_per_tool is not None and max_per_tool < 1:
        fail(f"--max-per-tool must be at least 1, not {max_per_tool}")
    source = trials_source(trials)
    schemas_path = out.parent / "tools.json"
    check_outputs(source, [out, schemas_path], force=force)
    loaded = load_trials_or_exit(trials)
    tool_list = tools_or_none(tools)
    try:
        records, stats = build_sft_records(
            loaded,
            tool_list,
            format=_FORMATS[format],  # type: ignore[arg-type]
            only_successful=not include_failed,
            dedupe=dedupe,
            max_per_tool=max_per_tool,
            seed=seed,
        )
    except ValueError as exc:
        fail(str(exc))
    schemas = tool_schemas_of(tool_list) if tool_list is not None else infer_tool_schemas(loaded)
    atomic_write_jsonl(out, records)
    atomic_write_text(schemas_path, json.dumps(schemas, indent=2, ensure_ascii=False))
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
    from langchain_ste.fileio import atomic_write_jsonl
    from langchain_ste.finetune.dataset import build_sft_records
    from langchain_ste.finetune.lora import LoraSettings, train_lora
    from langchain_ste.finetune.replay import RECORDS_FILE, replay_mix
    from langchain_ste.models.loading import tool_format

    if out.exists() and not out.is_dir():
        fail(f"--out: {out} is a file, not a folder for the adapter")
    for option, number in (
        ("--epochs", epochs),
        ("--lr", lr),
        ("--batch-size", batch_size),
        ("--grad-accum", grad_accum),
        ("--max-length", max_length),
        ("--rank", rank),
    ):
        if number <= 0:
            fail(f"{option} must be positive, not {number}")
    if max_steps is not None and max_steps < 1:
        fail(f"--max-steps must be at least 1, not {max_steps}")
    if not 0 <= replay <= 1:
        fail(f"--replay is a fraction between 0 and 1, not {replay}")
    loaded = load_trials_or_exit(trials)
    earlier = previous_records(list(previous or []))
    try:
        # records in the format the base model answers in (native tool calls for Qwen2.5)
        fmt = tool_format(base)
        records, stats = build_sft_records(loaded, tools_or_none(tools), format=fmt, seed=seed)
        mixed = replay_mix(records, earlier, replay_fraction=replay, seed=seed)
    except (ValueError, OSError) as exc:  # OSError: --base is no model folder
        fail(str(exc))
    if not mixed:
        fail(f"no training records in {trials_source(trials)} ({stats}): nothing to train on")
    adapter = None if fresh or not previous else previous[-1]
    typer.echo(
        f"{stats}; training on {len(mixed)} records ({len(mixed) - len(records)} replayed)"
        + (f", continuing {adapter}" if adapter else "")
    )
    try:
        settings = LoraSettings(
            r=rank,
            alpha=2 * rank,
            epochs=epochs,
            max_steps=max_steps,
            lr=lr,
            batch_size=batch_size,
            grad_accum=grad_accum,
            max_length=max_length,
            packing=packing,
            seed=seed,
        )
        report = train_lora(
            mixed, out_dir=out, settings=settings, base=base, adapter=adapter, device=device
        )
    except ValueError as exc:  # includes an adapter for another base model
        fail(str(exc))
    atomic_write_jsonl(out / RECORDS_FILE, records)
    curve = report.loss_curve
    typer.echo(
        f"{report.steps} steps, loss {curve[0]:.3f} -> {curve[-1]:.3f}, "
        f"{report.tokens_per_s:.0f} tokens/s -> {out}"
        if curve
        else f"{report.steps} steps -> {out}"
    )
