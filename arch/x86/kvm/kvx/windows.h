/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx sub-page windows (windows.c), a layer on top of views: state shared
 * with the VMX exit code (windows_vmx.c).  Documentation/virt/kvx/subpage.rst
 * has the design.
 */
#ifndef ARCH_X86_KVM_KVX_WINDOWS_H
#define ARCH_X86_KVM_KVX_WINDOWS_H

#include "subpage_tramp.h"
#include "views.h"

/*
 * Sub-page windows on top of views (windows.c; subpage.rst).  A window view
 * serves exactly one window while it exists; KVM owns its configuration.
 */
struct kvx_window_state {
	u16 view;
	u32 slot;			/* as_id << 16 | id */
	gfn_t gfn;
	u32 flags;			/* KVX_WINDOW_F_* */
	/* KVM's copy of the table entry: what the hypercall checks. */
	struct kvx_subpage_tramp_window tw;
};

struct kvx_windows {
	gpa_t tramp_gpa;
	void __user *tramp_hva;		/* the private slot's vm_mmap() */
	u8 mode;			/* KVX_SUBPAGE_MODE_* */
	/* Bit v: view v served a window once (VMFUNC exits, subpage.rst 3.3). */
	unsigned long views;
	/*
	 * Bit vcpu_idx: the vCPU left a window view and kvx_window_fix_rsp()
	 * has not looked yet.
	 */
	DECLARE_BITMAP(left, KVM_MAX_VCPUS);
	struct kvx_window_state __rcu *win[KVX_SUBPAGE_MAX_WINDOWS];
};

/* The VM's windows, NULL until KVX_CAP_WINDOWS. */
static inline struct kvx_windows *kvx_windows(struct kvm *kvm)
{
	struct kvx_views *kv = kvx_views(kvm);

	/* Pairs with the release in kvx_windows_enable(). */
	return kv ? smp_load_acquire(&kv->windows) : NULL;
}

/* The VM's windows when they switch by VMFUNC, else NULL. */
static inline struct kvx_windows *kvx_vmfunc_windows(struct kvm *kvm)
{
	struct kvx_windows *ws = kvx_windows(kvm);

	return ws && ws->mode == KVX_SUBPAGE_MODE_VMFUNC ? ws : NULL;
}

/* Does view @view serve a window now (the views it owns)? */
static inline bool kvx_is_window_view(struct kvx_views *kv, u16 view)
{
	return test_bit(view, &kv->owned_views);
}

/* kvm.ko, windows.c: module init and what main.c dispatches. */
void kvx_windows_init(void);
int kvx_windows_enable(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvx_windows_check_extension(struct kvm *kvm);
int kvx_windows_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
bool kvx_windows_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault,
			 int *ret);
void kvx_windows_destroy_vm(struct kvm *kvm);
/* kvx_vmx_windows_sync(): the vCPU left its window view at an exit. */
void kvx_window_leave(struct kvm_vcpu *vcpu);
/* kvx_vmx_handle_exit(): the trampoline's RSP fix-up, in view 0. */
void kvx_window_fix_rsp(struct kvm_vcpu *vcpu);

/* kvm-intel.ko, windows_vmx.c: after the views', from vmx.c's hooks. */
void kvx_vmx_windows_sync(struct kvm_vcpu *vcpu);
bool kvx_vmx_windows_vmfunc(struct kvm_vcpu *vcpu, u32 function, u32 index);

#endif /* ARCH_X86_KVM_KVX_WINDOWS_H */
