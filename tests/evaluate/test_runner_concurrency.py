"""`run_benchmark` plays cases concurrently for a batching (local) model, in case order."""

from __future__ import annotations

import threading
from typing import Any

from langchain_ste.evaluate.benchmarks.examples import example_cases
from langchain_ste.evaluate.runner import run_benchmark
from langchain_ste.testing import ScriptedChatModel

_LOCK = threading.Lock()


class Overlapping(ScriptedChatModel):
    """Counts the model calls in flight at once (like ChatLocalHF, it has a max_batch_size)."""

    max_batch_size: int = 1
    active: int = 0
    peak: int = 0

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return super()._generate(*args, **kwargs)
        finally:
            with _LOCK:
                self.active -= 1


def test_cases_run_at_once_up_to_the_batch_size_and_stay_in_order() -> None:
    cases = example_cases(limit=4)
    seen: list[str] = []
    model = Overlapping(script=["no idea"], latency=0.3, max_batch_size=4)
    results = run_benchmark(model, cases, on_result=lambda r: seen.append(r.id))
    assert model.peak == 4
    assert [r.id for r in results] == seen == [c.id for c in cases]
    assert all(r.turns and r.turns[0].answer == "no idea" for r in results)
    one_by_one = Overlapping(script=["no idea"], latency=0.05, max_batch_size=4)
    run_benchmark(one_by_one, cases, max_concurrency=1)
    assert one_by_one.peak == 1
    plain = Overlapping(script=["no idea"], latency=0.05)
    run_benchmark(plain, cases)
    assert plain.peak == 1
