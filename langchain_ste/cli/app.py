"""The Typer application that every `ste` subcommand registers on, and the options they share."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(
    name="ste",
    help="Simulated trial and error for LangChain agents: explore tools, remember, learn.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="local (embedded Qwen2.5-Coder-0.5B), local:NAME (see `ste models`), "
        "provider:model, or a served name with --base-url.",
    ),
]
"""The ``--model`` option: a `load_chat_model` spec."""

BaseUrlOption = Annotated[
    str | None, typer.Option("--base-url", help="An OpenAI-compatible server for --model.")
]
"""The ``--base-url`` option: the server that serves ``--model``."""


def load_model_option(
    spec: str | None, base_url: str | None = None, *, option: str = "--model", **kwargs: Any
) -> Any:
    """`load_chat_model` for a command-line option: a bad spec is a usage error on ``option``.

    Example:
        >>> try:
        ...     load_model_option("", option="--llm-filter")
        ... except typer.BadParameter as exc:
        ...     print(exc.param_hint, "|", exc.message)
        --llm-filter | --llm-filter needs a model spec (e.g. local)
    """
    from langchain_ste.models import load_chat_model

    if not spec:
        raise typer.BadParameter(f"{option} needs a model spec (e.g. local)", param_hint=option)
    try:
        return load_chat_model(spec, base_url=base_url, **kwargs)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


def fail(message: str, code: int = 2) -> NoReturn:
    """End the command with ``error: message`` on one line of stderr and exit ``code``.

    For bad input: no traceback, no usage box, nothing written. Secrets in the message (an
    exception may quote a key) are masked.

    Example:
        >>> try:
        ...     fail("--out: /etc/passwd is a file, not a folder")
        ... except typer.Exit as exc:
        ...     print(exc.exit_code)
        2
    """
    from langchain_ste.tools.redact import redact_text

    typer.echo(f"error: {redact_text(' '.join(str(message).splitlines()))}", err=True)
    raise typer.Exit(code)
