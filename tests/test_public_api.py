"""The public API: every exported name resolves, is documented, and importing stays light."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import langchain_ste


@pytest.mark.parametrize("name", langchain_ste.__all__)
def test_every_public_name_resolves_and_has_a_docstring(name: str) -> None:
    obj = getattr(langchain_ste, name)
    assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL_IMPORT = re.compile(
    r"^\s*from langchain_ste import (?:\(([^)]*)\)|([^\n]*))", re.MULTILINE
)


def _sources() -> dict[str, str]:
    """The quick start, the how-tos, the README and the notebooks, as text."""
    texts = {str(p): p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]}
    for nb in (ROOT / "examples").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        texts[str(nb)] = "\n".join("".join(c["source"]) for c in cells)
    return texts


def test_public_api_is_small_and_covers_what_the_docs_import() -> None:
    assert 15 <= len(langchain_ste.__all__) <= 25
    imported: dict[str, str] = {}
    for where, text in _sources().items():
        for match in TOP_LEVEL_IMPORT.finditer(text):
            for name in re.split(r"[,\s]+", match.group(1) or match.group(2)):
                if name.isidentifier():
                    imported.setdefault(name, where)
    assert {"explore", "ExplorationMemory", "STEMiddleware", "load_chat_model"} <= set(imported)
    missing = {n: w for n, w in imported.items() if n not in langchain_ste.__all__}
    assert not missing, f"docs import names that are not public: {missing}"
    for internal in ("locate_smollm2_gguf", "RunLock", "run_isolated", "parse_react"):
        assert internal not in langchain_ste.__all__


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


def test_explore_is_callable_whatever_the_import_order() -> None:
    import subprocess
    import sys

    code = (
        "from langchain_ste import STEMiddleware, explore\n"
        "import inspect, langchain_ste.explore as pkg\n"
        "from langchain_ste.testing import ScriptedExplorer\n"
        "from langchain_ste.tools.examples import example_tools\n"
        "from langchain_ste.explore import ExploreSettings\n"
        "s = ExploreSettings(episodes_per_tool=1, trials_per_episode=1)\n"
        "print(len(explore(ScriptedExplorer(), example_tools(), settings=s)))\n"
        "print(pkg.graph.__name__, 'settings' in inspect.signature(explore).parameters)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "langchain_ste.explore.graph", "True"]
