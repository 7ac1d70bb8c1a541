"""BFCL multi-turn (Berkeley Function Calling Leaderboard v4) as LangChain tools and eval cases.

`bfcl-eval` ships executable, stateful API classes (a file system, messaging, trading, travel
booking, ...), their function docs, held-out multi-turn questions with ground-truth call
sequences (200 per category: ``multi_turn_base``, ``multi_turn_miss_func``,
``multi_turn_miss_param``, ``multi_turn_long_context``) and the state-and-response checker used by
the leaderboard. This module turns each class's functions into `StructuredTool`s bound to one
live instance (loaded from an entry's ``initial_config`` for evaluation, or from a default
scenario for exploration, never from the test questions), records every call as the
``func(arg=value)`` string the checker executes, and wraps ``multi_turn_checker``.

Entries are played as BFCL's own inference loop plays them: ``long_context`` entries get BFCL's
long-context state (large directories, long histories) in the live tools as in the checker;
``miss_func`` entries withhold a function until the turn that adds it, whose user message is
BFCL's "I have updated some more functions..." prompt; a turn may take BFCL's 20 model calls,
and an entry whose model is still calling tools when a turn runs out fails (BFCL's force quit).
Turns whose ground truth is empty (the request cannot be served yet, or lacks a parameter: the
model should ask) are scored as BFCL scores them: the calls made there still run, so later
state checks see them, but the turn itself is not checked (bfcl-eval 2026.3.23 imports its
``multi_turn_irrelevance_checker`` but never calls it).

`bfcl-eval` is optional and pins old dependencies, so it is imported lazily; install it with
``pip install --no-deps bfcl-eval==2026.3.23 mpmath``.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from langchain_ste.evaluate.benchmarks.base import (
    CallsPerTurn,
    CheckResult,
    EvalCase,
    RecordedCall,
    ToolEnvironment,
)

BFCL_INSTALL = "pip install --no-deps bfcl-eval==2026.3.23 mpmath"

SUPPORTED_CLASSES: tuple[str, ...] = (
    "GorillaFileSystem",
    "MathAPI",
    "MessageAPI",
    "TwitterAPI",
    "TicketAPI",
    "TradingBot",
    "TravelAPI",
    "VehicleControlAPI",
)
"""The multi-turn API classes that run offline on the standard library and mpmath."""

MULTI_TURN_CATEGORY = "multi_turn_base"
"""The default category."""

MULTI_TURN_PREFIX = "multi_turn_"

ADDED_FUNCTIONS_PROMPT = "I have updated some more functions you can choose from. What about now?"
"""The user message of a ``miss_func`` turn that adds the withheld functions (BFCL's
``DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC``, read from the package when installed)."""

CPU_SUBSET_SIZE = 6
"""Entries in the fixed CPU subset (`cpu_subset`): a seeded sample of the entries with at most
three turns, small enough for the embedded model at ~16 tokens/s."""

EXPLORATION_SCENARIOS: dict[str, dict[str, Any]] = {
    "GorillaFileSystem": {
        "root": {
            "workspace": {
                "type": "directory",
                "contents": {
                    "notes.txt": {"type": "file", "content": "Buy milk. Call Anna. Ship the demo."},
                    "todo.md": {"type": "file", "content": "- write tests\n- fix the parser"},
                    "reports": {
                        "type": "directory",
                        "contents": {
                            "q1.csv": {"type": "file", "content": "month,sales\njan,10\nfeb,12"},
                        },
                    },
                },
            }
        }
    },
}
"""Start states for exploration where the class's own default is empty (the file system starts
as an empty root); written for this library, unrelated to the test questions."""

_DISALLOWED = {"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"}

_TYPES = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "list": "array",
    "int": "integer",
    "integer": "integer",
    "string": "string",
    "str": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "object": "object",
    "number": "number",
}


class BFCLUnavailableError(ImportError):
    """`bfcl-eval` (or `mpmath`) is not installed."""


def require_bfcl() -> ModuleType:
    """Import `bfcl_eval`, or fail with one message that names the install command.

    Raises:
        BFCLUnavailableError: the package or its one runtime dependency is missing.

    Example:
        >>> require_bfcl().__name__
        'bfcl_eval'
    """
    try:
        module = importlib.import_module("bfcl_eval")
        importlib.import_module("mpmath")
    except ImportError as exc:
        raise BFCLUnavailableError(
            f"the BFCL benchmark needs the optional package bfcl-eval ({exc}); install it "
            f"without its pinned dependencies: `{BFCL_INSTALL}`"
        ) from exc
    return module


def data_dir() -> Path:
    """The folder of BFCL's data files."""
    return Path(require_bfcl().__file__ or "").parent / "data"


