# distill: developer and CI entry points. `make test` is what CI runs (via .ci/run).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PYTHON ?= python3
VENV := $(REPO)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.distill-installed
CACHE := $(REPO)/.cache
WITH_ENGINE := $(REPO)/scripts/with-docker-engine
# pytest-xdist workers; `make test XDIST=0` runs the suite in one process.
XDIST ?= 2

export DISTILL_CACHE ?= $(CACHE)/test-cache

.PHONY: help venv system-deps test check lint typecheck unit pytest bench demo image clean

# `make image PUSH=docker://HOST/REPO:TAG` also pushes distill's own image there.
PUSH ?=

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

venv: $(STAMP) ## create .venv and install distill with its test tools

$(STAMP): $(REPO)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '$(REPO)[test]'
	touch $@

system-deps: ## install the Debian packages the test suite uses (root or sudo)
	$(REPO)/scripts/install-system-deps

test: system-deps venv ## everything CI runs: lint, type check, the whole suite with a Docker engine
	mkdir -p $(CACHE)
	export DISTILL_REQUIRE_DOCKER=1 DISTILL_REQUIRE_TOOLS=1
	$(WITH_ENGINE) $(MAKE) --no-print-directory --keep-going check

check: lint typecheck pytest ## lint, type check and run the suite with what this machine has

lint: venv ## ruff
	cd $(REPO)
	$(BIN)/ruff check src tests $$(test -d benchmarks && echo benchmarks)

typecheck: venv ## mypy --strict on src and tests (settings in pyproject.toml)
	cd $(REPO)
	$(BIN)/mypy

pytest: venv
	cd $(REPO)
	$(BIN)/pytest $(call xdist_args) $(PYTEST_ARGS)

unit: venv ## the tests that need no mirror, engine or external tool
	cd $(REPO)
	$(BIN)/pytest $(call xdist_args) -m "not mirror and not docker and not tools" $(PYTEST_ARGS)

bench: venv ## benchmarks/run.py, if there is one
	cd $(REPO)
	if [ -f benchmarks/run.py ]; then $(BIN)/python benchmarks/run.py; else echo "no benchmarks/run.py yet"; fi

demo: system-deps venv ## build and run the demo images (scripts/demo.sh)
	cd $(REPO)
	PATH="$(BIN):$$PATH" $(WITH_ENGINE) bash scripts/demo.sh

image: venv ## build distill's own image (image/distill.yaml) with distill; load distill:latest
	cd $(REPO)
	$(WITH_ENGINE) $(BIN)/distill build -f image/distill.yaml -o docker-daemon:distill:latest \
		$(if $(PUSH),-o $(PUSH))

clean: ## remove the venv, caches and build output
	cd $(REPO)
	rm -rf .venv .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf src/*.egg-info

# xdist only when asked for and installed; otherwise one process.
xdist_args = $(if $(filter-out 0,$(XDIST)),$$($(BIN)/python -c 'import xdist' 2>/dev/null && echo "-n $(XDIST)"))
