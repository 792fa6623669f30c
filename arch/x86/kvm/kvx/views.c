// SPDX-License-Identifier: GPL-2.0
/*
 * kvx views, linked into kvm.ko: per-VM alternate TDP views, their uAPI,
 * the fault-path policy and the switching the guest asks for.
 *
 * Documentation/virt/kvx/views.rst is the design; api.rst the uAPI.
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/kvm_host.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>

#include "kvx_internal.h"
#include "views.h"
#include "uapi_check.h"
#include "../mmu.h"
#include "../mmu/mmu_internal.h"
#include "../mmu/spte.h"
#include "../mmu/tdp_mmu.h"
#include "../smm.h"
#include "../x86.h"

static_assert(KVX_VIEWS_MAX <= 1 << 5, "role.view has 5 bits");
static_assert(KVX_VIEWS_MAX <= BITS_PER_LONG);
static_assert(sizeof(struct kvx_view_fault) <=
	      sizeof(((struct kvm_run *)0)->padding));

struct kvx_views_vendor kvx_vendor;

void kvx_views_set_vendor(const struct kvx_views_vendor *v)
{
	kvx_vendor = *v;
	/*
	 * Hyper-V's remote TLB flushes are per root and views do not track
	 * them: no VMFUNC, and a switch flushes the new root's TLB entries.
	 * The hook exists only in kernels built with Hyper-V guest support.
	 */
#if IS_ENABLED(CONFIG_HYPERV)
	if (kvm_x86_ops.flush_remote_tlbs) {
		kvx_vendor.vmfunc = false;
		kvx_vendor.root_tagged_tlb = false;
	}
#endif
}
EXPORT_SYMBOL_GPL(kvx_views_set_vendor);

static bool kvx_views_usable(struct kvm *kvm)
{
	return tdp_enabled && tdp_mmu_enabled &&
	       (!kvm || kvm->arch.vm_type == KVM_X86_DEFAULT_VM);
}

int kvx_views_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVX_CAP_VIEWS:
		return kvx_views_usable(kvm) ? KVX_VIEWS_MAX : 0;
	case KVX_CAP_VIEWS_VMFUNC:
		return kvx_views_usable(kvm) && kvx_vendor.vmfunc;
	default:
		return 0;
	}
}

/* ---- per-VM state ---- */

static void kvx_views_free(struct kvx_views *kv)
{
	int v;

	for (v = 0; v < KVX_VIEWS_MAX; v++)
		mtree_destroy(&kv->view[v].access);
	xa_destroy(&kv->slot_views);
	kvfree(kv->vcpu);
	kfree(kv);
}

static int kvx_views_enable(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	struct kvx_views *kv;
	u64 n = cap->args[0];
	int v, r;

	if (cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	if (n && (n < 2 || n > KVX_VIEWS_MAX))
		return -EINVAL;
	if (!kvx_views_usable(kvm))
		return -EOPNOTSUPP;

	kv = NULL;
	if (n) {
		kv = kzalloc(sizeof(*kv), GFP_KERNEL_ACCOUNT);
		if (!kv)
			return -ENOMEM;
		kv->vcpu = kvcalloc(KVM_MAX_VCPUS, sizeof(*kv->vcpu),
				    GFP_KERNEL_ACCOUNT);
		if (!kv->vcpu) {
			kfree(kv);
			return -ENOMEM;
		}
		kv->nr_views = n;
		kv->vmfunc = kvx_vendor.vmfunc;
		kv->visible = GENMASK(n - 1, 0);
		mutex_init(&kv->lock);
		xa_init(&kv->slot_views);
		for (v = 0; v < KVX_VIEWS_MAX; v++)
			mt_init_flags(&kv->view[v].access, MT_FLAGS_USE_RCU);
	}

	mutex_lock(&kvm->lock);
	r = -EBUSY;
	if (kvm->created_vcpus)
		goto out;
	if (!n) {
		/*
		 * Windows own a memslot, and hidden slots are view-only in
		 * KVM's memslots: both stay until the VM goes.
		 */
		kv = kvm->arch.kvx;
		if (kv && (kv->windows || atomic_read(&kv->nr_slot_views))) {
			kv = NULL;
			goto out;
		}
		/* Off again before any vCPU ran: nothing refers to it. */
		kvm->arch.kvx = NULL;
		r = 0;
		goto out;
	}
	if (kvm->arch.kvx)
		goto out;
	/* Pairs with kvx_views(): the state is complete before it is seen. */
	smp_store_release(&kvm->arch.kvx, kv);
	kv = NULL;
	r = 0;
out:
	mutex_unlock(&kvm->lock);
	if (kv)
		kvx_views_free(kv);
	return r;
}

int kvx_views_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	if (cap->cap == KVX_CAP_VIEWS)
		return kvx_views_enable(kvm, cap);
	return -EINVAL;
}

