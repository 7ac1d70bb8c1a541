"""Fine-tuning: trials -> SFT dataset -> LoRA adapter, with experience replay across rounds."""

from __future__ import annotations

from langchain_ste.finetune.dataset import (
    DatasetStats,
    build_sft_records,
    read_jsonl,
    split,
    trial_to_record,
    write_jsonl,
)
from langchain_ste.finetune.replay import replay_mix

__all__ = [
    "DatasetStats",
    "build_sft_records",
    "merge_adapter",
    "read_jsonl",
    "replay_mix",
    "split",
    "train_lora",
    "trial_to_record",
    "write_jsonl",
]


def __getattr__(name: str) -> object:
    # torch and peft load only when training is used
    if name in ("train_lora", "merge_adapter", "TrainReport"):
        from langchain_ste.finetune import lora

        return getattr(lora, name)
    raise AttributeError(name)
