"""Tools importable by Ray workers in the distributed tests."""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.tools import StructuredTool

from langchain_ste.tools.examples import example_tools


def tools() -> list[StructuredTool]:
    return list(example_tools())  # type: ignore[arg-type]


def dying_tools() -> list[StructuredTool]:
    """The example tools, but the first catalogue search kills its worker process once."""
    marker = Path(os.environ["STE_TEST_DIE_MARKER"])
    convert, search = example_tools()

    def search_or_die(query: str, category: str | None = None, max_price: float | None = None,
                      limit: int = 3) -> str:
        if not marker.exists():
            marker.write_text("died once")
            os._exit(1)  # the worker dies mid-episode, as on a lost node
        return str(search.invoke({"query": query, "category": category,
                                  "max_price": max_price, "limit": limit}))

    dying = StructuredTool.from_function(search_or_die, name="search_catalog",
                                         description=search.description)
    return [convert, dying]  # type: ignore[list-item]
