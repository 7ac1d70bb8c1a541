"""Local Hugging Face chat models: the embedded ones (see `langchain_ste.models.embedded`) or any
causal LM folder with a chat template, loaded offline.

`ChatLocalHF` wraps such a model as a LangChain chat model. Its `bind_tools` speaks the model's
native tool format when the chat template renders tools (Qwen2.5: ``<tool_call>`` blocks, see
`langchain_ste.models.native_tools`), else the ReAct text protocol (`langchain_ste.models.react`);
``protocol=`` picks one explicitly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict

from langchain_ste.models.batching import (
    BatchedGenerator,
    GenerationRequest,
    GenerationResult,
    shared_generator,
)
from langchain_ste.models.loading import (
    base_model_id,
    load_hf_model,
)
from langchain_ste.models.native_tools import (
    openai_tools,
    parse_tool_reply,
    supports_native_tools,
    to_chat_messages,
)
from langchain_ste.models.react import bind_react_tools, parse_reply, react_prompt
from langchain_ste.models.schemas import tool_schemas

if TYPE_CHECKING:
    from concurrent.futures import Future

    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

Protocol = Literal["auto", "native", "react"]
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "user"}


class ChatLocalHF(BaseChatModel):
    """A local Hugging Face causal LM as a LangChain chat model (sync and async).

    The tokenizer's chat template formats the conversation; ``temperature=0`` decodes greedily.
    `bind_tools` speaks the model's native tool format when its chat template renders tools,
    else the ReAct text protocol; either way replies come back as ``tool_calls`` /
    ``invalid_tool_calls``, never as an exception.

    Args:
        model_path: ``"local"`` (the embedded Qwen2.5-Coder-0.5B-Instruct), ``"local:NAME"`` (an
            embedded model, see `langchain_ste.models.embedded.EMBEDDED`) or a model folder.
        adapter: a LoRA adapter folder trained with `langchain_ste.finetune`.
        max_new_tokens: generation limit per call.
        temperature: 0 for greedy decoding, else sampling temperature.
        seed: sampling seed.
        device: where to run (default: CUDA, MPS or CPU, in that order).
        dtype: torch dtype name (default: bf16 where supported).
        protocol: ``"native"`` (the chat template's tool format), ``"react"`` (the ReAct text
            protocol) or ``"auto"`` (native when the template renders tools).
        react_prefix: text the assistant turn starts with in the ReAct protocol (small models
            follow the format far more often when their reply starts with it).
        max_batch_size: the most generate calls decoded together. Concurrent callers of one
            loaded model (threads, async tasks, exploration units) share it through a
            micro-batching queue (`langchain_ste.models.batching`); 1 decodes one at a time.
        max_batch_wait_ms: how long an idle model waits for more calls before it starts.
        prefix_cache_size: finished sequences whose key-value cache is kept, so that a call
            sharing their prefix (the next step of a conversation) encodes only its new tail;
            0 turns prefix reuse off. The reused tokens show as
            ``usage_metadata["input_token_details"]["cache_read"]``.

    Example:
        >>> model = ChatLocalHF(model_path="local:smollm2-135m", max_new_tokens=8)
        >>> model.model_name
        'HuggingFaceTB/SmolLM2-135M-Instruct'
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
    protocol: Protocol = "auto"
    react_prefix: str = "Thought:"
    max_batch_size: int = 8
    max_batch_wait_ms: float = 10.0
    prefix_cache_size: int = 8

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
            "protocol": self.protocol,
        }

    @property
    def model_name(self) -> str:
        """A readable name: the base model, with the adapter if any."""
        base = base_model_id(self.model_path)
        return f"{base}+{self.adapter}" if self.adapter else base

    def _load(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        return load_hf_model(
            self.model_path, dtype=self.dtype, device=self.device, adapter=self.adapter
        )

    def tool_protocol(self) -> Literal["native", "react"]:
        """The tool protocol in use: ``protocol``, or for ``"auto"`` what the template supports."""
        if self.protocol != "auto":
            return self.protocol
        return "native" if supports_native_tools(self._load()[1]) else "react"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; their schemas travel as the ``tools`` call argument."""
        return bind_react_tools(self, tools, **kwargs)

    def _render(self, messages: Sequence[BaseMessage], tools: Any = None) -> str:
        """The prompt text: the chat template over the conversation (and native tool schemas)."""
        _, tokenizer = self._load()
        if tools is not None:
            chat: list[dict[str, Any]] = to_chat_messages(messages)
            schemas: list[Any] = openai_tools(tools)
            text = tokenizer.apply_chat_template(
                chat, tools=schemas, add_generation_prompt=True, tokenize=False
            )
        else:
            chat = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
            text = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        return str(text)

    def generator(self) -> BatchedGenerator:
        """The batching queue this model's calls go through (shared by every caller)."""
        model, tokenizer = self._load()
        return shared_generator(
            model,
            tokenizer,
            max_batch_size=self.max_batch_size,
            max_batch_wait_ms=self.max_batch_wait_ms,
            prefix_cache_size=self.prefix_cache_size,
        )

    def _submit(
        self, prompt: str, stop: Sequence[str] | None, prefix: str, sampling: Mapping[str, Any]
    ) -> tuple[Future[GenerationResult], int]:
        """Queue one generate call; its future and its prompt's length in tokens."""
        _, tokenizer = self._load()
        ids = tokenizer(prompt + prefix, add_special_tokens=False)["input_ids"]
        request = GenerationRequest(
            ids,
            max_new_tokens=int(sampling.get("max_new_tokens") or self.max_new_tokens),
            stop=tuple(stop or ()),
            temperature=float(sampling.get("temperature", self.temperature)),
            seed=int(sampling.get("seed", self.seed)),
        )
        return self.generator().submit(request), len(ids)

    def _complete(
        self,
        prompt: str,
        stop: Sequence[str] | None,
        prefix: str = "",
        sampling: Mapping[str, Any] | None = None,
    ) -> AIMessage:
        """Generate a continuation of ``prompt + prefix`` (the one place that calls the model).

        ``sampling`` overrides ``temperature``, ``seed`` and ``max_new_tokens`` for this call
        (what ``model.bind(temperature=0.7, seed=1)`` passes)."""
        future, n_in = self._submit(prompt, stop, prefix, sampling or {})
        return self._message(future.result(), n_in, stop, prefix)

    async def _acomplete(
        self,
        prompt: str,
        stop: Sequence[str] | None,
        prefix: str = "",
        sampling: Mapping[str, Any] | None = None,
    ) -> AIMessage:
        """`_complete` for async callers: waits without holding a thread."""
        future, n_in = self._submit(prompt, stop, prefix, sampling or {})
        return self._message(await asyncio.wrap_future(future), n_in, stop, prefix)

    def _message(
        self, result: GenerationResult, n_in: int, stop: Sequence[str] | None, prefix: str
    ) -> AIMessage:
        n_out = len(result.token_ids)
        return AIMessage(
            content=prefix + _cut_at_stop(result.text, stop),
            usage_metadata=UsageMetadata(
                input_tokens=n_in,
                output_tokens=n_out,
                total_tokens=n_in + n_out,
                input_token_details={"cache_read": result.reused_tokens},
            ),
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": result.finish_reason,
                "batch_size": result.batch_size,
            },
        )

    def _generate_text(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        prefix: str = "",
        sampling: Mapping[str, Any] | None = None,
    ) -> AIMessage:
        return self._complete(self._render(messages), stop, prefix, sampling)

    def _plan(
        self, messages: list[BaseMessage], stop: list[str] | None, tools: Any
    ) -> tuple[
        list[BaseMessage], str | None, list[str] | None, str, Callable[[AIMessage], AIMessage]
    ]:
        """How to serve one call: (messages, rendered prompt or None, stops, prefix, finish).

        A rendered prompt goes straight to `_complete`; None means the ReAct text path, which
        renders through `_generate_text`.
        """
        if tools and self.tool_protocol() == "native":
            names = [t["name"] for t in tool_schemas(tools)]

            def native(raw: AIMessage) -> AIMessage:
                return parse_tool_reply(
                    raw.text,
                    names,
                    usage_metadata=raw.usage_metadata,
                    response_metadata={**raw.response_metadata, "tool_protocol": "native"},
                )

            return messages, self._render(messages, tools), stop, "", native
        if tools:
            prompt, stops, names = react_prompt(messages, tools, stop)
            return prompt, None, stops, self.react_prefix, lambda raw: parse_reply(raw, names)
        return messages, None, stop, "", lambda raw: raw

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat, prompt, stops, prefix, finish = self._plan(messages, stop, kwargs.get("tools"))
        sampling = _sampling(kwargs)
        if prompt is None:
            raw = self._generate_text(chat, stops, prefix, sampling)
        else:
            raw = self._complete(prompt, stops, prefix, sampling)
        return ChatResult(generations=[ChatGeneration(message=finish(raw))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat, prompt, stops, prefix, finish = self._plan(messages, stop, kwargs.get("tools"))
        raw = await self._acomplete(
            prompt if prompt is not None else self._render(chat), stops, prefix, _sampling(kwargs)
        )
        return ChatResult(generations=[ChatGeneration(message=finish(raw))])


_SAMPLING = ("temperature", "seed", "max_new_tokens")


def _sampling(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The per-call generation overrides among a call's keyword arguments.

    Example:
        >>> _sampling({"tools": [], "temperature": 0.7, "seed": 3})
        {'temperature': 0.7, 'seed': 3}
    """
    return {k: kwargs[k] for k in _SAMPLING if kwargs.get(k) is not None}


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
