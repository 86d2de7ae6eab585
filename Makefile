# Heron: `make up` runs the stack natively, `make test` runs every test tier.
# Each target creates .venv and installs what it needs (Debian packages via apt-get as root or
# with passwordless sudo; otherwise it prints the command to run).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.heron-installed

# Debian packages: what the stack runs, what the tests drive, what the benchmarks compare with.
APT_RUNTIME := prometheus redis-server ca-certificates
APT_TEST := chromium chromium-driver systemd redis-sentinel prometheus-node-exporter haproxy
APT_BENCH := prometheus-node-exporter prometheus-alertmanager

.PHONY: up down status test lint bench components deps-runtime deps-test deps-bench clean help

help:
	@echo "make up      - start collector, Prometheus, VictoriaLogs, Redis (+ Heron services) on loopback"
	@echo "make down    - stop everything 'make up' started"
	@echo "make status  - show what runs"
	@echo "make test    - lint, then unit + integration + e2e tests against the real services"
	@echo "make bench   - run the benchmarks and write docs/benchmarks.md"
	@echo "make lint    - ruff + mypy (strict)"

$(STAMP): pyproject.toml sdk/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "heron: Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null || \
		scripts/ensure-debian-packages.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -e '.[dev]' -e './sdk[all,grpc]'
	@touch $(STAMP)

deps-runtime:
	@scripts/ensure-debian-packages.sh $(APT_RUNTIME)

deps-test: deps-runtime
	@scripts/ensure-debian-packages.sh $(APT_TEST)

deps-bench: deps-runtime
	@scripts/ensure-debian-packages.sh $(APT_BENCH)

components: $(STAMP) deps-runtime
	$(BIN)/heron components --ensure

up: components
	$(BIN)/heron up

down:
	@if [ -x $(BIN)/heron ]; then $(BIN)/heron down; else echo "nothing was started (no .venv)"; fi

status: $(STAMP)
	@$(BIN)/heron status || true

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint deps-test components
	$(BIN)/pytest

bench: components deps-bench
	$(BIN)/python -m bench

clean: down
	rm -rf .heron
