"""Better tool descriptions from what exploration learned (reflection lessons and errors)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import BaseTool

from langchain_ste import prompts
from langchain_ste.trial import Trial

logger = logging.getLogger(__name__)


def _notes(trials: Sequence[Trial], max_lessons: int) -> str:
    lines: list[str] = []
    for t in trials:
        if t.lesson and len([x for x in lines if x.startswith("- lesson")]) < max_lessons:
            lines.append(f"- lesson: {t.lesson}")
    for t in trials:
        for s in t.steps:
            if not s.ok and s.error and len(lines) < 3 * max_lessons:
                lines.append(f"- error with {json.dumps(s.args)}: {s.error[:200]}")
    for t in trials:
        if t.success and t.steps and len(lines) < 4 * max_lessons:
            s = t.steps[-1]
            lines.append(f"- worked: {json.dumps(s.args)} -> {s.output[:120]}")
    return "\n".join(lines)


def refine_tool_descriptions(
    tools: Sequence[BaseTool],
    trials: Iterable[Trial] | object,
    model: BaseChatModel,
    *,
    max_lessons: int = 8,
) -> list[BaseTool]:
    """Copies of ``tools`` whose descriptions a model rewrote from the tools' trials.

    Args:
        tools: the tools to document.
        trials: a list of trials, or a memory with a ``trials()`` method.
        model: the writer.
        max_lessons: lessons per tool shown to the writer.

    Returns:
        New tool objects (the originals are untouched); tools without trials, or whose rewrite
        came back empty, keep their description.

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
    all_trials = list(trials.trials() if hasattr(trials, "trials") else trials)  # type: ignore[union-attr]
    out: list[BaseTool] = []
    for tool in tools:
        mine = [t for t in all_trials if tool.name in t.tools]
        notes = _notes(mine, max_lessons)
        if not notes:
            out.append(tool.model_copy())
            continue
        reply = model.invoke([
            SystemMessage(prompts.REFINE_SYSTEM.format(
                name=tool.name, description=tool.description, schema=json.dumps(tool.args),
                notes=notes)),
            HumanMessage("Improved description:"),
        ])
        text = " ".join(reply.text.split())
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