void kvx_views_destroy_vm(struct kvm *kvm)
{
	struct kvx_views *kv = kvm->arch.kvx;

	if (!kv)
		return;
	kvm->arch.kvx = NULL;
	kvx_views_free(kv);
}

/* ---- per-vCPU state ---- */

static struct kvx_view_vcpu *kvx_view_vcpu_get(struct kvm_vcpu *vcpu,
					       struct kvx_views *kv)
{
	struct kvx_view_vcpu *vv = kv->vcpu[vcpu->vcpu_idx];
	int v;

	if (vv)
		return vv->vcpu == vcpu ? vv : NULL;
	vv = kzalloc(sizeof(*vv), GFP_KERNEL_ACCOUNT);
	if (!vv)
		return NULL;
	if (kv->vmfunc) {
		vv->eptp_list = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!vv->eptp_list) {
			kfree(vv);
			return NULL;
		}
	}
	for (v = 0; v < KVX_VIEWS_MAX; v++)
		vv->root[v] = INVALID_PAGE;
	vv->vcpu = vcpu;
	vv->list_gen = -1ULL;
	WRITE_ONCE(kv->vcpu[vcpu->vcpu_idx], vv);
	return vv;
}

void kvx_views_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	struct kvx_view_vcpu *vv;
	int v;

	if (!kv)
		return;
	vv = kv->vcpu[vcpu->vcpu_idx];
	if (!vv || vv->vcpu != vcpu)
		return;
	/* kvm_mmu_destroy() ran kvm_mmu_unload(), which put the roots. */
	for (v = 0; v < KVX_VIEWS_MAX; v++)
		WARN_ON_ONCE(VALID_PAGE(vv->root[v]));
	WRITE_ONCE(kv->vcpu[vcpu->vcpu_idx], NULL);
	free_page((unsigned long)vv->eptp_list);
	kfree(vv);
}

/* The view the vCPU's TDP root serves: 0 in SMM and in guest mode. */
u16 kvx_role_view(struct kvm_vcpu *vcpu, union kvm_cpu_role cpu_role)
{
	struct kvx_view_vcpu *vv;

	if (cpu_role.base.smm || cpu_role.base.guest_mode)
		return 0;
	vv = kvx_view_vcpu(vcpu);
	return vv ? vv->active : 0;
}

/* Is the vCPU on the MMU whose roots are views (L1, not in SMM)? */
static bool kvx_views_mmu(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu *mmu = vcpu->arch.mmu;

	return mmu == &vcpu->arch.root_mmu && mmu->root_role.direct &&
	       !mmu->root_role.smm && !mmu->root_role.guest_mode;
}

struct kvx_view_root_iter {
	struct kvm_vcpu *vcpu;
	struct kvx_view_vcpu *vv;
	int v;
};

/* The next view whose root the vCPU holds into *@v; mmu_lock held. */
static bool kvx_view_root_next(struct kvx_view_root_iter *it, int *v)
{
	lockdep_assert_held(&it->vcpu->kvm->mmu_lock);
	while (++it->v < KVX_VIEWS_MAX) {
		if (VALID_PAGE(it->vv->root[it->v])) {
			*v = it->v;
			return true;
		}
	}
	return false;
}

/*
 * Each view @_v whose root the vCPU holds, but the active one (whose root
 * is root_mmu.root.hpa), with mmu_lock held: roots are put only under it.
 */
