"""Doctest collection for ``pytest --doctest-modules`` (see ``[tool.pytest.ini_options]``).

The examples of modules that need an optional extra are skipped when it is not installed, and
every example runs in a temporary directory, so examples that write files leave nothing behind.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

# Docstring examples of these modules need optional packages; without them they are skipped.
EXTRAS: dict[str, tuple[str, ...]] = {
    "langchain_ste.evaluate.benchmarks.bfcl": ("bfcl_eval",),
    "langchain_ste.explore.ray": ("ray",),
    "langchain_ste.finetune.lora": ("torch", "transformers", "peft"),
    "langchain_ste.finetune.masking": ("torch", "transformers"),
    "langchain_ste.models.local": ("torch", "transformers"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, DoctestItem):
            continue
        module = item.name.rsplit(".", 1)[0] if item.dtest is None else item.dtest.name
        for name, extras in EXTRAS.items():
            missing = [m for m in extras if importlib.util.find_spec(m) is None]
            if module.startswith(name) and missing:
                item.add_marker(pytest.mark.skip(reason=f"{name} needs {', '.join(missing)}"))


@pytest.fixture(autouse=True)
def _doctests_in_a_temporary_directory(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(request.node, DoctestItem):
        monkeypatch.chdir(tmp_path)
