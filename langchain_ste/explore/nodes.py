"""The nodes of one exploration work unit: start_episode -> imagine -> act <-> execute -> reflect.

Every node turns failures into data: a model that keeps failing, an unparseable reply, an unknown
tool, a tool that raises or hangs all end up recorded in the trial, and the unit goes on. A used-up
budget stops the unit cleanly (`stopped`), with every finished trial already persisted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.types import RetryPolicy

from langchain_ste.explore import prompts as default_prompts
from langchain_ste.explore.demonstrations import act_demonstrations, imagine_examples
from langchain_ste.explore.settings import ExploreSettings
from langchain_ste.explore.state import UnitState
from langchain_ste.explore.verdict import combine, signals
from langchain_ste.memory.base import TrialStore
from langchain_ste.models.react_protocol import tool_schemas
from langchain_ste.tools.execution import execute_tool_call
from langchain_ste.tools.policy import BudgetExhausted, BudgetTracker, ToolPolicy
from langchain_ste.tools.redact import Redactor
from langchain_ste.trial import ErrorKind, Step, Trial, trajectory_to_dicts

logger = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
_TRANSIENT_NAMES = (
    "RateLimit",
    "Timeout",
    "Connection",
    "ServiceUnavailable",
    "InternalServer",
    "Overloaded",
    "APIError",
)


def is_transient(exc: BaseException) -> bool:
    """Whether a model error is worth retrying (rate limits, 5xx, timeouts, dropped connections).

    Example:
        >>> class RateLimitError(Exception): ...
        >>> is_transient(RateLimitError()), is_transient(ValueError("bad request"))
        (True, False)
    """
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    if isinstance(status, int):
        return status in _TRANSIENT_STATUS
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return any(name in type(exc).__name__ for name in _TRANSIENT_NAMES)


# LangGraph shows a subgraph's custom events only to ``stream(..., subgraphs=True)``: the unit
# nodes write theirs to the explorer's own stream, so ``stream_mode="custom"`` alone sees them.
EXPLORER_WRITER: ContextVar[Callable[[Any], None] | None] = ContextVar(
    "ste_explorer_writer", default=None
)


def emit(event: dict[str, Any]) -> None:
    """Put a progress event on the explorer's ``custom`` stream."""
    (EXPLORER_WRITER.get() or get_stream_writer())(event)


DEFAULT_RETRY = RetryPolicy(
    initial_interval=1.0,
    backoff_factor=2.0,
    max_interval=30.0,
    max_attempts=4,
    jitter=True,
    retry_on=is_transient,
)


class ModelCallFailed(RuntimeError):
    """A model call failed for good (after retries, or with a non-transient error)."""


