"""What `ste explore` and `ste demo` print about an exploration."""

from __future__ import annotations

from langchain_ste.cli.progress import summary_rows
from langchain_ste.trial import Trial


def trial(i: int, query: str, success: bool = True) -> Trial:
    return Trial(
        trial_id=f"t/e000/t{i}", tools=["t"], episode=0, index=i, query=query, success=success
    )


def test_distinct_successes_use_the_one_query_dedupe() -> None:
    trials = [trial(0, "Convert 3 in to cm?"), trial(1, "convert 3 IN  to cm"), trial(2, "Other")]
    [row] = summary_rows([*trials, trial(3, "Failed one", success=False)])
    assert (row["trials"], row["successful"], row["distinct_successful"]) == (4, 3, 2)
