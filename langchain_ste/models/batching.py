"""Continuous micro-batching of generate calls on one loaded causal LM, with prefix reuse.

On CPU, decoding is bound by memory bandwidth: eight sequences decoded together cost little
more than one. A `BatchedGenerator` owns one loaded model and a worker thread; callers (threads,
or async code through `BatchedGenerator.submit`) hand it `GenerationRequest` objects and get
futures back. The worker groups pending requests into one left-padded batch of at most
``max_batch_size`` rows, waiting up to ``max_batch_wait_ms`` for company when it is idle, and
admits newcomers between decode steps as rows finish (continuous batching). Every row keeps its
own stop strings, ``max_new_tokens``, temperature and seed, so greedy and sampled rows share a
batch.

Each row is prefilled on its own, which lets it start from the key-value cache of the longest
prefix it shares with an earlier sequence (`langchain_ste.models.kv_cache.PrefixCache`, an LRU
of a few prompts and finished sequences; a prompt is kept as soon as it is encoded, so rows that
arrive together share it): the act loop of a trial re-sends its whole growing conversation, and
only the new tail is encoded. Rows are then merged into the padded decode batch, so prefix reuse
and batching work together.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch

from langchain_ste.models.kv_cache import (
    KV,
    PrefixCache,
    cache_argument,
    cache_of,
    kv_of,
    merge_row,
    row_kv,
    to_cache,
)


@dataclass(frozen=True)
class GenerationRequest:
    """One generate call: prompt token ids and how to decode them.

    Example:
        >>> GenerationRequest([1, 2, 3], max_new_tokens=8, stop=("\\n",)).temperature
        0.0
    """

    input_ids: Sequence[int]
    max_new_tokens: int
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    """0 decodes greedily; above 0 samples (with the model's top-k / top-p, if set)."""
    seed: int = 0
    """Seed of this row's own random generator (a sampled row is reproducible in any batch)."""


@dataclass(frozen=True)
class GenerationResult:
    """The new tokens of one request, and how the call went.

    Example:
        >>> GenerationResult([5, 6], "hi", "stop", reused_tokens=0, batch_size=1).token_ids
        [5, 6]
    """

    token_ids: list[int]
    text: str
    """The new tokens decoded without special tokens (not yet cut at a stop string)."""
    finish_reason: Literal["stop", "length"]
    reused_tokens: int
    """Prompt tokens read from the prefix cache instead of being encoded again."""
    batch_size: int
    """The largest decode batch this request was part of."""


@dataclass
class GeneratorStats:
    """Counters of one `BatchedGenerator` since it started (or since `reset`).

    Example:
        >>> stats = GeneratorStats(requests=2, prompt_tokens=100, reused_tokens=60)
        >>> stats.reused_fraction
        0.6
    """

    requests: int = 0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    generated_tokens: int = 0
    decode_steps: int = 0
    batch_sizes: Counter[int] = field(default_factory=Counter)
    """Decode steps by number of rows decoded together."""

    @property
    def reused_fraction(self) -> float:
        """The share of prompt tokens that came from the prefix cache."""
        return self.reused_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


@dataclass
class _Row:
    request: GenerationRequest
    future: Future[GenerationResult]
    ids: list[int]
    reused: int = 0
    generated: list[int] = field(default_factory=list)
    length: int = 0
    """Tokens of this row in the key-value cache (prompt and generated, all but the last)."""
    generator: torch.Generator | None = None
    batch_size: int = 1
    finish: Literal["stop", "length"] | None = None


class BatchedGenerator:
    """Share one loaded causal LM between concurrent callers through a micro-batching queue.

    Args:
        model: a transformers causal LM (a PEFT model too), in eval mode.
        tokenizer: its tokenizer (stop strings are matched on decoded text).
        max_batch_size: the most rows decoded together.
        max_batch_wait_ms: how long an idle worker waits for more requests before it starts.
        prefix_cache_size: finished sequences kept for prefix reuse (0 turns reuse off).

    Example:
        >>> from langchain_ste.models.loading import load_hf_model
        >>> model, tokenizer = load_hf_model("local:smollm2-135m")  # doctest: +SKIP
        >>> generator = BatchedGenerator(model, tokenizer, max_batch_size=4)  # doctest: +SKIP
        >>> ids = tokenizer("The capital of France is")["input_ids"]  # doctest: +SKIP
        >>> generator.generate(GenerationRequest(ids, max_new_tokens=4)).text  # doctest: +SKIP
        ' Paris.'
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_batch_size: int = 8,
        max_batch_wait_ms: float = 10.0,
        prefix_cache_size: int = 8,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, not {max_batch_size}")
        self.model, self.tokenizer = model, tokenizer
        self.max_batch_size = max_batch_size
        self.max_batch_wait_s = max(0.0, max_batch_wait_ms) / 1000
        self.prefixes = PrefixCache(prefix_cache_size)
        self.stats = GeneratorStats()
        self.pid = os.getpid()
        self._queue: queue.SimpleQueue[_Row] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._eos = _eos_ids(model, tokenizer)
        config = getattr(model, "generation_config", None)
        self._top_k = int(getattr(config, "top_k", None) or 0)
        self._top_p = float(getattr(config, "top_p", None) or 1.0)
        self._cache_arg = cache_argument(model)

    def submit(self, request: GenerationRequest) -> Future[GenerationResult]:
        """Queue one request; the future resolves when its row finishes (or fails)."""
        if not request.input_ids:
            raise ValueError("a generation request needs at least one prompt token")
        future: Future[GenerationResult] = Future()
        self._queue.put(_Row(request, future, list(request.input_ids)))
        self._ensure_worker()
        return future

    def generate(self, request: GenerationRequest) -> GenerationResult:
        """Queue one request and wait for its result (from any thread)."""
        return self.submit(request).result()

    def reset_stats(self) -> GeneratorStats:
        """Start the counters afresh; returns the old ones."""
        old, self.stats = self.stats, GeneratorStats()
        return old

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="ste-batched-generate", daemon=True
                )
                self._thread.start()

    def _work(self) -> None:
        import torch

        rows: list[_Row] = []
        cache: Any = None
        mask = torch.zeros(0, 0, dtype=torch.long)
        while True:
            incoming = self._collect(self.max_batch_size - len(rows), wait=not rows)
            try:
                with torch.inference_mode():
                    for row in incoming:
                        if not row.future.set_running_or_notify_cancel():
                            continue  # its caller gave up while it waited
                        logits, row_kv = self._prefill(row)
                        if self._advance(row, logits):
                            self._finish(row, row_kv)
                            continue
                        kv, mask = merge_row(kv_of(cache) if rows else [], mask, row_kv, row.length)
                        cache = to_cache(kv)
                        rows.append(row)
                    if rows:
                        cache, mask, rows = self._step(rows, cache, mask)
            except Exception as exc:  # a failed batch fails its callers, not the worker
                for row in [*rows, *incoming]:
                    if not row.future.done():
                        row.future.set_exception(exc)
                rows, cache, mask = [], None, torch.zeros(0, 0, dtype=torch.long)

    def _collect(self, room: int, *, wait: bool) -> list[_Row]:
        """Up to ``room`` new rows: block for the first one when idle, then gather briefly."""
        out: list[_Row] = []
        if wait:
            out.append(self._queue.get())
            deadline = time.monotonic() + self.max_batch_wait_s
            while len(out) < room:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    out.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
        while len(out) < room:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def _prefill(self, row: _Row) -> tuple[torch.Tensor, KV]:
        """Encode a row's prompt (after its cached prefix); returns its last logits and cache."""
        import torch

        request = row.request
        if request.temperature > 0:
            row.generator = torch.Generator().manual_seed(request.seed)
        reused, prefix_kv = self.prefixes.longest_prefix(row.ids, limit=len(row.ids) - 1)
        device = self.model.device
        tail = torch.tensor([row.ids[reused:]], device=device)
        positions = torch.arange(reused, len(row.ids), device=device).unsqueeze(0)
        out = self._forward(
            tail,
            torch.ones(1, len(row.ids), dtype=torch.long, device=device),
            positions,
            to_cache(prefix_kv) if reused else None,
        )
        row.reused, row.length = reused, len(row.ids)
        self.stats.requests += 1
        self.stats.prompt_tokens += len(row.ids)
        self.stats.reused_tokens += reused
        kv = kv_of(cache_of(out))
        # Kept at once, not only when the row finishes: rows that arrive together (the act calls
        # of concurrent trials share the system prompt and the tool schemas) reuse each other's
        # prompt; the finished sequence later supersedes this entry.
        self.prefixes.put(row.ids, kv)
        return out.logits[0, -1, :], kv

    def _step(
        self, rows: list[_Row], cache: Any, mask: torch.Tensor
    ) -> tuple[Any, Any, list[_Row]]:
        """Decode one token for every row; finished rows leave the batch."""
        import torch

        device = self.model.device
        mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=mask.dtype, device=device)], 1)
        out = self._forward(
            torch.tensor([[r.generated[-1]] for r in rows], device=device),
            mask,
            torch.tensor([[r.length] for r in rows], device=device),
            cache,
        )
        cache = cache_of(out)
        self.stats.decode_steps += 1
        self.stats.batch_sizes[len(rows)] += 1
        keep: list[int] = []
        for i, row in enumerate(rows):
            row.length += 1
            row.batch_size = max(row.batch_size, len(rows))
            if self._advance(row, out.logits[i, -1, :]):
                self._finish(row, row_kv(kv_of(cache), i, row.length))
            else:
                keep.append(i)
        if len(keep) == len(rows):
            return cache, mask, rows
        if not keep:
            return None, mask[:0, :0], []
        index = torch.tensor(keep, device=device)
        mask = mask[index]
        start = int((mask.sum(0) > 0).nonzero()[0])  # drop the columns that are all padding
        kv = [(k[index, :, start:], v[index, :, start:]) for k, v in kv_of(cache)]
        return to_cache(kv), mask[:, start:], [rows[i] for i in keep]

    def _forward(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any
    ) -> Any:
        """One forward pass that extends ``cache`` and computes the last position's logits only."""
        kwargs = {self._cache_arg: cache} if cache is not None else {}
        return self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **kwargs,
        )

    def _advance(self, row: _Row, logits: torch.Tensor) -> bool:
        """Pick the row's next token from its logits; whether the row is now finished."""
        token = self._choose(logits, row)
        row.generated.append(token)
        request = row.request
        if token in self._eos:
            row.finish = "stop"
        elif request.stop and _has_stop(self.tokenizer, row.generated, request.stop):
            row.finish = "stop"
        elif len(row.generated) >= request.max_new_tokens:
            row.finish = "length"
        return row.finish is not None

    def _choose(self, logits: torch.Tensor, row: _Row) -> int:
        import torch

        temperature = row.request.temperature
        if temperature <= 0:
            return int(torch.argmax(logits))
        scores = logits.float() / temperature
        if 0 < self._top_k < scores.shape[-1]:
            kth = torch.topk(scores, self._top_k).values[-1]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        if self._top_p < 1.0:
            ordered, order = torch.sort(scores, descending=True)
            cumulative = torch.softmax(ordered, -1).cumsum(-1)
            drop = cumulative - torch.softmax(ordered, -1) > self._top_p
            scores = scores.index_fill(0, order[drop], float("-inf"))
        probs = torch.softmax(scores, -1)
        return int(torch.multinomial(probs, 1, generator=row.generator))

    def _finish(self, row: _Row, kv: KV) -> None:
        """Resolve a finished row and keep its cache for later prefixes."""
        tokens = row.generated
        self.prefixes.put([*row.ids, *tokens[:-1]], kv)
        self.stats.generated_tokens += len(tokens)
        text = str(self.tokenizer.decode(tokens, skip_special_tokens=True))
        assert row.finish is not None
        row.future.set_result(
            GenerationResult(
                token_ids=list(tokens),
                text=text,
                finish_reason=row.finish,
                reused_tokens=row.reused,
                batch_size=row.batch_size,
            )
        )


