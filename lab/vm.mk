# Lab targets, VM tier (QEMU TCG guests): the storage variants whose kernel modules the host
# cannot load (DRBD, AoE, kernel NFS, LVM on DRBD). Included by the top-level Makefile.
#   make lab-vm [VARIANT=drbd_aoe_lvm|nfs]   image (cached in .lab/vm/), netns + bridges + taps,
#                                            boot the VMs of lab/vm/pillar/<variant>/ (reused
#                                            when running), one highstate through salt-ssh
#   make lab-vm-apply                        one more highstate on the running VM lab
#   make lab-vm-test [VARIANT=...]           test/lab/test_vm_<variant>.py against a fresh VM lab
#   make lab-vm-bench [VARIANT=...]          bench/lab_vm_highstate.py (highstates, DRBD sync, failover)
#   make lab-vm-status | lab-vm-ssh H=one-fe1 [CMD='...'] | lab-vm-down [PURGE=1]
#   make lab-vm-image                        build (or confirm cached) the VM image only
# The container tier (lab/lab.mk) stays the default; lab/lab.mk forwards
# `make lab VARIANT=drbd_aoe_lvm|nfs` (and lab-apply, lab-test, ...) here (see lab/vm/README.md).
# Root only; everything lives under .lab/vm/ (git-ignored); the VMs reach nothing outside the
# lab's own network namespace.
LAB_VM_VARIANTS := drbd_aoe_lvm nfs
LAB_VM_VARIANT = $(if $(filter $(VARIANT),$(LAB_VM_VARIANTS)),$(VARIANT),drbd_aoe_lvm)
VMCTL = $(LABKIT) vm
LAB_VM_PYTEST_ARGS ?=

.PHONY: lab-vm lab-vm-apply lab-vm-test lab-vm-bench lab-vm-status lab-vm-ssh lab-vm-down lab-vm-image

lab-vm:
	@$(PREREQS) install --tier vm
	@$(MAKE) --no-print-directory venv
	$(VMCTL) up --variant $(LAB_VM_VARIANT)

lab-vm-image:
	@$(PREREQS) install --tier vm
	@$(MAKE) --no-print-directory venv
	VENV=$(VENV) lab/image/build.sh vm

lab-vm-apply: venv
	$(VMCTL) apply

lab-vm-test:
	@$(PREREQS) install --tier vm
	@$(MAKE) --no-print-directory venv
	@echo "lab-test: rebuilds the $(LAB_VM_VARIANT) VM lab from fresh disks (image kept) and runs its"
	@echo "lab-test: checks and drills; the VMs are stopped at the end (LAB_KEEP=1 leaves them up)"
	LAB=1 VARIANT=$(LAB_VM_VARIANT) $(LAB_PYTEST) test/lab/test_vm_$(LAB_VM_VARIANT).py \
	  $(LAB_VM_PYTEST_ARGS)

lab-vm-bench: venv
	VARIANT=$(LAB_VM_VARIANT) $(PY) bench/lab_vm_highstate.py

lab-vm-status:
	$(VMCTL) status

lab-vm-ssh:
	$(call lab_ssh,$(VMCTL))

lab-vm-down:
	$(VMCTL) down $(if $(PURGE),--purge)
