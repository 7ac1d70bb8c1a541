"""Side-effect policy and budgets."""

from __future__ import annotations

import threading

import pytest

from langchain_ste.tools.policy import Budget, BudgetExhausted, ToolPolicy


def test_actions_and_isolation() -> None:
    policy = ToolPolicy(
        default="emulate", tools={"read": "run", "rm": "skip"}, isolate=frozenset({"read"})
    )
    assert [policy.action(n) for n in ("read", "rm", "other")] == ["run", "skip", "emulate"]
    assert policy.isolated("read") and not policy.isolated("rm")
    assert ToolPolicy(isolate=True).isolated("anything")


@pytest.mark.parametrize(
    "kwargs", [{"default": "maybe"}, {"tools": {"x": "delete"}}, {"timeout_s": 0}]
)
def test_invalid_policy_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ToolPolicy(**kwargs)  # type: ignore[arg-type]


def test_budget_limits_run_and_per_tool() -> None:
    tracker = Budget(max_tool_calls=3, per_tool_model_calls=2).tracker()
    tracker.charge_model_call("a")
    assert tracker.exhausted("a") is None
    tracker.charge_model_call("a", tokens=10)
    assert tracker.exhausted("a") == "model calls for a: 2 of 2 used"
    assert tracker.exhausted("b") is None and tracker.tokens == 10
    for _ in range(3):
        tracker.charge_tool_call("b")
    with pytest.raises(BudgetExhausted, match="tool calls: 3 of 3"):
        tracker.check()


def test_time_budget() -> None:
    tracker = Budget(max_seconds=0.0).tracker()
    assert tracker.exhausted() == "time: 0 s limit reached"


def test_tracker_is_thread_safe() -> None:
    tracker = Budget().tracker()

    def work() -> None:
        for _ in range(2000):
            tracker.charge_model_call("t", tokens=1)
            tracker.charge_tool_call("t")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.model_calls == tracker.tool_calls == tracker.tokens == 8000
    assert tracker.model_calls_by_tool["t"] == 8000


def test_check_tools_refuses_unknown_names_and_lists_the_known_ones() -> None:
    known = ["get_order_details", "cancel_pending_order"]
    policy = ToolPolicy(tools={"cancel_order": "skip"}, isolate=frozenset({"get_orders"}))
    with pytest.raises(ValueError) as info:
        policy.check_tools(known)
    message = str(info.value)
    assert "cancel_order (did you mean cancel_pending_order?)" in message
    assert "get_orders (did you mean get_order_details?)" in message
    assert message.endswith("known tools: get_order_details, cancel_pending_order")
    ToolPolicy(tools={"cancel_pending_order": "skip"}, isolate=True).check_tools(known)
