"""Native tool calling through a Qwen2.5 chat template: a tiny random Qwen2 and the real 0.5B."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_ste.models import load_chat_model
from langchain_ste.models.loading import resolve_model_path
from langchain_ste.models.local import ChatLocalHF
from langchain_ste.tools.examples import example_tools

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised two-layer Qwen2 with the real Qwen2.5 tokenizer and template."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("local")[0])
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
    )
    folder = tmp_path_factory.mktemp("tiny-qwen")
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_tools_render_through_the_models_own_template(tiny_qwen: Path) -> None:
    model = ChatLocalHF(model_path=str(tiny_qwen), max_new_tokens=4)
    assert model.tool_protocol() == "native"
    call = {
        "name": "convert_units",
        "args": {"value": 1, "from_unit": "km", "to_unit": "m"},
        "id": "c1",
        "type": "tool_call",
    }
    history = [
        HumanMessage("1 km in m?"),
        AIMessage("", tool_calls=[call]),
        ToolMessage("1 km = 1000 m", tool_call_id="c1"),
    ]
    from langchain_ste.models.schemas import tool_schemas

    prompt = model._render(history, tool_schemas(example_tools()))
    assert "<tools>" in prompt and '"name": "convert_units"' in prompt
    assert '<tool_call>\n{"name": "convert_units", "arguments": {"value": 1' in prompt
    assert "<tool_response>\n1 km = 1000 m\n</tool_response>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_random_weights_give_a_message_never_an_exception(tiny_qwen: Path) -> None:
    bound = ChatLocalHF(model_path=str(tiny_qwen), max_new_tokens=6).bind_tools(example_tools())
    reply = bound.invoke("How many cm are 3 inches?")
    assert isinstance(reply, AIMessage)
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] <= 6
    assert reply.response_metadata["tool_protocol"] == "native"


def test_canned_completions_are_parsed_into_calls(
    tiny_qwen: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = iter(
        [
            '<tool_call>\n{"name": "convert_units", "arguments": {"value": 3, "from_unit": "in", '
            '"to_unit": "cm"}}\n</tool_call>',
            '<tool_call>\n{"name": "teleport", "arguments": {}}\n</tool_call>',
        ]
    )
    prompts: list[str] = []

    def complete(
        self: ChatLocalHF, prompt: str, stop: Any, prefix: str = "", sampling: Any = None
    ) -> AIMessage:
        prompts.append(prompt)
        return AIMessage(next(replies), response_metadata={"model_name": "tiny"})

    monkeypatch.setattr(ChatLocalHF, "_complete", complete)
    bound = ChatLocalHF(model_path=str(tiny_qwen)).bind_tools(example_tools())
    good = bound.invoke("3 inches in cm?")
    assert good.tool_calls[0]["args"] == {"value": 3, "from_unit": "in", "to_unit": "cm"}
    bad = bound.invoke("teleport me")
    assert "unknown tool 'teleport'" in str(bad.invalid_tool_calls[0]["error"])
    assert all("<tools>" in p for p in prompts)
    react = ChatLocalHF(model_path=str(tiny_qwen), protocol="react")
    assert react.tool_protocol() == "react"


def test_the_embedded_learner_calls_a_tool_for_a_simple_request() -> None:
    model = load_chat_model("local", max_new_tokens=64)
    reply = model.bind_tools(example_tools()).invoke("How many centimeters are 3 inches?")
    assert reply.tool_calls, reply.content
    call = reply.tool_calls[0]
    assert call["name"] == "convert_units"
    assert call["args"]["from_unit"] == "in" and call["args"]["to_unit"] == "cm"
    assert float(call["args"]["value"]) == 3.0
