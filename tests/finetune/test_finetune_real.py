"""A real LoRA run on the embedded SmolLM2: the loss falls and the adapter speaks ReAct."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_ste.finetune import LoraSettings, build_sft_records, train_lora
from langchain_ste.tools.examples import convert_units
from langchain_ste.trial import Trial


@pytest.mark.integration
def test_real_lora_lowers_loss_and_the_adapter_reloads_into_a_tool_call(
    trials: list[Trial], tmp_path: Path
) -> None:
    from langchain_ste.models import load_chat_model
    from langchain_ste.models.embedded import EMBEDDED, TINY

    # one tool keeps the prompt short: 6 steps of 3 examples take ~25 s on 2 cores
    records, _ = build_sft_records(trials[:3], [convert_units])
    adapter = tmp_path / "adapter"
    report = train_lora(
        records,
        out_dir=adapter,
        base=f"local:{TINY}",
        settings=LoraSettings(max_steps=6, batch_size=3, lr=3e-3, seed=0),
        device="cpu",
        progress=False,
    )
    first, last = report.loss_curve[:2], report.loss_curve[-2:]
    assert sum(last) < 0.5 * sum(first), report.loss_curve
    assert report.base_model == EMBEDDED[TINY].repo_id
    model = load_chat_model(f"local:{TINY}+adapter={adapter}", max_new_tokens=40)
    reply = model.bind_tools([convert_units]).invoke("How many grams are in 2 kg?")
    assert reply.tool_calls or reply.invalid_tool_calls, reply.content
    assert [c["name"] for c in reply.tool_calls + reply.invalid_tool_calls] == ["convert_units"]
