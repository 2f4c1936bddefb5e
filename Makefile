# syncfix.entra — the two commands the README promises are `make test` and `make demo`.
# Every target installs what it needs on a fresh Debian 12 machine as root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
COLLECTION_ROOT := build/ansible_collections/syncfix/entra

.PHONY: test venv sanity units lab-tests lint changelog-lint build lab-up lab-down demo clean

# The marker file is refreshed whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt lab/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

test: venv
	@$(MAKE) --no-print-directory sanity units lab-tests lint changelog-lint

units: venv
	$(PY) -m pytest tests/unit

lab-tests: venv
	$(PY) -m pytest tests/lab

lab-up: venv
	$(PY) -m lab up

lab-down: venv
	$(PY) -m lab down

demo:
	@echo "make demo arrives with the remediation role (see README)"; exit 1
