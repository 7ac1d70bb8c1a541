"""Trials -> supervised fine-tuning records, in the format the model will be used with.

Three formats:

- ``"react"`` (default; for models without native tool calling, e.g. the embedded SmolLM2): the
  conversation is rendered with exactly the functions `bind_tools` uses at inference
  (`protocol.messages_to_react`: tools in the system message, calls as ``Action:`` text, results as
  ``Observation:`` turns), so a model trained on it is then driven through `bind_tools` unchanged.
  Every assistant turn starts with ``Thought:``, as the embedded model's replies do.
- ``"native"`` (alias ``"hf"``): the standard conversational format TRL and HF chat templates
  expect (``{"messages": [...], "tools": [...]}``, assistant ``tool_calls`` with dict arguments,
  ``tool`` messages), for models whose chat template renders tools itself.
- ``"openai"``: OpenAI's fine-tuning JSONL (``convert_to_openai_messages`` + function tools).

Tool schemas come from the tools (`BaseTool` objects or OpenAI-style dicts). Exporting from a
trials file alone, `export_dataset` reads the ``tools.json`` exploration wrote beside it and
infers only the missing ones (`langchain_ste.finetune.schemas`); it writes the schemas it used
to ``tools.json`` beside the data.
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

from langchain_ste.finetune.schemas import (
    infer_tool_schemas,
    stored_or_inferred_schemas,
    tool_schemas_of,
)
from langchain_ste.models.native_tools import supports_native_tools, to_chat_messages
from langchain_ste.models.react_protocol import messages_to_react
from langchain_ste.trajectory import check_tool_pairing
from langchain_ste.trial import Trial, is_usable, query_key
from langchain_ste.trial_log import read_trials

logger = logging.getLogger(__name__)

DatasetFormat = Literal["react", "native", "hf", "openai"]
RenderTools = Literal["all", "trial"]
_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}
_OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class DatasetStats:
    """What went into a dataset and what was left out, by reason (never silently).

    Example:
        >>> stats = DatasetStats(kept=3)
        >>> stats.skipped["not successful"] += 2
        >>> str(stats)
        '3 examples kept; skipped: 2 not successful'
    """

    kept: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        return f"{self.kept} examples kept; skipped: {reasons}"

    def to_dict(self) -> dict[str, Any]:
        """The counts as plain JSON data."""
        return {"kept": self.kept, "skipped": dict(self.skipped)}


def _with_thoughts(messages: list[BaseMessage]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for msg in messages:
        if isinstance(msg, AIMessage) and not msg.additional_kwargs.get("react_thought"):
            thought = (
                f"I should use {msg.tool_calls[0]['name']}."
                if msg.tool_calls
                else "I can answer now."
            )
            msg = msg.model_copy(
                update={"additional_kwargs": {**msg.additional_kwargs, "react_thought": thought}}
            )
        out.append(msg)
    return out


def _chat(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]


def trial_to_record(
    trial: Trial, tools: Sequence[Any], format: DatasetFormat = "react"
) -> dict[str, Any]:
    """One trial as one training record (see the module docstring for the formats).

    Args:
        trial: a trial with a trajectory.
        tools: every tool the model will be bound to (`BaseTool` or OpenAI-style dicts), in the
            order `bind_tools` gets them: all of them are rendered into the prompt.
        format: ``"react"``, ``"native"`` (``"hf"``) or ``"openai"``.

    Raises:
        ValueError: the trial uses a tool that is not in ``tools`` (its schema is unknown), or
            the format is unknown.

    Example:
        >>> from langchain_core.messages import HumanMessage, ToolMessage
        >>> from langchain_ste.tools.examples import example_tools
        >>> from langchain_ste.trajectory import trajectory_to_dicts
        >>> call = {"name": "search_catalog", "args": {"query": "pan"}, "id": "c",
        ...         "type": "tool_call"}
        >>> t = Trial(trial_id="s/e000/t0", tools=["search_catalog"], episode=0, index=0,
        ...           query="pan?", messages=trajectory_to_dicts([HumanMessage("pan?"),
        ...           AIMessage("", tool_calls=[call]), ToolMessage("C300", tool_call_id="c"),
        ...           AIMessage("We have C300.")]))
        >>> [m["role"] for m in trial_to_record(t, example_tools())["messages"]]
        ['system', 'user', 'assistant', 'user', 'assistant']
        >>> print(trial_to_record(t, example_tools())["messages"][2]["content"])
        Thought: I should use search_catalog.
        Action: search_catalog
        Action Input: {"query": "pan"}
    """
    schemas = tool_schemas_of(tools)
    known = {s["function"]["name"] for s in schemas}
    used = {s.tool for s in trial.steps} | set(trial.tools)
    missing = sorted(n for n in used if n and n not in known)
    if missing:
        raise ValueError(
            f"trial {trial.trial_id} uses tools without a schema: {missing}; pass them in `tools`"
        )
    messages = trial.to_messages()
    meta = {
        "trial_id": trial.trial_id,
        "tools": trial.tools,
        "bootstrapped": any(not e.startswith("synthetic:") for e in trial.exemplars),
        "paraphrase_of": trial.extra.get("paraphrase_of"),
    }
    if format == "react":
        react = messages_to_react(_with_thoughts(messages), [s["function"] for s in schemas])
        return {"messages": _chat(react), "meta": meta}
    if format == "openai":
        return {"messages": convert_to_openai_messages(messages), "tools": schemas}
    if format in ("native", "hf"):
        return {"messages": to_chat_messages(messages), "tools": schemas, "meta": meta}
    raise ValueError(f"unknown format {format!r}; use 'react', 'native' ('hf') or 'openai'")


def build_sft_records(
    trials: Iterable[Trial],
    tools: Sequence[Any] | None = None,
    *,
    format: DatasetFormat = "react",
    only_successful: bool = True,
    allow_emulated: bool = True,
    dedupe: bool = True,
    max_per_tool: int | None = None,
    tokenizer: Any = None,
    max_length: int | None = None,
    seed: int = 0,
    render_tools: RenderTools = "all",
) -> tuple[list[dict[str, Any]], DatasetStats]:
    """Training records from trials, with the count of what was skipped and why.

    Paraphrased copies from `curate.paraphrase` (``extra["paraphrase_of"]``) are ordinary trials
    with a new query, so they are kept (augmentation) unless their query repeats one.

    Args:
        trials: explored (and maybe curated or paraphrased) trials.
        tools: the tools the model will be bound to; None rebuilds schemas with
            `infer_tool_schemas`.
        format: ``"react"``, ``"native"`` (``"hf"``) or ``"openai"``.
        only_successful: only usable trials (`is_usable`: judged successful, a call executed,
            the last call clean).
        allow_emulated: with ``only_successful``, keep trials whose tool results were emulated
            (the calls the model learns are real).
        dedupe: drop repeated queries of the same tools (`query_key`).
        max_per_tool: at most this many examples per tool (balance), sampled with ``seed``.
        tokenizer: with ``max_length``, records longer than that many tokens are skipped and
            counted (never truncated); with ``format="native"`` its chat template must render
            tools.
        max_length: token limit per record (needs ``tokenizer``).
        seed: sampling seed for ``max_per_tool``.
        render_tools: ``"all"``: every record renders all ``tools`` (what the model is bound
            to at inference); ``"trial"``: only the tools its trial explored and called, in
            ``tools``' order (short records when there are dozens of tools: 24 BFCL functions
            render ~2,800 tokens in Qwen2.5's template, one renders ~190).

    Returns:
        ``(records, stats)``; ``stats.skipped`` counts every left-out trial by reason.

    Raises:
        ValueError: no trials, none left after filtering (e.g. all failed), or a native-format
            export for a tokenizer whose chat template cannot express tools.

    Example:
        >>> from langchain_core.messages import HumanMessage, ToolMessage
        >>> from langchain_ste.tools.examples import example_tools
        >>> from langchain_ste.trajectory import trajectory_to_dicts
        >>> call = {"name": "search_catalog", "args": {"query": "pan"}, "id": "c",
        ...         "type": "tool_call"}
        >>> msgs = trajectory_to_dicts([HumanMessage("pan?"), AIMessage("", tool_calls=[call]),
        ...                             ToolMessage("C300", tool_call_id="c"), AIMessage("C300")])
        >>> good = Trial(trial_id="a", tools=["search_catalog"], episode=0, index=0,
        ...              query="pan?", messages=msgs, success=True)
        >>> bad = Trial(trial_id="b", tools=["search_catalog"], episode=0, index=1, query="x")
        >>> records, stats = build_sft_records([good, bad], example_tools())
        >>> len(records), str(stats)
        (1, '1 examples kept; skipped: 1 not successful')
    """
    trials = list(trials)
    if not trials:
        raise ValueError("no trials to build a dataset from: run `ste explore` first")
    if (
        format in ("native", "hf")
        and tokenizer is not None
        and not supports_native_tools(tokenizer)
    ):
        raise ValueError(
            "this tokenizer's chat template cannot render tools (no `tools` in "
            "it): export with format='react' for this model"
        )
    schemas = tool_schemas_of(tools) if tools is not None else infer_tool_schemas(trials)
    stats = DatasetStats()
    kept: list[Trial] = []
    seen: set[tuple[tuple[str, ...], str]] = set()
    for t in trials:
        if only_successful and not is_usable(t, allow_emulated=allow_emulated):
            stats.skipped["not successful"] += 1
            continue
        if not t.messages:
            stats.skipped["no trajectory"] += 1
            continue
        key = query_key(t)
        if dedupe and key in seen:
            stats.skipped["duplicate query"] += 1
            continue
        seen.add(key)
        kept.append(t)
    if max_per_tool is not None:
        kept = _cap(kept, max_per_tool, seed, stats)
    records = []
    if render_tools not in ("all", "trial"):
        raise ValueError(f"render_tools must be 'all' or 'trial', not {render_tools!r}")
    for t in kept:
        shown = schemas if render_tools == "all" else _trial_schemas(t, schemas)
        record = _record_or_reason(t, shown, format)
        if isinstance(record, str):
            stats.skipped[record] += 1
            continue
        if tokenizer is not None and max_length is not None:
            if _token_count(tokenizer, record) > max_length:
                stats.skipped["longer than max_length"] += 1
                continue
        records.append(record)
    stats.kept = len(records)
    if not records:
        raise ValueError(
            f"no usable trials for a dataset ({stats}); explore more or relax "
            "the filters (e.g. only_successful=False)"
        )
    return records, stats


def _cap(kept: list[Trial], max_per_tool: int, seed: int, stats: DatasetStats) -> list[Trial]:
    rng = random.Random(seed)
    by_tool: dict[str, list[Trial]] = {}
    for t in kept:
        by_tool.setdefault("+".join(t.tools), []).append(t)
    chosen_ids: set[str] = set()
    for group in by_tool.values():
        chosen = group if len(group) <= max_per_tool else rng.sample(group, max_per_tool)
        stats.skipped["over the per-tool cap"] += len(group) - len(chosen)
        chosen_ids |= {t.trial_id for t in chosen}
    return [t for t in kept if t.trial_id in chosen_ids]


def _trial_schemas(trial: Trial, schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The schemas of the tools a trial explored or called, in their order in ``schemas``."""
    used = set(trial.tools) | {s.tool for s in trial.steps if s.tool}
    return [s for s in schemas if s["function"]["name"] in used]


