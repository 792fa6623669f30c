# SPDX-License-Identifier: GPL-2.0
#
# kvx: build, check, demo, install.  `make help` lists the targets.

TOP	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD	:= $(TOP)/build
SHELL	:= /bin/bash

# build/kver.mk, written by scripts/deps, names the Debian kernel triple the
# test machines use; it is made (packages installed) on first use.  A build
# for another kernel (KDIR= given, e.g. by DKMS) needs none of that.
NO_DEPS_GOALS := clean help deps
ifeq ($(filter $(NO_DEPS_GOALS),$(MAKECMDGOALS)),)
ifeq ($(origin KDIR),undefined)
-include $(BUILD)/kver.mk
endif
endif

KVX_VERSION := $(shell $(TOP)/scripts/kvx-version)

# KSRC: full kernel source (default: the Debian linux-source package,
# extracted into build/).  KDIR: kernel build tree to build modules against
# (default: the matching Debian headers package).
KSRC_DEFAULT := $(BUILD)/linux-source-6.12
KSRC	?= $(KSRC_DEFAULT)
KDIR	?= /usr/src/linux-headers-$(KVX_ABI)
KVM_OUT	:= $(BUILD)/kvm
KVM_M	:= $(KVM_OUT)/arch/x86/kvm
MVF_M	:= $(BUILD)/kvx-mvf
W	?=
JOBS	?= $(shell nproc)

export KVX_VERSION KSRC KDIR BUILD TOP JOBS

.PHONY: all modules deps kvm mvf source selftests kunit lint check check-qemu \
	check-bochs demo bench install dkms clean help

all: modules

help:
	@echo 'kvx targets:'
	@echo '  make            build kvm.ko, kvm-intel.ko, kvm-amd.ko (patched) and kvx-mvf.ko into build/'
	@echo '  make bench      benchmarks on QEMU and Bochs: exits and guest TSC, as ratios'
	@echo '  make demo       boot Bochs (VMX+EPT+VMFUNC+PML) with kvx and run a guest'
	@echo '  make check      W=1 build + lint + kunit + tests on QEMU and Bochs'
	@echo '  make deps       install Debian packages (as root) and pick the kernel'
	@echo '  make selftests  build upstream KVM selftests and kvx selftests'
	@echo '  make kunit      run kvx KUnit suites under UML'
	@echo '  make lint       checkpatch --strict and sparse on kvx code'
	@echo '  make install    install the modules for the running kernel (KDIR=...)'
	@echo '  make clean      remove build/'
	@echo 'Variables: KSRC= KDIR= KVX_KVER= W= JOBS='

deps:
	$(TOP)/scripts/deps

$(BUILD)/kver.mk:
	$(TOP)/scripts/deps

# The Debian source package, extracted once.
KSRC_TARBALL ?= /usr/src/linux-source-6.12.tar.xz
$(KSRC_DEFAULT)/.extracted: $(KSRC_TARBALL)
	rm -rf $(KSRC_DEFAULT)
	mkdir -p $(BUILD)
	tar -C $(BUILD) -xf $(KSRC_TARBALL)
	touch $@

ifeq ($(KSRC),$(KSRC_DEFAULT))
source: $(KSRC_DEFAULT)/.extracted
else
source:
endif

kvm: source
	$(TOP)/scripts/prepare-kvm $(KSRC) $(KVM_OUT)
	$(MAKE) -C $(KDIR) M=$(KVM_M) $(if $(W),W=$(W)) KVX_VERSION=$(KVX_VERSION) -j$(JOBS) modules

# kvx-mvf, the mediated VF: built from a copy so the tree stays clean.
mvf: $(if $(filter undefined,$(origin KDIR)),$(BUILD)/kver.mk)
	mkdir -p $(MVF_M)/include/uapi/linux $(MVF_M)/include/linux
	rsync -rlp --checksum $(TOP)/drivers/vfio/mdev/kvx-mvf/ $(MVF_M)/
	rsync -rlp --checksum $(TOP)/include/uapi/linux/kvx_mvf.h $(MVF_M)/include/uapi/linux/
	rsync -rlp --checksum $(TOP)/include/linux/kvx_wtrace.h $(MVF_M)/include/linux/
	$(MAKE) -C $(KDIR) M=$(MVF_M) $(if $(W),W=$(W)) -j$(JOBS) modules

modules: kvm mvf

selftests: source
	$(TOP)/scripts/build-selftests

kunit: source
	$(TOP)/scripts/kunit

lint: source
	$(TOP)/scripts/lint

check: source
	$(TOP)/scripts/check

demo: modules selftests
	$(TOP)/scripts/demo

bench: modules selftests
	$(TOP)/scripts/bench

install: modules
	$(MAKE) -C $(KDIR) M=$(KVM_M) INSTALL_MOD_DIR=updates/kvx modules_install
	$(MAKE) -C $(KDIR) M=$(MVF_M) INSTALL_MOD_DIR=updates/kvx modules_install
	depmod -a $$($(MAKE) -s -C $(KDIR) kernelrelease)

clean:
	rm -rf $(BUILD)
