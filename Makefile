# opennebula-ha-formula — developer entry points.
#   make test       linters + the whole pytest suite (the one test command; CI runs it)
#   make lab        boot the local lab and apply the formula (see README)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: test venv lint pytest clean

venv: $(VENV)/.done
$(VENV)/.done: requirements-test.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

lint: venv
	$(VENV)/bin/yamllint -s .
	git ls-files -co --exclude-standard -- '*.sls' | xargs -r $(VENV)/bin/salt-lint -x 204
	$(PY) test/lint_pillar_access.py

pytest: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint pytest

clean:
	rm -rf $(VENV) .pytest_cache test/.tmp

# The lab (container tier by default; VARIANT=drbd_aoe_lvm|nfs uses the VM tier): lab/lab.mk
-include lab/lab.mk
-include lab/vm.mk
