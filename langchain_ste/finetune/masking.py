"""The assistant-only loss: which tokens a fine-tuned model learns, and the loss over them.

TRL's own ``assistant_only_loss`` needs ``{% generation %}`` markers in the chat template, and
neither the SmolLM2 nor the Qwen2.5 template has them, so the mask is ours: `tokenize_record`
finds each assistant turn by rendering the conversation up to it (any prefix-stable template
works), `pack_examples` concatenates tokenised examples, and `assistant_only_loss` projects onto
the vocabulary only where a label exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

IGNORE = -100
"""The label of a position that carries no loss (prompts, tool results, padding)."""


def tokenize_record(
    record: dict[str, Any], tokenizer: Any, max_length: int | None = None
) -> dict[str, list[int]] | None:
    """Token ids and labels for one chat record; only assistant turns carry labels.

    Each assistant turn is located by rendering the conversation up to it with the tokenizer's
    chat template (prompts for the next turn with ``add_generation_prompt``), so the labels cover
    exactly what the model must generate: the turn's text and its end-of-turn tokens. Records
    with ``tools`` (native format) pass them to the template.

    Returns None when the record is longer than ``max_length`` (the caller counts it).

    Raises:
        ValueError: the chat template renders a prefix of the conversation differently from the
            whole (the turns cannot be masked).

    Example:
        >>> class CharTokenizer:  # one token per character, a tiny chat template
        ...     def apply_chat_template(self, messages, tokenize=False,
        ...                             add_generation_prompt=False, **kwargs):
        ...         text = "".join(f"<{m['role']}>{m['content']}</>" for m in messages)
        ...         return text + ("<assistant>" if add_generation_prompt else "")
        ...     def __call__(self, text, add_special_tokens=False):
        ...         return {"input_ids": [ord(c) for c in text]}
        >>> record = {"messages": [{"role": "user", "content": "hi"},
        ...                        {"role": "assistant", "content": "yo"}]}
        >>> out = tokenize_record(record, CharTokenizer())
        >>> "".join(chr(i) for i, label in zip(out["input_ids"], out["labels"]) if label != -100)
        'yo</>'
        >>> tokenize_record(record, CharTokenizer(), max_length=5) is None
        True
    """
    messages = record["messages"]
    extra = {"tools": record["tools"]} if record.get("tools") else {}
    ids: list[int] = []
    labels: list[int] = []
    previous = ""

    def extend(text: str, *, learn: bool) -> None:
        nonlocal previous
        if not text.startswith(previous):
            raise ValueError("the chat template is not prefix-stable; cannot mask turns")
        piece_ids = tokenizer(text[len(previous) :], add_special_tokens=False)["input_ids"]
        ids.extend(piece_ids)
        labels.extend(piece_ids if learn else [IGNORE] * len(piece_ids))
        previous = text

    # Rendered only at assistant turns: between them a template may group messages (Qwen puts
    # consecutive tool results in one user turn), so a prefix ending inside a group is not a
    # prefix of the whole.
    render = tokenizer.apply_chat_template
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        extend(str(render(messages[:i], tokenize=False, add_generation_prompt=True, **extra)),
               learn=False)  # fmt: skip
        extend(str(render(messages[: i + 1], tokenize=False, **extra)), learn=True)
    if messages and messages[-1]["role"] != "assistant":
        extend(str(render(messages, tokenize=False, **extra)), learn=False)
    if max_length is not None and len(ids) > max_length:
        return None
    return {"input_ids": ids, "labels": labels}


def pack_examples(
    examples: Sequence[dict[str, list[int]]], length: int
) -> list[dict[str, list[int]]]:
    """Concatenate tokenised examples, in order, into sequences of at most ``length`` tokens.

    Example:
        >>> ex = [{"input_ids": [1] * n, "labels": [1] * n} for n in (3, 4, 2, 5)]
        >>> [len(p["input_ids"]) for p in pack_examples(ex, 8)]
        [7, 7]
    """
    packed: list[dict[str, list[int]]] = []
    cur: dict[str, list[int]] = {"input_ids": [], "labels": []}
    for ex in examples:
        if cur["input_ids"] and len(cur["input_ids"]) + len(ex["input_ids"]) > length:
            packed.append(cur)
            cur = {"input_ids": [], "labels": []}
        cur["input_ids"] = cur["input_ids"] + ex["input_ids"]
        cur["labels"] = cur["labels"] + ex["labels"]
    if cur["input_ids"]:
        packed.append(cur)
    return packed


def assistant_only_loss(model: Any, batch: dict[str, Any], num_items: Any = None) -> Any:
    """Causal-LM loss computed from the labelled positions only.

    The vocabulary projection (49k x 576 for SmolLM2) runs only where a label exists, i.e. on the
    assistant turns, not on the long tool-rendering prompt: same loss as the model's own, much
    less compute and memory. With ``num_items`` (the labelled tokens of the whole accumulated
    batch) the summed loss is divided by it, so gradient accumulation averages correctly.

    Example:
        >>> import torch
        >>> from transformers import LlamaConfig, LlamaForCausalLM
        >>> _ = torch.manual_seed(0)
        >>> tiny = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16,
        ...     intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
        >>> ids = torch.tensor([[1, 2, 3, 4]])
        >>> labels = torch.tensor([[-100, -100, 3, 4]])
        >>> batch = {"input_ids": ids, "labels": labels, "attention_mask": torch.ones_like(ids)}
        >>> mine = assistant_only_loss(tiny, batch)
        >>> torch.allclose(mine, tiny(input_ids=ids, labels=labels).loss)
        True
    """
    import torch.nn.functional as F

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = base.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    logits = base.lm_head(hidden[:, :-1][keep])
    if num_items is None:
        return F.cross_entropy(logits.float(), labels[keep])
    total = F.cross_entropy(logits.float(), labels[keep], reduction="sum")
    return total / num_items
