"""Exploration: the imagine -> act -> reflect state graph over a set of tools."""

from __future__ import annotations

from langchain_ste.explore.graph import aexplore, create_explorer, explore, validate_tools
from langchain_ste.explore.prompts import ExplorePrompts
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
