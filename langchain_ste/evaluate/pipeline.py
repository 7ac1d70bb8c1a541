"""The STE pipeline, once: explore with the explorer, then measure the learner before and after.

`run_pipeline` is what ``ste demo`` and the benches (`bench/bfcl_pipeline.py`) run:

1. **explore** the tools with the explorer model into ``out/memory`` (resumed by trial id);
2. **baseline**: the learner zero-shot in each tool protocol it speaks (native tool calls and
   ReAct text for a local model); the better one is the baseline, the other is shown as
   ``zero-shot-<protocol>`` (a baseline is the model's best zero-shot setting, not a weak one);
3. **ste-in-context**: the learner with `STEMiddleware` (retrieved trials as exemplars), in the
   baseline's protocol;
4. **ste-fine-tuned**: a LoRA adapter trained on the usable trials, in the learner's own format
   (local learners only; skipped, with a reason, when there is nothing to train on);
5. **explorer-zero-shot**: the explorer's own zero-shot score, as a reference row.

After every condition the report (``results.md`` / ``.json`` / ``.png``) is rewritten, so an
interrupted run keeps what it measured; a rerun on the same ``out`` skips each condition whose
inputs did not change (`langchain_ste.evaluate.reuse.condition_key`: a zero-shot row depends on
the model and the questions, an STE row on the trials and its own settings too), so changing
``k`` re-measures only ``ste-in-context``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from langchain_ste.evaluate.benchmarks.base import EvalCase
from langchain_ste.evaluate.metrics import ALL, EntryResult, aggregate
from langchain_ste.evaluate.reuse import (
    PartialRow,
    condition_key,
    explore_record,
    read_meta,
    reusable,
    trials_digest,
)
from langchain_ste.explore.settings import ExploreSettings
from langchain_ste.finetune.dataset import RenderTools
from langchain_ste.finetune.lora import LoraSettings
from langchain_ste.trial import Trial, is_usable

ToolProtocol = Literal["native", "react"]
Learner = Callable[[ToolProtocol, str | None], BaseChatModel]
"""Builds the learner in a tool protocol, with a LoRA adapter folder or None."""
Event = Callable[[str, dict[str, Any]], None]
"""Called with a stage name and its details (for progress output)."""
FineTune = Callable[[list[Trial], Path], "tuple[str, ToolProtocol] | None"]
"""Trains an adapter on the trials into a folder: ``(adapter path, its tool protocol)`` or None."""


@dataclass(frozen=True)
class PipelineSettings:
    """What the pipeline runs and how much.

    Attributes:
        explore: the exploration settings.
        k: exemplars the middleware retrieves per model call.
        exemplar_mode: how `STEMiddleware` shows them: ``"system"`` (a text block in the system
            prompt) or ``"messages"`` (replayed chat turns). On the demo, the 0.5B learner with
            native tool calls answered without calling after exemplars replayed as turns (8.3%
            correct) and scored 20.8% with them in the system prompt.
        max_steps: model calls per held-out question.
        protocols: the learner's tool protocols to measure zero-shot (the best is the baseline).
        finetune: train and evaluate a LoRA adapter (local learners only).
        lora_steps: optimisation steps of that LoRA run.
        explorer_reference: also measure the explorer zero-shot.
        max_concurrency: held-out questions answered at once (a local model batches them).

    Example:
        >>> PipelineSettings().protocols, PipelineSettings(finetune=False).finetune
        (('native', 'react'), False)
    """

    explore: ExploreSettings = field(default_factory=ExploreSettings)
    k: int = 3
    exemplar_mode: Literal["system", "messages"] = "system"
    max_steps: int = 4
    protocols: tuple[ToolProtocol, ...] = ("native", "react")
    finetune: bool = True
    lora_steps: int = 60
    explorer_reference: bool = True
    max_concurrency: int = 8


@dataclass
class PipelineResult:
    """What a pipeline run produced: trials, results per condition, report files, timings."""

    trials: list[Trial]
    runs: dict[str, list[EntryResult]]
    paths: dict[str, Path]
    meta: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def correct_rate(results: Sequence[EntryResult]) -> float:
    """The share of entries answered correctly.

    Example:
        >>> correct_rate([EntryResult(id="a", category="c", correct=True),
        ...               EntryResult(id="b", category="c")])
        0.5
    """
    return aggregate(list(results))[ALL].rates()["correct"] if results else 0.0


def run_pipeline(
    explorer: BaseChatModel,
    learner: Learner,
    tools: Sequence[BaseTool],
    cases: Sequence[EvalCase],
    *,
    out: Path,
    settings: PipelineSettings = PipelineSettings(),
    finetune: FineTune | None = None,
    benchmark: str = "demo",
    title: str = "STE",
    on_event: Event | None = None,
    explore_fn: Callable[..., list[Trial]] | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> PipelineResult:
    """Explore ``tools``, then score the learner on ``cases`` without and with STE.

    Args:
        explorer: the model that explores (imagine, act, reflect).
        learner: builds the learner per tool protocol and adapter (see `spec_learner`).
        tools: the tools to explore and answer with.
        cases: the held-out questions.
        out: the run's folder (``memory/``, ``adapter/``, ``results.*``); resumed.
        settings: what to run (`PipelineSettings`).
        finetune: given the trials and an adapter folder, trains an adapter there and returns
            its path and tool protocol (None with nothing to train on); required for
            ``settings.finetune`` (see `lora_finetune`).
        benchmark: the benchmark name recorded with each result.
        title: the report's title.
        on_event: progress callback ``(stage, details)``.
        explore_fn: the exploration call (default `langchain_ste.explore.explore`; the demo
            passes one with a progress bar).
        extra_meta: more facts for the report's metadata (the command, the subset, ...).

    Example:
        >>> import tempfile
        >>> from langchain_ste.evaluate.benchmarks.examples import example_cases
        >>> from langchain_ste.explore.settings import ExploreSettings
        >>> from langchain_ste.testing import ScriptedExplorer
        >>> from langchain_ste.tools.examples import example_tools
        >>> quick = PipelineSettings(explore=ExploreSettings(episodes_per_tool=1,
        ...     trials_per_episode=1), finetune=False, explorer_reference=False)
        >>> result = run_pipeline(ScriptedExplorer(), lambda protocol, adapter: ScriptedExplorer(),
        ...     example_tools(), example_cases(limit=2), out=Path(tempfile.mkdtemp()),
        ...     settings=quick)
        >>> list(result.runs), len(result.trials)
        (['baseline', 'ste-in-context', 'zero-shot-react'], 2)
    """
    from langchain_ste.evaluate.report import write_report
    from langchain_ste.evaluate.runner import run_benchmark
    from langchain_ste.exploit import STEMiddleware
    from langchain_ste.explore import explore
    from langchain_ste.memory.chroma import ExplorationMemory

    emit = on_event or (lambda stage, details: None)
    report = out / "results.json"
    earlier_meta = read_meta(report)
    earlier = {k: float(v) for k, v in (earlier_meta.get("seconds") or {}).items()}
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    memory = ExplorationMemory(out / "memory")
    done_before = len(memory)
    emit("explore", {"tools": [t.name for t in tools], "done_before": done_before})
    trials = (explore_fn or explore)(explorer, tools, memory=memory, settings=settings.explore)
    # A resumed exploration adds this sitting's time to the earlier sittings'.
    earlier_explore = earlier.get("explore", 0.0) if done_before else 0.0
    seconds["explore"] = earlier_explore + time.perf_counter() - started
    usable = [t for t in trials if is_usable(t)]
    meta: dict[str, Any] = {
        "explorer": _name(explorer),
        "learner": _name(learner(settings.protocols[0], None)),
        "benchmark": benchmark,
        "questions": len(cases),
        "trials": len(trials),
        "successful_trials": len(usable),
        "trials_digest": trials_digest(usable),
        "settings": _settings_dict(settings),
        **(extra_meta or {}),
    }
    emit("explored", {"trials": len(trials), "successful": len(usable)})
    previous = reusable(report, earlier_meta, meta)
    meta["condition_keys"] = {}
    runs: dict[str, list[EntryResult]] = {}
    paths: dict[str, Path] = {}

    def measure(condition: str, model: BaseChatModel, middleware: Sequence[Any] = ()) -> None:
        nonlocal paths
        key = meta["condition_keys"][condition] = condition_key(meta, condition)
        row: PartialRow | None = None
        if condition in previous:
            runs[condition] = previous[condition]
            if condition in earlier:
                seconds[condition] = earlier[condition]
            emit("reused", {"condition": condition})
        else:
            # Each result is kept as it comes: a row stopped halfway resumes at its next case.
            row = started_row = PartialRow(out / "partial" / f"{condition}.jsonl", key)
            before = dict(row.results)
            emit("condition", {"condition": condition, "done_before": len(before)})
            began = time.perf_counter()

            def on_result(result: EntryResult) -> None:
                started_row.add(result)
                emit("result", {"condition": condition, "result": result})

            fresh = run_benchmark(
                model,
                [c for c in cases if c.id not in before],
                middleware=list(middleware),
                condition=condition,
                benchmark=benchmark,
                max_steps=settings.max_steps,
                on_result=on_result,
                max_concurrency=settings.max_concurrency,
            )
            by_id = {**before, **{r.id: r for r in fresh}}
            runs[condition] = [by_id[c.id] for c in cases]
            earlier_part = sum(r.seconds for r in before.values())
            seconds[condition] = time.perf_counter() - began + earlier_part
        meta["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
        paths = write_report(_ordered(runs), out, title=title, meta=meta)
        if row is not None:
            row.finish()

    zero_shot: dict[ToolProtocol, str] = {}
    for protocol in settings.protocols:
        name = f"zero-shot-{protocol}"
        measure(name, learner(protocol, None))
        zero_shot[protocol] = name
    best = max(settings.protocols, key=lambda p: correct_rate(runs[zero_shot[p]]))
    runs["baseline"] = runs.pop(zero_shot[best])
    meta["condition_keys"]["baseline"] = meta["condition_keys"].pop(zero_shot[best])
    meta["baseline_protocol"] = best
    measure(
        "ste-in-context",
        learner(best, None),
        [STEMiddleware(memory, k=settings.k, mode=settings.exemplar_mode)],
    )
    if settings.finetune:
        if finetune is None:
            raise ValueError("settings.finetune needs a finetune callable (see lora_finetune)")
        began = time.perf_counter()
        tuned = finetune(trials, out / "adapter")
        seconds["lora"] = _training_seconds(tuned, default=time.perf_counter() - began)
        if tuned is None:
            meta["ste-fine-tuned"] = "skipped: no usable trial to train on"
        else:
            measure("ste-fine-tuned", learner(tuned[1], tuned[0]))
    if settings.explorer_reference:
        measure("explorer-zero-shot", explorer)
    seconds["total"] = sum(v for k, v in seconds.items() if k != "total")
    meta["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    paths = write_report(_ordered(runs), out, title=title, meta=meta)
    return PipelineResult(
        trials=trials, runs=_ordered(runs), paths=paths, meta=meta, seconds=seconds
    )


_ORDER = ("baseline", "ste-in-context", "ste-fine-tuned", "explorer-zero-shot")


def _ordered(runs: dict[str, list[EntryResult]]) -> dict[str, list[EntryResult]]:
    """Conditions in the story's order: baseline, STE in context, fine-tuned, then the rest."""
    keys = [k for k in _ORDER if k in runs] + [k for k in runs if k not in _ORDER]
    return {k: runs[k] for k in keys}


