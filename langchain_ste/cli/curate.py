"""`ste curate IN OUT`: filter, dedupe, re-check and paraphrase trials before they are used."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from langchain_ste.cli.app import app, load_model_option


def trials_file(path: Path) -> Path:
    """``path`` itself for a ``.jsonl`` file, else ``path/trials.jsonl`` (an exploration folder).

    Example:
        >>> trials_file(Path("runs/a")).as_posix(), trials_file(Path("b.jsonl")).as_posix()
        ('runs/a/trials.jsonl', 'b.jsonl')
    """
    return path if path.suffix == ".jsonl" else path / "trials.jsonl"


@app.command("curate")
def curate_command(
    source: Annotated[Path, typer.Argument(help="trials.jsonl, or an exploration folder.")],
    out: Annotated[Path, typer.Argument(help="Where to write: a .jsonl file or a folder.")],
    require_clean: Annotated[
        bool,
        typer.Option(
            "--require-clean/--no-require-clean",
            help="Keep only trials whose last tool call ran without error.",
        ),
    ] = True,
    require_signal: Annotated[
        list[str] | None,
        typer.Option(
            "--require-signal", help="A grounded signal that must hold, e.g. executed_ok."
        ),
    ] = None,
    dedupe: Annotated[
        bool, typer.Option("--dedupe", help="Drop trials repeating an earlier query.")
    ] = False,
    dedupe_threshold: Annotated[
        float | None,
        typer.Option(
            "--dedupe-threshold", help="With --dedupe: compare queries by embeddings (0-1)."
        ),
    ] = None,
    llm_filter: Annotated[
        str | None, typer.Option("--llm-filter", help="Re-check each trial with this model.")
    ] = None,
    paraphrase: Annotated[
        int, typer.Option("--paraphrase", help="Add N paraphrased copies of each trial.")
    ] = 0,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model spec for --paraphrase.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="An OpenAI-compatible server for the models.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace OUT if it already holds trials.")
    ] = False,
) -> None:
    """Keep successful trials (STE's rule), optionally dedupe, re-check and paraphrase them."""
    from langchain_ste.finetune import curate
    from langchain_ste.trial_log import read_trials, write_trials

    src, dst = trials_file(source), trials_file(out)
    if not src.is_file():
        raise typer.BadParameter(f"no trials file at {src}: run `ste explore` first")
    if dst.resolve() == src.resolve():
        raise typer.BadParameter("OUT must differ from IN: curation never edits its input")
    if dst.exists() and dst.stat().st_size and not overwrite:
        raise typer.BadParameter(f"{dst} already holds trials: pass --overwrite to replace it")
    if paraphrase < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--paraphrase")
    if dedupe_threshold is not None and not 0 < dedupe_threshold <= 1:
        raise typer.BadParameter("must be in (0, 1]", param_hint="--dedupe-threshold")

    trials = read_trials(src)
    typer.echo(f"read {len(trials)} trials from {src}")
    trials = curate.keep_successful(
        trials, require_clean=require_clean, require_signals=require_signal or ()
    )
    typer.echo(f"  successful: {len(trials)}")
    if dedupe or dedupe_threshold is not None:
        embeddings = None
        if dedupe_threshold is not None:
            from langchain_ste.memory.embeddings import load_embeddings

            embeddings = load_embeddings()
        trials = curate.dedupe(trials, embeddings=embeddings, threshold=dedupe_threshold or 0.92)
        typer.echo(f"  deduplicated: {len(trials)}")
    if llm_filter:
        trials = curate.llm_filter(
            trials, load_model_option(llm_filter, base_url, option="--llm-filter")
        )
        typer.echo(f"  confirmed by the judge: {len(trials)}")
    if paraphrase:
        trials = curate.paraphrase(trials, load_model_option(model, base_url), n=paraphrase)
        typer.echo(f"  with paraphrases: {len(trials)}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    written = write_trials(dst, trials)
    typer.echo(f"wrote {written} trials to {dst}")
