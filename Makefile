# The front door. On a fresh machine (python3 and terraform on PATH):
#   make install   pinned toolchain into .venv (idempotent)
#   make local     the whole stack deployed into a local AWS emulator (the main job)
#   make test      pre-commit on every file, then the whole pytest suite (what CI runs)
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
UV_VERSION  := 0.13.9
TOOLS_DIR   := .tools
VENV        := .venv
UV          := $(TOOLS_DIR)/bin/uv
STAMP       := $(VENV)/.installed
RUN         := $(UV) run --frozen --no-sync
ENVS        ?=
# pytest workers: the slow tests mostly wait on Terraform and the emulator, so two workers on
# two cores finish the suite sooner; each test file stays on one worker (its fixtures with it).
WORKERS     ?= 2

# Never download a Python; use the machine's. jsii: Node 20 is past end of life but works.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The machines set PYTHONDONTWRITEBYTECODE, so every python process (each pytest worker, each
# `gitops` call) compiled the project's own modules and re-rewrote every test module's asserts
# from source: 6 s of each worker's start. The cached bytecode goes in git-ignored __pycache__/.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help install local local-down local-status synth validate check test test-fast lint bench rehearse clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS_DIR)
	$(TOOLS_DIR)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled once at install: the machines set PYTHONDONTWRITEBYTECODE, and without
# .pyc files every jsii import re-parses the provider bindings' 200 MB of source.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -z "$${CI:-}" ]; then $(RUN) pre-commit install --install-hooks >/dev/null; fi
	@touch $@

install: $(STAMP) ## set up the pinned toolchain in .venv (idempotent)

local: install ## the main job: emulator on loopback, state backend, deploy `local`, print outputs
	$(RUN) gitops local up

local-down: install ## destroy the local stack and stop the emulator
	$(RUN) gitops local down

local-status: install ## what runs where (emulator pid and endpoint, resources in state)
	$(RUN) gitops local status

synth: install ## synthesize cdktf.out/stacks/fraud-detection-<env>/ (ENVS="dev prod" for some)
	$(RUN) gitops synth $(ENVS)

validate: install ## synth, then terraform init + validate every stack with the real aws provider
	$(RUN) gitops validate $(ENVS)

check: install ## policy gate: checkov built-in + custom checks on every stack, SARIF/JUnit in reports/
	$(RUN) gitops check $(ENVS)

lint: install ## pre-commit on every file (ruff, formatting, YAML/JSON, secrets, workflows)
	$(RUN) pre-commit run --all-files --show-diff-on-failure

test: lint ## the whole suite: pre-commit, then pytest (slow tests included), JUnit in reports/
	$(RUN) pytest -n $(WORKERS) --dist loadfile --junitxml=reports/pytest.xml

test-fast: install ## the inner loop: pytest without the tests marked slow or emulator
	$(RUN) pytest -n $(WORKERS) --dist loadgroup -m "not slow and not emulator"

rehearse: install ## offline PR -> merge -> refused late change -> promote -> releases (rollout, rollback), emulator + GitHub stand-in
	$(RUN) python -m gitops.pipeline.rehearse

bench: install ## synth ratio and per environment (4, 20), PR comments, local deploy/no-op/destroy
	$(RUN) python -m gitops.bench --local

clean: ## remove generated output (keeps .venv); stop the emulator first with make local-down
	rm -rf cdktf.out reports .gitops .pytest_cache .ruff_cache .mypy_cache
