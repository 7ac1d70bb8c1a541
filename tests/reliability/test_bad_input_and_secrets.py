"""The fault bench's tables as tests: bad command-line input and secrets on every write path."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from bench.fault_injection import (
    SECRET_PATHS,
    _leaks,
    _planted,
    _run_secret_path,
    _snapshot,
    cli_bad_input_cases,
    run_cli_case,
)


def test_every_bad_input_is_a_one_line_error_that_writes_nothing(tmp_path: Path) -> None:
    cases = cli_bad_input_cases(tmp_path)
    assert len(cases) >= 25
    before = _snapshot(tmp_path)
    for name, argv in cases:
        code, stdout, stderr = run_cli_case(argv)
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert code == 2, (name, stdout, stderr)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, stderr)
        assert "Traceback" not in stdout + stderr, name
        assert _snapshot(tmp_path) == before, f"{name} wrote to disk"


@pytest.mark.integration
@pytest.mark.parametrize("path", SECRET_PATHS)
def test_no_secret_format_reaches_disk(path: str, tmp_path: Path) -> None:
    """Every format planted in queries, arguments, outputs, answers and lessons; each path runs
    in a fresh process (Chroma's HNSW file is saved from uninitialised memory)."""
    _, secrets = _planted()
    assert len(secrets) >= 20
    out = tmp_path / "out"
    proc = multiprocessing.get_context("spawn").Process(
        target=_run_secret_path, args=(path, str(out), 1)
    )
    proc.start()
    proc.join(300)
    assert proc.exitcode == 0
    assert any(out.rglob("*")), "the path wrote nothing"
    assert _leaks(out, secrets) == set()
