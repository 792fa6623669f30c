// SPDX-License-Identifier: GPL-2.0
/*
 * kvx sub-page windows, linked into kvm.ko: the trampoline page, the
 * window ioctls and the hypercall that makes a checked access for the
 * guest where VMFUNC is not used.
 *
 * A window is one page of a device BAR that the guest may touch only in
 * some byte ranges.  The page is hidden from every ordinary view, so plain
 * accesses trap to the VMM as before.  In VMFUNC mode each window has a view
 * of its own that maps the page, and in which nothing but the trampoline
 * executes (the policy is in views.c, the exits in views_vmx.c).
 * Documentation/virt/kvx/subpage.rst has the design and the threat model.
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/kvm_host.h>
#include <linux/mman.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>

#include "kvx_internal.h"
#include "windows.h"
#include "uapi_check.h"
#include "../mmu.h"
#include "../mmu/mmu_internal.h"
#include "../mmu/spte.h"
#include "../x86.h"

/* The fourth KVM-internal slot (the overlaid kvm_host.h has four). */
#define KVX_TRAMP_PRIVATE_MEMSLOT	(KVM_USER_MEM_SLOTS + 3)
static_assert(KVM_INTERNAL_MEM_SLOTS == 4, "kvm_host.h overlay: 4 internal slots");

static_assert(KVX_WINDOW_MAX_IDS == KVX_SUBPAGE_MAX_WINDOWS);
static_assert(KVX_WINDOW_MAX_RANGES == KVX_SUBPAGE_MAX_RANGES);
static_assert(KVX_WINDOW_READ == KVX_SUBPAGE_READ);
static_assert(KVX_WINDOW_WRITE == KVX_SUBPAGE_WRITE);
/* The uAPI range is the one uapi_check.c validates. */
static_assert(sizeof(struct kvx_window_range) == sizeof(struct kvx_subpage_range));
static_assert(offsetof(struct kvx_window_range, size) ==
	      offsetof(struct kvx_subpage_range, size));
static_assert(offsetof(struct kvx_window_range, access) ==
	      offsetof(struct kvx_subpage_range, flags));

/* The blob fits before the slots and spells VMFUNC only at its sites. */
static bool kvx_tramp_ok;

void kvx_windows_init(void)
{
	size_t len = kvx_subpage_tramp_end - kvx_subpage_tramp_start;
	u8 *page;

	if (len > KVX_SUBPAGE_SLOTS_LOW) {
		pr_warn("windows: trampoline is %zu bytes, too big\n", len);
		return;
	}
	page = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!page)
		return;
	memcpy(page, kvx_subpage_tramp_start, len);
	kvx_tramp_ok = !kvx_subpage_stray_vmfuncs(page, PAGE_SIZE);
	if (!kvx_tramp_ok)
		pr_warn("windows: stray VMFUNC in the trampoline, windows off\n");
	kfree(page);
}

int kvx_windows_check_extension(struct kvm *kvm)
{
	if (!kvx_tramp_ok || !kvx_views_check_extension(kvm, KVX_CAP_VIEWS))
		return 0;
	return KVX_WINDOW_MAX_IDS;
}

/* ---- the trampoline page ---- */

static void kvx_tramp_build(u8 *page, u8 mode)
{
	struct kvx_subpage_tramp_hdr *hdr =
		(void *)(page + KVX_SUBPAGE_TABLE_OFFSET);
	int i;

	memcpy(page, kvx_subpage_tramp_start,
	       kvx_subpage_tramp_end - kvx_subpage_tramp_start);
	/* Every view's slot refuses until a window is set in the view. */
	for (i = 1; i <= KVX_SUBPAGE_MAX_WINDOWS; i++)
		kvx_subpage_emit_slot(page, i, NULL);
	/*
	 * The blob says VMCALL.  KVM must patch it itself: the usual fix-up on
	 * the #UD (emulator_fix_hypercall()) would write to a read-only slot.
	 */
	if (kvx_vendor.vmmcall) {
		for (i = 0; i < KVX_SUBPAGE_NR_VMCALL_SITES; i++)
			page[kvx_subpage_tramp_vmcall_sites[i] + 2] = 0xd9;
	}
	hdr->magic = KVX_SUBPAGE_MAGIC;
	hdr->version = KVX_SUBPAGE_VERSION;
	hdr->mode = mode;
	hdr->nr_windows = KVX_SUBPAGE_MAX_WINDOWS;
	hdr->hypercall = KVX_HC_WINDOW_ACCESS;
}

/*
 * Like __x86_set_memory_region(), but read-only to the guest: the page is
 * code and a table that only KVM writes.  The VMM never learns its address,
 * so it cannot end up in a VFIO DMA mapping by accident.
 */
