"""Better tool descriptions from what exploration learned (reflection lessons and errors).

For each tool, the lessons written during reflection, the errors its calls raised and a few calls
that worked become notes; a model rewrites the description from them (what the arguments really
accept, formats, pitfalls). The tools are copied, never changed in place, so the refined set can
be compared with the original one on the same queries.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool

from langchain_ste import prompts
from langchain_ste.trial import Trial

logger = logging.getLogger(__name__)

MAX_DESCRIPTION_CHARS = 1024
"""OpenAI rejects function descriptions longer than this."""

_LABEL = re.compile(r"^\s*(improved\s+)?description\s*:\s*", re.IGNORECASE)


class SupportsTrials(Protocol):
    """A memory that lists its trials (`ExplorationMemory`, `ListStore`)."""

    def trials(self, tool: str | None = None) -> list[Trial]: ...


def _unique(items: Iterable[str], limit: int) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
        if len(out) == limit:
            break
    return out


def tool_notes(tool: str, trials: Sequence[Trial], max_lessons: int = 8) -> str:
    """What the trials of ``tool`` teach: lessons, errors seen and calls that worked.

    Example:
        >>> from langchain_ste.trial import Step
        >>> bad = Step(tool="t", args={"x": "a"}, call_id="c", status="error", error="not a number")
        >>> print(tool_notes("t", [Trial(trial_id="a", tools=["t"], episode=0, index=0,
        ...     query="q", steps=[bad], lesson="x must be a number.")]))
        - lesson: x must be a number.
        - error with {"x": "a"}: not a number
    """
    mine = [t for t in trials if tool in t.tools]
    lessons = _unique((" ".join(t.lesson.split()) for t in mine), max_lessons)
    errors = _unique(
        (
            f"error with {json.dumps(s.args, ensure_ascii=False)}: {s.error[:200]}"
            for t in mine
            for s in t.steps
            if s.tool == tool and not s.ok and s.error
        ),
        max_lessons,
    )
    worked = _unique(
        (
            f"worked: {json.dumps(s.args, ensure_ascii=False)} -> {s.output[:120]}"
            for t in mine
            if t.success
            for s in t.steps
            if s.tool == tool and s.ok
        ),
        max(1, max_lessons // 2),
    )
    return "\n".join(f"- {line}" for line in [*(f"lesson: {x}" for x in lessons), *errors, *worked])


def refine_tool_descriptions(
    tools: Sequence[BaseTool],
    trials: Iterable[Trial] | SupportsTrials,
    model: BaseChatModel,
    *,
    max_lessons: int = 8,
) -> list[BaseTool]:
    """Copies of ``tools`` whose descriptions a model rewrote from the tools' trials.

    Args:
        tools: the tools to document.
        trials: a list of trials, or a memory with a ``trials()`` method.
        model: the writer.
        max_lessons: lessons (and errors) per tool shown to the writer.

    Returns:
        New tool objects in the same order (the originals are untouched). A tool without trials,
        or whose rewrite came back empty or failed, keeps its description (a log says why).

    Example:
        >>> from langchain_ste.example_tools import convert_units
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> from langchain_ste.trial import Trial
        >>> t = Trial(trial_id="c", tools=["convert_units"], episode=0, index=0, query="q",
        ...           lesson="Units are case-sensitive: use 'C', not 'c'.")
        >>> [new] = refine_tool_descriptions([convert_units], [t], ScriptedChatModel(
        ...     script=["Converts units. Temperature units are upper-case C, F, K."]))
        >>> new.description, new is convert_units
        ('Converts units. Temperature units are upper-case C, F, K.', False)
    """
    all_trials = list(trials.trials() if hasattr(trials, "trials") else trials)
    out: list[BaseTool] = []
    for tool in tools:
        notes = tool_notes(tool.name, all_trials, max_lessons)
        if not notes:
            logger.info("%s: no trials, description kept", tool.name)
            out.append(tool.model_copy())
            continue
        try:
            reply = model.invoke(
                [
                    SystemMessage(
                        prompts.REFINE_SYSTEM.format(
                            name=tool.name,
                            description=tool.description,
                            schema=json.dumps(tool.args, ensure_ascii=False),
                            notes=notes,
                        )
                    ),
                    HumanMessage("Improved description:"),
                ]
            )
            text = _LABEL.sub("", " ".join(reply.text.split()))[:MAX_DESCRIPTION_CHARS]
        except Exception as exc:  # one failed rewrite must not lose the others
            logger.warning("%s: description kept, the rewrite failed: %r", tool.name, exc)
            text = ""
        if not text:
            logger.info("%s: empty rewrite, description kept", tool.name)
        out.append(tool.model_copy(update={"description": text or tool.description}))
    return out


def export_descriptions(tools: Sequence[BaseTool]) -> dict[str, str]:
    """Tool name -> description, e.g. to save refined descriptions as JSON.

    Example:
        >>> from langchain_ste.example_tools import example_tools
        >>> sorted(export_descriptions(example_tools()))
        ['convert_units', 'search_catalog']
    """
    return {t.name: t.description for t in tools}


def apply_descriptions(tools: Sequence[BaseTool], descriptions: dict[str, str]) -> list[BaseTool]:
    """Copies of ``tools`` with saved descriptions (e.g. from `export_descriptions`) applied.

    Tools not named in ``descriptions`` are copied unchanged.

    Example:
        >>> from langchain_ste.example_tools import convert_units
        >>> [new] = apply_descriptions([convert_units], {"convert_units": "Better."})
        >>> new.description, convert_units.description == "Better."
        ('Better.', False)
    """
    return [
        t.model_copy(update={"description": descriptions[t.name]})
        if descriptions.get(t.name)
        else t.model_copy()
        for t in tools
    ]