#define kvx_for_each_view_root(_vcpu, _vv, _v)				\
	for (struct kvx_view_root_iter __it = {				\
		.vcpu = (_vcpu), .vv = (_vv), .v = -1 };		\
	     kvx_view_root_next(&__it, &(_v));)

/* Drop the vCPU's reference on view @v's root (not the active view). */
static void kvx_view_put_root(struct kvm_vcpu *vcpu, struct kvx_view_vcpu *vv,
			      int v)
{
	struct kvm_mmu_page *sp = root_to_sp(vv->root[v]);

	lockdep_assert_held(&vcpu->kvm->mmu_lock);
	kvm_tdp_mmu_put_root(vcpu->kvm, sp);
	vv->root[v] = INVALID_PAGE;
	/* The CPU must not switch to a root the vCPU no longer holds. */
	if (vv->eptp_list) {
		WRITE_ONCE(vv->eptp_list[v], 0);
		vv->eptp[v] = 0;
	}
}

/*
 * kvm_mmu_load(), after the active view's root: with VMFUNC, load the roots
 * of the other visible views too, so that the EPTP list has them all and the
 * guest switches without exits.  Best effort: the active root is installed
 * already, so this must not fail kvm_mmu_load(); a view left out of the list
 * is loaded by the VMFUNC exit its first use causes.
 */
int kvx_mmu_load_views(struct kvm_vcpu *vcpu)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	union kvm_mmu_page_role role;
	struct kvx_view_vcpu *vv;
	struct kvm_mmu_page *sp;
	int v, r;

	if (!kv || !kvx_views_mmu(vcpu))
		return 0;
	vv = kvx_view_vcpu_get(vcpu, kv);
	if (!vv || !kv->vmfunc)
		return 0;

	role = vcpu->arch.mmu->root_role;
	for (v = 0; v < kv->nr_views; v++) {
		if (v == vv->active || VALID_PAGE(vv->root[v]) ||
		    !test_bit(v, &kv->visible))
			continue;
		r = kvm_mmu_topup_memory_cache(&vcpu->arch.mmu_shadow_page_cache,
					       1);
		if (!r)
			r = kvm_mmu_topup_memory_cache(&vcpu->arch.mmu_page_header_cache,
						       1);
		if (r)
			break;
		role.view = v;
		sp = kvm_tdp_mmu_get_root_for_role(vcpu, role);
		vv->root[v] = __pa(sp->spt);
		__set_bit(v, &vv->new_roots);
	}
	/* Rebuild the list on the next vmx_load_mmu_pgd(). */
	vv->list_gen = -1ULL;
	return 0;
}

/* kvm_mmu_unload(): put every view root but the active one. */
void kvx_mmu_unload_views(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv = kvx_view_vcpu(vcpu);
	int v;

	if (!vv)
		return;
	read_lock(&vcpu->kvm->mmu_lock);
	kvx_for_each_view_root(vcpu, vv, v)
		kvx_view_put_root(vcpu, vv, v);
	read_unlock(&vcpu->kvm->mmu_lock);
	vv->list_gen = -1ULL;
}

static bool kvx_view_root_obsolete(struct kvx_view_vcpu *vv, int v)
{
	return VALID_PAGE(vv->root[v]) && root_to_sp(vv->root[v])->role.invalid;
}

/* kvm_mmu_free_obsolete_roots(): put view roots that were invalidated. */
void kvx_mmu_free_obsolete_views(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv = kvx_view_vcpu(vcpu);
	int v;

	if (!vv)
		return;
	/* A look without the lock first: only this vCPU writes vv->root[]. */
	for (v = 0; v < KVX_VIEWS_MAX; v++) {
		if (kvx_view_root_obsolete(vv, v))
			break;
	}
	if (v == KVX_VIEWS_MAX)
		return;

	read_lock(&vcpu->kvm->mmu_lock);
	kvx_for_each_view_root(vcpu, vv, v) {
		if (kvx_view_root_obsolete(vv, v))
			kvx_view_put_root(vcpu, vv, v);
	}
	read_unlock(&vcpu->kvm->mmu_lock);
	vv->list_gen = -1ULL;
}

/* ---- switching ---- */

