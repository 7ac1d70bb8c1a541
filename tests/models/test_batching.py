"""Micro-batched generation and prefix reuse on the tiny embedded SmolLM2 (fp32: exact math)."""

from __future__ import annotations

import asyncio
import doctest
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import torch
from langchain_core.messages import HumanMessage

from langchain_ste.models import batching
from langchain_ste.models.batching import BatchedGenerator, GenerationRequest, shared_generator
from langchain_ste.models.kv_cache import PrefixCache
from langchain_ste.models.loading import load_hf_model
from langchain_ste.models.local import ChatLocalHF

TINY_SPEC = "local:smollm2-135m"
QUESTIONS = [
    "Hi",
    "Name three colours.",
    "Count from 1 to 10, separated by commas.",
    "Write one sentence about the sea, the sky and the mountains, with many adjectives.",
]


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Any]:
    # fp32: with bf16 a padded batch rounds differently from a lone row, so greedy rows can
    # part at a near-tie; fp32 makes "batched == one at a time" a sharp test of the batching.
    return load_hf_model(TINY_SPEC, dtype="float32")


def prompt_ids(tokenizer: Any, text: str) -> list[int]:
    chat = [{"role": "user", "content": text}]
    rendered = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    return list(tokenizer(rendered, add_special_tokens=False)["input_ids"])


@pytest.mark.integration
def test_a_batch_of_different_length_prompts_equals_one_at_a_time() -> None:
    single = ChatLocalHF(
        model_path=TINY_SPEC, dtype="float32", max_new_tokens=20, max_batch_size=1,
        prefix_cache_size=0,
    )  # fmt: skip
    batched = single.model_copy(update={"max_batch_size": 8, "max_batch_wait_ms": 2000.0})
    alone = [single.invoke([HumanMessage(q)]) for q in QUESTIONS]
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        together = list(pool.map(lambda q: batched.invoke([HumanMessage(q)]), QUESTIONS))
    assert [m.text for m in together] == [m.text for m in alone]
    assert [m.usage_metadata for m in together] == [m.usage_metadata for m in alone]
    assert {m.response_metadata["batch_size"] for m in alone} == {1}
    assert max(m.response_metadata["batch_size"] for m in together) == len(QUESTIONS)
    lengths = {m.usage_metadata["input_tokens"] for m in together if m.usage_metadata}
    assert len(lengths) == len(QUESTIONS)  # the rows really were padded to different lengths


@pytest.mark.integration
def test_async_callers_fill_one_batch() -> None:
    model = ChatLocalHF(
        model_path=TINY_SPEC, dtype="float32", max_new_tokens=6, max_batch_wait_ms=2000.0
    )

    async def run() -> list[Any]:
        return await asyncio.gather(*(model.ainvoke(q) for q in QUESTIONS))

    replies = asyncio.run(run())
    assert all(r.text.strip() for r in replies)
    assert {r.response_metadata["batch_size"] for r in replies} == {len(QUESTIONS)}


