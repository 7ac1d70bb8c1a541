"""Fixtures of the CLI tests: the fine-tuning commands use the fine-tuning tests' fixtures."""

from tests.finetune.conftest import tiny_model, tokenizer, trials

__all__ = ["tiny_model", "tokenizer", "trials"]
