"""Post-processing of trials before they are used, as in the STE method.

Each step is a small function from a list of trials to a list of trials, so steps compose:
``dedupe(keep_successful(trials))``. `ste curate IN OUT` runs them from the command line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from langchain_ste.explore import prompts
from langchain_ste.explore.reflect import parse_verdict, render_transcript
from langchain_ste.trial import Trial, is_usable, normalise_query, query_key

logger = logging.getLogger(__name__)


def keep_successful(
    trials: Sequence[Trial],
    *,
    require_clean: bool = True,
    require_signals: Sequence[str] = (),
    allow_emulated: bool = True,
) -> list[Trial]:
    """The usable trials (`is_usable`): judged successful, with a call that executed and, by
    default, a clean last call.

    Args:
        trials: the trials to filter.
        require_clean: also require that the final tool call ran without error (STE's rule).
        require_signals: grounded signals that must be true, e.g. ``("executed_ok",)``.
        allow_emulated: keep trials whose tool results were emulated (their calls are real and
            teach the call format; exemplar retrieval leaves them out by default).

    Example:
        >>> from langchain_ste.trajectory import Step
        >>> ok = Trial.from_steps(trial_id="a", tools=["t"], episode=0, index=0, query="q",
        ...     success=True, steps=[Step(tool="t", args={}, call_id="c", output="x")])
        >>> [t.trial_id for t in keep_successful([ok, Trial(trial_id="b", tools=["t"],
        ...      episode=0, index=1, query="q2", success=True)])]
        ['a']
    """
    return [
        t
        for t in trials
        if is_usable(
            t,
            allow_emulated=allow_emulated,
            require_clean=require_clean,
            require_signals=require_signals,
        )
    ]


def dedupe(
    trials: Sequence[Trial], *, embeddings: Embeddings | None = None, threshold: float = 0.92
) -> list[Trial]:
    """Drop trials whose query repeats an earlier one of the same tools (first one kept).

    Without embeddings, trials are compared by `query_key` (tools and the query with case and
    punctuation normalised); with embeddings, by cosine similarity at or above ``threshold``.

    Example:
        >>> a = Trial(trial_id="a", tools=["t"], episode=0, index=0, query="3 in to cm?")
        >>> b = Trial(trial_id="b", tools=["t"], episode=0, index=1, query="3 IN to cm")
        >>> [t.trial_id for t in dedupe([a, b])]
        ['a']
    """
    kept: list[Trial] = []
    if embeddings is None:
        seen: set[tuple[tuple[str, ...], str]] = set()
        for t in trials:
            key = query_key(t)
            if key not in seen:
                seen.add(key)
                kept.append(t)
        return kept
    import numpy as np

    vectors = np.asarray(embeddings.embed_documents([t.query for t in trials]))
    kept_idx: list[int] = []
    for i, t in enumerate(trials):
        if any(
            set(trials[j].tools) == set(t.tools) and float(vectors[i] @ vectors[j]) >= threshold
            for j in kept_idx
        ):
            continue
        kept_idx.append(i)
        kept.append(t)
    return kept


def _ask(model: BaseChatModel, messages: list[BaseMessage], trial: Trial) -> str | None:
    try:
        return model.invoke(messages).text
    except Exception as exc:  # one failed call must not lose the whole set
        logger.warning("model call for %s failed: %r", trial.trial_id, exc)
        return None


def llm_filter(
    trials: Sequence[Trial], model: BaseChatModel, *, prompt: str = prompts.FILTER_SYSTEM
) -> list[Trial]:
    """Keep the trials a judge model confirms (``Verdict: yes``).

    The judge's verdict replaces the trial's own; an unreadable reply or a failed call keeps the
    trial's own verdict (and logs). Run it after `keep_successful` to re-check successes. The
    calls are rendered and the reply read as the reflect step does (`explore.reflect`).

    Args:
        trials: the trials to re-check.
        model: the judge.
        prompt: the judge's system prompt, a template with ``{query}``, ``{transcript}`` and
            ``{answer}`` fields (default `prompts.FILTER_SYSTEM`).

    Example:
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> a = Trial(trial_id="a", tools=["t"], episode=0, index=0, query="q", success=True)
        >>> b = Trial(trial_id="b", tools=["t"], episode=0, index=1, query="r", success=True)
        >>> [t.trial_id for t in llm_filter([a, b], ScriptedChatModel(script=["no", "yes"]))]
        ['b']
    """
    kept = []
    for t in trials:
        system = prompt.format(
            query=t.query,
            transcript=render_transcript(t.steps) or "(no tool calls)",
            answer=t.final_answer or "(none)",
        )
        reply = _ask(model, [SystemMessage(system), HumanMessage("Verdict:")], t)
        judged = None
        if reply:
            judged = parse_verdict("Verdict: " + reply.strip())
            judged = parse_verdict(reply) if judged is None else judged
        if judged is None:
            logger.info("judge reply for %s unreadable; keeping its verdict", t.trial_id)
        if t.success if judged is None else judged:
            kept.append(t)
    return kept


_REPLY_LABEL = re.compile(r"^\s*(rewritten request|request|paraphrase)\s*:\s*", re.IGNORECASE)


def paraphrase(trials: Sequence[Trial], model: BaseChatModel, *, n: int = 1) -> list[Trial]:
    """The trials plus up to ``n`` paraphrased copies each (same calls, reworded query).

    Copies get ids ``{id}/p{j}`` and ``extra["paraphrase_of"]``; empty, unchanged or repeated
    paraphrases and failed calls are dropped.

    Example:
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> t = Trial(trial_id="a", tools=["t"], episode=0, index=0, query="3 in to cm?")
        >>> more = paraphrase([t], ScriptedChatModel(script=["How many cm are 3 inches?"]))
        >>> [(x.trial_id, x.query) for x in more]
        [('a', '3 in to cm?'), ('a/p0', 'How many cm are 3 inches?')]
    """
    out = list(trials)
    for t in trials:
        seen = {normalise_query(t.query)}
        for j in range(n):
            reply = _ask(
                model, [SystemMessage(prompts.PARAPHRASE_SYSTEM), HumanMessage(t.query)], t
            )
            text = _REPLY_LABEL.sub("", " ".join((reply or "").split())).strip("\"' ")
            if not text or normalise_query(text) in seen:
                continue
            seen.add(normalise_query(text))
            messages = [dict(m) for m in t.messages]
            if messages and messages[0].get("type") == "human":
                messages[0] = {**messages[0], "data": {**messages[0]["data"], "content": text}}
            out.append(
                Trial.from_dict(
                    {
                        **t.to_dict(),
                        "trial_id": f"{t.trial_id}/p{j}",
                        "query": text,
                        "messages": messages,
                        "extra": {**t.extra, "paraphrase_of": t.trial_id},
                    }
                )
            )
    return out
