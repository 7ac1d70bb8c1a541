"""Exploration on a Ray cluster: one task per target tool, one shared Chroma server.

Each task rebuilds the tools and the model from import specs (tool objects are often not
picklable; a spec always travels), explores its tool's episodes in order with the same graph as
the in-process executor, and writes its trials to its own file ``units/<tool>/trials.jsonl``
(and, with a Chroma server, to the shared index). The driver merges the unit files into
``trials.jsonl`` by trial id. A worker that dies mid-episode has its task retried by Ray; the retry
resumes from the unit's file (ids are deterministic), so no trial is lost or written twice.

Ray is optional (``pip install langchain-ste[ray]``); nothing else in the package imports it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_ste.models import DEFAULT_EXPLORER_SPEC
from langchain_ste.trial import Trial
from langchain_ste.trial_log import TrialLog

if TYPE_CHECKING:
    from langchain_ste.explore.prompts import ExplorePrompts
    from langchain_ste.explore.settings import ExploreSettings
    from langchain_ste.tools.policy import Budget, ToolPolicy

logger = logging.getLogger(__name__)


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the Ray executor needs Ray: pip install 'langchain-ste[ray]'") from exc
    return ray


def _run_unit(
    model: str | None,
    model_factory: str | None,
    tools_spec: str,
    tool: str,
    unit_dir: str,
    chroma: dict[str, Any] | None,
    run: dict[str, Any],
) -> list[dict[str, Any]]:
    """Explore one tool's episodes in a worker process (``run``: settings, prompts, policy and
    budget for `explore`)."""
    from langchain_ste.explore import explore
    from langchain_ste.tools.loading import load_object, load_tools

    tools = load_tools(tools_spec)
    if model_factory:
        chat_model = load_object(model_factory)()
    else:
        from langchain_ste.models import load_chat_model

        chat_model = load_chat_model(model or DEFAULT_EXPLORER_SPEC)
    if chroma:
        from langchain_ste.memory.chroma import ExplorationMemory

        memory = ExplorationMemory(unit_dir, **chroma)
        trials = explore(chat_model, tools, memory=memory, only=[tool], **run)
    else:
        trials = explore(chat_model, tools, memory=unit_dir, only=[tool], **run)
    return [t.to_dict() for t in trials if tool in t.tools]


def explore_on_ray(
    tools: str,
    *,
    out_dir: str | os.PathLike[str],
    settings: ExploreSettings | str | None = None,
    prompts: ExplorePrompts | None = None,
    policy: ToolPolicy | None = None,
    budget: Budget | None = None,
    model: str | None = DEFAULT_EXPLORER_SPEC,
    model_factory: str | None = None,
    only: Sequence[str] | None = None,
    chroma_host: str | None = None,
    chroma_port: int | None = None,
    collection: str = "ste_trials",
    ray_address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_task: float = 1.0,
    max_retries: int = 3,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[Trial]:
    """Explore every tool of ``tools`` as Ray tasks and merge the trials into ``out_dir``.

    Args:
        tools: an import spec of the tools (``package.module:attr``, see `load_tools`).
        out_dir: the run's directory; gets ``trials.jsonl`` and ``units/<tool>/``.
        settings: the `ExploreSettings` (or preset name) every task explores with; default:
            the model's preset.
        prompts: the `ExplorePrompts` of every task (default: the default set).
        policy: the `ToolPolicy` of every task.
        budget: the `Budget` of every task (budgets count per task, i.e. per tool).
        model: a `load_chat_model` spec built in each worker (e.g. a vLLM ``base_url`` spec).
        model_factory: instead of ``model``, an import spec of a zero-argument model factory.
        only: explore only these tool names.
        chroma_host: a shared ``chroma run`` server for long-term memory (else per-unit files).
        chroma_port: its port.
        collection: the Chroma collection.
        ray_address: an existing cluster (``ray://host:10001`` or ``auto``); default: local.
        num_cpus: CPUs of a local Ray started here.
        cpus_per_task: Ray CPUs reserved per task (use fractions for I/O-bound remote models).
        max_retries: retries of a task whose worker died.
        on_event: called with ``{"event": "unit", "tool", "done", "total"}`` as units finish.

    Raises:
        TypeError: ``tools`` is not an import spec (tool objects may not be picklable).
        ValueError: ``only`` names a tool the spec does not give.

    Example:
        >>> trials = explore_on_ray("langchain_ste.tools.examples:example_tools",
        ...                         out_dir="runs/ray", model_factory="langchain_ste.testing:"
        ...                         "ScriptedExplorer", settings="paper")  # doctest: +SKIP
    """
    if not isinstance(tools, str):
        raise TypeError("pass the tools as an import spec ('package.module:attr') so that Ray "
                        "workers can rebuild them; tool objects are often not serialisable")
    from langchain_ste.explore.graph import check_names
    from langchain_ste.tools.loading import load_tools

    known = [t.name for t in load_tools(tools)]
    names = [n for n in known if n in check_names(only, known, "only=")] if only else known
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=ray_address, num_cpus=num_cpus, include_dashboard=False,
                 ignore_reinit_error=True, log_to_driver=False)
    out = Path(out_dir)
    chroma = ({"host": chroma_host, "port": chroma_port, "collection": collection}
              if chroma_host else None)
    run: dict[str, Any] = {"settings": settings, "policy": policy, "budget": budget}
    if prompts is not None:
        run["prompts"] = prompts
    remote = ray.remote(_run_unit).options(max_retries=max_retries, num_cpus=cpus_per_task)
    pending = {
        remote.remote(model, model_factory, tools, name, str(out / "units" / name), chroma,
                      run): name
        for name in names
    }
    results: dict[str, list[dict[str, Any]]] = {}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            name = pending.pop(ref)
            results[name] = ray.get(ref)
            if on_event is not None:
                on_event({"event": "unit", "tool": name, "done": len(results),
                          "total": len(names)})
    return merge_unit_trials(out, [Trial.from_dict(d) for n in names for d in results[n]])


def merge_unit_trials(out_dir: str | os.PathLike[str], trials: Sequence[Trial]) -> list[Trial]:
    """Merge unit trials into ``out_dir/trials.jsonl`` by id (none twice); return them sorted."""
    ordered = sorted(trials, key=lambda t: (t.tools, t.episode, t.index))
    TrialLog(Path(out_dir) / "trials.jsonl").append(ordered)
    return ordered
