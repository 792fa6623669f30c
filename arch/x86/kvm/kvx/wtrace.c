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
#include <linux/kvx_wtrace.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <uapi/linux/kvx.h>

#include "kvx_internal.h"
#include "uapi_check.h"
#include "../mmu.h"
#include "../mmu/mmu_internal.h"
#include "../mmu/page_track.h"
#include "../mmu/spte.h"

/*
 * A traced GFN's entry in kvx_wtrace.gfns says who traces it: userspace
 * (a KVX_WTRACE_SET_RANGE range, or one being added) and how many in-kernel
 * consumers, counted above KVX_WTRACE_CONSUMER_SHIFT.
 */
#define KVX_WTRACE_USER			BIT(0)
#define KVX_WTRACE_USER_NEW		BIT(1)
#define KVX_WTRACE_CONSUMER_SHIFT	2
#define KVX_WTRACE_ONE_CONSUMER		BIT(KVX_WTRACE_CONSUMER_SHIFT)

/*
 * Each reader has its mark, set by every noticed write of a GFN it traces:
 * written since last reported to userspace, written since last handed to
 * the consumers.  A consumer's own gfns mark KVX_WTRACE_PENDING what was
 * handed to it and not yet reported by its kvx_wtrace_sync().
 */
#define KVX_WTRACE_WRITTEN		XA_MARK_0
#define KVX_WTRACE_FOR_CONSUMERS	XA_MARK_1
#define KVX_WTRACE_PENDING		XA_MARK_0

/* A consumer's entry while its kvx_wtrace_add_range() is in progress. */
#define KVX_WTRACE_CONSUMER_NEW		1

/*
 * Exists while userspace enabled tracing (@user) or a consumer is
 * registered.  Hooks read @gfns locklessly; everything else is under
 * slots_lock.  @nr_gfns counts userspace's GFNs.
 */
struct kvx_wtrace {
	u32 mode;			/* KVX_WTRACE_* */
	bool user;
	struct xarray gfns;		/* traced gfn -> xa_mk_value(who) */
	unsigned long nr_gfns;
	u64 epoch;
	struct list_head consumers;
};