static void kvx_view_move(struct kvm_vcpu *vcpu, struct kvx_view_vcpu *vv,
			  u16 view)
{
	struct kvm_mmu *mmu = &vcpu->arch.root_mmu;

	vv->root[vv->active] = mmu->root.hpa;
	mmu->root.hpa = vv->root[view];
	vv->root[view] = INVALID_PAGE;
	vv->active = view;
	mmu->root_role.view = view;
	vcpu_clear_mmio_info(vcpu, MMIO_GVA_ANY);
	++vcpu->stat.kvx_view_switches;
}

void kvx_view_set_active(struct kvm_vcpu *vcpu, u16 view)
{
	struct kvx_view_vcpu *vv = kvx_view_vcpu(vcpu);

	if (WARN_ON_ONCE(!vv) || view == vv->active)
		return;
	kvx_view_move(vcpu, vv, view);
	/*
	 * A loaded root only needs the CPU pointed at it; an unloaded one is
	 * loaded (and flushed) by kvm_mmu_reload() before the next entry.
	 */
	if (VALID_PAGE(vcpu->arch.root_mmu.root.hpa)) {
		kvm_make_request(KVM_REQ_LOAD_MMU_PGD, vcpu);
		if (!kvx_vendor.root_tagged_tlb)
			kvm_make_request(KVM_REQ_TLB_FLUSH_CURRENT, vcpu);
	}
}
EXPORT_SYMBOL_GPL(kvx_view_set_active);

void kvx_view_hw_switched(struct kvm_vcpu *vcpu, u16 view)
{
	struct kvx_view_vcpu *vv = kvx_view_vcpu(vcpu);

	if (vv && view != vv->active)
		kvx_view_move(vcpu, vv, view);
}
EXPORT_SYMBOL_GPL(kvx_view_hw_switched);

int kvx_view_hypercall(struct kvm_vcpu *vcpu, unsigned long flags,
		       unsigned long view, int cpl)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	unsigned long ret = 0;

	++vcpu->stat.hypercalls;
	++vcpu->stat.kvx_view_hypercalls;
	if (cpl) {
		ret = -KVM_EPERM;
	} else if (flags) {
		ret = -KVM_EINVAL;
	} else if (view >= kv->nr_views || !test_bit(view, &kv->visible) ||
		   test_bit(view, &kv->owned_views) ||
		   is_guest_mode(vcpu) || is_smm(vcpu) ||
		   !kvx_view_vcpu_get(vcpu, kv)) {
		kvm_queue_exception(vcpu, UD_VECTOR);
		return 1;
	}
	if (!ret)
		kvx_view_set_active(vcpu, view);
	kvm_rax_write(vcpu, ret);
	return kvm_skip_emulated_instruction(vcpu);
}

/* ---- fault path ---- */

bool kvx_slot_in_view(struct kvx_views *kv, const struct kvm_memory_slot *slot,
		      u16 view)
{
	void *e;

	if (!atomic_read(&kv->nr_slot_views))
		return true;
	e = xa_load(&kv->slot_views, (u32)slot->as_id << 16 | slot->id);
	return !e || (xa_to_value(e) & BIT(view));
}

u32 kvx_view_access(struct kvx_views *kv, u16 view, gfn_t gfn)
{
	void *e = mtree_load(&kv->view[view].access, gfn);

	if (!e && view)
		e = mtree_load(&kv->view[0].access, gfn);
	return e ? xa_to_value(e) : KVX_VIEW_ACCESS_RWX;
}

/* Does one entry (or one gap) of @mt cover [first, last]? */
static bool kvx_tree_uniform(struct maple_tree *mt, unsigned long first,
			     unsigned long last)
{
	MA_STATE(mas, mt, first, first);
	bool ret;

	if (mtree_empty(mt))
		return true;
	rcu_read_lock();
	mas_walk(&mas);
	ret = mas.index <= first && mas.last >= last;
	rcu_read_unlock();
	return ret;
}

