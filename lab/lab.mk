# Lab targets (container tier), included by the top-level Makefile.
#   make lab-check                 what the lab needs on this machine and what is missing
#   make lab [METHOD=ssh|master]   host prerequisites (apt, only what is missing), base image
#                                  (cached in .lab/), bridge + nft, boot the hosts of
#                                  lab/pillar/lab.sls (reused when running), one highstate
#   make lab-test                  e2e checks of test/lab/ against a lab rebuilt from scratch
#   make lab-status                hosts/PIDs, bridge, nft table, salt-master, last timings
#   make lab-down [PURGE=1]        stop everything by PID; PURGE=1 also drops the hosts' state
#   make lab-ssh H=one-fe1 [CMD='crm_mon -1']   root shell on a lab host, or one command
#   make lab-bench [BENCH_ARGS='--runs 3 --failovers 5']   bench/lab_highstate.py: highstate
#                                  vs Salt's floor per apply method, failover drills with
#                                  their timelines (prints figures, asserts nothing)
# Everything runs as root and lives under .lab/ (git-ignored). The code is one package,
# lab/labkit/ (lab/README.md has the map), run as `python -m labkit container|vm CMD`.
METHOD ?= ssh
LABKIT = PYTHONPATH=$(CURDIR)/lab $(PY) -m labkit
LABCTL = $(LABKIT) container
# stdlib only: runs on the system python3 before .venv exists
PREREQS = PYTHONPATH=$(CURDIR)/lab python3 -m labkit.prereqs
LAB_TIER = $(if $(filter $(VARIANT),drbd_aoe_lvm nfs),vm,container)
LAB_PYTEST_ARGS ?=
# lab tests print their progress (highstates, drills) as they go
LAB_PYTEST = $(PY) -m pytest -v -p no:cacheprovider --capture=tee-sys

.PHONY: lab lab-check lab-prereqs lab-down lab-test lab-status lab-ssh lab-apply lab-bench
BENCH_ARGS ?=

lab-check:
	@$(PREREQS) check --tier $(LAB_TIER)

lab-prereqs:
	@$(PREREQS) install --tier $(LAB_TIER)

# `make lab-ssh H=host [CMD='...']`: CMD goes through the environment, quoted as given
define lab_ssh
	@test -n "$(H)" || { echo "usage: make lab-ssh H=<host> [CMD='command']$(if $(VARIANT), VARIANT=$(VARIANT))"; exit 2; }
	$(1) ssh $(H) $${CMD:+-- "$$CMD"}
endef

ifneq ($(filter $(VARIANT),drbd_aoe_lvm nfs),)
# VARIANT=drbd_aoe_lvm|nfs need kernels of their own (DRBD, AoE, kernel NFS, LVM on DRBD):
# the VM tier (lab/vm.mk) serves the same targets.
lab: lab-vm
lab-apply: lab-vm-apply
lab-down: lab-vm-down
lab-status: lab-vm-status
lab-ssh: lab-vm-ssh
lab-test: lab-vm-test
else
lab: lab-prereqs
	@$(MAKE) --no-print-directory venv
	$(LABCTL) up --method $(METHOD)

lab-apply: venv
	$(LABCTL) apply --method $(METHOD)

lab-down:
	$(LABCTL) down $(if $(PURGE),--purge)

lab-status:
	$(LABCTL) status

lab-ssh:
	$(call lab_ssh,$(LABCTL))

lab-test: lab-prereqs
	@$(MAKE) --no-print-directory venv
	@echo "lab-test: rebuilds the lab from scratch (hosts purged, base image kept), applies the formula"
	@echo "lab-test: by salt-ssh and by salt-master and runs the drills (~5 min here); the lab is"
	@echo "lab-test: stopped at the end (LAB_KEEP=1 leaves the tested lab up)"
	LAB=1 $(LAB_PYTEST) test/lab --ignore-glob='test/lab/test_vm_*' $(LAB_PYTEST_ARGS)

lab-bench: lab-prereqs
	@$(MAKE) --no-print-directory venv
	$(PY) bench/lab_highstate.py $(BENCH_ARGS)
endif
