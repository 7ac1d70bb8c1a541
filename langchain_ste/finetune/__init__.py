"""Fine-tuning: trials -> SFT dataset -> LoRA adapter, with experience replay across rounds.

torch, transformers and peft load only when training is used (`train_lora`, `merge_adapter`,
`train_rounds`); building and exporting datasets needs none of them.
"""

from __future__ import annotations

from typing import Any

from langchain_ste.finetune.dataset import (
    DatasetStats,
    build_sft_records,
    export_dataset,
    read_jsonl,
    split,
    supports_native_tools,
    trial_to_record,
    write_jsonl,
)
from langchain_ste.finetune.replay import replay_mix, train_rounds
from langchain_ste.finetune.schemas import infer_tool_schemas

__all__ = [
    "DatasetStats",
    "LoraSettings",
    "TrainReport",
    "build_sft_records",
    "export_dataset",
    "infer_tool_schemas",
    "merge_adapter",
    "read_jsonl",
    "replay_mix",
    "split",
    "supports_native_tools",
    "train_lora",
    "train_rounds",
    "trial_to_record",
    "write_jsonl",
]


def __getattr__(name: str) -> Any:
    if name in ("LoraSettings", "train_lora", "merge_adapter", "TrainReport"):
        from langchain_ste.finetune import lora

        return getattr(lora, name)
    if name == "tokenize_record":
        from langchain_ste.finetune import masking

        return masking.tokenize_record
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