/* Lower @fault->max_level until the view's access is uniform across it. */
static void kvx_view_clamp_level(struct kvx_views *kv, u16 view,
				 struct kvm_page_fault *fault)
{
	while (fault->max_level > PG_LEVEL_4K) {
		unsigned long pages = KVM_PAGES_PER_HPAGE(fault->max_level);
		unsigned long first = fault->gfn & ~(pages - 1);
		unsigned long last = first + pages - 1;

		if (kvx_tree_uniform(&kv->view[view].access, first, last) &&
		    (!view || kvx_tree_uniform(&kv->view[0].access, first, last)))
			return;
		fault->max_level--;
	}
}

static int kvx_view_fault_exit(struct kvm_vcpu *vcpu,
			       struct kvm_page_fault *fault, u16 view,
			       u32 access, u32 allowed, u64 flags)
{
	struct kvx_view_fault *f = kvx_run_view_fault(vcpu->run);

	memset(f, 0, sizeof(*f));
	f->flags = flags;
	f->gpa = fault->addr;
	f->access = access;
	f->allowed = allowed;
	f->view = view;
	vcpu->run->exit_reason = KVX_EXIT_VIEW_FAULT;
	++vcpu->stat.kvx_view_faults;
	return -EFAULT;
}

int kvx_views_fault_view(struct kvm_vcpu *vcpu)
{
	if (!kvx_views_mmu(vcpu))
		return -1;
	return root_to_sp(vcpu->arch.mmu->root.hpa)->role.view;
}

/*
 * kvm_faultin_pfn(), right after the mmu_seq snapshot (after the windows'
 * hook, main.c): apply the faulting
 * view's policy.  Runs before the pfn is looked up, so a configuration
 * change that races with the fault either zaps what the fault installs or
 * makes it stale (is_page_fault_stale()).
 */
int kvx_views_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	u32 need, allowed;
	u8 deny = 0;
	int view;

	if (likely(!kv))
		return RET_PF_CONTINUE;
	/*
	 * SMM and L2 (nested) run under view 0's policy (views.rst 2.7):
	 * they are not a way around it.
	 */
	view = kvx_views_fault_view(vcpu);
	if (view < 0)
		view = 0;

	if (fault->slot && !kvx_slot_in_view(kv, fault->slot, view)) {
		/*
		 * Not in this view: data accesses are emulated as MMIO (the
		 * emulator sees the GPA as MMIO too); fetches and guest page
		 * walks cannot be emulated without reading the page.
		 */
		if (fault->prefetch)
			return RET_PF_SPURIOUS;
		if (fault->exec || (fault->error_code & PFERR_GUEST_PAGE_MASK))
			return kvx_view_fault_exit(vcpu, fault, view,
						   fault->exec ? KVX_VIEW_ACCESS_EXEC :
						   KVX_VIEW_ACCESS_READ, 0,
						   KVX_VIEW_FAULT_HIDDEN);
		/*
		 * As KVM does for a GPA without a slot: an instruction the
		 * emulator cannot run then exits to the VMM rather than being
		 * retried in the guest forever.
		 */
		if (vcpu->arch.mmu->root_role.direct)
			vcpu_cache_mmio_info(vcpu, 0, fault->gfn, ACC_ALL);
		return RET_PF_EMULATE;
	}

	allowed = kvx_view_access(kv, view, fault->gfn);
	need = fault->exec ? KVX_VIEW_ACCESS_EXEC :
	       fault->write ? KVX_VIEW_ACCESS_WRITE : KVX_VIEW_ACCESS_READ;
	if (!(allowed & need)) {
		if (fault->prefetch)
			return RET_PF_SPURIOUS;
		return kvx_view_fault_exit(vcpu, fault, view, need, allowed, 0);
	}
	/*
	 * Shadow pages (L2 on nested EPT/NPT) do not take kvx_acc_deny: a
	 * GFN view 0 restricts is never mapped there, every access exits.
	 */
	if (!vcpu->arch.mmu->root_role.direct &&
	    allowed != KVX_VIEW_ACCESS_RWX) {
		if (fault->prefetch)
			return RET_PF_SPURIOUS;
		return kvx_view_fault_exit(vcpu, fault, view, need, allowed, 0);
	}

	if (!(allowed & KVX_VIEW_ACCESS_WRITE))
		deny |= ACC_WRITE_MASK;
	if (!(allowed & KVX_VIEW_ACCESS_EXEC))
		deny |= ACC_EXEC_MASK;
	if (!(allowed & KVX_VIEW_ACCESS_READ))
		deny |= ACC_USER_MASK;	/* execute-only: EPT R bit */
	fault->kvx_acc_deny = deny;
	if (!(allowed & KVX_VIEW_ACCESS_READ))
		fault->max_level = PG_LEVEL_4K;
	else
		kvx_view_clamp_level(kv, view, fault);
	return RET_PF_CONTINUE;
}