def _record_or_reason(
    trial: Trial, schemas: list[dict[str, Any]], format: DatasetFormat
) -> dict[str, Any] | str:
    """The record, or why the trial cannot become one (a skip reason)."""
    if format not in ("react", "native", "hf", "openai"):
        raise ValueError(f"unknown format {format!r}; use 'react', 'native' ('hf') or 'openai'")
    try:
        check_tool_pairing(trial.to_messages())
    except (ValueError, KeyError, TypeError) as exc:
        logger.info("skipping %s: unreadable trajectory: %s", trial.trial_id, exc)
        return "unreadable trajectory"
    if format == "openai":
        bad = [n for n in trial.tools if not _OPENAI_NAME.match(n)]
        if bad:
            logger.info("skipping %s: OpenAI cannot express tool names %s", trial.trial_id, bad)
            return "tool name OpenAI cannot express"
    try:
        return trial_to_record(trial, schemas, format)
    except ValueError as exc:
        logger.info("skipping %s: %s", trial.trial_id, exc)
        return "unknown tool schema"


def _token_count(tokenizer: Any, record: dict[str, Any]) -> int:
    kwargs = {"tools": record["tools"]} if "tools" in record else {}
    text = tokenizer.apply_chat_template(record["messages"], tokenize=False, **kwargs)
    return len(tokenizer(str(text), add_special_tokens=False)["input_ids"])


