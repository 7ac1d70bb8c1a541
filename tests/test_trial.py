"""Trial records and the append-only log: torn lines, corrupt files, newer schemas, fuzzing."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_ste.trajectory import STEP_KEY, Step, check_tool_pairing, trajectory_to_dicts
from langchain_ste.trial import SCHEMA_VERSION, Trial, TrialSchemaError, exemplar_messages
from langchain_ste.trial_log import TrialLog


def make(i: int, tool: str = "t", output: str | None = None) -> Trial:
    return Trial.from_steps(
        trial_id=Trial.make_id([tool], 0, i),
        tools=[tool],
        episode=0,
        index=i,
        query=f"q{i}",
        created_at=1.0,
        steps=[Step(tool=tool, args={"i": i}, call_id=f"c{i}", output=output or str(i))],
    )


def test_append_read_roundtrip_and_dedup(tmp_path: Path) -> None:
    log = TrialLog(tmp_path / "sub" / "trials.jsonl")
    assert log.append([make(0), make(1), make(0)]) == 2
    assert log.append([make(1), make(2)]) == 1
    assert TrialLog(log.path).read() == [make(0), make(1), make(2)]
    assert len(TrialLog(log.path)) == 3


def test_torn_last_line_dropped_then_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = TrialLog(tmp_path / "trials.jsonl")
    log.append([make(0), make(1)])
    line = (json.dumps(make(2).to_dict()) + "\n").encode()
    with log.path.open("ab") as fh:
        fh.write(line[: len(line) // 2])  # a crash mid-write
    fresh = TrialLog(log.path)
    assert [t.index for t in fresh.read()] == [0, 1]
    assert "torn last line" in caplog.text
    assert fresh.append([make(2)]) == 1
    assert [t.index for t in TrialLog(log.path).read()] == [0, 1, 2]
    assert log.path.read_bytes().count(b"\n") == 3


def test_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    path.write_text(json.dumps(make(0).to_dict()) + "\n" + json.dumps(make(1).to_dict()))
    log = TrialLog(path)
    assert [t.index for t in log.read()] == [0, 1]
    log.append([make(2)])
    assert [t.index for t in TrialLog(path).read()] == [0, 1, 2]


def test_torn_multibyte_character_is_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    path.write_bytes(json.dumps(make(0).to_dict()).encode() + b"\n" + '{"query": "é'.encode()[:-1])
    assert [t.index for t in TrialLog(path).read()] == [0]


@pytest.mark.parametrize("bad", [b"{not json", b"[1, 2]", b'{"trial_id": 1}', b"\xff\xfe"])
def test_corrupt_middle_line_is_a_clear_error_and_nothing_changes(
    tmp_path: Path, bad: bytes
) -> None:
    path = tmp_path / "trials.jsonl"
    good = json.dumps(make(0).to_dict()).encode()
    content = good + b"\n" + bad + b"\n" + json.dumps(make(1).to_dict()).encode() + b"\n"
    path.write_bytes(content)
    with pytest.raises(TrialSchemaError, match=r"trials\.jsonl:2: .*") as info:
        TrialLog(path).read()
    assert "not" in str(info.value) or "corrupt" in str(info.value)
    with pytest.raises(TrialSchemaError):
        TrialLog(path).append([make(5)])
    assert path.read_bytes() == content


def test_newer_schema_is_refused_with_upgrade_hint(tmp_path: Path) -> None:
    path = tmp_path / "trials.jsonl"
    record = {**make(0).to_dict(), "schema_version": SCHEMA_VERSION + 1}
    path.write_text(json.dumps(record) + "\n")
    newer = SCHEMA_VERSION + 1
    with pytest.raises(TrialSchemaError, match=rf":1: .*schema version {newer}.*upgrade langchain"):
        TrialLog(path).read()


def test_unknown_fields_from_same_version_are_ignored() -> None:
    data = make(0).to_dict()
    data["future_field"] = 1
    data["messages"][2]["data"]["response_metadata"][STEP_KEY]["future_step_field"] = "x"
    read = Trial.from_dict(data)
    assert read.steps == make(0).steps and read.query == make(0).query


def test_every_append_is_fsynced(tmp_path: Path) -> None:
    log = TrialLog(tmp_path / "trials.jsonl")
    with mock.patch("langchain_ste.trial_log.os.fsync", wraps=os.fsync) as fsync:
        log.append([make(0)])
        log.append([make(1)])
        log.append([make(1)])  # nothing new: no write
    assert fsync.call_count == 2


def test_lone_surrogates_round_trip(tmp_path: Path) -> None:
    trial = make(0, output="bad \udcff byte")
    log = TrialLog(tmp_path / "trials.jsonl")
    log.append([trial])
    assert TrialLog(log.path).read()[0].steps[0].output == "bad \udcff byte"


def test_exemplar_messages_keep_pairs() -> None:
    calls = [{"name": "t", "args": {}, "id": f"c{i}", "type": "tool_call"} for i in range(2)]
    msgs = [
        HumanMessage("q"),
        AIMessage("", tool_calls=calls),
        ToolMessage("a", tool_call_id="c0"),
        ToolMessage("b", tool_call_id="c1"),
        AIMessage("done"),
    ]
    trial = Trial(
        trial_id="t/e000/t0",
        tools=["t"],
        episode=0,
        index=0,
        query="q",
        messages=trajectory_to_dicts(msgs),
    )
    out = exemplar_messages(trial, "p")
    assert isinstance(out[1], AIMessage)
    assert [c["id"] for c in out[1].tool_calls] == ["p_0", "p_1"]
    with pytest.raises(ValueError, match="without a ToolMessage"):
        check_tool_pairing(msgs[:3])


# -- fuzzing ----------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

steps = st.builds(
    Step,
    tool=st.text(max_size=10),
    args=st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    call_id=st.text(max_size=8),
    output=st.text(max_size=50),
    status=st.sampled_from(["ok", "error", "skipped", "emulated"]),
    error_kind=st.none() | st.sampled_from(["timeout", "crash", "exception"]),
    error=st.none() | st.text(max_size=20),
    duration_s=st.floats(0, 1e6, allow_nan=False),
)

trials = st.builds(
    Trial.from_steps,
    trial_id=st.text(min_size=1, max_size=20),
    tools=st.lists(st.text(max_size=8), max_size=3),
    episode=st.integers(0, 999),
    index=st.integers(0, 99),
    query=st.text(max_size=60),
    steps=st.lists(steps, max_size=3),
    final_answer=st.text(max_size=40),
    success=st.booleans(),
    lesson=st.text(max_size=40),
    signals=st.dictionaries(st.text(max_size=8), st.booleans(), max_size=3),
    emulated=st.booleans(),
    usage=st.dictionaries(st.text(max_size=8), st.integers(0, 10**6), max_size=2),
    created_at=st.floats(0, 2e9, allow_nan=False),
    error=st.none() | st.text(max_size=20),
    extra=st.dictionaries(st.text(max_size=8), json_values, max_size=2),
)


@settings(max_examples=80, deadline=None)
@given(made=st.lists(steps, max_size=4), answer=st.text(max_size=30))
def test_from_steps_reads_back_the_same_steps_and_answer(made: list[Step], answer: str) -> None:
    trial = Trial.from_steps(
        trial_id="t", tools=["t"], episode=0, index=0, query="q", steps=made, final_answer=answer
    )
    expected = tuple(replace(s, call_id=s.call_id or f"call_{n}") for n, s in enumerate(made))
    again = Trial.from_dict(json.loads(json.dumps(trial.to_dict())))
    assert trial.steps == expected and again.steps == expected
    assert trial.final_answer == again.final_answer == answer.strip()



@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(trials, max_size=5, unique_by=lambda t: t.trial_id))
def test_fuzz_write_read_round_trip(tmp_path: Path, batch: list[Trial]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.unlink(missing_ok=True)
    TrialLog(path).append(batch)
    assert TrialLog(path).read() == batch


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    blob=st.binary(max_size=300)
    | st.lists(
        st.sampled_from(
            [
                b"{",
                b"}",
                b'"trial_id"',
                b":",
                b",",
                b"\n",
                b"[",
                b"]",
                b"1",
                b'"x"',
                b'"steps"',
                b'"schema_version"',
                b"null",
                b"\xc3",
                b"\xff",
                b'"tools"',
            ]
        ),
        max_size=40,
    ).map(b"".join)
)
def test_fuzz_reader_raises_only_schema_errors(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(json.dumps(make(0).to_dict()).encode() + b"\n" + blob)
    try:
        got = TrialLog(path).read()
    except TrialSchemaError:
        return
    assert got[0] == make(0)