static void __user *kvx_tramp_slot_set(struct kvm *kvm, gpa_t gpa, bool add)
{
	struct kvm_memory_slot *slot;
	unsigned long hva;
	int i, r;

	lockdep_assert_held(&kvm->slots_lock);
	slot = id_to_memslot(kvm_memslots(kvm), KVX_TRAMP_PRIVATE_MEMSLOT);
	if (add) {
		if (slot && slot->npages)
			return (void __user *)ERR_PTR(-EEXIST);
		hva = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, 0);
		if (IS_ERR_VALUE(hva))
			return (void __user *)hva;
	} else {
		if (!slot || !slot->npages)
			return NULL;
		hva = slot->userspace_addr;
	}

	for (i = 0; i < kvm_arch_nr_memslot_as_ids(kvm); i++) {
		struct kvm_userspace_memory_region2 m = {
			.slot = KVX_TRAMP_PRIVATE_MEMSLOT | (i << 16),
			.flags = KVM_MEM_READONLY,
			.guest_phys_addr = gpa,
			.userspace_addr = hva,
			.memory_size = add ? PAGE_SIZE : 0,
		};

		r = __kvm_set_memory_region(kvm, &m);
		if (r < 0 && add) {
			/* Undo the address spaces done so far. */
			while (--i >= 0) {
				m.slot = KVX_TRAMP_PRIVATE_MEMSLOT | (i << 16);
				m.memory_size = 0;
				__kvm_set_memory_region(kvm, &m);
			}
			vm_munmap(hva, PAGE_SIZE);
			return (void __user *)ERR_PTR(r);
		}
	}
	if (!add)
		vm_munmap(hva, PAGE_SIZE);
	return (void __user *)hva;
}

/* kvm_arch_destroy_vm(), with current->mm == kvm->mm and slots_lock held. */
void kvx_windows_destroy_slot(struct kvm *kvm)
{
	struct kvx_views *kv = kvm->arch.kvx;

	lockdep_assert_held(&kvm->slots_lock);
	if (kv && kv->windows)
		kvx_tramp_slot_set(kvm, 0, false);
}

static struct kvx_subpage_tramp_entry __user *
kvx_tramp_entry(struct kvx_windows *ws, u32 id)
{
	return ws->tramp_hva + KVX_SUBPAGE_WINDOWS_OFFSET +
	       (id << KVX_SUBPAGE_ENTRY_SHIFT);
}

/*
 * Write view @view's check slot for window @tw (NULL: refuse everything).
 * No vCPU runs the slot meanwhile: the view is not a visible window view,
 * and a vCPU that left it inside the slot was restarted in view 0
 * (kvx_window_fix_rsp()).
 */
static int kvx_tramp_write_slot(struct kvx_windows *ws, u16 view,
				const struct kvx_subpage_tramp_window *tw)
{
	unsigned int at = kvx_subpage_slot(view);
	u8 *page;
	int r;

	page = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!page)
		return -ENOMEM;
	r = kvx_subpage_emit_slot(page, view, tw) ? -ENOSPC : 0;
	if (!r && copy_to_user(ws->tramp_hva + at, page + at,
			       KVX_SUBPAGE_SLOT_SIZE))
		r = -EFAULT;
	kfree(page);
	return r;
}

/*
 * Write window @id's entry, which the code in view 0 reads: flags first,
 * the view last.  A removal clears the view alone.
 */
static int kvx_tramp_write(struct kvx_windows *ws, u32 id,
			   const struct kvx_subpage_tramp_window *tw)
{
	struct kvx_subpage_tramp_entry __user *e = kvx_tramp_entry(ws, id);

	if (!tw)
		return put_user((u16)0, &e->view);
	if (put_user(tw->flags, &e->flags))
		return -EFAULT;
	/* The trampoline reads the view, then the flags (x86 keeps both). */
	smp_wmb();
	return put_user(tw->view, &e->view);
}

/* After every fill: the page may spell VMFUNC only at the sites. */
static void kvx_tramp_scan(struct kvx_windows *ws)
{
	u8 *page = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);

	if (!page)
		return;
	if (!copy_from_user(page, ws->tramp_hva, PAGE_SIZE))
		WARN_ON_ONCE(kvx_subpage_stray_vmfuncs(page, PAGE_SIZE));
	kfree(page);
}

/* ---- KVM_ENABLE_CAP(KVX_CAP_WINDOWS) ---- */

