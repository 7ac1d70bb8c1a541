"""`ste demo`: the embedded model calls the example tools on held-out questions, end to end.

Each question goes to the model with the example tools bound (ReAct text protocol) and a
schema-derived worked example per tool in the conversation (a 135M model rarely writes a
well-formed call without one); the raw reply, the parsed tool call and the real tool's result are
printed. Runs offline in well under a minute on a laptop CPU.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool

from langchain_ste.cli.app import app
from langchain_ste.coldstart import schema_demonstrations
from langchain_ste.example_tools import HELD_OUT_QUESTIONS, example_tools
from langchain_ste.execution import execute_tool_call


def demo_messages(
    tools: Sequence[BaseTool], question: str, *, examples: bool = True
) -> list[BaseMessage]:
    """The conversation sent for one question: one worked example per tool, then the question.

    Example:
        >>> from langchain_ste.example_tools import example_tools
        >>> msgs = demo_messages(example_tools(), "Convert 5 kg to pounds.")
        >>> [m.type for m in msgs]
        ['human', 'ai', 'tool', 'ai', 'human', 'ai', 'tool', 'ai', 'human']
        >>> [m.type for m in demo_messages(example_tools(), "hi", examples=False)]
        ['human']
    """
    history: list[BaseMessage] = []
    if examples:
        for tool in tools:
            for demo in schema_demonstrations(tool, n=1):
                history.extend(demo.messages)
    return [*history, HumanMessage(question)]


def describe_reply(reply: AIMessage) -> list[str]:
    """Human-readable lines for a parsed reply: the raw text, then each call or error.

    Example:
        >>> msg = AIMessage("Action: add", invalid_tool_calls=[{"name": "add", "args": None,
        ...     "id": "c1", "error": "no Action Input", "type": "invalid_tool_call"}])
        >>> describe_reply(msg)[1:]
        ['invalid tool call: add -> no Action Input']
    """
    lines = [f"raw reply: {reply.text.strip()!r}"]
    lines += [f"tool call: {c['name']}({c['args']})" for c in reply.tool_calls]
    lines += [
        f"invalid tool call: {c.get('name')} -> {c.get('error')}" for c in reply.invalid_tool_calls
    ]
    if not reply.tool_calls and not reply.invalid_tool_calls:
        lines.append("no tool call (the model answered directly)")
    return lines


def run_tool_calls(reply: AIMessage, tools: Sequence[BaseTool]) -> list[str]:
    """Execute the reply's tool calls with the real tools; one ``tool result:`` line each.

    Example:
        >>> from langchain_ste.example_tools import example_tools
        >>> call = {"name": "convert_units", "id": "c1", "type": "tool_call",
        ...         "args": {"value": 1, "from_unit": "km", "to_unit": "m"}}
        >>> run_tool_calls(AIMessage("", tool_calls=[call]), example_tools())
        ['tool result: 1 km = 1000 m']
    """
    by_name = {t.name: t for t in tools}
    lines = []
    for call in reply.tool_calls:
        message, _ = asyncio.run(execute_tool_call(call, by_name))
        lines.append(f"tool result: {message.text}")
    return lines


def ask(model: BaseChatModel, tools: Sequence[BaseTool], question: str) -> list[str]:
    """Ask one question with the tools bound; the lines to print (reply, calls, results)."""
    started = time.perf_counter()
    reply = model.bind_tools(list(tools)).invoke(demo_messages(tools, question))
    assert isinstance(reply, AIMessage)
    lines = [*describe_reply(reply), *run_tool_calls(reply, tools)]
    return [*lines, f"({time.perf_counter() - started:.1f} s)"]


@app.command("demo")
def demo(
    model: Annotated[
        str, typer.Option("--model", help="Model spec: local, local+adapter=DIR, provider:model")
    ] = "local",
    questions: Annotated[
        int, typer.Option("--questions", min=1, help="How many held-out questions to ask")
    ] = 2,
) -> None:
    """Ask held-out questions with the example tools bound; print replies, calls and results."""
    from langchain_ste.models import load_chat_model

    started = time.perf_counter()
    options: dict[str, Any] = {"max_new_tokens": 64} if model.startswith("local") else {}
    chat = load_chat_model(model, **options)
    tools = example_tools()
    for item in HELD_OUT_QUESTIONS[:questions]:
        typer.echo(f"\nquestion: {item['question']}")
        typer.echo(f"expected: {item['tool']}({item['args']})")
        for line in ask(chat, tools, item["question"]):
            typer.echo(f"  {line}")
    typer.echo(f"\ndone in {time.perf_counter() - started:.1f} s")
