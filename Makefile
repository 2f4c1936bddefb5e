# syncfix.entra: the README promises `make test` and `make demo`.
# Every target installs what it needs on a fresh Debian 12 machine, as root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
PIP := $(PY) -m pip
# Sanity tests the collection's own code: what ships plus its unit and integration tests (which
# do not ship, see build_ignore in galaxy.yml). The lab, its tests and the tooling are not
# collection content and are left out.
NOT_COLLECTION := ^(lab|tools|bench|tests/lab|\.ci)/
# An ansible-core older than meta/runtime.yml claims, in a venv of its own: run it before
# widening requires_ansible (it is not part of make test).
OLDEST_CORE := 2.16
OLDEST_NEXT := 2.17
OLDEST_VENV := build/venv-ansible-$(OLDEST_CORE)

.PHONY: test checks-lane directory-lane static-checks venv sanity sanity-2.16 units integration lab-tests lab-tests-offline lab-tests-dc lint changelog changelog-lint build bench lab-up lab-down lab-load lab-sync demo scan clean

# Debian's chromium: the scan's HTML report is opened in a real headless browser
# (tests/integration/test_scan_report_browser.py; Playwright drives this binary, it cannot
# download its own).
$(VENV)/.installed: requirements.txt requirements-dev.txt lab/requirements.txt
	tools/bootstrap-debian.sh chromium
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

# ansible-test wants the collection at ansible_collections/<namespace>/<name>: copy the
# collection's files into a throwaway tree and test it there, with the newest ansible-core
# (.venv) or the oldest claimed ($(OLDEST_VENV), under build/ so it is not copied).
define sanity_with
	$(1)/bin/python tools/ansible_test_offline_pip.py
	tree=$$(mktemp -d); trap 'rm -rf "$$tree"' EXIT; \
	dest="$$tree/ansible_collections/syncfix/entra"; mkdir -p "$$dest"; \
	git ls-files -co --exclude-standard | grep -Ev '$(NOT_COLLECTION)' | while IFS= read -r f; do [ -e "$$f" ] && printf '%s\n' "$$f"; done \
	  | tar -cf - -T - | tar -xf - -C "$$dest"; \
	cd "$$dest" && $(CURDIR)/$(1)/bin/ansible-test sanity --venv --python 3.11 --color no $(2) 2>&1 | tee "$$tree/sanity.log"; \
	echo "sanity ($$($(CURDIR)/$(1)/bin/ansible --version | sed -n 1p)): $$(grep -c '^Running sanity test' "$$tree/sanity.log") passed, 0 failed"
endef

sanity: venv
	$(call sanity_with,$(VENV))

$(OLDEST_VENV)/.installed: $(VENV)/.installed
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet 'ansible-core>=$(OLDEST_CORE),<$(OLDEST_NEXT)'
	touch $@

# 2.16 still runs two Python 2 checks that 2.17 removed; every module here runs on the
# controller, on Python 3.
sanity-2.16: $(OLDEST_VENV)/.installed
	$(call sanity_with,$(OLDEST_VENV),--skip-test future-import-boilerplate --skip-test metaclass-boilerplate)

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
# galaxy.yml is linted too (galaxy[tags], galaxy[no-changelog], galaxy[version-incorrect]).
lint: venv
	mkdir -p build/unit-collections/ansible_collections/syncfix
	ln -sfn $(CURDIR) build/unit-collections/ansible_collections/syncfix/entra
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/unit-collections $(VENV)/bin/ansible-lint --nocolor --offline --profile production galaxy.yml playbooks roles

# CHANGELOG.rst lists the changes of galaxy.yml's version: while it is unreleased,
# antsibull-changelog releases it in a throwaway copy (a release consumes the fragments; the
# repository keeps them until the real release) and the page it writes is copied out.
define changelog_into
	tree=$$(mktemp -d); trap 'rm -rf "$$tree"' EXIT; \
	dest="$$tree/ansible_collections/syncfix/entra"; mkdir -p "$$dest"; \
	cp -r galaxy.yml changelogs meta plugins "$$dest"/; \
	version=$$(sed -n 's/^version: *//p' galaxy.yml); \
	if grep -q "^  $$version:" changelogs/changelog.yaml; then step=generate; else step="release --version $$version"; fi; \
	(cd "$$dest" && $(CURDIR)/$(VENV)/bin/antsibull-changelog $$step --ansible-doc-bin $(CURDIR)/$(VENV)/bin/ansible-doc); \
	cp "$$dest/CHANGELOG.rst" $(1)
endef

changelog: venv
	$(call changelog_into,CHANGELOG.rst)

# A fragment or a plugin description changed without `make changelog` leaves CHANGELOG.rst stale.
changelog-lint: venv
	$(VENV)/bin/antsibull-changelog lint
	mkdir -p build
	$(call changelog_into,build/CHANGELOG.rst.current)
	@diff -u CHANGELOG.rst build/CHANGELOG.rst.current || { echo "changelog-lint: CHANGELOG.rst is stale; run make changelog"; exit 1; }

# Performance figures come from here, printed, never from timed unit tests.
# N: the links of the tenant-scale remediation bench (issue 18); make bench N=10000.
N ?= 1000
bench: venv
	$(PY) bench/graph_transport.py
	$(PY) bench/ad_bulk.py
	$(PY) bench/entra_bulk.py
	$(PY) bench/scan.py
	$(PY) bench/remediation_scale.py --links $(N)

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

# The sync-conflict scan on the built-in lab (playbooks/scan.yml), before and after the first sync.
# It resets the lab's DC: not while a test session uses it.
scan: venv
	$(PY) tools/scan_demo.py

clean:
	rm -rf build
