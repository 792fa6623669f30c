/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx: declarations shared inside arch/x86/kvm/kvx/ that no patch of
 * patches/kvm/ calls (those are in kvx.h).
 */
#ifndef ARCH_X86_KVM_KVX_KVX_INTERNAL_H
#define ARCH_X86_KVM_KVX_KVX_INTERNAL_H

#include "kvx.h"

/* kvm.ko, main.c: module init and the trampoline's RSP fix-up. */
void kvx_windows_init(void);
void kvx_window_fix_rsp(struct kvm_vcpu *vcpu);

/* kvm.ko, uapi_assert.c: compiled for its build-time checks only. */
int kvx_uapi_numbers_unique(unsigned long cap, unsigned long exit,
			    unsigned int nr);

/* kvm.ko: views.c and wtrace.c, dispatched by main.c. */
int kvx_views_check_extension(struct kvm *kvm, long ext);
int kvx_views_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvx_views_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
void kvx_views_destroy_vm(struct kvm *kvm);
int kvx_views_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);
int kvx_wtrace_check_extension(struct kvm *kvm, long ext);
int kvx_wtrace_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvx_wtrace_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
void kvx_wtrace_destroy_vm(struct kvm *kvm);
void kvx_wtrace_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);

/* kvm-intel.ko: views_vmx.c, from vmx.c's kvx_vmx_module_init(). */
void kvx_vmx_views_init(void);

#endif /* ARCH_X86_KVM_KVX_KVX_INTERNAL_H */
