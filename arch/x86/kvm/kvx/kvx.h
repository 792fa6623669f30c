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

/* kvm.ko: module init of the x86 core (kvm_x86_init). */
void kvx_x86_module_init(void);

/* kvm-intel.ko: vmx_init(), after KVM's VMX setup succeeded. */
void kvx_vmx_module_init(void);

/* kvm-amd.ko: svm_init(), after KVM's SVM setup succeeded. */
void kvx_svm_module_init(void);

#endif /* ARCH_X86_KVM_KVX_KVX_H */
