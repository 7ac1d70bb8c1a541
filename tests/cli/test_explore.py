"""`ste explore` on a deterministic scripted explorer."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from langchain_ste.cli import app
from langchain_ste.trial import Trial
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


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    good = Trial(trial_id="a/e000/t0", tools=["a"], episode=0, index=0, query="q").to_dict()
    (corrupt / "trials.jsonl").write_text(
        json.dumps(good) + "\n" + json.dumps({**good, "trial_id": "b", "query": 123}) + "\n"
    )
    fake = ["--model-factory", "langchain_ste.testing:ScriptedExplorer"]
    cases = {
        "factory": (["--out", "new1", "--model-factory", "nosuch:x"], "--model-factory"),
        "not a chat model": (
            ["--out", "new2", "--model-factory", "langchain_ste.memory.base:ListStore"],
            "not a LangChain chat model",
        ),
        "out is a file": (["--out", "afile", *fake], "is a file, not a folder"),
        "corrupt trials": (["--out", "corrupt", *fake], "trials.jsonl:2: "),
        "concurrency": (["--out", "new3", *fake, "--max-concurrency", "-1"], "at least 1"),
        "policy typo": (["--out", "new4", *fake, "--policy", "convert_unit=skip"], "known tools"),
        "act tools": (["--out", "new5", *fake, "--act-tools", "some"], "all or targets"),
    }
    before = tree(tmp_path)
    for name, (args, needle) in cases.items():
        paths = [
            str(tmp_path / a) if a.startswith(("new", "afile", "corrupt")) else a for a in args
        ]
        result = CliRunner().invoke(app, ["explore", TOOLS, *paths])
        assert result.exit_code == 2, (name, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], name
        assert "Traceback" not in result.output, name
    assert tree(tmp_path) == before  # nothing written, no empty folder left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "corrupt"]


def test_policy_for_an_unknown_tool_is_refused_with_the_known_tools(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["explore", TOOLS, "--out", str(tmp_path / "o"), *FAKE, "--policy", "convert=skip"]
    )
    assert result.exit_code == 2
    assert "convert (did you mean convert_units?)" in result.stderr
    assert "known tools: convert_units, search_catalog" in result.stderr
    assert not (tmp_path / "o").exists()
