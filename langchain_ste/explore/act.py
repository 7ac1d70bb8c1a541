"""Act and execute: the explorer model answers the imagined request with the tools bound, and
its tool calls run under the policy (run, emulate or skip) until it answers or hits the step
limit. Malformed calls are recorded as failed steps, and the model is told the format.

Small models often repeat a call that already succeeded, or call on until the step limit, and
never answer. Once per trial the model is then told to answer from the results it has (a
*nudge*): a repeated successful call is not run again but dropped, and at the step limit the
model gets one more turn. A call that repeats a failed one exactly is not run either: once per
trial the model is shown the error again and told to change the arguments (the 1.5B explorer
sent the same unknown room three times, the valid ones listed in each error). Nudges are marked
(`is_nudge`) and left out of the trial's recorded conversation, so exemplars show the calls and
the answer, not the prodding.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_ste.explore.demonstrations import act_demonstrations
from langchain_ste.explore.runtime import ModelCallFailed, UnitRuntime, add_usage
from langchain_ste.explore.state import UnitState
from langchain_ste.tools.execution import execute_tool_call
from langchain_ste.tools.policy import BudgetExhausted
from langchain_ste.trajectory import ErrorKind, Step, not_a_step, uncount_invalid_calls


async def act(rt: UnitRuntime, state: UnitState) -> dict[str, Any]:
    """One model turn with the tools bound (the first turn builds the conversation)."""
    messages: list[BaseMessage] = list(state["messages"])
    exemplars = list(state["exemplars"])
    if not messages:
        messages, exemplars = _opening(rt, state)
    try:
        reply = await rt.call_model(rt.bound_for(state["targets"]), messages, state["targets"])
    except BudgetExhausted as exc:
        return rt.stopped(exc, state["targets"])
    except ModelCallFailed as exc:
        error = rt.redact(f"act failed: {exc}")
        return {"messages": messages, "exemplars": exemplars, "error": error}
    return {
        "messages": [*messages, rt.redact_message(reply)],
        "exemplars": exemplars,
        "usage": add_usage(state["usage"], reply),
    }


def _opening(rt: UnitRuntime, state: UnitState) -> tuple[list[BaseMessage], list[str]]:
    """System prompt, demonstrations (cold-start or bootstrapped) and the request."""
    system = rt.prompts.act_system
    demo_messages: list[BaseMessage] = []
    ids: list[str] = []
    target = rt.by_name.get(state["targets"][0])
    if rt.settings.demonstrations and target is not None:
        searchable = rt.store if hasattr(rt.store, "search") else None
        demos = act_demonstrations(
            target,
            state["query"],
            searchable,  # type: ignore[arg-type]
            k=rt.settings.demonstrations_k,
            exclude_ids={rt.trial_id(state)},
        )
        for demo in demos:
            demo_messages.extend(demo.messages)
            ids.append(demo.id)
        if demos:
            system = f"{system}\n\n{rt.prompts.act_demonstrations_note}"
    return [SystemMessage(system), *demo_messages, HumanMessage(state["query"])], ids


NUDGE = "ste_nudge"
_RETRY = "retry"


def is_nudge(message: BaseMessage) -> bool:
    """Whether a message is the act loop's own prompt (never part of a trial)."""
    return bool(message.additional_kwargs.get(NUDGE))


def _is_retry_nudge(message: BaseMessage) -> bool:
    return message.additional_kwargs.get(NUDGE) == _RETRY


def _is_answer_nudge(message: BaseMessage) -> bool:
    return is_nudge(message) and not _is_retry_nudge(message)


def _nudge(text: str, kind: bool | str = True) -> HumanMessage:
    return HumanMessage(text, additional_kwargs={NUDGE: kind})


