"""Imagine: start an episode (short-term memory) and ask for one new, realistic user request.

The imagine prompt shows the target tool's gist, the requests long-term memory already holds
(ask something different) and the episode's earlier trials with their lessons (short-term
memory: ask something harder).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from langchain_ste.explore.demonstrations import imagine_examples
from langchain_ste.explore.reflect import render_transcript
from langchain_ste.explore.runtime import ModelCallFailed, UnitRuntime, add_usage, fresh_trial
from langchain_ste.explore.state import UnitState
from langchain_ste.tools.policy import BudgetExhausted
from langchain_ste.tools.redact import MASK
from langchain_ste.trial import Trial, normalise_query


async def start_episode(rt: UnitRuntime, state: UnitState) -> dict[str, Any]:
    """Load the episode's persisted trials (resume) as short-term memory; skip done ones."""
    position, targets = state["position"], state["targets"]
    while position < len(state["episodes"]):
        episode = state["episodes"][position]
        done = sorted(
            (t for t in rt.store.trials(targets[0]) if t.tools == targets and t.episode == episode),
            key=lambda t: t.index,
        )
        if len(done) < rt.settings.trials_per_episode:
            return fresh_trial(
                {
                    "position": position,
                    "trial_index": len(done),
                    "stm": [t.to_dict() for t in done],
                }
            )
        position += 1
    return {"position": position}


async def imagine(rt: UnitRuntime, state: UnitState) -> dict[str, Any]:
    """Ask the model for one new, realistic user request for the target tool(s)."""
    started = time.perf_counter()
    target = state["targets"][0]
    p = rt.prompts
    schema = rt.schemas.get(target, {})
    parts = [
        p.imagine_system.format(
            target=target,
            description=_first_sentence(str(schema.get("description", ""))),
            inputs=_inputs(schema),
        )
    ]
    if rt.settings.imagine_examples and target in rt.by_name:
        examples = imagine_examples(rt.by_name[target], 2)
        parts.append(p.imagine_examples.format(examples="\n".join(f"- {e}" for e in examples)))
    past = rt.store.past_queries(target, limit=rt.settings.past_queries)
    if not rt.settings.long_term_memory:
        past = []
    if past:
        parts.append(p.imagine_past.format(queries="\n".join(f"- {q}" for q in past)))
    if state["stm"] and rt.settings.short_term_memory:
        parts.append(p.imagine_short_term.format(trials=_summarise(state["stm"])))
    messages: list[BaseMessage] = [SystemMessage("\n\n".join(parts)), HumanMessage(p.imagine_human)]
    seen = {normalise_query(q) for q in past}
    usage: dict[str, Any] = {}
    query = ""
    sampling = _sampling(rt)
    # A sampling explorer gets a second try at a request that is empty, a template with blanks,
    # or one long-term memory already holds (a greedy one would only repeat itself).
    for attempt in range(2 if sampling else 1):
        runnable = _sampler(rt, state, attempt, sampling)
        try:
            reply = await rt.call_model(runnable, messages, state["targets"])
        except BudgetExhausted as exc:
            return rt.stopped(exc, state["targets"])
        except ModelCallFailed as exc:
            error = rt.redact(f"imagine failed: {exc}")
            return {"error": error, "usage": usage, "imagine_s": time.perf_counter() - started}
        usage = add_usage(usage, reply)
        # Redact the whole reply first: a secret is recognised by its context (a key name),
        # which clean_query may cut away when it takes the quoted request out.
        query = rt.redact(clean_query(rt.redact(reply.text)))
        if query and normalise_query(query) not in seen:
            break
    if not query:
        return {
            "error": "imagine produced no request",
            "usage": usage,
            "imagine_s": time.perf_counter() - started,
        }
    return {
        "query": query,
        "usage": usage,
        "imagine_s": time.perf_counter() - started,
        "act_started": time.perf_counter(),
    }


def _sampling(rt: UnitRuntime) -> dict[str, Any]:
    """Imagine's sampling parameters that the model class declares (a provider that takes no
    seed gets none); empty for greedy settings or a model that takes no temperature."""
    temperature = rt.settings.imagine_temperature
    declared = getattr(type(rt.model), "model_fields", {})
    if temperature <= 0 or "temperature" not in declared:
        return {}
    return {"temperature": temperature, **({"seed": 0} if "seed" in declared else {})}


