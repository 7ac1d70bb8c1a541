"""Experience replay: exact, seeded proportions; no-replay mode."""

from __future__ import annotations

import pytest

from langchain_ste.finetune import replay_mix


def records(prefix: str, n: int) -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i}"} for i in range(n)]


@pytest.mark.parametrize(
    ("n_new", "fraction", "replayed"), [(10, 0.2, 2), (10, 0.5, 5), (7, 0.3, 2), (4, 1.0, 4)]
)
def test_replay_adds_exactly_round_fraction_times_new(
    n_new: int, fraction: float, replayed: int
) -> None:
    new = records("n", n_new)
    old = [records("a", 10), records("b", 10)]
    mixed = replay_mix(new, old, replay_fraction=fraction, seed=7)
    assert len(mixed) == n_new + replayed
    assert sorted(r["id"] for r in mixed if r["id"].startswith("n")) == sorted(r["id"] for r in new)
    old_ids = {r["id"] for round_ in old for r in round_}
    picked = [r["id"] for r in mixed if not r["id"].startswith("n")]
    assert len(set(picked)) == replayed and set(picked) <= old_ids


def test_a_positive_fraction_replays_at_least_one_record() -> None:
    new = records("n", 3)  # 10% of 3 rounds to 0
    mixed = replay_mix(new, [records("a", 10)], replay_fraction=0.1, seed=7)
    assert len(mixed) == 4 and sum(r["id"].startswith("a") for r in mixed) == 1
    assert len(replay_mix(new, [], replay_fraction=0.1)) == 3  # nothing earlier to replay


def test_replay_is_seeded() -> None:
    new, old = records("n", 20), [records("o", 50)]
    assert replay_mix(new, old, seed=1) == replay_mix(new, old, seed=1)
    samples = {tuple(r["id"] for r in replay_mix(new, old, seed=s)) for s in range(5)}
    assert len(samples) > 1


def test_no_replay_mode_and_small_pools() -> None:
    new = records("n", 10)
    assert sorted(r["id"] for r in replay_mix(new, [records("o", 9)], replay_fraction=0)) == sorted(
        r["id"] for r in new
    )
    assert len(replay_mix(new, [records("o", 1)], replay_fraction=0.5)) == 11
    assert len(replay_mix(new, [], replay_fraction=0.5)) == 10
    with pytest.raises(ValueError, match="replay_fraction"):
        replay_mix(new, [], replay_fraction=-0.1)
