"""LoRA fine-tuning with PEFT and TRL's `SFTTrainer`.

`train_lora(records, settings=LoraSettings(...))`: every training option lives in one settings
value, recorded as is (`dataclasses.asdict`) in the run's ``train_report.json``.

The records are already rendered in the model's tool format (see `dataset.py`); they are
tokenised here with an assistant-only loss mask and handed to `SFTTrainer` pre-tokenised
(``input_ids`` + ``labels``), which then does the rest: the PEFT wrapping (``peft_config``), the
collation, the training loop, TRL's fused loss over labelled tokens, the logs. The mask is ours
because TRL's own ``assistant_only_loss`` needs ``{% generation %}`` markers in the chat
template, and neither the SmolLM2 nor the Qwen2.5 template has them: `masking` finds each
assistant turn by rendering the conversation up to it, which works for any prefix-stable
template.

Length bucketing (``bucket=True``, the default) batches examples of similar length together so
padding does not waste compute; ``packing=True`` concatenates examples into sequences of up to
``max_length`` tokens instead (`pack_examples`; no padding at all, attention then spans
neighbouring examples, as in TRL's classic packing). TRL's own packing is not used: its ``bfd``
strategy is padding-free, which keeps examples apart only with FlashAttention (absent on CPUs),
and ``wrapped`` cuts examples mid-turn. Records longer than ``max_length`` are skipped and
counted, never truncated. The adapter folder holds ``adapter_config.json`` (with the base model
id in ``base_model_name_or_path``, checked when it is loaded), the tokenizer and
``train_report.json``.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from langchain_ste.finetune.masking import (
    assistant_only_loss,
    pack_examples,
    tokenize_record,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoraSettings:
    """Every option of a LoRA training run (override fields with `dataclasses.replace`).

    Attributes:
        r: LoRA rank.
        alpha: LoRA alpha.
        dropout: LoRA dropout.
        target_modules: the modules LoRA adapts (not ``lm_head``: `SFTTrainer` refuses it).
        epochs: passes over the data (ignored when ``max_steps`` is set).
        max_steps: optimisation steps (None: as many as ``epochs`` take).
        lr: learning rate.
        batch_size: examples per device batch.
        grad_accum: gradient accumulation steps (the loss is averaged over all labelled tokens
            of the accumulated batch).
        max_length: longer examples are skipped and counted, never truncated.
        packing: concatenate examples into sequences of up to ``max_length`` tokens.
        bucket: batch examples of similar length together (when not packing).
        seed: seed for everything random (initialisation, order, dropout).
        bf16: mixed precision in bf16 (None: on CUDA devices that support it).
        save_steps: checkpoint every this many steps (the adapter, optimiser, scheduler and RNG
            states, in ``out_dir/checkpoints``), so a run interrupted on the same records and
            settings resumes from its last complete checkpoint; None: never.

    Example:
        >>> from dataclasses import asdict, replace
        >>> quick = replace(LoraSettings(), max_steps=20, lr=1e-3)
        >>> quick.r, quick.max_steps, asdict(quick)["target_modules"]
        (8, 20, ('q_proj', 'k_proj', 'v_proj', 'o_proj'))
    """

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    epochs: float = 1.0
    max_steps: int | None = None
    lr: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    packing: bool = False
    bucket: bool = True
    seed: int = 0
    bf16: bool | None = None
    save_steps: int | None = 10


@dataclass
class TrainReport:
    """What a training run did (also saved as ``train_report.json`` next to the adapter).

    ``settings`` is `dataclasses.asdict` of the run's `LoraSettings` (``bf16`` resolved), plus
    ``continued_from``: the adapter it continued, or None. A run resumed from a checkpoint
    says from which step (``resumed_from_step``); its ``seconds`` and ``train_tokens`` add up
    every sitting's part (as of the checkpoint it resumed).
    """

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
    peak_gpu_mb: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    resumed_from_step: int = 0


def train_lora(
    records: Sequence[dict[str, Any]],
    *,
    out_dir: str | os.PathLike[str],
    settings: LoraSettings = LoraSettings(),
    base: str = "local",
    model: Any = None,
    tokenizer: Any = None,
    adapter: str | os.PathLike[str] | None = None,
    device: str | None = None,
    progress: bool = True,
) -> TrainReport:
    """Train a LoRA adapter on chat records (from `build_sft_records`) and save it.

    Args:
        records: ``{"messages": [...]}`` records in the model's format.
        out_dir: where the adapter and ``train_report.json`` go.
        settings: the training options (`LoraSettings`).
        base: the base model spec for `load_hf_model` (``"local"`` = the embedded learner).
        model: an already loaded base model (instead of ``base``), e.g. a tiny test model. LoRA
            layers are injected into it in place: pass a fresh model per call.
        tokenizer: its tokenizer (with ``model``).
        adapter: continue training this adapter (continual learning) instead of a new one.
        device: ``"cpu"``, ``"cuda"``... (default: best available, see `pick_device`).
        progress: show a progress bar.

    Raises:
        ValueError: no records, or every record is longer than ``settings.max_length``.
        AdapterMismatchError: ``adapter`` was trained on another base model.

    Example:
        >>> quick = LoraSettings(max_steps=20)
        >>> report = train_lora(records, out_dir="adapter", settings=quick)  # doctest: +SKIP
        >>> report.loss_curve[0] > report.loss_curve[-1]  # doctest: +SKIP
        True
    """
    import torch
    from transformers import set_seed

    from langchain_ste.models.loading import load_fresh, pick_device

    if not records:
        raise ValueError("no training records: build them with build_sft_records(trials)")
    set_seed(settings.seed)
    device = pick_device(device)
    if model is None:
        # fp32 master weights on CPU; bf16 where the accelerator supports it
        model, tokenizer = load_fresh(
            base, device=device, dtype=None if device.startswith("cuda") else "float32"
        )
    elif tokenizer is None:
        raise ValueError("pass the model's tokenizer with `model=`")
    else:
        model.to(device)
    examples, skipped = [], 0
    for record in records:
        tokens = tokenize_record(record, tokenizer, settings.max_length)
        if tokens is None:
            skipped += 1
        else:
            examples.append(tokens)
    if not examples:
        raise ValueError(
            f"all {len(records)} records are longer than max_length={settings.max_length} "
            "tokens: raise max_length or export shorter trials"
        )
    if skipped:
        logger.warning(
            "skipped %d of %d records longer than %d tokens",
            skipped,
            len(records),
            settings.max_length,
        )
    n_records = len(examples)
    if settings.packing:
        examples = pack_examples(examples, settings.max_length)
    bf16 = settings.bf16
    if bf16 is None:
        bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
    resume = _resume_point(
        Path(out_dir) / "checkpoints",
        _fingerprint(examples, settings, adapter, base),
    )
    trainer, collator = _sft_trainer(
        model, tokenizer, examples, settings, adapter, Path(out_dir), device, bf16, progress
    )
    tally = _Tally(collator, _read_tally(resume))
    trainer.add_callback(tally.callback())
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    seconds, trained_tokens = tally.now()
    steps = trainer.state.global_step
    peft_model = trainer.model
    out = Path(out_dir)
    peft_model.save_pretrained(out, save_embedding_layers=False)
    tokenizer.save_pretrained(out)
    per_step = settings.batch_size * settings.grad_accum
    report = TrainReport(
        base_model=_base_id(peft_model, base),
        adapter_dir=str(out),
        examples=n_records,
        steps=steps,
        epochs=round(steps * per_step / max(len(examples), 1), 3),
        loss_curve=[round(float(h["loss"]), 4) for h in trainer.state.log_history if "loss" in h],
        train_tokens=trained_tokens,
        seconds=round(seconds, 2),
        tokens_per_s=round(trained_tokens / seconds, 1) if seconds else 0.0,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        peak_gpu_mb=round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if device.startswith("cuda")
        else 0.0,
        device=device,
        skipped={"longer than max_length": skipped} if skipped else {},
        settings={
            **asdict(replace(settings, bf16=bf16)),
            "continued_from": str(adapter) if adapter else None,
        },
        resumed_from_step=_step_of(resume) if resume else 0,
    )
    (out / "train_report.json").write_text(json.dumps(asdict(report), indent=2))
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    return report


_FINGERPRINT = "ste_fingerprint.txt"


def _fingerprint(
    examples: list[dict[str, list[int]]],
    settings: LoraSettings,
    adapter: str | os.PathLike[str] | None,
    base: str,
) -> str:
    """What a checkpoint must have been trained on to be resumed: the tokenised examples, the
    settings (but ``save_steps``), the continued adapter and the base model."""
    import hashlib

    wanted = {
        "examples": examples,
        "settings": {k: v for k, v in asdict(settings).items() if k != "save_steps"},
        "adapter": str(adapter) if adapter else None,
        "base": base,
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def _step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.rsplit("-", 1)[1])


def _resume_point(folder: Path, fingerprint: str) -> Path | None:
    """The last complete checkpoint in ``folder`` of a run on the same data and settings, or
    None (then checkpoints of any other run are removed, and the new run's fingerprint kept).

    A checkpoint is complete once its ``trainer_state.json`` exists (the Trainer writes it
    last); a run killed while saving leaves the previous one (``save_total_limit=2``).
    """
    stamp = folder / _FINGERPRINT
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == fingerprint:
        done = [
            c
            for c in folder.glob("checkpoint-*")
            if c.name.rsplit("-", 1)[1].isdigit() and (c / "trainer_state.json").is_file()
        ]
        if done:
            return max(done, key=_step_of)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint, encoding="utf-8")
    return None


_TALLY = "ste_tally.json"


def _read_tally(checkpoint: Path | None) -> tuple[float, int]:
    """Seconds and tokens trained up to ``checkpoint`` (0, 0 without one)."""
    path = checkpoint / _TALLY if checkpoint else None
    if path is None or not path.is_file():
        return 0.0, 0
    data = json.loads(path.read_text(encoding="utf-8"))
    return float(data["seconds"]), int(data["tokens"])


class _Tally:
    """Training time and tokens across sittings, written into each checkpoint as it is saved
    (`callback` makes the Trainer callback that does it)."""

    def __init__(self, collator: _CountingCollator, earlier: tuple[float, int]) -> None:
        self.collator, self.earlier = collator, earlier
        self.started = time.perf_counter()

    def now(self) -> tuple[float, int]:
        seconds, tokens = self.earlier
        return seconds + time.perf_counter() - self.started, tokens + self.collator.tokens

    def callback(self) -> Any:
        from transformers import TrainerCallback

        tally = self

        class OnSave(TrainerCallback):
            def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                seconds, tokens = tally.now()
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if folder.is_dir():
                    data = {"seconds": seconds, "tokens": tokens}
                    (folder / _TALLY).write_text(json.dumps(data))

        return OnSave()


class _CountingCollator:
    """TRL's language-modelling collator (pads; labels with -100), counting the real tokens."""

    def __init__(self, pad_id: int) -> None:
        from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

        self.inner = DataCollatorForLanguageModeling(pad_token_id=pad_id)
        self.tokens = 0

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        self.tokens += sum(len(b["input_ids"]) for b in batch)
        return self.inner(batch)


def _sft_trainer(
    model: Any,
    tokenizer: Any,
    examples: list[dict[str, list[int]]],
    settings: LoraSettings,
    adapter: str | os.PathLike[str] | None,
    out: Path,
    device: str,
    bf16: bool,
    progress: bool,
) -> tuple[Any, _CountingCollator]:
    """An `SFTTrainer` over pre-tokenised examples: a new LoRA (``peft_config``) or ``adapter``
    continued, with the run's settings."""
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig

    peft_config = None
    if adapter is None:
        peft_config = LoraConfig(
            r=settings.r,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=list(settings.target_modules),
            task_type="CAUSAL_LM",
        )
    else:
        model = _continued(model, adapter)
    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.lr,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps if settings.max_steps is not None else -1,
        logging_steps=1,
        save_strategy="steps" if settings.save_steps else "no",
        save_steps=settings.save_steps or 500,
        save_total_limit=2,
        report_to=[],
        seed=settings.seed,
        data_seed=settings.seed,
        bf16=bf16,
        use_cpu=device == "cpu",
        disable_tqdm=not progress,
        gradient_checkpointing=False,  # small models: recomputing activations only costs time
        max_length=None,  # over-long records were skipped above, never truncated
        train_sampling_strategy="group_by_length"
        if settings.bucket and not settings.packing
        else "random",
        dataloader_pin_memory=False,
    )
    pad_id = tokenizer.pad_token_id
    pad_id = tokenizer.eos_token_id if pad_id is None else pad_id
    collator = _CountingCollator(pad_id)
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        data_collator=collator,
        peft_config=peft_config,
    )
    if not progress:
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # it prints every log line when tqdm is off
    return trainer, collator


