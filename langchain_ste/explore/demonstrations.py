"""Demonstrations that make weak explorers productive: schema-derived at first, then their own.

A 135M model almost never writes a well-formed tool call zero-shot, but does with a couple of
examples in the conversation. `schema_demonstrations` builds such examples deterministically from a
tool's JSON schema (no model call, no tool execution); `act_demonstrations` switches to the most
similar *successful* past trials as soon as memory has any (self-bootstrapping).
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_ste.memory.base import SupportsSearch
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


def tool_parameters(tool: BaseTool) -> dict[str, Any]:
    """The tool's argument JSON schema with ``$ref``s resolved.

    Example:
        >>> from langchain_ste.tools.examples import convert_units
        >>> sorted(tool_parameters(convert_units)["properties"])
        ['from_unit', 'to_unit', 'value']
    """
    params = _resolved(convert_to_openai_tool(tool))
    full = tool.args_schema
    if full is not None and not isinstance(full, dict) and params.get("properties"):
        # `tool_call_schema` drops field metadata such as `examples`; the args schema keeps it.
        try:
            rich = _resolved(convert_to_openai_tool(full)).get("properties") or {}
        except Exception:
            rich = {}
        params["properties"] = {k: rich.get(k, v) for k, v in params["properties"].items()}
    return params


def _resolved(openai_tool: dict[str, Any]) -> dict[str, Any]:
    params = openai_tool["function"].get("parameters") or {}
    resolved: dict[str, Any] = _resolve(
        params, params.get("$defs") or params.get("definitions") or {}
    )
    return resolved


def _resolve(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if depth > 20:
        return {}
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = copy.deepcopy(defs.get(ref.rsplit("/", 1)[-1], {}))
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(merged, defs, depth + 1)
        return {
            k: _resolve(v, defs, depth + 1)
            for k, v in node.items()
            if k not in ("$defs", "definitions")
        }
    if isinstance(node, list):
        return [_resolve(v, defs, depth + 1) for v in node]
    return node


# (hint found in the parameter name or format, first sample, second sample)
_STRING_HINTS = (
    ("email", "alex@example.com", "sam@example.org"),
    ("url", "https://example.com", "https://example.org/docs"),
    ("uri", "https://example.com", "https://example.org/docs"),
    ("date", "2024-05-17", "2024-11-02"),
    ("time", "14:30", "09:15"),
    ("path", "notes.txt", "reports/summary.csv"),
    ("file", "notes.txt", "reports/summary.csv"),
    ("city", "Paris", "Tokyo"),
    ("country", "France", "Japan"),
    ("name", "Alex", "Sam"),
    ("query", "running shoes", "wireless headphones"),
    ("id", "A100", "B205"),
    ("currency", "EUR", "USD"),
    ("lang", "en", "fr"),
    ("text", "hello world", "good morning"),
)


def example_value(schema: dict[str, Any], name: str = "value", variant: int = 0) -> Any:
    """A plausible value for a JSON-schema property (deterministic per ``variant``).

    Variant 0 prefers defaults and the first enum value; other variants pick other values.

    Example:
        >>> example_value({"type": "string", "enum": ["C", "F"]}, "unit", 1)
        'F'
        >>> example_value({"type": "integer", "minimum": 5}, "count")
        5
        >>> [example_value({"type": "string"}, "host", v) for v in (0, 1)]
        ['sample host', 'another host']
    """
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
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
    if kind == "null":
        return None
    if kind == "boolean":
        return variant % 2 == 0
    if kind in ("integer", "number"):
        return _example_number(schema, kind, variant)
    if kind == "array":
        return _example_array(schema, name, variant)
    if kind == "object":
        return _example_object(schema, variant, optional=variant > 0)
    return _example_string(schema, name, variant)


def _example_number(schema: dict[str, Any], kind: str, variant: int) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = low if low is not None else (2 if variant == 0 else 10)
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        value = schema["exclusiveMinimum"] + (1 if kind == "integer" else 0.5)
    if high is not None and value >= high:
        value = high
        if "maximum" not in schema:  # exclusiveMaximum: stay below it
            value -= 1 if kind == "integer" else 0.5
        if low is not None and value < low:
            value = (low + high) / 2
    return int(value) if kind == "integer" else float(value)


def _example_array(schema: dict[str, Any], name: str, variant: int) -> list[Any]:
    prefix = schema.get("prefixItems")
    if prefix:
        return [example_value(s, name, variant) for s in prefix]
    count = max(1, int(schema.get("minItems") or 0))
    if "maxItems" in schema:
        count = min(count, int(schema["maxItems"]))
    items = schema.get("items") or {}
    return [example_value(items, name, variant + i) for i in range(count)]


def _example_string(schema: dict[str, Any], name: str, variant: int) -> str:
    lowered = f"{name} {schema.get('format', '')}".lower()
    text = next(
        (pair[variant % 2] for hint, *pair in _STRING_HINTS if hint in lowered),
        f"{'sample' if variant % 2 == 0 else 'another'} {name.replace('_', ' ')}",
    )
    low, high = int(schema.get("minLength") or 0), schema.get("maxLength")
    if len(text) < low:
        text = text + "x" * (low - len(text))
    if high is not None:
        text = text[: int(high)]
    return text


def _example_object(schema: dict[str, Any], variant: int, optional: bool) -> dict[str, Any]:
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    out: dict[str, Any] = {}
    enum_uses: dict[str, int] = {}
    for key, prop in props.items():
        if key not in required and not optional:
            continue
        # Sibling properties with the same choices (from_unit / to_unit) get different values.
        choices = json.dumps(prop.get("enum"), sort_keys=True) if prop.get("enum") else ""
        offset = enum_uses.get(choices, 0) if choices else 0
        if choices:
            enum_uses[choices] = offset + 1
        out[key] = example_value(prop, key, variant + offset)
    return out


def _first_sentence(text: str) -> str:
    text = " ".join((text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return (match.group(1) if match else text)[:160]


def _valid(tool: BaseTool, args: dict[str, Any]) -> bool:
    """Whether ``args`` validate against the tool's own argument schema."""
    schema = tool.tool_call_schema
    if isinstance(schema, dict):
        try:
            import jsonschema
        except ImportError:  # optional: without it, trust the derivation
            return True
        return not any(True for _ in jsonschema.Draft202012Validator(schema).iter_errors(args))
    validate = getattr(schema, "model_validate", None) or getattr(schema, "parse_obj", None)
    if validate is None:
        return True
    try:
        validate(args)
    except Exception:
        return False
    return True


