"""Schema-derived demonstrations validate against the tool's schema; bootstrapping takes over."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Literal

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, tool
from pydantic import BaseModel, Field

from langchain_ste.explore.demonstrations import (
    Demonstration,
    act_demonstrations,
    example_value,
    imagine_examples,
    render_demonstrations_text,
    schema_demonstrations,
)
from langchain_ste.memory.base import ListStore
from langchain_ste.tools.examples import example_tools
from langchain_ste.trajectory import Step, check_tool_pairing
from langchain_ste.trial import Trial


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Booking(BaseModel):
    guest_email: str = Field(description="who books")
    nights: int = Field(ge=1, le=30)
    budget: float = Field(gt=0)
    breakfast: bool = False
    room: Literal["single", "double", "suite"] = "double"
    tags: list[str] = Field(default_factory=list)
    address: Address
    note: str | None = None


class Constrained(BaseModel):
    code: str = Field(min_length=6, max_length=8)
    ratio: float = Field(gt=0, lt=1)
    level: int = Field(gt=3, lt=5)
    point: tuple[int, int]
    stops: list[Address] = Field(min_length=2)
    mode: Literal["fast"] = "fast"
    scores: dict[str, int] = Field(default_factory=dict)
    pick: int | str = Field(examples=[7, "seven"])


def _noop(**kwargs: object) -> str:
    return "ok"


BOOK = StructuredTool.from_function(
    _noop, name="book_room", description="Book a hotel room.", args_schema=Booking
)
CONSTRAINED = StructuredTool.from_function(
    _noop, name="plan_route", description="Plan a route.", args_schema=Constrained
)
JSON_SCHEMA_TOOL = StructuredTool(
    name="lookup",
    description="Look up a record.",
    args_schema={
        "type": "object",
        "properties": {
            "record_id": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 5},
        },
        "required": ["record_id"],
    },
    func=_noop,
)


@tool
def ping(host: str) -> str:
    """Ping a host."""
    return "pong"


def _args(demo: Demonstration) -> dict[str, Any]:
    msg = demo.messages[1]
    assert isinstance(msg, AIMessage)
    return msg.tool_calls[0]["args"]


@pytest.mark.parametrize("target", [BOOK, CONSTRAINED, ping, *example_tools()])
def test_demonstrations_validate_against_the_tools_schema(target: StructuredTool) -> None:
    demos = schema_demonstrations(target, n=2)
    assert len(demos) == 2
    for i, demo in enumerate(demos):
        target.tool_call_schema.model_validate(_args(demo))  # type: ignore[union-attr]
        assert demo.synthetic and demo.id == f"synthetic:{target.name}:{i}"
        assert demo.query.startswith("[format example]")
        check_tool_pairing(demo.messages)
        assert [type(m) for m in demo.messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
        assert demo.messages[2].text.startswith("<") and demo.messages[3].text.startswith("<")
    assert _args(demos[0]) != _args(demos[1])


def test_json_schema_tools_get_valid_demonstrations() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    demos = schema_demonstrations(JSON_SCHEMA_TOOL, n=2)
    assert [sorted(_args(d)) for d in demos] == [["record_id"], ["limit", "record_id"]]
    for demo in demos:
        jsonschema.validate(_args(demo), JSON_SCHEMA_TOOL.tool_call_schema)


def test_every_json_type_gets_a_value() -> None:
    args = _args(schema_demonstrations(BOOK, n=2)[1])
    assert isinstance(args["nights"], int) and 1 <= args["nights"] <= 30
    assert isinstance(args["budget"], float) and args["budget"] > 0
    assert isinstance(args["breakfast"], bool)
    assert args["room"] in ("single", "double", "suite")
    assert isinstance(args["tags"], list) and isinstance(args["address"]["city"], str)
    assert "zip_code" in args["address"] and "note" in args
    assert "@" in args["guest_email"]
    assert example_value({"type": "integer", "exclusiveMinimum": 0}) > 0
    assert example_value({"type": "number", "maximum": 1.5}) <= 1.5
    assert example_value({"type": "integer", "exclusiveMaximum": 2}) < 2


def test_required_only_first_then_optional_fields() -> None:
    first, second = schema_demonstrations(BOOK, n=2)
    assert set(_args(first)) == {"guest_email", "nights", "budget", "address"}
    assert {"breakfast", "room", "tags", "note"} <= set(_args(second))


def test_constraints_and_defaults_are_respected() -> None:
    args = _args(schema_demonstrations(CONSTRAINED, n=1)[0])
    assert 6 <= len(args["code"]) <= 8 and 0 < args["ratio"] < 1 and args["level"] == 4
    assert len(args["point"]) == 2 and len(args["stops"]) >= 2
    assert args["pick"] == 7
    search = next(t for t in example_tools() if t.name == "search_catalog")
    assert _args(schema_demonstrations(search, n=2)[1])["limit"] == 10  # not the default 3


def test_sibling_enums_get_different_values() -> None:
    convert = next(t for t in example_tools() if t.name == "convert_units")
    for demo in schema_demonstrations(convert, n=2):
        assert _args(demo)["from_unit"] != _args(demo)["to_unit"]


def test_demonstrations_are_deterministic() -> None:
    a, b = schema_demonstrations(BOOK), schema_demonstrations(BOOK)
    assert [_args(d) for d in a] == [_args(d) for d in b]
    assert [d.query for d in a] == [d.query for d in b]
    assert imagine_examples(BOOK) == imagine_examples(BOOK)


def test_tool_call_ids_are_unique_and_paired() -> None:
    demos = [*schema_demonstrations(BOOK), *schema_demonstrations(ping)]
    ids = [_args_id(d) for d in demos]
    assert len(set(ids)) == len(ids) == 4
    for demo in demos:
        tool_message = demo.messages[2]
        assert isinstance(tool_message, ToolMessage)
        assert tool_message.tool_call_id == _args_id(demo)


def _args_id(demo: Demonstration) -> str:
    msg = demo.messages[1]
    assert isinstance(msg, AIMessage)
    return str(msg.tool_calls[0]["id"])


def test_unsatisfiable_schema_yields_no_demonstrations() -> None:
    class Strict(BaseModel):
        sku: str = Field(pattern=r"^[0-9]{4}$")

    strict = StructuredTool.from_function(
        _noop, name="strict", description="Strict.", args_schema=Strict
    )
    assert schema_demonstrations(strict) == []


def trial(idx: int, query: str, success: bool = True, clean: bool = True) -> Trial:
    step = Step(
        tool="book_room", args={"nights": 2}, call_id="x", output="booked",
        status="ok" if clean else "error",
    )  # fmt: skip
    return Trial.from_steps(
        trial_id=f"book_room/e000/t{idx}", tools=["book_room"], episode=0, index=idx,
        query=query, steps=[step], final_answer="Booked.", success=success,
    )  # fmt: skip


class EverythingMemory:
    """Returns every stored trial regardless of filters, so the caller's own checks are tested."""

    def __init__(self, trials: Sequence[Trial]) -> None:
        self.stored = list(trials)
        self.calls: list[dict[str, Any]] = []

    def search(
        self,
        query: str,
        k: int = 3,
        *,
        tools: Sequence[str] | None = None,
        only_successful: bool = True,
        diverse: bool = True,
        exclude_ids: Collection[str] = (),
    ) -> list[Trial]:
        self.calls.append({"query": query, "k": k, "tools": tools, "exclude_ids": exclude_ids})
        return list(self.stored)


