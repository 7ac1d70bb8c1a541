"""SFT records: the react rendering is exactly what inference shows and parses; filters count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from langchain_ste.finetune import (
    build_sft_records,
    export_dataset,
    infer_tool_schemas,
    read_jsonl,
    split,
)
from langchain_ste.finetune.schemas import tool_schemas_of
from langchain_ste.models.react import react_prompt
from langchain_ste.models.react_protocol import parse_react
from langchain_ste.tools.examples import example_tools
from langchain_ste.trial import Trial
from langchain_ste.trial_log import write_trials
from tests.finetune.conftest import CALLS, make_trial

NAMES = ["convert_units", "search_catalog"]


class CharTokenizer:
    """One token per character and a plain template: token counts are easy to predict."""

    chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"

    def apply_chat_template(self, messages: list[dict[str, Any]], **kwargs: Any) -> str:
        return "".join(f"<{m['role']}>{m['content']}" for m in messages)

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [ord(c) for c in text]}


def test_react_assistant_turns_parse_back_to_the_same_tool_calls(trials: list[Trial]) -> None:
    records, stats = build_sft_records(trials, example_tools())
    assert stats.kept == len(trials) == len(records)
    for trial, record in zip(trials, records, strict=True):
        expected = [m for m in trial.to_messages() if isinstance(m, AIMessage)]
        turns = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
        assert len(turns) == len(expected)
        for text, message in zip(turns, expected, strict=True):
            reply = parse_react(text, NAMES)
            assert reply.well_formed, text
            assert [(c["name"], c["args"]) for c in reply.tool_calls] == [
                (c["name"], c["args"]) for c in message.tool_calls
            ]
            if not message.tool_calls:
                assert reply.final_answer == message.text
            assert text.startswith("Thought:")


def test_react_prompt_is_the_one_bind_tools_builds_at_inference(trials: list[Trial]) -> None:
    tools = example_tools()
    record = build_sft_records(trials[:1], tools)[0][0]
    prompt, _, _ = react_prompt(trials[0].to_messages()[:1], tools, None)
    assert [m["content"] for m in record["messages"][:2]] == [m.text for m in prompt]
    assert record["messages"][3]["content"].startswith("Observation: 3 km = 3000 m")


def test_only_successful_and_clean_trials_are_kept_and_the_rest_counted(
    trials: list[Trial],
) -> None:
    failed = make_trial(
        "Convert 2 m to ft",
        "convert_units",
        {"value": 2, "from_unit": "m", "to_unit": "ft"},
        index=10,
        success=False,
    )
    unclean = make_trial(
        "Find a pan", "search_catalog", {"query": "pan"}, index=11, error_step=True
    )
    records, stats = build_sft_records([*trials, failed, unclean], example_tools())
    assert len(records) == len(trials)
    assert stats.skipped == {"not successful": 2}
    everything, _ = build_sft_records(
        [*trials, failed, unclean], example_tools(), only_successful=False
    )
    assert len(everything) == len(trials) + 2


def test_dedupe_uses_normalised_queries_per_tool(trials: list[Trial]) -> None:
    q, tool, args = CALLS[0]
    again = make_trial(q.upper() + "!!", tool, args, index=20)
    records, stats = build_sft_records([*trials, again], example_tools())
    assert len(records) == len(trials) and stats.skipped["duplicate query"] == 1
    kept, _ = build_sft_records([*trials, again], example_tools(), dedupe=False)
    assert len(kept) == len(trials) + 1


def test_paraphrases_are_kept_as_augmentation(trials: list[Trial]) -> None:
    _, tool, args = CALLS[3]
    para = make_trial(
        "Is there a mat for yoga in your shop?",
        tool,
        args,
        index=30,
        extra={"paraphrase_of": trials[3].trial_id},
    )
    records, _ = build_sft_records([*trials, para], example_tools())
    assert [r["meta"]["paraphrase_of"] for r in records].count(trials[3].trial_id) == 1


def test_cap_per_tool_balances_and_is_seeded(trials: list[Trial]) -> None:
    records, stats = build_sft_records(trials, example_tools(), max_per_tool=1, seed=3)
    assert sorted(r["meta"]["tools"][0] for r in records) == NAMES
    assert stats.skipped["over the per-tool cap"] == len(trials) - 2
    again, _ = build_sft_records(trials, example_tools(), max_per_tool=1, seed=3)
    assert again == records


def test_empty_or_all_failed_trials_raise_clear_errors(trials: list[Trial]) -> None:
    with pytest.raises(ValueError, match="no trials"):
        build_sft_records([], example_tools())
    for t in trials:
        t.success = False
    with pytest.raises(ValueError, match="6 not successful"):
        build_sft_records(trials, example_tools())


def test_too_long_records_are_skipped_and_counted_not_truncated(trials: list[Trial]) -> None:
    tokenizer = CharTokenizer()
    full, _ = build_sft_records(trials, example_tools())
    lengths = sorted(len(tokenizer.apply_chat_template(r["messages"])) for r in full)
    limit = lengths[2]  # the three shortest fit
    records, stats = build_sft_records(
        trials, example_tools(), tokenizer=tokenizer, max_length=limit
    )
    assert stats.skipped["longer than max_length"] == 3
    assert all(r in full for r in records) and len(records) == 3


def test_unknown_tools_and_broken_trajectories_are_skipped_and_counted(
    trials: list[Trial],
) -> None:
    broken = make_trial("Find shoes", "search_catalog", {"query": "shoes"}, index=40)
    answer = broken.messages[2]  # the tool's answer, given to a call nobody made
    broken.messages[2] = {**answer, "data": {**answer["data"], "tool_call_id": "nope"}}
    assert broken.steps and broken.success  # usable by the rule, unreadable as a conversation
    records, stats = build_sft_records([*trials, broken], example_tools()[:1])
    assert stats.skipped == {"unknown tool schema": 3, "unreadable trajectory": 1}
    assert {r["meta"]["tools"][0] for r in records} == {"convert_units"}


def test_openai_format_has_string_arguments_function_tools_and_no_extra_keys(
    trials: list[Trial],
) -> None:
    odd = make_trial("Find socks", "search_catalog", {"query": "socks"}, index=50)
    odd.tools = ["search catalog!"]
    tools = [*example_tools(), {"name": "search catalog!", "description": "x", "parameters": {}}]
    records, stats = build_sft_records([*trials, odd], tools, format="openai")
    assert stats.skipped == {"tool name OpenAI cannot express": 1}
    record = records[0]
    assert set(record) == {"messages", "tools"}
    assert [m["role"] for m in record["messages"]] == ["user", "assistant", "tool", "assistant"]
    call = record["messages"][1]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == CALLS[0][2]
    assert record["messages"][2]["tool_call_id"] == call["id"]
    assert record["tools"][0]["type"] == "function"


def test_native_format_has_dict_arguments_and_needs_a_tool_template(
    trials: list[Trial], tokenizer: Any
) -> None:
    records, _ = build_sft_records(trials, example_tools(), format="hf")
    call = records[0]["messages"][1]["tool_calls"][0]
    assert call["function"]["arguments"] == CALLS[0][2]
    assert [t["function"]["name"] for t in records[0]["tools"]] == NAMES
    with pytest.raises(ValueError, match=r"cannot render tools.*format=.react."):
        build_sft_records(trials, example_tools(), format="native", tokenizer=tokenizer)


def test_schemas_are_inferred_from_trials_or_taken_from_their_extra(trials: list[Trial]) -> None:
    schemas = {s["function"]["name"]: s["function"] for s in infer_tool_schemas(trials)}
    params = schemas["search_catalog"]["parameters"]
    assert params["properties"]["max_price"] == {"type": "integer"}
    assert params["required"] == ["query"]
    stored = {"name": "convert_units", "description": "Convert.", "parameters": {}}
    trials[0].extra["tool_schemas"] = [stored]
    assert infer_tool_schemas(trials)[0]["function"] == stored
    records, _ = build_sft_records(trials)
    assert "- search_catalog:" in records[0]["messages"][0]["content"]


def test_split_by_tool_keeps_tools_apart_and_by_trial_is_seeded(trials: list[Trial]) -> None:
    records, _ = build_sft_records(trials, example_tools())
    train, val = split(records, by="tool", val_fraction=0.5, seed=1)
    assert len(train) == len(val) == 3
    assert {r["meta"]["tools"][0] for r in train}.isdisjoint(r["meta"]["tools"][0] for r in val)
    a = split(records, by="trial", val_fraction=0.34, seed=2)
    assert len(a[1]) == 2 and a == split(records, by="trial", val_fraction=0.34, seed=2)
    with pytest.raises(ValueError, match="val_fraction"):
        split(records, val_fraction=1.0)


def test_export_dataset_writes_records_and_tool_schemas(
    trials: list[Trial], tmp_path: Path
) -> None:
    write_trials(tmp_path / "explore" / "trials.jsonl", trials)
    stats = export_dataset(
        tmp_path / "explore",
        tmp_path / "data" / "train.jsonl",
        format="openai",
        tools=example_tools(),
    )
    assert stats.kept == len(read_jsonl(tmp_path / "data" / "train.jsonl")) == len(trials)
    schemas = json.loads((tmp_path / "data" / "tools.json").read_text())
    assert [s["function"]["name"] for s in schemas] == NAMES


def test_export_renders_the_tool_schemas_exploration_wrote_beside_the_trials(
    trials: list[Trial], tmp_path: Path
) -> None:
    from langchain_ste.memory.tool_schemas import read_tool_schemas, write_tool_schemas

    write_trials(tmp_path / "explore" / "trials.jsonl", trials)
    write_tool_schemas(tmp_path / "explore", example_tools())
    export_dataset(tmp_path / "explore", tmp_path / "data" / "train.jsonl", format="native")
    [record, *_] = read_jsonl(tmp_path / "data" / "train.jsonl")
    real = {s["function"]["name"]: s for s in tool_schemas_of(example_tools())}
    assert {s["function"]["name"]: s for s in record["tools"]} == real  # descriptions kept
    assert read_tool_schemas(tmp_path / "data") == sorted(
        real.values(), key=lambda s: s["function"]["name"]
    )


def test_records_can_render_only_their_trials_tools(trials: list[Trial]) -> None:
    tools = example_tools()
    for fmt in ("native", "react"):
        every, _ = build_sft_records(trials, tools, format=fmt)
        own, _ = build_sft_records(trials, tools, format=fmt, render_tools="trial")
        for trial, full, short in zip(trials, every, own, strict=True):
            if fmt == "native":
                assert [t["function"]["name"] for t in full["tools"]] == [t.name for t in tools]
                assert [t["function"]["name"] for t in short["tools"]] == trial.tools
            else:  # the system prompt lists the tools
                other = ({t.name for t in tools} - set(trial.tools)).pop()
                assert other in full["messages"][0]["content"]
                assert other not in short["messages"][0]["content"]
            assert full["messages"][1:] == short["messages"][1:]
    with pytest.raises(ValueError, match="render_tools"):
        build_sft_records(trials, tools, render_tools="some")  # type: ignore[arg-type]
