# Manafidh: `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# Two cores: one pytest worker per core would fight the PostgreSQL server for CPU.
PYTEST_ARGS ?=

.PHONY: install lint format messages messages-update test test-fast demo bench clean

$(STAMP): pyproject.toml
	rm -f $(VENV)/.installed-*
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# The app reads the .po catalogues directly; compiled .mo files are an optional speed-up.
messages: install
	$(BIN)/pybabel compile -d src/manafidh/locale -D messages --statistics

messages-update: install
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -o build/messages.pot --project Manafidh --version 0.1.0 \
		--copyright-holder "Manafidh contributors" --add-location=file --sort-by-file -w 100 src
	$(BIN)/pybabel update -i build/messages.pot -d src/manafidh/locale -D messages -w 100 \
		--ignore-obsolete

lint: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: lint messages
	CI=$${CI:-} $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not browser and not postgres" $(PYTEST_ARGS)

demo: messages
	$(BIN)/manafidh demo

# Every benchmark, one after the other (each prints its table and, last, one JSON line).
bench: install
	$(BIN)/python bench/clearance.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/devices.py
	$(BIN)/python bench/tariff.py
	$(BIN)/python bench/risk_kcs.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache
