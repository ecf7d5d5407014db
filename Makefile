# saltsim — every target installs what it needs into .venv first.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: help venv check docs lint typecheck test quick test-deps test-unit test-functional test-docker bench-bus \
        bench-minions bench-containers bench-churn fuzz-churn scenario-presence scenarios demo images images-if-engine \
        clean images-salt images-salt-if-engine scenarios-salt diff-all test-salt salt-goldens

help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  %-20s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

venv: $(INSTALLED) ## create .venv and install saltsim with its dev tools

lint: $(INSTALLED) ## ruff
	$(VENV)/bin/ruff check src master minion cloud-sim saltbridge tests bench
	$(VENV)/bin/ruff format --check src master minion cloud-sim saltbridge tests bench

typecheck: $(INSTALLED) ## mypy (strict)
	$(VENV)/bin/mypy

check: lint typecheck ## ruff and mypy

docs: $(INSTALLED) ## build the manual into site/ (MkDocs, strict) and check every relative link
	$(VENV)/bin/mkdocs build --strict
	$(PY) -m pytest -q tests/unit/test_docs_links.py

.PHONY: events-doc
events-doc: $(INSTALLED) ## write docs/EVENTS.md's tables from docs/events.yaml (the event reference)
	$(PY) -m saltsim.eventref docs/events.yaml docs/EVENTS.md

# Every tier in two passes: what is safe side by side (each test its own ports, tmp dirs and
# testbed; a module's shared testbed stays on one worker) on 2 workers, then the tiers whose
# timing or shared engine wants the machine to itself (containers, real Salt, hostile input,
# the churn campaigns) one at a time. `pytest` alone runs everything serially.
PARALLEL_SAFE := not docker and not salt and not hostile and not slow

test: check images-if-engine images-salt-if-engine test-deps ## ruff, mypy, images and every test tier (the CI command)
	$(PY) -m pytest -n 2 --dist loadfile -m "$(PARALLEL_SAFE)"
	$(PY) -m pytest -m "not ($(PARALLEL_SAFE))"

test-deps: ## curl and chromium for the API tests (Debian packages)
	@missing=""; for tool in curl chromium; do \
	  command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

quick: $(INSTALLED) ## unit and functional tests without the slow campaigns, docker or real Salt (2 workers)
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not docker and not salt and not hostile and not slow" \
	  tests/unit tests/functional

test-unit: $(INSTALLED) ## only the pure unit tests
	$(PY) -m pytest tests/unit

test-functional: $(INSTALLED) ## only the functional tests (real processes on 127.0.0.1)
	$(PY) -m pytest tests/functional

test-docker: images ## only the docker tests (containers; published ports on 127.0.0.1)
	$(PY) -m pytest -m docker tests/docker

bench-bus: $(INSTALLED) ## event bus throughput and latency against raw pyzmq
	$(PY) -m bench.bus --json bench/results/bus.json

bench-minions: $(INSTALLED) ## time until 100/1,000/5,000 swarm minions are present
	$(PY) -m bench.minions --json bench/results/minions.json

bench-containers: images ## time until 10/25/50 minion containers (and 1,000 swarm minions) are present
	$(PY) -m bench.containers --json bench/results/containers.json

fuzz-churn: images-if-engine ## fuzz connect/disconnect churn (Hypothesis, bounded); ARGS="--backend docker --seed N"
	$(PY) -m saltsim fuzz $(ARGS)

bench-churn: $(INSTALLED) ## connect/disconnect cycles/s of a churning swarm over 60 s, zero gaps, against raw pyzmq
	$(PY) -m bench.churn --json bench/results/churn.json

