"""BFCL's data: the installed package, its multi-turn categories, entries and function docs."""

from __future__ import annotations

import copy
import importlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

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
