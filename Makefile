# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve test lint pytest browsers bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's chromium for the browser tests; never a downloaded browser build.
browsers:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium not installed and no root apt-get: browser tests will be skipped"; fi; }

demo: install
	$(BIN)/python app.py demo

serve: install
	$(BIN)/python app.py serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

# The whole suite on SQLite, then again on PostgreSQL when one answers (CI has one).
pytest: install browsers
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if [ -n "$$TEST_DATABASE_URL" ] || $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
	  echo "== again on PostgreSQL =="; \
	  TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$(PG_TEST_URL)}" $(BIN)/python -m pytest -q -p no:cacheprovider -m "not browser"; \
	else echo "PostgreSQL not reachable on 127.0.0.1:5432 and TEST_DATABASE_URL unset: PostgreSQL run skipped"; fi

test: lint pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) calbot.db .pytest_cache .mypy_cache .ruff_cache
