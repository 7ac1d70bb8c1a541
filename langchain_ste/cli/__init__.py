"""The `ste` command line. Each subcommand lives in its own module and registers on `app`."""

from __future__ import annotations

from langchain_ste.cli.app import app

# Importing a command module registers its subcommand on `app`.
from langchain_ste.cli import demo  # noqa: F401  isort: skip
from langchain_ste.cli import eval  # noqa: F401  isort: skip
from langchain_ste.cli import finetune  # noqa: F401  isort: skip
from langchain_ste.cli import explore  # noqa: F401  isort: skip
from langchain_ste.cli import curate  # noqa: F401  isort: skip
from langchain_ste.cli import show  # noqa: F401  isort: skip
from langchain_ste.cli import models  # noqa: F401  isort: skip


def main() -> None:
    """Entry point of the `ste` console script."""
    app()


__all__ = ["app", "main"]
