"""Metrics on plain evaluation records: ours and the STE paper's, per category.

Ours (strict about every reply):

* **well-formed** (`is_well_formed`): every model reply of the entry followed the tool protocol
  (no invalid tool calls, not a ReAct reply that tried an action and failed to parse, and, when
  scoring strictly, no call whose input was a Python literal instead of JSON); a reply with no
  call at all (a final answer, free text) is well-formed;
* **tool match** (`is_tool_match`): in every turn, the set of functions called equals the ground
  truth's set; its rate is over all entries;
* **correct** (`is_correct`): the benchmark's checker accepted the calls (BFCL's
  state-and-response checker, or for the example tools: the expected tool called with matching
  arguments); its rate is over all entries.

The STE paper's (Wang et al., ACL 2024), generalised from one call to multi-turn entries:

* **paper well-formed** (`is_paper_well_formed`): a parseable call is present, in every turn
  whose ground truth calls a function; a reply that only answers is *not* well-formed;
* **paper API match** (`is_paper_api_match`): the functions called match the ground truth's (as
  tool match), counted over the paper-well-formed entries only;
* **paper correct**: the checker's verdict over all entries, the same as our **correct**.

An entry that ended in an error (the agent or the checker raised) counts as a failure on every
metric and is also counted under ``errors``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from langchain_core.messages import AIMessage

from langchain_ste.models.react_protocol import LENIENT_CALLS_KEY

ALL = "all"
"""The category name of the overall scores."""


@dataclass
class TurnResult:
    """What happened in one user turn.

    Args:
        question: the user's message.
        calls: the calls that reached the tools, ``{"name", "args"}`` each, in order.
        expected: the ground truth's function names.
        replies: model replies in the turn.
        malformed: replies that broke the tool protocol.
        answer: the last reply's text.
        parsed: replies with at least one parseable call (`has_parsed_call`); None in results
            recorded before it was counted, where a turn with calls stands in for it.
    """

    question: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    replies: int = 0
    malformed: int = 0
    answer: str = ""
    parsed: int | None = None

    @property
    def has_parsed_call(self) -> bool:
        """Whether some reply of the turn held a parseable call."""
        return bool(self.calls) if self.parsed is None else self.parsed > 0


@dataclass
class EntryResult:
    """The outcome of one benchmark entry under one condition.

    Example:
        >>> r = EntryResult(id="q1", category="demo", correct=True, turns=[
        ...     TurnResult("hi", calls=[{"name": "add", "args": {}}], expected=["add"], replies=2)])
        >>> is_well_formed(r), is_tool_match(r), EntryResult.from_dict(r.to_dict()) == r
        (True, True, True)
    """

    id: str
    category: str
    correct: bool = False
    turns: list[TurnResult] = field(default_factory=list)
    condition: str = "baseline"
    benchmark: str = ""
    error: str | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EntryResult:
        """The inverse of `to_dict`; keys this version does not know are ignored."""
        turn_keys = {f.name for f in fields(TurnResult)}
        values = {k: v for k, v in data.items() if k in {f.name for f in fields(cls)}}
        values["turns"] = [
            TurnResult(**{k: v for k, v in t.items() if k in turn_keys})
            for t in values.get("turns", [])
        ]
        return cls(**values)


METRICS = ("well_formed", "tool_match", "correct")
"""Our metrics, each a rate over all entries."""

PAPER_METRICS = ("paper_well_formed", "paper_api_match", "paper_correct")
"""The STE paper's metrics: well-formed and correct over all entries, API match over the
well-formed ones."""


@dataclass
class Scores:
    """Rates over a group of entries (0..1), with the counts behind them.

    Example:
        >>> s = Scores(n=4, well_formed=3, tool_match=2, correct=1, paper_well_formed=2,
        ...            paper_api_match=1)
        >>> s.rates()
        {'well_formed': 0.75, 'tool_match': 0.5, 'correct': 0.25}
        >>> s.paper_rates()
        {'paper_well_formed': 0.5, 'paper_api_match': 0.5, 'paper_correct': 0.25}
    """

    n: int = 0
    well_formed: int = 0
    tool_match: int = 0
    correct: int = 0
    errors: int = 0
    paper_well_formed: int = 0
    paper_api_match: int = 0

    def rates(self) -> dict[str, float]:
        """Our three metrics as fractions of ``n`` (0 for an empty group)."""
        div = self.n or 1
        return {k: getattr(self, k) / div for k in METRICS}

    def paper_rates(self) -> dict[str, float]:
        """The paper's three metrics: API match over the well-formed, the others over ``n``."""
        return {
            "paper_well_formed": self.paper_well_formed / (self.n or 1),
            "paper_api_match": self.paper_api_match / (self.paper_well_formed or 1),
            "paper_correct": self.correct / (self.n or 1),
        }

    def all_rates(self) -> dict[str, float]:
        """`rates` and `paper_rates` together."""
        return {**self.rates(), **self.paper_rates()}


