"""A scripted tool-calling fake chat model, for tests, benchmarks and docs.

`GenericFakeChatModel` from langchain-core has no `bind_tools`; this one does, records every call
(the messages and the bound tool names) so tests can assert what the model was shown, can reply
from a list or a function of the conversation, and can simulate a model server's latency.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field, PrivateAttr

from langchain_ste.models.react_protocol import reply_to_message, tool_schemas

Reply = AIMessage | str | BaseException
Script = Sequence[Reply] | Callable[[list[BaseMessage], list[str]], Reply]


class ScriptedChatModel(BaseChatModel):
    """A fake chat model that replies from a script and supports `bind_tools`.

    Args:
        script: a list of replies used in turn (cycling when exhausted), or a function
            ``(messages, bound_tool_names) -> reply``. A reply is an `AIMessage`, a string
            (parsed as ReAct text when ``react=True`` and tools are bound) or an exception to raise.
        latency: seconds each call takes (``asyncio.sleep`` in async calls).
        react: parse string replies with the ReAct parser when tools are bound.

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> model = ScriptedChatModel(script=["hello", AIMessage("bye")])
        >>> model.invoke("hi").content, model.invoke("hi").content, len(model.calls)
        ('hello', 'bye', 2)
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: Any = Field(default_factory=list)
    latency: float = 0.0
    react: bool = False
    model_name: str = "scripted"
    calls: list[dict[str, Any]] = Field(default_factory=list)
    _cycle: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; their names are recorded with each call."""
        return self.bind(tools=tool_schemas(tools), **kwargs)

    def _next(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> AIMessage:
        names = [t["name"] for t in tools or []]
        with self._lock:
            self.calls.append({"messages": list(messages), "tools": names})
            if callable(self.script):
                reply = self.script(list(messages), names)
            else:
                if self._cycle is None:
                    self._cycle = itertools.cycle(list(self.script) or [""])
                reply = next(self._cycle)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, AIMessage):
            return reply.model_copy(deep=True)
        if self.react and tools:
            return reply_to_message(reply, names)
        return AIMessage(content=reply)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            time.sleep(self.latency)
        message = self._next(messages, kwargs.get("tools"))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        message = self._next(messages, kwargs.get("tools"))
        return ChatResult(generations=[ChatGeneration(message=message)])



class ScriptedExplorer(ScriptedChatModel):
    """A deterministic explorer for benchmarks and distributed tests.

    It imagines numbered requests naming the target tool's description, calls the tool whose
    description the request names with schema-derived arguments, answers with the result and
    judges every trial a success. Thread- and process-safe (no shared script state).

    Example:
        >>> from langchain_ste.explore import ExploreSettings, explore
        >>> from langchain_ste.tools.examples import example_tools
        >>> trials = explore(ScriptedExplorer(), example_tools(),
        ...                  settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1))
        >>> [(t.steps[0].tool, t.success) for t in trials]
        [('convert_units', True), ('search_catalog', True)]
    """

    model_name: str = "scripted-explorer"

    def _next(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> AIMessage:
        from langchain_core.messages import ToolMessage

        from langchain_ste.explore.demonstrations import example_value

        with self._lock:
            self.calls.append({"messages": list(messages),
                               "tools": [t["name"] for t in tools or []]})
        system = messages[0].text if messages else ""
        if system.startswith("You write realistic"):
            n = system.count("\n- ") + 1  # depends only on what this tool's memory holds
            gist = system.split("can: ", 1)[-1].split("\n", 1)[0]
            return AIMessage(f"Request {n}: {gist}")
        if system.startswith("You check"):
            return AIMessage("Verdict: yes\nLesson: the tool works as documented.")
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(f"The result is: {messages[-1].text}")
        query = next((m.text for m in reversed(messages) if m.type == "human"), "")
        schemas = tools or []
        target = next((t for t in schemas
                       if str(t.get("description", ""))[:30] in query), schemas[0] if schemas
                      else None)
        if target is None:
            return AIMessage("I have no tools.")
        props = (target.get("parameters") or {}).get("properties") or {}
        args = {k: example_value(v, k) for k, v in props.items()}
        return AIMessage("", tool_calls=[{"name": target["name"], "args": args,
                                          "id": f"call_{time.perf_counter_ns()}",
                                          "type": "tool_call"}])
