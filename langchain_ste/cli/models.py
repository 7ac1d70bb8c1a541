"""`ste models`: the embedded models, their size, how far each is prepared, and where it lives."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from langchain_ste.cli.app import app


@app.command("models")
def models_command(
    prepare: Annotated[
        list[str] | None,
        typer.Option(
            "--prepare",
            help="Assemble, verify and convert this embedded model now (repeatable).",
        ),
    ] = None,
) -> None:
    """List the embedded models (installed / assembled / converted), or prepare some."""
    from langchain_ste.models.embedded import (
        EmbeddedModelError,
        describe_models,
        embedded_model,
    )
    from langchain_ste.models.embedded import prepare as prepare_model

    for name in prepare or []:
        try:
            prepare_model(embedded_model(name))
        except (ValueError, EmbeddedModelError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--prepare") from exc
    table = Table(title="embedded models")
    for column in ("name", "parameters", "download", "state", "location"):
        table.add_column(column)
    rows = describe_models()
    for row in rows:
        table.add_row(
            row["name"],
            row["parameters"],
            f"{row['download_mb']} MB",
            row["state"],
            row["location"] or row["install"],
        )
    console = Console(width=160)
    console.print(table)
    console.print(
        "spec: `local` = qwen2.5-coder-0.5b (learner), `local:NAME` for the others; "
        "`missing` models install with the command shown."
    )