SCENARIOS := $(basename $(notdir $(wildcard scenarios/*.yaml)))

images-if-engine: $(INSTALLED) ## build the images when a Docker engine answers, else say so
	$(PY) -m saltsim.testbed.images --if-engine

scenario-presence: images-if-engine ## the main job: the presence scenario (docker, else local)
	$(PY) -m saltsim scenario run presence

scenario-%: images-if-engine ## run scenarios/%.yaml, e.g. make scenario-jobs
	$(PY) -m saltsim scenario run $*

scenarios: images-if-engine ## run every scenario file in scenarios/
	@failed=""; for name in $(SCENARIOS); do \
	  $(PY) -m saltsim scenario run $$name || failed="$$failed $$name"; done; \
	  if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

demo: $(INSTALLED) ## fire a few events through a bus and print them
	$(PY) -m saltsim demo

images: $(INSTALLED) ## build the base and service images locally (nothing is pulled)
	$(PY) -m saltsim.testbed.images

images-salt: images ## build the real-Salt images (salt 3008.3 and 3006.29) from a cached wheelhouse
	$(PY) -m saltsim.testbed.salt_image --version 3008.3 --version 3006.29

images-salt-if-engine: images-if-engine ## the real-Salt images when a Docker engine answers, else say so
	$(PY) -m saltsim.testbed.salt_image --if-engine --version 3008.3 --version 3006.29

test-salt: images-salt ## only the real-Salt tier (tests/salt: presence and keys live on real Salt)
	$(PY) -m pytest -m salt tests/salt

scenario-salt-%: images-salt ## run scenarios/%.yaml on real Salt (the salt backend), e.g. make scenario-salt-keys
	$(PY) -m saltsim scenario run $* --backend salt

# not on real Salt: cloud (saltsim's cloud-sim) and kill-mid-job (cmd_async: the salt
# backend's client has no asynchronous publish yet)
SALT_SCENARIOS := $(filter-out cloud kill-mid-job,$(SCENARIOS))

scenarios-salt: images-salt ## run every scenario but cloud and kill-mid-job on real Salt; per scenario passed / failed
	@failed=""; for name in $(SALT_SCENARIOS); do \
	  $(PY) -m saltsim scenario run $$name --backend salt || failed="$$failed $$name"; done; \
	  if [ -n "$$failed" ]; then echo "failed on real Salt:$$failed"; exit 1; fi

diff-%: images-salt ## saltsim (docker) and real Salt side by side for scenarios/%.yaml; DIALECT=3006 for 3006
	$(PY) -m saltsim scenario diff $* $(if $(DIALECT),--dialect $(DIALECT))

diff-all: images-salt ## scenario diff of every scenario but cloud and kill-mid-job; fails on any undeclared difference
	@failed=""; for name in $(SALT_SCENARIOS); do \
	  $(PY) -m saltsim scenario diff $$name || failed="$$failed $$name"; done; \
	  if [ -n "$$failed" ]; then echo "undeclared differences:$$failed"; exit 1; fi

SALT_GOLDENS := scenarios/presence.yaml scenarios/keys.yaml

salt-goldens: images-salt ## re-record tests/salt/goldens: presence and keys on real Salt 3008 (whatever Salt does)
	@for file in $(SALT_GOLDENS); do name=$$(basename $$file .yaml); \
	  rm -rf results/goldens/$$name-salt-*; \
	  $(PY) -m saltsim scenario run $$file --backend salt --results results/goldens > /dev/null; \
	  cp results/goldens/$$name-salt-3008-*/events.jsonl tests/salt/goldens/$$name-3008.jsonl && \
	  echo "tests/salt/goldens/$$name-3008.jsonl"; done

CACHES := .pytest_cache .mypy_cache .ruff_cache .hypothesis site
clean: ## remove the tool caches; ALL=1 also every run's results and every saltsim docker session
	@echo "removing the tool caches: $(CACHES)"
	@rm -rf $(CACHES)
ifeq ($(ALL),1)
	@echo "ALL=1: removing every run's results (results/, bench/results/)"
	@rm -rf results bench/results
	@echo "ALL=1: removing every saltsim session's containers, networks and volumes (label org.saltsim.session), running ones too"
	@if [ -x $(PY) ]; then $(PY) -m saltsim clean; fi
else
	@echo "kept: results/ and bench/results/ (the runs' reports), and saltsim's docker sessions, which may be another terminal's running testbed; make clean ALL=1 removes them"
endif