def test_bootstrapping_switches_to_successful_clean_trials() -> None:
    store = ListStore()
    assert all(d.synthetic for d in act_demonstrations(BOOK, "a room", store))
    store.add([trial(0, "failed one", success=False), trial(1, "unclean", clean=False)])
    assert all(d.synthetic for d in act_demonstrations(BOOK, "a room", store))
    store.add([trial(2, "Book 2 nights in Rome")])
    demos = act_demonstrations(BOOK, "a room for 3 nights", store)
    assert [d.id for d in demos] == ["book_room/e000/t2"] and not demos[0].synthetic
    assert _args_id(demos[0]) == "demo0_0"


def test_failed_unclean_and_excluded_trials_are_never_used() -> None:
    memory = EverythingMemory([
        trial(0, "failed", success=False), trial(1, "unclean", clean=False),
        trial(2, "excluded"), trial(3, "good one"), trial(4, "good two"), trial(5, "good three"),
    ])  # fmt: skip
    demos = act_demonstrations(BOOK, "q", memory, k=2, exclude_ids={"book_room/e000/t2"})
    assert [d.query for d in demos] == ["good one", "good two"]
    assert [_args_id(d) for d in demos] == ["demo0_0", "demo1_0"]
    for demo in demos:
        check_tool_pairing(demo.messages)
    assert memory.calls[0]["tools"] == ["book_room"]
    assert memory.calls[0]["exclude_ids"] == {"book_room/e000/t2"}


def test_exemplars_never_include_the_trials_own_query() -> None:
    store = ListStore([trial(0, "Book 2 nights in Rome")])
    demos = act_demonstrations(BOOK, "book 2 nights in  rome", store)
    assert all(d.synthetic for d in demos)


def test_unreadable_trials_are_skipped() -> None:
    broken = trial(0, "orphaned call")
    broken.messages = broken.messages[:2]  # the tool call lost its ToolMessage
    demos = act_demonstrations(BOOK, "q", EverythingMemory([broken, trial(1, "fine")]))
    assert [d.query for d in demos] == ["fine"]


def test_memory_errors_fall_back_to_synthetic() -> None:
    class Broken:
        def search(self, *a: object, **k: object) -> list[Trial]:
            raise ConnectionError("chroma down")

    assert all(d.synthetic for d in act_demonstrations(BOOK, "x", Broken()))


def test_single_string_tool() -> None:
    demos = schema_demonstrations(ping, n=2)
    assert [_args(d) for d in demos] == [{"host": "sample host"}, {"host": "another host"}]


def test_render_text_shows_calls_results_and_kind() -> None:
    text = render_demonstrations_text(
        [
            *schema_demonstrations(ping, 1),
            *act_demonstrations(BOOK, "q", EverythingMemory([trial(0, "Book 2 nights")]), k=1),
        ]
    )
    assert "Example 1 (format example):" in text and "Example 2 (past success):" in text
    assert 'Call: ping({"host": "sample host"})' in text and "Result: booked" in text
    assert "Answer: Booked." in text


def test_example_tools_get_valid_demonstrations() -> None:
    tools: list[BaseTool] = list(example_tools())
    for target in tools:
        messages: list[BaseMessage] = []
        for demo in schema_demonstrations(target):
            messages += demo.messages
        check_tool_pairing(messages)
        assert imagine_examples(target, 2)[0] != imagine_examples(target, 2)[1]