def schema_demonstrations(tool: BaseTool, n: int = 2) -> list[Demonstration]:
    """Up to ``n`` format examples for ``tool`` built from its schema alone.

    The first uses only required arguments (defaults where given), the second adds the optional
    ones with other values. Arguments always validate against the tool's schema (candidates that
    do not are dropped); tool results and answers are placeholders in angle brackets, and the
    request starts with ``[format example]`` so prompts can tell the model what these are.

    Example:
        >>> from langchain_ste.tools.examples import convert_units
        >>> demo = schema_demonstrations(convert_units)[0]
        >>> demo.id, demo.messages[1].tool_calls[0]["args"]
        ('synthetic:convert_units:0', {'value': 2.0, 'from_unit': 'mm', 'to_unit': 'cm'})
        >>> demo.messages[2].content
        '<result of convert_units>'
    """
    params = tool_parameters(tool)
    demos: list[Demonstration] = []
    seen: list[dict[str, Any]] = []
    for variant in range(max(n, 0) * 3):
        if len(demos) >= n:
            break
        args = _example_object(params, variant, optional=variant > 0)
        if args in seen or not _valid(tool, args):
            continue
        seen.append(args)
        demos.append(_synthetic(tool, len(demos), args))
    if n > 0 and not demos:
        logger.warning(
            "no schema-derived example of %s validates against its schema; add `examples` "
            "(pydantic Field(examples=[...])) to its arguments to give the model a demonstration",
            tool.name,
        )
    return demos


