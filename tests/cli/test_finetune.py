"""`ste export` and `ste finetune` (the latter on a tiny random model saved as a folder)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from langchain_ste.cli import app
from langchain_ste.finetune.replay import RECORDS_FILE
from langchain_ste.trial import Trial
from langchain_ste.trial_log import write_trials

runner = CliRunner()
TOOLS = "langchain_ste.tools.examples:example_tools"


@pytest.fixture
def trials_file(trials: list[Trial], tmp_path: Path) -> Path:
    write_trials(tmp_path / "run" / "trials.jsonl", trials)
    return tmp_path / "run" / "trials.jsonl"


def test_export_writes_each_format(trials_file: Path, tmp_path: Path) -> None:
    for fmt in ("react", "hf", "openai"):
        out = tmp_path / fmt / "data.jsonl"
        result = runner.invoke(
            app, ["export", str(trials_file.parent), str(out), "-f", fmt, "--tools", TOOLS]
        )
        assert result.exit_code == 0, result.output
        assert "6 examples kept" in result.output
        lines = out.read_text().splitlines()
        assert len(lines) == 6
        assert ("tools" in json.loads(lines[0])) == (fmt != "react")
        assert (tmp_path / fmt / "tools.json").is_file()


def test_export_errors_are_clear(trials: list[Trial], tmp_path: Path) -> None:
    missing = runner.invoke(app, ["export", str(tmp_path / "nope.jsonl"), "out.jsonl"])
    assert missing.exit_code == 2 and "no trials file" in missing.output
    bad = runner.invoke(app, ["export", str(tmp_path / "nope.jsonl"), "o.jsonl", "-f", "csv"])
    assert bad.exit_code == 2 and "react, hf, native, openai" in bad.output
    for t in trials:
        t.success = False
    write_trials(tmp_path / "failed.jsonl", trials)
    failed = runner.invoke(app, ["export", str(tmp_path / "failed.jsonl"), str(tmp_path / "o")])
    assert failed.exit_code == 2 and "6 not successful" in failed.output


@pytest.fixture
def tiny_base(tiny_model: Callable[[], Any], tokenizer: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-base"
    tiny_model().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_finetune_rounds_with_replay_continue_the_previous_adapter(
    trials_file: Path, tiny_base: Path, tmp_path: Path
) -> None:
    common = [
        "--base",
        str(tiny_base),
        "--tools",
        TOOLS,
        "--max-steps",
        "1",
        "--batch-size",
        "2",
        "--max-length",
        "2048",
    ]
    first = runner.invoke(
        app, ["finetune", str(trials_file), "--out", str(tmp_path / "r1"), *common]
    )
    assert first.exit_code == 0, first.output
    assert len((tmp_path / "r1" / RECORDS_FILE).read_text().splitlines()) == 6
    second = runner.invoke(
        app,
        [
            "finetune",
            str(trials_file),
            "--out",
            str(tmp_path / "r2"),
            "--previous",
            str(tmp_path / "r1"),
            "--replay",
            "0.5",
            *common,
        ],
    )
    assert second.exit_code == 0, second.output
    assert "training on 9 records (3 replayed)" in second.output
    report = json.loads((tmp_path / "r2" / "train_report.json").read_text())
    assert report["settings"]["continued_from"] == str(tmp_path / "r1")
    config = json.loads((tmp_path / "r2" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_base)


def test_finetune_rejects_previous_folders_without_records(
    trials_file: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["finetune", str(trials_file), "--previous", str(tmp_path)])
    assert result.exit_code == 2 and RECORDS_FILE in result.output


def test_export_never_replaces_its_input(trials_file: Path) -> None:
    before = trials_file.read_bytes()
    for out in (trials_file, trials_file.parent / "." / "trials.jsonl"):
        result = runner.invoke(app, ["export", str(trials_file), str(out), "--force"])
        assert result.exit_code == 2 and "is the input trials file" in result.stderr
    folder = runner.invoke(app, ["export", str(trials_file.parent), str(trials_file), "--force"])
    assert folder.exit_code == 2
    assert trials_file.read_bytes() == before
    assert not (trials_file.parent / "tools.json").exists()


def test_export_replaces_an_existing_output_only_with_force(
    trials_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ds" / "data.jsonl"
    out.parent.mkdir()
    out.write_text("keep me\n")
    refused = runner.invoke(app, ["export", str(trials_file), str(out), "--tools", TOOLS])
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert out.read_text() == "keep me\n" and not (out.parent / "tools.json").exists()
    forced = runner.invoke(app, ["export", str(trials_file), str(out), "--tools", TOOLS, "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(out.read_text().splitlines()) == 6
    assert sorted(p.name for p in out.parent.iterdir()) == ["data.jsonl", "tools.json"]


def test_export_writes_atomically(trials_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds" / "data.jsonl"
    out.parent.mkdir()
    out.write_text("old\n")
    with mock.patch("langchain_ste.fileio.os.replace", side_effect=OSError("disk gone")):
        result = runner.invoke(
            app, ["export", str(trials_file), str(out), "--tools", TOOLS, "--force"]
        )
    assert result.exit_code != 0
    assert out.read_text() == "old\n"  # the old file whole, no temporary file left
    assert sorted(p.name for p in out.parent.iterdir()) == ["data.jsonl"]


def test_finetune_on_a_file_without_trials_is_one_line_and_writes_nothing(
    trials: list[Trial], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    dataset = tmp_path / "data.jsonl"
    dataset.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    for source, needle in ((empty, "holds no trials"), (dataset, "data.jsonl:1: not a trial")):
        out = tmp_path / "adapter"
        result = runner.invoke(app, ["finetune", str(source), "--out", str(out)])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert needle in lines[0]
        assert "Traceback" not in result.output and not out.exists()