@pytest.mark.integration
def test_rows_keep_their_own_stop_length_and_sampling(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    count = prompt_ids(tokenizer, QUESTIONS[2])
    greedy_long = GenerationRequest(count, max_new_tokens=24)
    stopped = GenerationRequest(count, max_new_tokens=24, stop=("5",))
    short = GenerationRequest(prompt_ids(tokenizer, QUESTIONS[3]), max_new_tokens=3)
    sampled = GenerationRequest(
        prompt_ids(tokenizer, QUESTIONS[1]), max_new_tokens=12, temperature=1.5, seed=7
    )
    requests = [greedy_long, stopped, short, sampled]
    one = BatchedGenerator(model, tokenizer, max_batch_size=1, prefix_cache_size=0)
    alone = [one.generate(r) for r in requests]
    many = BatchedGenerator(model, tokenizer, max_batch_wait_ms=2000.0, prefix_cache_size=0)
    futures = [many.submit(r) for r in requests]
    together = [f.result() for f in futures]

    assert [r.token_ids for r in together] == [r.token_ids for r in alone]
    assert max(r.batch_size for r in together) == len(requests)
    long_text, stop_text = together[0].text, together[1].text
    assert "5" in long_text and "5" in stop_text and "6" not in stop_text
    assert len(together[1].token_ids) < len(together[0].token_ids)
    assert together[1].finish_reason == "stop" and together[2].finish_reason == "length"
    assert len(together[2].token_ids) == 3
    # The sampled row follows its own seed, whatever it is batched with; another seed differs.
    reseeded = one.generate(GenerationRequest(sampled.input_ids, 12, temperature=1.5, seed=8))
    assert reseeded.token_ids != together[3].token_ids
    assert many.stats.batch_sizes[len(requests)] >= 1


@pytest.mark.integration
def test_newcomers_join_a_running_batch(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    first = GenerationRequest(prompt_ids(tokenizer, QUESTIONS[3]), max_new_tokens=30)
    later = GenerationRequest(prompt_ids(tokenizer, QUESTIONS[1]), max_new_tokens=8)
    one = BatchedGenerator(model, tokenizer, max_batch_size=1, prefix_cache_size=0)
    expected = [one.generate(first).token_ids, one.generate(later).token_ids]
    generator = BatchedGenerator(model, tokenizer, max_batch_wait_ms=0.0, prefix_cache_size=0)
    running = generator.submit(first)
    while generator.stats.decode_steps < 3:  # the first row is decoding alone by now
        assert not running.done()
        time.sleep(0.01)
    joined = generator.submit(later)
    assert [running.result().token_ids, joined.result().token_ids] == expected
    assert joined.result().batch_size == 2 and generator.stats.batch_sizes[2] > 0


@pytest.mark.integration
def test_the_next_step_of_a_conversation_reuses_its_prefix(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    fresh = BatchedGenerator(model, tokenizer, max_batch_size=1, prefix_cache_size=0)
    reusing = BatchedGenerator(model, tokenizer, max_batch_size=1, prefix_cache_size=4)
    step1 = prompt_ids(tokenizer, QUESTIONS[2])
    reply = reusing.generate(GenerationRequest(step1, max_new_tokens=12))
    assert reply.reused_tokens == 0
    step2 = step1 + reply.token_ids + prompt_ids(tokenizer, "Now backwards.")
    again = reusing.generate(GenerationRequest(step2, max_new_tokens=12))
    # Everything but the last generated token (never fed back) came from the cache.
    assert again.reused_tokens == len(step1) + len(reply.token_ids) - 1
    assert again.token_ids == fresh.generate(GenerationRequest(step2, max_new_tokens=12)).token_ids
    assert reusing.stats.reused_tokens == again.reused_tokens
    assert reusing.stats.prompt_tokens == len(step1) + len(step2)


@pytest.mark.integration
def test_rows_that_arrive_together_reuse_each_others_prompt(tiny: tuple[Any, Any]) -> None:
    model, tokenizer = tiny
    system = "You are a help desk. " * 20  # the shared part: a long system prompt

    def ids(question: str) -> list[int]:
        chat = [{"role": "system", "content": system}, {"role": "user", "content": question}]
        text = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])

    first, second = ids(QUESTIONS[1]), ids(QUESTIONS[2])
    shared = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    fresh = BatchedGenerator(model, tokenizer, max_batch_size=1, prefix_cache_size=0)
    expected = [fresh.generate(GenerationRequest(x, max_new_tokens=6)).token_ids
                for x in (first, second)]  # fmt: skip
    together = BatchedGenerator(model, tokenizer, max_batch_wait_ms=500, prefix_cache_size=4)
    futures = [together.submit(GenerationRequest(x, max_new_tokens=6)) for x in (first, second)]
    results = [f.result() for f in futures]
    assert [r.token_ids for r in results] == expected
    assert results[0].reused_tokens == 0 and results[1].reused_tokens == shared > 100
    assert results[1].batch_size == 2  # and they still decoded as one batch


@pytest.mark.integration
def test_chat_model_reports_reused_prefix_tokens() -> None:
    model = ChatLocalHF(model_path=TINY_SPEC, dtype="float32", max_new_tokens=8)
    history = [HumanMessage("Name three colours.")]
    first = model.invoke(history)
    second = model.invoke([*history, first, HumanMessage("And three animals?")])
    details = (second.usage_metadata or {}).get("input_token_details", {})
    assert 0 < details.get("cache_read", 0) < (second.usage_metadata or {})["input_tokens"]


def test_prefix_cache_keeps_the_longest_prefixes_and_forgets_the_oldest() -> None:
    def kv(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        k = torch.arange(n, dtype=torch.float32).view(1, 1, n, 1)
        return [(k, k + 100)]

    cache = PrefixCache(capacity=2)
    cache.put([1, 2, 3], kv(3))
    cache.put([1, 2, 3, 4, 5], kv(5))  # extends the first: replaces it
    assert len(cache) == 1
    length, found = cache.longest_prefix([1, 2, 3, 4, 9])
    assert length == 4 and found[0][0].flatten().tolist() == [0, 1, 2, 3]
    assert cache.longest_prefix([1, 2, 3, 4, 5], limit=4)[0] == 4
    assert cache.longest_prefix([7, 8])[0] == 0
    cache.put([7, 8, 9], kv(3))
    assert cache.longest_prefix([1, 2])[0] == 2  # a hit makes [1..5] the most recently used
    cache.put([6, 6], kv(2))  # over capacity: the least recently used ([7, 8, 9]) goes
    assert cache.longest_prefix([7, 8, 9])[0] == 0
    assert cache.longest_prefix([1, 2, 3, 4, 5])[0] == 5
    original = kv(3)
    cache.put([4, 4, 4], original)
    original[0][0].add_(1)  # entries are private copies
    assert cache.longest_prefix([4, 4, 4])[1][0][0].flatten().tolist() == [0, 1, 2]
    assert PrefixCache(capacity=0).longest_prefix([1])[0] == 0


class _BrokenModel(torch.nn.Module):
    device = torch.device("cpu")

    def forward(self, input_ids: Any = None, cache: Any = None, **kwargs: Any) -> Any:
        raise RuntimeError("out of memory")


class _Tokenizer:
    eos_token_id = 0


def test_a_failing_forward_fails_its_callers_and_the_worker_goes_on() -> None:
    generator = BatchedGenerator(_BrokenModel(), _Tokenizer())
    for _ in range(2):
        with pytest.raises(RuntimeError, match="out of memory"):
            generator.generate(GenerationRequest([1, 2], max_new_tokens=4))
    with pytest.raises(ValueError, match="at least one prompt token"):
        generator.submit(GenerationRequest([], max_new_tokens=4))
    with pytest.raises(ValueError, match="max_batch_size"):
        BatchedGenerator(_BrokenModel(), _Tokenizer(), max_batch_size=0)


def test_callers_of_one_model_share_one_queue() -> None:
    model = _BrokenModel()
    first = shared_generator(model, _Tokenizer(), max_batch_size=4)
    assert shared_generator(model, _Tokenizer(), max_batch_size=4) is first
    assert shared_generator(model, _Tokenizer(), max_batch_size=2) is not first
    assert shared_generator(_BrokenModel(), _Tokenizer(), max_batch_size=4) is not first


def test_docstring_examples_run() -> None:
    assert doctest.testmod(batching).failed == 0
