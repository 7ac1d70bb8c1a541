"""`ste demo`: asks held-out questions, prints raw replies, parsed calls and real tool results."""

from __future__ import annotations

import doctest

import pytest
from typer.testing import CliRunner

from langchain_ste import models
from langchain_ste.cli import app
from langchain_ste.cli import demo as demo_module
from langchain_ste.example_tools import HELD_OUT_QUESTIONS
from langchain_ste.react_model import ReActChatModel
from langchain_ste.testing import ScriptedChatModel


def test_demo_prints_reply_call_and_real_result(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = ScriptedChatModel(
        script=[
            "Thought: convert\nAction: convert_units\n"
            'Action Input: {"value": 3, "from_unit": "in", "to_unit": "cm"}',
            "Action: teleport\nAction Input: {}",
        ]
    )
    specs: list[str] = []

    def fake_load(spec: str, **kwargs: object) -> ReActChatModel:
        specs.append(spec)
        return ReActChatModel(inner=inner)

    monkeypatch.setattr(models, "load_chat_model", fake_load)
    result = CliRunner().invoke(app, ["demo", "--model", "openai:x", "--questions", "2"])
    assert result.exit_code == 0, result.output
    assert specs == ["openai:x"]
    assert HELD_OUT_QUESTIONS[0]["question"] in result.output
    assert "tool call: convert_units({'value': 3, 'from_unit': 'in', 'to_unit': 'cm'})" in (
        result.output
    )
    assert "tool result: 3 in = 7.62 cm" in result.output
    assert "invalid tool call: teleport -> unknown tool 'teleport'" in result.output
    first = inner.calls[0]["messages"]
    assert first[0].type == "system" and first[-1].text == HELD_OUT_QUESTIONS[0]["question"]
    assert any("[format example]" in m.text for m in first)  # worked examples come first


def test_docstring_examples_run() -> None:
    assert doctest.testmod(demo_module, raise_on_error=False).failed == 0
