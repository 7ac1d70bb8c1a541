"""`TrialLog` under concurrent writers (threads and processes) and type-confused records."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from langchain_ste.memory.base import LogStore
from langchain_ste.trajectory import STEP_KEY, Step
from langchain_ste.trial import Trial, TrialSchemaError
from langchain_ste.trial_log import TrialLog

BIG = "x" * 200_000  # large records: one write() of several lines is not instantaneous


def make(i: int, *, big: bool = True) -> Trial:
    return Trial.from_steps(
        trial_id=Trial.make_id(["t"], 0, i),
        tools=["t"],
        episode=0,
        index=i,
        query=f"q{i}",
        steps=[Step(tool="t", args={"i": i}, call_id=f"c{i}", output=BIG if big else str(i))],
    )


def lines_of(path: Path) -> list[dict[str, object]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.splitlines()]


def test_threads_with_their_own_logs_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    n, writers = 40, 8
    counts = [0] * writers
    barrier = threading.Barrier(writers)

    def write(k: int) -> None:
        log = TrialLog(path)  # each writer its own object, as separate components have
        barrier.wait()
        for start in range(0, n, 4):  # every writer offers every id, in batches
            counts[k] += log.append(make(i) for i in range(start, start + 4))

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [r["trial_id"] for r in lines_of(path)]
    assert sorted(ids) == sorted(make(i).trial_id for i in range(n))  # none lost, none twice
    assert sum(counts) == n  # each id reported as written exactly once
    assert len(TrialLog(path)) == n


def test_one_log_shared_by_threads_writes_each_id_once(tmp_path: Path) -> None:
    log = TrialLog(tmp_path / "trials.jsonl")
    barrier = threading.Barrier(8)

    def write() -> None:
        barrier.wait()
        for i in range(30):
            log.append([make(i, big=False)])

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(lines_of(log.path)) == 30


def _process_writer(path: str, offset: int, n: int, go: multiprocessing.synchronize.Event) -> None:
    log = TrialLog(path)
    go.wait()
    for i in range(n):
        log.append([make(offset + i), make(i)])  # one id of its own, one shared with the other


def test_processes_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    n = 25
    procs = [
        ctx.Process(target=_process_writer, args=(str(path), 1000 * (k + 1), n, go))
        for k in range(2)
    ]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ids = [r["trial_id"] for r in lines_of(path)]
    assert len(ids) == len(set(ids)) == 3 * n


def test_torn_tail_left_by_a_dead_writer_is_still_repaired(tmp_path: Path) -> None:
    log = TrialLog(tmp_path / "trials.jsonl")
    log.append([make(0, big=False)])
    with log.path.open("ab") as fh:  # a writer killed mid-line
        fh.write(json.dumps(make(1, big=False).to_dict()).encode()[:20])
    assert TrialLog(log.path).append([make(2, big=False)]) == 1
    assert [r["index"] for r in lines_of(log.path)] == [0, 2]


def test_new_trials_reports_other_writers_appends(tmp_path: Path) -> None:
    mine, theirs = TrialLog(tmp_path / "trials.jsonl"), TrialLog(tmp_path / "trials.jsonl")
    mine.append([make(0, big=False)])
    assert mine.new_trials() == []
    theirs.append([make(1, big=False), make(0, big=False)])
    assert [t.index for t in mine.new_trials()] == [1]
    assert mine.append([make(1, big=False)]) == 0


def test_log_store_is_idempotent_across_stores_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    first, second = LogStore(path), LogStore(path)
    assert first.add([make(0, big=False)]) == 1
    assert second.add([make(0, big=False), make(1, big=False)]) == 1
    assert first.add([make(1, big=False)]) == 0
    assert len(lines_of(path)) == 2


GOOD = make(0, big=False).to_dict()


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("query", 123, "query"),
        ("tools", [1], "tools"),
        ("tools", "t", "tools"),
        ("episode", "zero", "episode"),
        ("messages", "hello", "messages"),
        ("messages", [1, 2], "messages"),
        ("success", "yes", "success"),
        ("v1 steps", [{"tool": "t", "args": "x", "call_id": "c"}], "args"),
        ("v1 steps", [{"tool": 5, "args": {}, "call_id": "c"}], "tool"),
        ("v1 steps", ["not a step"], "steps"),
        ("v1 final_answer", 3, "final_answer"),
        ("step record", {"status": "fine"}, "status"),
        ("step record", {"status": "ok", "duration_s": "long"}, "duration_s"),
        ("step record", "ok", "ste_step"),
        ("signals", [], "signals"),
        ("extra", "x", "extra"),
        ("created_at", "now", "created_at"),
        ("error", 3, "error"),
    ],
)
def test_type_confused_record_is_a_schema_error_with_file_and_line(
    tmp_path: Path, field: str, value: object, needle: str
) -> None:
    path = tmp_path / "trials.jsonl"
    bad = make(1, big=False).to_dict()
    if field.startswith("v1 "):  # a version-1 record kept its steps beside the messages
        bad.update({"schema_version": 1, "messages": [], field[3:]: value})
    elif field == "step record":  # version 2 keeps them in the ToolMessages
        bad["messages"][2]["data"]["response_metadata"][STEP_KEY] = value
    else:
        bad[field] = value
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(TrialSchemaError, match=rf"trials\.jsonl:2: .*{needle}"):
        TrialLog(path).read()
    with pytest.raises(TrialSchemaError, match=needle):
        Trial.from_dict(bad)