def multi_turn_categories() -> tuple[str, ...]:
    """The multi-turn categories the installed `bfcl-eval` ships (questions and answers).

    Example:
        >>> multi_turn_categories()
        ('multi_turn_base', 'multi_turn_miss_func', 'multi_turn_miss_param', \
'multi_turn_long_context')
    """
    require_bfcl()
    from bfcl_eval.constants.category_mapping import MULTI_TURN_CATEGORY as SHIPPED

    root = data_dir()
    return tuple(
        c
        for c in SHIPPED
        if (root / f"BFCL_v4_{c}.json").exists()
        and (root / "possible_answer" / f"BFCL_v4_{c}.json").exists()
    )


def resolve_categories(category: str | Sequence[str] = "base") -> list[str]:
    """Full BFCL category names from short ones (``base``, ``miss_func``...) or ``all``.

    Raises:
        ValueError: a category the installed package does not ship; the message lists them.

    Example:
        >>> resolve_categories("miss_param")
        ['multi_turn_miss_param']
        >>> resolve_categories(["base", "multi_turn_long_context"])
        ['multi_turn_base', 'multi_turn_long_context']
        >>> len(resolve_categories("all"))
        4
    """
    shipped = multi_turn_categories()
    names = [category] if isinstance(category, str) else list(category)
    if "all" in names:
        return list(shipped)
    out = []
    for name in names:
        full = name if name.startswith(MULTI_TURN_PREFIX) else MULTI_TURN_PREFIX + name
        if full not in shipped:
            short = ", ".join(c.removeprefix(MULTI_TURN_PREFIX) for c in shipped)
            raise ValueError(f"unknown BFCL multi-turn category {name!r}; choose from {short}, all")
        if full not in out:
            out.append(full)
    return out


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class BFCLEntry:
    """One BFCL multi-turn test entry with its ground truth.

    Example:
        >>> entry = load_entries(ids=["multi_turn_base_1"])[0]
        >>> entry.category, len(entry.turns), entry.ground_truth[0]
        ('multi_turn_base', 4, ['ls(a=True)'])
    """

    id: str
    turns: list[str]
    ground_truth: list[list[str]]
    initial_config: dict[str, Any]
    involved_classes: list[str]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    missed_function: dict[int, list[str]] = field(default_factory=dict)
    """``miss_func``: functions withheld until a turn, by turn index."""

    @property
    def category(self) -> str:
        """The BFCL category, the id without its index."""
        return self.id.rsplit("_", 1)[0]

    @property
    def long_context(self) -> bool:
        """Whether BFCL loads this entry's state in long-context mode (as its checker does)."""
        return "long_context" in self.category or "composite" in self.category

    def expected_functions(self) -> list[list[str]]:
        """The function names of the ground truth, per turn."""
        return [[call.split("(", 1)[0].strip() for call in turn] for turn in self.ground_truth]


def load_entries(
    category: str | None = None, *, ids: Sequence[str] | None = None
) -> list[BFCLEntry]:
    """Load BFCL test entries and their ground truth, keeping only offline-runnable ones.

    Args:
        category: the BFCL category (``multi_turn_base``, or short: ``base``, ``miss_func``,
            ``miss_param``, ``long_context``); None: the categories of ``ids``, else
            ``multi_turn_base``.
        ids: keep only these entry ids (in file order).

    Raises:
        BFCLUnavailableError: `bfcl-eval` is missing.
        ValueError: an unknown category or id.

    Example:
        >>> entry = load_entries(ids=["multi_turn_miss_func_0"])[0]
        >>> entry.missed_function, entry.turns[3]
        ({3: ['sort']}, 'I have updated some more functions you can choose from. What about now?')
    """
    if category is None:
        categories = sorted({i.rsplit("_", 1)[0] for i in ids or []}) or [MULTI_TURN_CATEGORY]
        if len(categories) > 1:
            return [e for c in categories for e in load_entries(c, ids=ids)]
        category = categories[0]
    category = resolve_categories(category)[0]
    root = data_dir()
    questions = root / f"BFCL_v4_{category}.json"
    answers = root / "possible_answer" / f"BFCL_v4_{category}.json"
    if not questions.exists() or not answers.exists():
        raise ValueError(f"no BFCL multi-turn category {category!r} in {root}")
    truth = {row["id"]: row["ground_truth"] for row in _read_jsonl(answers)}
    added_prompt = _added_functions_prompt()
    entries = []
    for row in _read_jsonl(questions):
        if not set(row["involved_classes"]) <= set(SUPPORTED_CLASSES) or row["id"] not in truth:
            continue
        missed = {int(k): list(v) for k, v in (row.get("missed_function") or {}).items()}
        turns = [
            "\n".join(str(m.get("content", "")) for m in turn if m.get("role") == "user")
            for turn in row["question"]
        ]
        for index in missed:
            if index < len(turns) and not turns[index]:
                turns[index] = added_prompt
        entries.append(
            BFCLEntry(
                id=row["id"],
                turns=turns,
                ground_truth=truth[row["id"]],
                initial_config=row.get("initial_config", {}),
                involved_classes=list(row["involved_classes"]),
                raw=row,
                missed_function=missed,
            )
        )
    if ids is not None:
        known = {e.id for e in entries}
        missing = [i for i in ids if i not in known and i.rsplit("_", 1)[0] == category]
        if missing:
            raise ValueError(f"unknown or unsupported BFCL entry ids: {', '.join(missing)}")
        entries = [e for e in entries if e.id in set(ids)]
    return entries


