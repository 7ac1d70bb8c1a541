"""Loading local Hugging Face models offline: device and dtype, spec -> folder, adapters.

A local spec is ``"local"`` (the default embedded learner), ``"local:NAME"`` (any embedded model,
prepared into the cache on first use: `langchain_ste.models.embedded`) or a model folder.
`load_hf_model` loads one once per process for inference; `load_fresh` an uncached instance for
training, which changes the model.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_ste.models.embedded import DEFAULT_LEARNER, EMBEDDED, embedded_model, prepare
from langchain_ste.models.native_tools import supports_native_tools

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class AdapterMismatchError(ValueError):
    """A LoRA adapter trained on a different base model than the one it is loaded onto."""


def pick_device(device: str | None = None) -> str:
    """The device to run on: the given one, else CUDA, else Apple MPS, else CPU.

    Example:
        >>> pick_device("cpu")
        'cpu'
    """
    if device:
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str) -> torch.dtype:
    """bf16 where the device supports it (also on CPU, where it generates faster), else fp32."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device == "cpu" else torch.float32


def resolve_model_path(spec: str) -> tuple[Path | str, str]:
    """Turn a local model spec into (folder or repo id, canonical base id).

    ``"local"`` is the default embedded learner, ``"local:NAME"`` any embedded model (prepared
    into the cache on first use); a folder converted by langchain-ste records its base id.

    Example:
        >>> resolve_model_path("org/some-model")
        ('org/some-model', 'org/some-model')
    """
    if spec == "local" or spec.startswith("local:"):
        model = embedded_model(spec.partition(":")[2] or DEFAULT_LEARNER)
        return prepare(model), model.repo_id
    source = Path(spec) / "ste_source.json"
    if source.is_file():
        return Path(spec), json.loads(source.read_text())["base_model"]
    return spec, spec


def base_model_id(spec: str) -> str:
    """The canonical id of a local spec's base model, without loading or preparing anything.

    Example:
        >>> base_model_id("local"), base_model_id("local:smollm2-135m")
        ('Qwen/Qwen2.5-Coder-0.5B-Instruct', 'HuggingFaceTB/SmolLM2-135M-Instruct')
    """
    if spec == "local" or spec.startswith("local:"):
        return embedded_model(spec.partition(":")[2] or DEFAULT_LEARNER).repo_id
    source = Path(spec) / "ste_source.json"
    if source.is_file():
        return str(json.loads(source.read_text())["base_model"])
    return spec


def spec_for_base(base_id: str | None) -> str:
    """The local spec that loads ``base_id``: ``local:NAME`` for an embedded model, else the id.

    Example:
        >>> spec_for_base("HuggingFaceTB/SmolLM2-135M-Instruct")
        'local:smollm2-135m'
    """
    for model in EMBEDDED.values():
        if base_id == model.repo_id:
            return f"local:{model.name}"
    return base_id or "local"


def tool_format(spec: str) -> Literal["native", "react"]:
    """The tool format a local model speaks by default: ``native`` when its chat template renders
    tools, else ``react`` (reads the tokenizer only; fine-tuning data should match it).

    Example:
        >>> tool_format("local:smollm2-135m")  # doctest: +SKIP
        'react'
    """
    from transformers import AutoTokenizer

    path, _ = resolve_model_path(spec)
    return "native" if supports_native_tools(AutoTokenizer.from_pretrained(path)) else "react"


_LOAD_LOCK = threading.Lock()


def load_hf_model(
    spec: str = "local",
    *,
    dtype: str | None = None,
    device: str | None = None,
    adapter: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer, offline, once per process (thread-safe).

    Args:
        spec: ``"local"`` / ``"local:NAME"`` (an embedded model) or a Hugging Face model folder /
            cached repo id.
        dtype: ``"bfloat16"``, ``"float32"``, ... (default: `pick_dtype` for the device).
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` (default: `pick_device`).
        adapter: a PEFT LoRA adapter folder to load on top.

    Raises:
        AdapterMismatchError: the adapter was trained on another base model.

    Example:
        >>> model, tokenizer = load_hf_model("local")  # doctest: +SKIP
    """
    with _LOAD_LOCK:
        return _load_hf_model(spec, dtype=dtype, device=device, adapter=adapter)


@lru_cache(maxsize=4)
def _load_hf_model(
    spec: str = "local",
    *,
    dtype: str | None = None,
    device: str | None = None,
    adapter: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    model, tokenizer = load_fresh(spec, dtype=dtype, device=device, adapter=adapter)
    model.eval()
    return model, tokenizer


def load_fresh(
    spec: str = "local",
    *,
    dtype: str | None = None,
    device: str | None = None,
    adapter: str | None = None,
) -> tuple[Any, PreTrainedTokenizerBase]:
    """A new, uncached model instance (for training, which changes the model)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    device = pick_device(device)
    torch_dtype = getattr(torch, dtype) if dtype else pick_dtype(device)
    path, base_id = resolve_model_path(spec)
    tokenizer = AutoTokenizer.from_pretrained(path)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the load report calls tied lm_head weights "missing"
    hf_logging.disable_progress_bar()  # a cached load takes well under a second
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    model.name_or_path = base_id
    if adapter:
        model = _load_adapter(model, adapter, base_id)
    model.to(device)
    return model, tokenizer


def _load_adapter(model: PreTrainedModel, adapter: str, base_id: str) -> Any:
    from peft import PeftModel

    config_path = Path(adapter) / "adapter_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{adapter} is not a LoRA adapter folder (no adapter_config.json)")
    trained_on = json.loads(config_path.read_text()).get("base_model_name_or_path")
    if trained_on and trained_on != base_id:
        raise AdapterMismatchError(
            f"adapter {adapter} was trained on {trained_on!r}, not on {base_id!r}: load it with "
            f"the base model it was trained on"
        )
    try:
        return PeftModel.from_pretrained(model, adapter)
    except RuntimeError as exc:  # size mismatch: same name, different architecture
        raise AdapterMismatchError(f"adapter {adapter} does not fit {base_id!r}: {exc}") from exc
