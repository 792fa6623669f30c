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
#include <linux/kvm_types.h>
#include <uapi/linux/kvx.h>

struct kvm;
struct kvm_vcpu;
struct kvm_enable_cap;
struct kvm_memory_slot;
struct kvm_page_fault;
union kvm_cpu_role;

/* kvm.ko: module init of the x86 core (kvm_x86_init). */
void kvx_x86_module_init(void);

/* kvm-intel.ko: vmx_init(), after KVM's VMX setup succeeded. */
void kvx_vmx_module_init(void);

/* kvm-amd.ko: svm_init(), after KVM's SVM setup succeeded. */
void kvx_svm_module_init(void);

/* kvm.ko, x86.c: the default: cases of KVM's ioctl switches. */
int kvx_check_extension(struct kvm *kvm, long ext);
int kvx_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvx_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
int kvx_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
		   void __user *argp);

/* kvm.ko, x86.c: teardown, hypercall and emulator. */
void kvx_views_vcpu_destroy(struct kvm_vcpu *vcpu);
void kvx_destroy_vm(struct kvm *kvm);
#define kvx_views_on(kvm) (!!READ_ONCE((kvm)->arch.kvx))
int kvx_view_hypercall(struct kvm_vcpu *vcpu, unsigned long flags,
		       unsigned long view, int cpl);
bool kvx_view_gpa_hidden(struct kvm_vcpu *vcpu, gpa_t gpa);
bool kvx_gpa_view_only(struct kvm_vcpu *vcpu, gpa_t gpa);
int kvx_window_hypercall(struct kvm_vcpu *vcpu, unsigned long id,
			 unsigned long desc, unsigned long value,
			 unsigned long offset, int cpl);
void kvx_windows_destroy_slot(struct kvm *kvm);
void kvx_window_leave_for_events(struct kvm_vcpu *vcpu);
void kvx_prepare_memory_region(struct kvm *kvm, struct kvm_memory_slot *new);

/* kvm.ko, mmu/mmu.c: roots and faults. */
u16 kvx_role_view(struct kvm_vcpu *vcpu, union kvm_cpu_role cpu_role);
int kvx_mmu_load_views(struct kvm_vcpu *vcpu);
void kvx_mmu_unload_views(struct kvm_vcpu *vcpu);
void kvx_mmu_free_obsolete_views(struct kvm_vcpu *vcpu);
int kvx_mmu_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);
bool kvx_view_denies_write(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);

/* kvm-intel.ko, vmx/vmx.c: VMFUNC for L1. */
bool kvx_vmx_vmfunc_wanted(struct kvm_vcpu *vcpu);
void kvx_vmx_load_eptp_list(struct kvm_vcpu *vcpu, u64 eptp);
void kvx_vmx_sync_view(struct kvm_vcpu *vcpu);
void kvx_vmx_handle_exit(struct kvm_vcpu *vcpu);
u32 kvx_vmx_exception_bitmap(struct kvm_vcpu *vcpu, u32 eb);
bool kvx_vmx_reflect_exception(struct kvm_vcpu *vcpu, u32 intr_info);
typedef int (*kvx_exit_handler_t)(struct kvm_vcpu *vcpu);
void kvx_vmx_hardware_setup(kvx_exit_handler_t handlers[]);

#endif /* ARCH_X86_KVM_KVX_KVX_H */
