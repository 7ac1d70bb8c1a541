"""Schema-derived demonstrations validate against the tool's schema; bootstrapping takes over."""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool, tool
from pydantic import BaseModel, Field

from langchain_ste.coldstart import (
    act_demonstrations,
    example_value,
    imagine_examples,
    schema_demonstrations,
)
from langchain_ste.example_tools import example_tools
from langchain_ste.explore.store import ListStore
from langchain_ste.trial import Step, Trial, check_tool_pairing, trajectory_to_dicts


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


def book(**kwargs: object) -> str:
    return "ok"


BOOK = StructuredTool.from_function(book, name="book_room", description="Book a hotel room.",
                                    args_schema=Booking)


@pytest.mark.parametrize("target", [BOOK, *example_tools()])
def test_demonstrations_validate_against_the_tools_schema(target: StructuredTool) -> None:
    demos = schema_demonstrations(target, n=2)
    assert len(demos) == 2
    for i, demo in enumerate(demos):
        args = demo.messages[1].tool_calls[0]["args"]
        target.tool_call_schema.model_validate(args)
        assert demo.synthetic and demo.id == f"synthetic:{target.name}:{i}"
        assert demo.query.startswith("[format example]")
        check_tool_pairing(demo.messages)
    assert demos[0].messages[1].tool_calls[0]["args"] != demos[1].messages[1].tool_calls[0]["args"]


def test_every_json_type_gets_a_value() -> None:
    args = schema_demonstrations(BOOK, n=2)[1].messages[1].tool_calls[0]["args"]
    assert isinstance(args["nights"], int) and 1 <= args["nights"] <= 30
    assert isinstance(args["budget"], float) and args["budget"] > 0
    assert isinstance(args["breakfast"], bool)
    assert args["room"] in ("single", "double", "suite")
    assert isinstance(args["tags"], list) and isinstance(args["address"]["city"], str)
    assert "@" in args["guest_email"]
    assert example_value({"type": "integer", "exclusiveMinimum": 0}) > 0
    assert example_value({"type": "number", "maximum": 1.5}) <= 1.5


def test_demonstrations_are_deterministic() -> None:
    a = schema_demonstrations(BOOK)
    b = schema_demonstrations(BOOK)
    assert [d.messages[1].tool_calls for d in a] == [d.messages[1].tool_calls for d in b]
    assert imagine_examples(BOOK) == imagine_examples(BOOK)


def trial(idx: int, query: str, success: bool = True, clean: bool = True) -> Trial:
    call = {"name": "book_room", "args": {"nights": 2}, "id": "x", "type": "tool_call"}
    msgs = [HumanMessage(query), AIMessage("", tool_calls=[call]),
            ToolMessage("booked", tool_call_id="x"), AIMessage("Booked.")]
    step = Step(tool="book_room", args={"nights": 2}, call_id="x", output="booked",
                status="ok" if clean else "error")
    return Trial(trial_id=f"book_room/e000/t{idx}", tools=["book_room"], episode=0, index=idx,
                 query=query, messages=trajectory_to_dicts(msgs), steps=[step], success=success)


def test_bootstrapping_switches_to_successful_clean_trials() -> None:
    store = ListStore()
    assert all(d.synthetic for d in act_demonstrations(BOOK, "a room", store))
    store.add([trial(0, "failed one", success=False), trial(1, "unclean", clean=False)])
    assert all(d.synthetic for d in act_demonstrations(BOOK, "a room", store))
    store.add([trial(2, "Book 2 nights in Rome")])
    demos = act_demonstrations(BOOK, "a room for 3 nights", store)
    assert [d.id for d in demos] == ["book_room/e000/t2"] and not demos[0].synthetic
    assert demos[0].messages[1].tool_calls[0]["id"] == "demo0_0"


def test_exemplars_never_include_the_trials_own_query() -> None:
    store = ListStore([trial(0, "Book 2 nights in Rome")])
    demos = act_demonstrations(BOOK, "book 2 nights in  rome", store)
    assert all(d.synthetic for d in demos)


def test_memory_errors_fall_back_to_synthetic() -> None:
    class Broken:
        def search(self, *a: object, **k: object) -> list[Trial]:
            raise ConnectionError("chroma down")

    assert all(d.synthetic for d in act_demonstrations(BOOK, "x", Broken()))  # type: ignore[arg-type]


@tool
def ping(host: str) -> str:
    """Ping a host."""
    return "pong"


def test_single_string_tool() -> None:
    demos = schema_demonstrations(ping, n=2)
    assert demos[0].messages[1].tool_calls[0]["args"] == {"host": "sample host"}
