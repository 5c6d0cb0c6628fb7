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

# axe-core, the accessibility checker the browser tests run in each page: from the npm registry,
# pinned, into the venv. Only the tests use it (nothing of Node runs the product); without npm
# they skip with a line in pytest's header, and CI=true makes that a failure.
AXE_VERSION := 4.14.1
AXE_STAMP := $(VENV)/axe/.installed-$(AXE_VERSION)

$(AXE_STAMP): | $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  rm -rf $(VENV)/axe && mkdir -p $(VENV)/axe && \
	  npm install --prefix $(VENV)/axe --no-audit --no-fund --no-save --silent axe-core@$(AXE_VERSION) && \
	  test -f $(VENV)/axe/node_modules/axe-core/axe.min.js && touch $@ || \
	  echo "npm could not install axe-core@$(AXE_VERSION): the accessibility tests will be skipped"; \
	else echo "no npm: the accessibility tests will be skipped (apt-get install npm)"; fi

install: $(STAMP) $(AXE_STAMP)

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
test: lint $(AXE_STAMP)
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
	$(BIN)/python bench/console.py --quick

## The long versions of the reliability tests (kills, restarts, generated requests); needs PostgreSQL.
chaos: $(STAMP)
	AFTERSALES_CHAOS=long $(BIN)/python -m pytest -m chaos -p no:cacheprovider

clean:
	rm -rf $(VENV) data .pytest_cache
