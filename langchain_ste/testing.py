"""Scripted tool-calling fake chat models, for tests, benchmarks and docs.

`GenericFakeChatModel` from langchain-core has no `bind_tools`; `ScriptedChatModel` does, records
every call (the messages, the bound tool names and the graph node that made it) so tests can
assert what the model was shown, replies from a list or a function of the conversation, and can
simulate a model server's latency. Inside a LangGraph graph it can choose its script by the node
that calls it (the run metadata's ``langgraph_node``), so a test of the explorer scripts
``imagine``, ``act`` and ``reflect`` apart without matching any prompt text.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field, PrivateAttr

from langchain_ste.models.react_protocol import reply_to_message
from langchain_ste.models.schemas import tool_schemas

Reply = AIMessage | str | BaseException
Script = Sequence[Reply] | Callable[[list[BaseMessage], list[str]], Reply]

_METADATA: ContextVar[Mapping[str, Any] | None] = ContextVar("ste_scripted_metadata", default=None)


def run_metadata() -> Mapping[str, Any]:
    """The run metadata of the model call in progress (``langgraph_node``, ``ste_targets``...);
    empty outside a call. Scripts (and subclasses' ``_next``) read it to know who is asking.

    Example:
        >>> model = ScriptedChatModel(script=lambda m, t: str(run_metadata().get("who")))
        >>> model.invoke("hi", {"metadata": {"who": "me"}}).content
        'me'
    """
    return _METADATA.get() or {}


class ScriptedChatModel(BaseChatModel):
    """A fake chat model that replies from a script and supports `bind_tools`.

    Args:
        script: a list of replies used in turn (cycling when exhausted), or a function
            ``(messages, bound_tool_names) -> reply``. A reply is an `AIMessage`, a string
            (parsed as ReAct text when ``react=True`` and tools are bound) or an exception to raise.
        by_node: scripts by the LangGraph node that calls the model (e.g. ``{"imagine": [...],
            "act": fn, "reflect": [...]}``, each list cycling on its own); calls from other nodes,
            or from outside a graph, use ``script``.
        latency: seconds each call takes (``asyncio.sleep`` in async calls).
        react: parse string replies with the ReAct parser when tools are bound.

    Each call is recorded in ``calls`` as ``{"messages", "tools", "node", "options"}`` (the
    call's other keyword arguments, e.g. what ``model.bind(temperature=0.7)`` passes).

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> model = ScriptedChatModel(script=["hello", AIMessage("bye")])
        >>> model.invoke("hi").content, model.invoke("hi").content, len(model.calls)
        ('hello', 'bye', 2)

        Routing by graph node:

        >>> from langgraph.graph import StateGraph
        >>> from typing import TypedDict
        >>> class S(TypedDict):
        ...     text: str
        >>> model = ScriptedChatModel(by_node={"greet": ["hi"], "part": ["bye"]})
        >>> graph = StateGraph(S)
        >>> _ = graph.add_node("greet", lambda s: {"text": s["text"] + model.invoke("x").text})
        >>> _ = graph.add_node("part", lambda s: {"text": s["text"] + " " + model.invoke("x").text})
        >>> _ = graph.add_edge("__start__", "greet").add_edge("greet", "part")
        >>> graph.compile().invoke({"text": ""})["text"], [c["node"] for c in model.calls]
        ('hi bye', ['greet', 'part'])
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: Any = Field(default_factory=list)
    by_node: dict[str, Any] = Field(default_factory=dict)
    latency: float = 0.0
    react: bool = False
    model_name: str = "scripted"
    calls: list[dict[str, Any]] = Field(default_factory=list)
    _cycles: dict[str | None, Iterator[Reply]] = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; their names are recorded with each call."""
        return self.bind(tools=tool_schemas(tools), **kwargs)

    def _next(
        self,
        messages: list[BaseMessage],
        tools: list[dict[str, Any]] | None,
        options: dict[str, Any] | None = None,
    ) -> AIMessage:
        names = [t["name"] for t in tools or []]
        node = run_metadata().get("langgraph_node")
        key = node if node in self.by_node else None
        script = self.by_node[key] if key is not None else self.script
        with self._lock:
            self.calls.append(
                {"messages": list(messages), "tools": names, "node": node, "options": options or {}}
            )
            if callable(script):
                reply = script(list(messages), names)
            else:
                if key not in self._cycles:
                    self._cycles[key] = itertools.cycle(list(script) or [""])
                reply = next(self._cycles[key])
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, AIMessage):
            return reply.model_copy(deep=True)
        if self.react and tools:
            return reply_to_message(reply, names)
        return AIMessage(content=reply)

    def _reply(
        self, messages: list[BaseMessage], run_manager: Any, kwargs: dict[str, Any]
    ) -> ChatResult:
        token = _METADATA.set(dict(getattr(run_manager, "metadata", None) or {}))
        try:
            options = {k: v for k, v in kwargs.items() if k != "tools"}
            message = self._next(messages, kwargs.get("tools"), options)
        finally:
            _METADATA.reset(token)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            time.sleep(self.latency)
        return self._reply(messages, run_manager, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._reply(messages, run_manager, kwargs)


def _gist(system: str, targets: Sequence[str]) -> str:
    """The target tool's description from a default imagine prompt (read between the text that
    `IMAGINE_SYSTEM` puts around ``{description}``), else the prompt's first line."""
    from langchain_ste.explore.prompts import IMAGINE_SYSTEM

    before = IMAGINE_SYSTEM.split("{target}", 1)[1].split("{description}", 1)[0]  # ": "
    after = IMAGINE_SYSTEM.split("{description}", 1)[1].split("{", 1)[0]  # " Its inputs: "
    first = system.split("\n", 1)[0]
    for target in targets:
        _, found, rest = first.partition(f"{target}{before}")
        if found:
            return rest.split(after.rstrip(), 1)[0].strip() or target
    return first


class ScriptedExplorer(ScriptedChatModel):
    """A deterministic explorer for benchmarks and distributed tests.

    By the exploration node that calls it: ``imagine`` writes a numbered request, the target
    tool's description (the number follows the requests already in memory); ``act`` calls the
    unit's target tool (the run metadata's ``ste_targets``) with schema-derived arguments, then
    answers with the result; and ``reflect`` judges every trial a success. Outside an
    exploration unit (an agent, no ``ste_targets``) it calls the first bound tool. Thread- and
    process-safe (no shared script state).

    Example:
        >>> from langchain_ste.explore import ExploreSettings, explore
        >>> from langchain_ste.tools.examples import example_tools
        >>> trials = explore(ScriptedExplorer(), example_tools(),
        ...                  settings=ExploreSettings(episodes_per_tool=1, trials_per_episode=1))
        >>> [(t.steps[0].tool, t.success) for t in trials]
        [('convert_units', True), ('search_catalog', True)]
    """

    model_name: str = "scripted-explorer"

    def _next(
        self,
        messages: list[BaseMessage],
        tools: list[dict[str, Any]] | None,
        options: dict[str, Any] | None = None,
    ) -> AIMessage:
        from langchain_ste.explore.demonstrations import example_value

        metadata = run_metadata()
        node = metadata.get("langgraph_node")
        with self._lock:
            self.calls.append(
                {
                    "messages": list(messages),
                    "tools": [t["name"] for t in tools or []],
                    "node": node,
                    "options": options or {},
                }
            )
        targets = list(metadata.get("ste_targets") or [])
        if node == "imagine":
            system = messages[0].text if messages else ""
            n = system.count("\n- ") + 1  # depends only on what this tool's memory holds
            return AIMessage(f"Request {n}: {_gist(system, targets)}")
        if node == "reflect":
            return AIMessage("Verdict: yes\nLesson: the tool works as documented.")
        if messages and isinstance(messages[-1], ToolMessage):
            return AIMessage(f"The result is: {messages[-1].text}")
        schemas = tools or []
        target = next((t for t in schemas if targets and t["name"] == targets[0]), None)
        if target is None:
            target = schemas[0] if schemas else None
        if target is None:
            return AIMessage("I have no tools.")
        props = (target.get("parameters") or {}).get("properties") or {}
        args = {k: example_value(v, k) for k, v in props.items()}
        call_id = f"call_{time.perf_counter_ns()}"
        return AIMessage(
            "",
            tool_calls=[{"name": target["name"], "args": args, "id": call_id, "type": "tool_call"}],
        )
