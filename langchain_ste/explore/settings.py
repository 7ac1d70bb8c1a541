"""Exploration settings and the presets that pick them.

``paper`` follows the original STE runs (15 episodes per tool, 4 trials per episode, at most 4
tool calls per trial, the model's own verdicts) and suits strong hosted models. ``small-model``
(the default for the embedded model) uses small budgets and turns on what weak explorers need:
schema-derived cold-start demonstrations, self-bootstrapping from successful trials, and
execution-grounded verdicts. Schema-derived examples in the imagine prompt (``imagine_examples``)
stay off by default: the embedded model copied them verbatim instead of inventing a request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from langchain_ste.explore.verdict import VerdictMode

PresetName = Literal["paper", "small-model"]


@dataclass(frozen=True)
class ExploreSettings:
    """How much to explore and which helps to use.

    Example:
        >>> PRESETS["paper"].episodes_per_tool, PRESETS["small-model"].verdict_mode
        (15, 'grounded')
    """

    episodes_per_tool: int = 15
    trials_per_episode: int = 4
    max_steps: int = 4
    demonstrations: bool = False
    demonstrations_k: int = 2
    imagine_examples: bool = False
    verdict_mode: VerdictMode = "model"
    ordered_episodes: bool = True
    past_queries: int = 20

    def __post_init__(self) -> None:
        for name in ("episodes_per_tool", "trials_per_episode", "max_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


PRESETS: dict[str, ExploreSettings] = {
    "paper": ExploreSettings(),
    "small-model": ExploreSettings(
        episodes_per_tool=2,
        trials_per_episode=2,
        max_steps=2,
        demonstrations=True,
        verdict_mode="grounded",
    ),
}
"""Named settings: ``"paper"`` (the original STE budgets, model verdicts) and ``"small-model"``
(small budgets, demonstrations, execution-grounded verdicts)."""

_SMALL_MODEL_CLASSES = {"ChatLocalHF", "ReActChatModel"}


def default_preset(model: BaseChatModel) -> PresetName:
    """``small-model`` for the embedded / ReAct-text models, ``paper`` for the others."""
    return "small-model" if type(model).__name__ in _SMALL_MODEL_CLASSES else "paper"


def resolve_settings(
    model: BaseChatModel, preset: str | None, overrides: dict[str, Any]
) -> ExploreSettings:
    """The preset's settings (the model's default preset when None) with explicit overrides.

    Raises:
        ValueError: an unknown preset name.
    """
    name = preset or default_preset(model)
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