/*
 * page_fault_handle_page_track(): a write-tracked GFN would have its write
 * emulated; a write the view denies must reach kvx_views_faultin() instead.
 */
bool kvx_view_denies_write(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	u16 view;

	if (likely(!kv))
		return false;
	view = kvx_views_mmu(vcpu) ?
	       root_to_sp(vcpu->arch.mmu->root.hpa)->role.view : 0;
	return !(kvx_view_access(kv, view, fault->gfn) & KVX_VIEW_ACCESS_WRITE);
}

/* The emulator: is @gpa in a memslot the vCPU's current view hides? */
bool kvx_view_gpa_hidden(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	struct kvx_views *kv = kvx_views(vcpu->kvm);
	struct kvm_memory_slot *slot;
	u16 view;

	if (likely(!kv) || !atomic_read(&kv->nr_slot_views))
		return false;
	slot = kvm_vcpu_gfn_to_memslot(vcpu, gpa_to_gfn(gpa));
	if (!slot)
		return false;
	view = is_smm(vcpu) || is_guest_mode(vcpu) ? 0 :
	       vcpu->arch.root_mmu.root_role.view;
	return !kvx_slot_in_view(kv, slot, view);
}

/*
 * The emulator's guest accesses (read_std/write_std): did @gpa fail because
 * it is view-only?  Then the instruction is refused (an emulation failure
 * exits to the VMM) instead of being retried forever.
 */
bool kvx_gpa_view_only(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	struct kvm_memory_slot *slot;

	if (likely(!kvx_views_on(vcpu->kvm)))
		return false;
	slot = kvm_vcpu_gfn_to_memslot(vcpu, gpa_to_gfn(gpa));
	return slot && (slot->flags & KVX_MEMSLOT_VIEW_ONLY);
}

/* ---- VM ioctls ---- */

static unsigned long kvx_tree_count(struct maple_tree *mt)
{
	unsigned long index = 0, n = 0;
	void *e;

	mt_for_each(mt, e, index, ULONG_MAX)
		n++;
	return n;
}

/*
 * Would a gap at [first, last] cut one entry of view @view's tree in two?
 * kv->lock keeps the tree as it is until the store.
 */
static bool kvx_view_splits(struct kvx_views *kv, u16 view,
			    unsigned long first, unsigned long last)
{
	MA_STATE(mas, &kv->view[view].access, first, first);
	bool ret;

	lockdep_assert_held(&kv->lock);
	rcu_read_lock();
	ret = mas_walk(&mas) && mas.index < first && mas.last > last;
	rcu_read_unlock();
	return ret;
}

