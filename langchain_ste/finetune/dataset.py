"""Trials -> supervised fine-tuning records, in the format the model will be used with.

Three formats:

- ``"react"`` (default; for models without native tool calling, e.g. the embedded SmolLM2): the
  conversation is rendered with exactly the functions `bind_tools` uses at inference
  (`protocol.messages_to_react`: tools in the system message, calls as ``Action:`` text, results as
  ``Observation:`` turns), so a model trained on it is then driven through `bind_tools` unchanged.
  Every assistant turn starts with ``Thought:``, as the embedded model's replies do.
- ``"native"``: the standard conversational format TRL and HF chat templates expect
  (``{"messages": [...], "tools": [...]}`` with ``tool_calls`` and ``tool`` messages).
- ``"openai"``: OpenAI's fine-tuning JSONL (``convert_to_openai_messages`` + function tools).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_ste.protocol import messages_to_react
from langchain_ste.trial import Trial

logger = logging.getLogger(__name__)

DatasetFormat = Literal["react", "native", "openai"]
_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


@dataclass
class DatasetStats:
    """What went into a dataset and what was left out, by reason (never silently)."""

    kept: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        return f"{self.kept} examples kept; skipped: {reasons}"


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _with_thoughts(messages: list[BaseMessage]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for msg in messages:
        if isinstance(msg, AIMessage) and not msg.additional_kwargs.get("react_thought"):
            thought = (f"I should use {msg.tool_calls[0]['name']}." if msg.tool_calls
                       else "I can answer now.")
            msg = msg.model_copy(update={"additional_kwargs": {**msg.additional_kwargs,
                                                               "react_thought": thought}})
        out.append(msg)
    return out


def _chat(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]


def trial_to_record(
    trial: Trial, tools: Sequence[BaseTool], format: DatasetFormat = "react"
) -> dict[str, Any]:
    """One trial as one training record (see the module docstring for the formats).

    Raises:
        ValueError: the trial uses a tool that is not in ``tools`` (its schema is unknown).

    Example:
        >>> from langchain_core.messages import HumanMessage, ToolMessage
        >>> from langchain_ste.example_tools import example_tools
        >>> from langchain_ste.trial import trajectory_to_dicts
        >>> call = {"name": "search_catalog", "args": {"query": "pan"}, "id": "c",
        ...         "type": "tool_call"}
        >>> t = Trial(trial_id="s/e000/t0", tools=["search_catalog"], episode=0, index=0,
        ...           query="pan?", messages=trajectory_to_dicts([HumanMessage("pan?"),
        ...           AIMessage("", tool_calls=[call]), ToolMessage("C300", tool_call_id="c"),
        ...           AIMessage("We have C300.")]))
        >>> [m["role"] for m in trial_to_record(t, example_tools())["messages"]]
        ['system', 'user', 'assistant', 'user', 'assistant']
        >>> trial_to_record(t, example_tools())["messages"][2]["content"]
        'Thought: I should use search_catalog.\\nAction: search_catalog\\nAction Input: {"query": "pan"}'
    """
    by_name = {t.name: t for t in tools}
    used = {s.tool for s in trial.steps} | set(trial.tools)
    missing = sorted(n for n in used if n and n not in by_name)
    if missing:
        raise ValueError(f"trial {trial.trial_id} uses tools without a schema: {missing}")
    schemas = [convert_to_openai_tool(by_name[n]) for n in sorted(by_name)]
    messages = trial.to_messages()
    meta = {"trial_id": trial.trial_id, "tools": trial.tools,
            "bootstrapped": any(not e.startswith("synthetic:") for e in trial.exemplars),
            "paraphrase_of": trial.extra.get("paraphrase_of")}
    if format == "react":
        react = messages_to_react(_with_thoughts(messages), [s["function"] for s in schemas])
        return {"messages": _chat(react), "meta": meta}
    if format == "openai":
        return {"messages": convert_to_openai_messages(messages), "tools": schemas}
    if format == "native":
        return {"messages": convert_to_openai_messages(messages), "tools": schemas, "meta": meta}
    raise ValueError(f"unknown format {format!r}; use 'react', 'native' or 'openai'")


def build_sft_records(
    trials: Iterable[Trial],
    tools: Sequence[BaseTool],
    *,
    format: DatasetFormat = "react",
    only_successful: bool = True,
    dedupe: bool = True,
    max_per_tool: int | None = None,
    tokenizer: Any = None,
    max_length: int | None = None,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], DatasetStats]:
    """Training records from trials, with the count of what was skipped and why.

    Args:
        trials: explored (and maybe curated or paraphrased) trials.
        tools: the tools the trials used (their schemas go into the prompt).
        format: ``"react"``, ``"native"`` or ``"openai"``.
        only_successful: only trials judged successful whose last call ran cleanly.
        dedupe: drop repeated queries (normalised text) of the same tools.
        max_per_tool: at most this many examples per tool (balance), sampled with ``seed``.
        tokenizer: with ``max_length``, records longer than that many tokens are skipped.
        max_length: token limit per record (needs ``tokenizer``).
        seed: sampling seed for ``max_per_tool``.

    Raises:
        ValueError: no trials, or none left after filtering (all failed).
    """
    trials = list(trials)
    if not trials:
        raise ValueError("no trials to build a dataset from: run `ste explore` first")
    stats = DatasetStats()
    kept: list[Trial] = []
    seen: set[tuple[tuple[str, ...], str]] = set()
    for t in trials:
        if only_successful and not (t.success and t.clean and not t.error):
            stats.skipped["not successful"] += 1
            continue
        if not t.messages:
            stats.skipped["no trajectory"] += 1
            continue
        key = (tuple(sorted(t.tools)), _normalise(t.query))
        if dedupe and key in seen:
            stats.skipped["duplicate query"] += 1
            continue
        seen.add(key)
        kept.append(t)
    if max_per_tool is not None:
        rng = random.Random(seed)
        by_tool: dict[str, list[Trial]] = {}
        for t in kept:
            by_tool.setdefault("+".join(t.tools), []).append(t)
        capped: list[Trial] = []
        for group in by_tool.values():
            chosen = group if len(group) <= max_per_tool else rng.sample(group, max_per_tool)
            stats.skipped["over the per-tool cap"] += len(group) - len(chosen)
            capped += chosen
        kept = [t for t in kept if t in capped]
    records = []
    for t in kept:
        try:
            record = trial_to_record(t, tools, format)
        except ValueError as exc:
            logger.info("skipping %s: %s", t.trial_id, exc)
            stats.skipped["unknown tool schema"] += 1
            continue
        if tokenizer is not None and max_length is not None:
            if _token_count(tokenizer, record) > max_length:
                stats.skipped["longer than max_length"] += 1
                continue
        records.append(record)
    stats.kept = len(records)
    if not records:
        raise ValueError(f"no usable trials for a dataset ({stats}); explore more or relax "
                         "the filters (e.g. only_successful=False)")
    return records, stats


def _token_count(tokenizer: Any, record: dict[str, Any]) -> int:
    text = tokenizer.apply_chat_template(record["messages"], tokenize=False)
    return len(tokenizer(str(text), add_special_tokens=False)["input_ids"])


def split(
    records: Sequence[dict[str, Any]], *, by: Literal["tool", "trial"] = "trial",
    val_fraction: float = 0.1, seed: int = 0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train / validation split, by trial or by tool (no tool in both), seeded.

    Example:
        >>> recs = [{"meta": {"tools": [t], "trial_id": f"{t}{i}"}} for t in "ab" for i in range(5)]
        >>> train, val = split(recs, by="tool", val_fraction=0.5)
        >>> {r["meta"]["tools"][0] for r in train} & {r["meta"]["tools"][0] for r in val}
        set()
    """
    rng = random.Random(seed)
    if by == "trial":
        order = list(records)
        rng.shuffle(order)
        n_val = round(len(order) * val_fraction)
        return order[n_val:], order[:n_val]
    groups = sorted({"+".join(r["meta"]["tools"]) for r in records})
    rng.shuffle(groups)
    n_val = max(1, round(len(groups) * val_fraction)) if len(groups) > 1 else 0
    held = set(groups[:n_val])
    train = [r for r in records if "+".join(r["meta"]["tools"]) not in held]
    val = [r for r in records if "+".join(r["meta"]["tools"]) in held]
    return train, val


def write_jsonl(records: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write records as JSON lines; return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read records written by `write_jsonl`."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
