"""The documentation: the site builds strictly and the API reference covers the public API (the
examples in the package's docstrings run through pytest's ``--doctest-modules``, see
``pyproject.toml``)."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import langchain_ste

ROOT = Path(__file__).resolve().parents[1]
API_PAGE = ROOT / "docs" / "api.md"

# Public names whose documentation is missing in the package (owned by other modules' authors);
# strict xfail, so fixing one makes this list fail until the name is removed from it.
UNDOCUMENTED: set[str] = set()


def _defining_module(name: str) -> str:
    """The module whose code defines a public name (not the package that re-exports it)."""
    obj = getattr(langchain_ste, name)
    module = getattr(obj, "__module__", None)
    if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismethod(obj):
        return str(module)
    return langchain_ste._EXPORTS[name]


# -- (a) the site builds ----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
                    reason="mkdocs is not installed (pip install -e '.[docs]')")
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    out = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert (tmp_path / "site" / "api" / "index.html").is_file()


# -- (b) the API reference covers the public API ----------------------------------------------


def _has_docstring(name: str) -> bool:
    obj = getattr(langchain_ste, name)
    if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj):
        return bool((inspect.getdoc(obj) or "").strip())
    # data (a constant, a dict of presets): its own attribute docstring in the source
    griffe = pytest.importorskip("griffe")
    package = griffe.load("langchain_ste", search_paths=[str(ROOT)])
    path = langchain_ste._EXPORTS[name].removeprefix("langchain_ste.")
    target = package[f"{path}.{name}"]
    target = target.final_target if target.is_alias else target
    return target.docstring is not None and bool(target.docstring.value.strip())


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="no docstring in the package"))
        if n in UNDOCUMENTED
        else n
        for n in langchain_ste.__all__
    ],
)
def test_public_name_has_a_docstring(name: str) -> None:
    assert _has_docstring(name), f"langchain_ste.{name} has no docstring"


@pytest.mark.parametrize("name", langchain_ste.__all__)
def test_public_name_is_in_the_api_reference(name: str) -> None:
    page = API_PAGE.read_text(encoding="utf-8")
    documented = {line.split()[1] for line in page.splitlines() if line.startswith("::: ")}
    candidates = {langchain_ste._EXPORTS[name], _defining_module(name)}
    assert candidates & documented, (
        f"{name} (from {sorted(candidates)}) is not in docs/api.md: add '::: <module>'"
    )