static int kvx_set_view_access(struct kvm *kvm, struct kvx_views *kv,
			       void __user *argp)
{
	struct kvx_view_access a;
	struct kvx_view *view;
	void *entry;
	int r;

	/* kv lives while kvm->lock is held (kvx_views_vm_ioctl()). */
	lockdep_assert_held(&kvm->lock);

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.pad || a.flags || !kvx_mem_is_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	if (a.view >= kv->nr_views)
		return -EINVAL;
	r = kvx_check_view_access(a.access);
	if (r)
		return r;
	r = kvx_check_gfn_range(a.gfn, a.npages, kvm_mmu_max_gfn() + 1);
	if (r)
		return r;
	if (a.access != KVX_VIEW_ACCESS_INHERIT &&
	    (a.access & KVX_VIEW_ACCESS_EXEC) &&
	    !(a.access & KVX_VIEW_ACCESS_READ) && !kvx_vendor.exec_only)
		return -EOPNOTSUPP;

	/* A layer above (windows) owns this view's configuration. */
	if (test_bit(a.view, &kv->owned_views))
		return -EBUSY;

	view = &kv->view[a.view];
	entry = a.access == KVX_VIEW_ACCESS_INHERIT ? NULL :
		xa_mk_value(a.access);

	mutex_lock(&kv->lock);
	/*
	 * A store can split one range in three: at most two more.  INHERIT
	 * stores a gap, which splits one range in two when inside it.
	 */
	r = -ENOSPC;
	if (entry ? view->nr_ranges + 2 > KVX_VIEW_MAX_RANGES :
	    view->nr_ranges + 1 > KVX_VIEW_MAX_RANGES &&
	    kvx_view_splits(kv, a.view, a.gfn, a.gfn + a.npages - 1))
		goto out;
	r = mtree_store_range(&view->access, a.gfn, a.gfn + a.npages - 1,
			      entry, GFP_KERNEL_ACCOUNT);
	if (r)
		goto out;
	view->nr_ranges = kvx_tree_count(&view->access);
	kvm_zap_gfn_range(kvm, a.gfn, a.gfn + a.npages);
out:
	mutex_unlock(&kv->lock);
	return r;
}

/*
 * kvm_arch_prepare_memory_region(), slots_lock held: a slot hidden from
 * view 0 is view-only, out of reach of KVM's own accesses (KVX_MEMSLOT_VIEW_ONLY).
 * Whether a slot is hidden from view 0 is fixed while it exists
 * (kvx_set_slot_views()), so the flag never changes under a gfn cache.
 */
void kvx_prepare_memory_region(struct kvm *kvm, struct kvm_memory_slot *new)
{
	struct kvx_views *kv = kvx_views(kvm);

	lockdep_assert_held(&kvm->slots_lock);
	new->flags &= ~KVX_MEMSLOT_VIEW_ONLY;
	if (kv && !kvx_slot_in_view(kv, new, 0))
		new->flags |= KVX_MEMSLOT_VIEW_ONLY;
}

static int kvx_set_slot_views(struct kvm *kvm, struct kvx_views *kv,
			      void __user *argp)
{
	struct kvm_memory_slot *slot;
	struct kvx_slot_views s;
	u16 as_id, id;
	void *old;
	int r, idx;

	/* kv lives while kvm->lock is held (kvx_views_vm_ioctl()). */
	lockdep_assert_held(&kvm->lock);

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.flags || !kvx_mem_is_zero(s.reserved, sizeof(s.reserved)))
		return -EINVAL;
	as_id = s.slot >> 16;
	id = (u16)s.slot;
	if (as_id >= kvm_arch_nr_memslot_as_ids(kvm) || id >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	if (s.views != KVX_SLOT_VIEWS_ALL && (s.views >> kv->nr_views))
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	mutex_lock(&kv->lock);
	/*
	 * A slot a layer above owns keeps the mask it was given, and no mask
	 * names an owned view (a window view sees what view 0 sees, and its
	 * page).
	 */
	r = -EBUSY;
	if (xa_get_mark(&kv->slot_views, s.slot, KVX_SLOT_OWNED) ||
	    (s.views != KVX_SLOT_VIEWS_ALL && (s.views & kv->owned_views)))
		goto out;
	/*
	 * Whether view 0, and with it KVM's own accesses, sees a slot is
	 * decided before the slot exists (gfn caches hold its address).
	 */
	slot = id_to_memslot(__kvm_memslots(kvm, as_id), id);
	r = -EBUSY;
	if (slot && !(slot->flags & KVX_MEMSLOT_VIEW_ONLY) !=
		    (s.views == KVX_SLOT_VIEWS_ALL || (s.views & BIT(0))))
		goto out;
	if (s.views == KVX_SLOT_VIEWS_ALL) {
		old = xa_erase(&kv->slot_views, s.slot);
		if (old)
			atomic_dec(&kv->nr_slot_views);
		r = 0;
	} else {
		old = xa_store(&kv->slot_views, s.slot, xa_mk_value(s.views),
			       GFP_KERNEL_ACCOUNT);
		r = xa_err(old);
		if (!r && !old)
			atomic_inc(&kv->nr_slot_views);
	}
	if (!r) {
		idx = srcu_read_lock(&kvm->srcu);
		slot = id_to_memslot(__kvm_memslots(kvm, as_id), id);
		if (slot)
			kvm_zap_gfn_range(kvm, slot->base_gfn,
					  slot->base_gfn + slot->npages);
		srcu_read_unlock(&kvm->srcu, idx);
	}
out:
	mutex_unlock(&kv->lock);
	mutex_unlock(&kvm->slots_lock);
	return r;
}

