// SPDX-License-Identifier: GPL-2.0
/*
 * kvx write tracing, linked into kvm.ko: which of the traced GFNs did the
 * guest write since the last harvest?
 *
 * Writes are not trapped one by one.  The first write to a traced page in
 * an epoch is seen either by the CPU's page-modification log (PML: the page
 * is mapped writable with the EPT dirty bit clear, and the CPU logs the GPA
 * when it sets it) or by one write-protection fault (everywhere else).
 * Both end in mark_page_dirty_in_slot(), whose hook marks the GFN.  A
 * harvest reports the marked GFNs and re-arms exactly those pages with
 * kvm_arch_mmu_enable_log_dirty_pt_masked(), the function dirty logging
 * uses: it clears the dirty bit with PML and write-protects otherwise.
 *
 * KVX_WTRACE_TRAP is the baseline to measure against: the pages are
 * write-tracked as KVMGT's shadow page tables are, so every write exits and
 * is emulated (and marks the GFN on its way through the emulator).
 *
 * The rule: a write that completes before a harvest starts is reported by
 * that harvest or the next one (a vCPU's PML buffer is flushed at its next
 * exit; the harvest kicks every vCPU first).
 */
#define pr_fmt(fmt) "kvx: " fmt

#include <linux/kvm_host.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <uapi/linux/kvx.h>

#include "kvx.h"
#include "uapi_check.h"
#include "../mmu.h"
#include "../mmu/mmu_internal.h"
#include "../mmu/page_track.h"
#include "../mmu/spte.h"

/* Marks GFNs written since their last report. */
#define KVX_WTRACE_WRITTEN	XA_MARK_0

struct kvx_wtrace {
	u32 mode;			/* KVX_WTRACE_* */
	struct xarray gfns;		/* traced gfn -> xa_mk_value(1) */
	unsigned long nr_gfns;
	u64 epoch;
};

static struct kvx_wtrace *kvx_wtrace(struct kvm *kvm)
{
	/* Pairs with the release in kvx_wtrace_enable_cap(). */
	return smp_load_acquire(&kvm->arch.kvx_wtrace);
}

static u32 kvx_wtrace_modes(void)
{
	u32 modes = BIT(KVX_WTRACE_WRPROT);

	if (IS_ENABLED(CONFIG_KVM_EXTERNAL_WRITE_TRACKING))
		modes |= BIT(KVX_WTRACE_TRAP);

	if (!tdp_enabled || !tdp_mmu_enabled)
		return 0;
	if (kvm_cpu_dirty_log_size())
		modes |= BIT(KVX_WTRACE_PML);
	return modes;
}

int kvx_wtrace_check_extension(struct kvm *kvm, long ext)
{
	return kvx_wtrace_modes();
}

/* ---- hooks ---- */

void kvx_wtrace_mark(struct kvm *kvm, const struct kvm_memory_slot *slot,
		     gfn_t gfn)
{
	struct kvx_wtrace *wt = kvx_wtrace(kvm);

	if (likely(!wt) || !xa_load(&wt->gfns, gfn))
		return;
	xa_set_mark(&wt->gfns, gfn, KVX_WTRACE_WRITTEN);
}

static bool kvx_wtrace_any(struct kvx_wtrace *wt, unsigned long first,
			   unsigned long last)
{
	unsigned long index = first;

	return !!xa_find(&wt->gfns, &index, last, XA_PRESENT);
}

/*
 * kvm_faultin_pfn(): traced pages are mapped 4K, and writable only once
 * written in this epoch, so the first write of an epoch is always seen.
 */
void kvx_wtrace_faultin(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvx_wtrace *wt = kvx_wtrace(vcpu->kvm);
	unsigned long pages, first;
	int level;

	if (likely(!wt) || !fault->slot)
		return;
	if (xa_load(&wt->gfns, fault->gfn)) {
		fault->max_level = PG_LEVEL_4K;
		if (fault->write)
			xa_set_mark(&wt->gfns, fault->gfn, KVX_WTRACE_WRITTEN);
		else
			fault->kvx_acc_deny |= ACC_WRITE_MASK;
		return;
	}
	for (level = fault->max_level; level > PG_LEVEL_4K; level--) {
		pages = KVM_PAGES_PER_HPAGE(level);
		first = fault->gfn & ~(pages - 1);
		if (!kvx_wtrace_any(wt, first, first + pages - 1))
			break;
	}
	fault->max_level = level;
}

/* ---- enable / disable ---- */

static void kvx_wtrace_track(struct kvm *kvm, u64 first, u64 end, bool add);

static void kvx_wtrace_free(struct kvm *kvm, struct kvx_wtrace *wt)
{
	unsigned long gfn;
	void *e;

	if (wt->mode == KVX_WTRACE_TRAP) {
		xa_for_each(&wt->gfns, gfn, e)
			kvx_wtrace_track(kvm, gfn, gfn + 1, false);
	}
	if (wt->mode == KVX_WTRACE_PML) {
		/* As kvm_commit_memory_region() does, under slots_lock. */
		atomic_set(&kvm->nr_memslots_dirty_logging,
			   atomic_read(&kvm->nr_memslots_dirty_logging) - 1);
		kvm_make_all_cpus_request(kvm, KVM_REQ_UPDATE_CPU_DIRTY_LOGGING);
	}
	xa_destroy(&wt->gfns);
	kfree(wt);
}

