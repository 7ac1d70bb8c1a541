"""Key-value caches of a causal LM: the prefix LRU, and the per-row surgery of a padded batch.

`PrefixCache` keeps the caches of a few prompts and finished sequences and finds the longest
stored prefix of a new one; the functions below read a model's cache from its output, cut one
row's tokens out of a left-padded batch cache and merge a row into one (the layout
`langchain_ste.models.batching.BatchedGenerator` decodes with).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

KV = list[tuple["torch.Tensor", "torch.Tensor"]]
"""One (keys, values) pair per layer, each ``(batch, heads, length, head_dim)``."""


class PrefixCache:
    """An LRU of prompts' and finished sequences' key-value caches, looked up by longest common
    prefix.

    A sequence that extends a stored one replaces it (the act loop's step ``k`` supersedes step
    ``k - 1``). Entries are private copies; nothing handed out is ever written to.

    Example:
        >>> import torch
        >>> cache = PrefixCache(capacity=2)
        >>> kv = [(torch.zeros(1, 1, 3, 2), torch.zeros(1, 1, 3, 2))]
        >>> cache.put([1, 2, 3], kv)
        >>> length, found = cache.longest_prefix([1, 2, 9, 9])
        >>> length, found[0][0].shape[2]
        (2, 2)
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, ...], KV] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, ids: Sequence[int], kv: KV) -> None:
        """Store the cache of ``ids`` (``kv`` covers exactly those tokens)."""
        if self.capacity <= 0 or not ids:
            return
        key = tuple(ids)
        for old in list(self._entries):
            if len(old) <= len(key) and key[: len(old)] == old:
                del self._entries[old]
        self._entries[key] = [(k.clone(), v.clone()) for k, v in kv]
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def longest_prefix(self, ids: Sequence[int], *, limit: int | None = None) -> tuple[int, KV]:
        """The longest stored prefix of ``ids`` (at most ``limit`` tokens) and its cache."""
        ids = tuple(ids)
        limit = len(ids) if limit is None else min(limit, len(ids))
        best, best_key = 0, None
        for key in self._entries:
            n = _common_prefix(key, ids, limit)
            if n > best:
                best, best_key = n, key
        if best_key is None:
            return 0, []
        self._entries.move_to_end(best_key)
        return best, [(k[:, :, :best], v[:, :, :best]) for k, v in self._entries[best_key]]


def _common_prefix(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    n = min(len(a), len(b), limit)
    if n and a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]: halve on slice equality (C speed)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def cache_argument(model: Any) -> str:
    """The forward argument that takes the key-value cache (renamed in transformers 5.x)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def cache_of(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def kv_of(cache: Any) -> KV:
    return [(layer.keys, layer.values) for layer in cache.layers]


def to_cache(kv: KV) -> Any:
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=kv)


def row_kv(kv: KV, index: int, length: int) -> KV:
    """Row ``index``'s own ``length`` cached tokens (the right end of a left-padded batch)."""
    return [(k[index : index + 1, :, -length:], v[index : index + 1, :, -length:]) for k, v in kv]


def merge_row(kv: KV, mask: torch.Tensor, row: KV, length: int) -> tuple[KV, torch.Tensor]:
    """Add one row (its cache of ``length`` tokens) to a left-padded batch cache."""
    import torch
    import torch.nn.functional as F

    if not kv:
        return row, torch.ones(1, length, dtype=torch.long, device=row[0][0].device)
    width = max(mask.shape[1], length)
    grow, pad = width - mask.shape[1], width - length

    def left(t: torch.Tensor, n: int) -> torch.Tensor:
        return F.pad(t, (0, 0, n, 0)) if n else t

    merged = [
        (torch.cat([left(k, grow), left(rk, pad)]), torch.cat([left(v, grow), left(rv, pad)]))
        for (k, v), (rk, rv) in zip(kv, row, strict=True)
    ]
    row_mask = torch.cat(
        [torch.zeros(1, pad, dtype=mask.dtype), torch.ones(1, length, dtype=mask.dtype)], 1
    ).to(mask.device)
    return merged, torch.cat([F.pad(mask, (grow, 0)), row_mask])
