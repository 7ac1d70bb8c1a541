"""The docstring examples of the fine-tuning modules run (offline, in a few seconds)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "langchain_ste.finetune.dataset",
    "langchain_ste.finetune.replay",
    "langchain_ste.finetune.lora",
    "langchain_ste.cli.finetune",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
