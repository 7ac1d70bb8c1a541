"""The Typer application that every `ste` subcommand registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="ste",
    help="Simulated trial and error for LangChain agents: explore tools, remember, learn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