int kvx_wtrace_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	struct kvx_wtrace *wt;
	u64 mode = cap->args[0];
	int r = 0;

	if (cap->args[1] || cap->args[2] || cap->args[3])
		return -EINVAL;
	if (mode > KVX_WTRACE_TRAP)
		return -EINVAL;
	if (mode && !(kvx_wtrace_modes() & BIT(mode)))
		return -EOPNOTSUPP;

	mutex_lock(&kvm->slots_lock);
	wt = kvm->arch.kvx_wtrace;
	if (!mode) {
		if (wt) {
			WRITE_ONCE(kvm->arch.kvx_wtrace, NULL);
			/* No hook still looks at it; the pages keep their SPTEs. */
			synchronize_srcu_expedited(&kvm->srcu);
			kvx_wtrace_free(kvm, wt);
		}
		goto out;
	}
	r = -EBUSY;
	if (wt)
		goto out;
	if (mode == KVX_WTRACE_TRAP) {
		r = kvm_enable_external_write_tracking(kvm);
		if (r)
			goto out;
	}
	r = -ENOMEM;
	wt = kzalloc(sizeof(*wt), GFP_KERNEL_ACCOUNT);
	if (!wt)
		goto out;
	wt->mode = mode;
	xa_init(&wt->gfns);
	if (mode == KVX_WTRACE_PML) {
		/* PML is on in the VMCS while any slot logs dirty pages. */
		atomic_set(&kvm->nr_memslots_dirty_logging,
			   atomic_read(&kvm->nr_memslots_dirty_logging) + 1);
		kvm_make_all_cpus_request(kvm, KVM_REQ_UPDATE_CPU_DIRTY_LOGGING);
	}
	/* Pairs with kvx_wtrace(): hooks see a complete state. */
	smp_store_release(&kvm->arch.kvx_wtrace, wt);
	r = 0;
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

void kvx_wtrace_destroy_vm(struct kvm *kvm)
{
	struct kvx_wtrace *wt = kvm->arch.kvx_wtrace;

	if (!wt)
		return;
	kvm->arch.kvx_wtrace = NULL;
	xa_destroy(&wt->gfns);
	kfree(wt);
}

/* ---- ranges ---- */

/*
 * KVX_WTRACE_TRAP: write-track [first, end) in the slots that exist now.
 * A slot created later starts untracked; its traced pages then behave as in
 * KVX_WTRACE_WRPROT.  Removal only drops counts this VM's trace added.
 */
static void kvx_wtrace_track(struct kvm *kvm, u64 first, u64 end, bool add)
{
	struct kvm_memory_slot *slot;
	u64 gfn;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	for (gfn = first; gfn < end; gfn++) {
		slot = gfn_to_memslot(kvm, gfn);
		if (!slot)
			continue;
		if (add)
			__kvm_write_track_add_gfn(kvm, slot, gfn);
		else if (kvm_gfn_is_write_tracked(kvm, slot, gfn))
			__kvm_write_track_remove_gfn(kvm, slot, gfn);
	}
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->srcu, idx);
}

static int kvx_wtrace_set_range(struct kvm *kvm, struct kvx_wtrace *wt,
				void __user *argp)
{
	struct kvx_wtrace_range a;
	u64 gfn, end;
	int r;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.pad || !kvx_mem_is_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	r = kvx_check_flags(a.flags, KVX_WTRACE_RANGE_REMOVE);
	if (r)
		return r;
	r = kvx_check_gfn_range(a.gfn, a.npages, kvm_mmu_max_gfn() + 1);
	if (r)
		return r;
	end = a.gfn + a.npages;

	if (a.flags & KVX_WTRACE_RANGE_REMOVE) {
		for (gfn = a.gfn; gfn < end; gfn++) {
			if (!xa_erase(&wt->gfns, gfn))
				continue;
			wt->nr_gfns--;
			if (wt->mode == KVX_WTRACE_TRAP)
				kvx_wtrace_track(kvm, gfn, gfn + 1, false);
			cond_resched();
		}
		/* Untraced pages may be mapped huge and writable again. */
		kvm_zap_gfn_range(kvm, a.gfn, end);
		r = 0;
		goto out;
	}

	r = -ENOSPC;
	if (a.npages > KVX_WTRACE_MAX_PAGES - wt->nr_gfns)
		goto out;
	/*
	 * New entries hold 2 until the whole range is in, so a failure can
	 * take out exactly what this call added.
	 */
	for (gfn = a.gfn; gfn < end; gfn++) {
		r = xa_insert(&wt->gfns, gfn, xa_mk_value(2), GFP_KERNEL_ACCOUNT);
		if (r == -EBUSY) {
			r = 0;
			continue;
		}
		if (r)
			break;
		wt->nr_gfns++;
		cond_resched();
	}
	for (end = gfn, gfn = a.gfn; gfn < end; gfn++) {
		if (xa_load(&wt->gfns, gfn) != xa_mk_value(2))
			continue;
		if (r) {
			xa_erase(&wt->gfns, gfn);
			wt->nr_gfns--;
			continue;
		}
		xa_store(&wt->gfns, gfn, xa_mk_value(1), GFP_KERNEL_ACCOUNT);
		if (wt->mode == KVX_WTRACE_TRAP)
			kvx_wtrace_track(kvm, gfn, gfn + 1, true);
		cond_resched();
	}
	if (r)
		goto out;
	/* Existing mappings may be writable or huge: fault them in again. */
	kvm_zap_gfn_range(kvm, a.gfn, end);
out:
	return r;
}