int kvx_windows_enable(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	gpa_t gpa = cap->args[0];
	struct kvx_windows *ws;
	struct kvx_views *kv;
	void __user *hva;
	u8 *page = NULL;
	u8 mode;
	int r;

	if (cap->args[2] || cap->args[3] ||
	    kvx_check_flags(cap->args[1], KVX_WINDOWS_HYPERCALL))
		return -EINVAL;
	if (!PAGE_ALIGNED(gpa) || gpa_to_gfn(gpa) > kvm_mmu_max_gfn())
		return -EINVAL;
	if (!kvx_tramp_ok)
		return -EOPNOTSUPP;

	ws = kzalloc(sizeof(*ws), GFP_KERNEL_ACCOUNT);
	page = (u8 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	r = -ENOMEM;
	if (!ws || !page)
		goto out_free;

	mutex_lock(&kvm->lock);
	kv = kvm->arch.kvx;
	r = -ENXIO;
	if (!kv)
		goto out_unlock;
	r = -EBUSY;
	if (kvm->created_vcpus)
		goto out_unlock;
	r = -EEXIST;
	if (kv->windows)
		goto out_unlock;
	mode = kv->vmfunc && !(cap->args[1] & KVX_WINDOWS_HYPERCALL) ?
	       KVX_SUBPAGE_MODE_VMFUNC : KVX_SUBPAGE_MODE_HYPERCALL;
	/*
	 * A window page read-only in its view keeps guest page walks out of
	 * it only if walks are EPT writes; #VE would hand window-view EPT
	 * violations to the guest.
	 */
	r = -EOPNOTSUPP;
	if (mode == KVX_SUBPAGE_MODE_VMFUNC &&
	    (!kvx_vendor.walks_are_writes ||
	     IS_ENABLED(CONFIG_KVM_INTEL_PROVE_VE)))
		goto out_unlock;

	kvx_tramp_build(page, mode);
	if (WARN_ON_ONCE(kvx_subpage_stray_vmfuncs(page, PAGE_SIZE)))
		goto out_unlock;

	mutex_lock(&kvm->slots_lock);
	hva = kvx_tramp_slot_set(kvm, gpa, true);
	r = PTR_ERR_OR_ZERO((void __force *)hva);
	if (!r && copy_to_user(hva, page, PAGE_SIZE)) {
		kvx_tramp_slot_set(kvm, gpa, false);
		r = -EFAULT;
	}
	mutex_unlock(&kvm->slots_lock);
	if (r)
		goto out_unlock;

	ws->tramp_gpa = gpa;
	ws->tramp_hva = hva;
	ws->mode = mode;
	/*
	 * Virtual-interrupt delivery would hand the guest an interrupt inside
	 * a window view without a VM exit (subpage.rst 3.1).  No vCPU exists
	 * yet, so each is created with APICv off.
	 */
	if (mode == KVX_SUBPAGE_MODE_VMFUNC)
		kvm_set_apicv_inhibit(kvm, APICV_INHIBIT_REASON_KVX_WINDOWS);
	mutex_lock(&kv->lock);
	/* Pairs with the acquire in kvx_vmfunc_windows(). */
	smp_store_release(&kv->windows, ws);
	mutex_unlock(&kv->lock);
	ws = NULL;
out_unlock:
	mutex_unlock(&kvm->lock);
out_free:
	free_page((unsigned long)page);
	kfree(ws);
	return r;
}

/* kvx_destroy_vm(), before the views go: the VM is gone, and the slot. */
void kvx_windows_destroy_vm(struct kvm *kvm)
{
	struct kvx_views *kv = kvm->arch.kvx;
	struct kvx_windows *ws = kv ? kv->windows : NULL;
	int i;

	if (!ws)
		return;
	for (i = 0; i < KVX_SUBPAGE_MAX_WINDOWS; i++)
		kfree(rcu_dereference_protected(ws->win[i], true));
	kfree(ws);
	kv->windows = NULL;
}

/* ---- KVX_SET_WINDOW, KVX_REMOVE_WINDOW ---- */

static struct kvx_window_state *kvx_win(struct kvx_views *kv,
					struct kvx_windows *ws, u32 id)
{
	return rcu_dereference_protected(ws->win[id], lockdep_is_held(&kv->lock));
}

struct kvx_window_iter {
	struct kvm *kvm;		/* under kvm->srcu, or */
	struct kvx_views *kv;		/* with kv->lock held */
	struct kvx_windows *ws;
	int id;
};

/* The next window of @it, or NULL; its id into *@id. */
static struct kvx_window_state *kvx_window_next(struct kvx_window_iter *it,
						int *id)
{
	struct kvx_window_state *st;

	if (it->kv)
		lockdep_assert_held(&it->kv->lock);
	else
		lockdep_assert_once(srcu_read_lock_held(&it->kvm->srcu));
	while (++it->id < KVX_SUBPAGE_MAX_WINDOWS) {
		st = it->kv ? kvx_win(it->kv, it->ws, it->id) :
		     srcu_dereference(it->ws->win[it->id], &it->kvm->srcu);
		if (st) {
			*id = it->id;
			return st;
		}
	}
	return NULL;
}

/* Each window @_st (id @_id) of @_ws, with kv->lock held: writers' view. */
#define kvx_for_each_window(_kv, _ws, _id, _st)				\
	for (struct kvx_window_iter __it = {				\
		.kv = (_kv), .ws = (_ws), .id = -1 };			\
	     ((_st) = kvx_window_next(&__it, &(_id)));)

/*
 * Each window @_st of @_ws, under kvm->srcu: readers' view.  A window
 * removed meanwhile stays readable until synchronize_srcu().
 */
#define kvx_for_each_window_srcu(_kvm, _ws, _id, _st)			\
	for (struct kvx_window_iter __it = {				\
		.kvm = (_kvm), .ws = (_ws), .id = -1 };			\
	     ((_st) = kvx_window_next(&__it, &(_id)));)

/* Is @view named in any slot's view mask? */
static bool kvx_view_in_slot_masks(struct kvx_views *kv, u16 view)
{
	unsigned long index;
	void *e;

	xa_for_each(&kv->slot_views, index, e) {
		if (xa_to_value(e) & BIT(view))
			return true;
	}
	return false;
}

/* Checks of the argument alone, before any lock. */
static int kvx_window_check_args(struct kvm *kvm, struct kvx_views *kv,
				 const struct kvx_window *w)
{
	int r;

	if (!kvx_mem_is_zero(w->reserved, sizeof(w->reserved)) ||
	    kvx_check_flags(w->flags, KVX_WINDOW_F_VMFUNC_WRITES))
		return -EINVAL;
	if (w->id >= KVX_WINDOW_MAX_IDS || !w->view || w->view >= kv->nr_views)
		return -EINVAL;
	if (!PAGE_ALIGNED(w->gpa) || gpa_to_gfn(w->gpa) > kvm_mmu_max_gfn())
		return -EINVAL;
	if ((w->slot >> 16) >= kvm_arch_nr_memslot_as_ids(kvm) ||
	    (u16)w->slot >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	r = kvx_check_subpage_ranges((const struct kvx_subpage_range *)w->ranges,
				     w->nr_ranges, KVX_WINDOW_MAX_RANGES);
	return r == -E2BIG ? -EINVAL : r;
}

static void kvx_window_fill(struct kvx_window_state *st,
			    const struct kvx_window *w, u8 mode)
{
	bool writes = false;
	int i;

	st->view = w->view;
	st->slot = w->slot;
	st->gfn = gpa_to_gfn(w->gpa);
	st->flags = w->flags;
	for (i = 0; i < w->nr_ranges; i++) {
		st->tw.range[i].start = w->ranges[i].offset;
		st->tw.range[i].end = w->ranges[i].offset + w->ranges[i].size;
		st->tw.range[i].access = w->ranges[i].access;
		writes |= w->ranges[i].access & KVX_WINDOW_WRITE;
	}
	/* Writes by VMFUNC only where the VMM said the page tolerates them. */
	if (mode == KVX_SUBPAGE_MODE_VMFUNC && writes &&
	    !(w->flags & KVX_WINDOW_F_VMFUNC_WRITES))
		st->tw.flags = KVX_SUBPAGE_WIN_WRITE_HC;
	st->tw.view = w->view;
}

/* Drop every mapping of every view: a view's old SPTEs may allow exec. */
static void kvx_windows_zap_all(struct kvm *kvm)
{
	kvm_zap_gfn_range(kvm, 0, kvm_mmu_max_gfn() + 1);
}

/* Every vCPU leaves the guest and rebuilds its EPTP list before re-entry. */
static void kvx_windows_kick(struct kvm *kvm, struct kvx_views *kv)
{
	kvx_views_changed(kv);
	kvm_make_all_cpus_request(kvm, KVM_REQ_LOAD_MMU_PGD | KVM_REQUEST_WAIT);
}

static void kvx_window_unpublish(struct kvm *kvm, struct kvx_views *kv,
				 struct kvx_windows *ws, u32 id,
				 struct kvx_window_state *st)
{
	lockdep_assert_held(&kvm->slots_lock);
	lockdep_assert_held(&kv->lock);
	/* The guest sees the window go first, then it is unreachable. */
	kvx_tramp_write(ws, id, NULL);
	RCU_INIT_POINTER(ws->win[id], NULL);
	if (ws->mode == KVX_SUBPAGE_MODE_VMFUNC) {
		WRITE_ONCE(kv->visible, kv->visible & ~BIT(st->view));
		kvx_windows_kick(kvm, kv);
		/*
		 * No vCPU is in the view now, and none can enter it.  A failed
		 * slot reset is rewritten before the view serves again.
		 */
		kvx_tramp_write_slot(ws, st->view, NULL);
		xa_store(&kv->slot_views, st->slot, xa_mk_value(0),
			 GFP_KERNEL_ACCOUNT);
		kvx_windows_zap_all(kvm);
	}
	/* Only now does the view lose its window policy. */
	xa_clear_mark(&kv->slot_views, st->slot, KVX_SLOT_OWNED);
	clear_bit(st->view, &kv->owned_views);
}

static int kvx_set_window(struct kvm *kvm, struct kvx_views *kv,
			  struct kvx_windows *ws, void __user *argp)
{
	struct kvm_memory_slot *slot;
	struct kvx_window_state *st, *o;
	struct kvx_window w;
	bool published = false;
	void *mask;
	int r, i;

	/* kv and ws live while kvm->lock is held (kvx_windows_vm_ioctl()). */
	lockdep_assert_held(&kvm->lock);
	if (copy_from_user(&w, argp, sizeof(w)))
		return -EFAULT;
	r = kvx_window_check_args(kvm, kv, &w);
	if (r)
		return r;
	st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		return -ENOMEM;
	kvx_window_fill(st, &w, ws->mode);

	mutex_lock(&kvm->slots_lock);
	mutex_lock(&kv->lock);
	r = -EEXIST;
	kvx_for_each_window(kv, ws, i, o) {
		if (i == w.id || o->gfn == st->gfn || o->slot == st->slot)
			goto out;
	}
	slot = id_to_memslot(__kvm_memslots(kvm, w.slot >> 16), (u16)w.slot);
	r = -ENOENT;
	if (!slot)
		goto out;
	r = -EINVAL;
	if (slot->base_gfn != st->gfn)
		goto out;
	/* One page, hidden from every view, in a view nothing else uses. */
	r = -EBUSY;
	mask = xa_load(&kv->slot_views, w.slot);
	if (slot->npages != 1 || !mask || xa_to_value(mask))
		goto out;
	if (test_bit(w.view, &kv->owned_views) || kv->view[w.view].nr_ranges ||
	    kvx_view_in_slot_masks(kv, w.view))
		goto out;

	/* The view's check slot, before the view can be entered. */
	if (ws->mode == KVX_SUBPAGE_MODE_VMFUNC) {
		r = kvx_tramp_write_slot(ws, w.view, &st->tw);
		if (r)
			goto out;
	}
	xa_set_mark(&kv->slot_views, w.slot, KVX_SLOT_OWNED);
	if (ws->mode == KVX_SUBPAGE_MODE_VMFUNC) {
		/* The entry exists (checked above): no allocation, no error. */
		xa_store(&kv->slot_views, w.slot, xa_mk_value(BIT(w.view)),
			 GFP_KERNEL_ACCOUNT);
		set_bit(w.view, &ws->views);
		set_bit(w.view, &kv->owned_views);
		kvx_windows_zap_all(kvm);
		WRITE_ONCE(kv->visible, kv->visible | BIT(w.view));
		kvx_windows_kick(kvm, kv);
	} else {
		set_bit(w.view, &ws->views);
		set_bit(w.view, &kv->owned_views);
	}
	rcu_assign_pointer(ws->win[w.id], st);
	r = kvx_tramp_write(ws, w.id, &st->tw);
	if (r) {
		kvx_window_unpublish(kvm, kv, ws, w.id, st);
		published = true;
		goto out;
	}
	kvx_tramp_scan(ws);
	st = NULL;
out:
	mutex_unlock(&kv->lock);
	mutex_unlock(&kvm->slots_lock);
	/* A hypercall may have seen it before the unpublish. */
	if (published)
		synchronize_srcu(&kvm->srcu);
	kfree(st);
	return r;
}

static int kvx_remove_window(struct kvm *kvm, struct kvx_views *kv,
			     struct kvx_windows *ws, void __user *argp)
{
	struct kvx_window_state *st;
	struct kvx_window_id w;
	int r;

	/* kv and ws live while kvm->lock is held (kvx_windows_vm_ioctl()). */
	lockdep_assert_held(&kvm->lock);
	if (copy_from_user(&w, argp, sizeof(w)))
		return -EFAULT;
	if (w.flags || !kvx_mem_is_zero(w.reserved, sizeof(w.reserved)) ||
	    w.id >= KVX_WINDOW_MAX_IDS)
		return -EINVAL;

	mutex_lock(&kvm->slots_lock);
	mutex_lock(&kv->lock);
	st = kvx_win(kv, ws, w.id);
	r = -ENOENT;
	if (st) {
		kvx_window_unpublish(kvm, kv, ws, w.id, st);
		kvx_tramp_scan(ws);
		r = 0;
	}
	mutex_unlock(&kv->lock);
	mutex_unlock(&kvm->slots_lock);
	if (st) {
		/* Hypercalls in flight hold kvm->srcu. */
		synchronize_srcu(&kvm->srcu);
		kfree(st);
	}
	return r;
}

/* KVX_SET_WINDOW, KVX_REMOVE_WINDOW, dispatched by main.c. */
int kvx_windows_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	struct kvx_windows *ws;
	struct kvx_views *kv;
	int r;

	/* kvm->lock keeps KVM_ENABLE_CAP from freeing the state under us. */
	mutex_lock(&kvm->lock);
	kv = kvm->arch.kvx;
	ws = kv ? kv->windows : NULL;
	if (!ws)
		r = -ENXIO;
	else if (ioctl == KVX_SET_WINDOW)
		r = kvx_set_window(kvm, kv, ws, argp);
	else
		r = kvx_remove_window(kvm, kv, ws, argp);
	mutex_unlock(&kvm->lock);
	return r;
}

/* ---- KVX_HC_WINDOW_ACCESS ---- */

/*
 * One @type access at @hva: a put_user() of *@val, or a get_user() into it;
 * *@val is left the @type-wide value.
 */
#define kvx_window_rw_type(type, hva, write, val) ({			\
	type __user *__p = (type __user *)(hva);			\
	u64 *__val = (val);						\
	type __v = *__val;						\
	int __r = (write) ? put_user(__v, __p) : get_user(__v, __p);	\
									\
	*__val = __v;							\
	__r;								\
})

