/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx views: state shared by kvm.ko (views.c) and kvm-intel.ko (views_vmx.c).
 *
 * A view is a TDP MMU root whose kvm_mmu_page_role carries the view index,
 * so every walk over the roots (zaps, MMU notifiers, dirty logging) reaches
 * every view without change.  Documentation/virt/kvx/views.rst has the
 * design and the rules.
 */
#ifndef ARCH_X86_KVM_KVX_VIEWS_H
#define ARCH_X86_KVM_KVX_VIEWS_H

#include <linux/kvm_host.h>
#include <linux/maple_tree.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <uapi/linux/kvx.h>

#include "subpage_tramp.h"

/* Most access ranges one view may hold (maple tree entries). */
#define KVX_VIEW_MAX_RANGES	65536

struct kvx_view {
	/* gfn range -> xa_mk_value(KVX_VIEW_ACCESS_*); RCU readers. */
	struct maple_tree access;
	unsigned long nr_ranges;
};

/*
 * Per vCPU.  Only the vCPU's own thread reads or writes it, except for
 * allocation (vcpu->mutex) and freeing (vCPU destruction).
 *
 * Invariant: the vCPU holds one reference on the root of every view it has
 * loaded.  The active view's is root_mmu.root.hpa, as without views, and
 * root[active] is INVALID_PAGE; the others are in root[].  A switch moves
 * hpa_t values and takes no reference or lock.
 */
struct kvx_view_vcpu {
	/*
	 * The owner.  vcpu_idx is set only once KVM_CREATE_VCPU succeeds, so a
	 * failed creation runs the destroy hooks with index 0: they must not
	 * touch vCPU 0's state.
	 */
	struct kvm_vcpu *vcpu;
	u16 active;
	hpa_t root[KVX_VIEWS_MAX];
	/* Views whose root was loaded since the list was last written. */
	unsigned long new_roots;

	/* VMX with VMFUNC only. */
	u64 *eptp_list;			/* the EPTP_LIST_ADDRESS page */
	u64 eptp[KVX_VIEWS_MAX];	/* EPTP of each view in the list */
	u64 loaded_eptp;		/* EPT_POINTER as last written/read */
	u64 list_gen;			/* kvx_views.gen the list was built at */
	bool list_loaded;		/* EPTP_LIST_ADDRESS written once */
};

struct kvx_views {
	u16 nr_views;
	bool vmfunc;			/* VMFUNC switching on this VM */
	/* Bumped (under lock) whenever what the EPTP lists hold changes. */
	atomic64_t gen;
	unsigned long visible;		/* bit v: the guest may switch to v */
	struct mutex lock;		/* serializes configuration ioctls */
	struct kvx_view view[KVX_VIEWS_MAX];
	/* KVM_SET_USER_MEMORY_REGION slot (as_id << 16 | id) -> view mask. */
	struct xarray slot_views;
	atomic_t nr_slot_views;
	struct kvx_view_vcpu **vcpu;	/* [KVM_MAX_VCPUS], by vcpu_idx */
	/* Sub-page windows (windows.c): NULL until KVX_CAP_WINDOWS. */
	struct kvx_windows *windows;
};

static inline struct kvx_views *kvx_views(struct kvm *kvm)
{
	/* Pairs with the release in kvx_views_enable(). */
	return smp_load_acquire(&kvm->arch.kvx);
}

static inline struct kvx_view_vcpu *kvx_view_vcpu(struct kvm_vcpu *vcpu)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	struct kvx_view_vcpu *vv;

	if (!kv)
		return NULL;
	vv = READ_ONCE(kv->vcpu[vcpu->vcpu_idx]);
	return vv && vv->vcpu == vcpu ? vv : NULL;
}

/* Set by the vendor module at load: what this host can do. */
struct kvx_views_vendor {
	bool vmfunc;		/* VMFUNC EPTP switching usable for L1 */
	bool exec_only;		/* execute-only mappings (EPT) */
	bool root_tagged_tlb;	/* TLB tagged by root (EPT): no flush on switch */
	/* Guest paging-structure accesses are EPT writes (EPT A/D bits on). */
	bool walks_are_writes;
	bool vmmcall;		/* the hypercall instruction is VMMCALL (SVM) */
};

extern struct kvx_views_vendor kvx_vendor;

void kvx_views_set_vendor(const struct kvx_views_vendor *v);

/* Make @view the vCPU's active view (from KVM: ioctl, hypercall, exit). */
void kvx_view_set_active(struct kvm_vcpu *vcpu, u16 view);
/* The CPU switched to @view by itself (VMFUNC); its root is loaded. */
void kvx_view_hw_switched(struct kvm_vcpu *vcpu, u16 view);

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
	/* Bit v: view v serves a window now. */
	unsigned long live_views;
	/* Bit v: view v served a window once (VMFUNC exits, subpage.rst 3.3). */
	unsigned long views;
	struct kvx_window_state __rcu *win[KVX_SUBPAGE_MAX_WINDOWS];
};

/* The VM's windows when they switch by VMFUNC, else NULL. */
static inline struct kvx_windows *kvx_vmfunc_windows(struct kvm *kvm)
{
	struct kvx_views *kv = kvx_views(kvm);
	/* Pairs with the release in kvx_windows_enable(). */
	struct kvx_windows *ws = kv ? smp_load_acquire(&kv->windows) : NULL;

	return ws && ws->mode == KVX_SUBPAGE_MODE_VMFUNC ? ws : NULL;
}

static inline bool kvx_is_window_view(struct kvx_views *kv, u16 view)
{
	/* Pairs with the release in kvx_windows_enable(). */
	struct kvx_windows *ws = smp_load_acquire(&kv->windows);

	return ws && test_bit(view, &ws->live_views);
}

int kvx_windows_enable(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvx_windows_check_extension(struct kvm *kvm);
int kvx_windows_vm_ioctl(struct kvm *kvm, struct kvx_views *kv,
			 unsigned int ioctl, void __user *argp);
void kvx_windows_free(struct kvx_views *kv);
int kvx_window_faultin(struct kvm_vcpu *vcpu, struct kvx_windows *ws,
		       u16 view, struct kvm_page_fault *fault, u8 *deny);
/* kvx_vmx_sync_view(): the vCPU left window view @view at an exit. */
void kvx_window_leave(struct kvm_vcpu *vcpu);

#endif /* ARCH_X86_KVM_KVX_VIEWS_H */
