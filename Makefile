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
# The modules are described once, in Kbuild; they are built in MOD_M, where
# that file and the directories it names are laid out as in this tree.
MOD_M	:= $(BUILD)/modules
W	?=
JOBS	?= $(shell nproc)

export KVX_VERSION KSRC KDIR BUILD TOP JOBS

# `make kvm` builds kvm.ko, kvm-intel.ko and kvm-amd.ko, `make mvf` kvx-mvf.ko,
# `make kvm mvf` both in one Kbuild run; any other goal builds both.
MOD_GOALS := $(filter kvm mvf,$(MAKECMDGOALS))
KVX_KVM	:= $(if $(MOD_GOALS),$(if $(filter kvm,$(MOD_GOALS)),m,n),m)
KVX_MVF	:= $(if $(MOD_GOALS),$(if $(filter mvf,$(MOD_GOALS)),m,n),m)

.PHONY: all modules deps kvm mvf kbuild source selftests kunit lint check \
	check-qemu check-bochs demo bench install dkms clean help debug-kernel

all: modules

help:
	@echo 'kvx targets:'
	@echo '  make            build kvm.ko, kvm-intel.ko, kvm-amd.ko (patched) and kvx-mvf.ko'
	@echo '                  from Kbuild, in build/modules/ ("make kvm", "make mvf": one half)'
	@echo '  make bench      benchmarks on QEMU and Bochs: exits and guest TSC, as ratios'
	@echo '  make demo       boot Bochs (VMX+EPT+VMFUNC+PML) with kvx and run a guest'
	@echo '  make check      W=1 build + lint + kunit + tests on QEMU and Bochs, on'
	@echo '                  Debian'"'"'s kernel and the debug kernel (KVX_CHECK_DEBUG=0: not)'
	@echo '  make debug-kernel  lockdep/KASAN/UBSAN kernel + kvx modules in build/debug-kernel/'
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

modules kvm mvf: kbuild
	@:

# Lay out Kbuild and its directories in MOD_M (KVM's by prepare-kvm, the
# rest copied; rsync --checksum keeps unchanged files' timestamps), then
# build there: the source tree stays clean.
kbuild: $(if $(filter m,$(KVX_KVM)),source)
	mkdir -p $(MOD_M)/drivers/vfio/mdev $(MOD_M)/include/uapi/linux $(MOD_M)/include/linux
	rsync -rlp --checksum $(TOP)/Kbuild $(MOD_M)/
ifeq ($(KVX_KVM),m)
	$(TOP)/scripts/prepare-kvm $(KSRC) $(MOD_M)
endif
ifeq ($(KVX_MVF),m)
	rsync -rlp --checksum $(TOP)/drivers/vfio/mdev/kvx-mvf $(MOD_M)/drivers/vfio/mdev/
	rsync -rlp --checksum $(TOP)/include/uapi/linux/kvx_mvf.h $(MOD_M)/include/uapi/linux/
	rsync -rlp --checksum $(TOP)/include/linux/kvx_wtrace.h $(MOD_M)/include/linux/
endif
	$(MAKE) -C $(KDIR) M=$(MOD_M) KVX_KVM=$(KVX_KVM) KVX_MVF=$(KVX_MVF) $(if $(W),W=$(W)) \
		KVX_VERSION=$(KVX_VERSION) -j$(JOBS) modules

selftests: source
	$(TOP)/scripts/build-selftests

kunit: source
	$(TOP)/scripts/kunit

lint: source
	$(TOP)/scripts/lint

check: source
	$(TOP)/scripts/check

# Lockdep, KASAN, UBSAN, KVM_PROVE_MMU (scripts/debug.config); vmtest
# --kernel build/debug-kernel boots it.
debug-kernel: source
	$(TOP)/scripts/debug-kernel

demo: modules selftests
	$(TOP)/scripts/demo

bench: modules selftests
	$(TOP)/scripts/bench

# Into /lib/modules/<ver>/updates/kvx/ (INSTALL_MOD_PATH= prefixes it).
install: modules
	$(MAKE) -C $(KDIR) M=$(MOD_M) INSTALL_MOD_DIR=updates/kvx modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a \
		$$($(MAKE) -s --no-print-directory -C $(KDIR) kernelrelease)

clean:
	rm -rf $(BUILD)
