"""langchain-ste: simulated trial and error (STE) for LangChain agents.

Explore tools with no human data (imagine -> act -> reflect), remember what was learned in a Chroma
long-term memory, and exploit it in context (few-shot exemplars through a `create_agent`
middleware or a LangGraph node) or in the weights (LoRA fine-tuning with experience replay).

Public names are imported lazily so that `import langchain_ste` stays light: torch, transformers
and peft load only when a part that needs them is used.

Example:
    >>> import langchain_ste
    >>> "create_explorer" in langchain_ste.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it: what the quick start and the how-tos use. Everything
# else is imported from its subpackage (`langchain_ste.evaluate`, `langchain_ste.tools.redact`...).
_EXPORTS: dict[str, str] = {
    # explore
    "create_explorer": "langchain_ste.explore",
    "explore": "langchain_ste.explore",
    "aexplore": "langchain_ste.explore",
    "ExploreSettings": "langchain_ste.explore",
    "ExplorePrompts": "langchain_ste.explore",
    "ToolPolicy": "langchain_ste.tools.policy",
    "Budget": "langchain_ste.tools.policy",
    "explore_on_ray": "langchain_ste.explore.ray",
    # memory and trials
    "ExplorationMemory": "langchain_ste.memory.chroma",
    "Trial": "langchain_ste.trial",
    "read_trials": "langchain_ste.trial_log",
    # exploit in context
    "STEMiddleware": "langchain_ste.exploit",
    "TrialRecorder": "langchain_ste.exploit",
    "ExemplarRetriever": "langchain_ste.exploit",
    "exemplar_node": "langchain_ste.exploit",
    # fine-tune
    "build_sft_records": "langchain_ste.finetune",
    "export_dataset": "langchain_ste.finetune",
    "LoraSettings": "langchain_ste.finetune",
    "train_lora": "langchain_ste.finetune",
    "train_rounds": "langchain_ste.finetune",
    # models
    "load_chat_model": "langchain_ste.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'langchain_ste' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