def _name(model: BaseChatModel) -> str:
    return str(getattr(model, "model_name", None) or type(model).__name__)


def _settings_dict(settings: PipelineSettings) -> dict[str, Any]:
    data = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "explore"}
    return {"explore": explore_record(settings.explore), **data}


def _training_seconds(tuned: tuple[str, Any] | None, *, default: float) -> float:
    """How long the adapter took to train (its report's figure: also right when an adapter
    trained in an earlier sitting is reused)."""
    import json

    report = Path(tuned[0]) / "train_report.json" if tuned else None
    if report is None or not report.is_file():
        return default
    return float(json.loads(report.read_text(encoding="utf-8")).get("seconds") or default)


def spec_learner(spec: str, *, base_url: str | None = None, **kwargs: Any) -> Learner:
    """A `Learner` from a `load_chat_model` spec: ``(protocol, adapter) -> chat model``.

    Example:
        >>> learner = spec_learner("local", max_new_tokens=64)
        >>> learner("react", None).protocol, learner("native", "out/adapter").adapter
        ('react', 'out/adapter')
    """
    from langchain_ste.models import load_chat_model

    def build(protocol: ToolProtocol, adapter: str | None) -> BaseChatModel:
        full = f"{spec}+adapter={adapter}" if adapter else spec
        return load_chat_model(full, base_url=base_url, protocol=protocol, **kwargs)

    return build


