"""State schemas of the exploration graph: JSON-like TypedDicts only (checkpoint-safe)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired, TypedDict

from langchain_core.messages import AnyMessage


class ExploreInput(TypedDict):
    """What a run (or a parent graph) passes in: the names of the tools to explore (all when
    absent or empty)."""

    tools: NotRequired[list[str]]


class ExploreOutput(TypedDict):
    """What a run returns: the trials produced in this run, and why it stopped early, if it did."""

    trials: list[dict[str, Any]]
    stopped: list[str]


class ExploreState(TypedDict):
    """The parent graph's state."""

    tools: NotRequired[list[str]]
    trials: Annotated[list[dict[str, Any]], operator.add]
    stopped: Annotated[list[str], operator.add]


class UnitState(TypedDict):
    """One work unit: the episodes of one target tool (or tool group), run in order.

    ``stm`` holds the current episode's finished trials (short-term memory); ``messages`` the
    current trial's act conversation.
    """

    targets: list[str]
    episodes: list[int]
    position: int
    trial_index: int
    stm: list[dict[str, Any]]
    query: str
    imagine_s: float
    act_started: float
    messages: list[AnyMessage]
    steps: list[dict[str, Any]]
    exemplars: list[str]
    usage: dict[str, int]
    error: str | None
    trials: Annotated[list[dict[str, Any]], operator.add]
    stopped: Annotated[list[str], operator.add]