def _synthetic(tool: BaseTool, i: int, args: dict[str, Any]) -> Demonstration:
    call_id = f"demo_{tool.name}_{i}_0"
    shown = ", ".join(
        f"{k} {json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in args.items()
    )
    query = f"{FORMAT_EXAMPLE_TAG} {_first_sentence(tool.description)} ({shown})"
    messages: list[BaseMessage] = [
        HumanMessage(query),
        AIMessage(
            "",
            tool_calls=[{"name": tool.name, "args": args, "id": call_id, "type": "tool_call"}],
            additional_kwargs={"react_thought": f"I should use {tool.name}."},
        ),
        ToolMessage(f"<result of {tool.name}>", tool_call_id=call_id, name=tool.name),
        AIMessage(
            f"<the answer, using the result of {tool.name}>",
            additional_kwargs={"react_thought": "I can answer now."},
        ),
    ]
    return Demonstration(
        id=f"{SYNTHETIC_PREFIX}{tool.name}:{i}", query=query, messages=messages, synthetic=True
    )


def imagine_examples(tool: BaseTool, n: int = 2) -> list[str]:
    """Example user requests for the imagine prompt, derived from the schema (format only).

    Example:
        >>> from langchain_ste.tools.examples import search_catalog
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
    current query or an id in ``exclude_ids``. Memory errors and unreadable trials fall back to
    synthetic demonstrations (logged, never raised).

    Example:
        >>> from langchain_ste.tools.examples import convert_units
        >>> [d.synthetic for d in act_demonstrations(convert_units, "3 in in cm?", None)]
        [True, True]
    """
    found: list[Trial] = []
    if memory is not None and k > 0:
        try:
            found = memory.search(
                query,
                k=2 * k,
                tools=[tool.name],
                only_successful=True,
                diverse=True,
                exclude_ids=exclude_ids,
            )
        except Exception as exc:
            logger.warning("memory search failed, using schema demonstrations: %s", exc)
    wanted = _normalise(query)
    demos: list[Demonstration] = []
    for trial in found:
        if len(demos) >= k:
            break
        if not (trial.success and trial.clean) or trial.trial_id in exclude_ids:
            continue
        if _normalise(trial.query) == wanted:
            continue
        try:
            messages = exemplar_messages(trial, f"demo{len(demos)}")
        except Exception as exc:
            logger.warning("skipping trial %s as a demonstration: %s", trial.trial_id, exc)
            continue
        if not any(isinstance(m, AIMessage) and m.tool_calls for m in messages):
            continue
        demos.append(Demonstration(trial.trial_id, trial.query, messages, synthetic=False))
    return demos or schema_demonstrations(tool, n=min(k, 2))


def _normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def render_demonstrations_text(demos: Sequence[Demonstration]) -> str:
    """A compact text form of ``demos`` for prompts that take text rather than messages.

    Example:
        >>> from langchain_ste.tools.examples import convert_units
        >>> print(render_demonstrations_text(schema_demonstrations(convert_units, 1)))
        ... # doctest: +ELLIPSIS
        Example 1 (format example):
        User: [format example] Convert a quantity ... (value 2.0, from_unit mm, to_unit cm)
        Call: convert_units({"value": 2.0, "from_unit": "mm", "to_unit": "cm"})
        Result: <result of convert_units>
        Answer: <the answer, using the result of convert_units>
    """
    blocks = []
    for n, demo in enumerate(demos, 1):
        kind = "format example" if demo.synthetic else "past success"
        lines = [f"Example {n} ({kind}):"]
        for msg in demo.messages:
            if isinstance(msg, HumanMessage):
                lines.append(f"User: {msg.text}")
            elif isinstance(msg, AIMessage) and msg.tool_calls:
                lines += [f"Call: {c['name']}({json.dumps(c['args'])})" for c in msg.tool_calls]
            elif isinstance(msg, ToolMessage):
                lines.append(f"Result: {_shorten(msg.text)}")
            elif isinstance(msg, AIMessage) and msg.text:
                lines.append(f"Answer: {_shorten(msg.text)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
