"""A module-level graph factory for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``).

Studio calls `make_graph` with the assistant's config; each setting comes from the config's
``configurable`` mapping, then from an ``STE_*`` environment variable, then from a default that
runs offline: the embedded model on the example tools, trials in ``ste-runs/studio``.

| key | environment | default |
| --- | --- | --- |
| ``model`` | ``STE_MODEL`` | ``local`` (a `load_chat_model` spec) |
| ``model_factory`` | ``STE_MODEL_FACTORY`` | none (``module:attr``, a zero-argument callable) |
| ``tools`` | ``STE_TOOLS`` | ``langchain_ste.tools.examples:example_tools`` |
| ``out_dir`` | ``STE_OUT`` | ``ste-runs/studio`` |
| ``preset`` | ``STE_PRESET`` | by model (see `PRESETS`) |
"""

from __future__ import annotations

import os
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from langchain_ste.explore.graph import create_explorer
from langchain_ste.models import DEFAULT_EXPLORER_SPEC
from langchain_ste.tools.loading import load_object, load_tools

_DEFAULTS = {
    "model": DEFAULT_EXPLORER_SPEC,
    "tools": "langchain_ste.tools.examples:example_tools",
    "out_dir": "ste-runs/studio",
}


def _setting(configurable: dict[str, Any], key: str) -> str | None:
    value = configurable.get(key) or os.environ.get(f"STE_{key.upper().removesuffix('_DIR')}")
    return str(value) if value else _DEFAULTS.get(key)


def make_graph(config: RunnableConfig | None = None) -> CompiledStateGraph:
    """The exploration graph configured from ``config["configurable"]`` and ``STE_*`` variables.

    Example:
        >>> import tempfile
        >>> graph = make_graph({"configurable": {
        ...     "model_factory": "langchain_ste.testing:ScriptedExplorer",
        ...     "out_dir": tempfile.mkdtemp(), "preset": "paper"}})
        >>> out = graph.invoke({"tools": ["convert_units"]}, {"recursion_limit": 1000})
        >>> len(out["trials"])  # 15 episodes x 4 trials, the paper's defaults
        60
    """
    configurable = dict((config or {}).get("configurable") or {})
    factory = _setting(configurable, "model_factory")
    if factory:
        model = load_object(factory)()
    else:
        from langchain_ste.models import load_chat_model

        model = load_chat_model(_setting(configurable, "model") or DEFAULT_EXPLORER_SPEC)
    tools = load_tools(_setting(configurable, "tools") or _DEFAULTS["tools"])
    return create_explorer(
        model,
        tools,
        memory=_setting(configurable, "out_dir"),
        settings=_setting(configurable, "preset"),
    )


__all__ = ["make_graph"]
