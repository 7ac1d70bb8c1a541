"""Exploration: the imagine -> act -> reflect state graph over a set of tools."""

from __future__ import annotations

import sys
import types
from typing import Any

from langchain_ste.explore.graph import create_explorer, validate_tools
from langchain_ste.explore.prompts import ExplorePrompts
from langchain_ste.explore.run import aexplore, explore
from langchain_ste.explore.settings import PRESETS, ExploreSettings
from langchain_ste.memory.base import ListStore, LogStore, TrialStore

__all__ = [
    "PRESETS",
    "ExplorePrompts",
    "ExploreSettings",
    "ListStore",
    "LogStore",
    "TrialStore",
    "aexplore",
    "create_explorer",
    "explore",
    "validate_tools",
]


class _CallableSubpackage(types.ModuleType):
    """This subpackage, callable as the `explore` function.

    Python binds a subpackage to the attribute of the same name on its parent once it is
    imported, so ``from langchain_ste import explore`` can give this module rather than the
    function (whenever something imported ``langchain_ste.explore.*`` first, as
    ``STEMiddleware`` does). Calling the module runs the function, so both spellings work.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableSubpackage
__wrapped__ = explore  # inspect.signature(langchain_ste.explore) shows the function's
