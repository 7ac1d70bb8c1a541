"""The reuse rule: a row is measured again only when what it depends on changed."""

from __future__ import annotations

from pathlib import Path

from langchain_ste.evaluate.reuse import condition_key, trials_digest
from langchain_ste.trajectory import Step
from langchain_ste.trial import Trial


def trial(query: str, city: str) -> Trial:
    step = Step(tool="weather", args={"city": city}, call_id="c1", output="sunny")
    return Trial.from_steps(
        trial_id="weather/e000/t0",
        tools=["weather"],
        episode=0,
        index=0,
        query=query,
        steps=[step],
        final_answer="sunny",
        success=True,
    )


def meta(trials: list[Trial]) -> dict[str, object]:
    return {
        "learner": "L",
        "explorer": "E",
        "benchmark": "demo",
        "questions": 24,
        "trials": 24,
        "successful_trials": len(trials),
        "trials_digest": trials_digest(trials),
        "settings": {"max_steps": 4, "k": 3, "explore": {}},
    }


def test_same_count_of_other_trials_is_not_the_same_data() -> None:
    before = meta([trial("Weather in Paris?", "Paris")])
    after = meta([trial("Weather in Rome?", "Rome")])  # re-explored: one usable trial again
    assert condition_key(before, "ste-in-context") != condition_key(after, "ste-in-context")
    assert condition_key(before, "ste-fine-tuned") != condition_key(after, "ste-fine-tuned")
    assert condition_key(before, "baseline") == condition_key(after, "baseline")


def test_the_digest_ignores_order_and_reads_the_calls() -> None:
    a, b = trial("Weather?", "Paris"), trial("Weather?", "Rome")
    b.trial_id = "weather/e000/t1"
    assert trials_digest([a, b]) == trials_digest([b, a])
    moved = trial("Weather?", "Oslo")
    assert trials_digest([a, b]) != trials_digest([moved, b])


def test_a_row_measured_before_a_new_exploration_setting_existed_is_reused() -> None:
    def with_explore(explore: dict[str, object]) -> dict[str, object]:
        data = meta([trial("Weather in Paris?", "Paris")])
        data["settings"] = {"max_steps": 4, "k": 3, "explore": explore}
        return data

    now = with_explore({"episodes_per_tool": 2, "act_tools": "all"})
    older = with_explore({"episodes_per_tool": 2})  # written before act_tools existed
    other = with_explore({"episodes_per_tool": 2, "act_tools": "targets"})
    assert condition_key(older, "ste-in-context") == condition_key(now, "ste-in-context")
    assert condition_key(other, "ste-in-context") != condition_key(now, "ste-in-context")


def test_the_committed_demo_rows_stay_reusable(tmp_path: Path) -> None:
    import json
    import shutil

    from langchain_ste.evaluate.reuse import read_meta, reusable

    report = tmp_path / "results.json"
    shutil.copy(Path(__file__).parents[2] / "bench" / "results" / "demo" / "results.json", report)
    old = read_meta(report)
    assert "act_tools" not in old["settings"]["explore"]  # measured before the field existed
    now = json.loads(json.dumps(old))
    now["settings"]["explore"]["act_tools"] = "all"
    assert set(reusable(report, old, now)) >= {"ste-in-context", "ste-fine-tuned"}