@dataclass
class UnitRuntime:
    """Everything the unit nodes share; built once per explorer."""

    model: BaseChatModel
    tools: Sequence[BaseTool]
    store: TrialStore
    settings: ExploreSettings
    policy: ToolPolicy
    tracker: BudgetTracker
    redactor: Redactor | None
    emulator: BaseChatModel | None = None
    prompts: Any = default_prompts
    retry: RetryPolicy = DEFAULT_RETRY
    model_name: str = ""
    max_concurrency: int | None = None
    seed: int = 0
    _persist_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        # asyncio semaphores belong to one event loop; sync graphs run each node in its own.
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self.by_name: dict[str, BaseTool] = {t.name: t for t in self.tools}
        self.bound = self.model.bind_tools(list(self.tools))
        self.schemas = {s["name"]: s for s in tool_schemas(list(self.tools))}
        self.model_name = self.model_name or _model_name(self.model)

    # -- helpers ------------------------------------------------------------------------------

    def _slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A place among the ``max_concurrency`` model calls allowed at once (per event loop)."""
        if not self.max_concurrency:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is None:
            slot = self._slots[loop] = asyncio.Semaphore(self.max_concurrency)
        return slot

    @staticmethod
    def _stopped(exc: BudgetExhausted, targets: Sequence[str]) -> dict[str, Any]:
        """End the unit on a used-up budget and say so on the ``custom`` stream."""
        emit({"event": "budget", "tools": list(targets), "reason": str(exc)})
        return {"stopped": [str(exc)]}

    async def _call(self, runnable: Any, messages: list[BaseMessage], target: str) -> AIMessage:
        """One model call: budget check, retries with backoff and jitter on transient errors."""
        attempt = 0
        while True:
            self.tracker.check(target)
            self.tracker.charge_model_call(target)
            try:
                async with self._slot():
                    reply = await runnable.ainvoke(messages)
            except BudgetExhausted:
                raise
            except Exception as exc:
                attempt += 1
                if attempt >= self.retry.max_attempts or not _should_retry(self.retry, exc):
                    raise ModelCallFailed(f"{type(exc).__name__}: {exc}") from exc
                await asyncio.sleep(_backoff(self.retry, attempt, self.rng))
                continue
            if not isinstance(reply, AIMessage):
                reply = AIMessage(content=str(getattr(reply, "content", reply)))
            if reply.usage_metadata:
                self.tracker.charge_tokens(int(reply.usage_metadata.get("total_tokens", 0)))
            return reply

    def _trial_id(self, state: UnitState) -> str:
        return Trial.make_id(
            state["targets"], state["episodes"][state["position"]], state["trial_index"]
        )

    # -- nodes --------------------------------------------------------------------------------

    async def start_episode(self, state: UnitState) -> dict[str, Any]:
        """Load the episode's persisted trials (resume) as short-term memory; skip done ones."""
        position, targets = state["position"], state["targets"]
        while position < len(state["episodes"]):
            episode = state["episodes"][position]
            done = sorted(
                (
                    t
                    for t in self.store.trials(targets[0])
                    if t.tools == targets and t.episode == episode
                ),
                key=lambda t: t.index,
            )
            if len(done) < self.settings.trials_per_episode:
                return _fresh_trial(
                    {
                        "position": position,
                        "trial_index": len(done),
                        "stm": [t.to_dict() for t in done],
                    }
                )
            position += 1
        return {"position": position}

    async def imagine(self, state: UnitState) -> dict[str, Any]:
        """Ask the model for one new, realistic user request for the target tool(s)."""
        started = time.perf_counter()
        target = state["targets"][0]
        p = self.prompts
        schema = self.schemas.get(target, {})
        parts = [
            p.IMAGINE_SYSTEM.format(
                target=target, description=_first_sentence(str(schema.get("description", "")))
            )
        ]
        if self.settings.imagine_examples and target in self.by_name:
            examples = imagine_examples(self.by_name[target], 2)
            parts.append(p.IMAGINE_EXAMPLES.format(examples="\n".join(f"- {e}" for e in examples)))
        past = self.store.past_queries(target, limit=self.settings.past_queries)
        if past:
            parts.append(p.IMAGINE_PAST.format(queries="\n".join(f"- {q}" for q in past)))
        if state["stm"]:
            parts.append(p.IMAGINE_SHORT_TERM.format(trials=_summarise(state["stm"])))
        messages: list[BaseMessage] = [
            SystemMessage("\n\n".join(parts)),
            HumanMessage(p.IMAGINE_HUMAN),
        ]
        try:
            reply = await self._call(self.model, messages, target)
        except BudgetExhausted as exc:
            return self._stopped(exc, state["targets"])
        except ModelCallFailed as exc:
            return {"error": f"imagine failed: {exc}", "imagine_s": time.perf_counter() - started}
        query = clean_query(reply.text)
        usage = _add_usage({}, reply)
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

    async def act(self, state: UnitState) -> dict[str, Any]:
        """One model turn with the tools bound (the first turn builds the conversation)."""
        messages: list[BaseMessage] = list(state["messages"])
        exemplars = list(state["exemplars"])
        if not messages:
            messages, exemplars = self._opening(state)
        try:
            reply = await self._call(self.bound, messages, state["targets"][0])
        except BudgetExhausted as exc:
            return self._stopped(exc, state["targets"])
        except ModelCallFailed as exc:
            return {"messages": messages, "exemplars": exemplars, "error": f"act failed: {exc}"}
        return {
            "messages": [*messages, reply],
            "exemplars": exemplars,
            "usage": _add_usage(state["usage"], reply),
        }

    def _opening(self, state: UnitState) -> tuple[list[BaseMessage], list[str]]:
        system = self.prompts.ACT_SYSTEM
        demo_messages: list[BaseMessage] = []
        ids: list[str] = []
        target = self.by_name.get(state["targets"][0])
        if self.settings.demonstrations and target is not None:
            searchable = self.store if hasattr(self.store, "search") else None
            demos = act_demonstrations(
                target,
                state["query"],
                searchable,  # type: ignore[arg-type]
                k=self.settings.demonstrations_k,
                exclude_ids={self._trial_id(state)},
            )
            for demo in demos:
                demo_messages.extend(demo.messages)
                ids.append(demo.id)
            if demos:
                system = f"{system}\n\n{self.prompts.ACT_DEMONSTRATIONS_NOTE}"
        return [SystemMessage(system), *demo_messages, HumanMessage(state["query"])], ids

    async def execute(self, state: UnitState) -> dict[str, Any]:
        """Run the last reply's tool calls under the policy; record malformed calls as failures."""
        messages = list(state["messages"])
        reply = messages[-1]
        assert isinstance(reply, AIMessage)
        steps = list(state["steps"])
        target = state["targets"][0]
        for call in reply.tool_calls:
            if len(steps) >= self.settings.max_steps:
                error = f"step limit of {self.settings.max_steps} tool calls reached"
                messages.append(
                    ToolMessage(
                        f"Error: {error}",
                        tool_call_id=call["id"] or "",
                        name=call["name"],
                        status="error",
                    )
                )
                continue
            try:
                self.tracker.check(target)
            except BudgetExhausted as exc:
                return self._stopped(exc, state["targets"])
            self.tracker.charge_tool_call(target)
            tool_message, step = await execute_tool_call(
                call, self.by_name, self.policy, emulator=self.emulator or self.model
            )
            messages.append(tool_message)
            steps.append(step.to_dict())
        for bad in reply.invalid_tool_calls:
            error = bad.get("error") or "malformed tool call"
            kind: ErrorKind = (
                "unknown_tool" if str(error).startswith("unknown tool") else "parse_error"
            )
            steps.append(
                Step(
                    tool=bad.get("name") or "",
                    args={},
                    call_id=bad.get("id") or "",
                    output=str(bad.get("args") or ""),
                    status="error",
                    error_kind=kind,
                    error=str(error),
                ).to_dict()
            )
        if reply.invalid_tool_calls:
            messages.append(
                HumanMessage(
                    self.prompts.PARSE_ERROR_FEEDBACK.format(
                        error=reply.invalid_tool_calls[0].get("error")
                    )
                )
            )
        return {"messages": messages, "steps": steps}

    async def reflect(self, state: UnitState) -> dict[str, Any]:
        """Judge the trial, compute grounded signals, persist the trial, move to the next one."""
        started = time.perf_counter()
        targets = state["targets"]
        steps = [Step.from_dict(s) for s in state["steps"]]
        trajectory = _trajectory(state["messages"], state["query"])
        final = _final_answer(trajectory)
        error = state["error"]
        usage = dict(state["usage"])
        model_verdict, lesson = False, ""
        if not error and state["query"]:
            transcript = _transcript(steps) or "(no tool was called)"
            messages: list[BaseMessage] = [
                SystemMessage(
                    self.prompts.REFLECT_SYSTEM.format(
                        query=state["query"], transcript=transcript, answer=final or "(none)"
                    )
                ),
                HumanMessage(self.prompts.REFLECT_HUMAN),
            ]
            try:
                reply = await self._call(self.model, messages, targets[0])
                model_verdict, lesson = parse_reflection(reply.text)
                usage = _add_usage(usage, reply)
            except BudgetExhausted as exc:
                return self._stopped(exc, state["targets"])
            except ModelCallFailed as exc:
                error = f"reflect failed: {exc}"
        sig = signals(steps, final, model_verdict=model_verdict, targets=targets)
        now = time.perf_counter()
        act_s = (started - state["act_started"]) if state["act_started"] else 0.0
        trial = Trial(
            trial_id=self._trial_id(state),
            tools=list(targets),
            episode=state["episodes"][state["position"]],
            index=state["trial_index"],
            query=state["query"],
            messages=trajectory_to_dicts(trajectory),
            steps=steps,
            final_answer=final,
            success=not error and combine(sig, self.settings.verdict_mode),
            lesson=lesson,
            signals=sig,
            emulated=any(s.status == "emulated" for s in steps),
            exemplars=list(state["exemplars"]),
            model=self.model_name,
            usage=usage,
            timings={
                "imagine_s": state["imagine_s"],
                "act_s": act_s,
                "reflect_s": now - started,
                "total_s": state["imagine_s"] + act_s + (now - started),
            },
            error=error,
        )
        if self.redactor is not None:
            trial = self.redactor.redact_trial(trial)
        await asyncio.to_thread(self._persist, trial)
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
        if state["trial_index"] + 1 < self.settings.trials_per_episode:
            update.update(
                _fresh_trial(
                    {
                        "trial_index": state["trial_index"] + 1,
                        "stm": [*state["stm"], trial.to_dict()],
                    }
                )
            )
        else:
            emit({"event": "episode", "tools": targets, "episode": trial.episode})
            update.update(
                _fresh_trial({"position": state["position"] + 1, "trial_index": 0, "stm": []})
            )
        return update

    def _persist(self, trial: Trial) -> None:
        with self._persist_lock:
            self.store.add([trial])

    # -- routing ------------------------------------------------------------------------------

    @staticmethod
    def after_start(state: UnitState) -> str:
        return "imagine" if state["position"] < len(state["episodes"]) else "__end__"

    @staticmethod
    def after_imagine(state: UnitState) -> str:
        if state.get("stopped"):
            return "__end__"
        return "reflect" if state["error"] else "act"

    def after_act(self, state: UnitState) -> str:
        if state.get("stopped"):
            return "__end__"
        last = state["messages"][-1] if state["messages"] else None
        if state["error"] or not isinstance(last, AIMessage):
            return "reflect"
        wants_tools = bool(last.tool_calls or last.invalid_tool_calls)
        return (
            "execute"
            if wants_tools and len(state["steps"]) < self.settings.max_steps
            else "reflect"
        )

    def after_execute(self, state: UnitState) -> str:
        if state.get("stopped"):
            return "__end__"
        return "act" if len(state["steps"]) < self.settings.max_steps else "reflect"

    def after_reflect(self, state: UnitState) -> str:
        if state.get("stopped"):
            return "__end__"
        return "imagine" if state["trial_index"] > 0 else "start_episode"


