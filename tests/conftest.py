"""Shared fixtures: the network is closed to everything but loopback, and models load offline."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pytest_socket import socket_allow_hosts

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

LOOPBACK = ["127.0.0.1", "localhost", "::1"]
TINY_SPEC = "local:smollm2-135m"
"""The tiny embedded model the integration tests run on (the default "local" is the 0.5B)."""


def pytest_sessionstart(session: pytest.Session) -> None:
    # Collection (test module imports) runs under the guard too.
    socket_allow_hosts(LOOPBACK, allow_unix_socket=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Any connection to a non-loopback address fails the test (local servers stay usable).
    # pytest-socket lifts restrictions after each test, so they are set again before each one.
    socket_allow_hosts(LOOPBACK, allow_unix_socket=True)


@pytest.fixture(scope="session")
def local_chat_model() -> Iterator[object]:
    """The tiny embedded SmolLM2-135M chat model, loaded once per session (greedy, short)."""
    from langchain_ste.models import load_chat_model

    yield load_chat_model(TINY_SPEC, max_new_tokens=64)


@pytest.fixture(scope="session")
def embeddings() -> Iterator[object]:
    """The embedded MiniLM embeddings, loaded once per session."""
    from langchain_ste.memory.embeddings import load_embeddings

    yield load_embeddings()
