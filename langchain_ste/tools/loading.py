"""Loading tools (or model factories) from an import path, so other processes can rebuild them.

A spec is ``package.module:attr`` or ``path/to/file.py:attr``; ``attr`` is a tool, a list of
tools, or a zero-argument callable returning either. Ray workers and the CLI use this: a spec
travels where a tool object (often unpicklable) cannot.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool


def load_object(spec: str) -> Any:
    """Import ``module:attr`` or ``file.py:attr`` and return the attribute.

    Raises:
        ValueError: the spec has no ``:attr`` part, or the module or attribute is missing.

    Example:
        >>> load_object("langchain_ste.tools.examples:example_tools")().__len__()
        2
    """
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise ValueError(f"{spec!r} is not 'package.module:attr' or 'path/to/file.py:attr'")
    try:
        if module_part.endswith(".py"):
            path = Path(module_part).resolve()
            name = f"_ste_user_{path.stem}"
            module = sys.modules.get(name)
            if module is None:
                loader_spec = importlib.util.spec_from_file_location(name, path)
                if loader_spec is None or loader_spec.loader is None:
                    raise ImportError(f"cannot import {path}")
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[name] = module
                loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_part)
    except (ImportError, FileNotFoundError) as exc:
        raise ValueError(f"cannot import {module_part!r} from {spec!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ValueError(f"{module_part!r} has no attribute {attr!r}") from exc


def load_tools(spec: str) -> list[BaseTool]:
    """The tools a spec names (a tool, a list of tools, or a factory returning them).

    Raises:
        ValueError: the spec cannot be imported or does not give tools.

    Example:
        >>> [t.name for t in load_tools("langchain_ste.tools.examples:example_tools")]
        ['convert_units', 'search_catalog']
    """
    obj = load_object(spec)
    if callable(obj) and not isinstance(obj, BaseTool):
        try:
            obj = obj()
        except Exception as exc:
            raise ValueError(f"calling {spec!r} to get the tools failed: {exc!r}") from exc
    if isinstance(obj, BaseTool):
        tools = [obj]
    elif isinstance(obj, list | tuple | set):
        tools = list(obj)
    else:
        raise ValueError(f"{spec!r} must give a tool or a list of tools, got {type(obj).__name__}")
    bad = [type(t).__name__ for t in tools if not isinstance(t, BaseTool)]
    if bad or not tools:
        raise ValueError(f"{spec!r} must give LangChain tools, got {bad or 'nothing'}")
    return tools
