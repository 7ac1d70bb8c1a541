"""What a benchmark gives the evaluation runner: cases, live tool environments and a checker.

A benchmark is a list of `EvalCase` records. Each case says what the user asks (one or more turns),
which functions the ground truth calls per turn (for the tool-match metric), how to build a fresh
`ToolEnvironment` (the tools, bound to live state, that record every call that reaches them) and
how to judge the calls made (`CheckResult`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from langchain_core.tools import BaseTool, StructuredTool


class RecordedCall(TypedDict):
    """One call that reached a live tool: the function name and its arguments."""

    name: str
    args: dict[str, Any]


@dataclass
class CheckResult:
    """A checker's verdict on one case.

    Example:
        >>> CheckResult(correct=False, reason="wrong tool").correct
        False
    """

    correct: bool
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


CallsPerTurn = list[list[RecordedCall]]
Checker = Callable[[CallsPerTurn], CheckResult]


@dataclass
class ToolEnvironment:
    """Tools bound to live state, and the calls that reached them (in execution order).

    Example:
        >>> from langchain_ste.tools.examples import convert_units
        >>> env = ToolEnvironment.wrap([convert_units])
        >>> env.tools[0].invoke({"value": 2, "from_unit": "m", "to_unit": "cm"})
        '2 m = 200 cm'
        >>> env.calls
        [{'name': 'convert_units', 'args': {'value': 2.0, 'from_unit': 'm', 'to_unit': 'cm'}}]
    """

    tools: list[BaseTool]
    calls: list[RecordedCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, name: str, args: Mapping[str, Any]) -> None:
        """Append one call (a deep, JSON-like copy of the arguments)."""
        self.calls.append(RecordedCall(name=name, args=json.loads(json.dumps(dict(args)))))

    @classmethod
    def wrap(cls, tools: Sequence[BaseTool]) -> ToolEnvironment:
        """Wrap stateless tools so that every call that passes their schema is recorded."""
        env = cls(tools=[])
        env.tools = [_recording(tool, env) for tool in tools]
        return env


def _recording(tool: BaseTool, env: ToolEnvironment) -> BaseTool:
    def run(**kwargs: Any) -> Any:
        with env.lock:
            env.record(tool.name, kwargs)
            try:
                return tool.invoke(kwargs)
            except Exception as exc:  # a failing call is data for the model, not a crash
                return f"Error: {type(exc).__name__}: {exc}"

    return StructuredTool.from_function(
        func=run,
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        handle_tool_error=True,
        handle_validation_error=True,
    )


@dataclass
class EvalCase:
    """One benchmark entry, ready to play.

    Args:
        id: the entry's id.
        category: the group it is scored in.
        turns: the user's messages, one per turn, in order.
        expected: the ground truth's function names, per turn.
        environment: builds a fresh `ToolEnvironment` for this case.
        check: judges the calls made per turn.
        added_tools: tools withheld until a turn, by turn index (BFCL's ``miss_func``): they are
            offered from that turn on, and not before.
        step_limit_fails: a turn that runs out of model calls while still calling tools ends the
            entry as failed (BFCL force-quits such an entry); otherwise the next turn is played.

    Example:
        >>> case = EvalCase("x", "demo", ["hi"], [[]], lambda: ToolEnvironment([]),
        ...                 lambda calls: CheckResult(correct=not calls[0]))
        >>> case.check([[]]).correct
        True
    """

    id: str
    category: str
    turns: list[str]
    expected: list[list[str]]
    environment: Callable[[], ToolEnvironment]
    check: Checker
    added_tools: dict[int, list[str]] = field(default_factory=dict)
    step_limit_fails: bool = False

    def tools_at(self, turn: int, tools: Sequence[BaseTool]) -> list[BaseTool]:
        """The tools offered in ``turn``: all but those added in a later turn.

        Example:
            >>> from langchain_ste.tools.examples import example_tools
            >>> case = EvalCase("x", "demo", ["a", "b"], [[], []], lambda: ToolEnvironment([]),
            ...                 lambda calls: CheckResult(True),
            ...                 added_tools={1: ["search_catalog"]})
            >>> [[t.name for t in case.tools_at(i, example_tools())] for i in (0, 1)]
            [['convert_units'], ['convert_units', 'search_catalog']]
        """
        later = {n for i, names in self.added_tools.items() if i > turn for n in names}
        return [t for t in tools if t.name not in later]
