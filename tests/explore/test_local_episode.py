"""A real exploration episode with the embedded SmolLM2 model on the example tools."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from langchain_ste.explore import PRESETS, explore
from langchain_ste.tools.examples import example_tools
from langchain_ste.trajectory import check_tool_pairing
from langchain_ste.trial_log import TrialLog

pytestmark = pytest.mark.integration


def test_one_real_episode_end_to_end(local_chat_model: object, tmp_path: Path) -> None:
    trials = explore(
        local_chat_model,
        example_tools(),
        memory=tmp_path,  # type: ignore[arg-type]
        only=["convert_units"],
        settings=replace(PRESETS["small-model"], episodes_per_tool=1, trials_per_episode=1),
    )
    assert [t.trial_id for t in trials] == ["convert_units/e000/t0"]
    trial = trials[0]
    assert trial.query and trial.model and trial.error is None
    # small-model: demonstrations and grounded verdicts.
    assert trial.exemplars and all(e.startswith("synthetic:") for e in trial.exemplars)
    assert set(trial.signals) >= {
        "parsed",
        "executed_ok",
        "nonempty_result",
        "answer_uses_result",
        "model_verdict",
    }
    assert trial.usage["total_tokens"] > 0 and trial.timings["total_s"] > 0
    assert len(trial.steps) <= 2  # the preset's step limit
    messages = trial.to_messages()
    assert messages[0].content == trial.query
    check_tool_pairing(messages)
    assert [t.trial_id for t in TrialLog(tmp_path / "trials.jsonl").read()] == [trial.trial_id]
