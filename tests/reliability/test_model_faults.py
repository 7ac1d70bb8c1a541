"""Model faults: transient errors are retried with backoff; bad replies are recorded, not fatal."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.types import RetryPolicy

from langchain_ste.explore import ExploreSettings, explore
from langchain_ste.explore.runtime import is_transient
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.trial_log import TrialLog

FAST_RETRY = RetryPolicy(
    initial_interval=0.01,
    backoff_factor=2.0,
    max_interval=0.05,
    max_attempts=4,
    jitter=False,
    retry_on=is_transient,
)


@tool
def shout(text: str) -> str:
    """Return the text in capitals."""
    return text.upper()


class RateLimitError(Exception):
    """Looks like a provider's 429."""


class ServerError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


def phase(messages: list[BaseMessage], tools: list[str]) -> str:
    if tools:
        return "act"
    return "reflect" if "check whether" in str(messages[0].content) else "imagine"


def good_reply(kind: str, messages: list[BaseMessage], query: str = "shout hello") -> Any:
    if kind == "imagine":
        return query
    if kind == "reflect":
        return "Verdict: yes\nLesson: shouting works."
    if messages[-1].type == "tool":
        return AIMessage(f"Here: {messages[-1].content}")
    return AIMessage(
        "",
        tool_calls=[{"name": "shout", "args": {"text": "hello"}, "id": "c1", "type": "tool_call"}],
    )


def run(
    tmp_path: Path, model: ScriptedChatModel, trials: int, retry: RetryPolicy = FAST_RETRY
) -> list[Any]:
    return explore(
        model,
        [shout],
        memory=tmp_path,
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=trials, retry=retry),
    )


def test_rate_limits_and_5xx_are_retried_then_the_trial_completes(tmp_path: Path) -> None:
    faults: dict[str, list[Exception]] = {
        "imagine": [RateLimitError("slow down"), ServerError(503)],
        "act": [ServerError(500)],
        "reflect": [ServerError(529)],
    }
    attempts: dict[str, int] = {"imagine": 0, "act": 0, "reflect": 0}

    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        kind = phase(messages, tools)
        attempts[kind] += 1
        return faults[kind].pop(0) if faults[kind] else good_reply(kind, messages)

    jittered = FAST_RETRY._replace(jitter=True)  # LangGraph-style jitter: up to 1 s more
    trials = run(tmp_path, ScriptedChatModel(script=script), 1, jittered)
    assert len(trials) == 1 and trials[0].error is None and trials[0].success
    assert trials[0].steps[0].output == "HELLO"
    assert attempts == {"imagine": 3, "act": 3, "reflect": 2}


def test_persistent_and_non_transient_errors_are_recorded_not_fatal(tmp_path: Path) -> None:
    imagined = itertools.count()
    calls: list[str] = []

    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        kind = phase(messages, tools)
        calls.append(kind)
        if kind == "imagine":
            n = next(imagined)
            if n < 4:
                return ServerError(503)  # trial 0: every attempt fails
            return "shout the second thing" if n == 4 else "shout hello"
        last = str(messages[-1].content)
        if kind == "act" and messages[-1].type == "human" and "second" in last:
            return ValueError("400 bad request: unsupported parameter")  # never retried
        return good_reply(kind, messages)

    trials = run(tmp_path, ScriptedChatModel(script=script), 3)
    assert [t.index for t in trials] == [0, 1, 2]
    assert "imagine failed" in (trials[0].error or "") and "ServerError" in trials[0].error
    assert calls[:4] == ["imagine"] * 4  # max_attempts
    assert "act failed" in (trials[1].error or "") and "bad request" in trials[1].error
    assert calls[4:6] == ["imagine", "act"] and not trials[1].success  # the 400: one attempt
    assert trials[2].error is None and trials[2].success
    assert len(TrialLog(tmp_path / "trials.jsonl").read()) == 3


def test_empty_truncated_and_unformatted_replies_are_recorded(tmp_path: Path) -> None:
    queries = iter(
        ["", "shout case empty", "shout case truncated", "shout case prose", "shout case fine"]
    )
    act_replies = {
        "empty": "",
        "truncated": 'Action: shout\nAction Input: {"text": "ab',
        "prose": "Sure! I would probably use the shout tool for that.",
        "fine": 'Action: shout\nAction Input: {"text": "ok"}',
    }

    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        kind = phase(messages, tools)
        if kind == "imagine":
            return next(queries)
        if kind == "reflect":
            return (
                "Verdict: maybe?"
                if "empty" in str(messages[-1].content)
                else "Verdict: yes\nLesson: fine."
            )
        human = next(m for m in messages if isinstance(m, HumanMessage))
        case = str(human.content).rsplit(" ", 1)[-1]
        last = messages[-1]
        if last.type == "tool" or (last.type == "human" and "Error" in str(last.content)):
            return "Final Answer: done"
        return act_replies[case]

    trials = run(tmp_path, ScriptedChatModel(script=script, react=True), 5)
    by_index = {t.index: t for t in trials}
    assert len(by_index) == 5
    assert by_index[0].error == "imagine produced no request" and not by_index[0].success
    assert not by_index[1].steps and not by_index[1].success
    truncated = by_index[2].steps
    assert truncated and truncated[0].error_kind == "parse_error"
    assert not by_index[3].steps and not by_index[3].signals.get("executed_ok")
    assert by_index[4].steps[0].output == "OK" and by_index[4].success
