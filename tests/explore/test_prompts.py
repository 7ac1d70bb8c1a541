"""Exploration's prompts are one typed set: every template, the emulator's included, overrides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import StructuredTool

from langchain_ste.explore import ExploreSettings, explore
from langchain_ste.explore.prompts import DEFAULT_PROMPTS, ExplorePrompts
from langchain_ste.explore.reflect import reflect_on, render_transcript
from langchain_ste.testing import ScriptedChatModel
from langchain_ste.tools.execution import EMULATE_TOOL_SYSTEM
from langchain_ste.tools.policy import ToolPolicy
from langchain_ste.trajectory import Step


def test_every_default_template_formats_with_its_documented_fields() -> None:
    fields = {
        "imagine_system": {"target": "t", "description": "d", "inputs": "i"},
        "imagine_examples": {"examples": "e"},
        "imagine_past": {"queries": "q"},
        "imagine_short_term": {"trials": "t"},
        "parse_error_feedback": {"error": "e"},
        "retry_nudge": {"error": "e"},
        "reflect_system": {"query": "q", "transcript": "t", "answer": "a"},
        "reflect_human": {"query": "q", "transcript": "t", "answer": "a"},
        "emulate_tool_system": {"name": "n", "description": "d", "schema": "{}"},
    }
    for name, value in vars(DEFAULT_PROMPTS).items():
        assert value.format(**fields.get(name, {})), name
    assert DEFAULT_PROMPTS.emulate_tool_system == EMULATE_TOOL_SYSTEM


def test_overridden_prompts_reach_the_explorer_the_emulator_and_the_judge() -> None:
    def send(text: str) -> str:
        return "sent"

    mailer = StructuredTool.from_function(send, name="send_mail", description="Send a mail.")
    call = {"name": "send_mail", "args": {"text": "hi"}, "id": "c1", "type": "tool_call"}
    replies = iter(["Mail Bob hi", AIMessage("", tool_calls=[call]), "Sent.", "Verdict: yes"])

    def script(messages: list[BaseMessage], tools: list[str]) -> Any:
        return next(replies)

    prompts = replace(
        ExplorePrompts(),
        imagine_human="IMAGINE-HUMAN",
        act_system="ACT-SYSTEM",
        reflect_human="REFLECT-HUMAN",
        emulate_tool_system="EMULATE {name}",
    )
    model = ScriptedChatModel(script=script)
    emulator = ScriptedChatModel(script=["queued"])
    trials = explore(
        model,
        [mailer],
        settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
        policy=ToolPolicy(tools={"send_mail": "emulate"}),
        emulator=emulator,
        prompts=prompts,
    )
    seen = [[m.text for m in c["messages"]] for c in model.calls]
    assert seen[0][1] == "IMAGINE-HUMAN"
    assert seen[1][0] == "ACT-SYSTEM"
    assert seen[-1][-1] == "REFLECT-HUMAN"
    assert emulator.calls[0]["messages"][0].text == "EMULATE send_mail"
    assert isinstance(model.calls[2]["messages"][-1], ToolMessage)
    assert trials[0].steps[0].status == "emulated" and trials[0].success


def test_reflect_on_uses_the_given_prompt_set_and_one_transcript() -> None:
    step = Step(tool="add", args={"a": 1}, call_id="c1", output="1")
    judge = ScriptedChatModel(script=["Verdict: no\nLesson: give b."])
    prompts = replace(ExplorePrompts(), reflect_system="Q={query}\n{transcript}\nA={answer}")
    assert reflect_on(judge, "1+?", [step], "", prompts=prompts) == (False, "give b.")
    system = judge.calls[0]["messages"][0].text
    assert system == f"Q=1+?\n{render_transcript([step])}\nA=(none)"
