"""BFCL's API classes as live LangChain tools: schemas, instances, recorded calls."""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from langchain_ste.evaluate.benchmarks.base import RecordedCall, ToolEnvironment
from langchain_ste.evaluate.benchmarks.bfcl.data import (
    _check_class,
    load_func_docs,
    require_bfcl,
)

EXPLORATION_SCENARIOS: dict[str, dict[str, Any]] = {
    "GorillaFileSystem": {
        "root": {
            "workspace": {
                "type": "directory",
                "contents": {
                    "notes.txt": {"type": "file", "content": "Buy milk. Call Anna. Ship the demo."},
                    "todo.md": {"type": "file", "content": "- write tests\n- fix the parser"},
                    "reports": {
                        "type": "directory",
                        "contents": {
                            "q1.csv": {"type": "file", "content": "month,sales\njan,10\nfeb,12"},
                        },
                    },
                },
            }
        }
    },
}
"""Start states for exploration where the class's own default is empty (the file system starts
as an empty root); written for this library, unrelated to the test questions."""

_TYPES = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "list": "array",
    "int": "integer",
    "integer": "integer",
    "string": "string",
    "str": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "object": "object",
    "number": "number",
}


def to_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Map a BFCL parameter schema to JSON Schema (``dict`` -> object, ``float`` -> number,
    ``tuple`` -> array, ``any`` -> no type constraint), recursively.

    Example:
        >>> out = to_json_schema({"type": "dict", "properties": {"x": {"type": "float"},
        ...                       "p": {"type": "tuple", "items": {"type": "any"}}}})
        >>> out["type"], out["properties"]["x"], out["properties"]["p"]
        ('object', {'type': 'number'}, {'type': 'array', 'items': {}})
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            kind = str(value).lower()
            if kind in _TYPES:
                out["type"] = _TYPES[kind]
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {k: to_json_schema(v) for k, v in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            out["items"] = to_json_schema(value)
        elif key in {"description", "required", "enum", "default"}:
            out[key] = value
    if out.get("type") == "object" and "properties" not in out and schema is not None:
        out.setdefault("properties", {})
    return out


def create_instance(
    class_name: str, config: Mapping[str, Any] | None = None, *, long_context: bool = False
) -> Any:
    """A live instance of a BFCL API class, loaded like BFCL loads it.

    Args:
        class_name: one of `SUPPORTED_CLASSES`.
        config: the class's part of an entry's ``initial_config``; None for the exploration
            scenario (`EXPLORATION_SCENARIOS`, or the class's own default state).
        long_context: BFCL's long-context state (``multi_turn_long_context`` entries).

    Example:
        >>> create_instance("MathAPI").add(a=2, b=3)
        {'result': 5}
    """
    _check_class(class_name)
    require_bfcl()
    from bfcl_eval.constants.executable_backend_config import (
        CLASS_FILE_PATH_MAPPING,
        STATELESS_CLASSES,
    )

    instance = getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[class_name]), class_name)()
    if class_name not in STATELESS_CLASSES:
        scenario = EXPLORATION_SCENARIOS.get(class_name, {}) if config is None else config
        instance._load_scenario(copy.deepcopy(dict(scenario)), long_context=long_context)
    return instance


def format_call(name: str, args: Mapping[str, Any]) -> str:
    """Render a call the way BFCL's checker executes it: ``func(arg=value, ...)``.

    Example:
        >>> format_call("mv", {"source": "a.txt", "destination": "tmp"})
        "mv(source='a.txt', destination='tmp')"
    """
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


@dataclass
class BFCLEnvironment(ToolEnvironment):
    """A `ToolEnvironment` over live BFCL instances (``instances``: class name -> instance)."""

    instances: dict[str, Any] = field(default_factory=dict)


def bfcl_environment(
    class_names: Sequence[str],
    initial_config: Mapping[str, Any] | None = None,
    *,
    long_context: bool = False,
) -> BFCLEnvironment:
    """Tools for the functions of ``class_names``, each bound to one live instance per class.

    Args:
        class_names: the BFCL API classes.
        initial_config: an entry's ``initial_config`` (evaluation); None loads the exploration
            scenarios.
        long_context: load BFCL's long-context state (see `BFCLEntry.long_context`).

    Example:
        >>> env = bfcl_environment(["GorillaFileSystem"])
        >>> cd = next(t for t in env.tools if t.name == "cd")
        >>> cd.invoke({"folder": "reports"})
        '{"current_working_directory": "reports"}'
        >>> env.calls, env.instances["GorillaFileSystem"]._current_dir.name
        ([{'name': 'cd', 'args': {'folder': 'reports'}}], 'reports')
    """
    env = BFCLEnvironment(tools=[])
    by_name: dict[str, BaseTool] = {}
    for class_name in class_names:
        config = None if initial_config is None else initial_config.get(class_name, {})
        instance = create_instance(class_name, config, long_context=long_context)
        env.instances[class_name] = instance
        for doc in load_func_docs(class_name):
            by_name[doc["name"]] = _bfcl_tool(instance, doc, env)
    env.tools = list(by_name.values())
    return env


def bfcl_exploration_tools(class_names: Sequence[str]) -> list[BaseTool]:
    """Tools to explore with STE: the classes' functions on the exploration scenario.

    Example:
        >>> len(bfcl_exploration_tools(["MathAPI"]))
        17
    """
    return bfcl_environment(class_names).tools


def _bfcl_tool(instance: Any, doc: Mapping[str, Any], env: ToolEnvironment) -> BaseTool:
    name = str(doc["name"])
    schema = to_json_schema(doc.get("parameters") or {"type": "dict", "properties": {}})
    schema["type"] = "object"
    allowed = set(schema.get("properties", {}))
    required = [r for r in schema.get("required", []) if r in allowed]
    method = getattr(instance, name)

    def run(**kwargs: Any) -> str:
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            return (
                f"Error: {name} takes no argument {', '.join(unknown)}; its arguments are: "
                f"{', '.join(sorted(allowed)) or '(none)'}"
            )
        missing = [r for r in required if r not in kwargs]
        if missing:
            return f"Error: {name} is missing the required argument(s) {', '.join(missing)}"
        with env.lock:
            env.record(name, kwargs)
            try:
                result = method(**kwargs)
            except Exception as exc:  # BFCL's executor reports failures the same way
                return f"Error during execution: {exc}"
        return _result_text(result)

    description = " ".join(str(doc.get("description", name)).split())
    return StructuredTool.from_function(
        func=run,
        name=name,
        description=description,
        args_schema=schema,
    )


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        try:
            return json.dumps(result)
        except (TypeError, ValueError):
            return str(result)
    return str(result)


def parse_call(text: str, instances: Mapping[str, Any]) -> RecordedCall:
    """Parse a BFCL call string (as in the ground truth) into a call with named arguments.

    Positional arguments are named from the method's signature on the live instances.

    Example:
        >>> env = bfcl_environment(["GorillaFileSystem"])
        >>> parse_call("sort('notes.txt')", env.instances)
        {'name': 'sort', 'args': {'file_name': 'notes.txt'}}
    """
    node = ast.parse(text.strip(), mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a BFCL function call: {text!r}")
    name = node.func.id
    args = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    if node.args:
        method = next((getattr(i, name) for i in instances.values() if hasattr(i, name)), None)
        if method is None:
            raise ValueError(f"no live instance has a method {name!r} (in {text!r})")
        params = list(inspect.signature(method).parameters)
        args = {**{p: ast.literal_eval(a) for p, a in zip(params, node.args, strict=False)}, **args}
    return RecordedCall(name=name, args=args)