/* ---- harvest ---- */

/*
 * Re-arm one written page in every root: with PML clear its dirty bit, as
 * dirty logging does; otherwise take write access away for good (not just
 * the W bit), so the next write takes the slow fault path.
 */
static void kvx_wtrace_rearm(struct kvm *kvm, struct kvx_wtrace *wt, gfn_t gfn)
{
	struct kvm_memory_slot *slot = gfn_to_memslot(kvm, gfn);

	if (!slot)
		return;
	if (wt->mode == KVX_WTRACE_PML)
		kvm_arch_mmu_enable_log_dirty_pt_masked(kvm, slot,
							gfn - slot->base_gfn, 1);
	else
		kvm_mmu_slot_gfn_write_protect(kvm, slot, gfn, PG_LEVEL_4K);
}

static int kvx_wtrace_harvest(struct kvm *kvm, struct kvx_wtrace *wt,
			      void __user *argp)
{
	struct kvx_wtrace_harvest h;
	struct kvm_vcpu *vcpu;
	unsigned long index, i;
	u64 *gfns;
	u32 n = 0;
	void *e;
	int r, idx;

	if (copy_from_user(&h, argp, sizeof(h)))
		return -EFAULT;
	if (h.flags || h.count || h.epoch ||
	    !kvx_mem_is_zero(h.reserved, sizeof(h.reserved)))
		return -EINVAL;
	if (!h.max || h.max > KVX_WTRACE_MAX_PAGES)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(h.gfns), (size_t)h.max * sizeof(u64)))
		return -EFAULT;
	gfns = kvmalloc_array(h.max, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!gfns)
		return -ENOMEM;

	/* PML buffers are flushed at the next exit. */
	kvm_for_each_vcpu(i, vcpu, kvm)
		kvm_vcpu_kick(vcpu);

	xa_for_each_marked(&wt->gfns, index, e, KVX_WTRACE_WRITTEN) {
		if (n == h.max) {
			h.flags |= KVX_WTRACE_OVERFLOW;
			break;
		}
		xa_clear_mark(&wt->gfns, index, KVX_WTRACE_WRITTEN);
		gfns[n++] = index;
	}

	/*
	 * Re-arm after taking the marks: a write from now on is marked again.
	 * The caller reads page contents after this returns, so a write that
	 * raced with the re-arm is in what it reads.
	 */
	if (n) {
		idx = srcu_read_lock(&kvm->srcu);
		write_lock(&kvm->mmu_lock);
		/*
		 * As an invalidation: a fault that marked one of these pages
		 * before its SPTE existed is made stale and retries (and marks
		 * again) instead of installing an SPTE this re-arm missed.
		 */
		kvm_mmu_invalidate_begin(kvm);
		for (i = 0; i < n; i++) {
			kvm_mmu_invalidate_range_add(kvm, gfns[i], gfns[i] + 1);
			kvx_wtrace_rearm(kvm, wt, gfns[i]);
		}
		kvm_mmu_invalidate_end(kvm);
		write_unlock(&kvm->mmu_lock);
		srcu_read_unlock(&kvm->srcu, idx);
		kvm_flush_remote_tlbs(kvm);
	}

	h.count = n;
	h.epoch = ++wt->epoch;
	r = 0;
	if (copy_to_user(u64_to_user_ptr(h.gfns), gfns, n * sizeof(u64)) ||
	    copy_to_user(argp, &h, sizeof(h))) {
		/* Not reported: report them next time. */
		for (i = 0; i < n; i++)
			xa_set_mark(&wt->gfns, gfns[i], KVX_WTRACE_WRITTEN);
		wt->epoch--;
		r = -EFAULT;
	}
	kvfree(gfns);
	return r;
}

/*
 * slots_lock serializes ranges, harvests (also from several threads) and
 * turning tracing off, and keeps memslots from changing under a harvest.
 */
int kvx_wtrace_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	struct kvx_wtrace *wt;
	int r;

	mutex_lock(&kvm->slots_lock);
	wt = kvm->arch.kvx_wtrace;
	if (!wt)
		r = -ENXIO;
	else if (ioctl == KVX_WTRACE_SET_RANGE)
		r = kvx_wtrace_set_range(kvm, wt, argp);
	else
		r = kvx_wtrace_harvest(kvm, wt, argp);
	mutex_unlock(&kvm->slots_lock);
	return r;
}