def _added_functions_prompt() -> str:
    try:
        from bfcl_eval.constants.default_prompts import (
            DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC,
        )
    except ImportError:
        return ADDED_FUNCTIONS_PROMPT
    return str(DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC)


def cpu_subset(
    entries: Sequence[BFCLEntry], size: int = CPU_SUBSET_SIZE, seed: int = 0
) -> list[BFCLEntry]:
    """A fixed, seeded sample of short entries (at most three turns) for CPU runs.

    Example:
        >>> [e.id for e in cpu_subset(load_entries(), size=3)]
        ['multi_turn_base_30', 'multi_turn_base_35', 'multi_turn_base_113']
    """
    short = sorted((e for e in entries if len(e.turns) <= 3), key=lambda e: e.id)
    picked = random.Random(seed).sample(short, min(size, len(short)))
    return sorted(picked, key=lambda e: _index(e.id))


def _index(entry_id: str) -> int:
    tail = entry_id.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


@cache
def _func_docs(class_name: str) -> tuple[dict[str, Any], ...]:
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    path = data_dir() / "multi_turn_func_doc" / MULTI_TURN_FUNC_DOC_FILE_MAPPING[class_name]
    return tuple(_read_jsonl(path))


def load_func_docs(class_name: str) -> list[dict[str, Any]]:
    """BFCL's function docs for one API class.

    Example:
        >>> [d["name"] for d in load_func_docs("MathAPI")][:2]
        ['absolute_value', 'add']
    """
    _check_class(class_name)
    return copy.deepcopy(list(_func_docs(class_name)))


def _check_class(class_name: str) -> None:
    if class_name not in SUPPORTED_CLASSES:
        raise ValueError(
            f"unsupported BFCL class {class_name!r}; choose from {', '.join(SUPPORTED_CLASSES)} "
            "(web search and memory classes need the network or more packages)"
        )


def to_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Map a BFCL parameter schema to JSON Schema (``dict`` -> object, ``float`` -> number,
    ``tuple`` -> array, ``any`` -> no type constraint), recursively.

    Example:
        >>> out = to_json_schema({"type": "dict", "properties": {"x": {"type": "float"},
        ...                       "p": {"type": "tuple", "items": {"type": "any"}}}})
        >>> out["type"], out["properties"]["x"], out["properties"]["p"]
        ('object', {'type': 'number'}, {'type': 'array', 'items': {}})
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            kind = str(value).lower()
            if kind in _TYPES:
                out["type"] = _TYPES[kind]
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {k: to_json_schema(v) for k, v in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            out["items"] = to_json_schema(value)
        elif key in {"description", "required", "enum", "default"}:
            out[key] = value
    if out.get("type") == "object" and "properties" not in out and schema is not None:
        out.setdefault("properties", {})
    return out


def create_instance(
    class_name: str, config: Mapping[str, Any] | None = None, *, long_context: bool = False
) -> Any:
    """A live instance of a BFCL API class, loaded like BFCL loads it.

    Args:
        class_name: one of `SUPPORTED_CLASSES`.
        config: the class's part of an entry's ``initial_config``; None for the exploration
            scenario (`EXPLORATION_SCENARIOS`, or the class's own default state).
        long_context: BFCL's long-context state (``multi_turn_long_context`` entries).

    Example:
        >>> create_instance("MathAPI").add(a=2, b=3)
        {'result': 5}
    """
    _check_class(class_name)
    require_bfcl()
    from bfcl_eval.constants.executable_backend_config import (
        CLASS_FILE_PATH_MAPPING,
        STATELESS_CLASSES,
    )

    instance = getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[class_name]), class_name)()
    if class_name not in STATELESS_CLASSES:
        scenario = EXPLORATION_SCENARIOS.get(class_name, {}) if config is None else config
        instance._load_scenario(copy.deepcopy(dict(scenario)), long_context=long_context)
    return instance


