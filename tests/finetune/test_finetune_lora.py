"""LoRA training on a tiny random Llama: loss masking, reports, packing, continual rounds."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from langchain_ste.finetune import build_sft_records, train_rounds
from langchain_ste.finetune.lora import LoraSettings, train_lora
from langchain_ste.finetune.masking import IGNORE, assistant_only_loss, tokenize_record
from langchain_ste.finetune.replay import RECORDS_FILE
from langchain_ste.models.loading import AdapterMismatchError
from langchain_ste.tools.examples import example_tools
from langchain_ste.trial import Trial

FAST = LoraSettings(batch_size=2, max_length=2048)


def fast(**changes: Any) -> dict[str, Any]:
    """train_lora's keyword arguments for a quick run: FAST settings with ``changes``."""
    return {"settings": replace(FAST, **changes), "progress": False}


@pytest.fixture
def records(trials: list[Trial]) -> list[dict[str, Any]]:
    return build_sft_records(trials, example_tools())[0]


def test_only_assistant_turns_carry_labels(records: list[dict[str, Any]], tokenizer: Any) -> None:
    record = records[0]
    out = tokenize_record(record, tokenizer)
    assert out is not None and len(out["input_ids"]) == len(out["labels"])
    labelled = tokenizer.decode(
        [i for i, lab in zip(out["input_ids"], out["labels"], strict=True) if lab != IGNORE]
    )
    turns = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
    assert labelled == "".join(f"{t}<|im_end|>\n" for t in turns)
    unlabelled = tokenizer.decode(
        [i for i, lab in zip(out["input_ids"], out["labels"], strict=True) if lab == IGNORE]
    )
    assert "Observation:" in unlabelled and "You can use these tools" in unlabelled
    assert (
        "Action: convert_units\n" not in unlabelled
        and "Final Answer" not in unlabelled.split("Observation")[-1]
    )
    # the whole sequence is exactly the chat template's rendering
    full = tokenizer.apply_chat_template(record["messages"], tokenize=False)
    assert tokenizer.decode(out["input_ids"]) == full


def test_loss_normalised_over_accumulated_tokens(tiny_model: Callable[[], Any]) -> None:
    import torch

    model = tiny_model()
    ids = torch.randint(0, 100, (2, 8))
    labels = ids.clone()
    labels[:, :3] = IGNORE
    mask = torch.ones_like(ids)
    whole = assistant_only_loss(model, {"input_ids": ids, "labels": labels, "attention_mask": mask})
    total = int((labels[:, 1:] != IGNORE).sum())
    halves = sum(
        assistant_only_loss(
            model,
            {
                "input_ids": ids[i : i + 1],
                "labels": labels[i : i + 1],
                "attention_mask": mask[i : i + 1],
            },
            num_items=total,
        )
        for i in range(2)
    )
    assert torch.allclose(whole, halves, atol=1e-5)


def test_training_lowers_the_loss_and_writes_adapter_and_report(
    records: list[dict[str, Any]], tiny_model: Callable[[], Any], tokenizer: Any, tmp_path: Path
) -> None:
    # every block projection adapts (TRL's SFTTrainer refuses LoRA on lm_head)
    blocks = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    report = train_lora(
        records,
        model=tiny_model(),
        tokenizer=tokenizer,
        out_dir=tmp_path,
        **fast(max_steps=12, lr=2e-2, target_modules=blocks),
    )
    curve = report.loss_curve
    assert report.steps == 12 and len(curve) == 12
    assert sum(curve[-3:]) / 3 < 0.8 * sum(curve[:3]) / 3
    saved = json.loads((tmp_path / "train_report.json").read_text())
    assert saved["loss_curve"] == curve and saved["base_model"] == "tiny-llama"
    assert saved["train_tokens"] > 0 and saved["tokens_per_s"] > 0 and saved["peak_rss_mb"] > 0
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "tiny-llama" and config["r"] == 8
    assert (tmp_path / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "checkpoints").exists()


