"""The BFCL adapter: schemas, live instances, call strings, the checker, a missing install."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

pytest.importorskip("bfcl_eval")

from jsonschema import Draft202012Validator
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_ste.evaluate.benchmarks import bfcl
from langchain_ste.evaluate.benchmarks.bfcl import (
    SUPPORTED_CLASSES,
    BFCLUnavailableError,
    bfcl_cases,
    bfcl_environment,
    bfcl_exploration_tools,
    check_calls,
    format_call,
    ground_truth_calls,
    load_entries,
    parse_call,
    to_json_schema,
)

BFCL_TYPES = {"dict", "float", "tuple", "any"}


def _types(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        if isinstance(schema.get("type"), str):
            found.add(schema["type"])
        for value in schema.values():
            found |= _types(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _types(value)
    return found


@pytest.mark.parametrize("class_name", SUPPORTED_CLASSES)
def test_every_tool_has_a_valid_json_schema_and_a_live_method(class_name: str) -> None:
    env = bfcl_environment([class_name])
    instance = env.instances[class_name]
    assert env.tools
    for tool in env.tools:
        params = convert_to_openai_tool(tool)["function"]["parameters"]
        Draft202012Validator.check_schema(params)
        assert params["type"] == "object"
        assert not _types(params) & BFCL_TYPES, (tool.name, params)
        assert callable(getattr(instance, tool.name))


def test_type_mapping_covers_bfcl_types_recursively() -> None:
    schema = to_json_schema(
        {
            "type": "dict",
            "required": ["a"],
            "properties": {
                "a": {"type": "float", "description": "x"},
                "b": {
                    "type": "tuple",
                    "items": {"type": "dict", "properties": {"c": {"type": "any"}}},
                },
                "d": {"type": "array", "items": {"type": "string"}, "default": []},
            },
        }
    )
    assert schema["type"] == "object" and schema["required"] == ["a"]
    props = schema["properties"]
    assert props["a"] == {"type": "number", "description": "x"}
    assert props["b"]["type"] == "array"
    assert props["b"]["items"]["type"] == "object"
    assert props["b"]["items"]["properties"]["c"] == {}
    assert props["d"] == {"type": "array", "items": {"type": "string"}, "default": []}


def test_a_call_reaches_the_live_instance_and_changes_its_state() -> None:
    entry = load_entries(ids=["multi_turn_base_0"])[0]
    env = bfcl_environment(entry.involved_classes, entry.initial_config)
    tools = {t.name: t for t in env.tools}
    fs = env.instances["GorillaFileSystem"]
    assert "temp" not in fs._current_dir.contents["document"].contents
    tools["cd"].invoke({"folder": "document"})
    tools["mkdir"].invoke({"dir_name": "temp"})
    assert "temp" in fs._current_dir.contents
    assert [format_call(c["name"], c["args"]) for c in env.calls] == [
        "cd(folder='document')",
        "mkdir(dir_name='temp')",
    ]


def test_bad_arguments_are_answered_and_not_recorded() -> None:
    env = bfcl_environment(["MathAPI"])
    add = next(t for t in env.tools if t.name == "add")
    assert "takes no argument" in add.invoke({"a": 1, "b": 2, "evil); os.system('x'": 1})
    assert "missing the required argument" in add.invoke({"a": 1})
    assert env.calls == []
    assert add.invoke({"a": 1, "b": 2}) == '{"result": 3}'
    assert env.calls == [{"name": "add", "args": {"a": 1, "b": 2}}]


def test_exploration_tools_use_the_exploration_scenario_not_a_test_entry() -> None:
    tools = {t.name: t for t in bfcl_exploration_tools(["GorillaFileSystem"])}
    listing = tools["ls"].invoke({})
    assert "notes.txt" in listing and "final_report.pdf" not in listing


def test_parse_call_names_positional_arguments() -> None:
    env = bfcl_environment(["GorillaFileSystem", "MathAPI"])
    assert parse_call("diff('a.txt', file_name2='b.txt')", env.instances) == {
        "name": "diff",
        "args": {"file_name1": "a.txt", "file_name2": "b.txt"},
    }
    with pytest.raises(ValueError, match="not a BFCL function call"):
        parse_call("x.y", env.instances)


@pytest.mark.parametrize("entry_id", ["multi_turn_base_0", "multi_turn_base_113"])
def test_checker_accepts_the_ground_truth_and_rejects_other_calls(entry_id: str) -> None:
    entry = load_entries(ids=[entry_id])[0]
    truth = ground_truth_calls(entry)
    assert check_calls(entry, truth).correct
    assert check_calls(entry, truth).correct  # a second check is independent of the first
    wrong = check_calls(entry, [[{"name": "pwd", "args": {}}] for _ in truth])
    assert not wrong.correct and wrong.reason
    assert not check_calls(entry, []).correct
    assert not check_calls(entry, truth[:1]).correct
    assert check_calls(entry, truth[:1], turns=1).correct


def test_checker_leaves_no_cached_instances_behind() -> None:
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils

    before = {k for k in vars(multi_turn_utils) if k.startswith("ste_")}
    entry = load_entries(ids=["multi_turn_base_1"])[0]
    check_calls(entry, ground_truth_calls(entry))
    assert {k for k in vars(multi_turn_utils) if k.startswith("ste_")} == before


def test_calls_with_unsafe_names_never_reach_the_checker_eval() -> None:
    entry = load_entries(ids=["multi_turn_base_1"])[0]
    unsafe = [{"name": "ls", "args": {"a": True, "x=__import__('os')": 1}}]
    result = check_calls(entry, [unsafe], turns=1)
    assert not result.correct
    assert result.detail["calls"] == [[]]


def test_cases_single_turn_view_and_cpu_subset() -> None:
    multi = bfcl_cases(ids=["multi_turn_base_1"])[0]
    single = bfcl_cases(ids=["multi_turn_base_1"], single_turn=True)[0]
    assert len(multi.turns) == 4 and single.turns == multi.turns[:1]
    assert single.category == "single_turn_base"
    cpu = bfcl_cases(subset="cpu")
    assert [c.id for c in cpu] == [c.id for c in bfcl_cases(subset="cpu")]
    assert len(cpu) == bfcl.CPU_SUBSET_SIZE and all(len(c.turns) <= 3 for c in cpu)
    assert len(bfcl_cases(limit=3)) == 3
    with pytest.raises(ValueError, match="unknown BFCL subset"):
        bfcl_cases(subset="nope")
    with pytest.raises(ValueError, match="unknown or unsupported"):
        load_entries(ids=["multi_turn_base_9999"])


def test_categories_resolve_from_short_names_and_from_ids() -> None:
    assert bfcl.resolve_categories(["miss_func", "base"]) == [
        "multi_turn_miss_func",
        "multi_turn_base",
    ]
    assert bfcl.resolve_categories("all") == list(bfcl.multi_turn_categories())
    with pytest.raises(ValueError, match="choose from base, miss_func, miss_param, long_context"):
        bfcl.resolve_categories("web_search")
    mixed = load_entries(ids=["multi_turn_miss_param_2", "multi_turn_base_1"])
    assert sorted(e.id for e in mixed) == ["multi_turn_base_1", "multi_turn_miss_param_2"]
    assert [e.long_context for e in load_entries("long_context")[:1]] == [True]
    assert not mixed[0].long_context
    cpu = bfcl_cases(subset="cpu", category=["base", "miss_param"])
    assert [c.category for c in cpu] == ["multi_turn_base"] * 6 + ["multi_turn_miss_param"] * 6
    assert all(c.step_limit_fails for c in cpu)


def test_ground_truth_of_every_category_passes_the_checker() -> None:
    for category in bfcl.multi_turn_categories():
        for entry in load_entries(category)[:3]:
            result = check_calls(entry, ground_truth_calls(entry))
            assert result.correct, (entry.id, result.reason)


def test_unsupported_class_is_named_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unsupported BFCL class 'WebSearchAPI'"):
        bfcl_environment(["WebSearchAPI"])


def test_missing_bfcl_gives_one_message_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = importlib.import_module

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "bfcl_eval":
            raise ModuleNotFoundError("No module named 'bfcl_eval'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(BFCLUnavailableError) as info:
        load_entries()
    assert "pip install --no-deps bfcl-eval==2026.3.23 mpmath" in str(info.value)
    assert isinstance(info.value, ImportError)
