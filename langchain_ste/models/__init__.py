"""Turn a short model spec into a LangChain chat model.

| spec | model |
| --- | --- |
| ``"local"`` | the embedded Qwen2.5-Coder-0.5B-Instruct (`ChatLocalHF`), the default learner |
| ``"local:NAME"`` | an embedded model: ``qwen2.5-coder-1.5b`` (the explorer), ``smollm2-135m`` |
| ``"local+adapter=DIR"`` | the same with a LoRA adapter (also ``"local:NAME+adapter=DIR"``) |
| a model folder, ``"org/name"`` or ``"hf:PATH"`` | Hugging Face weights, loaded locally, offline |
| ``"provider:model"`` | `langchain.chat_models.init_chat_model` (``"openai:gpt-4o-mini"``) |
| any name with ``base_url=...`` | an OpenAI-compatible server (vLLM, llama.cpp, Ollama) |

``protocol="react"`` speaks tools through the ReAct text protocol: a local model renders them so
itself, any other model is wrapped in `ReActChatModel` (for servers whose models have no native
tool calling). ``"native"`` forces a local model's chat-template tool format; ``"auto"`` (the
default) uses it when the template renders tools.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from langchain_ste.models.react import ReActChatModel

if TYPE_CHECKING:
    from langchain_ste.models.local import ChatLocalHF

_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
"""A Hugging Face repo id (``org/name``): loaded offline from the local Hugging Face cache."""
_LOCAL_FIELDS = {"max_new_tokens", "temperature", "seed", "device", "dtype"}
DEFAULT_EXPLORER_SPEC = "local:qwen2.5-coder-1.5b"
"""The default explorer: Qwen2.5-Coder-1.5B-Instruct, embedded."""
DEFAULT_LEARNER_SPEC = "local"
"""The default learner and agent model: Qwen2.5-Coder-0.5B-Instruct, embedded."""


def load_chat_model(
    spec: str = "local",
    *,
    base_url: str | None = None,
    protocol: Literal["auto", "native", "react"] = "auto",
    **kwargs: Any,
) -> BaseChatModel:
    """Build a chat model from a spec (see the module docstring for the forms).

    Args:
        spec: what to load.
        base_url: an OpenAI-compatible endpoint; ``spec`` is then the served model's name.
        protocol: ``"react"`` to speak tools through the ReAct text protocol; ``"native"`` or
            ``"auto"`` to keep the model's own tool calling (for a local model, ``"auto"``
            means native when its chat template renders tools).
        **kwargs: passed to the model class (e.g. ``temperature``, ``max_new_tokens``,
            ``api_key``).

    Raises:
        ValueError: the spec matches none of the accepted forms.

    Example:
        >>> model = load_chat_model("qwen2.5-7b", base_url="http://localhost:8000/v1")
        >>> type(model).__name__, model.model_name
        ('ChatOpenAI', 'qwen2.5-7b')
        >>> type(load_chat_model("local+adapter=out/adapter")).__name__
        'ChatLocalHF'
    """
    model = _build(spec.strip(), base_url, {**kwargs, "protocol": protocol})
    if protocol == "react" and not isinstance(model, ReActChatModel | _local_class()):
        return ReActChatModel(inner=model)
    return model


def _local_class() -> type[ChatLocalHF]:
    from langchain_ste.models.local import ChatLocalHF

    return ChatLocalHF


def _build(spec: str, base_url: str | None, kwargs: dict[str, Any]) -> BaseChatModel:
    protocol = kwargs.pop("protocol")
    if not spec:
        raise ValueError(_help("an empty spec"))
    if base_url is not None or spec.startswith("openai-compatible:"):
        from langchain_openai import ChatOpenAI

        if base_url is None:
            raise ValueError("an 'openai-compatible:MODEL' spec needs base_url=...")
        name = spec.removeprefix("openai-compatible:")
        api_key = kwargs.pop("api_key", None) or "EMPTY"
        if isinstance(api_key, str):
            api_key = SecretStr(api_key)
        return ChatOpenAI(model=name, base_url=base_url, api_key=api_key, **kwargs)
    local = _local_class()
    if spec == "local" or spec.startswith(("local:", "local+")):
        name, plus, extra = spec.partition("+")
        key, _, adapter = extra.partition("=")
        if plus and (key != "adapter" or not adapter):
            raise ValueError(_help(repr(spec)))
        from langchain_ste.models.embedded import embedded_model

        if name.startswith("local:"):
            embedded_model(name.removeprefix("local:"))  # an unknown name fails here, clearly
        return local(model_path=name, adapter=adapter or None, **_local(kwargs, protocol))
    if spec.startswith("hf:") or Path(spec).is_dir():
        return local(model_path=spec.removeprefix("hf:"), **_local(kwargs, protocol))
    if ":" in spec:
        from langchain.chat_models import init_chat_model

        try:
            return init_chat_model(spec, **kwargs)
        except ValueError as exc:
            raise ValueError(f"{exc}\n{_help(repr(spec))}") from exc
    if _REPO_ID.fullmatch(spec):
        return local(model_path=spec, **_local(kwargs, protocol))
    if "/" in spec or "\\" in spec:
        raise ValueError(_help(f"{spec!r} (no such model folder)"))
    raise ValueError(_help(repr(spec)))


def _local(kwargs: dict[str, Any], protocol: str) -> dict[str, Any]:
    unknown = set(kwargs) - _LOCAL_FIELDS
    if unknown:
        raise ValueError(f"local models take {sorted(_LOCAL_FIELDS)}, not {sorted(unknown)}")
    return {**kwargs, "protocol": protocol}


def _help(what: str) -> str:
    return (
        f"cannot load a chat model from {what}: use 'local', 'local:NAME' (an embedded model: "
        "'qwen2.5-coder-0.5b', 'qwen2.5-coder-1.5b', 'smollm2-135m'), 'local+adapter=DIR', a model "
        "folder, a Hugging Face repo id 'org/name' or 'hf:PATH', 'provider:model' (e.g. "
        "'openai:gpt-4o-mini'), or a model name with base_url='http://host:port/v1' for an "
        "OpenAI-compatible server"
    )