def _first_sentence(text: str) -> str:
    """The gist of a description: small models follow a short one far better than a long one."""
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _fresh_trial(update: dict[str, Any]) -> dict[str, Any]:
    return {
        "query": "",
        "messages": [],
        "steps": [],
        "exemplars": [],
        "usage": {},
        "error": None,
        "imagine_s": 0.0,
        "act_started": 0.0,
        **update,
    }


def _should_retry(policy: RetryPolicy, exc: Exception) -> bool:
    retry_on = policy.retry_on
    if isinstance(retry_on, type):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    return bool(retry_on(exc))


def _backoff(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    delay = min(
        policy.max_interval, policy.initial_interval * policy.backoff_factor ** (attempt - 1)
    )
    return delay + (rng.uniform(0, 1) if policy.jitter else 0.0)


def _model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type


def _add_usage(usage: Mapping[str, int], reply: AIMessage) -> dict[str, int]:
    out = dict(usage)
    for key, value in (reply.usage_metadata or {}).items():
        if isinstance(value, int):
            out[key] = out.get(key, 0) + value
    return out


_BULLET = re.compile(r"^(?:[-*\u2022]|\d+[.)])\s+")
_PREFIX = re.compile(r"^\s*(new\s+)?(user\s+)?(request|query|question)\s*:\s*", re.IGNORECASE)


_QUOTED = re.compile(r"[\"\u201c]([^\"\u201d]{10,300})[\"\u201d]")


def clean_query(text: str) -> str:
    """The imagined request: a quoted question if there is one, else the first non-empty line,
    without labels or quotes.

    Example:
        >>> clean_query('The customer asks: "How many feet are in 100 meters?"')
        'How many feet are in 100 meters?'

        >>> clean_query('Request: "How many cm are 3 inches?"\\nMore text')
        'How many cm are 3 inches?'
        >>> clean_query("1. 2 km in miles?")
        '2 km in miles?'
    """
    quoted = _QUOTED.search(text)
    if quoted:
        return quoted.group(1).strip()
    for line in text.splitlines():
        line = _PREFIX.sub("", _BULLET.sub("", line.strip())).strip().strip("\"'`")
        if line:
            return line[:300]
    return ""


_VERDICT = re.compile(
    r"verdict\s*[:=-]\s*\**\s*(yes|no|true|false|solved|unsolved|correct|"
    r"incorrect|success|failure|fail)",
    re.IGNORECASE,
)
_LESSON = re.compile(r"lesson\s*[:=-]\s*(.+)", re.IGNORECASE | re.DOTALL)


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
        verdict = match.group(1).lower() in ("yes", "true", "solved", "correct", "success")
    else:
        first = text.strip().split(maxsplit=1)[0].lower().strip(".,!:") if text.strip() else ""
        verdict = first == "yes"
    lesson_match = _LESSON.search(text)
    lesson = " ".join(lesson_match.group(1).split())[:600] if lesson_match else ""
    if lesson.startswith("<") or "one sentence on how to use" in lesson:
        lesson = ""  # the model copied the template instead of writing a lesson
    return verdict, lesson


def _trajectory(messages: Sequence[BaseMessage], query: str) -> list[BaseMessage]:
    """The trial's own conversation: from its query on (no system prompt, no demonstrations)."""
    if not query:
        return []
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage) and messages[i].content == query:
            return list(messages[i:])
    return [HumanMessage(query)]


def _final_answer(trajectory: Sequence[BaseMessage]) -> str:
    last = trajectory[-1] if trajectory else None
    if isinstance(last, AIMessage) and not last.tool_calls and not last.invalid_tool_calls:
        return last.text.strip()
    return ""


def _transcript(steps: Sequence[Step]) -> str:
    lines = []
    for step in steps:
        result = step.output if step.ok else f"ERROR ({step.error_kind}): {step.error}"
        lines.append(f"- called {step.tool}({_args(step.args)}) -> {result[:300]}")
    return "\n".join(lines)


def _args(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def _summarise(trials: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for i, data in enumerate(trials, start=1):
        trial = Trial.from_dict(dict(data))
        lines.append(f"{i}. Request: {trial.query}")
        transcript = _transcript(trial.steps)
        if transcript:
            lines.append("   " + transcript.replace("\n", "\n   "))
        lines.append(
            f"   Solved: {'yes' if trial.success else 'no'}."
            + (f" Lesson: {trial.lesson}" if trial.lesson else "")
        )
    return "\n".join(lines)
