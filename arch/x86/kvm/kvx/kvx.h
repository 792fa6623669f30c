/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx: hooks called from KVM's own files into arch/x86/kvm/kvx/.
 *
 * Every function declared here is called from exactly one place in a patch
 * of patches/kvm/; the logic lives in this directory.
 */
#ifndef ARCH_X86_KVM_KVX_KVX_H
#define ARCH_X86_KVM_KVX_KVX_H

#include <linux/types.h>

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

/* kvm.ko: module init of the x86 core (kvm_x86_init). */
void kvx_x86_module_init(void);

/* kvm-intel.ko: vmx_init(), after KVM's VMX setup succeeded. */
void kvx_vmx_module_init(void);

/* kvm-amd.ko: svm_init(), after KVM's SVM setup succeeded. */
void kvx_svm_module_init(void);

#endif /* ARCH_X86_KVM_KVX_KVX_H */