def lora_finetune(
    tools: Sequence[BaseTool],
    *,
    base: str,
    steps: int,
    seed: int = 0,
    max_length: int = LoraSettings.max_length,
    render_tools: RenderTools = "all",
) -> FineTune:
    """The fine-tuning step: SFT records in the learner's own tool format, then LoRA.

    The format is native tool calls when the base model's chat template renders tools, else
    ReAct text. Returns a `FineTune` (None without usable trials); an adapter already trained in
    that folder on the same records is reused.

    Args:
        tools: the explored tools, rendered into every record.
        base: the learner's model spec.
        steps: LoRA optimisation steps.
        seed: seed of the record order and the training.
        max_length: records longer than this many tokens are skipped (never truncated); every
            record renders all ``tools``, so many or long schemas (BFCL's run to ~1,200 tokens
            for 8 functions) need more than the default 1,024.
        render_tools: ``"trial"`` renders only each trial's own tools into its record
            (`build_sft_records`): short records, so LoRA on CPU stays affordable with dozens
            of tools, while the learner still sees all of them at test time.
    """

    def finetune(trials: list[Trial], adapter_dir: Path) -> tuple[str, ToolProtocol] | None:
        import json

        from langchain_ste.finetune import build_sft_records
        from langchain_ste.finetune.lora import train_lora
        from langchain_ste.models.loading import tool_format

        fmt: ToolProtocol = tool_format(base)
        try:
            records, _ = build_sft_records(
                trials, tools, format=fmt, seed=seed, render_tools=render_tools
            )
        except ValueError:
            return None
        stamp: dict[str, Any] = {
            "base": base,
            "records": len(records),
            "steps": steps,
            "seed": seed,
        }
        if max_length != LoraSettings.max_length:  # adapters trained before the option match
            stamp["max_length"] = max_length
        if render_tools != "all":
            stamp["render_tools"] = render_tools
        marker = adapter_dir / "ste_pipeline.json"
        if marker.is_file() and json.loads(marker.read_text()) == stamp:
            return str(adapter_dir), fmt
        # One example per device batch, four accumulated: with a 150k-token vocabulary the logits
        # of four 1k-token tool conversations alone take gigabytes (the demo ran out of 24 GB).
        settings = replace(
            LoraSettings(),
            max_steps=steps,
            seed=seed,
            lr=1e-3,
            batch_size=1,
            grad_accum=4,
            max_length=max_length,
        )
        train_lora(records, out_dir=adapter_dir, settings=settings, base=base, progress=False)
        marker.write_text(json.dumps(stamp))
        return str(adapter_dir), fmt

    return finetune
