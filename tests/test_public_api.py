"""The public API: every exported name resolves, is documented, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import langchain_ste


@pytest.mark.parametrize("name", langchain_ste.__all__)
def test_every_public_name_resolves_and_has_a_docstring(name: str) -> None:
    obj = getattr(langchain_ste, name)
    assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = langchain_ste.nope  # type: ignore[attr-defined]


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, langchain_ste; "
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'chromadb', 'ray') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