def _base_id(model: Any, fallback: str) -> str:
    config = getattr(model, "peft_config", {}).get("default")
    return str(getattr(config, "base_model_name_or_path", None) or fallback)


def _continued(model: Any, adapter: str | os.PathLike[str]) -> Any:
    """``adapter`` loaded trainable onto ``model``, checked to be trained on that base."""
    from peft import PeftModel

    from langchain_ste.models.loading import AdapterMismatchError

    config_path = Path(adapter) / "adapter_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{adapter} is not a LoRA adapter folder (no adapter_config.json)")
    trained_on = json.loads(config_path.read_text()).get("base_model_name_or_path")
    base_id = getattr(model, "name_or_path", None)
    if trained_on and base_id and trained_on != base_id:
        raise AdapterMismatchError(
            f"adapter {adapter} was trained on {trained_on!r}, not on "
            f"{base_id!r}: continue it on the base it was trained on"
        )
    try:
        return PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
    except RuntimeError as exc:  # same names, other shapes: another architecture
        raise AdapterMismatchError(f"adapter {adapter} does not fit {base_id!r}: {exc}") from exc


def _trainer_class() -> Any:
    from trl import SFTTrainer

    # Our loss instead of TRL's fused one: same values (identical loss curves), but measured on a
    # 4-layer, 49k-vocabulary Llama on these CPUs, 4.6-6.4 s/step and 1.1 GB RSS against TRL's
    # 16-17 s/step and 3.0 GB (batch 4, ~570 tokens per record).
    class AssistantOnlyTrainer(SFTTrainer):
        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            if not self.model_accepts_loss_kwargs:
                num_items_in_batch = None  # the Trainer then averages over accumulation itself
            elif num_items_in_batch is not None:
                num_items_in_batch = num_items_in_batch.to(inputs["labels"].device)
            loss = assistant_only_loss(model, inputs, num_items_in_batch)
            return (loss, None) if return_outputs else loss

    return AssistantOnlyTrainer


