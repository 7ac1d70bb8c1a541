"""`bench/local_batch_speed.py` and `bench/explore_cost.py` on the tiny embedded model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import explore_cost, local_batch_speed

pytestmark = pytest.mark.integration
TINY = "local:smollm2-135m"


def test_batch_speed_measures_every_batch_size_through_the_chat_model(tmp_path: Path) -> None:
    out = tmp_path / "batching.json"
    args = ["--models", TINY, "--batches", "1,3", "--tokens", "6", "--out", str(out)]
    report = local_batch_speed.main(args)
    assert json.loads(out.read_text()) == report
    (model,) = report["models"]
    assert model["spec"] == TINY and set(model["batches"]) == {"1", "3"}
    one, three = model["batches"]["1"], model["batches"]["3"]
    assert one["largest_decode_batch"] == 1 and three["largest_decode_batch"] == 3
    assert 0 < one["new_tokens"] <= 6 and 0 < three["new_tokens"] <= 18
    assert three["tokens_per_s"] == pytest.approx(three["new_tokens"] / three["wall_s"], rel=0.1)


def test_explore_cost_compares_both_loops_on_one_budget(tmp_path: Path) -> None:
    out = tmp_path / "cost.json"
    args = ["--model", TINY, "--episodes", "2", "--max-steps", "1", "--max-new-tokens", "12"]
    report = explore_cost.main([*args, "--out", str(out)])
    assert json.loads(out.read_text()) == report
    ours, original = report["runs"]["ours"], report["runs"]["original_style"]
    tools = len(report["tools"])
    assert ours["kept_trials"] == original["kept_trials"] == 2 * tools
    # imagine + act + reflect at least, per trial; the original loop never batches or reuses.
    assert original["model_calls"] >= 3 * original["kept_trials"]
    assert original["decode_steps_by_batch_size"].keys() <= {"1"}
    assert original["prefill_tokens_saved_per_kept_trial"] == 0
    assert max(int(b) for b in ours["decode_steps_by_batch_size"]) > 1
    expected = ours["trials_per_minute"] / original["trials_per_minute"]
    assert report["speedup_vs_sequential"] == pytest.approx(expected, rel=0.02)
