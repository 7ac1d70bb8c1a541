"""The `ste` command line. Each subcommand lives in its own module and registers on `app`."""

from __future__ import annotations

from langchain_ste.cli.app import app

# Importing a command module registers its subcommand on `app`.
from langchain_ste.cli import demo  # noqa: E402,F401  isort: skip
from langchain_ste.cli import eval  # noqa: E402,F401  isort: skip
from langchain_ste.cli import finetune  # noqa: E402,F401  isort: skip
from langchain_ste.cli import explore  # noqa: E402,F401  isort: skip
from langchain_ste.cli import curate  # noqa: E402,F401  isort: skip
from langchain_ste.cli import show  # noqa: E402,F401  isort: skip


def main() -> None:
    """Entry point of the `ste` console script."""
    app()


__all__ = ["app", "main"]
