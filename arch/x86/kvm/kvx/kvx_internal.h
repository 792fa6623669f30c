/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx: declarations shared inside arch/x86/kvm/kvx/ that no patch of
 * patches/kvm/ calls (those are in kvx.h).
 */
#ifndef ARCH_X86_KVM_KVX_KVX_INTERNAL_H
#define ARCH_X86_KVM_KVX_KVX_INTERNAL_H

#include "kvx.h"

#ifndef KVX_VERSION
#define KVX_VERSION "unknown"
#endif

/*
 * Each kvx-built module exposes the kvx version it was built from as the
 * read-only parameter kvx_version and in modinfo ("kvx").  Used once per
 * module, by the file that also holds its init hook.
 */
#define KVX_DEFINE_VERSION_PARAM(module)					\
	static char kvx_version[] = KVX_VERSION;				\
	module_param_string(kvx_version, kvx_version, sizeof(kvx_version), 0444); \
	MODULE_PARM_DESC(kvx_version, "kvx version this " module " was built from"); \
	MODULE_INFO(kvx, KVX_VERSION)

/* kvm.ko, uapi_assert.c: compiled for its build-time checks only. */
int kvx_uapi_numbers_unique(unsigned long cap, unsigned long exit,
			    unsigned int nr);

/* kvm.ko: wtrace.c, dispatched by main.c. */
int kvx_wtrace_check_extension(struct kvm *kvm, long ext);
int kvx_wtrace_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvx_wtrace_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
void kvx_wtrace_destroy_vm(struct kvm *kvm);
void kvx_wtrace_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);

#endif /* ARCH_X86_KVM_KVX_KVX_INTERNAL_H */
