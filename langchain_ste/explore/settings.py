"""Exploration settings and the presets that pick them.

``paper`` follows the original STE runs (15 episodes per tool, 4 trials per episode, at most 4
tool calls per trial, the model's own verdicts) and suits strong hosted models. ``small-model``
(the default for the embedded model) uses small budgets and turns on what weak explorers need:
schema-derived cold-start demonstrations, self-bootstrapping from successful trials, and
execution-grounded verdicts. Schema-derived examples in the imagine prompt (``imagine_examples``)
stay off by default: the embedded model copied them verbatim instead of inventing a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langgraph.types import RetryPolicy

from langchain_ste.explore.runtime import DEFAULT_RETRY
from langchain_ste.explore.verdict import VerdictMode

PresetName = Literal["paper", "small-model"]
ActTools = Literal["all", "targets"]


@dataclass(frozen=True)
class ExploreSettings:
    """How much to explore, which helps to use, and how the run behaves.

    Attributes:
        episodes_per_tool: episodes per target tool (or tool group).
        trials_per_episode: trials per episode.
        max_steps: tool calls per trial.
        demonstrations: show cold-start / bootstrapped demonstrations in the act step.
        demonstrations_k: how many.
        imagine_examples: show schema-derived example requests in the imagine prompt.
        imagine_temperature: sampling temperature of the imagine call (0: greedy), seeded per
            trial, so a rerun imagines the same requests. Greedy decoding asked the same
            question in every episode (3 of 4 requests per demo tool were repeats).
        verdict_mode: ``"model"`` (the reflector's verdict) or ``"grounded"`` success.
        ordered_episodes: run a tool's episodes one after another, so each sees the previous
            ones in long-term memory; False runs them concurrently.
        past_queries: earlier requests shown to imagine (ask something different).
        max_concurrency: model calls in flight at once across all units, and units running at
            once (None: no bound).
        tool_groups: explore these groups of tool names together instead of one tool at a time.
        act_tools: the tools bound in the act step: ``"all"`` (every explored tool, so the model
            also learns to pick among them, as a deployed agent does) or ``"targets"`` (only the
            unit's target tools, as the paper explores one API with its own documentation; with
            many tools the act prompt stays short: 8 BFCL functions already render ~1,200
            tokens).
            Under ``"targets"`` a call to another tool is an unknown-tool failed step.
        retry: retries of transient model errors (rate limits, 5xx, timeouts).
        execution_feedback: run the tools (under the policy); False emulates every tool with a
            model, the paper's "w/o execution feedback" ablation (trials are then ``emulated``:
            consumers need ``allow_emulated`` to learn from them).
        short_term_memory: show imagine the episode's earlier trials (False: each trial alone).
        long_term_memory: show imagine the requests memory already holds, and retry a repeat.
        reflection: judge each trial; False keeps every trial that ran without an error as
            successful, with no verdict and no lesson (the paper's "w/o reflection").

    `ABLATIONS` names the four switched off one at a time.

    Example:
        >>> PRESETS["paper"].episodes_per_tool, PRESETS["small-model"].verdict_mode
        (15, 'grounded')
        >>> from dataclasses import replace
        >>> replace(PRESETS["paper"], episodes_per_tool=2, tool_groups=[["a", "b"]]).tool_groups
        (('a', 'b'),)
    """

    episodes_per_tool: int = 15
    trials_per_episode: int = 4
    max_steps: int = 4
    demonstrations: bool = False
    demonstrations_k: int = 2
    imagine_examples: bool = False
    imagine_temperature: float = 0.7
    verdict_mode: VerdictMode = "model"
    ordered_episodes: bool = True
    past_queries: int = 20
    max_concurrency: int | None = 8
    tool_groups: tuple[tuple[str, ...], ...] = ()
    act_tools: ActTools = "all"
    retry: RetryPolicy = DEFAULT_RETRY
    execution_feedback: bool = True
    short_term_memory: bool = True
    long_term_memory: bool = True
    reflection: bool = True

    def __post_init__(self) -> None:
        for name in ("episodes_per_tool", "trials_per_episode", "max_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.imagine_temperature < 0:
            raise ValueError("imagine_temperature must be at least 0 (0: greedy)")
        if self.act_tools not in ("all", "targets"):
            raise ValueError(f"act_tools must be 'all' or 'targets', not {self.act_tools!r}")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1 (or None: no bound)")
        groups = tuple(tuple(group) for group in self.tool_groups)
        object.__setattr__(self, "tool_groups", groups)


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

ABLATIONS: dict[str, dict[str, Any]] = {
    "no-execution-feedback": {"execution_feedback": False},
    "no-short-term-memory": {"short_term_memory": False},
    "no-long-term-memory": {"long_term_memory": False},
    "no-reflection": {"reflection": False},
}
"""The STE paper's ablations as settings overrides: ``replace(settings, **ABLATIONS[name])``.

Example:
    >>> replace(ExploreSettings(), **ABLATIONS["no-reflection"]).reflection
    False
"""

_SMALL_MODEL_CLASSES = {"ChatLocalHF", "ReActChatModel"}


def default_preset(model: BaseChatModel) -> PresetName:
    """``small-model`` for the embedded / ReAct-text models, ``paper`` for the others."""
    return "small-model" if type(model).__name__ in _SMALL_MODEL_CLASSES else "paper"


def resolve_settings(
    model: BaseChatModel,
    settings: ExploreSettings | str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ExploreSettings:
    """The settings a run uses: ``settings`` itself, or the named preset (the model's default
    preset when None), with the non-None ``overrides`` applied.

    Raises:
        ValueError: an unknown preset name.

    Example:
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> resolve_settings(ScriptedChatModel(), "small-model", {"max_steps": 3}).max_steps
        3
    """
    if isinstance(settings, ExploreSettings):
        chosen = settings
    else:
        name = settings or default_preset(model)
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        chosen = PRESETS[name]
    return replace(chosen, **{k: v for k, v in (overrides or {}).items() if v is not None})
