"""The explored tools' schemas, kept as ``tools.json`` beside ``trials.jsonl``.

Exploration knows the real tools (names, descriptions, argument schemas); writing them next to the
trials lets a later export (`finetune.dataset.export_dataset`, ``ste export``) render exactly the
tools the model saw, instead of rebuilding schemas from call arguments.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool

TOOLS_FILE = "tools.json"


def write_tool_schemas(directory: str | os.PathLike[str], tools: Sequence[Any]) -> Path:
    """Write the tools' OpenAI function schemas to ``directory/tools.json`` (atomically).

    Schemas already there are kept unless a tool of the same name replaces them, so several
    explorations into one memory accumulate their tools.

    Args:
        directory: the memory folder (holds ``trials.jsonl``).
        tools: `BaseTool` objects or OpenAI-style dicts.

    Example:
        >>> import tempfile
        >>> from langchain_ste.tools.examples import example_tools
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_tool_schemas(folder, example_tools()[:1])
        >>> _ = write_tool_schemas(folder, example_tools()[1:])
        >>> [s["function"]["name"] for s in read_tool_schemas(folder)]
        ['convert_units', 'search_catalog']
    """
    path = Path(directory) / TOOLS_FILE
    by_name = {s["function"]["name"]: s for s in read_tool_schemas(directory)}
    for tool in tools:
        schema = convert_to_openai_tool(tool)
        by_name[schema["function"]["name"]] = schema
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(sorted(by_name.values(), key=_name), indent=2, ensure_ascii=False))
    tmp.replace(path)
    return path


def read_tool_schemas(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The schemas in ``directory/tools.json`` (``[]`` when there is none).

    Raises:
        ValueError: the file is not a JSON list of function schemas.
    """
    path = Path(directory) / TOOLS_FILE
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(
        isinstance(s, dict) and isinstance(s.get("function"), dict) and s["function"].get("name")
        for s in data
    ):
        raise ValueError(f"{path} is not a list of OpenAI function schemas")
    return data


def _name(schema: dict[str, Any]) -> str:
    return str(schema["function"]["name"])
