"""What exploration may do: a per-tool side-effect policy and budgets.

Exploration calls real tools, so the user decides per tool whether a call really runs (``run``),
is answered by an LLM pretending to be the tool (``emulate``; the trial is marked emulated) or is
refused (``skip``). Budgets bound model calls, tool calls, tokens and wall time, per run and per
tool.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

ToolAction = Literal["run", "emulate", "skip"]
_ACTIONS = ("run", "emulate", "skip")


@dataclass
class ToolPolicy:
    """Per-tool side-effect policy and execution limits.

    Args:
        default: what to do with tools not named in ``tools``.
        tools: per-tool overrides, e.g. ``{"delete_file": "skip", "send_email": "emulate"}``.
        timeout_s: wall-clock limit of one tool call.
        max_output_chars: tool output longer than this is truncated (with a marker) for the model.
        max_stored_chars: the full output is kept in the trial up to this many characters.
        isolate: tools run in a separate process (a tool that crashes the interpreter is then a
            recorded failure): True for all, or the names of the tools to isolate.

    Example:
        >>> policy = ToolPolicy(tools={"delete_all": "skip"})
        >>> policy.action("delete_all"), policy.action("search")
        ('skip', 'run')
    """

    default: ToolAction = "run"
    tools: dict[str, ToolAction] = field(default_factory=dict)
    timeout_s: float = 30.0
    max_output_chars: int = 2000
    max_stored_chars: int = 100_000
    isolate: bool | frozenset[str] = False

    def __post_init__(self) -> None:
        for name, action in [("default", self.default), *self.tools.items()]:
            if action not in _ACTIONS:
                raise ValueError(f"policy for {name!r} is {action!r}; use one of {_ACTIONS}")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")

    def action(self, tool_name: str) -> ToolAction:
        """What to do with a call of ``tool_name``."""
        return self.tools.get(tool_name, self.default)

    def emulating(self) -> ToolPolicy:
        """This policy with every tool it may touch emulated by a model (skipped tools stay
        skipped): exploration without execution feedback, the STE ablation.

        Example:
            >>> ToolPolicy(tools={"rm": "skip", "ls": "run"}).emulating().tools
            {'rm': 'skip', 'ls': 'emulate'}
        """
        tools: dict[str, ToolAction] = {
            n: ("skip" if a == "skip" else "emulate") for n, a in self.tools.items()
        }
        default: ToolAction = "skip" if self.default == "skip" else "emulate"
        return replace(self, default=default, tools=tools)

    def isolated(self, tool_name: str) -> bool:
        """Whether ``tool_name`` runs in a separate process."""
        return self.isolate if isinstance(self.isolate, bool) else tool_name in self.isolate

    def check_tools(self, names: Iterable[str]) -> None:
        """Raise unless every tool this policy names (in ``tools`` and ``isolate``) is known.

        A policy entry for a misspelt name would otherwise do nothing at all: the real tool
        would run under the default action.

        Args:
            names: the names of the tools being explored.

        Raises:
            ValueError: the policy names tools that are not in ``names``; the message lists
                the known tools (and the closest match of each unknown name).

        Example:
            >>> policy = ToolPolicy(tools={"cancel_order": "skip"})
            >>> try:
            ...     policy.check_tools(["get_order", "cancel_pending_order"])
            ... except ValueError as exc:
            ...     print(exc)
            policy names unknown tools: cancel_order (did you mean cancel_pending_order?); \
known tools: get_order, cancel_pending_order
        """
        known = list(dict.fromkeys(names))
        named = list(self.tools)
        if not isinstance(self.isolate, bool):
            named += sorted(self.isolate)
        unknown = [n for n in dict.fromkeys(named) if n not in known]
        if not unknown:
            return
        described = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            described.append(f"{name} (did you mean {close[0]}?)" if close else name)
        raise ValueError(
            f"policy names unknown tools: {', '.join(described)}; known tools: "
            f"{', '.join(known) or 'none'}"
        )


class BudgetExhausted(RuntimeError):
    """Raised when a budget is used up; exploration stops cleanly and keeps what it has."""


@dataclass
class Budget:
    """Limits for one exploration run; ``None`` means unlimited.

    Args:
        max_model_calls: model calls in the whole run.
        max_tool_calls: executed (or emulated) tool calls in the whole run.
        max_tokens: model tokens (input + output) in the whole run.
        max_seconds: wall time of the run.
        per_tool_model_calls: model calls spent on any one tool's episodes.
        per_tool_tool_calls: tool calls spent on any one tool's episodes.

    Example:
        >>> tracker = Budget(max_model_calls=1).tracker()
        >>> tracker.charge_model_call("search")
        >>> tracker.exhausted("search")
        'model calls: 1 of 1 used'
    """

    max_model_calls: int | None = None
    max_tool_calls: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None
    per_tool_model_calls: int | None = None
    per_tool_tool_calls: int | None = None

    def tracker(self) -> BudgetTracker:
        """A fresh, thread-safe counter against this budget."""
        return BudgetTracker(self)


class BudgetTracker:
    """Counts what a run spends against a `Budget` (thread-safe)."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.started = time.monotonic()
        self.model_calls = 0
        self.tool_calls = 0
        self.tokens = 0
        self.model_calls_by_tool: Counter[str] = Counter()
        self.tool_calls_by_tool: Counter[str] = Counter()
        self._lock = threading.Lock()

    def charge_model_call(self, tool: str, tokens: int = 0) -> None:
        """Record one model call (and its tokens) spent on ``tool``'s exploration."""
        with self._lock:
            self.model_calls += 1
            self.tokens += tokens
            self.model_calls_by_tool[tool] += 1

    def charge_tokens(self, tokens: int) -> None:
        """Record tokens reported after a model call."""
        with self._lock:
            self.tokens += tokens

    def charge_tool_call(self, tool: str) -> None:
        """Record one tool call spent on ``tool``'s exploration."""
        with self._lock:
            self.tool_calls += 1
            self.tool_calls_by_tool[tool] += 1

    def exhausted(self, tool: str | None = None) -> str | None:
        """The reason the budget is used up (for the run, or for ``tool``), or None."""
        b = self.budget
        checks = [
            ("model calls", self.model_calls, b.max_model_calls),
            ("tool calls", self.tool_calls, b.max_tool_calls),
            ("tokens", self.tokens, b.max_tokens),
        ]
        if tool is not None:
            checks += [
                (f"model calls for {tool}", self.model_calls_by_tool[tool], b.per_tool_model_calls),
                (f"tool calls for {tool}", self.tool_calls_by_tool[tool], b.per_tool_tool_calls),
            ]
        for label, used, limit in checks:
            if limit is not None and used >= limit:
                return f"{label}: {used} of {limit} used"
        if b.max_seconds is not None and time.monotonic() - self.started >= b.max_seconds:
            return f"time: {b.max_seconds:g} s limit reached"
        return None

    def check(self, tool: str | None = None) -> None:
        """Raise `BudgetExhausted` if the budget is used up."""
        reason = self.exhausted(tool)
        if reason:
            raise BudgetExhausted(reason)
