"""`bench/continual.py`: batches fixed in advance, questions assigned to batches, the table."""

from __future__ import annotations

import json
from pathlib import Path

from bench import continual
from langchain_ste.evaluate.benchmarks.examples import demo_cases
from langchain_ste.tools.demo import demo_tools
from langchain_ste.trajectory import Step
from langchain_ste.trial import Trial


def test_the_batches_split_the_demo_tools_and_every_question_has_one() -> None:
    names = [t.name for t in demo_tools()]
    assert [n for batch in continual.BATCHES for n in batch] == names
    counts = [0, 0]
    for case in demo_cases():
        counts[continual.batch_of(case.expected)] += 1
    assert sum(counts) == 24 and all(counts)


def test_a_batch_without_usable_trials_stops_before_training(tmp_path: Path) -> None:
    step = Step(tool="get_order", args={"order_id": "ORD-88213"}, call_id="c", output="ok")
    trial = Trial.from_steps(
        trial_id="get_order/e000/t0",
        tools=["get_order"],
        episode=0,
        index=0,
        query="Where is ORD-88213?",
        steps=[step],
        final_answer="ok",
        success=True,
    )
    path = tmp_path / "trials.jsonl"
    path.write_text(json.dumps(trial.to_dict()) + "\n")
    assert continual.main(["--trials", str(path), "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out" / "replay0").exists()


def test_the_table_shows_forgetting_per_run() -> None:
    table = {
        "batches": [list(b) for b in continual.BATCHES],
        "steps": 30,
        "records": [8, 9],
        "baseline": [0.25, 0.1],
        "runs": {
            "replay0": {"replayed_records": 0, "after_round1": [0.5], "after_round2": [0.2, 0.6]},
            "replay10": {"replayed_records": 1, "after_round1": [0.5], "after_round2": [0.45, 0.6]},
        },
    }
    text = continual.markdown(table)
    assert "| replay0 | 50.0 | 20.0 | 60.0 | 0 |" in text
    assert "| baseline (no adapter) | 25.0 | 25.0 | 10.0 | - |" in text


def test_more_exploration_keeps_the_input_resumes_and_never_duplicates(tmp_path: Path) -> None:
    from langchain_ste.testing import ScriptedChatModel
    from langchain_ste.trial_log import read_trials

    step = Step(tool="get_order", args={"order_id": "ORD-88213"}, call_id="c", output="ok")
    seed = Trial.from_steps(trial_id="get_order/e000/t0", tools=["get_order"], episode=0,
                            index=0, query="Where is ORD-88213?", steps=[step], final_answer="ok",
                            success=True)  # fmt: skip
    given = tmp_path / "trials.jsonl"
    given.write_text(json.dumps(seed.to_dict()) + "\n")
    before = given.read_bytes()
    out = tmp_path / "out"
    model = ScriptedChatModel(script=["Which shipping options are there to Lyon?"])
    path = continual.explore_more(given, out, 1, model)
    assert given.read_bytes() == before and path == out / "memory" / "trials.jsonl"
    ids = [t.trial_id for t in read_trials(path)]
    assert len(ids) == len(set(ids)) and "get_order/e000/t0" in ids
    # The given trial is kept and its episode completed: one episode of two trials per tool.
    assert len(ids) == 6 * 2
    assert next(t for t in read_trials(path) if t.trial_id == "get_order/e000/t0").success
    assert continual.explore_more(given, out, 1, model) == path
    assert [t.trial_id for t in read_trials(path)] == ids
