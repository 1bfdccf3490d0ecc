# Lab targets (container tier), included by the top-level Makefile.
#   make lab [METHOD=ssh|master]   base image (cached in .lab/), bridge + nft, boot the hosts
#                                  of lab/pillar/lab.sls (reused when running), one highstate
#   make lab-test                  e2e checks of test/lab/ against a fresh lab (both methods)
#   make lab-status                hosts/PIDs, bridge, nft table, salt-master, last timings
#   make lab-down [PURGE=1]        stop everything by PID; PURGE=1 also drops the hosts' state
#   make lab-ssh H=one-fe1         root shell on a lab host
# Everything runs as root and lives under .lab/ (git-ignored).
METHOD ?= ssh
LABCTL = $(PY) lab/labctl.py
LAB_PYTEST_ARGS ?=

.PHONY: lab lab-down lab-test lab-status lab-ssh lab-apply

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
lab: venv
	$(LABCTL) up --method $(METHOD)

lab-apply: venv
	$(LABCTL) apply --method $(METHOD)

lab-down:
	$(LABCTL) down $(if $(PURGE),--purge)

lab-status:
	$(LABCTL) status

lab-ssh:
	$(LABCTL) ssh $(H)

lab-test: venv
	LAB=1 $(PY) -m pytest test/lab -v -p no:cacheprovider --ignore-glob='test/lab/test_vm_*' $(LAB_PYTEST_ARGS)
endif
