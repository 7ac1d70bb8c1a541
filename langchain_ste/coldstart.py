"""Demonstrations that make weak explorers productive: schema-derived at first, then their own.

A 135M model almost never writes a well-formed tool call zero-shot, but does with a couple of
examples in the conversation. `schema_demonstrations` builds such examples deterministically from a
tool's JSON schema (no model call, no tool execution); `act_demonstrations` switches to the most
similar *successful* past trials as soon as memory has any (self-bootstrapping).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_ste.trial import Trial, exemplar_messages

logger = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "synthetic:"
FORMAT_EXAMPLE_TAG = "[format example]"


@dataclass(frozen=True)
class Demonstration:
    """One worked example shown to the model before its own conversation.

    Attributes:
        id: ``"synthetic:<tool>:<n>"`` for schema-derived examples, else the source trial's id.
        query: the example's user request.
        messages: human request, AI tool call, paired ToolMessage, final AI answer.
        synthetic: whether it was derived from the schema rather than a past trial.
    """

    id: str
    query: str
    messages: list[BaseMessage]
    synthetic: bool


class SupportsSearch(Protocol):
    """What bootstrapping needs from a memory (`ExplorationMemory` fits)."""

    def search(
        self, query: str, k: int = 3, *, tools: Sequence[str] | None = None,
        only_successful: bool = True, diverse: bool = True, exclude_ids: Collection[str] = (),
    ) -> list[Trial]: ...


def tool_parameters(tool: BaseTool) -> dict[str, Any]:
    """The tool's argument JSON schema with ``$ref``s resolved."""
    params = convert_to_openai_tool(tool)["function"].get("parameters") or {}
    return _resolve(params, params.get("$defs") or params.get("definitions") or {})


