"""`ste explore` on a deterministic scripted explorer."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from langchain_ste.cli import app
from langchain_ste.trial_log import TrialLog

TOOLS = "langchain_ste.tools.examples:example_tools"
FAKE = ["--model-factory", "langchain_ste.testing:ScriptedExplorer", "--no-memory"]


def test_explore_writes_trials_prints_a_summary_and_resumes(tmp_path: Path) -> None:
    args = [
        "explore",
        TOOLS,
        "--out",
        str(tmp_path),
        *FAKE,
        "--preset",
        "paper",
        "--episodes",
        "1",
        "--trials",
        "2",
        "--policy",
        "search_catalog=skip",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    trials = TrialLog(tmp_path / "trials.jsonl").read()
    assert [t.trial_id for t in trials] == ["convert_units/e000/t0", "convert_units/e000/t1"]
    assert "convert_units" in result.stdout and "search_catalog" not in result.stdout
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert len(TrialLog(tmp_path / "trials.jsonl").read()) == 2  # resumed: nothing redone


def test_bad_options_name_the_problem(tmp_path: Path) -> None:
    bad_policy = CliRunner().invoke(
        app, ["explore", TOOLS, "--out", str(tmp_path), *FAKE, "--policy", "convert_units=maybe"]
    )
    assert bad_policy.exit_code == 2 and "TOOL=run|emulate|skip" in bad_policy.output
    bad_tools = CliRunner().invoke(
        app, ["explore", "nowhere_xyz:tools", "--out", str(tmp_path), *FAKE]
    )
    assert bad_tools.exit_code == 2 and "cannot import 'nowhere_xyz'" in bad_tools.output
    bad_only = CliRunner().invoke(
        app, ["explore", TOOLS, "--out", str(tmp_path), *FAKE, "--only", "nope"]
    )
    assert bad_only.exit_code == 2 and "unknown tools ['nope']" in bad_only.output
