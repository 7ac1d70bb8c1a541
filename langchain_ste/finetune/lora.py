"""LoRA fine-tuning with PEFT and the transformers `Trainer`.

We use the plain `Trainer` with our own tokenisation rather than TRL's `SFTTrainer`: the records
are already rendered in the model's tool format (see `dataset.py`), the assistant-only loss mask is
computed from the chat template turn by turn, and on these CPUs the extra machinery measured
slower (NOTES: 2.4 s/step for SFTTrainer vs 1.6 s/step for a plain loop). `Trainer` still gives
gradient accumulation, seeding, bf16 on GPUs, a progress bar and logs.

Length bucketing (``bucket=True``) sorts examples into batches of similar length so padding does
not waste compute; ``packing=True`` concatenates examples into full-length sequences instead.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
IGNORE = -100


@dataclass
class TrainReport:
    """What a training run did (also saved as ``train_report.json`` next to the adapter)."""

    base_model: str
    adapter_dir: str
    examples: int
    steps: int
    epochs: float
    loss_curve: list[float] = field(default_factory=list)
    train_tokens: int = 0
    seconds: float = 0.0
    tokens_per_s: float = 0.0
    peak_rss_mb: float = 0.0
    device: str = "cpu"
    skipped: dict[str, int] = field(default_factory=dict)


def tokenize_record(
    record: dict[str, Any], tokenizer: Any, max_length: int | None = None
) -> dict[str, list[int]] | None:
    """Token ids and labels for one chat record; only assistant turns carry labels.

    Returns None when the record is longer than ``max_length`` (the caller counts it).

    Example:
        >>> from transformers import AutoTokenizer  # doctest: +SKIP
    """
    messages = record["messages"]
    ids: list[int] = []
    labels: list[int] = []
    previous = ""
    for i, message in enumerate(messages):
        is_assistant = message["role"] == "assistant"
        if is_assistant:
            head = str(tokenizer.apply_chat_template(messages[:i], tokenize=False,
                                                     add_generation_prompt=True))
            piece = head[len(previous):]
            piece_ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
            ids += piece_ids
            labels += [IGNORE] * len(piece_ids)
            previous = head
        text = str(tokenizer.apply_chat_template(messages[: i + 1], tokenize=False))
        if not text.startswith(previous):
            raise ValueError("the chat template is not prefix-stable; cannot mask turns")
        piece_ids = tokenizer(text[len(previous):], add_special_tokens=False)["input_ids"]
        ids += piece_ids
        labels += piece_ids if is_assistant else [IGNORE] * len(piece_ids)
        previous = text
    if max_length is not None and len(ids) > max_length:
        return None
    return {"input_ids": ids, "labels": labels}


def _pack(examples: list[dict[str, list[int]]], length: int) -> list[dict[str, list[int]]]:
    packed: list[dict[str, list[int]]] = []
    cur: dict[str, list[int]] = {"input_ids": [], "labels": []}
    for ex in examples:
        if cur["input_ids"] and len(cur["input_ids"]) + len(ex["input_ids"]) > length:
            packed.append(cur)
            cur = {"input_ids": [], "labels": []}
        cur["input_ids"] += ex["input_ids"]
        cur["labels"] += ex["labels"]
    if cur["input_ids"]:
        packed.append(cur)
    return packed


class _Collator:
    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(b["input_ids"]) for b in batch)
        ids = [b["input_ids"] + [self.pad_id] * (width - len(b["input_ids"])) for b in batch]
        labels = [b["labels"] + [IGNORE] * (width - len(b["labels"])) for b in batch]
        mask = [[1] * len(b["input_ids"]) + [0] * (width - len(b["input_ids"])) for b in batch]
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels),
                "attention_mask": torch.tensor(mask)}


def train_lora(
    records: Sequence[dict[str, Any]],
    *,
    out_dir: str | os.PathLike[str],
    base: str = "local",
    model: Any = None,
    tokenizer: Any = None,
    adapter: str | None = None,
    r: int = 8,
    alpha: int = 16,
    dropout: float = 0.05,
    target_modules: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj"),
    epochs: float = 1.0,
    max_steps: int | None = None,
    lr: float = 2e-4,
    batch_size: int = 4,
    grad_accum: int = 1,
    max_length: int = 1024,
    packing: bool = False,
    bucket: bool = True,
    seed: int = 0,
    device: str | None = None,
    progress: bool = True,
) -> TrainReport:
    """Train a LoRA adapter on chat records (from `build_sft_records`) and save it.

    Args:
        records: ``{"messages": [...]}`` records in the model's format.
        out_dir: where the adapter and ``train_report.json`` go.
        base: the base model spec for `load_hf_model` (``"local"`` = embedded SmolLM2).
        model: an already loaded base model (instead of ``base``), e.g. a tiny test model.
        tokenizer: its tokenizer (with ``model``).
        adapter: continue training this adapter (continual learning) instead of a new one.
        r: LoRA rank.
        alpha: LoRA alpha.
        dropout: LoRA dropout.
        target_modules: the modules LoRA adapts.
        epochs: passes over the data (ignored when ``max_steps`` is set).
        max_steps: optimisation steps.
        lr: learning rate.
        batch_size: examples per device batch.
        grad_accum: gradient accumulation steps.
        max_length: longer examples are skipped and counted, never truncated.
        packing: concatenate examples into sequences of up to ``max_length`` tokens.
        bucket: batch examples of similar length together.
        seed: seed for everything random.
        device: ``"cpu"``, ``"cuda"``... (default: best available).
        progress: show a progress bar.

    Raises:
        ValueError: no records, or every record is longer than ``max_length``.

    Example:
        >>> report = train_lora(records, out_dir="adapter", max_steps=20)  # doctest: +SKIP
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import TrainingArguments, set_seed

    from langchain_ste.local_model import _load_fresh, pick_device

    if not records:
        raise ValueError("no training records")
    set_seed(seed)
    device = pick_device(device)
    if model is None:
        # fp32 master weights on CPU; bf16 where the accelerator supports it
        model, tokenizer = _load_fresh(base, device=device,
                                       dtype=None if device.startswith("cuda") else "float32")
    assert tokenizer is not None
    examples, skipped = [], 0
    for record in records:
        tokens = tokenize_record(record, tokenizer, max_length)
        if tokens is None:
            skipped += 1
        else:
            examples.append(tokens)
    if not examples:
        raise ValueError(f"all {len(records)} records are longer than max_length={max_length}")
    if skipped:
        logger.warning("skipped %d records longer than %d tokens", skipped, max_length)
    if packing:
        examples = _pack(examples, max_length)
    if adapter:
        peft_model = PeftModel.from_pretrained(model, adapter, is_trainable=True)
    else:
        config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                            target_modules=list(target_modules), task_type="CAUSAL_LM")
        peft_model = get_peft_model(model, config)
    bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
    args = TrainingArguments(
        output_dir=str(Path(out_dir) / "checkpoints"), per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum, learning_rate=lr, num_train_epochs=epochs,
        max_steps=max_steps if max_steps is not None else -1, logging_steps=1,
        save_strategy="no", report_to=[], seed=seed, data_seed=seed, bf16=bf16,
        use_cpu=device == "cpu", disable_tqdm=not progress, remove_unused_columns=False,
        train_sampling_strategy="group_by_length" if bucket and not packing else "random",
        dataloader_pin_memory=False,
    )
    trainer = _trainer_class()(
        model=peft_model, args=args, train_dataset=_ListDataset(examples),
        data_collator=_Collator(tokenizer.pad_token_id or tokenizer.eos_token_id))
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    steps = trainer.state.global_step
    per_step = batch_size * grad_accum
    tokens = sum(len(e["input_ids"]) for e in examples)
    epochs_done = steps * per_step / max(len(examples), 1)
    out = Path(out_dir)
    peft_model.save_pretrained(out, save_embedding_layers=False)
    tokenizer.save_pretrained(out)
    report = TrainReport(
        base_model=str(getattr(model, "name_or_path", base)), adapter_dir=str(out),
        examples=len(examples), steps=steps, epochs=round(epochs_done, 3),
        loss_curve=[float(h["loss"]) for h in trainer.state.log_history if "loss" in h],
        train_tokens=int(tokens * epochs_done), seconds=round(seconds, 2),
        tokens_per_s=round(tokens * epochs_done / seconds, 1) if seconds else 0.0,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        device=device, skipped={"longer than max_length": skipped} if skipped else {},
    )
    (out / "train_report.json").write_text(json.dumps(asdict(report), indent=2))
    return report


