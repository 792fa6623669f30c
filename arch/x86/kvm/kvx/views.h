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

struct kvm_page_fault;

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
	/* Bumped whenever what the EPTP lists hold changes: kvx_views_changed(). */
	atomic64_t gen;
	unsigned long visible;		/* bit v: the guest may switch to v */
	struct mutex lock;		/* serializes configuration ioctls */
	struct kvx_view view[KVX_VIEWS_MAX];
	/* KVM_SET_USER_MEMORY_REGION slot (as_id << 16 | id) -> view mask. */
	struct xarray slot_views;
	atomic_t nr_slot_views;
	struct kvx_view_vcpu **vcpu;	/* [KVM_MAX_VCPUS], by vcpu_idx */
	/*
	 * Bit v: a layer on top of views (sub-page windows) owns view v.  Its
	 * configuration is refused to userspace (EBUSY), the guest cannot
	 * switch to it by hypercall, and slots marked KVX_SLOT_OWNED in
	 * slot_views keep the mask that layer gave them.
	 */
	unsigned long owned_views;
	/*
	 * The layer on top, sub-page windows (windows.h): NULL until
	 * KVX_CAP_WINDOWS.  Views only ask whether it is there.
	 */
	struct kvx_windows *windows;
};

/* slot_views mark: the slot's mask belongs to a layer above (windows.c). */
#define KVX_SLOT_OWNED	XA_MARK_0

static inline struct kvx_views *kvx_views(struct kvm *kvm)
{
	/* Pairs with the release in kvx_views_enable(). */
	return smp_load_acquire(&kvm->arch.kvx);
}

/*
 * What the EPTP lists hold changed (visible or owned views): each vCPU
 * rebuilds its list before it enters again.  Under kv->lock, so that the
 * change and the bump are one step to every vCPU.
 */
static inline void kvx_views_changed(struct kvx_views *kv)
{
	lockdep_assert_held(&kv->lock);
	atomic64_inc(&kv->gen);
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

/* kvm.ko, views.c: dispatched by main.c. */
int kvx_views_check_extension(struct kvm *kvm, long ext);
int kvx_views_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap);
int kvx_views_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp);
void kvx_views_destroy_vm(struct kvm *kvm);
int kvx_views_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault);

/* kvm-intel.ko, views_vmx.c: from vmx.c's init and its dispatching hooks. */
void kvx_vmx_views_init(void);
bool kvx_vmx_views_sync(struct kvm_vcpu *vcpu);
bool kvx_vmx_views_vmfunc(struct kvm_vcpu *vcpu, u32 function, u32 index);

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
 * The view the faulting vCPU's MMU serves, or -1 when it is not one of the
 * views' roots (SMM, L2), which run under view 0's policy.
 */
int kvx_views_fault_view(struct kvm_vcpu *vcpu);
bool kvx_slot_in_view(struct kvx_views *kv, const struct kvm_memory_slot *slot,
		      u16 view);
u32 kvx_view_access(struct kvx_views *kv, u16 view, gfn_t gfn);

#endif /* ARCH_X86_KVM_KVX_VIEWS_H */
