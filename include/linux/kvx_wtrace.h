/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx write tracing for in-kernel consumers: the deferred, batched
 * counterpart of page-track's track_write (Documentation/virt/kvx/wtrace.rst,
 * "In-kernel consumers").  The functions are in kvx's kvm.ko; a module that
 * must also load with a stock kvm.ko takes them with symbol_get().
 */
#ifndef _LINUX_KVX_WTRACE_H
#define _LINUX_KVX_WTRACE_H

#include <linux/bits.h>
#include <linux/kvm_types.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct kvm;
struct kvx_wtrace_consumer;
struct mm_struct;

struct kvx_wtrace_consumer_ops {
	/*
	 * Called by kvx_wtrace_sync() of this consumer only, in its caller's
	 * context, with kvm->slots_lock held: @n (1..KVX_WTRACE_BATCH) of the
	 * consumer's GFNs, each written since it was last reported to it.
	 */
	void (*written)(struct kvx_wtrace_consumer *c, const gfn_t *gfns,
			unsigned int n);
};

/* Most GFNs per written() call. */
#define KVX_WTRACE_BATCH	64

/*
 * kvx_wtrace_consumer.flags.  NO_EXITS: register only where writes are
 * logged without a VM exit (PML); elsewhere kvx_wtrace_register() fails
 * with -EOPNOTSUPP and the consumer does without (e.g. keeps polling).
 */
#define KVX_WTRACE_CONSUMER_NO_EXITS	BIT(0)

/*
 * Filled by the consumer: @ops and @flags.  The rest belongs to kvx, under
 * kvm->slots_lock: @gfns holds the consumer's traced GFNs, marked while
 * written and not yet reported to it.
 */
struct kvx_wtrace_consumer {
	const struct kvx_wtrace_consumer_ops *ops;
	unsigned int flags;		/* KVX_WTRACE_CONSUMER_* */
	struct list_head node;
	struct xarray gfns;
};

int kvx_wtrace_register(struct kvm *kvm, struct kvx_wtrace_consumer *c);
void kvx_wtrace_unregister(struct kvm *kvm, struct kvx_wtrace_consumer *c);
int kvx_wtrace_add_range(struct kvm *kvm, struct kvx_wtrace_consumer *c,
			 gfn_t gfn, u64 npages);
void kvx_wtrace_remove_range(struct kvm *kvm, struct kvx_wtrace_consumer *c,
			     gfn_t gfn, u64 npages);
void kvx_wtrace_sync(struct kvm *kvm, struct kvx_wtrace_consumer *c);

/* The GFN of @kvm's memslot that maps @hva of @mm (kvx-mvf's mailbox). */
int kvx_hva_to_gfn(struct kvm *kvm, struct mm_struct *mm, unsigned long hva,
		   gfn_t *gfn);
/* kvm_page_track_register_notifier() under kvm->srcu. */
int kvx_page_track_register_notifier(struct kvm *kvm,
				     struct kvm_page_track_notifier_node *n);

#endif /* _LINUX_KVX_WTRACE_H */
