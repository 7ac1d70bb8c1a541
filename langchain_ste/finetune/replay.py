"""Experience replay for continual learning across batches (rounds) of tools."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any


def replay_mix(
    new: Sequence[dict[str, Any]],
    previous_rounds: Sequence[Sequence[dict[str, Any]]],
    *,
    replay_fraction: float = 0.2,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Round r's training set: all new records plus ``round(replay_fraction * len(new))``
    records sampled (without replacement, seeded) from the earlier rounds' records.

    ``replay_fraction=0`` is the plain "no replay" mode. When fewer earlier records exist than
    asked for, all of them are replayed. The result is shuffled with the same seed.

    Example:
        >>> new = [{"id": f"n{i}"} for i in range(10)]
        >>> old = [[{"id": f"o{i}"} for i in range(20)]]
        >>> mixed = replay_mix(new, old, replay_fraction=0.3, seed=1)
        >>> len(mixed), sum(r["id"].startswith("o") for r in mixed)
        (13, 3)
    """
    if replay_fraction < 0:
        raise ValueError("replay_fraction must be >= 0")
    rng = random.Random(seed)
    pool = [r for round_ in previous_rounds for r in round_]
    n = min(len(pool), round(replay_fraction * len(new)))
    mixed = [*new, *rng.sample(pool, n)]
    rng.shuffle(mixed)
    return mixed