static struct kvx_wtrace *kvx_wtrace(struct kvm *kvm)
{
	/* Pairs with the release in kvx_wtrace_create(). */
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

static unsigned long kvx_wtrace_who(void *entry)
{
	return entry ? xa_to_value(entry) : 0;
}

/*
 * A noticed write of a traced GFN: set the mark of every reader that
 * traces it.  A reader added meanwhile zaps the GFN after adding itself,
 * so a write it must see faults again and is marked for it then.
 */
static void kvx_wtrace_mark_written(struct kvx_wtrace *wt, gfn_t gfn,
				    void *entry)
{
	unsigned long who = kvx_wtrace_who(entry);

	if (who & (KVX_WTRACE_USER | KVX_WTRACE_USER_NEW))
		xa_set_mark(&wt->gfns, gfn, KVX_WTRACE_WRITTEN);
	if (who >= KVX_WTRACE_ONE_CONSUMER)
		xa_set_mark(&wt->gfns, gfn, KVX_WTRACE_FOR_CONSUMERS);
}

void kvx_wtrace_mark(struct kvm *kvm, const struct kvm_memory_slot *slot,
		     gfn_t gfn)
{
	struct kvx_wtrace *wt = kvx_wtrace(kvm);
	void *entry;

	if (likely(!wt))
		return;
	entry = xa_load(&wt->gfns, gfn);
	if (entry)
		kvx_wtrace_mark_written(wt, gfn, entry);
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
	void *entry;
	int level;

	if (likely(!wt) || !fault->slot)
		return;
	entry = xa_load(&wt->gfns, fault->gfn);
	if (entry) {
		fault->max_level = PG_LEVEL_4K;
		if (fault->write)
			kvx_wtrace_mark_written(wt, fault->gfn, entry);
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

/* ---- state ---- */

static void kvx_wtrace_track(struct kvm *kvm, u64 first, u64 end, bool add);

/*
 * The first of userspace's KVM_ENABLE_CAP and a consumer's registration
 * creates the state, in the mode it asks for.
 */
static struct kvx_wtrace *kvx_wtrace_create(struct kvm *kvm, u32 mode)
{
	struct kvx_wtrace *wt;
	int r;

	lockdep_assert_held(&kvm->slots_lock);

	if (mode == KVX_WTRACE_TRAP) {
		r = kvm_enable_external_write_tracking(kvm);
		if (r)
			return ERR_PTR(r);
	}
	wt = kzalloc(sizeof(*wt), GFP_KERNEL_ACCOUNT);
	if (!wt)
		return ERR_PTR(-ENOMEM);
	wt->mode = mode;
	xa_init(&wt->gfns);
	INIT_LIST_HEAD(&wt->consumers);
	if (mode == KVX_WTRACE_PML) {
		/* PML is on in the VMCS while any slot logs dirty pages. */
		atomic_set(&kvm->nr_memslots_dirty_logging,
			   atomic_read(&kvm->nr_memslots_dirty_logging) + 1);
		kvm_make_all_cpus_request(kvm, KVM_REQ_UPDATE_CPU_DIRTY_LOGGING);
	}
	/* Pairs with kvx_wtrace(): hooks see a complete state. */
	smp_store_release(&kvm->arch.kvx_wtrace, wt);
	return wt;
}

/*
 * Free the state once neither userspace nor a consumer uses it; the pages
 * keep their SPTEs.
 */
static void kvx_wtrace_put(struct kvm *kvm, struct kvx_wtrace *wt)
{
	lockdep_assert_held(&kvm->slots_lock);

	if (wt->user || !list_empty(&wt->consumers))
		return;
	WRITE_ONCE(kvm->arch.kvx_wtrace, NULL);
	/* No hook still looks at it. */
	synchronize_srcu_expedited(&kvm->srcu);
	if (wt->mode == KVX_WTRACE_PML) {
		/* As kvm_commit_memory_region() does, under slots_lock. */
		atomic_set(&kvm->nr_memslots_dirty_logging,
			   atomic_read(&kvm->nr_memslots_dirty_logging) - 1);
		kvm_make_all_cpus_request(kvm, KVM_REQ_UPDATE_CPU_DIRTY_LOGGING);
	}
	xa_destroy(&wt->gfns);
	kfree(wt);
}

/*
 * Update who traces @gfn.  Replacing an entry allocates nothing, and the
 * marks stay; the last reader gone, the entry goes with its marks.
 */
static void kvx_wtrace_set_who(struct kvx_wtrace *wt, gfn_t gfn,
			       unsigned long who)
{
	if (who)
		xa_store(&wt->gfns, gfn, xa_mk_value(who), GFP_KERNEL_ACCOUNT);
	else
		xa_erase(&wt->gfns, gfn);
}

/* Userspace stops tracing @gfn, whose entry says @who. */
static void kvx_wtrace_untrace_user(struct kvm *kvm, struct kvx_wtrace *wt,
				    gfn_t gfn, unsigned long who)
{
	if (wt->mode == KVX_WTRACE_TRAP)
		kvx_wtrace_track(kvm, gfn, gfn + 1, false);
	xa_clear_mark(&wt->gfns, gfn, KVX_WTRACE_WRITTEN);
	kvx_wtrace_set_who(wt, gfn, who & ~KVX_WTRACE_USER);
	wt->nr_gfns--;
}

/*
 * KVM_ENABLE_CAP: userspace turns tracing on in @mode, or off (mode 0),
 * dropping its ranges.  With consumers registered the state exists
 * already; userspace then joins it in the same mode or gets -EBUSY.
 */
int kvx_wtrace_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	struct kvx_wtrace *wt;
	u64 mode = cap->args[0];
	unsigned long gfn;
	void *entry;
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
		if (wt && wt->user) {
			xa_for_each(&wt->gfns, gfn, entry) {
				if (kvx_wtrace_who(entry) & KVX_WTRACE_USER)
					kvx_wtrace_untrace_user(kvm, wt, gfn,
								kvx_wtrace_who(entry));
				cond_resched();
			}
			wt->user = false;
			kvx_wtrace_put(kvm, wt);
		}
		goto out;
	}
	r = -EBUSY;
	if (wt && (wt->user || wt->mode != mode))
		goto out;
	if (!wt) {
		wt = kvx_wtrace_create(kvm, mode);
		r = PTR_ERR_OR_ZERO(wt);
		if (r)
			goto out;
	}
	wt->user = true;
	r = 0;
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/* Consumers hold a reference to the VM until they unregister. */
void kvx_wtrace_destroy_vm(struct kvm *kvm)
{
	struct kvx_wtrace *wt = kvm->arch.kvx_wtrace;

	if (!wt)
		return;
	WARN_ON_ONCE(!list_empty(&wt->consumers));
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
	unsigned long who, index;
	u64 gfn, end;
	void *entry;
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
		/* Visit the traced GFNs only: the range may be 2^40 pages. */
		xa_for_each_range(&wt->gfns, index, entry, a.gfn, end - 1) {
			who = kvx_wtrace_who(entry);
			if (!(who & KVX_WTRACE_USER))
				continue;
			kvx_wtrace_untrace_user(kvm, wt, index, who);
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
	 * New GFNs are KVX_WTRACE_USER_NEW until the whole range is in, so a
	 * failure can take out exactly what this call added.
	 */
	r = 0;
	for (gfn = a.gfn; gfn < end; gfn++) {
		who = kvx_wtrace_who(xa_load(&wt->gfns, gfn));
		if (who & KVX_WTRACE_USER)
			continue;
		r = xa_err(xa_store(&wt->gfns, gfn,
				    xa_mk_value(who | KVX_WTRACE_USER_NEW),
				    GFP_KERNEL_ACCOUNT));
		if (r)
			break;
		wt->nr_gfns++;
		cond_resched();
	}
	for (end = gfn, gfn = a.gfn; gfn < end; gfn++) {
		who = kvx_wtrace_who(xa_load(&wt->gfns, gfn));
		if (!(who & KVX_WTRACE_USER_NEW))
			continue;
		who &= ~KVX_WTRACE_USER_NEW;
		if (r) {
			xa_clear_mark(&wt->gfns, gfn, KVX_WTRACE_WRITTEN);
			kvx_wtrace_set_who(wt, gfn, who);
			wt->nr_gfns--;
			continue;
		}
		kvx_wtrace_set_who(wt, gfn, who | KVX_WTRACE_USER);
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
 * A vCPU's PML buffer reaches the marks at its next exit: kick them all.
 * Faults and emulated writes mark at once, before the write is done.
 */
static void kvx_wtrace_flush_logs(struct kvm *kvm, struct kvx_wtrace *wt)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	if (wt->mode != KVX_WTRACE_PML)
		return;
	kvm_for_each_vcpu(i, vcpu, kvm)
		kvm_vcpu_kick(vcpu);
}

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

/*
 * Take up to @max GFNs marked @mark into @gfns, clearing their marks, and
 * re-arm them.  Returns how many; *@more says whether marked GFNs remain.
 *
 * Re-arming a page whose other reader has not taken its mark yet loses
 * nothing: that mark stays set, and the next write marks the page again
 * for everyone.  The re-arm comes after taking the marks: a write from
 * then on is marked again.  The reader looks at the pages after this
 * returns, so a write that raced with the re-arm is in what it sees.
 */
static u32 kvx_wtrace_take(struct kvm *kvm, struct kvx_wtrace *wt,
			   xa_mark_t mark, gfn_t *gfns, u32 max, bool *more)
{
	unsigned long index;
	void *entry;
	u32 i, n = 0;
	int idx;

	lockdep_assert_held(&kvm->slots_lock);

	*more = false;
	xa_for_each_marked(&wt->gfns, index, entry, mark) {
		if (n == max) {
			*more = true;
			break;
		}
		xa_clear_mark(&wt->gfns, index, mark);
		gfns[n++] = index;
	}
	if (!n)
		return 0;

	idx = srcu_read_lock(&kvm->srcu);
	write_lock(&kvm->mmu_lock);
	/*
	 * As an invalidation: a fault that marked one of these pages before
	 * its SPTE existed is made stale and retries (and marks again)
	 * instead of installing an SPTE this re-arm missed.
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
	return n;
}

static int kvx_wtrace_harvest(struct kvm *kvm, struct kvx_wtrace *wt,
			      void __user *argp)
{
	struct kvx_wtrace_harvest h;
	bool more;
	u64 *gfns;
	u32 n, i;
	int r;

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

	kvx_wtrace_flush_logs(kvm, wt);
	n = kvx_wtrace_take(kvm, wt, KVX_WTRACE_WRITTEN, gfns, h.max, &more);
	if (more)
		h.flags |= KVX_WTRACE_OVERFLOW;

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
 * slots_lock serializes ranges, harvests (also from several threads),
 * consumers and turning tracing off, and keeps memslots from changing
 * under a harvest.
 */
int kvx_wtrace_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	struct kvx_wtrace *wt;
	int r;

	mutex_lock(&kvm->slots_lock);
	wt = kvm->arch.kvx_wtrace;
	if (!wt || !wt->user)
		r = -ENXIO;
	else if (ioctl == KVX_WTRACE_SET_RANGE)
		r = kvx_wtrace_set_range(kvm, wt, argp);
	else
		r = kvx_wtrace_harvest(kvm, wt, argp);
	mutex_unlock(&kvm->slots_lock);
	return r;
}

/* ---- in-kernel consumers ---- */

/*
 * The state of a registered consumer's VM.  The caller holds slots_lock,
 * under which the state cannot go while a consumer is registered.
 */
static struct kvx_wtrace *kvx_wtrace_of(struct kvm *kvm,
					struct kvx_wtrace_consumer *c)
{
	lockdep_assert_held(&kvm->slots_lock);

	return kvm->arch.kvx_wtrace;
}

/**
 * kvx_wtrace_register - start a consumer of @kvm's write tracing
 * @kvm: the VM; the caller holds a reference until kvx_wtrace_unregister()
 * @c: the consumer, @c->ops and @c->flags set
 *
 * The consumer traces nothing yet.  If userspace has not enabled tracing,
 * it is enabled in the best mode the host has (PML, else WRPROT) for as
 * long as consumers are registered, invisibly to userspace, which can
 * still enable it in that mode.
 *
 * Context: process; takes and releases kvm->slots_lock.
 * Return: 0; -EINVAL for unknown @c->flags; -EOPNOTSUPP if the host cannot
 * trace writes (no TDP MMU), or with KVX_WTRACE_CONSUMER_NO_EXITS if it
 * cannot do so without exits (no PML, or userspace traces in another
 * mode); -ENOMEM.
 */
int kvx_wtrace_register(struct kvm *kvm, struct kvx_wtrace_consumer *c)
{
	struct kvx_wtrace *wt;
	u32 modes = kvx_wtrace_modes();
	int r = 0;

	if (c->flags & ~KVX_WTRACE_CONSUMER_NO_EXITS)
		return -EINVAL;
	if (!modes || ((c->flags & KVX_WTRACE_CONSUMER_NO_EXITS) &&
		       !(modes & BIT(KVX_WTRACE_PML))))
		return -EOPNOTSUPP;

	mutex_lock(&kvm->slots_lock);
	wt = kvm->arch.kvx_wtrace;
	/* Userspace chose another mode first. */
	r = -EOPNOTSUPP;
	if (wt && (c->flags & KVX_WTRACE_CONSUMER_NO_EXITS) &&
	    wt->mode != KVX_WTRACE_PML)
		goto out;
	r = 0;
	if (!wt) {
		wt = kvx_wtrace_create(kvm, modes & BIT(KVX_WTRACE_PML) ?
					    KVX_WTRACE_PML : KVX_WTRACE_WRPROT);
		r = PTR_ERR_OR_ZERO(wt);
		if (r)
			goto out;
	}
	xa_init(&c->gfns);
	list_add(&c->node, &wt->consumers);
out:
	mutex_unlock(&kvm->slots_lock);
	return r;
}
EXPORT_SYMBOL_GPL(kvx_wtrace_register);

/* @c stops tracing @gfn; its reports of @gfn not yet made are dropped. */
static void kvx_wtrace_untrace_consumer(struct kvx_wtrace *wt,
					struct kvx_wtrace_consumer *c,
					gfn_t gfn)
{
	unsigned long who = kvx_wtrace_who(xa_load(&wt->gfns, gfn));

	xa_erase(&c->gfns, gfn);
	if (WARN_ON_ONCE(who < KVX_WTRACE_ONE_CONSUMER))
		return;
	who -= KVX_WTRACE_ONE_CONSUMER;
	if (who < KVX_WTRACE_ONE_CONSUMER)
		xa_clear_mark(&wt->gfns, gfn, KVX_WTRACE_FOR_CONSUMERS);
	kvx_wtrace_set_who(wt, gfn, who);
}

/**
 * kvx_wtrace_add_range - trace [@gfn, @gfn + @npages) for @c
 * @kvm: the VM @c is registered with
 * @c: the consumer
 * @gfn: first GFN
 * @npages: number of GFNs, at least 1
 *
 * Every write to these GFNs that completes after this returns is reported
 * to @c by a later kvx_wtrace_sync() of @c: by the first that starts after
 * the write completed, or the one after it.  GFNs @c traces already stay
 * as they are; GFNs without a memslot are traced from when one exists.
 * Other consumers and userspace tracing the same GFNs see the same writes.
 *
 * Context: process; takes and releases kvm->slots_lock.
 * Return: 0; -EINVAL for an empty range or one beyond the VM's GFNs;
 * -ENOMEM, after which @c traces what it traced before.
 */
int kvx_wtrace_add_range(struct kvm *kvm, struct kvx_wtrace_consumer *c,
			 gfn_t gfn, u64 npages)
{
	struct kvx_wtrace *wt;
	unsigned long who;
	u64 g, end;
	int r;

	r = kvx_check_gfn_range(gfn, npages, kvm_mmu_max_gfn() + 1);
	if (r)
		return r;
	end = gfn + npages;

	mutex_lock(&kvm->slots_lock);
	wt = kvx_wtrace_of(kvm, c);
	for (g = gfn; g < end; g++) {
		r = xa_insert(&c->gfns, g, xa_mk_value(KVX_WTRACE_CONSUMER_NEW),
			      GFP_KERNEL_ACCOUNT);
		if (r == -EBUSY) {
			r = 0;
			continue;
		}
		if (r)
			break;
		who = kvx_wtrace_who(xa_load(&wt->gfns, g));
		r = xa_err(xa_store(&wt->gfns, g,
				    xa_mk_value(who + KVX_WTRACE_ONE_CONSUMER),
				    GFP_KERNEL_ACCOUNT));
		if (r) {
			xa_erase(&c->gfns, g);
			break;
		}
		cond_resched();
	}
	for (end = g, g = gfn; g < end; g++) {
		if (xa_load(&c->gfns, g) != xa_mk_value(KVX_WTRACE_CONSUMER_NEW))
			continue;
		if (r)
			kvx_wtrace_untrace_consumer(wt, c, g);
		else
			xa_store(&c->gfns, g, xa_mk_value(0), GFP_KERNEL_ACCOUNT);
	}
	/*
	 * Existing mappings may be writable or huge: fault them in again.
	 * A fault racing with this sees the invalidation, retries, and marks
	 * the GFN for @c.
	 */
	if (!r)
		kvm_zap_gfn_range(kvm, gfn, end);
	mutex_unlock(&kvm->slots_lock);
	return r;
}
EXPORT_SYMBOL_GPL(kvx_wtrace_add_range);

/**
 * kvx_wtrace_remove_range - stop tracing [@gfn, @gfn + @npages) for @c
 * @kvm: the VM @c is registered with
 * @c: the consumer
 * @gfn: first GFN
 * @npages: number of GFNs
 *
 * GFNs @c does not trace are left alone; reports of the removed GFNs not
 * made yet are dropped.
 *
 * Context: process; takes and releases kvm->slots_lock.
 */
void kvx_wtrace_remove_range(struct kvm *kvm, struct kvx_wtrace_consumer *c,
			     gfn_t gfn, u64 npages)
{
	struct kvx_wtrace *wt;
	unsigned long index;
	void *entry;

	if (!npages || gfn + npages < gfn)
		return;

	mutex_lock(&kvm->slots_lock);
	wt = kvx_wtrace_of(kvm, c);
	xa_for_each_range(&c->gfns, index, entry, gfn, gfn + npages - 1) {
		kvx_wtrace_untrace_consumer(wt, c, index);
		cond_resched();
	}
	/* Untraced pages may be mapped huge and writable again. */
	kvm_zap_gfn_range(kvm, gfn, gfn + npages);
	mutex_unlock(&kvm->slots_lock);
}
EXPORT_SYMBOL_GPL(kvx_wtrace_remove_range);

/**
 * kvx_wtrace_unregister - stop a consumer
 * @kvm: the VM @c is registered with
 * @c: the consumer
 *
 * Its ranges go, and with them reports not made yet; no callback runs
 * once this returns (none runs but from @c's own kvx_wtrace_sync()).
 *
 * Context: process; takes and releases kvm->slots_lock.
 */
void kvx_wtrace_unregister(struct kvm *kvm, struct kvx_wtrace_consumer *c)
{
	unsigned long index, first = ULONG_MAX, last = 0;
	struct kvx_wtrace *wt;
	void *entry;

	mutex_lock(&kvm->slots_lock);
	wt = kvx_wtrace_of(kvm, c);
	xa_for_each(&c->gfns, index, entry) {
		first = min(first, index);
		last = index;
		kvx_wtrace_untrace_consumer(wt, c, index);
		cond_resched();
	}
	if (first <= last)
		kvm_zap_gfn_range(kvm, first, last + 1);
	list_del(&c->node);
	xa_destroy(&c->gfns);
	kvx_wtrace_put(kvm, wt);
	mutex_unlock(&kvm->slots_lock);
}
EXPORT_SYMBOL_GPL(kvx_wtrace_unregister);

/**
 * kvx_wtrace_sync - a harvest at @c's coherency point
 * @kvm: the VM @c is registered with
 * @c: the consumer
 *
 * Hands the GFNs written since the last harvest of any consumer to every
 * consumer that traces them, re-arms them, and reports @c's, written since
 * last reported to it, through @c->ops->written() in batches of at most
 * KVX_WTRACE_BATCH.  Other consumers' reports wait for their own sync;
 * userspace's KVX_WTRACE_HARVEST takes none of them, nor they its.
 *
 * Context: process; takes and releases kvm->slots_lock, held across the
 * callbacks.
 */
void kvx_wtrace_sync(struct kvm *kvm, struct kvx_wtrace_consumer *c)
{
	struct kvx_wtrace_consumer *other;
	gfn_t gfns[KVX_WTRACE_BATCH];
	struct kvx_wtrace *wt;
	unsigned long index;
	u32 i, n;
	void *entry;
	bool more;

	mutex_lock(&kvm->slots_lock);
	wt = kvx_wtrace_of(kvm, c);
	kvx_wtrace_flush_logs(kvm, wt);
	do {
		n = kvx_wtrace_take(kvm, wt, KVX_WTRACE_FOR_CONSUMERS, gfns,
				    KVX_WTRACE_BATCH, &more);
		for (i = 0; i < n; i++) {
			list_for_each_entry(other, &wt->consumers, node) {
				if (xa_load(&other->gfns, gfns[i]))
					xa_set_mark(&other->gfns, gfns[i],
						    KVX_WTRACE_PENDING);
			}
		}
		cond_resched();
	} while (more);

	n = 0;
	xa_for_each_marked(&c->gfns, index, entry, KVX_WTRACE_PENDING) {
		xa_clear_mark(&c->gfns, index, KVX_WTRACE_PENDING);
		gfns[n++] = index;
		if (n == KVX_WTRACE_BATCH) {
			c->ops->written(c, gfns, n);
			n = 0;
		}
	}
	if (n)
		c->ops->written(c, gfns, n);
	mutex_unlock(&kvm->slots_lock);
}
EXPORT_SYMBOL_GPL(kvx_wtrace_sync);

/**
 * kvx_hva_to_gfn - the GFN at which a VM maps a host virtual address
 * @kvm: the VM; the caller holds a reference
 * @mm: the address space @hva is in
 * @hva: a host virtual address
 * @gfn: set to the GFN of the first address space 0 memslot of @kvm whose
 *	 userspace range holds @hva
 *
 * Lets a consumer find the guest page of a host mapping it made (kvx-mvf's
 * mailbox page, which the VMM mmap-ed and put into a memslot) without a
 * private ioctl; it learns of a memslot's deletion through page-track's
 * track_remove_region and looks again.  Only compares @mm, never
 * dereferences it.
 *
 * Context: process; takes and releases kvm->srcu.
 * Return: 0; -ENOENT if @mm is not the VM's or no memslot holds @hva.
 */
int kvx_hva_to_gfn(struct kvm *kvm, struct mm_struct *mm, unsigned long hva,
		   gfn_t *gfn)
{
	struct kvm_memory_slot *slot;
	int idx, bkt, r = -ENOENT;

	if (kvm->mm != mm)
		return r;
	idx = srcu_read_lock(&kvm->srcu);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm)) {
		if (hva >= slot->userspace_addr &&
		    (hva - slot->userspace_addr) >> PAGE_SHIFT < slot->npages) {
			*gfn = slot->base_gfn +
			       ((hva - slot->userspace_addr) >> PAGE_SHIFT);
			r = 0;
			break;
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return r;
}
EXPORT_SYMBOL_GPL(kvx_hva_to_gfn);

#if IS_ENABLED(CONFIG_KVM_EXTERNAL_WRITE_TRACKING)
/**
 * kvx_page_track_register_notifier - kvm_page_track_register_notifier()
 *	under kvm->srcu
 * @kvm: the VM; the caller holds a reference
 * @n: the notifier
 *
 * The first external user turns write tracking on, which walks the
 * memslots (kvm_enable_external_write_tracking()) holding slots_arch_lock,
 * not slots_lock or kvm->srcu: lockdep's "suspicious RCU usage" on the
 * debug kernel (issue 12).  KVM takes slots_arch_lock inside SRCU read
 * sides elsewhere and drops it before synchronize_srcu(), so this nests.
 * For modules built against the stock struct kvm, which cannot name
 * kvm->srcu themselves (kvx-mvf).
 *
 * Context: process, in @kvm's mm.
 * Return: what kvm_page_track_register_notifier() returns.
 */
int kvx_page_track_register_notifier(struct kvm *kvm,
				     struct kvm_page_track_notifier_node *n)
{
	int idx, r;

	idx = srcu_read_lock(&kvm->srcu);
	r = kvm_page_track_register_notifier(kvm, n);
	srcu_read_unlock(&kvm->srcu, idx);
	return r;
}
EXPORT_SYMBOL_GPL(kvx_page_track_register_notifier);
#endif
