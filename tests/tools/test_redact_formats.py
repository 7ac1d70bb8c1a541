"""Every secret format the fault bench plants is masked in text, data, messages and trials."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from bench.fault_injection import secret_samples
from langchain_ste.tools.redact import MASK, Redactor, redact_messages
from langchain_ste.trajectory import Step
from langchain_ste.trial import Trial

SAMPLES = secret_samples()


def test_at_least_twenty_formats_are_covered() -> None:
    assert len({name for name, _, _ in SAMPLES}) >= 20


@pytest.mark.parametrize(("name", "text", "secret"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_format_is_masked_everywhere(name: str, text: str, secret: str) -> None:
    r = Redactor()
    assert secret not in r.redact_text(f"before {text} after")
    assert secret not in str(r.redact_value({"note": [text], "n": 1}))
    call = {"name": "connect", "args": {"note": text}, "id": "c1", "type": "tool_call"}
    messages = r.redact_messages(
        [HumanMessage(text), AIMessage("", tool_calls=[call]), ToolMessage(text, tool_call_id="c1")]
    )
    assert all(secret not in str(m.content) for m in messages)
    assert secret not in str(messages[1].tool_calls[0]["args"])
    trial = Trial.from_steps(
        trial_id="t/e000/t0",
        tools=["t"],
        episode=0,
        index=0,
        query=text,
        steps=[Step(tool="t", args={"x": text}, call_id="c1", output=text)],
        final_answer=text,
        lesson=text,
    )
    assert secret not in str(r.redact_trial(trial).to_dict())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://user:pa55/w0rd@host/db", "postgres://user:[REDACTED]@host/db"),
        ("redis://:pw@host:6379", "redis://:[REDACTED]@host:6379"),
        ("Authorization: Token 9f8e7d6c5b4a", "Authorization: Token [REDACTED]"),
        ("authorization=Bearer abcdefghijklmnopqrstu", "authorization=[REDACTED]"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = [REDACTED]",
        ),
        ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end", "secret [REDACTED] end"),
    ],
)
def test_issue_cases_are_masked_and_context_kept(text: str, expected: str) -> None:
    assert Redactor().redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it",  # a git sha is not a key
        "see https://example.com:8080/docs/page@v2 for details",  # a port, not a password
        "http://host:80/a?email=bob@example.com",
        "Authorization is required for this endpoint.",
        "The path /usr/local/lib/python3.11/site-packages/x is long",
    ],
)
def test_lookalikes_are_left_alone(text: str) -> None:
    assert MASK not in Redactor().redact_text(text)


def test_redact_messages_keeps_ids_names_and_pairing() -> None:
    call = {"name": "login", "args": {"password": "hunter22"}, "id": "call_1", "type": "tool_call"}
    ai = AIMessage("", tool_calls=[call], id="run-1")
    tool = ToolMessage("ok token=abcdef123456", tool_call_id="call_1", name="login", id="m2")
    out_ai, out_tool = redact_messages([ai, tool])
    assert isinstance(out_ai, AIMessage) and isinstance(out_tool, ToolMessage)
    assert out_ai.id == "run-1" and out_ai.tool_calls[0]["id"] == "call_1"
    assert out_ai.tool_calls[0]["args"] == {"password": MASK}
    assert (out_tool.tool_call_id, out_tool.name, out_tool.id) == ("call_1", "login", "m2")
    assert out_tool.content == f"ok token={MASK}"
    assert ai.tool_calls[0]["args"] == {"password": "hunter22"}  # the input is not changed