def merge_adapter(
    adapter_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    base: str | None = None,
) -> Path:
    """Merge a LoRA adapter into its base model and save a full model folder (bf16).

    The base defaults to the one recorded in the adapter (the embedded model for adapters trained
    on it). The folder loads like any model: ``load_chat_model(str(out_dir))``.

    Raises:
        FileNotFoundError: ``adapter_dir`` is not an adapter folder.
        AdapterMismatchError: ``base`` is not the model the adapter was trained on.

    Example:
        >>> merge_adapter("out/adapter", "out/merged")  # doctest: +SKIP
        PosixPath('out/merged')
    """
    import torch

    from langchain_ste.models.loading import load_fresh, spec_for_base

    config_path = Path(adapter_dir) / "adapter_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"{adapter_dir} is not a LoRA adapter folder (no adapter_config.json)"
        )
    if base is None:
        trained_on = json.loads(config_path.read_text()).get("base_model_name_or_path")
        base = spec_for_base(trained_on)
    model, tokenizer = load_fresh(base, device="cpu", dtype="float32", adapter=str(adapter_dir))
    merged = model.merge_and_unload()
    base_id = str(getattr(merged, "name_or_path", base))
    out = Path(out_dir)
    merged.to(torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "ste_source.json").write_text(
        json.dumps({"base_model": base_id, "merged_adapter": str(adapter_dir)})
    )
    return out
