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

The package has three parts: `data` (the installed package, categories, entries, function docs),
`tools` (live instances as LangChain tools) and `cases` (entries as eval cases, BFCL's checker).
"""

from __future__ import annotations

from langchain_ste.evaluate.benchmarks.bfcl.cases import (
    bfcl_cases,
    check_calls,
    ground_truth_calls,
)
from langchain_ste.evaluate.benchmarks.bfcl.data import (
    ADDED_FUNCTIONS_PROMPT,
    BFCL_INSTALL,
    CPU_SUBSET_SIZE,
    MULTI_TURN_CATEGORY,
    MULTI_TURN_PREFIX,
    SUPPORTED_CLASSES,
    BFCLEntry,
    BFCLUnavailableError,
    cpu_subset,
    data_dir,
    load_entries,
    load_func_docs,
    multi_turn_categories,
    require_bfcl,
    resolve_categories,
)
from langchain_ste.evaluate.benchmarks.bfcl.tools import (
    EXPLORATION_SCENARIOS,
    BFCLEnvironment,
    bfcl_environment,
    bfcl_exploration_tools,
    create_instance,
    format_call,
    parse_call,
    to_json_schema,
)

__all__ = [
    "ADDED_FUNCTIONS_PROMPT",
    "BFCL_INSTALL",
    "CPU_SUBSET_SIZE",
    "EXPLORATION_SCENARIOS",
    "MULTI_TURN_CATEGORY",
    "MULTI_TURN_PREFIX",
    "SUPPORTED_CLASSES",
    "BFCLEntry",
    "BFCLEnvironment",
    "BFCLUnavailableError",
    "bfcl_cases",
    "bfcl_environment",
    "bfcl_exploration_tools",
    "check_calls",
    "cpu_subset",
    "create_instance",
    "data_dir",
    "format_call",
    "ground_truth_calls",
    "load_entries",
    "load_func_docs",
    "multi_turn_categories",
    "parse_call",
    "require_bfcl",
    "resolve_categories",
    "to_json_schema",
]
