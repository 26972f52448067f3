# mptcp.linux test harness. `make test` runs every layer, fastest first;
# docs/testing.md says what each target needs and how long it takes.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Layers run one after the other even under -j: the first failure stops `test`.
.NOTPARALLEL:

VENV ?= $(CURDIR)/.venv
STAMP := $(VENV)/.requirements.sha256
COLLECTIONS := $(CURDIR)/.build/collections
# The working tree, importable as ansible_collections.mptcp.linux.
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/mptcp/linux

export VENV
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
ifdef CI
# Plain logs on CI.
export ANSIBLE_NOCOLOR := 1
export NO_COLOR := 1
export PY_COLORS := 0
endif

PYTEST_ARGS ?=
# The namespace tests are independent: one pytest-xdist worker per core.
INTEGRATION_WORKERS ?= auto

# $(call pytest,DIR[,ARGS]): run pytest on DIR; a layer with no tests yet passes.
define pytest
if [[ ! -d $(1) ]]; then echo "make: no $(1) yet"; exit 0; fi; \
rc=0; PYTHONPATH=$(COLLECTIONS)$${PYTHONPATH:+:$$PYTHONPATH} \
    pytest -ra $(2) $(PYTEST_ARGS) $(1) || rc=$$?; \
if [[ $$rc == 5 ]]; then echo "make: pytest collected no tests in $(1)"; rc=0; fi; \
exit $$rc
endef

.PHONY: help venv collection unit integration lint sanity sanity-newest build docs lab molecule test clean

help:
	@echo "make venv         install the tests' Debian packages and .venv (tools/bootstrap)"
	@echo "make unit         pytest tests/unit (no root)"
	@echo "make integration  pytest tests/integration (root: network namespaces)"
	@echo "make lint         ansible-lint (production), changelog and shell lint, role READMEs up to date,"
	@echo "                  at most 5 lines of Jinja and no loop per role variable (tools/role_jinja.py)"
	@echo "make sanity       ansible-test sanity on a copy of the tree (tools/sanity)"
	@echo "make sanity-newest  the same under the newest supported ansible-core (tools/sanity-matrix --newest)"
	@echo "make build        build the collection, install it, ansible-doc each module"
	@echo "make docs         the HTML docsite, offline, warnings as errors: modules, roles, filters and"
	@echo "                  the guides (tools/docs; .build/docs/html/index.html)"
	@echo "make lab          the netns lab (lab/run; root); installs only what it needs (tools/bootstrap --lab)"
	@echo "make molecule     Molecule scenarios in QEMU VMs, one per VM slot at a time (tools/molecule-all; root);"
	@echo "                  SCENARIOS=\"pair host\" runs some (default: every molecule/*/molecule.yml)"
	@echo "make test         venv, then unit, lint, sanity and sanity-newest side by side, build and docs side by side, integration, molecule"
	@echo "                  (tools/test-all: guest images built in the background, a table of layer times at the end)"
	@echo "make collection   link .build/collections/ansible_collections/mptcp/linux to the tree"
	@echo "make clean        remove .build, tests/output and the test caches"

venv:
	tools/bootstrap

$(STAMP): tests/requirements.txt tools/bootstrap
	tools/bootstrap
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(@D)
	ln -sfn ../../../.. $@

collection: | $(COLLECTION_LINK)

unit: $(STAMP) | $(COLLECTION_LINK)
	@$(call pytest,tests/unit)

integration: $(STAMP) | $(COLLECTION_LINK)
	@if [[ $$(id -u) != 0 ]]; then \
	    echo "make integration: needs root (it creates network namespaces)" >&2; exit 1; fi
	@$(call pytest,tests/integration,-n $(INTEGRATION_WORKERS) --dist worksteal --durations=30)

lint: $(STAMP) | $(COLLECTION_LINK)
	ansible-lint
	antsibull-changelog lint
	antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	shellcheck tools/bootstrap tools/sanity tools/sanity-matrix tools/build tools/docs tools/galaxy-importer tools/role-docs tools/test-all .ci/run tools/molecule tools/molecule-all tools/vm/build-image tools/footprint lab/run
	tools/role-docs --check
	python tools/role_jinja.py

sanity: $(STAMP)
	tools/sanity

sanity-newest: $(STAMP)
	tools/sanity-matrix --newest

build: $(STAMP)
	tools/build

docs: $(STAMP) | $(COLLECTION_LINK)
	tools/docs

# Only the lab's packages and Python tools (no daemon, no VM tools): a
# newcomer's `make lab` installs no service (docs/lab.md#what-make-lab-installs).
lab: | $(COLLECTION_LINK)
	@tools/bootstrap --lab
	lab/run

# Every scenario runs even when one fails; the summary names the failures.
SCENARIOS ?= $(patsubst molecule/%/molecule.yml,%,$(sort $(wildcard molecule/*/molecule.yml)))

molecule: $(STAMP) | $(COLLECTION_LINK)
	tools/molecule-all $(SCENARIOS)

test: venv
	tools/test-all

clean:
	rm -rf .build tests/output .pytest_cache .hypothesis
