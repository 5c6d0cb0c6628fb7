# The two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "aftersales needs Python 3.11 or newer"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve the API, console and deadline worker on http://127.0.0.1:8000 with demo data (SQLite).
run: $(STAMP)
	$(BIN)/aftersales serve --demo

## Every test: SQLite always, PostgreSQL when one answers (required when CI=true).
test: $(STAMP)
	$(BIN)/python -m pytest

## Benchmarks in quick mode, on the local PostgreSQL (AFTERSALES_BENCH_POSTGRES_URL).
bench: $(STAMP)
	$(BIN)/python bench/deadlines.py --quick

clean:
	rm -rf $(VENV) data .pytest_cache
