"""`ste explore --executor ray [--chroma-url URL]` on a local Ray with the scripted explorer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_ste.cli import app
from langchain_ste.cli.explore import _parse_chroma_url
from langchain_ste.explore import ExploreSettings, explore
from langchain_ste.testing import ScriptedExplorer
from langchain_ste.tools.examples import example_tools
from langchain_ste.trial_log import TrialLog

ray = pytest.importorskip("ray")
TOOLS = "langchain_ste.tools.examples:example_tools"
FAKE = ["--model-factory", "langchain_ste.testing:ScriptedExplorer"]
ROOT = Path(__file__).resolve().parents[2]
RUN = ["--preset", "paper", "--episodes", "1", "--trials", "2", "--max-steps", "1"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "ANONYMIZED_TELEMETRY": "False"}},
    )
    yield
    ray.shutdown()


@pytest.mark.integration
def test_ray_executor_explores_every_tool_like_the_local_one(
    local_ray: None, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    args = ["explore", TOOLS, "--out", str(out), *FAKE, *RUN, "--executor", "ray", "--no-memory"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    settings = ExploreSettings(episodes_per_tool=1, trials_per_episode=2, max_steps=1)
    local = explore(ScriptedExplorer(), example_tools(), memory=tmp_path / "local",
                    settings=settings)  # fmt: skip
    trials = TrialLog(out / "trials.jsonl").read()
    assert [t.trial_id for t in trials] == [t.trial_id for t in local]
    assert [t.query for t in trials] == [t.query for t in local]
    assert {p.name for p in (out / "units").iterdir()} == {"convert_units", "search_catalog"}
    assert "2/2 tools done" in result.stderr and "convert_units" in result.stdout
    again = CliRunner().invoke(app, args)  # a rerun resumes: nothing redone, nothing doubled
    assert again.exit_code == 0, again.output
    assert len(TrialLog(out / "trials.jsonl").read()) == len(trials)


def test_bad_executor_options_are_one_line_errors(tmp_path: Path) -> None:
    cases = {
        "executor": (["--executor", "dask"], "--executor must be local or ray"),
        "url": (["--chroma-url", "chroma-node:8001"], "is not http://host:port"),
        "base url": (
            ["--executor", "ray", "--model", "openai:gpt-4o-mini", "--base-url", "http://x/v1"],
            "--model-factory",
        ),
    }
    for name, (extra, needle) in cases.items():
        options = extra if "--model" in extra else [*FAKE, *extra]
        result = CliRunner().invoke(
            app, ["explore", TOOLS, "--out", str(tmp_path / name), *options]
        )
        assert result.exit_code == 2, (name, result.output)
        assert needle in result.stderr and "Traceback" not in result.output, name
        assert not (tmp_path / name).exists(), name
    assert _parse_chroma_url("http://chroma-node:8001") == {"host": "chroma-node", "port": 8001}
    assert _parse_chroma_url("https://chroma.example") == {"host": "chroma.example", "port": 443}