_GENERATORS: dict[tuple[int, int, float, int], BatchedGenerator] = {}
_GENERATORS_LOCK = threading.Lock()


def shared_generator(
    model: Any,
    tokenizer: Any,
    *,
    max_batch_size: int = 8,
    max_batch_wait_ms: float = 10.0,
    prefix_cache_size: int = 8,
) -> BatchedGenerator:
    """The process's one `BatchedGenerator` for this loaded model and these options.

    Callers that use the same loaded model with the same options share a queue, and so batches.
    A forked process (a Ray worker, say) gets its own.

    Example:
        >>> from langchain_ste.models.loading import load_hf_model
        >>> model, tokenizer = load_hf_model("local:smollm2-135m")  # doctest: +SKIP
        >>> first = shared_generator(model, tokenizer)  # doctest: +SKIP
        >>> first is shared_generator(model, tokenizer)  # doctest: +SKIP
        True
    """
    key = (id(model), max_batch_size, float(max_batch_wait_ms), prefix_cache_size)
    with _GENERATORS_LOCK:
        found = _GENERATORS.get(key)
        if found is None or found.pid != os.getpid() or found.model is not model:
            found = _GENERATORS[key] = BatchedGenerator(
                model,
                tokenizer,
                max_batch_size=max_batch_size,
                max_batch_wait_ms=max_batch_wait_ms,
                prefix_cache_size=prefix_cache_size,
            )
        return found


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def _has_stop(tokenizer: Any, tokens: Sequence[int], stop: Sequence[str]) -> bool:
    # Only the tail can hold a new stop string: decode a window that covers the longest one.
    window = max(len(s) for s in stop) + 2
    text = tokenizer.decode(tokens[-window:], skip_special_tokens=False)
    return any(s in text for s in stop)
