"""Tool calling through the ReAct text protocol, for any chat model.

`react_generate` is the one place where a tool-calling request becomes a ReAct text prompt and the
reply becomes `tool_calls`: `ChatLocalHF` uses it for the embedded model, and `ReActChatModel` wraps
any other chat model (a llama.cpp server, a base model without tool support) with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable

from langchain_ste.models.react_protocol import (
    STOP_SEQUENCES,
    messages_to_react,
    reply_to_message,
)
from langchain_ste.models.schemas import tool_schemas

TextCall = Callable[[list[BaseMessage], list[str] | None], AIMessage]


def bind_react_tools(
    model: BaseChatModel, tools: Sequence[Any], **kwargs: Any
) -> Runnable[LanguageModelInput, AIMessage]:
    """Bind tools to a ReAct-speaking model: the schemas travel as the ``tools`` call argument."""
    return model.bind(tools=tool_schemas(tools), **kwargs)


def react_prompt(
    messages: Sequence[BaseMessage], tools: Sequence[Any], stop: Sequence[str] | None
) -> tuple[list[BaseMessage], list[str], list[str]]:
    """The text prompt, stop sequences and allowed tool names for a ReAct tool-calling request."""
    schemas = tool_schemas(tools)
    names = [s["name"] for s in schemas]
    return messages_to_react(messages, schemas), [*(stop or []), *STOP_SEQUENCES], names


def parse_reply(reply: AIMessage, names: Sequence[str], *, lenient: bool = True) -> AIMessage:
    """Parse a raw text reply into an `AIMessage` with tool calls, keeping usage and metadata.

    ``lenient`` also runs calls whose input is a Python literal rather than JSON (they are marked
    in ``response_metadata``, see `reply_to_message`).
    """
    return reply_to_message(
        reply.text,
        names,
        lenient=lenient,
        usage_metadata=reply.usage_metadata,
        response_metadata=dict(reply.response_metadata or {}),
    )


def react_generate(
    call: TextCall,
    messages: Sequence[BaseMessage],
    tools: Sequence[Any],
    stop: Sequence[str] | None = None,
    *,
    lenient: bool = True,
) -> AIMessage:
    """Run one ReAct tool-calling turn with a text-generating callable.

    ``lenient`` (the default, for agents) also runs calls written as Python literals; they are
    marked so that scoring can count them as malformed.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage
        >>> fake = lambda msgs, stop: AIMessage('Action: add\\nAction Input: {"a": 1, "b": 2}')
        >>> schema = {"name": "add", "description": "Add.", "parameters": {"type": "object",
        ...           "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}
        >>> react_generate(fake, [HumanMessage("1+2?")], [schema]).tool_calls[0]["args"]
        {'a': 1, 'b': 2}
    """
    prompt, stops, names = react_prompt(messages, tools, stop)
    return parse_reply(call(prompt, stops), names, lenient=lenient)


class ReActChatModel(BaseChatModel):
    """Wrap any chat model so that `bind_tools` uses the ReAct text protocol.

    For servers or models without native tool calling (e.g. a llama.cpp server): tools are
    rendered into the system prompt, tool calls and results in the history become ``Action:`` and
    ``Observation:`` text, and replies are parsed into ``tool_calls`` / ``invalid_tool_calls``.
    Without bound tools, calls pass straight through. ``lenient`` (default True) also runs calls
    whose input is a Python literal instead of JSON; they stay marked in ``response_metadata``.

    Example:
        >>> from langchain_ste.testing import ScriptedChatModel
        >>> from langchain_ste.tools.examples import example_tools
        >>> inner = ScriptedChatModel(script=['Action: convert_units\\nAction Input: '
        ...     '{"value": 1, "from_unit": "km", "to_unit": "m"}'])
        >>> reply = ReActChatModel(inner=inner).bind_tools(example_tools()).invoke("1 km in m?")
        >>> reply.tool_calls[0]["name"]
        'convert_units'
    """

    inner: BaseChatModel
    lenient: bool = True

    @property
    def _llm_type(self) -> str:
        return f"react-{self.inner._llm_type}"

    @property
    def model_name(self) -> str:
        """The wrapped model's name."""
        return str(
            getattr(self.inner, "model_name", None)
            or getattr(self.inner, "model", "")
            or self.inner._llm_type
        )

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools, spoken through the ReAct text protocol."""
        return bind_react_tools(self, tools, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.pop("tools", None)
        if not tools:
            return ChatResult(
                generations=[
                    ChatGeneration(message=self.inner.invoke(messages, stop=stop, **kwargs))
                ]
            )
        prompt, stops, names = react_prompt(messages, tools, stop)
        reply = self.inner.invoke(prompt, stop=stops, **kwargs)
        message = parse_reply(reply, names, lenient=self.lenient)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.pop("tools", None)
        if not tools:
            return ChatResult(
                generations=[
                    ChatGeneration(message=await self.inner.ainvoke(messages, stop=stop, **kwargs))
                ]
            )
        prompt, stops, names = react_prompt(messages, tools, stop)
        reply = await self.inner.ainvoke(prompt, stop=stops, **kwargs)
        message = parse_reply(reply, names, lenient=self.lenient)
        return ChatResult(generations=[ChatGeneration(message=message)])
