# saltsim — every target installs what it needs into .venv first.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: help venv check lint typecheck test test-unit test-functional bench-bus bench-minions \
        scenario-presence demo clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  %-20s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

venv: $(INSTALLED) ## create .venv and install saltsim with its dev tools

lint: $(INSTALLED) ## ruff
	$(VENV)/bin/ruff check src master minion tests bench
	$(VENV)/bin/ruff format --check src master minion tests bench

typecheck: $(INSTALLED) ## mypy (strict)
	$(VENV)/bin/mypy

check: lint typecheck ## ruff and mypy

test: check ## ruff, mypy and every test tier (the CI command)
	$(PY) -m pytest

test-unit: $(INSTALLED) ## only the pure unit tests
	$(PY) -m pytest tests/unit

test-functional: $(INSTALLED) ## only the functional tests (real processes on 127.0.0.1)
	$(PY) -m pytest tests/functional

bench-bus: $(INSTALLED) ## event bus throughput and latency against raw pyzmq
	$(PY) -m bench.bus --json bench/results/bus.json

bench-minions: $(INSTALLED) ## time until 100/1,000/5,000 swarm minions are present
	$(PY) -m bench.minions --json bench/results/minions.json

scenario-presence: $(INSTALLED) ## the main job: presence on the local backend (see README)
	$(PY) -m saltsim presence-demo

demo: $(INSTALLED) ## fire a few events through a bus and print them
	$(PY) -m saltsim demo

clean: ## remove caches and results (the venv stays)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/results