static int kvx_set_view_visibility(struct kvm *kvm, struct kvx_views *kv,
				   void __user *argp)
{
	struct kvx_view_visibility s;

	/* kv lives while kvm->lock is held (kvx_views_vm_ioctl()). */
	lockdep_assert_held(&kvm->lock);

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.flags || !kvx_mem_is_zero(s.reserved, sizeof(s.reserved)))
		return -EINVAL;
	if ((s.visible >> kv->nr_views) || !(s.visible & BIT(0)))
		return -EINVAL;

	mutex_lock(&kv->lock);
	/* Owned views (windows) are visible exactly while their owner says. */
	if ((s.visible ^ kv->visible) & kv->owned_views) {
		mutex_unlock(&kv->lock);
		return -EBUSY;
	}
	WRITE_ONCE(kv->visible, s.visible);
	kvx_views_changed(kv);
	mutex_unlock(&kv->lock);
	/*
	 * Every vCPU leaves the guest and rewrites its EPTP list before it
	 * enters again (LOAD_MMU_PGD waits for the acknowledgment), so a
	 * hidden view cannot be reached once this returns.
	 */
	kvm_make_all_cpus_request(kvm, KVM_REQ_LOAD_MMU_PGD | KVM_REQUEST_WAIT);
	return 0;
}

int kvx_views_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	struct kvx_views *kv;
	int r;

	switch (ioctl) {
	case KVX_SET_VIEW_ACCESS:
	case KVX_SET_SLOT_VIEWS:
	case KVX_SET_VIEW_VISIBILITY:
		break;
	default:
		return -ENOTTY;
	}
	/* kvm->lock keeps KVM_ENABLE_CAP from freeing the state under us. */
	mutex_lock(&kvm->lock);
	kv = kvm->arch.kvx;
	if (!kv)
		r = -ENXIO;
	else if (ioctl == KVX_SET_VIEW_ACCESS)
		r = kvx_set_view_access(kvm, kv, argp);
	else if (ioctl == KVX_SET_SLOT_VIEWS)
		r = kvx_set_slot_views(kvm, kv, argp);
	else
		r = kvx_set_view_visibility(kvm, kv, argp);
	mutex_unlock(&kvm->lock);
	return r;
}

/* ---- vCPU ioctls (vCPU loaded) ---- */

int kvx_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
		   void __user *argp)
{
	struct kvx_views *kv;
	struct kvx_view_vcpu *vv;
	struct kvx_vcpu_view s;

	/* Only the vCPU's own thread touches its view state. */
	lockdep_assert_held(&vcpu->mutex);

	if (ioctl != KVX_GET_VCPU_VIEW && ioctl != KVX_SET_VCPU_VIEW)
		return -EINVAL;
	kv = kvx_views(vcpu->kvm);
	if (!kv)
		return -ENXIO;

	if (ioctl == KVX_GET_VCPU_VIEW) {
		vv = kvx_view_vcpu(vcpu);
		memset(&s, 0, sizeof(s));
		s.view = vv ? vv->active : 0;
		return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
	}

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.pad || s.flags || !kvx_mem_is_zero(s.reserved, sizeof(s.reserved)))
		return -EINVAL;
	if (s.view >= kv->nr_views)
		return -EINVAL;
	if (is_smm(vcpu) || is_guest_mode(vcpu) || test_bit(s.view, &kv->owned_views))
		return -EBUSY;
	vv = kvx_view_vcpu_get(vcpu, kv);
	if (!vv)
		return -ENOMEM;
	kvx_view_set_active(vcpu, s.view);
	return 0;
}