/* One access of exactly @size bytes: device registers care about width. */
static int kvx_window_rw(unsigned long hva, u32 size, bool write, u64 *val)
{
	switch (size) {
	case 1:
		return kvx_window_rw_type(u8, hva, write, val);
	case 2:
		return kvx_window_rw_type(u16, hva, write, val);
	case 4:
		return kvx_window_rw_type(u32, hva, write, val);
	case 8:
		return kvx_window_rw_type(u64, hva, write, val);
	}
	return -EINVAL;
}

static long kvx_window_access(struct kvm_vcpu *vcpu, struct kvx_windows *ws,
			      unsigned long id, unsigned long desc,
			      u64 *val, unsigned long offset)
{
	u32 size = desc & 0xff, dir = (desc >> KVX_SUBPAGE_HC_ACCESS_SHIFT) & 0xff;
	struct kvm_memory_slot *slot;
	struct kvx_window_state *st;
	unsigned long hva;
	u64 v = *val;
	long r;

	if (desc >> (KVX_SUBPAGE_HC_ACCESS_SHIFT + 8) || id > U32_MAX ||
	    offset > U32_MAX)
		return -KVM_EINVAL;
	if (id >= KVX_SUBPAGE_MAX_WINDOWS)
		return -KVM_EINVAL;
	id = array_index_nospec(id, KVX_SUBPAGE_MAX_WINDOWS);
	st = srcu_dereference(ws->win[id], &vcpu->kvm->srcu);
	r = kvx_subpage_check_window(st ? &st->tw : NULL, offset, size, dir);
	if (r)
		return r;

	slot = id_to_memslot(__kvm_memslots(vcpu->kvm, st->slot >> 16),
			     (u16)st->slot);
	if (!slot || slot->base_gfn != st->gfn || slot->npages != 1 ||
	    (dir == KVX_SUBPAGE_WRITE && (slot->flags & KVM_MEM_READONLY)))
		return -KVX_SUBPAGE_EFAULT;
	hva = __gfn_to_hva_memslot(slot, st->gfn) + offset;
	if (kvx_window_rw(hva, size, dir == KVX_SUBPAGE_WRITE, &v))
		return -KVX_SUBPAGE_EFAULT;
	*val = dir == KVX_SUBPAGE_READ ? v : 0;
	return 0;
}

