"""What the unit nodes share: the model call (budget, concurrency slot, retries), events, persist.

Every node turns failures into data: a model that keeps failing, an unparseable reply, an unknown
tool, a tool that raises or hangs all end up recorded in the trial, and the unit goes on. A used-up
budget stops the unit cleanly (``stopped``), with every finished trial already persisted.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.runtime import get_runtime
from langgraph.types import RetryPolicy

from langchain_ste.explore.prompts import DEFAULT_PROMPTS, ExplorePrompts
from langchain_ste.explore.state import UnitState
from langchain_ste.memory.base import TrialStore
from langchain_ste.models.schemas import tool_schemas
from langchain_ste.tools.policy import BudgetExhausted, BudgetTracker, ToolPolicy
from langchain_ste.tools.redact import Redactor
from langchain_ste.trial import Trial

if TYPE_CHECKING:
    from langchain_ste.explore.settings import ExploreSettings

M = TypeVar("M", bound=BaseMessage)
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


DEFAULT_RETRY = RetryPolicy(
    initial_interval=1.0,
    backoff_factor=2.0,
    max_interval=30.0,
    max_attempts=4,
    jitter=True,
    retry_on=is_transient,
)
"""Retries of transient model errors: 4 attempts, exponential backoff from 1 s, jitter."""

# LangGraph shows a subgraph's custom events only to ``stream(..., subgraphs=True)``: the unit
# nodes write theirs to the explorer's own stream, so ``stream_mode="custom"`` alone sees them.
EXPLORER_WRITER: ContextVar[Callable[[Any], None] | None] = ContextVar(
    "ste_explorer_writer", default=None
)


def emit(event: dict[str, Any]) -> None:
    """Put a progress event on the explorer's ``custom`` stream."""
    (EXPLORER_WRITER.get() or get_stream_writer())(event)


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
    prompts: ExplorePrompts = DEFAULT_PROMPTS
    model_name: str = ""
    _persist_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # asyncio semaphores belong to one event loop; sync graphs run each node in its own.
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self.by_name: dict[str, BaseTool] = {t.name: t for t in self.tools}
        self.bound = self.model.bind_tools(list(self.tools))
        self._bound_targets: dict[tuple[str, ...], Any] = {}
        self.schemas = {s["name"]: s for s in tool_schemas(list(self.tools))}
        self.model_name = self.model_name or model_name(self.model)

    def act_tools(self, targets: Sequence[str]) -> dict[str, BaseTool]:
        """The tools the act step binds and runs for a unit (`ExploreSettings.act_tools`)."""
        if self.settings.act_tools == "all":
            return self.by_name
        return {name: self.by_name[name] for name in targets if name in self.by_name}

    def bound_for(self, targets: Sequence[str]) -> Any:
        """The model with the unit's act tools bound (built once per target group)."""
        if self.settings.act_tools == "all":
            return self.bound
        key = tuple(targets)
        if key not in self._bound_targets:
            self._bound_targets[key] = self.model.bind_tools(list(self.act_tools(key).values()))
        return self._bound_targets[key]

    def slot(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A place among the ``max_concurrency`` model calls allowed at once (per event loop)."""
        bound = self.settings.max_concurrency
        if not bound:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is None:
            slot = self._slots[loop] = asyncio.Semaphore(bound)
        return slot

    @staticmethod
    def stopped(exc: BudgetExhausted, targets: Sequence[str]) -> dict[str, Any]:
        """End the unit on a used-up budget and say so on the ``custom`` stream."""
        emit({"event": "budget", "tools": list(targets), "reason": str(exc)})
        return {"stopped": [str(exc)]}

    async def call_model(
        self, runnable: Any, messages: list[BaseMessage], targets: Sequence[str]
    ) -> AIMessage:
        """One model call under the budget and the concurrency bound.

        A transient error (``settings.retry.retry_on``) with attempts left propagates, and the
        node's LangGraph ``retry_policy`` (the same policy) reruns the node after its backoff;
        the node calling here holds only its own model call, so a rerun repeats nothing else and
        charges the budget once per attempt. The last attempt's error, or a non-transient one,
        becomes `ModelCallFailed`, which the node records in the trial.

        The run metadata carries the unit's target tools (``ste_targets``) next to LangGraph's
        ``langgraph_node``, so callbacks, tracing and scripted fakes know what the call is for.
        """
        target = targets[0]
        self.tracker.check(target)
        self.tracker.charge_model_call(target)
        try:
            async with self.slot():
                bound = runnable.with_config(metadata={"ste_targets": list(targets)})
                reply = await bound.ainvoke(messages)
        except BudgetExhausted:
            raise
        except Exception as exc:
            retry = self.settings.retry
            if _should_retry(retry, exc) and _node_attempt() < retry.max_attempts:
                raise
            raise ModelCallFailed(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        if reply.usage_metadata:
            self.tracker.charge_tokens(int(reply.usage_metadata.get("total_tokens", 0)))
        return reply

    def trial_id(self, state: UnitState) -> str:
        """The deterministic id of the unit's current trial (``tool/e003/t1``)."""
        return Trial.make_id(
            state["targets"], state["episodes"][state["position"]], state["trial_index"]
        )

    def redact(self, text: str) -> str:
        """``text`` with secrets masked (unchanged without a redactor)."""
        return self.redactor.redact_text(text) if self.redactor is not None else text

    def redact_message(self, message: M) -> M:
        """A copy of ``message`` with secrets masked in its content, tool-call arguments and
        ``response_metadata`` (where a ToolMessage keeps its step record, the full output too).

        Everything a node returns goes through here or `redact` first: graph state (and so a
        checkpointer) never holds a raw secret, and neither does what the model reads next.
        """
        if self.redactor is None:
            return message
        redactor = self.redactor
        update: dict[str, Any] = {"content": redactor.redact_value(message.content)}
        if message.response_metadata:
            update["response_metadata"] = redactor.redact_value(message.response_metadata)
        if isinstance(message, AIMessage):
            update["tool_calls"] = [
                {**c, "args": redactor.redact_value(c["args"])} for c in message.tool_calls
            ]
            update["invalid_tool_calls"] = [
                {**c, "args": redactor.redact_text(c["args"] or "")}
                for c in message.invalid_tool_calls
            ]
        return message.model_copy(update=update)

    def persist(self, trial: Trial) -> None:
        """Append one finished trial to the store (one writer at a time)."""
        with self._persist_lock:
            self.store.add([trial])


def fresh_trial(update: dict[str, Any]) -> dict[str, Any]:
    """A state update that clears the per-trial fields, plus ``update``."""
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


def add_usage(usage: Mapping[str, int], reply: AIMessage) -> dict[str, int]:
    """``usage`` plus the reply's token counts."""
    out = dict(usage)
    for key, value in (reply.usage_metadata or {}).items():
        if isinstance(value, int):
            out[key] = out.get(key, 0) + value
    return out


def model_name(model: BaseChatModel) -> str:
    """The model's name as recorded in trials."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type


def _should_retry(policy: RetryPolicy, exc: Exception) -> bool:
    retry_on = policy.retry_on
    if isinstance(retry_on, type):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    return bool(retry_on(exc))


def _node_attempt() -> int:
    """The running node's attempt (1 on the first run, then 2, 3... on LangGraph's retries)."""
    try:
        info = get_runtime().execution_info
    except (KeyError, RuntimeError):  # called outside a graph run: no retries
        return 1_000_000
    return info.node_attempt if info is not None else 1_000_000
