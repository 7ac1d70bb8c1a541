"""BFCL entries as evaluation cases, scored by BFCL's own multi-turn checker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_ste.evaluate.benchmarks.base import (
    CallsPerTurn,
    CheckResult,
    EvalCase,
    RecordedCall,
    ToolEnvironment,
)
from langchain_ste.evaluate.benchmarks.bfcl.data import (
    BFCLEntry,
    cpu_subset,
    load_entries,
    require_bfcl,
    resolve_categories,
)
from langchain_ste.evaluate.benchmarks.bfcl.tools import (
    BFCLEnvironment,
    bfcl_environment,
    format_call,
    parse_call,
)

_DISALLOWED = {"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"}


def ground_truth_calls(entry: BFCLEntry) -> list[list[RecordedCall]]:
    """The entry's ground truth as calls with named arguments, per turn.

    Example:
        >>> ground_truth_calls(load_entries(ids=["multi_turn_base_1"])[0])[0]
        [{'name': 'ls', 'args': {'a': True}}]
    """
    instances = _entry_environment(entry).instances
    return [[parse_call(c, instances) for c in turn] for turn in entry.ground_truth]


def _entry_environment(entry: BFCLEntry) -> BFCLEnvironment:
    return bfcl_environment(
        entry.involved_classes, entry.initial_config, long_context=entry.long_context
    )


def check_calls(entry: BFCLEntry, calls: CallsPerTurn, *, turns: int | None = None) -> CheckResult:
    """Judge calls with BFCL's own multi-turn checker (state and execution-response checks).

    Each turn's calls are replayed from their ``func(arg=value)`` strings on fresh instances, next
    to the ground truth, exactly as the leaderboard does.

    Args:
        entry: the test entry.
        calls: the calls that reached the live tools, per turn.
        turns: score only the first ``turns`` turns (the single-turn view uses 1).

    Example:
        >>> entry = load_entries(ids=["multi_turn_base_1"])[0]
        >>> check_calls(entry, [[{"name": "ls", "args": {"a": True}}]], turns=1).correct
        True
        >>> check_calls(entry, [[{"name": "pwd", "args": {}}]], turns=1).correct
        False
    """
    require_bfcl()
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    count = len(entry.ground_truth) if turns is None else turns
    truth = entry.ground_truth[:count]
    decoded: list[list[list[str]]] = []
    for turn in list(calls[:count]) + [[]] * (count - len(calls[:count])):
        strings = [format_call(c["name"], c["args"]) for c in turn if _safe_call(c)]
        decoded.append([strings] if strings else [])
    test_entry = {**entry.raw, "question": entry.raw.get("question", [])[:count]}
    # The checker caches instances in module globals keyed by model name and entry id: a fresh
    # name per check keeps runs independent, and the cache is dropped afterwards.
    model_name = f"ste_{uuid.uuid4().hex[:12]}"
    try:
        verdict = multi_turn_checker(decoded, truth, test_entry, entry.category, model_name)
    finally:
        cached = vars(multi_turn_utils)
        for key in [k for k in cached if k.startswith(model_name)]:
            del cached[key]
    if verdict.get("valid"):
        return CheckResult(correct=True)
    reason = str(verdict.get("error_message", "checker rejected the calls"))
    detail = {"error_type": verdict.get("error_type", ""), "calls": decoded}
    return CheckResult(correct=False, reason=reason, detail=_jsonable(detail))


def _safe_call(call: RecordedCall) -> bool:
    # The checker `eval`s the call strings: names and keys must be plain identifiers.
    names = [call["name"], *call["args"]]
    return all(str(n).isidentifier() for n in names) and call["name"] not in _DISALLOWED


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def bfcl_cases(
    *,
    single_turn: bool = False,
    limit: int | None = None,
    subset: str = "all",
    seed: int = 0,
    ids: Sequence[str] | None = None,
    category: str | Sequence[str] = "base",
) -> list[EvalCase]:
    """BFCL multi-turn entries as `EvalCase`s for the runner.

    Args:
        single_turn: only each entry's first user turn, scored with the same checker.
        limit: keep the first ``limit`` entries of each category (after the subset).
        subset: ``"all"`` (the 200 entries, for real model servers) or ``"cpu"`` (`cpu_subset`).
        seed: the CPU subset's seed.
        ids: exactly these entries (their categories come from the ids; ``category`` is then
            ignored).
        category: the categories to load (`resolve_categories`: ``base``, ``miss_func``,
            ``miss_param``, ``long_context``, a list of them, or ``all``).

    Example:
        >>> cases = bfcl_cases(single_turn=True, ids=["multi_turn_base_1"])
        >>> cases[0].category, cases[0].turns, cases[0].expected
        ('single_turn_base', ['I am alex. Check if the current directory is under my name and \
list all the visible and hidden contents in the current directory now, please.'], [['ls']])
    """
    if subset not in ("all", "cpu"):
        raise ValueError(f"unknown BFCL subset {subset!r}; use 'all' or 'cpu'")
    categories = [None] if ids is not None else resolve_categories(category)
    entries: list[BFCLEntry] = []
    for name in categories:
        group = load_entries(name, ids=ids)
        if subset == "cpu":
            group = cpu_subset(group, seed=seed)
        if limit is not None:
            group = group[: max(limit, 0)]
        entries += group
    return [_case(e, single_turn) for e in entries]


def _case(entry: BFCLEntry, single_turn: bool) -> EvalCase:
    count = 1 if single_turn else len(entry.turns)
    category = (
        entry.category.replace("multi_turn", "single_turn") if single_turn else entry.category
    )

    def environment() -> ToolEnvironment:
        return _entry_environment(entry)

    def check(calls: CallsPerTurn) -> CheckResult:
        return check_calls(entry, calls, turns=count)

    return EvalCase(
        id=entry.id,
        category=category,
        turns=entry.turns[:count],
        expected=entry.expected_functions()[:count],
        environment=environment,
        check=check,
        added_tools={i: names for i, names in entry.missed_function.items() if i < count},
        step_limit_fails=True,
    )