def _resolve(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if depth > 20:
        return {}
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = copy.deepcopy(defs.get(ref.rsplit("/", 1)[-1], {}))
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(merged, defs, depth + 1)
        return {k: _resolve(v, defs, depth + 1) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_resolve(v, defs, depth + 1) for v in node]
    return node


_STRING_HINTS = (
    ("email", "alex@example.com"), ("url", "https://example.com"), ("uri", "https://example.com"),
    ("date", "2024-05-17"), ("time", "14:30"), ("path", "notes.txt"), ("file", "notes.txt"),
    ("city", "Paris"), ("country", "France"), ("name", "Alex"), ("query", "running shoes"),
    ("id", "A100"), ("currency", "EUR"), ("lang", "en"), ("text", "hello world"),
)


def example_value(schema: dict[str, Any], name: str = "value", variant: int = 0) -> Any:
    """A plausible value for a JSON-schema property (deterministic per ``variant``).

    Example:
        >>> example_value({"type": "string", "enum": ["C", "F"]}, "unit", 1)
        'F'
        >>> example_value({"type": "integer", "minimum": 5}, "count")
        5
    """
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        return schema["enum"][variant % len(schema["enum"])]
    if schema.get("examples"):
        return schema["examples"][variant % len(schema["examples"])]
    if variant == 0 and schema.get("default") is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return example_value(options[0], name, variant)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "boolean":
        return variant % 2 == 0
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        value: float = (low if low is not None else (2 if variant == 0 else 10))
        if "exclusiveMinimum" in schema and value == schema["exclusiveMinimum"]:
            value += 1
        if high is not None and value > high:
            value = high
        return int(value) if kind == "integer" else float(value)
    if kind == "array":
        return [example_value(schema.get("items") or {}, name, variant)]
    if kind == "object":
        return _example_object(schema, variant, optional=variant > 0)
    fmt = schema.get("format", "")
    lowered = f"{name} {fmt}".lower()
    for hint, sample in _STRING_HINTS:
        if hint in lowered:
            return sample
    return f"sample {name.replace('_', ' ')}"


def _example_object(schema: dict[str, Any], variant: int, optional: bool) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    return {
        key: example_value(prop, key, variant)
        for key, prop in props.items()
        if key in required or optional
    }


def _first_sentence(text: str) -> str:
    text = " ".join((text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return (match.group(1) if match else text)[:160]


def _valid(tool: BaseTool, args: dict[str, Any]) -> bool:
    schema = tool.tool_call_schema
    if isinstance(schema, dict) or schema is None:
        return True
    try:
        schema.model_validate(args)
    except Exception:
        return False
    return True


def schema_demonstrations(tool: BaseTool, n: int = 2) -> list[Demonstration]:
    """Up to ``n`` format examples for ``tool`` built from its schema alone.

    The first uses only required arguments (defaults where given), the second adds the optional
    ones with other values. Arguments always validate against the tool's schema; tool results
    and answers are placeholders, and the request is tagged as a format example.

    Example:
        >>> from langchain_ste.example_tools import convert_units
        >>> demo = schema_demonstrations(convert_units)[0]
        >>> demo.id, demo.messages[1].tool_calls[0]["args"]
        ('synthetic:convert_units:0', {'value': 2.0, 'from_unit': 'mm', 'to_unit': 'mm'})
    """
    params = tool_parameters(tool)
    demos: list[Demonstration] = []
    seen: list[dict[str, Any]] = []
    for variant in range(max(n, 0) * 2):
        if len(demos) >= n:
            break
        args = _example_object(params, variant, optional=variant > 0)
        if args in seen or not _valid(tool, args):
            continue
        seen.append(args)
        i = len(demos)
        call_id = f"demo_{tool.name}_{i}_0"
        shown = ", ".join(f"{k} {v}" for k, v in args.items())
        query = f"{FORMAT_EXAMPLE_TAG} {_first_sentence(tool.description)} ({shown})"
        messages: list[BaseMessage] = [
            HumanMessage(query),
            AIMessage("", tool_calls=[{"name": tool.name, "args": args, "id": call_id,
                                       "type": "tool_call"}],
                      additional_kwargs={"react_thought": f"I should use {tool.name}."}),
            ToolMessage(f"<result of {tool.name}>", tool_call_id=call_id, name=tool.name),
            AIMessage(f"<the answer, using the result of {tool.name}>",
                      additional_kwargs={"react_thought": "I can answer now."}),
        ]
        demos.append(Demonstration(id=f"{SYNTHETIC_PREFIX}{tool.name}:{i}", query=query,
                                   messages=messages, synthetic=True))
    return demos


def imagine_examples(tool: BaseTool, n: int = 2) -> list[str]:
    """Example user requests for the imagine prompt, derived from the schema (format only).

    Example:
        >>> from langchain_ste.example_tools import search_catalog
        >>> example = imagine_examples(search_catalog, 1)[0]
        >>> example.startswith("I need help with this: Search"), example.endswith("running shoes.")
        (True, True)
    """
    out = []
    params = tool_parameters(tool)
    for variant in range(n):
        args = _example_object(params, variant, optional=variant > 0)
        details = ", ".join(f"my {k.replace('_', ' ')} is {v}" for k, v in args.items())
        text = f"I need help with this: {_first_sentence(tool.description)}"
        out.append(f"{text} {details[:1].upper() + details[1:]}." if details else text)
    return out


def act_demonstrations(
    tool: BaseTool,
    query: str,
    memory: SupportsSearch | None,
    *,
    k: int = 2,
    exclude_ids: Collection[str] = (),
) -> list[Demonstration]:
    """Demonstrations for the act step: the most similar successful trials, else synthetic.

    Only trials judged successful whose last tool call ran cleanly are used, never one with the
    current query. Memory errors fall back to synthetic demonstrations (logged, never raised).

    Example:
        >>> from langchain_ste.example_tools import convert_units
        >>> [d.synthetic for d in act_demonstrations(convert_units, "3 in in cm?", None)]
        [True, True]
    """
    found: list[Trial] = []
    if memory is not None:
        try:
            found = memory.search(query, k=2 * k, tools=[tool.name], only_successful=True,
                                  diverse=True, exclude_ids=exclude_ids)
        except Exception as exc:
            logger.warning("memory search failed, using schema demonstrations: %s", exc)
    wanted = " ".join(query.split()).lower()
    picked = [t for t in found if t.success and t.clean and
              " ".join(t.query.split()).lower() != wanted][:k]
    if not picked:
        return schema_demonstrations(tool, n=min(k, 2))
    return [
        Demonstration(id=t.trial_id, query=t.query, messages=exemplar_messages(t, f"demo{i}"),
                      synthetic=False)
        for i, t in enumerate(picked)
    ]
