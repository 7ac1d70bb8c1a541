"""The embedded SmolLM2 model: loads from the installed wheel offline, generates, binds tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_ste.example_tools import example_tools
from langchain_ste.local_model import (
    SMOLLM2_ID,
    AdapterMismatchError,
    ChatLocalHF,
    _cut_at_stop,
    _load_adapter,
    locate_smollm2_gguf,
)

pytestmark = pytest.mark.integration


def test_gguf_is_found_in_the_installed_wheel() -> None:
    path = locate_smollm2_gguf()
    assert path.is_file() and path.stat().st_size > 50_000_000
    assert "site-packages" in str(path)


def test_generates_text_offline_with_usage(local_chat_model: ChatLocalHF) -> None:
    reply = local_chat_model.invoke([HumanMessage("What is the capital of France?")])
    assert isinstance(reply, AIMessage) and reply.text.strip()
    usage = reply.usage_metadata
    assert usage and usage["input_tokens"] > 5 and 0 < usage["output_tokens"] <= 64
    assert reply.response_metadata["model_name"] == SMOLLM2_ID


def test_stop_sequences_cut_generation(local_chat_model: ChatLocalHF) -> None:
    reply = local_chat_model.invoke("Count from 1 to 20, separated by commas.", stop=["5"])
    assert "5" not in reply.text and "6" not in reply.text
    assert _cut_at_stop("a STOP b", ["STOP"]) == "a "


def test_bind_tools_yields_calls_or_invalid_calls(local_chat_model: ChatLocalHF) -> None:
    bound = local_chat_model.bind_tools(example_tools())
    demo = [
        HumanMessage("Convert 2 km to m."),
        AIMessage("", tool_calls=[{"name": "convert_units", "id": "d1", "type": "tool_call",
                                   "args": {"value": 2, "from_unit": "km", "to_unit": "m"}}]),
    ]
    from langchain_core.messages import ToolMessage

    history = [*demo, ToolMessage("2 km = 2000 m", tool_call_id="d1"),
               AIMessage("2 km is 2000 m."), HumanMessage("Convert 5 kg to lb.")]
    reply = bound.invoke(history)
    assert reply.response_metadata["react"] in ("action", "final", "invalid", "unformatted")
    assert reply.tool_calls or reply.invalid_tool_calls or reply.text
    for call in reply.tool_calls:
        assert call["name"] in ("convert_units", "search_catalog") and call["id"]


def test_canned_reply_goes_through_the_same_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ChatLocalHF()
    canned = iter(['Action: convert_units\nAction Input: {"value": 1, "from_unit": "m", '
                   '"to_unit": "cm"}', "Action: teleport\nAction Input: {}"])
    monkeypatch.setattr(ChatLocalHF, "_generate_text",
                        lambda self, messages, stop: AIMessage(next(canned)))
    bound = model.bind_tools(example_tools())
    good = bound.invoke("1 m in cm?")
    assert good.tool_calls[0]["args"] == {"value": 1, "from_unit": "m", "to_unit": "cm"}
    bad = bound.invoke("teleport me")
    assert not bad.tool_calls and "unknown tool 'teleport'" in bad.invalid_tool_calls[0]["error"]


def test_adapter_for_another_base_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "meta-llama/Llama-3-8B", "peft_type": "LORA"}))
    with pytest.raises(AdapterMismatchError, match="trained on 'meta-llama/Llama-3-8B'"):
        _load_adapter(object(), str(tmp_path), SMOLLM2_ID)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="not a LoRA adapter"):
        _load_adapter(object(), str(tmp_path / "missing"), SMOLLM2_ID)  # type: ignore[arg-type]