/*
 * kvm_emulate_hypercall(): the trampoline's hypercall path.  KVM checks the
 * access against its own copy of the window, never the guest's page, and
 * makes it on the window slot's userspace mapping (e.g. a VFIO BAR mmap).
 * Runs under kvm->srcu (asserted by srcu_dereference() and
 * __kvm_memslots()), which removals and memslot changes wait for.
 */
int kvx_window_hypercall(struct kvm_vcpu *vcpu, unsigned long id,
			 unsigned long desc, unsigned long value,
			 unsigned long offset, int cpl)
{
	struct kvx_windows *ws = kvx_windows(vcpu->kvm);
	u64 val = value;
	long r;

	++vcpu->stat.hypercalls;
	if (!ws)
		r = -KVM_ENOSYS;
	else if (cpl)
		r = -KVM_EPERM;
	else
		r = kvx_window_access(vcpu, ws, id, desc, &val, offset);
	if (ws)
		++vcpu->stat.kvx_window_hypercalls;
	kvm_rax_write(vcpu, r);
	kvm_rdx_write(vcpu, r ? 0 : val);
	return kvm_skip_emulated_instruction(vcpu);
}

/* ---- the window views: faults, leaving ---- */

/* The window view @view serves. */
static struct kvx_window_state *kvx_window_of_view(struct kvm *kvm,
						   struct kvx_windows *ws,
						   u16 view)
{
	struct kvx_window_state *st;
	int i;

	kvx_for_each_window_srcu(kvm, ws, i, st) {
		if (st->view == view)
			return st;
	}
	return NULL;
}

