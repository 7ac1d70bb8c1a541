"""The tool schemas a fine-tuning dataset is rendered with.

From the tools themselves when they are at hand (`tool_schemas_of`); from the ``tools.json``
exploration wrote beside its trials (`stored_or_inferred_schemas`); and only for tools missing
there, rebuilt from the trials (`infer_tool_schemas`: ``trial.extra["tool_schemas"]`` when the
trials carry them, else the arguments the calls used, with JSON types and no descriptions).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_ste.trial import Trial

_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def tool_schemas_of(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI function-tool schemas (``{"type": "function", "function": {...}}``), in order.

    Example:
        >>> from langchain_ste.tools.examples import example_tools
        >>> [s["function"]["name"] for s in tool_schemas_of(example_tools())]
        ['convert_units', 'search_catalog']
    """
    return [convert_to_openai_tool(t) for t in tools]


def infer_tool_schemas(trials: Iterable[Trial]) -> list[dict[str, Any]]:
    """Tool schemas rebuilt from trials when the tools themselves are not at hand.

    A trial's ``extra["tool_schemas"]`` (a list of OpenAI function schemas) wins; otherwise each
    tool gets the arguments its calls used, typed from their JSON values, required when every
    call passed them. Such schemas have no descriptions: pass the real tools when you can.

    Example:
        >>> from langchain_ste.trajectory import Step
        >>> t = Trial.from_steps(trial_id="x", tools=["add"], episode=0, index=0, query="1+2",
        ...           steps=[Step(tool="add", args={"a": 1, "b": 2.5}, call_id="c")])
        >>> infer_tool_schemas([t])[0]["function"]["parameters"]["properties"]
        {'a': {'type': 'integer'}, 'b': {'type': 'number'}}
    """
    stored: dict[str, dict[str, Any]] = {}
    seen: dict[str, list[dict[str, Any]]] = {}
    for trial in trials:
        for schema in trial.extra.get("tool_schemas") or []:
            if isinstance(schema, dict):
                fn = schema.get("function", schema)
                if isinstance(fn, dict) and fn.get("name"):
                    stored.setdefault(str(fn["name"]), {"type": "function", "function": fn})
        for step in trial.steps:
            if step.tool and isinstance(step.args, dict):
                seen.setdefault(step.tool, []).append(step.args)
        for name in trial.tools:
            seen.setdefault(name, [])
    schemas = []
    for name in sorted(set(seen) | set(stored)):
        if name in stored:
            schemas.append(stored[name])
            continue
        calls = seen[name]
        props: dict[str, dict[str, Any]] = {}
        for args in calls:
            for key, value in args.items():
                kind = _JSON_TYPES.get(type(value))
                if kind and key not in props:
                    props[key] = {"type": kind}
        required = sorted(k for k in props if calls and all(k in c for c in calls))
        schemas.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": "",
                    "parameters": {"type": "object", "properties": props, "required": required},
                },
            }
        )
    return schemas


def stored_or_inferred_schemas(
    directory: str | os.PathLike[str], trials: Sequence[Trial]
) -> list[dict[str, Any]]:
    """The tool schemas exploration wrote to ``directory/tools.json`` (`write_tool_schemas`),
    plus schemas inferred from the trials (`infer_tool_schemas`) for tools the file lacks.

    Example:
        >>> import tempfile
        >>> from langchain_ste.memory.tool_schemas import write_tool_schemas
        >>> from langchain_ste.tools.examples import example_tools
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_tool_schemas(folder, example_tools())
        >>> t = Trial(trial_id="x", tools=["convert_units"], episode=0, index=0, query="q")
        >>> schema = stored_or_inferred_schemas(folder, [t])[0]["function"]
        >>> schema["name"], schema["description"].startswith("Convert")
        ('convert_units', True)
    """
    from langchain_ste.memory.tool_schemas import read_tool_schemas

    stored = read_tool_schemas(directory)
    names = {s["function"]["name"] for s in stored}
    return stored + [s for s in infer_tool_schemas(trials) if s["function"]["name"] not in names]
