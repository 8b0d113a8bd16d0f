# One command to run the product, one to run the tests (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup browser services lint bench vendor check-reliability

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The dashboard's charting library and its country map (an SVG path per ISO 3166-1 country,
# CC BY 4.0): pinned, from the npm registry, served by the app (no CDN). axe-core is for the
# browser tests' accessibility check only; it stays in build/ and is never served.
UPLOT_VERSION := 1.6.32
WORLD_MAP_VERSION := 2.0.0
AXE_VERSION := 4.11.0
VENDOR := src/analytics_mcp/dashboard/static/vendor
NPM_DIR := build/npm
VENDOR_STAMP := $(VENDOR)/.vendor-uplot-$(UPLOT_VERSION)-map-$(WORLD_MAP_VERSION)-axe-$(AXE_VERSION)

$(VENDOR_STAMP):
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi; }
	npm install --prefix $(NPM_DIR) --no-audit --no-fund --no-save --loglevel=error \
	  uplot@$(UPLOT_VERSION) @svg-maps/world@$(WORLD_MAP_VERSION) axe-core@$(AXE_VERSION)
	mkdir -p $(VENDOR)
	cp $(NPM_DIR)/node_modules/uplot/dist/uPlot.esm.js $(NPM_DIR)/node_modules/uplot/dist/uPlot.min.css \
	  $(NPM_DIR)/node_modules/uplot/LICENSE $(VENDOR)/
	cp $(NPM_DIR)/node_modules/@svg-maps/world/index.js $(VENDOR)/world-map.js
	cp $(NPM_DIR)/node_modules/@svg-maps/world/LICENSE.md $(VENDOR)/world-map-LICENSE.md
	rm -f $(VENDOR)/.uplot-* $(VENDOR)/.vendor-* && touch $@

vendor: $(VENDOR_STAMP)

setup: $(STAMP) vendor

# What the tests run for real, from Debian's packages: Chromium for the browser tests (Playwright
# drives it; it never downloads a browser), PostgreSQL (a cluster per test session, started by a
# fixture in a temporary directory) and redis-server (shared rate limits across servers).
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) $(APT_INSTALL) chromium >/dev/null; }

services:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && $(SUDO) $(APT_INSTALL) postgresql redis-server >/dev/null; }

demo: setup
	$(BIN)/analytics-mcp demo

# mypy: strict on src/ with the pydantic plugin ([tool.mypy] in pyproject.toml; cache in .mypy_cache).
# pytest-xdist: three workers on two cores (much of the suite waits on servers and browsers);
# loadgroup keeps a module with a module-scoped fixture on one worker (tests/conftest.py).
# PYTHONDONTWRITEBYTECODE emptied: pytest then keeps its assertion-rewritten test modules in
# __pycache__ (each worker spent ~6 s of CPU rewriting them on every run without it).
test: setup browser services
	$(BIN)/ruff check .
	$(BIN)/mypy
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 3 --dist loadgroup

# The standing reliability suite at full scale (tenant matrix, bodies, privacy scan, crash cycles);
# `make test` runs its fast subset.
check-reliability: setup browser services
	RELIABILITY_SCALE=full $(BIN)/python -m pytest tests/reliability -q -s -p no:cacheprovider

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: setup
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/engine.py --events 1m
	$(BIN)/python bench/mcp.py
	$(BIN)/python bench/export.py
