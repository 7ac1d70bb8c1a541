"""One writer per output directory, checked with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_ste.memory.lock import RunLock, RunLockedError

HOLDER = """
import sys, time
from langchain_ste.memory.lock import RunLock
lock = RunLock(sys.argv[1])
lock.acquire()
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def test_second_process_gets_clear_error(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(RunLockedError, match=rf"in use by .*pid {holder.pid}.*another output"):
        RunLock(tmp_path).acquire()


def test_exploration_refuses_a_locked_directory(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    from langchain_ste.explore import ExploreSettings, explore
    from langchain_ste.testing import ScriptedChatModel
    from langchain_ste.tools.examples import example_tools

    with pytest.raises(RunLockedError):
        explore(
            ScriptedChatModel(script=["q"]),
            example_tools(),
            memory=tmp_path,
            settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1),
        )
    assert not (tmp_path / "trials.jsonl").exists()


def test_lock_is_freed_when_the_holder_is_killed(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(10)
    with RunLock(tmp_path) as lock:
        assert lock.locked
    assert not lock.locked


def test_same_process_second_lock_and_release_are_safe(tmp_path: Path) -> None:
    first = RunLock(tmp_path)
    first.acquire()
    with pytest.raises(RunLockedError):
        RunLock(tmp_path).acquire()
    first.release()
    first.release()  # releasing twice is harmless
    RunLock(tmp_path).acquire()
