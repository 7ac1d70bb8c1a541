"""Exploration on a local Ray cluster with a shared Chroma server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_ste.explore import ExploreSettings, explore
from langchain_ste.explore.ray import explore_on_ray
from langchain_ste.testing import ScriptedExplorer
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.integration
SETTINGS = ExploreSettings(episodes_per_tool=2, trials_per_episode=2, max_steps=1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    marker = tmp_path_factory.mktemp("ray") / "died"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                                       "ANONYMIZED_TELEMETRY": "False",
                                       "STE_TEST_DIE_MARKER": str(marker)}})
    yield marker
    ray.shutdown()


def content(trials: list[Trial]) -> list[tuple[Any, ...]]:
    return [(t.trial_id, t.query, [(s.tool, s.args, s.output) for s in t.steps], t.success)
            for t in trials]


def test_same_trials_as_in_process(local_ray: Path, tmp_path: Path) -> None:
    from tests.explore.tools_for_ray import tools

    local = explore(ScriptedExplorer(), tools(), memory=tmp_path / "local", settings=SETTINGS)
    distributed = explore_on_ray("tests.explore.tools_for_ray:tools",
                                 out_dir=tmp_path / "ray",
                                 model_factory="langchain_ste.testing:ScriptedExplorer",
                                 settings=SETTINGS)
    assert len(distributed) == 8
    assert content(distributed) == content(local)
    merged = TrialLog(tmp_path / "ray" / "trials.jsonl").read()
    assert [t.trial_id for t in merged] == [t.trial_id for t in distributed]


def test_a_worker_killed_mid_episode_is_retried_without_duplicates(
    local_ray: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = local_ray
    monkeypatch.setenv("STE_TEST_DIE_MARKER", str(marker))  # the driver loads the tools too
    events: list[dict[str, Any]] = []
    trials = explore_on_ray("tests.explore.tools_for_ray:dying_tools",
                            out_dir=tmp_path / "run",
                            model_factory="langchain_ste.testing:ScriptedExplorer",
                            on_event=events.append, settings=SETTINGS)
    assert marker.exists(), "the worker really died once"
    ids = [t.trial_id for t in trials]
    assert len(ids) == len(set(ids)) == 8
    unit = (tmp_path / "run" / "units" / "search_catalog" / "trials.jsonl").read_text()
    assert len(unit.splitlines()) == 4
    assert [e["done"] for e in events] == [1, 2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_workers_share_one_chroma_server(local_ray: Path, tmp_path: Path) -> None:
    port = _free_port()
    chroma = str(Path(sys.executable).with_name("chroma"))
    server = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "db"), "--host",
                               "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "chroma server did not start"
                time.sleep(0.2)
        trials = explore_on_ray("tests.explore.tools_for_ray:tools", out_dir=tmp_path / "r",
                                model_factory="langchain_ste.testing:ScriptedExplorer",
                                chroma_host="127.0.0.1", chroma_port=port, settings=SETTINGS)
        import chromadb

        client = chromadb.HttpClient(host="127.0.0.1", port=port)
        assert client.get_collection("ste_trials").count() == len(trials) == 8
    finally:
        server.terminate()
        server.wait(timeout=10)
