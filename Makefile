# Every target sets up what it needs (virtualenv from requirements.txt, the pinned CDK CLI from
# package-lock.json), idempotently, so each works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

PY_STAMP := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt pyproject.toml | sha1sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell sha1sum package-lock.json | cut -c1-12)
SOURCES := $(shell find app.py cdk.json lambda constructs -type f -not -path '*/__pycache__/*' 2>/dev/null)
# checkov, the second template scanner, lives in its own virtualenv: its pinned dependencies
# (boto3 1.35 among them) conflict with ours. --skip-download: no call to Prisma Cloud's API.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha1sum requirements-checkov.txt | cut -c1-12)
CHECKOV := $(CURDIR)/$(CHECKOV_VENV)/bin/checkov --framework cloudformation --skip-download --quiet --compact

.PHONY: setup synth package lint scan test sweep sweep-traces demo bench live-test live-probe clean

setup: $(PY_STAMP) $(NODE_STAMP)

# The library itself is installed editable, so the app and the tests import it as a user does.
$(PY_STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-* && touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-* && touch $@

# Synthesizes the example app into cdk.out/ with the pinned CLI (bundles the Lambda asset locally).
synth: setup cdk.out/manifest.json
cdk.out/manifest.json: $(SOURCES) $(PY_STAMP) $(NODE_STAMP)
	time cdk synth --quiet
	@touch $@

# The provider without CDK (StackSets, `aws cloudformation deploy`): code zip + template in dist/;
# and the library's wheel (README.md: installing it), named as pip names it, for this version only.
PACKAGE_TEMPLATE := dist/sc-plan-provider.template.json
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' lambda/sc_plan_provider/__init__.py)
PACKAGE_WHEEL := dist/servicecatalog_plan_execution-$(VERSION)-py3-none-any.whl
package: setup $(PACKAGE_TEMPLATE) $(PACKAGE_WHEEL)
$(PACKAGE_TEMPLATE): $(SOURCES) $(PY_STAMP)
	python -m sc_plan_execution.standalone dist --cdk-json cdk.json
$(PACKAGE_WHEEL): $(SOURCES) pyproject.toml README.md $(PY_STAMP)
	rm -rf build dist/servicecatalog_plan_execution-*.whl  # an earlier build's build/ can break this one
	python -m pip wheel --no-deps --quiet --disable-pip-version-check --wheel-dir dist .
	test -f $@

# lint-imports: the function's layers and no import cycles, lazy imports included (pyproject.toml).
lint: setup
	ruff check .
	ruff format --check .
	mypy
	lint-imports

# Both scanners on every template a user deploys: a finding fails unless the resource carries a
# skip with its reason (checkov: Metadata.checkov.skip; docs/operations.md#scanners). The pipeline example and
# the option stacks are synthesized and scanned by tests/construct/.
scan: synth package $(CHECKOV_STAMP)
	cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json $(PACKAGE_TEMPLATE) examples/*.yaml
	$(CHECKOV) -f cdk.out/*.template.json $(PACKAGE_TEMPLATE) examples/*.yaml

# The fault sweep's sample runs on its own, SWEEP_WORKERS side by side (its runs mostly wait), so
# `make test` stays well inside CI's 20 minutes.
test: scan lint
	pytest -n 2 --dist loadgroup --ignore=tests/sweep
	pytest -n $(SWEEP_WORKERS) tests/sweep

# The fault sweep (tests/sweep, local_cloud/sweep): every fault kind at every position of every
# sequence, on traces recorded now, then its matrix (and sweep-report.json). `make test` runs a
# seeded sample of it. A run mostly waits (about 0.3 of a core each): SWEEP_WORKERS run side by side.
SWEEP_WORKERS ?= 4
SWEEP_TRACES := .sweep-traces.json
sweep: synth
	python -m local_cloud.sweep record --out $(SWEEP_TRACES)
	SWEEP_TRACES=$(SWEEP_TRACES) pytest -n $(SWEEP_WORKERS) tests/sweep --sweep=whole --sweep-report sweep-report.json

# Records the clean traces the sweep's positions are built on (tests/sweep/traces.json, committed):
# after the handler changes its calls, the sweep's clean tests say so and ask for this.
sweep-traces: synth
	python -m local_cloud.sweep record

demo: synth
	python demo.py

bench: synth
	python -m bench

# Opt-in, against a real account (see tests/live/test_live_aws.py): deploys and destroys the example.
live-test: setup
	pytest -p no:xdist -rs tests/live

# Opt-in, against a real account (see local_cloud/servicecatalog/probe.py): settles the Service
# Catalog emulator's uncertain rules and writes them as a profile (SC_PROBE_OUT, default
# sc-profile.json). Needs SC_PROBE_PRODUCT_ID and SC_PROBE_ARTIFACT_ID (SC_PROBE_PATH_ID,
# SC_PROBE_PARAMETERS="K=V ...", SC_PROBE_FAILING_PARAMETERS optional); skipped without them or credentials.
live-probe: setup
	python -m local_cloud.servicecatalog.probe

clean:
	rm -rf cdk.out dist .pytest_cache .mypy_cache .ruff_cache $(CHECKOV_VENV) $(SWEEP_TRACES) sweep-report.json
