"""Secrets are masked in text, data, trials, log records and everything exploration writes."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from langchain_ste.testing import ScriptedChatModel
from langchain_ste.tools.redact import (
    MASK,
    RedactingFilter,
    Redactor,
    install_log_redaction,
    redact_text,
)
from langchain_ste.trajectory import Step
from langchain_ste.trial import Trial

OPENAI = "sk-proj-Abc123Def456Ghi789Jkl012"
ANTHROPIC = "sk-ant-api03-ZZyyXXwwVVuuTTss0011"
GITHUB = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
AWS = "AKIAIOSFODNN7EXAMPLE"
GOOGLE = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
HF = "hf_abcdefghijklmnopqrstuvwxyzABCDEF"
STRIPE = "sk_live_51Habcdefghijklmnop"
SLACK = "xoxb-1234567890-abcdefghij"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PASSWORD = "Tr0ub4dor&3horse"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7Vx\nq1w2e3r4\n-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"key={OPENAI}", OPENAI),
        (f"use {ANTHROPIC} for claude", ANTHROPIC),
        (f"git push https://{GITHUB}@github.com/x", GITHUB),
        (f"aws id {AWS}", AWS),
        (f"maps key {GOOGLE}", GOOGLE),
        (f"HF_TOKEN {HF}", HF),
        (f"stripe {STRIPE}", STRIPE),
        (f"slack {SLACK}", SLACK),
        (f"cookie {JWT}", JWT),
        ("Authorization: Bearer abc.def-ghi_jkl~mno", "abc.def-ghi_jkl~mno"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        (f"postgres://admin:{PASSWORD}@db.internal:5432/app", PASSWORD),
        (f"password={PASSWORD}&user=bob", PASSWORD),
        (f"DB_PASSWORD: {PASSWORD}", PASSWORD),
        ('{"api_key": "my key has spaces 42"}', "my key has spaces 42"),
        ("{'client_secret': 'shh-its-secret'}", "shh-its-secret"),
        ("mytool --api-key abcd1234efgh", "abcd1234efgh"),
        (f"here:\n{PEM}\nthanks", "MIIEowIBAAKCAQEA7Vx"),
    ],
)
def test_default_patterns_mask_secrets(text: str, secret: str) -> None:
    out = Redactor().redact_text(text)
    assert secret not in out and MASK in out


@pytest.mark.parametrize(
    "text",
    [
        "convert 5 km to miles",
        "the password reset page is broken",
        "Tokens used: 120",
        "sk-short",
        "https://example.com/path?q=1",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor().redact_text(text) == text


def test_context_around_secret_is_kept() -> None:
    out = redact_text(f"postgres://admin:{PASSWORD}@db:5432/app")
    assert out == f"postgres://admin:{MASK}@db:5432/app"
    assert redact_text('{"api_key": "abc def ghi"}') == f'{{"api_key": "{MASK}"}}'


def test_user_redactors_patterns_and_functions() -> None:
    r = Redactor(
        extra=[
            r"EMP-\d{5}",
            re.compile(r"(?i)project falcon"),
            lambda s: s.replace("alice@corp.com", "<email>"),
        ]
    )
    out = r.redact_text("EMP-12345 from Project Falcon wrote to alice@corp.com")
    assert out == f"{MASK} from {MASK} wrote to <email>"
    with pytest.raises(TypeError, match="neither a pattern nor a function"):
        Redactor(extra=[42])  # type: ignore[list-item]


def test_secret_keys_in_data_are_masked_whole() -> None:
    data = {
        "password": "short",
        "db_api_key": "x1",
        "access_token": "t",
        "max_tokens": "100",
        "nested": [{"secret": "abc"}],
        "tokens": 5,
        "name": "bob",
    }
    out = Redactor().redact_value(data)
    assert out["password"] == out["db_api_key"] == out["access_token"] == MASK
    assert out["nested"][0]["secret"] == MASK
    assert (out["max_tokens"], out["tokens"], out["name"]) == ("100", 5, "bob")
    assert Redactor(secret_keys=None).redact_value({"password": "short"}) == {"password": "short"}


def test_redact_trial_masks_everything_and_keeps_ids() -> None:
    trial = Trial.from_steps(
        trial_id="login/e000/t0",
        tools=["login"],
        episode=0,
        index=0,
        query=f"log in with {OPENAI}",
        steps=[
            Step(tool="login", args={"password": PASSWORD}, call_id="c1", output=f"session {JWT}")
        ],
        final_answer=f"done, key {GITHUB}",
        lesson=f"pass {AWS}",
    )
    text = str(Redactor().redact_trial(trial).to_dict())
    for secret in (OPENAI, PASSWORD, JWT, GITHUB, AWS):
        assert secret not in text
    assert Redactor().redact_trial(trial).trial_id == "login/e000/t0"


def test_redacting_filter_masks_message_args_and_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log = logging.getLogger("langchain_ste.test_redact_probe")
    log.propagate = False
    log.addHandler(handler)
    try:
        install_log_redaction()
        log.warning("calling %s with %s", "api", {"api_key": OPENAI})
        try:
            raise RuntimeError(f"auth failed for {GITHUB}")
        except RuntimeError:
            log.exception("tool failed")
        assert install_log_redaction() in log.filters
        assert sum(isinstance(f, RedactingFilter) for f in log.filters) == 1
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert OPENAI not in written and GITHUB not in written
    assert "calling api with" in written and "RuntimeError" in written


SECRETS = [OPENAI, GITHUB, PASSWORD, JWT, AWS, "MIIEowIBAAKCAQEA7Vx"]


def test_no_secret_reaches_disk_after_exploration(tmp_path: Path) -> None:
    """Plant secrets in the query, tool arguments and outputs; grep every file written."""
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from langchain_ste.explore import ExploreSettings, explore
    from langchain_ste.memory.chroma import ExplorationMemory

    @tool
    def connect(url: str, api_key: str) -> str:
        """Connect to a database and report the session."""
        return (
            f"connected to {url}; session token={JWT}; aws {AWS}; "
            f"key file:\n{PEM}\nuse {GITHUB} next time"
        )

    def script(messages: list[Any], tools: list[str]) -> Any:
        last = messages[-1]
        if not tools:
            system = str(messages[0].content)
            if "check whether" in system:
                return f"Verdict: yes\nLesson: connect with api_key={OPENAI} works."
            return f"Connect to postgres://admin:{PASSWORD}@db/app with key {OPENAI}"
        if getattr(last, "type", "") == "tool":
            return AIMessage(f"Connected; your token is {GITHUB}.")
        args = {"url": f"postgres://admin:{PASSWORD}@db/app", "api_key": OPENAI}
        return AIMessage(
            "", tool_calls=[{"name": "connect", "args": args, "id": "c1", "type": "tool_call"}]
        )

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    logging.getLogger("langchain_ste").addHandler(handler)
    try:
        memory = ExplorationMemory(tmp_path, embeddings=DeterministicFakeEmbedding(size=16))
        install_log_redaction()
        logging.getLogger("langchain_ste.explore.graph").warning("planted %s", OPENAI)
        trials = explore(
            ScriptedChatModel(script=script),
            [connect],
            memory=memory,
            settings=ExploreSettings(episodes_per_tool=2, trials_per_episode=2),
        )
    finally:
        logging.getLogger("langchain_ste").removeHandler(handler)
    assert len(trials) == 4 and all(t.steps and t.steps[0].status == "ok" for t in trials)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "trials.jsonl" for p in files) and len(files) > 2
    for path in files:
        raw = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret[:8]}... found in {path}"
    assert records and not any(s in r for r in records for s in SECRETS)