/*
 * A fault in a window view (VMFUNC windows).  Only trampoline code runs
 * there: every other exit already took the vCPU to view 0, and this one is
 * an EPT violation of an instruction of the trampoline (a data access or a
 * guest page walk), or the first fetch after a VMFUNC of the guest's own.
 * Map what the trampoline needs: the trampoline page (read, execute), the
 * window's page (read; write only with KVX_WINDOW_F_VMFUNC_WRITES) and RAM
 * with view 0's access but never executable.  Anything else is settled in
 * view 0: leave and retry there, where it traps to the VMM as it always did.
 * Never exit to userspace from a window view.
 */
static int kvx_window_view_faultin(struct kvm_vcpu *vcpu, struct kvx_views *kv,
				   struct kvx_windows *ws, u16 view,
				   struct kvm_page_fault *fault)
{
	gfn_t tramp = gpa_to_gfn(ws->tramp_gpa);
	struct kvx_window_state *st;
	u32 need, allowed;
	u8 deny = 0;

	if (fault->prefetch)
		return RET_PF_SPURIOUS;
	if (!fault->slot)
		goto leave;
	fault->max_level = PG_LEVEL_4K;
	if (fault->gfn == tramp) {
		/* Read-only slot: a write would be emulated, from here. */
		if (fault->write)
			goto leave;
		return RET_PF_CONTINUE;
	}
	if (fault->exec)
		goto leave;