def _sampler(rt: UnitRuntime, state: UnitState, attempt: int, sampling: dict[str, Any]) -> Any:
    """The explorer with ``sampling`` bound, its seed derived from the trial id and the attempt,
    so a rerun imagines the same request; the model itself when greedy."""
    if not sampling:
        return rt.model
    if "seed" in sampling:
        digest = hashlib.sha256(f"{rt.trial_id(state)}#{attempt}".encode()).hexdigest()
        sampling = {**sampling, "seed": int(digest[:8], 16)}
    return rt.model.bind(**sampling)


def _inputs(schema: Mapping[str, Any]) -> str:
    """The tool's argument names, required ones first (what a request must mention).

    Example:
        >>> _inputs({"parameters": {"properties": {"a": {}, "b": {}}, "required": ["b"]}})
        'b, a (optional)'
        >>> _inputs({})
        'nothing'
    """
    parameters = schema.get("parameters") or {}
    names = list((parameters.get("properties") or {}).keys())
    required = [n for n in parameters.get("required") or [] if n in names]
    optional = [f"{n} (optional)" for n in names if n not in required]
    return ", ".join([*required, *optional]) or "nothing"


def _first_sentence(text: str) -> str:
    """The gist of a description: small models follow a short one far better than a long one."""
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _summarise(trials: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for i, data in enumerate(trials, start=1):
        trial = Trial.from_dict(dict(data))
        lines.append(f"{i}. Request: {trial.query}")
        transcript = render_transcript(trial.steps)
        if transcript:
            lines.append("   " + transcript.replace("\n", "\n   "))
        lines.append(
            f"   Solved: {'yes' if trial.success else 'no'}."
            + (f" Lesson: {trial.lesson}" if trial.lesson else "")
        )
    return "\n".join(lines)


_BULLET = re.compile(r"^(?:[-*\u2022]|\d+[.)])\s+")
_PREFIX = re.compile(
    r"^\s*(new\s+)?(user\s+|customer\s+)?(request|query|question|customer|user|assistant)\s*:\s*",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(r"^(sure|certainly|of course|okay|ok|here is|here's|here are)\b", re.I)
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201d]{10,300})[\"\u201d]")
_PLACEHOLDER = re.compile(  # a template's blank: [Customer's Name], <date>, {city}
    r"\[[A-Za-z][^\]\n]{0,40}\]|<[A-Za-z][\w ]{0,30}>|\{[A-Za-z][\w ]{0,30}\}"
)


def clean_query(text: str) -> str:
    """The imagined request: a quoted question if there is one, else the first line that is not
    a preamble (``Sure, here's a question:``), without labels or quotes; empty for a template
    with placeholders (``on [Date] at [Location]``), which no tool call can answer.

    Example:
        >>> clean_query('The customer asks: "How many feet are in 100 meters?"')
        'How many feet are in 100 meters?'

        >>> clean_query('Request: "How many cm are 3 inches?"\\nMore text')
        'How many cm are 3 inches?'
        >>> clean_query("1. 2 km in miles?")
        '2 km in miles?'
        >>> clean_query("Sure, here's a new customer question:\\n\\nWhere is my order 88213?")
        'Where is my order 88213?'
        >>> clean_query("**Question:**\\n---\\n**Can I fly from Lisbon to Paris on 2027-05-10?**")
        'Can I fly from Lisbon to Paris on 2027-05-10?'
        >>> clean_query("Is a room free on **[Date]** at **[Location]**?")
        ''
        >>> clean_query("Log in with password [REDACTED], please.")
        'Log in with password [REDACTED], please.'
        >>> clean_query("Customer: I want to ship 2 kg to Spain.")
        'I want to ship 2 kg to Spain.'
        >>> clean_query("Assistant: I'm looking for [Customer's Name].")
        ''
        >>> clean_query("Sure, please provide the details so I can write a question.")
        ''
    """
    query = _extract(text)
    blanks = _PLACEHOLDER.findall(query.replace(MASK, ""))  # a redacted secret is no blank
    return "" if blanks else query


def _extract(text: str) -> str:
    quoted = _QUOTED.search(text)
    if quoted:
        return quoted.group(1).strip()
    lines = [_BULLET.sub("", line.strip()).strip("*#_ \t\"'`") for line in text.splitlines()]
    lines = [_PREFIX.sub("", line).strip("*_ \"'`") for line in lines]
    lines = [line for line in lines if any(c.isalnum() for c in line)]  # not "---"
    for line in lines:
        # "Sure, here's a question:" introduces the request; "Sure, please provide the details"
        # is the model talking to us, not a customer's request.
        if not line.endswith(":") and not _PREAMBLE.match(line):
            return line[:300]
    return ""
