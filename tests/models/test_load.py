"""load_chat_model: every spec form builds the right model without touching the network."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI

from langchain_ste.models import load_chat_model
from langchain_ste.models.local import ChatLocalHF
from langchain_ste.models.react import ReActChatModel


def test_local_specs() -> None:
    assert isinstance(load_chat_model(), ChatLocalHF)
    model = load_chat_model("local+adapter=/tmp/adapter", max_new_tokens=12)
    assert isinstance(model, ChatLocalHF)
    assert (model.adapter, model.max_new_tokens) == ("/tmp/adapter", 12)
    assert model.model_name.endswith("+/tmp/adapter")


def test_model_folder_repo_id_and_hf_prefix(tmp_path: Path) -> None:
    folder, hf = load_chat_model(str(tmp_path)), load_chat_model("hf:org/model")
    assert isinstance(folder, ChatLocalHF) and isinstance(hf, ChatLocalHF)
    assert (folder.model_path, hf.model_path) == (str(tmp_path), "org/model")
    repo = load_chat_model("HuggingFaceTB/SmolLM2-360M-Instruct", temperature=0.7)
    assert isinstance(repo, ChatLocalHF)
    assert (repo.model_path, repo.temperature) == ("HuggingFaceTB/SmolLM2-360M-Instruct", 0.7)


def test_a_missing_model_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such model folder"):
        load_chat_model(str(tmp_path / "missing" / "model"))


def test_unknown_providers_list_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match=r"(?s)model_provider.*'local\+adapter=DIR'"):
        load_chat_model("nosuchprovider:model")


def test_openai_compatible_server() -> None:
    model = load_chat_model("qwen", base_url="http://127.0.0.1:8000/v1")
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:8000/v1"
    same = load_chat_model("openai-compatible:qwen", base_url="http://127.0.0.1:8000/v1")
    assert isinstance(same, ChatOpenAI) and same.model_name == "qwen"


def test_react_protocol_wraps_any_model() -> None:
    model = load_chat_model("qwen", base_url="http://127.0.0.1:8000/v1", protocol="react")
    assert isinstance(model, ReActChatModel) and isinstance(model.inner, ChatOpenAI)
    assert isinstance(load_chat_model("local", protocol="react"), ChatLocalHF)


def test_provider_specs_go_through_init_chat_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = load_chat_model("openai:gpt-4o-mini", temperature=0)
    assert isinstance(model, ChatOpenAI) and model.model_name == "gpt-4o-mini"


@pytest.mark.parametrize("spec", ["", "local+foo=1", "just-a-name", "local+adapter"])
def test_bad_specs_name_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError, match="provider:model"):
        load_chat_model(spec)


def test_local_models_reject_unknown_options() -> None:
    with pytest.raises(ValueError, match="local models take"):
        load_chat_model("local", api_key="x")


def test_openai_compatible_spec_needs_a_base_url() -> None:
    with pytest.raises(ValueError, match="needs base_url"):
        load_chat_model("openai-compatible:qwen")


def test_native_protocol_keeps_the_model() -> None:
    model = load_chat_model("qwen", base_url="http://127.0.0.1:8000/v1", protocol="native")
    assert isinstance(model, ChatOpenAI)