	st = kvx_window_of_view(vcpu->kvm, ws, view);
	if (!st)
		goto leave;
	if (fault->gfn == st->gfn) {
		if ((u32)fault->slot->as_id << 16 != (st->slot & 0xffff0000) ||
		    fault->slot->id != (u16)st->slot)
			goto leave;
		if (st->tw.flags & KVX_SUBPAGE_WIN_WRITE_HC) {
			if (fault->write)
				goto leave;
			deny |= ACC_WRITE_MASK;
		}
		fault->kvx_acc_deny = deny | ACC_EXEC_MASK;
		return RET_PF_CONTINUE;
	}
	if (!kvx_slot_in_view(kv, fault->slot, 0))
		goto leave;

	allowed = kvx_view_access(kv, 0, fault->gfn);
	need = fault->write ? KVX_VIEW_ACCESS_WRITE : KVX_VIEW_ACCESS_READ;
	if (!(allowed & need))
		goto leave;
	if (!(allowed & KVX_VIEW_ACCESS_WRITE))
		deny |= ACC_WRITE_MASK;
	fault->kvx_acc_deny = deny | ACC_EXEC_MASK;
	return RET_PF_CONTINUE;

leave:
	kvx_window_leave(vcpu);
	kvx_window_fix_rsp(vcpu);
	return RET_PF_RETRY;
}

/*
 * kvx_mmu_faultin(), before the views' policy: a fault in a window view is
 * the windows' to settle (*@ret); any other goes on to the views.
 */
bool kvx_windows_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault,
			 int *ret)
{
	struct kvx_windows *ws = kvx_vmfunc_windows(vcpu->kvm);
	int view;

	if (likely(!ws))
		return false;
	view = kvx_views_fault_view(vcpu);
	if (view <= 0 || !kvx_is_window_view(kvx_views(vcpu->kvm), view))
		return false;
	*ret = kvx_window_view_faultin(vcpu, kvx_views(vcpu->kvm), ws, view,
				       fault);
	return true;
}

