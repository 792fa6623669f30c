/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the DIRECT mailbox mode noticed through kvx write tracing.
 */
#ifndef KVX_MVF_WTRACE_H
#define KVX_MVF_WTRACE_H

#include <linux/kvm_types.h>
#include <linux/kvx_wtrace.h>
#include <linux/types.h>

struct kvm;
struct kvx_mvf_vf;

/*
 * A write-tracing consumer of the VM that maps the mailbox page at @gfn.
 * @kvm (vdev->kvm from open_device to close) and the function pointers,
 * taken with symbol_get() from kvx's kvm.ko, change under the migration
 * mutex with the poller stopped; @gfn and @ranged (@gfn is traced) are
 * the poller's (kvx_mvf_wtrace_follow()); @on (the poller harvests
 * instead of reading the page each tick) and the counters are under the
 * VF's lock.  @written is the poller's own, set by the callback
 * of its kvx_wtrace_sync().  @syncs counts the poller's harvests,
 * @noticed those that reported the page and so led to a pass.
 */
struct kvx_mvf_wtrace {
	struct kvx_wtrace_consumer consumer;
	struct kvm *kvm;
	gfn_t gfn;
	bool ranged;
	bool on;
	bool written;
	u64 syncs;
	u64 noticed;
	void (*unregister)(struct kvm *kvm, struct kvx_wtrace_consumer *c);
	int (*add_range)(struct kvm *kvm, struct kvx_wtrace_consumer *c,
			 gfn_t gfn, u64 npages);
	void (*remove_range)(struct kvm *kvm, struct kvx_wtrace_consumer *c,
			     gfn_t gfn, u64 npages);
	void (*sync)(struct kvm *kvm, struct kvx_wtrace_consumer *c);
};

void kvx_mvf_wtrace_open(struct kvx_mvf_vf *vf, struct kvm *kvm);
void kvx_mvf_wtrace_follow(struct kvx_mvf_vf *vf);
void kvx_mvf_wtrace_release(struct kvx_mvf_vf *vf);
bool kvx_mvf_wtrace_sync(struct kvx_mvf_vf *vf);

#endif /* KVX_MVF_WTRACE_H */
