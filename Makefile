# One command to run the product, one to run the tests (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup browser lint bench vendor check-reliability

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The dashboard's charting library: pinned, from the npm registry, served by the app (no CDN).
UPLOT_VERSION := 1.6.32
VENDOR := src/analytics_mcp/dashboard/static/vendor
NPM_DIR := build/npm

$(VENDOR)/.uplot-$(UPLOT_VERSION):
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi; }
	npm install --prefix $(NPM_DIR) --no-audit --no-fund --no-save --loglevel=error uplot@$(UPLOT_VERSION)
	mkdir -p $(VENDOR)
	cp $(NPM_DIR)/node_modules/uplot/dist/uPlot.esm.js $(NPM_DIR)/node_modules/uplot/dist/uPlot.min.css \
	  $(NPM_DIR)/node_modules/uplot/LICENSE $(VENDOR)/
	rm -f $(VENDOR)/.uplot-* && touch $@

vendor: $(VENDOR)/.uplot-$(UPLOT_VERSION)

setup: $(STAMP) vendor

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

demo: setup
	$(BIN)/analytics-mcp demo

# mypy: strict on src/ with the pydantic plugin ([tool.mypy] in pyproject.toml; cache in .mypy_cache).
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The standing reliability suite at full scale (tenant matrix, bodies, privacy scan, crash cycles);
# `make test` runs its fast subset.
check-reliability: setup browser
	RELIABILITY_SCALE=full $(BIN)/python -m pytest tests/reliability -q -s -p no:cacheprovider

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: setup
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/engine.py --events 1m
	$(BIN)/python bench/mcp.py
	$(BIN)/python bench/export.py
