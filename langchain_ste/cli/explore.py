"""`ste explore`: run simulated trial and error over a tool set, with a progress bar."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from rich.console import Console

from langchain_ste.cli.app import BaseUrlOption, ModelOption, app, fail, load_model_option
from langchain_ste.cli.progress import explore_with_progress, finished_trials, summary_table
from langchain_ste.models import DEFAULT_EXPLORER_SPEC
from langchain_ste.tools.policy import Budget, ToolPolicy
from langchain_ste.trial import Trial, TrialSchemaError


def parse_policy(items: Sequence[str]) -> ToolPolicy:
    """``["tool=skip", "other=emulate", "*=emulate"]`` as a `ToolPolicy` (``*`` sets the default).

    Raises:
        typer.BadParameter: an item is not ``name=run|emulate|skip``.

    Example:
        >>> parse_policy(["delete_all=skip", "*=emulate"]).action("delete_all")
        'skip'
    """
    default: Any = "run"
    tools: dict[str, Any] = {}
    for item in items:
        name, sep, action = item.partition("=")
        if not sep or not name.strip() or action.strip() not in ("run", "emulate", "skip"):
            raise typer.BadParameter(
                f"{item!r} is not TOOL=run|emulate|skip (or *=ACTION for the default)",
                param_hint="--policy",
            )
        if name.strip() == "*":
            default = action.strip()
        else:
            tools[name.strip()] = action.strip()
    return ToolPolicy(default=default, tools=tools)


@app.command("explore")
def explore_command(
    tools: Annotated[
        str, typer.Argument(help="The tools: package.module:attr or path/to/file.py:attr.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (trials, memory).")],
    model: ModelOption = DEFAULT_EXPLORER_SPEC,
    base_url: BaseUrlOption = None,
    model_factory: Annotated[
        str | None,
        typer.Option(
            "--model-factory",
            help="module:attr, a zero-argument callable giving "
            "the chat model (instead of --model).",
        ),
    ] = None,
    preset: Annotated[
        str | None, typer.Option("--preset", help="paper or small-model (default: by model).")
    ] = None,
    episodes: Annotated[int | None, typer.Option("--episodes", help="Episodes per tool.")] = None,
    trials: Annotated[int | None, typer.Option("--trials", help="Trials per episode.")] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Tool calls per trial.")
    ] = None,
    max_concurrency: Annotated[
        int, typer.Option("--max-concurrency", help="Work units and model calls at once.")
    ] = 8,
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", help="TOOL=run|emulate|skip (repeatable; *=ACTION default)."),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Explore only this tool (repeatable).")
    ] = None,
    act_tools: Annotated[
        str | None,
        typer.Option(
            "--act-tools",
            help="all (bind every tool in act) or targets (only the tool explored; short "
            "prompts with many tools).",
        ),
    ] = None,
    max_model_calls: Annotated[int | None, typer.Option("--max-model-calls")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens")] = None,
    max_seconds: Annotated[float | None, typer.Option("--max-seconds")] = None,
    memory: Annotated[
        bool,
        typer.Option(
            "--memory/--no-memory",
            help="Index trials in a Chroma memory in --out (similarity search for "
            "bootstrapping); --no-memory writes only trials.jsonl.",
        ),
    ] = True,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="local (this process) or ray (one Ray task per tool; a local Ray unless "
            "RAY_ADDRESS names a cluster).",
        ),
    ] = "local",
    chroma_url: Annotated[
        str | None,
        typer.Option(
            "--chroma-url",
            help="A shared `chroma run` server (http://host:port) for the memory, instead of "
            "files in --out.",
        ),
    ] = None,
) -> None:
    """Explore the tools: imagine -> act -> reflect; trials go to OUT/trials.jsonl.

    Running again on the same OUT resumes: finished trials are kept and not redone.
    """
    from langchain_ste.explore.settings import resolve_settings
    from langchain_ste.memory.lock import RunLockedError

    # Every input is checked before anything is created in OUT: bad input is a one-line error
    # (`fail`), exit code 2, and nothing written.
    tool_list = _load_tools_or_fail(tools)
    names = [t.name for t in tool_list]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        fail(f"--only: unknown tools {unknown}; known tools: {', '.join(names)}")
    try:
        tool_policy = parse_policy(policy or [])
        tool_policy.check_tools(names)
    except typer.BadParameter as exc:
        fail(f"--policy: {exc.message}")
    except ValueError as exc:
        fail(f"--policy: {exc}")
    for option, count in (
        ("--episodes", episodes),
        ("--trials", trials),
        ("--max-steps", max_steps),
        ("--max-concurrency", max_concurrency),
    ):
        if count is not None and count < 1:
            fail(f"{option} must be at least 1, not {count}")
    for option, limit in (
        ("--max-model-calls", max_model_calls),
        ("--max-tokens", max_tokens),
        ("--max-seconds", max_seconds),
    ):
        if limit is not None and limit <= 0:
            fail(f"{option} must be positive, not {limit}")
    if act_tools not in (None, "all", "targets"):
        fail(f"--act-tools must be all or targets, not {act_tools!r}")
    if executor not in ("local", "ray"):
        fail(f"--executor must be local or ray, not {executor!r}")
    if executor == "ray" and base_url:
        fail(
            "--base-url: Ray workers build the model from --model alone; for a served model "
            "pass --model-factory (a function calling load_chat_model(..., base_url=...))"
        )
    chroma = _parse_chroma_url(chroma_url) if chroma_url else None
    _check_out(out)
    chat_model = _load_model_or_fail(model_factory, model, base_url)
    overrides = {
        "episodes_per_tool": episodes,
        "trials_per_episode": trials,
        "max_steps": max_steps,
        "max_concurrency": max_concurrency,
        "act_tools": act_tools,
    }
    try:
        settings = resolve_settings(chat_model, preset, overrides)
    except ValueError as exc:
        fail(f"--preset: {exc}")
    budget = Budget(max_model_calls=max_model_calls, max_tokens=max_tokens, max_seconds=max_seconds)
    selected = [n for n in (only or names) if tool_policy.action(n) != "skip"]
    total = len(selected) * settings.episodes_per_tool * settings.trials_per_episode
    done_before = finished_trials(out, selected)
    if executor == "ray":
        found = _explore_on_ray(
            tools,
            out,
            model=None if model_factory else model,
            model_factory=model_factory,
            chroma=chroma if memory else None,
            settings=settings,
            only=selected,
            policy=tool_policy,
            budget=budget,
        )
        Console().print(summary_table(found))
        typer.echo(f"{len(found)} trials in {out / 'trials.jsonl'}")
        return
    created = not out.exists()
    store: dict[str, Any] = {"memory": out}
    console = Console(stderr=True)
    try:
        if memory:
            from langchain_ste.memory.chroma import ExplorationMemory, MemoryStoreError

            try:
                store = {"memory": ExplorationMemory(out, **(chroma or {}))}
            except MemoryStoreError as exc:
                fail(str(exc))
        found = explore_with_progress(
            chat_model,
            tool_list,
            store=store,
            total=total,
            done_before=done_before,
            console=console,
            settings=settings,
            only=selected,
            policy=tool_policy,
            budget=budget,
        )
    except RunLockedError as exc:
        _forget(out, created)
        fail(str(exc))
    except (ValueError, TrialSchemaError) as exc:  # e.g. tools the explorer refuses
        _forget(out, created)
        fail(str(exc))
    except typer.Exit:
        _forget(out, created)
        raise
    Console().print(summary_table(found))
    typer.echo(f"{len(found)} trials in {out / 'trials.jsonl'}")


def _parse_chroma_url(url: str) -> dict[str, Any]:
    """``http://host:port`` as ExplorationMemory's ``host`` and ``port``.

    Example:
        >>> _parse_chroma_url("http://chroma-node:8001")
        {'host': 'chroma-node', 'port': 8001}
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        fail(f"--chroma-url: {url!r} is not a URL: {exc}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"--chroma-url: {url!r} is not http://host:port")
    return {"host": parts.hostname, "port": port or (443 if parts.scheme == "https" else 8000)}


def _explore_on_ray(
    tools: str, out: Path, *, chroma: dict[str, Any] | None, **options: Any
) -> list[Trial]:
    """`explore_on_ray` with one progress line per finished tool; a missing Ray fails."""
    try:
        from langchain_ste.explore.ray import explore_on_ray

        def on_event(event: dict[str, Any]) -> None:
            typer.echo(f"{event['done']}/{event['total']} tools done ({event['tool']})", err=True)

        return explore_on_ray(
            tools,
            out_dir=out,
            chroma_host=(chroma or {}).get("host"),
            chroma_port=(chroma or {}).get("port"),
            on_event=on_event,
            **options,
        )
    except ImportError as exc:
        fail(f"--executor ray: {exc}")


def _load_tools_or_fail(spec: str) -> list[BaseTool]:
    from langchain_ste.tools.loading import load_tools

    try:
        return load_tools(spec)
    except ValueError as exc:
        fail(f"TOOLS: {exc}")


def _load_model_or_fail(factory: str | None, model: str, base_url: str | None) -> BaseChatModel:
    """The explorer model of ``--model-factory`` (called) or ``--model``; bad ones fail."""
    if not factory:
        try:
            return load_model_option(model, base_url)
        except typer.BadParameter as exc:
            fail(f"{exc.param_hint or '--model'}: {exc.message}")
        except Exception as exc:  # the provider's client refused (no key, bad option...)
            fail(f"--model: cannot load {model!r}: {type(exc).__name__}: {exc}")
    from langchain_ste.tools.loading import load_object

    try:
        made = load_object(factory)
    except ValueError as exc:
        fail(f"--model-factory: {exc}")
    if not callable(made):
        fail(f"--model-factory: {factory} is a {type(made).__name__}, not a callable")
    try:
        chat_model = made()
    except Exception as exc:
        fail(f"--model-factory: {factory}() failed: {type(exc).__name__}: {exc}")
    if not isinstance(chat_model, BaseChatModel):
        fail(
            f"--model-factory: {factory}() gave a {type(chat_model).__name__}, not a LangChain "
            "chat model"
        )
    return chat_model


def _check_out(out: Path) -> None:
    """``--out`` must be a folder (or not exist yet) whose trials file, if any, reads cleanly."""
    if out.exists() and not out.is_dir():
        fail(f"--out: {out} is a file, not a folder; pass a folder for the trials and memory")
    for parent in [out, *out.parents]:
        if parent.exists():
            if not os.access(parent, os.W_OK | os.X_OK):
                fail(f"--out: {parent} is not writable")
            break
    trials_file = out / "trials.jsonl"
    if trials_file.exists():
        from langchain_ste.trial_log import TrialLog

        try:
            TrialLog(trials_file).read()
        except TrialSchemaError as exc:
            fail(f"--out holds a trials file that cannot be resumed: {exc}")


def _forget(out: Path, created: bool) -> None:
    """Remove ``out`` again if this run created it and wrote no trial into it."""
    if created and out.is_dir() and not (out / "trials.jsonl").exists():
        shutil.rmtree(out, ignore_errors=True)


__all__ = [
    "explore_command",
    "parse_policy",
]
