# syncfix.entra: the README promises `make test` and `make demo`.
# Every target installs what it needs on a fresh Debian 12 machine, as root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
PIP := $(PY) -m pip
# Files that do not ship (see build_ignore in galaxy.yml) are not sanity-tested either.
NOT_SHIPPED := ^(lab|tools|bench|tests/lab|\.ci)/

.PHONY: test checks-lane directory-lane static-checks venv sanity units integration lab-tests lab-tests-offline lab-tests-dc lint changelog-lint build bench lab-up lab-down lab-load lab-sync demo clean

$(VENV)/.installed: requirements.txt requirements-dev.txt lab/requirements.txt
	tools/bootstrap-debian.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Two lanes on two cores: the checks that need no directory (static checks, then the lab's own
# tests that run without the DC) beside the suites that drive the Samba DC. Each lane runs its
# targets in order; --output-sync prints a lane's output once it is done.
test: venv
	@$(MAKE) --no-print-directory -j2 --output-sync=recurse checks-lane directory-lane
	@echo "make test: all suites passed"

checks-lane: venv
	@$(MAKE) --no-print-directory static-checks
	@$(MAKE) --no-print-directory lab-tests-offline

directory-lane: venv
	@$(MAKE) --no-print-directory units
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory lab-tests-dc

static-checks: venv
	@$(MAKE) --no-print-directory sanity
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory changelog-lint

# ansible-test wants the collection at ansible_collections/<namespace>/<name>: copy what ships
# into a throwaway tree and test it there.
sanity: venv
	$(PY) tools/ansible_test_offline_pip.py
	tree=$$(mktemp -d); trap 'rm -rf "$$tree"' EXIT; \
	dest="$$tree/ansible_collections/syncfix/entra"; mkdir -p "$$dest"; \
	git ls-files -co --exclude-standard | grep -Ev '$(NOT_SHIPPED)' | while IFS= read -r f; do [ -e "$$f" ] && printf '%s\n' "$$f"; done \
	  | tar -cf - -T - | tar -xf - -C "$$dest"; \
	cd "$$dest" && $(CURDIR)/$(VENV)/bin/ansible-test sanity --venv --python 3.11 --color no 2>&1 | tee "$$tree/sanity.log"; \
	echo "sanity: $$(grep -c '^Running sanity test' "$$tree/sanity.log") passed, 0 failed"

units: venv
	$(PY) -m pytest tests/unit

# The collection as a user gets it: built, installed into a temporary path, driven by the ansible CLI.
integration: venv
	$(PY) -m pytest -n 2 --dist loadfile tests/integration

lab-tests: lab-tests-offline lab-tests-dc

# The emulator, the simulator and the scenario files: no DC, so they share no state with the
# integration suite and run beside it.
lab-tests-offline: venv
	$(PY) -m pytest tests/lab --ignore=tests/lab/samba_dc

# The DC's own suite takes it exclusively (it stops, restarts and resets it).
lab-tests-dc: venv
	$(PY) -m pytest tests/lab/samba_dc

# ansible-lint must resolve syncfix.entra itself: it finds it through a link to this checkout.
lint: venv
	@if [ -n "$$(find playbooks roles -name '*.yml' 2>/dev/null)" ]; then \
	  mkdir -p build/unit-collections/ansible_collections/syncfix; \
	  ln -sfn $(CURDIR) build/unit-collections/ansible_collections/syncfix/entra; \
	  ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/unit-collections $(VENV)/bin/ansible-lint --nocolor --offline --profile production playbooks roles; \
	else echo "lint: no playbooks or roles yet"; fi

changelog-lint: venv
	$(VENV)/bin/antsibull-changelog lint

# Performance figures come from here, printed, never from timed unit tests.
bench: venv
	$(PY) bench/graph_transport.py
	$(PY) bench/ad_bulk.py
	$(PY) bench/entra_bulk.py

build: venv
	mkdir -p build
	$(VENV)/bin/ansible-galaxy collection build --force --output-path build .

lab-up: venv
	$(PY) -m lab up

lab-down: venv
	$(PY) -m lab down

# make lab-load SCENARIO=lab/scenarios/vp-preprovisioned.yml
lab-load: venv
	@test -n "$(SCENARIO)" || { echo "usage: make lab-load SCENARIO=lab/scenarios/<name>.yml"; exit 2; }
	$(PY) -m lab load $(SCENARIO)

lab-sync: venv
	$(PY) -m lab sync

# The VP story on the built-in lab: the failing sync, the plan in check mode, the fix, no change again.
demo: venv
	$(PY) tools/demo.py

clean:
	rm -rf build
