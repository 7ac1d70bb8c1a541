"""Griffe extension: read a Google-style ``Example:`` section as ``Examples:``.

LangChain-style docstrings (ours) title the section ``Example:``; griffe's Google parser knows
only ``Examples:`` and would render the doctest lines as Markdown, where ``x["a"]`` reads as a
link. Renaming the heading lets mkdocstrings render them as Python console blocks.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class GoogleExampleSection(griffe.Extension):
    """Rename ``Example:`` section headings to ``Examples:`` in every docstring."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _HEADING.sub(r"\1Examples:", obj.docstring.value)
