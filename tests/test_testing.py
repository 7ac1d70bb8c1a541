"""The scripted fakes route by graph node and know their unit's target tool, not prompt text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.tools import StructuredTool

from langchain_ste.explore import ExplorePrompts, ExploreSettings, explore
from langchain_ste.testing import ScriptedChatModel, ScriptedExplorer

ONE_TRIAL = ExploreSettings(episodes_per_tool=1, trials_per_episode=1)


def test_by_node_scripts_survive_any_prompt_edit() -> None:
    def answer(messages: list[BaseMessage], tools: list[str]) -> Any:
        return "no tool needed"

    model = ScriptedChatModel(
        by_node={"imagine": ["What is 2+2?"], "act": answer, "reflect": ["Verdict: yes"]}
    )
    reworded = replace(
        ExplorePrompts(), imagine_system="Invent a question for {target}.", reflect_system="Judge."
    )
    echo = StructuredTool.from_function(lambda text: text, name="echo", description="Echo.")
    trials = explore(model, [echo], settings=ONE_TRIAL, prompts=reworded)
    assert trials[0].query == "What is 2+2?"
    assert trials[0].final_answer == "no tool needed" and trials[0].success
    assert [c["node"] for c in model.calls] == ["imagine", "act", "reflect"]


def test_calls_outside_a_graph_use_the_plain_script() -> None:
    model = ScriptedChatModel(script=["plain"], by_node={"act": ["routed"]})
    assert model.invoke("hi").text == "plain"
    assert model.calls[0]["node"] is None


def test_scripted_explorer_calls_its_units_target_even_with_a_shared_description_prefix() -> None:
    ran: list[str] = []

    def make(name: str) -> StructuredTool:
        def fn(order_id: str) -> str:
            ran.append(name)
            return f"{name} done for {order_id}"

        # Same first 30+ characters: matching descriptions cannot tell these apart.
        return StructuredTool.from_function(
            fn, name=name, description=f"Manage a customer order in the shop: {name}."
        )

    tools = [make("get_order"), make("cancel_order"), make("refund_order")]
    trials = explore(ScriptedExplorer(), tools, settings=ONE_TRIAL)
    assert [(t.tools, [s.tool for s in t.steps]) for t in trials] == [
        (["cancel_order"], ["cancel_order"]),
        (["get_order"], ["get_order"]),
        (["refund_order"], ["refund_order"]),
    ]
    assert sorted(ran) == ["cancel_order", "get_order", "refund_order"]
    assert all(t.signals["called_target"] for t in trials)


def test_scripted_explorer_requests_name_the_target_tools_description() -> None:
    from langchain_ste.tools.examples import example_tools

    settings = ExploreSettings(episodes_per_tool=1, trials_per_episode=2)
    trials = explore(ScriptedExplorer(), example_tools(), settings=settings)
    by_tool = {t.name: t.description for t in example_tools()}
    for trial in trials:
        number, _, gist = trial.query.partition(": ")
        assert number in ("Request 1", "Request 2")
        described = " ".join(by_tool[trial.tools[0]].split())
        assert len(gist) > 20 and described.startswith(gist)  # not the imagine prompt
