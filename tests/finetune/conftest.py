"""Hand-made trials of the example tools, a tiny random Llama model and the real tokenizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_ste.tools.examples import convert_units, search_catalog
from langchain_ste.trajectory import trajectory_to_dicts
from langchain_ste.trial import Trial

TOOLS = {"convert_units": convert_units, "search_catalog": search_catalog}

CALLS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "How many meters are in 3 km?",
        "convert_units",
        {"value": 3, "from_unit": "km", "to_unit": "m"},
    ),
    (
        "Convert 10 lb to kg please",
        "convert_units",
        {"value": 10, "from_unit": "lb", "to_unit": "kg"},
    ),
    (
        "What is 100 F in Celsius?",
        "convert_units",
        {"value": 100, "from_unit": "F", "to_unit": "C"},
    ),
    ("Do you sell a yoga mat?", "search_catalog", {"query": "yoga mat"}),
    (
        "Kitchen items under $50?",
        "search_catalog",
        {"query": "kitchen", "category": "kitchen", "max_price": 50},
    ),
    ("Find me headphones", "search_catalog", {"query": "headphones", "limit": 1}),
]


def make_trial(
    query: str,
    tool: str,
    args: dict[str, Any],
    *,
    index: int = 0,
    success: bool = True,
    error_step: bool = False,
    extra: dict[str, Any] | None = None,
) -> Trial:
    """A finished trial: one real call of an example tool, then an answer quoting its result."""
    output = "boom" if error_step else str(TOOLS[tool].invoke(args))
    call_id = f"call_{index}"
    call = {"name": tool, "args": args, "id": call_id, "type": "tool_call"}
    messages = [
        HumanMessage(query),
        AIMessage("", tool_calls=[call]),
        ToolMessage(output, tool_call_id=call_id, status="error" if error_step else "success"),
        AIMessage(f"Result: {output}"),
    ]
    return Trial(
        trial_id=f"{tool}/e000/t{index}",
        tools=[tool],
        episode=0,
        index=index,
        query=query,
        messages=trajectory_to_dicts(messages),
        success=success,
        extra=dict(extra or {}),
    )


@pytest.fixture
def trials() -> list[Trial]:
    """Six successful trials, three per example tool."""
    return [make_trial(q, tool, args, index=i) for i, (q, tool, args) in enumerate(CALLS)]


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    """The embedded model's tokenizer (ChatML template), from the local cache."""
    from transformers import AutoTokenizer

    from langchain_ste.models.loading import resolve_model_path

    return AutoTokenizer.from_pretrained(resolve_model_path("local:smollm2-135m")[0])


@pytest.fixture
def tiny_model(tokenizer: Any) -> Callable[[], Any]:
    """A factory of fresh tiny random Llama models (about 6M parameters) for that tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    def make() -> Any:
        torch.manual_seed(0)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            # wide enough that LoRA on the blocks moves the logits (TRL refuses LoRA on lm_head)
            initializer_range=0.2,
        )
        model = LlamaForCausalLM(config)
        model.name_or_path = "tiny-llama"
        return model

    return make