def _lenient_ids(message: AIMessage) -> set[str]:
    return {str(i) for i in message.response_metadata.get(LENIENT_CALLS_KEY) or []}


def is_malformed_reply(message: AIMessage, *, lenient: bool = False) -> bool:
    """Whether a model reply broke the tool protocol.

    Args:
        message: a model reply.
        lenient: accept calls whose input parsed only as a Python literal (single quotes,
            trailing commas); by default they are malformed, as JSON is what the protocol asks.

    Example:
        >>> from langchain_ste.models.react_protocol import reply_to_message
        >>> is_malformed_reply(reply_to_message("Action: add\\nAction Input: 3", ["add"]))
        True
        >>> is_malformed_reply(reply_to_message("Final Answer: 3", ["add"]))
        False
        >>> literal = reply_to_message("Action: add\\nAction Input: {'a': 3}", ["add"])
        >>> is_malformed_reply(literal), is_malformed_reply(literal, lenient=True)
        (True, False)
    """
    if message.invalid_tool_calls or message.response_metadata.get("react") == "invalid":
        return True
    return not lenient and bool(_lenient_ids(message))


def has_parsed_call(message: AIMessage, *, lenient: bool = False) -> bool:
    """Whether a model reply holds at least one parseable call: the paper's well-formedness.

    A reply that only answers (``Final Answer:``, free text) has none. ``lenient`` as in
    `is_malformed_reply`.

    Example:
        >>> from langchain_ste.models.react_protocol import reply_to_message
        >>> has_parsed_call(reply_to_message('Action: add\\nAction Input: {"a": 3}', ["add"]))
        True
        >>> has_parsed_call(reply_to_message("Final Answer: 3", ["add"]))
        False
    """
    ids = {str(c.get("id")) for c in message.tool_calls}
    return bool(ids if lenient else ids - _lenient_ids(message))


def is_well_formed(result: EntryResult) -> bool:
    """Ours: every model reply of the entry parsed (and the entry did not end in an error).

    Example:
        >>> answer_only = TurnResult("q", expected=["add"], replies=1)
        >>> is_well_formed(EntryResult(id="x", category="c", turns=[answer_only]))
        True
    """
    return result.error is None and all(t.malformed == 0 for t in result.turns)


def is_paper_well_formed(result: EntryResult) -> bool:
    """The paper's: a parseable call is present in every turn whose ground truth calls one.

    Turns that expect no call are not counted; an entry none of whose turns expects a call is
    well-formed when no reply was malformed.

    Example:
        >>> answer_only = TurnResult("q", expected=["add"], replies=1, parsed=0)
        >>> called = TurnResult("q", calls=[{"name": "add", "args": {}}], expected=["add"],
        ...                     replies=2, parsed=1)
        >>> [is_paper_well_formed(EntryResult(id="x", category="c", turns=[t]))
        ...  for t in (answer_only, called)]
        [False, True]
    """
    if result.error is not None or not result.turns:
        return False
    expecting = [t for t in result.turns if t.expected]
    if not expecting:
        return all(t.malformed == 0 for t in result.turns)
    return all(t.has_parsed_call for t in expecting)


def is_paper_api_match(result: EntryResult) -> bool:
    """The paper's API match for one entry: well-formed (`is_paper_well_formed`) and calling the
    ground truth's functions (`is_tool_match`); its rate is over the well-formed entries."""
    return is_paper_well_formed(result) and is_tool_match(result)


