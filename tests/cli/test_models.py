"""`ste models` lists every embedded model with its state, and refuses unknown names clearly."""

from __future__ import annotations

from typer.testing import CliRunner

from langchain_ste.cli import app

runner = CliRunner()


def test_lists_each_embedded_model_with_size_and_state() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"):
        assert name in result.output
    assert "491 MB" in result.output and "1117 MB" in result.output
    assert any(s in result.output for s in ("converted", "installed", "assembled", "missing"))


def test_preparing_an_unknown_model_is_a_usage_error() -> None:
    result = runner.invoke(app, ["models", "--prepare", "gpt-5"])
    assert result.exit_code == 2
    assert "no embedded model 'gpt-5'" in result.output
