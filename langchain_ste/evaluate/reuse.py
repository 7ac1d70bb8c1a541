"""What a measured row depends on, so that a rerun measures again only what changed.

A report's metadata (`langchain_ste.evaluate.pipeline.run_pipeline` writes it) names the models,
questions, settings and a digest of the usable trials; `condition_key` picks from it what one row
depends on, and `reusable` keeps the earlier report's rows whose key is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_ste.evaluate.metrics import EntryResult
from langchain_ste.explore.settings import ExploreSettings
from langchain_ste.trial import Trial


def trials_digest(trials: Sequence[Trial]) -> str:
    """A short fingerprint of what the trials teach: ids, requests, calls and answers.

    Example:
        >>> a = Trial(trial_id="t/e000/t0", tools=["t"], episode=0, index=0, query="q?")
        >>> trials_digest([a]) == trials_digest([a]), trials_digest([a]) == trials_digest([])
        (True, False)
    """
    import hashlib
    import json

    rows = sorted(
        (t.trial_id, t.query, [(s.tool, s.args) for s in t.steps], t.final_answer) for t in trials
    )
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:16]


def condition_key(meta: dict[str, Any], condition: str) -> dict[str, Any]:
    """What a condition's scores depend on, from a report's metadata: reused only if equal.

    Every row depends on its model, the questions and the step limit; an STE row also on the
    explored trials (explorer, exploration settings, how many, and `trials_digest` of the usable
    ones: the same count explored again with another prompt is not the same data) and its own
    settings (``k`` and
    the exemplar mode in context, the LoRA steps fine-tuned).

    Example:
        >>> meta = {"learner": "L", "explorer": "E", "benchmark": "demo", "questions": 24,
        ...         "trials": 8, "settings": {"max_steps": 4, "k": 3, "explore": {}}}
        >>> condition_key(meta, "zero-shot-react")["model"]
        'L'
        >>> condition_key(meta, "ste-in-context")["k"], condition_key(meta, "explorer-zero-shot")
        (3, {'benchmark': 'demo', 'questions': 24, 'max_steps': 4, 'model': 'E'})
        >>> changed = {**meta, "settings": {**meta["settings"], "k": 5}}
        >>> condition_key(changed, "baseline") == condition_key(meta, "baseline")
        True
    """
    settings = meta.get("settings") or {}
    key: dict[str, Any] = {
        "benchmark": meta.get("benchmark"),
        "questions": meta.get("questions"),
        "max_steps": settings.get("max_steps"),
        "model": meta.get("explorer" if condition == "explorer-zero-shot" else "learner"),
    }
    if condition in ("baseline", "explorer-zero-shot") or condition.startswith("zero-shot-"):
        return key
    key.update(
        explorer=meta.get("explorer"),
        explore=_with_defaults(settings.get("explore")),
        trials=meta.get("trials"),
        successful_trials=meta.get("successful_trials"),
        trials_digest=meta.get("trials_digest"),
    )
    if condition == "ste-in-context":
        key.update(k=settings.get("k"), exemplar_mode=settings.get("exemplar_mode", "messages"))
    elif condition == "ste-fine-tuned":
        key.update(lora_steps=settings.get("lora_steps"))
    else:
        key.update(settings=settings)
    return key


def explore_record(settings: ExploreSettings) -> dict[str, Any]:
    """Exploration settings as a report records them: every field but ``retry`` (a policy
    object, not data).

    Example:
        >>> record = explore_record(ExploreSettings(episodes_per_tool=2))
        >>> record["episodes_per_tool"], "retry" in record
        (2, False)
    """
    from dataclasses import asdict, replace

    data = asdict(replace(settings, retry=None))  # type: ignore[arg-type]
    data.pop("retry")
    return data


def _with_defaults(explore: dict[str, Any] | None) -> dict[str, Any] | None:
    """Exploration settings with the fields a report predates filled in with their defaults, so
    a row measured before a new `ExploreSettings` field existed (at its default) is reused."""
    import json

    if explore is None:
        return None
    defaults = json.loads(json.dumps(explore_record(ExploreSettings()), default=str))
    return {**defaults, **explore}


def _stored(key: dict[str, Any]) -> dict[str, Any]:
    """A condition key as an earlier report stored it, its exploration settings completed."""
    return {**key, "explore": _with_defaults(key["explore"])} if "explore" in key else key


def read_meta(path: Path) -> dict[str, Any]:
    """The metadata of an earlier sitting's report (empty without one)."""
    import json

    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("meta") or {}


def reusable(path: Path, old: dict[str, Any], meta: dict[str, Any]) -> dict[str, list[EntryResult]]:
    """Conditions of the earlier report at ``path`` (metadata ``old``) whose `condition_key`
    equals this run's."""
    import json

    from langchain_ste.evaluate.report import load_results

    if not path.is_file():
        return {}
    now = json.loads(json.dumps(meta, default=str))  # as it reads back (tuples become lists)
    runs = load_results(path)
    protocol = old.get("baseline_protocol")
    keys = dict(old.get("condition_keys") or {})
    if "baseline" in runs and protocol:
        runs[f"zero-shot-{protocol}"] = runs.pop("baseline")
        if "baseline" in keys:
            keys[f"zero-shot-{protocol}"] = keys.pop("baseline")
    return {
        name: results
        for name, results in runs.items()
        if _stored(keys.get(name, condition_key(old, name))) == condition_key(now, name)
    }


class PartialRow:
    """The results of one condition measured so far, on disk as each arrives, so a row stopped
    halfway resumes at its next question instead of its first.

    The file holds the row's `condition_key` then one result per line (rewritten atomically);
    a file of another key is ignored and replaced. Results with an error are not kept: a
    resumed row plays those questions again.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "partial" / "baseline.jsonl"
        >>> row = PartialRow(path, {"model": "L"})
        >>> row.add(EntryResult(id="q1", category="x", correct=True))
        >>> list(PartialRow(path, {"model": "L"}).results)
        ['q1']
        >>> list(PartialRow(path, {"model": "M"}).results)  # another row's file
        []
    """

    def __init__(self, path: Path, key: dict[str, Any]) -> None:
        import json

        self.path = path
        self.key = json.loads(json.dumps(key, default=str))
        self.results: dict[str, EntryResult] = {}
        if not path.is_file():
            return
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if lines and lines[0] == {"key": self.key}:
            self.results = {r["id"]: EntryResult.from_dict(r) for r in lines[1:]}

    def add(self, result: EntryResult) -> None:
        """Keep one more result (unless it is an error)."""
        from langchain_ste.fileio import atomic_write_jsonl

        if result.error:
            return
        self.results[result.id] = result
        rows = [r.to_dict() for r in self.results.values()]
        atomic_write_jsonl(self.path, [{"key": self.key}, *rows])

    def finish(self) -> None:
        """The row is complete (and in the report): drop the file."""
        self.path.unlink(missing_ok=True)
