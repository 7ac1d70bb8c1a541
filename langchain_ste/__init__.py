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
    "EvalCase": "langchain_ste.evaluate.benchmarks",
    "bfcl_exploration_tools": "langchain_ste.evaluate.benchmarks.bfcl",
    "load_cases": "langchain_ste.evaluate",
    "run_benchmark": "langchain_ste.evaluate",
    "write_report": "langchain_ste.evaluate.report",
    "Budget": "langchain_ste.tools.policy",
    "BudgetExhausted": "langchain_ste.tools.policy",
    "ChatLocalHF": "langchain_ste.models.local",
    "AdapterMismatchError": "langchain_ste.models.local",
    "load_hf_model": "langchain_ste.models.local",
    "locate_smollm2_gguf": "langchain_ste.models.local",
    "Demonstration": "langchain_ste.explore.demonstrations",
    "ExemplarRetriever": "langchain_ste.exploit",
    "ExplorationMemory": "langchain_ste.memory.chroma",
    "ExplorationStore": "langchain_ste.memory.langgraph_store",
    "ChromaEmbeddingFunction": "langchain_ste.memory.embeddings",
    "ExploreSettings": "langchain_ste.explore",
    "MemoryStoreError": "langchain_ste.memory.chroma",
    "MiniLMEmbeddings": "langchain_ste.memory.embeddings",
    "PRESETS": "langchain_ste.explore",
    "ReActChatModel": "langchain_ste.models.react",
    "Redactor": "langchain_ste.tools.redact",
    "RedactingFilter": "langchain_ste.tools.redact",
    "install_log_redaction": "langchain_ste.tools.redact",
    "RunLockedError": "langchain_ste.memory.lock",
    "TrialSchemaError": "langchain_ste.trial",
    "run_isolated": "langchain_ste.tools.isolation",
    "RunLock": "langchain_ste.memory.lock",
    "STEMiddleware": "langchain_ste.exploit",
    "ScriptedExplorer": "langchain_ste.testing",
    "Step": "langchain_ste.trial",
    "ToolPolicy": "langchain_ste.tools.policy",
    "Trial": "langchain_ste.trial",
    "TrialLog": "langchain_ste.trial_log",
    "act_demonstrations": "langchain_ste.explore.demonstrations",
    "aexplore": "langchain_ste.explore",
    "create_explorer": "langchain_ste.explore",
    "dedupe": "langchain_ste.finetune.curate",
    "execute_tool_call": "langchain_ste.tools.execution",
    "exemplar_messages": "langchain_ste.trial",
    "exemplar_node": "langchain_ste.exploit",
    "explore": "langchain_ste.explore",
    "explore_on_ray": "langchain_ste.explore.ray",
    "imagine_examples": "langchain_ste.explore.demonstrations",
    "keep_successful": "langchain_ste.finetune.curate",
    "llm_filter": "langchain_ste.finetune.curate",
    "load_chat_model": "langchain_ste.models",
    "load_embeddings": "langchain_ste.memory.embeddings",
    "load_tools": "langchain_ste.tools.loading",
    "paraphrase": "langchain_ste.finetune.curate",
    "parse_react": "langchain_ste.models.react_protocol",
    "read_trials": "langchain_ste.trial_log",
    "refine_tool_descriptions": "langchain_ste.exploit.refine",
    "export_descriptions": "langchain_ste.exploit.refine",
    "apply_descriptions": "langchain_ste.exploit.refine",
    "render_demonstrations_text": "langchain_ste.explore.demonstrations",
    "render_tools": "langchain_ste.models.react_protocol",
    "schema_demonstrations": "langchain_ste.explore.demonstrations",
    "write_trials": "langchain_ste.trial_log",
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
