"""Reflect: judge a finished trajectory, ground the verdict in execution, keep the lesson.

Reflection lives here once: the reflect node of exploration, the online recorder and the LLM
filter all build the same prompt (`reflection_messages`, from the `ExplorePrompts` set), render
steps with the same `render_transcript`, and read the reply with the same `parse_reflection`.
`reflect_on` / `areflect_on` do the three for any finished trajectory. The grounded signals and
how they combine with the model's verdict are in `langchain_ste.explore.verdict`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from langchain_ste.explore.act import is_nudge
from langchain_ste.explore.prompts import DEFAULT_PROMPTS, ExplorePrompts
from langchain_ste.explore.runtime import (
    ModelCallFailed,
    UnitRuntime,
    add_usage,
    emit,
    fresh_trial,
)
from langchain_ste.explore.state import UnitState
from langchain_ste.explore.verdict import combine, signals
from langchain_ste.tools.policy import BudgetExhausted
from langchain_ste.trajectory import Step, final_answer_of, steps_of, trajectory_to_dicts
from langchain_ste.trial import Trial

_VERDICT = re.compile(
    r"verdict\s*[:=-]\s*\**\s*(yes|no|true|false|solved|unsolved|correct|"
    r"incorrect|success|failure|fail)",
    re.IGNORECASE,
)
_LESSON = re.compile(r"lesson\s*[:=-]\s*(.+)", re.IGNORECASE | re.DOTALL)
_YES = ("yes", "true", "solved", "correct", "success")


def render_transcript(steps: Sequence[Step]) -> str:
    """The steps as the judge reads them: one line per call, errors marked, results cut at 300.

    Example:
        >>> ok = Step(tool="add", args={"a": 1, "b": 2}, call_id="c1", output="3")
        >>> bad = Step(tool="add", args={}, call_id="c2", status="error",
        ...            error_kind="invalid_args", error="a is required")
        >>> print(render_transcript([ok, bad]))
        - called add(a=1, b=2) -> 3
        - called add() -> ERROR (invalid_args): a is required
    """
    lines = []
    for step in steps:
        result = step.output if step.ok else f"ERROR ({step.error_kind}): {step.error}"
        lines.append(f"- called {step.tool}({_args(step.args)}) -> {result[:300]}")
    return "\n".join(lines)


def _args(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def parse_verdict(text: str) -> bool | None:
    """The ``Verdict: yes|no`` in a judge's reply, or None when it has none (unreadable).

    Example:
        >>> parse_verdict("Verdict: no"), parse_verdict("Verdict: **yes**"), parse_verdict("hmm")
        (False, True, None)
    """
    match = _VERDICT.search(text)
    return match.group(1).lower() in _YES if match else None


def parse_reflection(text: str) -> tuple[bool, str]:
    """Read ``Verdict: yes|no`` and ``Lesson: ...`` leniently; unreadable means not solved.

    Example:
        >>> parse_reflection("Verdict: yes\\nLesson: units are case-sensitive.")
        (True, 'units are case-sensitive.')
        >>> parse_reflection("I am not sure.")
        (False, '')
    """
    match = _VERDICT.search(text)
    if match:
        verdict = match.group(1).lower() in _YES
    else:
        first = text.strip().split(maxsplit=1)[0].lower().strip(".,!:") if text.strip() else ""
        verdict = first == "yes"
    lesson_match = _LESSON.search(text)
    lesson = " ".join(lesson_match.group(1).split())[:600] if lesson_match else ""
    if lesson.startswith("<") or "one sentence on how to use" in lesson:
        lesson = ""  # the model copied the template instead of writing a lesson
    return verdict, lesson


def reflection_messages(
    query: str,
    steps: Sequence[Step],
    final_answer: str,
    *,
    prompts: ExplorePrompts = DEFAULT_PROMPTS,
) -> list[BaseMessage]:
    """The judge's conversation about one finished trajectory.

    Example:
        >>> msgs = reflection_messages("1+2?", [], "3")
        >>> "(no tool was called)" in msgs[1].text, msgs[1].text.splitlines()[0]
        (True, 'Request: 1+2?')
    """
    transcript = render_transcript(steps) or "(no tool was called)"
    fields = {"query": query, "transcript": transcript, "answer": final_answer or "(none)"}
    return [
        SystemMessage(prompts.reflect_system.format(**fields)),
        HumanMessage(prompts.reflect_human.format(**fields)),
    ]


def reflect_on(
    model: BaseChatModel,
    query: str,
    steps: Sequence[Step],
    final_answer: str,
    *,
    prompts: ExplorePrompts = DEFAULT_PROMPTS,
) -> tuple[bool, str]:
    """Ask ``model`` whether the trajectory solved ``query``: its verdict and its lesson.

    Model errors propagate (the caller decides what a failed judge means).

    Example:
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> step = Step(tool="add", args={"a": 1, "b": 2}, call_id="c1", output="3")
        >>> judge = ScriptedChatModel(script=["Verdict: yes\\nLesson: add takes two ints."])
        >>> reflect_on(judge, "1+2?", [step], "It is 3.")
        (True, 'add takes two ints.')
    """
    reply = model.invoke(reflection_messages(query, steps, final_answer, prompts=prompts))
    return parse_reflection(reply.text)


async def areflect_on(
    model: BaseChatModel,
    query: str,
    steps: Sequence[Step],
    final_answer: str,
    *,
    prompts: ExplorePrompts = DEFAULT_PROMPTS,
) -> tuple[bool, str]:
    """Async `reflect_on`.

    Example:
        >>> import asyncio
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> asyncio.run(areflect_on(ScriptedChatModel(script=["Verdict: no"]), "q", [], ""))
        (False, '')
    """
    reply = await model.ainvoke(reflection_messages(query, steps, final_answer, prompts=prompts))
    return parse_reflection(reply.text)


async def reflect(rt: UnitRuntime, state: UnitState) -> dict[str, Any]:
    """Judge the trial, compute grounded signals, persist the trial, move to the next one."""
    started = time.perf_counter()
    targets = state["targets"]
    recorded = trajectory_to_dicts(_trajectory(state["messages"], state["query"]))
    steps, final = steps_of(recorded), final_answer_of(recorded)
    error = state["error"]
    usage = dict(state["usage"])
    model_verdict, lesson = False, ""
    judged = rt.settings.reflection
    if judged and not error and state["query"]:
        messages = reflection_messages(state["query"], steps, final, prompts=rt.prompts)
        try:
            reply = await rt.call_model(rt.model, messages, targets)
            model_verdict, lesson = parse_reflection(reply.text)
            usage = add_usage(usage, reply)
        except BudgetExhausted as exc:
            return rt.stopped(exc, state["targets"])
        except ModelCallFailed as exc:
            error = rt.redact(f"reflect failed: {exc}")
    sig = signals(steps, final, model_verdict=model_verdict, targets=targets)
    now = time.perf_counter()
    act_s = (started - state["act_started"]) if state["act_started"] else 0.0
    trial = Trial(
        trial_id=rt.trial_id(state),
        tools=list(targets),
        episode=state["episodes"][state["position"]],
        index=state["trial_index"],
        query=state["query"],
        messages=recorded,
        success=not error and (combine(sig, rt.settings.verdict_mode) if judged else True),
        lesson=lesson,
        signals=sig,
        emulated=any(s.status == "emulated" for s in steps),
        exemplars=list(state["exemplars"]),
        model=rt.model_name,
        usage=usage,
        timings={
            "imagine_s": state["imagine_s"],
            "act_s": act_s,
            "reflect_s": now - started,
            "total_s": state["imagine_s"] + act_s + (now - started),
        },
        error=error,
    )
    if rt.redactor is not None:
        trial = rt.redactor.redact_trial(trial)
    await asyncio.to_thread(rt.persist, trial)
    emit(
        {
            "event": "trial",
            "trial_id": trial.trial_id,
            "tools": targets,
            "success": trial.success,
            "error": trial.error,
        }
    )
    update: dict[str, Any] = {"trials": [trial.to_dict()]}
    if state["trial_index"] + 1 < rt.settings.trials_per_episode:
        update.update(
            fresh_trial(
                {"trial_index": state["trial_index"] + 1, "stm": [*state["stm"], trial.to_dict()]}
            )
        )
    else:
        emit({"event": "episode", "tools": targets, "episode": trial.episode})
        update.update(fresh_trial({"position": state["position"] + 1, "trial_index": 0, "stm": []}))
    return update


def _trajectory(messages: Sequence[BaseMessage], query: str) -> list[BaseMessage]:
    """The trial's own conversation: from its query on (no system prompt, no demonstrations)."""
    if not query:
        return []
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage) and messages[i].content == query:
            # the act loop's nudges to answer are not part of the trial (see explore/act.py)
            return [m for m in messages[i:] if not is_nudge(m)]
    return [HumanMessage(query)]
