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

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "EntryResult": "langchain_ste.evaluate",
    "EvalCase": "langchain_ste.benchmarks",
    "bfcl_exploration_tools": "langchain_ste.benchmarks.bfcl",
    "load_cases": "langchain_ste.evaluate",
    "run_benchmark": "langchain_ste.evaluate",
    "write_report": "langchain_ste.evaluate.report",
    "Budget": "langchain_ste.policy",
    "BudgetExhausted": "langchain_ste.policy",
    "ChatLocalHF": "langchain_ste.local_model",
    "AdapterMismatchError": "langchain_ste.local_model",
    "load_hf_model": "langchain_ste.local_model",
    "locate_smollm2_gguf": "langchain_ste.local_model",
    "Demonstration": "langchain_ste.coldstart",
    "ExemplarRetriever": "langchain_ste.exploit",
    "ExplorationMemory": "langchain_ste.memory",
    "ExplorationStore": "langchain_ste.memory_store",
    "ChromaEmbeddingFunction": "langchain_ste.embeddings",
    "ExploreSettings": "langchain_ste.explore",
    "MemoryStoreError": "langchain_ste.memory",
    "MiniLMEmbeddings": "langchain_ste.embeddings",
    "PRESETS": "langchain_ste.explore",
    "ReActChatModel": "langchain_ste.react_model",
    "Redactor": "langchain_ste.redact",
    "RedactingFilter": "langchain_ste.redact",
    "install_log_redaction": "langchain_ste.redact",
    "RunLockedError": "langchain_ste.runlock",
    "TrialSchemaError": "langchain_ste.trial",
    "run_isolated": "langchain_ste.isolation",
    "RunLock": "langchain_ste.runlock",
    "STEMiddleware": "langchain_ste.exploit",
    "ScriptedExplorer": "langchain_ste.testing",
    "Step": "langchain_ste.trial",
    "ToolPolicy": "langchain_ste.policy",
    "Trial": "langchain_ste.trial",
    "TrialLog": "langchain_ste.trial",
    "act_demonstrations": "langchain_ste.coldstart",
    "aexplore": "langchain_ste.explore",
    "create_explorer": "langchain_ste.explore",
    "dedupe": "langchain_ste.curate",
    "execute_tool_call": "langchain_ste.execution",
    "exemplar_messages": "langchain_ste.trial",
    "exemplar_node": "langchain_ste.exploit",
    "explore": "langchain_ste.explore",
    "explore_on_ray": "langchain_ste.distributed",
    "imagine_examples": "langchain_ste.coldstart",
    "keep_successful": "langchain_ste.curate",
    "llm_filter": "langchain_ste.curate",
    "load_chat_model": "langchain_ste.models",
    "load_embeddings": "langchain_ste.embeddings",
    "load_tools": "langchain_ste.tool_loading",
    "paraphrase": "langchain_ste.curate",
    "parse_react": "langchain_ste.protocol",
    "read_trials": "langchain_ste.trial",
    "refine_tool_descriptions": "langchain_ste.refine",
    "export_descriptions": "langchain_ste.refine",
    "apply_descriptions": "langchain_ste.refine",
    "render_demonstrations_text": "langchain_ste.coldstart",
    "render_tools": "langchain_ste.protocol",
    "schema_demonstrations": "langchain_ste.coldstart",
    "write_trials": "langchain_ste.trial",
    "build_sft_records": "langchain_ste.finetune",
    "export_dataset": "langchain_ste.finetune",
    "merge_adapter": "langchain_ste.finetune",
    "replay_mix": "langchain_ste.finetune",
    "train_lora": "langchain_ste.finetune",
    "train_rounds": "langchain_ste.finetune",
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
