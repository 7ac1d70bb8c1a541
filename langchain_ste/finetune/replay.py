"""Experience replay for continual learning across batches (rounds) of tools."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_ste.finetune.lora import LoraSettings, TrainReport


def replay_mix(
    new: Sequence[dict[str, Any]],
    previous_rounds: Sequence[Sequence[dict[str, Any]]],
    *,
    replay_fraction: float = 0.2,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Round r's training set: all new records plus ``round(replay_fraction * len(new))``
    records sampled (without replacement, seeded) from the earlier rounds' records.

    ``replay_fraction=0`` is the plain "no replay" mode; any positive fraction replays at least
    one record (10% of 3 new records would otherwise round to none, and "with replay" would
    silently train exactly like "without"). When fewer earlier records exist than asked for,
    all of them are replayed. The result is shuffled with the same seed.

    Example:
        >>> new = [{"id": f"n{i}"} for i in range(10)]
        >>> old = [[{"id": f"o{i}"} for i in range(20)]]
        >>> mixed = replay_mix(new, old, replay_fraction=0.3, seed=1)
        >>> len(mixed), sum(r["id"].startswith("o") for r in mixed)
        (13, 3)
    """
    if not replay_fraction >= 0:
        raise ValueError(f"replay_fraction must be >= 0, got {replay_fraction}")
    rng = random.Random(seed)
    pool = [r for round_ in previous_rounds for r in round_]
    wanted = max(1, round(replay_fraction * len(new))) if replay_fraction > 0 else 0
    n = min(len(pool), wanted)
    mixed = [*new, *rng.sample(pool, n)]
    rng.shuffle(mixed)
    return mixed


RECORDS_FILE = "round_records.jsonl"
"""The new records of a round, saved in its adapter folder for later rounds to replay."""


def train_rounds(
    rounds: Sequence[Sequence[dict[str, Any]]],
    *,
    out_dir: str | os.PathLike[str],
    settings: LoraSettings | None = None,
    replay_fraction: float = 0.2,
    load_model: Callable[[], tuple[Any, Any]] | None = None,
    base: str = "local",
    device: str | None = None,
    progress: bool = True,
) -> list[TrainReport]:
    """Continual learning: train one adapter round after round, with experience replay.

    Round ``r`` (1-based) trains on `replay_mix` of its records and the earlier rounds' records,
    continuing the adapter of round ``r - 1``; each round's adapter is saved in
    ``out_dir/round{r}`` with its new records (``round_records.jsonl``), so a later
    ``ste finetune --previous`` can replay them. A round whose folder already holds its
    finished adapter (a ``train_report.json`` beside the same new records, trained with the
    same settings and as many replayed records) is not trained again: an interrupted run
    resumes at the round it stopped in.

    Args:
        rounds: the records of each round (e.g. one batch of tools per round), in order.
        out_dir: the parent folder of the round adapters.
        settings: the training options of every round (`LoraSettings`); round ``r`` mixes and
            trains with seed ``settings.seed + r``.
        replay_fraction: see `replay_mix`; 0 trains each round on its new records only.
        load_model: returns a fresh ``(model, tokenizer)`` per round (default: ``base``).
        base: the base model spec, without ``load_model``.
        device: see `train_lora`.
        progress: show a progress bar.

    Returns:
        One `TrainReport` per round.

    Example:
        >>> reports = train_rounds([round1, round2], out_dir="continual")  # doctest: +SKIP
        >>> [r.adapter_dir for r in reports]  # doctest: +SKIP
        ['continual/round1', 'continual/round2']
    """
    from langchain_ste.finetune.dataset import write_jsonl
    from langchain_ste.finetune.lora import LoraSettings, train_lora

    if not rounds or any(not r for r in rounds):
        raise ValueError("every round needs at least one record")
    settings = settings or LoraSettings()
    reports: list[TrainReport] = []
    adapter: Path | None = None
    for number, new in enumerate(rounds, start=1):
        seed = settings.seed + number
        mixed = replay_mix(new, rounds[: number - 1], replay_fraction=replay_fraction, seed=seed)
        folder = Path(out_dir) / f"round{number}"
        done = _finished(folder, new, len(mixed), replace(settings, seed=seed))
        if done is not None:
            reports.append(done)
            adapter = folder
            continue
        model, tokenizer = load_model() if load_model else (None, None)
        report = train_lora(
            mixed,
            out_dir=folder,
            settings=replace(settings, seed=seed),
            base=base,
            model=model,
            tokenizer=tokenizer,
            adapter=adapter,
            device=device,
            progress=progress,
        )
        write_jsonl(new, folder / RECORDS_FILE)
        reports.append(report)
        adapter = folder
    return reports


def _finished(
    folder: Path, new: Sequence[dict[str, Any]], mixed: int, settings: LoraSettings
) -> Any:
    """The `TrainReport` of a round already trained in ``folder`` on ``new`` plus the same
    number of replayed records (``mixed`` in all), else None."""
    import json
    from dataclasses import asdict, fields

    from langchain_ste.finetune.dataset import read_jsonl
    from langchain_ste.finetune.lora import TrainReport

    report_file, records_file = folder / "train_report.json", folder / RECORDS_FILE
    if not (report_file.is_file() and records_file.is_file()):
        return None
    if read_jsonl(records_file) != json.loads(json.dumps(list(new))):
        return None
    data = json.loads(report_file.read_text(encoding="utf-8"))
    wanted = json.loads(json.dumps(asdict(settings)))
    trained = data.get("settings") or {}
    if any(trained.get(k) != v for k, v in wanted.items() if k not in ("bf16", "save_steps")):
        return None
    if data.get("examples", 0) + sum((data.get("skipped") or {}).values()) != mixed:
        return None  # trained with another replay fraction
    return TrainReport(**{f.name: data[f.name] for f in fields(TrainReport) if f.name in data})