def format_call(name: str, args: Mapping[str, Any]) -> str:
    """Render a call the way BFCL's checker executes it: ``func(arg=value, ...)``.

    Example:
        >>> format_call("mv", {"source": "a.txt", "destination": "tmp"})
        "mv(source='a.txt', destination='tmp')"
    """
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


@dataclass
class BFCLEnvironment(ToolEnvironment):
    """A `ToolEnvironment` over live BFCL instances (``instances``: class name -> instance)."""

    instances: dict[str, Any] = field(default_factory=dict)


def bfcl_environment(
    class_names: Sequence[str],
    initial_config: Mapping[str, Any] | None = None,
    *,
    long_context: bool = False,
) -> BFCLEnvironment:
    """Tools for the functions of ``class_names``, each bound to one live instance per class.

    Args:
        class_names: the BFCL API classes.
        initial_config: an entry's ``initial_config`` (evaluation); None loads the exploration
            scenarios.
        long_context: load BFCL's long-context state (see `BFCLEntry.long_context`).

    Example:
        >>> env = bfcl_environment(["GorillaFileSystem"])
        >>> cd = next(t for t in env.tools if t.name == "cd")
        >>> cd.invoke({"folder": "reports"})
        '{"current_working_directory": "reports"}'
        >>> env.calls, env.instances["GorillaFileSystem"]._current_dir.name
        ([{'name': 'cd', 'args': {'folder': 'reports'}}], 'reports')
    """
    env = BFCLEnvironment(tools=[])
    by_name: dict[str, BaseTool] = {}
    for class_name in class_names:
        config = None if initial_config is None else initial_config.get(class_name, {})
        instance = create_instance(class_name, config, long_context=long_context)
        env.instances[class_name] = instance
        for doc in load_func_docs(class_name):
            by_name[doc["name"]] = _bfcl_tool(instance, doc, env)
    env.tools = list(by_name.values())
    return env


def bfcl_exploration_tools(class_names: Sequence[str]) -> list[BaseTool]:
    """Tools to explore with STE: the classes' functions on the exploration scenario.

    Example:
        >>> len(bfcl_exploration_tools(["MathAPI"]))
        17
    """
    return bfcl_environment(class_names).tools


def _bfcl_tool(instance: Any, doc: Mapping[str, Any], env: ToolEnvironment) -> BaseTool:
    name = str(doc["name"])
    schema = to_json_schema(doc.get("parameters") or {"type": "dict", "properties": {}})
    schema["type"] = "object"
    allowed = set(schema.get("properties", {}))
    required = [r for r in schema.get("required", []) if r in allowed]
    method = getattr(instance, name)

    def run(**kwargs: Any) -> str:
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            return (
                f"Error: {name} takes no argument {', '.join(unknown)}; its arguments are: "
                f"{', '.join(sorted(allowed)) or '(none)'}"
            )
        missing = [r for r in required if r not in kwargs]
        if missing:
            return f"Error: {name} is missing the required argument(s) {', '.join(missing)}"
        with env.lock:
            env.record(name, kwargs)
            try:
                result = method(**kwargs)
            except Exception as exc:  # BFCL's executor reports failures the same way
                return f"Error during execution: {exc}"
        return _result_text(result)

    description = " ".join(str(doc.get("description", name)).split())
    return StructuredTool.from_function(
        func=run,
        name=name,
        description=description,
        args_schema=schema,
    )


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        try:
            return json.dumps(result)
        except (TypeError, ValueError):
            return str(result)
    return str(result)


def parse_call(text: str, instances: Mapping[str, Any]) -> RecordedCall:
    """Parse a BFCL call string (as in the ground truth) into a call with named arguments.

    Positional arguments are named from the method's signature on the live instances.

    Example:
        >>> env = bfcl_environment(["GorillaFileSystem"])
        >>> parse_call("sort('notes.txt')", env.instances)
        {'name': 'sort', 'args': {'file_name': 'notes.txt'}}
    """
    node = ast.parse(text.strip(), mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a BFCL function call: {text!r}")
    name = node.func.id
    args = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    if node.args:
        method = next((getattr(i, name) for i in instances.values() if hasattr(i, name)), None)
        if method is None:
            raise ValueError(f"no live instance has a method {name!r} (in {text!r})")
        params = list(inspect.signature(method).parameters)
        args = {**{p: ast.literal_eval(a) for p, a in zip(params, node.args, strict=False)}, **args}
    return RecordedCall(name=name, args=args)


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
