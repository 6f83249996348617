# labsight — the two commands: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := postgres,deep,design,umap,onnx,dev,bench
# The CPU wheel of torch lies on disk on our machines; elsewhere pip takes it from PyPI.
WHEELS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
HOME_DEMO ?= .labsight

.PHONY: install browser demo test lint format bench clean help

help:
	@echo "make demo    set up .venv and run the demo (ingest + quality report of a shipped dataset)"
	@echo "make test    set up .venv and run the test suite"
	@echo "make lint    ruff + mypy;  make bench  run the benchmarks into BENCHMARKS.md"

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "labsight needs Python >= 3.11; run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: an unpinned torch would pull a CUDA build of several GB.
	$(BIN)/python -m pip install --quiet $(WHEELS) torch==2.13.0
	$(BIN)/python -m pip install --quiet $(WHEELS) -e ".[$(EXTRAS)]"
	@touch $(STAMP)

# Browser tests drive Debian's chromium through Playwright (Playwright never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } ; } || \
		echo "chromium is not installed: browser tests will be skipped (apt-get install chromium)"

demo: install
	LABSIGHT_HOME=$(HOME_DEMO) $(BIN)/labsight demo

test: install browser
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4 --dist worksteal

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .labsight .pytest_cache .mypy_cache .ruff_cache