def is_tool_match(result: EntryResult) -> bool:
    """In every turn the set of functions called equals the ground truth's set.

    Example:
        >>> turn = TurnResult("q", calls=[{"name": "cd", "args": {}}] * 2, expected=["cd", "ls"])
        >>> is_tool_match(EntryResult(id="x", category="c", turns=[turn]))
        False
    """
    if result.error is not None or not result.turns:
        return False
    return all({c["name"] for c in t.calls} == set(t.expected) for t in result.turns)


def is_correct(result: EntryResult) -> bool:
    """The checker's verdict (False for an error entry)."""
    return result.error is None and result.correct


def values_match(
    expected: Any, actual: Any, *, rel_tol: float = 1e-3, abs_tol: float = 1e-6
) -> bool:
    """Compare argument values: numbers within a tolerance, strings ignoring case and outer
    spaces, lists and dicts element-wise.

    Example:
        >>> values_match(100, "100.0"), values_match("F", " f "), values_match(3, 4)
        (True, True, False)
    """
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    num_e, num_a = _number(expected), _number(actual)
    if num_e is not None and num_a is not None:
        return math.isclose(num_e, num_a, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip().casefold() == actual.strip().casefold()
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return expected.keys() == actual.keys() and all(
            values_match(v, actual[k], rel_tol=rel_tol, abs_tol=abs_tol)
            for k, v in expected.items()
        )
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(
            values_match(e, a, rel_tol=rel_tol, abs_tol=abs_tol)
            for e, a in zip(expected, actual, strict=True)
        )
    return bool(expected == actual)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def args_match(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """Every expected argument is present with a matching value (`values_match`); an expected
    empty value (``""`` or None) also matches an absent argument. Extra arguments are allowed.

    Example:
        >>> args_match({"value": 3, "to_unit": "cm"}, {"value": 3.0, "to_unit": "cm", "x": 1})
        True
        >>> args_match({"query": ""}, {}), args_match({"value": 3}, {"value": 4})
        (True, False)
    """
    for key, value in expected.items():
        if key not in actual:
            if value in ("", None):
                continue
            return False
        if not values_match(value, actual[key]):
            return False
    return True


def call_matches(
    calls: Iterable[Mapping[str, Any]], tool: str, expected_args: Mapping[str, Any]
) -> bool:
    """Whether any call used ``tool`` with arguments matching ``expected_args``.

    Example:
        >>> call_matches([{"name": "a", "args": {"x": 1}}], "a", {"x": 1.0})
        True
    """
    return any(c["name"] == tool and args_match(expected_args, c["args"]) for c in calls)


def score(results: Iterable[EntryResult]) -> Scores:
    """Counts of well-formed, tool-matching, correct and error entries, ours and the paper's.

    Example:
        >>> turn = TurnResult("q", calls=[{"name": "f", "args": {}}], expected=["f"], parsed=1)
        >>> ok = EntryResult(id="a", category="c", correct=True, turns=[turn])
        >>> bad = EntryResult(id="b", category="c", error="boom")
        >>> score([ok, bad])
        Scores(n=2, well_formed=1, tool_match=1, correct=1, errors=1, paper_well_formed=1, \
paper_api_match=1)
    """
    out = Scores()
    for r in results:
        out.n += 1
        out.well_formed += is_well_formed(r)
        out.tool_match += is_tool_match(r)
        out.correct += is_correct(r)
        out.errors += r.error is not None
        out.paper_well_formed += is_paper_well_formed(r)
        out.paper_api_match += is_paper_api_match(r)
    return out


def aggregate(results: Sequence[EntryResult]) -> dict[str, Scores]:
    """Scores per category, plus the overall scores under `ALL` (first).

    Example:
        >>> rs = [EntryResult(id="a", category="x", correct=True),
        ...       EntryResult(id="b", category="y")]
        >>> {k: v.correct for k, v in aggregate(rs).items()}
        {'all': 1, 'x': 1, 'y': 0}
    """
    out = {ALL: score(results)}
    for category in sorted({r.category for r in results}):
        out[category] = score(r for r in results if r.category == category)
    return out
