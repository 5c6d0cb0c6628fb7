# The two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install bench chaos clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "aftersales needs Python 3.11 or newer"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve the API, console and deadline worker on http://$(HOST):$(PORT) with demo data (SQLite);
## `make run PORT=8080 HOST=0.0.0.0` to listen elsewhere.
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP)
	$(BIN)/aftersales serve --demo --host $(HOST) --port $(PORT)

## Lint, format check and types: what `make test` runs first.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## Every check: lint and types, then every test: SQLite always, PostgreSQL when one answers (required when CI=true).
test: lint
	$(BIN)/python -m pytest

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## Benchmarks in quick mode, on the local PostgreSQL (AFTERSALES_BENCH_POSTGRES_URL); see docs/benchmarks.md.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/deadlines.py --quick
	$(BIN)/python bench/api.py --quick
	$(BIN)/python bench/scale.py --quick
	$(BIN)/python bench/relay.py --quick

## The long versions of the reliability tests (kills, restarts, generated requests); needs PostgreSQL.
chaos: $(STAMP)
	AFTERSALES_CHAOS=long $(BIN)/python -m pytest -m chaos -p no:cacheprovider

clean:
	rm -rf $(VENV) data .pytest_cache