/*
 * Move a vCPU found in a window view back to view 0 (subpage.rst 3.1).
 * From the exit path with IRQs off: it only moves hpa_t values and makes
 * requests; the RSP fix-up waits for kvx_vmx_handle_exit().
 */
void kvx_window_leave(struct kvm_vcpu *vcpu)
{
	/* Only windows own views: a vCPU in a window view has windows. */
	set_bit(vcpu->vcpu_idx, kvx_windows(vcpu->kvm)->left);
	kvx_view_set_active(vcpu, 0);
	++vcpu->stat.kvx_window_leaves;
}
EXPORT_SYMBOL_GPL(kvx_window_leave);

/*
 * kvm_check_and_inject_events(), first: no event is delivered inside a
 * window view, where the guest's IDT could send it to any trampoline
 * instruction (subpage.rst 3.1).  A vCPU found there (it took an EPT
 * violation and is about to re-enter) moves to view 0 and gets its own
 * stack back.  The view switch is a request, so what this round injects is
 * cancelled before entry and injected again, in view 0, in the next.
 */
void kvx_window_leave_for_events(struct kvm_vcpu *vcpu)
{
	struct kvx_view_vcpu *vv;

	if (likely(!kvx_views_on(vcpu->kvm)))
		return;
	vv = kvx_view_vcpu(vcpu);
	if (!vv || !vv->active ||
	    !kvx_is_window_view(kvx_views(vcpu->kvm), vv->active))
		return;
	kvx_window_leave(vcpu);
	kvx_window_fix_rsp(vcpu);
}

/* ---- the stack and the check after leaving ---- */

/*
 * Is @off in the window-view code before the access: from the first byte
 * after an enter VMFUNC to the access code, or in a check slot?  A vCPU
 * that leaves the window view there has not made its access; it starts
 * over from the first check in view 0 rather than run a slot that KVM may
 * be rewriting (kvx_tramp_write_slot()).
 */
static bool kvx_tramp_restartable(unsigned int off)
{
	if (off >= kvx_subpage_tramp_labels[KVX_SUBPAGE_L_WINDOW] &&
	    off < kvx_subpage_tramp_labels[KVX_SUBPAGE_L_ACCESS])
		return true;
	if (off >= kvx_subpage_slot(1) &&
	    off < kvx_subpage_slot(5) + KVX_SUBPAGE_SLOT_SIZE)
		return true;
	return off >= kvx_subpage_slot(6);
}

/*
 * The trampoline keeps the caller's RSP in R11 while RSP points into the
 * read-only trampoline page: from its stack switch, through the window
 * view, to its return.  A vCPU that exits in view 0 inside that stretch
 * (moved out of a window view, or single-stepped) may get an event
 * injected before it restores RSP; give it its own stack back so the frame
 * does not land on the read-only page.  The code after the stack switch
 * never uses the stack, so this changes nothing else.  A guest that forged
 * R11 only moves its own stack.  One that left a window view before its
 * access restarts at the first check (kvx_tramp_restartable()); forged
 * registers there only make a call of its own.  Called in view 0 only.
 */
void kvx_window_fix_rsp(struct kvm_vcpu *vcpu)
{
	struct kvx_windows *ws = kvx_windows(vcpu->kvm);
	unsigned long rip = kvm_rip_read(vcpu), rsp = kvm_rsp_read(vcpu);
	bool left = ws && test_and_clear_bit(vcpu->vcpu_idx, ws->left);
	gpa_t gpa;

	if (!ws || ws->mode != KVX_SUBPAGE_MODE_VMFUNC)
		return;
	gpa = kvm_mmu_gva_to_gpa_read(vcpu, rip, NULL);
	if (gpa == INVALID_GPA || gpa_to_gfn(gpa) != gpa_to_gfn(ws->tramp_gpa))
		return;
	if (!((rip ^ rsp) & PAGE_MASK))
		kvm_rsp_write(vcpu, kvm_r11_read(vcpu));
	/*
	 * Single-stepped (TF), it would leave at every instruction: let it
	 * go on in view 0, where its access traps, as before the slots.
	 */
	if (left && !(kvm_get_rflags(vcpu) & X86_EFLAGS_TF) &&
	    kvx_tramp_restartable(offset_in_page(rip)))
		kvm_rip_write(vcpu, (rip & PAGE_MASK) +
			      kvx_subpage_tramp_labels[kvm_r10_read(vcpu) &
						       KVX_SUBPAGE_DIR_WRITE ?
						       KVX_SUBPAGE_L_WRITE_RESTART :
						       KVX_SUBPAGE_L_READ_RESTART]);
}
EXPORT_SYMBOL_GPL(kvx_window_fix_rsp);