def _repeated_failure(reply: AIMessage, steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The failed step that the reply's only call repeats exactly, if it does."""
    if len(reply.tool_calls) != 1 or reply.invalid_tool_calls:
        return None
    call = reply.tool_calls[0]
    for step in reversed(steps):
        if step.get("status") == "error" and (step["tool"], step["args"]) == (
            call["name"],
            call["args"],
        ):
            return step
    return None


def _repeats_a_success(reply: AIMessage, steps: list[dict[str, Any]]) -> bool:
    done = [(s["tool"], s["args"]) for s in steps if s.get("status") in ("ok", "emulated")]
    calls = reply.tool_calls
    return (
        bool(calls)
        and not reply.invalid_tool_calls
        and all((c["name"], c["args"]) in done for c in calls)
    )


async def execute(rt: UnitRuntime, state: UnitState) -> dict[str, Any]:
    """Run the last reply's tool calls under the policy; record malformed calls as failures."""
    messages = list(state["messages"])
    reply_at = len(messages) - 1
    reply = messages[reply_at]
    assert isinstance(reply, AIMessage)
    steps = list(state["steps"])
    target = state["targets"][0]
    max_steps = rt.settings.max_steps
    nudged = any(_is_answer_nudge(m) for m in messages)
    failed = _repeated_failure(reply, steps)
    if failed is not None and not any(_is_retry_nudge(m) for m in messages):
        messages.pop()  # the repeated call is not run, and not part of the trial
        error = rt.redact(str(failed.get("error") or failed.get("output") or "it failed"))
        messages.append(_nudge(rt.prompts.retry_nudge.format(error=error), _RETRY))
        return {"messages": messages, "steps": steps}
    if _repeats_a_success(reply, steps):
        if not nudged:
            messages.pop()  # the repeated call is not run, and not part of the trial
            messages.append(_nudge(rt.prompts.answer_nudge))
            return {"messages": messages, "steps": steps}
        for call in reply.tool_calls:  # nudged once already: the trial ends unanswered
            messages.append(
                not_a_step(
                    ToolMessage(
                        "Error: this call already ran; its result is above",
                        tool_call_id=call["id"] or "",
                        name=call["name"],
                        status="error",
                    )
                )
            )
        return {"messages": messages, "steps": steps}
    for call in reply.tool_calls:
        if len(steps) >= max_steps:
            messages.append(
                not_a_step(
                    ToolMessage(
                        f"Error: step limit of {max_steps} tool calls reached",
                        tool_call_id=call["id"] or "",
                        name=call["name"],
                        status="error",
                    )
                )
            )
            continue
        try:
            rt.tracker.check(target)
        except BudgetExhausted as exc:
            return rt.stopped(exc, state["targets"])
        rt.tracker.charge_tool_call(target)
        tool_message, step = await execute_tool_call(
            call,
            rt.act_tools(state["targets"]),
            rt.policy,
            emulator=rt.emulator or rt.model,
            emulator_prompt=rt.prompts.emulate_tool_system,
        )
        messages.append(rt.redact_message(tool_message))
        step_data = step.to_dict()
        steps.append(rt.redactor.redact_value(step_data) if rt.redactor else step_data)
    uncounted = []
    for i, bad in enumerate(reply.invalid_tool_calls):
        if len(steps) >= max_steps:  # past the limit a malformed call is not one more step
            uncounted.append(i)
            continue
        error = bad.get("error") or "malformed tool call"
        kind: ErrorKind = "unknown_tool" if str(error).startswith("unknown tool") else "parse_error"
        steps.append(
            Step(
                tool=bad.get("name") or "",
                args={},
                call_id=bad.get("id") or "",
                output=rt.redact(str(bad.get("args") or "")),
                status="error",
                error_kind=kind,
                error=rt.redact(str(error)),
            ).to_dict()
        )
    if uncounted:  # the trial's messages say which calls were no step (see trajectory.steps_of)
        messages[reply_at] = uncount_invalid_calls(reply, uncounted)
    if reply.invalid_tool_calls and len(steps) < max_steps:
        messages.append(
            HumanMessage(
                rt.prompts.parse_error_feedback.format(
                    error=rt.redact(str(reply.invalid_tool_calls[0].get("error")))
                )
            )
        )
    if len(steps) >= max_steps and not nudged:
        messages.append(_nudge(rt.prompts.step_limit_nudge))
    return {"messages": messages, "steps": steps}


def after_execute(state: UnitState) -> str:
    """Back to act, unless the trial was nudged to answer once already and still did not."""
    messages = state["messages"]
    if messages and is_nudge(messages[-1]):
        return "act"
    return "reflect" if any(_is_answer_nudge(m) for m in messages) else "act"
