"""Tool schemas as models read them: OpenAI function schemas from any tool, and their text.

`tool_schemas` turns `BaseTool` objects, functions, pydantic models and tool dicts in the known
shapes into OpenAI function schemas (the native tool path passes them to the chat template);
`render_tools` spells them out as text for prompts (the ReAct protocol, the explorer's tool
list), nested object fields included up to a depth limit. A dict in an unknown shape is refused
with an error that names the tool and what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool


def clip(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters for an error message."""
    return text if len(text) <= limit else text[:limit] + "..."


MAX_RENDER_DEPTH = 3
"""Levels of nested object fields `render_tools` spells out; deeper objects show as ``object``."""

_TOOL_DICT_KEYS = frozenset(
    {"name", "description", "parameters", "strict", "type", "title", "function", "response"}
)
_TYPE_ALIASES = {
    "dict": "object",
    "float": "number",
    "double": "number",
    "int": "integer",
    "long": "integer",
    "str": "string",
    "bool": "boolean",
    "list": "array",
    "tuple": "array",
    "set": "array",
}
_GENERIC_TYPE = re.compile(r"^\s*(list|tuple|set|array|dict)\s*[\[(<]\s*(.*?)\s*[\])>]\s*$", re.I)


def tool_schemas(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI-style function schemas for tools (BaseTool, functions, pydantic models or dicts).

    Raises:
        ValueError: a dict in no known shape (an OpenAI function, a ``{"type": "function"}``
            tool, an Anthropic tool or a JSON Schema with a title), or whose ``parameters`` are
            not a JSON Schema object; the error names the tool and what is wrong.

    Example:
        >>> tool_schemas([{"name": "ping", "description": "Ping."}])[0]["name"]
        'ping'
        >>> tool_schemas([{"name": "f", "arguments": {"x": "int"}}])
        Traceback (most recent call last):
        ...
        ValueError: tool 'f' has no 'parameters' (a JSON Schema object) but keys arguments: \
pass an OpenAI function schema {"name", "description", "parameters"}, a BaseTool or a function
    """
    out = []
    for tool in tools:
        try:
            schema = convert_to_openai_tool(tool)["function"]
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"cannot read tool {clip(repr(tool), 80)}: {exc}") from exc
        if isinstance(tool, Mapping):
            _check_tool_dict(tool, schema)
        out.append(schema)
    return out


def _check_tool_dict(tool: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    name = schema.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"tool {clip(repr(dict(tool)), 80)} has no name")
    params = schema.get("parameters")
    if params is None:
        function = tool.get("function")
        inner: Mapping[str, Any] = function if isinstance(function, Mapping) else tool
        extra = sorted(set(inner) - _TOOL_DICT_KEYS)
        if extra:
            raise ValueError(
                f"tool {name!r} has no 'parameters' (a JSON Schema object) but keys "
                f'{", ".join(extra)}: pass an OpenAI function schema {{"name", "description", '
                '"parameters"}, a BaseTool or a function'
            )
        return
    if not isinstance(params, Mapping):
        raise ValueError(
            f"tool {name!r}: 'parameters' must be a JSON Schema object, not {params!r}"
        )
    declared = params.get("type", "object")
    kind = _TYPE_ALIASES.get(str(declared).lower(), declared)
    props = params.get("properties", {})
    if kind != "object" or not isinstance(props, Mapping):
        raise ValueError(
            f"tool {name!r}: 'parameters' must be a JSON Schema of type object with a "
            f"'properties' mapping, got {clip(json.dumps(params, default=str), 120)}"
        )
    bad = [k for k, v in props.items() if not isinstance(v, Mapping)]
    if bad:
        raise ValueError(
            f"tool {name!r}: argument(s) {', '.join(map(str, bad))} need a JSON Schema each "
            '(e.g. {"type": "string"})'
        )


def render_tools(tools: Sequence[Any], *, max_depth: int = MAX_RENDER_DEPTH) -> str:
    """Render tools and the ReAct format as compact system-prompt text.

    Each argument is shown as ``name: type`` with its allowed values, default or optional flag:
    short prompts matter for small models and for training cost. Nested objects (pydantic model
    fields, lists of objects) show their fields down to ``max_depth`` levels, maps show their
    value type, and lists their item type.

    Raises:
        ValueError: a tool dict in an unknown shape (see `tool_schemas`).

    Example:
        >>> from langchain_core.tools import tool
        >>> @tool
        ... def add(a: int, b: int = 1) -> int:
        ...     '''Add two integers.'''
        ...     return a + b
        >>> print(render_tools([add]).splitlines()[2])
        - add: Add two integers. Arguments: {"a": integer, "b": integer (default 1)}
        >>> edit = {"name": "edit", "description": "Edit a ticket.", "parameters": {
        ...     "type": "object", "required": ["updates"], "properties": {"updates": {
        ...         "type": "object", "properties": {"title": {"type": "string"}}}}}}
        >>> print(render_tools([edit]).splitlines()[2])
        - edit: Edit a ticket. Arguments: {"updates": object {"title": string (optional)}}
    """
    lines = ["You can use these tools:", ""]
    names = []
    for schema in tool_schemas(tools):
        names.append(schema["name"])
        params = schema.get("parameters", {}) or {}
        defs = {**(params.get("definitions") or {}), **(params.get("$defs") or {})}
        args = _fields(params, 0, max_depth, defs)
        desc = " ".join(str(schema.get("description", "")).split())
        lines.append(f"- {schema['name']}: {desc} Arguments: {args}")
    lines += [
        "",
        "To use a tool, reply exactly in this format:",
        "Thought: what you need to do",
        f"Action: one tool name from [{', '.join(names)}]",
        'Action Input: the arguments as a JSON object, e.g. {"name": "value"}',
        "",
        'You will then get "Observation: <the tool result>". When you can answer, reply:',
        "Thought: I can answer now",
        "Final Answer: your answer to the user",
    ]
    return "\n".join(lines)


def _fields(schema: Mapping[str, Any], depth: int, max_depth: int, defs: Mapping[str, Any]) -> str:
    required = set(schema.get("required") or [])
    return (
        "{"
        + ", ".join(
            f'"{name}": {_describe(prop, name in required, depth, max_depth, defs)}'
            for name, prop in (schema.get("properties") or {}).items()
        )
        + "}"
    )


def _describe(
    prop: Mapping[str, Any],
    required: bool,
    depth: int = 0,
    max_depth: int = MAX_RENDER_DEPTH,
    defs: Mapping[str, Any] | None = None,
) -> str:
    """``integer``, ``string, one of a|b``, ``number (optional)``, ``array of string``,
    ``object {"city": string}``..."""
    prop = _resolve(prop, defs or {})
    text = _type_text(prop, depth, max_depth, defs or {})
    if prop.get("description"):
        text += f" ({' '.join(str(prop['description']).split())})"
    if "default" in prop and prop["default"] is not None:
        text += f" (default {json.dumps(prop['default'], default=str)})"
    elif not required:
        text += " (optional)"
    return text


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        if isinstance(target, Mapping):
            return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _type_text(
    schema: Mapping[str, Any], depth: int, max_depth: int, defs: Mapping[str, Any]
) -> str:
    schema = _resolve(schema, defs)
    options = [
        _resolve(o, defs)
        for o in schema.get("anyOf", schema.get("oneOf", []))
        if isinstance(o, Mapping) and o.get("type") != "null"
    ]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        schema = {**rest, **options[0]}
    elif options:
        return " | ".join(_type_text(o, depth, max_depth, defs) for o in options)
    kind: Any = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) > 1:
            return " | ".join(
                _type_text({**schema, "type": k}, depth, max_depth, defs) for k in kinds
            )
        kind = kinds[0] if kinds else None
    items: Any = schema.get("items")
    values: Any = schema.get("additionalProperties")
    generic = _GENERIC_TYPE.match(kind) if isinstance(kind, str) else None
    if generic:  # "list(str)", "List[str]", "dict(str, int)" as written in hand-made docs
        outer, inner = generic.group(1).lower(), generic.group(2)
        if outer == "dict":
            kind, values = "object", {"type": inner.split(",")[-1].strip() or "any"}
        else:
            kind, items = "array", {"type": inner or "any"}
    if isinstance(kind, str):
        kind = _TYPE_ALIASES.get(kind.lower(), kind)
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "any"
    text = str(kind)
    if kind == "array" and isinstance(items, Mapping):
        text = f"array of {_type_text(items, depth, max_depth, defs) if items else 'any'}"
    elif kind == "object" and schema.get("properties") and depth < max_depth:
        text = f"object {_fields(schema, depth + 1, max_depth, defs)}"
    elif kind == "object" and isinstance(values, Mapping) and values:
        text = f"object of {_type_text(values, depth, max_depth, defs)} values"
    if schema.get("enum"):
        text += ", one of " + "|".join(str(v) for v in schema["enum"])
    return text