def assistant_only_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Causal-LM loss computed from the labelled positions only.

    The vocabulary projection (49k x 576 for SmolLM2) runs only where a label exists, i.e. on the
    assistant turns, not on the long tool-rendering prompt: same loss as the model's own, much
    less compute and memory.
    """
    import torch.nn.functional as F

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = base.model(input_ids=batch["input_ids"],
                        attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    logits = base.lm_head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), labels[keep])


def _trainer_class() -> Any:
    from transformers import Trainer

    class AssistantOnlyTrainer(Trainer):
        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            loss = assistant_only_loss(model, inputs)
            return (loss, None) if return_outputs else loss

    return AssistantOnlyTrainer


class _ListDataset:
    """A list as a torch-style dataset (with lengths for length bucketing)."""

    def __init__(self, items: list[dict[str, list[int]]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.items[i]


def merge_adapter(adapter_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                  base: str = "local") -> Path:
    """Merge a LoRA adapter into its base model and save a full model folder.

    The folder loads like any model: ``load_chat_model(str(out_dir))``.
    """
    from langchain_ste.local_model import _load_fresh

    model, tokenizer = _load_fresh(base, device="cpu", adapter=str(adapter_dir))
    merged = model.merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    base_id = getattr(merged, "name_or_path", base)
    (out / "ste_source.json").write_text(json.dumps({"base_model": base_id,
                                                     "adapter": str(adapter_dir)}))
    return out