def split(
    records: Sequence[dict[str, Any]],
    *,
    by: Literal["tool", "trial"] = "trial",
    val_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train / validation split, by trial or by tool (no tool in both), seeded.

    Example:
        >>> recs = [{"meta": {"tools": [t], "trial_id": f"{t}{i}"}} for t in "ab" for i in range(5)]
        >>> train, val = split(recs, by="tool", val_fraction=0.5)
        >>> {r["meta"]["tools"][0] for r in train} & {r["meta"]["tools"][0] for r in val}
        set()
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = random.Random(seed)
    if by == "trial":
        order = list(records)
        rng.shuffle(order)
        n_val = round(len(order) * val_fraction)
        return order[n_val:], order[:n_val]
    if by != "tool":
        raise ValueError(f"split by 'tool' or 'trial', not {by!r}")
    if any("meta" not in r for r in records):
        raise ValueError("split(by='tool') needs records with 'meta' (react or native format)")
    groups = sorted({"+".join(r["meta"]["tools"]) for r in records})
    rng.shuffle(groups)
    n_val = max(1, round(len(groups) * val_fraction)) if len(groups) > 1 and val_fraction else 0
    held = set(groups[:n_val])
    train = [r for r in records if "+".join(r["meta"]["tools"]) not in held]
    val = [r for r in records if "+".join(r["meta"]["tools"]) in held]
    return train, val


def write_jsonl(records: Iterable[dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write records as JSON lines (atomically: a temp file renamed); return how many.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "data.jsonl"
        >>> write_jsonl([{"a": 1}, {"a": 2}], path), read_jsonl(path)
        (2, [{'a': 1}, {'a': 2}])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read records written by `write_jsonl`."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def export_dataset(
    trials_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    format: DatasetFormat = "react",
    tools: Sequence[Any] | None = None,
    only_successful: bool = True,
    allow_emulated: bool = True,
    dedupe: bool = True,
    max_per_tool: int | None = None,
    seed: int = 0,
) -> DatasetStats:
    """Export a trials file as a fine-tuning JSONL file, plus ``tools.json`` beside it.

    Args:
        trials_path: a ``trials.jsonl`` file, or an exploration folder holding one.
        out_path: the JSONL file to write.
        format: ``"react"``, ``"native"`` (``"hf"``) or ``"openai"``.
        tools: the tools (default: the ``tools.json`` exploration wrote beside the trials, and
            for tools it lacks, schemas rebuilt from the trials, see `infer_tool_schemas`).
        only_successful: only usable trials (see `build_sft_records`).
        allow_emulated: keep trials whose tool results were emulated.
        dedupe: drop repeated queries of the same tools.
        max_per_tool: at most this many examples per tool.
        seed: sampling seed for ``max_per_tool``.

    Raises:
        FileNotFoundError: there is no trials file at ``trials_path``.
        ValueError: see `build_sft_records`.

    Example:
        >>> import tempfile
        >>> missing = Path(tempfile.mkdtemp()) / "none.jsonl"
        >>> export_dataset(missing, "out.jsonl")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: no trials file at ... run `ste explore` first
    """
    source = Path(trials_path)
    if source.is_dir():
        source = source / "trials.jsonl"
    if not source.is_file():
        raise FileNotFoundError(f"no trials file at {source}: run `ste explore` first")
    trials = read_trials(source)
    if tools is None:
        tools = stored_or_inferred_schemas(source.parent, trials)
    records, stats = build_sft_records(
        trials,
        tools,
        format=format,
        only_successful=only_successful,
        allow_emulated=allow_emulated,
        dedupe=dedupe,
        max_per_tool=max_per_tool,
        seed=seed,
    )
    out = Path(out_path)
    write_jsonl(records, out)
    schemas = tool_schemas_of(tools)
    (out.parent / "tools.json").write_text(json.dumps(schemas, indent=2, ensure_ascii=False))
    logger.info("exported %s to %s", stats, out)
    return stats