def test_an_interrupted_run_resumes_from_its_last_checkpoint(
    records: list[dict[str, Any]],
    tiny_model: Callable[[], Any],
    tokenizer: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from transformers import TrainerCallback

    import langchain_ste.finetune.lora as lora

    options = fast(max_steps=8, lr=2e-2, save_steps=3)
    whole = train_lora(
        records, model=tiny_model(), tokenizer=tokenizer, out_dir=tmp_path / "whole", **options
    )

    class Kill(TrainerCallback):  # the process dies during step 7, after checkpoint-6
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.global_step == 7:
                raise KeyboardInterrupt

    build = lora._sft_trainer

    def killed(*a: Any, **kw: Any) -> Any:
        trainer, collator = build(*a, **kw)
        trainer.add_callback(Kill())
        return trainer, collator

    out = tmp_path / "resumed"
    with monkeypatch.context() as patch:
        patch.setattr(lora, "_sft_trainer", killed)
        with pytest.raises(KeyboardInterrupt):
            train_lora(records, model=tiny_model(), tokenizer=tokenizer, out_dir=out, **options)
    checkpoint = out / "checkpoints" / "checkpoint-6"
    assert (checkpoint / "trainer_state.json").is_file()
    first_sitting = json.loads((checkpoint / "ste_tally.json").read_text())
    resumed = train_lora(records, model=tiny_model(), tokenizer=tokenizer, out_dir=out, **options)
    assert resumed.resumed_from_step == 6 and resumed.steps == 8
    # time and tokens add up both sittings: the same tokens as the uninterrupted run
    assert resumed.train_tokens == whole.train_tokens
    assert resumed.seconds > first_sitting["seconds"] > 0
    assert resumed.loss_curve == pytest.approx(whole.loss_curve, rel=1e-3)
    assert not (out / "checkpoints").exists()

    # a checkpoint of other data or settings is never resumed
    (out / "checkpoints" / "checkpoint-6").mkdir(parents=True)
    (out / "checkpoints" / "checkpoint-6" / "trainer_state.json").write_text("{}")
    (out / "checkpoints" / "ste_fingerprint.txt").write_text("another run")
    other = train_lora(records, model=tiny_model(), tokenizer=tokenizer, out_dir=out, **options)
    assert other.resumed_from_step == 0 and other.steps == 8


def test_too_long_records_are_skipped_and_counted(
    records: list[dict[str, Any]], tiny_model: Callable[[], Any], tokenizer: Any, tmp_path: Path
) -> None:
    lengths = sorted(len(tokenize_record(r, tokenizer)["input_ids"]) for r in records)  # type: ignore[index]
    options = fast(max_length=lengths[1], max_steps=1)
    report = train_lora(
        records, model=tiny_model(), tokenizer=tokenizer, out_dir=tmp_path, **options
    )
    assert report.examples == 2 and report.skipped == {"longer than max_length": 4}
    with pytest.raises(ValueError, match="all 6 records are longer than max_length=10"):
        train_lora(
            records,
            model=tiny_model(),
            tokenizer=tokenizer,
            out_dir=tmp_path,
            **fast(max_length=10, max_steps=1),
        )
    with pytest.raises(ValueError, match="no training records"):
        train_lora([], model=tiny_model(), tokenizer=tokenizer, out_dir=tmp_path)


def test_packing_fills_sequences_and_grad_accum_counts_steps(
    records: list[dict[str, Any]], tiny_model: Callable[[], Any], tokenizer: Any, tmp_path: Path
) -> None:
    lengths = [len(tokenize_record(r, tokenizer)["input_ids"]) for r in records]  # type: ignore[index]
    report = train_lora(
        records,
        model=tiny_model(),
        tokenizer=tokenizer,
        out_dir=tmp_path,
        **fast(packing=True, epochs=1, grad_accum=2, batch_size=1, max_length=2 * max(lengths)),
    )
    assert report.examples == 6
    assert report.train_tokens == sum(lengths)  # one epoch: every token once, no padding
    assert report.steps == 2  # 3 packed sequences / (1 x 2 accumulation), rounded up
    assert report.settings["packing"] is True


def test_continual_rounds_continue_one_adapter_with_replay(
    records: list[dict[str, Any]], tiny_model: Callable[[], Any], tokenizer: Any, tmp_path: Path
) -> None:
    rounds = [records[:3], records[3:]]
    reports = train_rounds(
        rounds,
        out_dir=tmp_path,
        replay_fraction=0.34,
        load_model=lambda: (tiny_model(), tokenizer),
        **fast(max_steps=1),
    )
    assert [r.examples for r in reports] == [3, 4]  # round 2: 3 new + round(0.34 * 3) replayed
    assert reports[1].settings["continued_from"] == str(tmp_path / "round1")
    saved = [json.loads(line) for line in (tmp_path / "round2" / RECORDS_FILE).open()]
    assert saved == rounds[1]
    loads: list[int] = []

    def counted() -> Any:
        loads.append(1)
        return tiny_model(), tokenizer

    options = {"out_dir": tmp_path, "replay_fraction": 0.34, "load_model": counted}
    again = train_rounds(rounds, **options, **fast(max_steps=1))  # type: ignore[arg-type]
    assert loads == [] and [r.examples for r in again] == [3, 4]  # both rounds were done
    changed = [rounds[0], rounds[1][:2]]
    train_rounds(changed, **options, **fast(max_steps=1))  # type: ignore[arg-type]
    assert loads == [1]  # round 1 is kept, round 2 (other records) is trained again
    more = {**options, "replay_fraction": 1.0}
    replayed = train_rounds(changed, **more, **fast(max_steps=1))  # type: ignore[arg-type]
    assert loads == [1, 1] and replayed[1].examples == 4  # another replay fraction: retrained


def test_continuing_an_adapter_of_another_base_model_fails_clearly(
    records: list[dict[str, Any]], tiny_model: Callable[[], Any], tokenizer: Any, tmp_path: Path
) -> None:
    train_lora(
        records[:2],
        model=tiny_model(),
        tokenizer=tokenizer,
        out_dir=tmp_path / "a",
        **fast(max_steps=1),
    )
    other = tiny_model()
    other.name_or_path = "another-model"
    with pytest.raises(AdapterMismatchError, match="trained on 'tiny-llama'"):
        train_lora(
            records[:2],
            model=other,
            tokenizer=tokenizer,
            out_dir=tmp_path / "b",
            adapter=tmp_path / "a",
            **fast(max_steps=1),
        )


def test_parallel_tool_results_grouped_by_the_qwen_template_are_masked() -> None:
    from transformers import AutoTokenizer

    from langchain_ste.models.loading import resolve_model_path
    from langchain_ste.models.schemas import tool_schemas
    from langchain_ste.tools.demo import demo_tools

    qwen = AutoTokenizer.from_pretrained(resolve_model_path("local")[0])

    def call(i: int, name: str, **args: Any) -> dict[str, Any]:
        function = {"name": name, "arguments": args}
        return {"type": "function", "id": f"c{i}", "function": function}

    messages = [
        {"role": "user", "content": "Orders of ana.silva@example.com, and 10 USD in EUR?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                call(1, "find_customer", email="ana.silva@example.com"),
                call(2, "convert_currency", amount=10, source="USD", target="EUR"),
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "find_customer", "content": "C-1042"},
        {"role": "tool", "tool_call_id": "c2", "name": "convert_currency", "content": "9.20 EUR"},
        {"role": "assistant", "content": "Customer C-1042; 10 USD are 9.20 EUR."},
    ]
    tools = [{"type": "function", "function": s} for s in tool_schemas(demo_tools())]
    out = tokenize_record({"messages": messages, "tools": tools}, qwen)
    assert out is not None
    pairs = zip(out["input_ids"], out["labels"], strict=True)
    learned = qwen.decode([i for i, label in pairs if label != -100])
    assert learned.count("<tool_call>") == 2 and "Customer C-1042; 10 USD are 9.20 EUR." in learned
    assert "9.20 EUR</tool_response>" not in learned and "<tool_response>" not in learned
    whole = qwen.apply_chat_template(messages, tools=tools, tokenize=False)
    assert qwen.decode(out["input_ids"]) == whole  # nothing lost or doubled
