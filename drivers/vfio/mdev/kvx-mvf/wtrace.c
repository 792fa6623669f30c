// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the DIRECT mailbox mode noticed through kvx write tracing.
 *
 * Once the VF found the memslot that holds the VMM's mapping of the
 * mailbox page (ktrap.c), its GFN is traced as an in-kernel consumer of
 * kvx's write tracing (<linux/kvx_wtrace.h>), and the range follows the
 * memslot (kvx_mvf_wtrace_follow(), at each tick of the poller).  The
 * DIRECT poller's tick then is a harvest, kvx_wtrace_sync(), the
 * consumer's coherency point: the pass over the page (kvx_mvf_mbx_poll())
 * runs only when the harvest reports the page written.  Every guest write
 * that completed before a tick's harvest started is reported by it or by
 * the next one, so no request waits more than two ticks, and an idle
 * guest costs no pass.  On Intel with PML the guest's writes cost no exit.
 *
 * What the harvest reports are the guest's writes and KVM's own: with a
 * memslot over it the page belongs to the guest, as in TRAPPED mode
 * through ktrap.c, and stores through the VMM's own mapping go unseen.
 *
 * kvx's kvm.ko is optional: its functions are taken with symbol_get().
 * With a stock kvm.ko, or a host without the TDP MMU, the poller reads the
 * page every tick, as without KVM (direct.c).
 */

#include <linux/kvm_host.h>
#include <linux/lockdep.h>
#include <linux/module.h>

#include "mbx.h"
#include "mvf.h"
#include "wtrace.h"

static void kvx_mvf_wtrace_written(struct kvx_wtrace_consumer *c,
				   const gfn_t *gfns, unsigned int n)
{
	struct kvx_mvf_wtrace *wt = container_of(c, struct kvx_mvf_wtrace,
						 consumer);

	wt->written = true;
}

static const struct kvx_wtrace_consumer_ops kvx_mvf_wtrace_ops = {
	.written = kvx_mvf_wtrace_written,
};

/*
 * Put what symbol_get() returned: __symbol_put() BUGs on a symbol that
 * was not found, as when a lookup in kvx_mvf_wtrace_register() failed.
 */
static void kvx_mvf_wtrace_put_symbols(struct kvx_mvf_wtrace *wt)
{
	if (wt->sync)
		symbol_put(kvx_wtrace_sync);
	if (wt->remove_range)
		symbol_put(kvx_wtrace_remove_range);
	if (wt->add_range)
		symbol_put(kvx_wtrace_add_range);
	if (wt->unregister)
		symbol_put(kvx_wtrace_unregister);
	wt->unregister = NULL;
	wt->add_range = NULL;
	wt->remove_range = NULL;
	wt->sync = NULL;
}

/* -ENOENT without kvx's kvm.ko; kvx_wtrace_register()'s errors. */
static int kvx_mvf_wtrace_register(struct kvx_mvf_wtrace *wt,
				   struct kvm *kvm)
{
	int (*reg)(struct kvm *kvm, struct kvx_wtrace_consumer *c);
	int ret = -ENOENT;

	reg = symbol_get(kvx_wtrace_register);
	if (!reg)
		return ret;
	wt->unregister = symbol_get(kvx_wtrace_unregister);
	wt->add_range = symbol_get(kvx_wtrace_add_range);
	wt->remove_range = symbol_get(kvx_wtrace_remove_range);
	wt->sync = symbol_get(kvx_wtrace_sync);
	if (!wt->unregister || !wt->add_range || !wt->remove_range ||
	    !wt->sync)
		goto err_put_symbols;

	wt->consumer.ops = &kvx_mvf_wtrace_ops;
	/*
	 * Polling the page costs no exit; tracing without PML costs one per
	 * harvest that saw a write.  DIRECT mode is there to cost none.
	 */
	wt->consumer.flags = KVX_WTRACE_CONSUMER_NO_EXITS;
	ret = reg(kvm, &wt->consumer);
	if (ret)
		goto err_put_symbols;
	symbol_put(kvx_wtrace_register);
	return 0;

err_put_symbols:
	kvx_mvf_wtrace_put_symbols(wt);
	symbol_put(kvx_wtrace_register);
	return ret;
}

/*
 * open_device with a KVM attached: become a consumer, tracing nothing yet.
 * Without write tracing (or without PML) the poller reads the page.
 */
void kvx_mvf_wtrace_open(struct kvx_mvf_vf *vf, struct kvm *kvm)
{
	struct kvx_mvf_wtrace *wt = &vf->wtrace;

	lockdep_assert_held(&vf->mig.state_mutex);

	if (!wt->kvm && !kvx_mvf_wtrace_register(wt, kvm))
		wt->kvm = kvm;
}

/*
 * The poller's tick, without the VF's lock (the range functions take
 * slots_lock): trace the GFN of the memslot that holds the page, moving
 * the range when the memslot changed (the new one is added before the old
 * one goes).  Only the poller and close, which cancels it first, change
 * the range.  A write made before the range was traced is in the page: the
 * tick's pass handles it.
 */
void kvx_mvf_wtrace_follow(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_wtrace *wt = &vf->wtrace;
	bool armed;
	gfn_t gfn;

	if (!wt->kvm)
		return;
	mutex_lock(&vf->lock);
	armed = vf->ktrap.armed;
	gfn = vf->ktrap.gfn;
	mutex_unlock(&vf->lock);
	if (armed == wt->ranged && (!armed || gfn == wt->gfn))
		return;

	if (armed && wt->add_range(wt->kvm, &wt->consumer, gfn, 1))
		armed = false;
	if (wt->ranged)
		wt->remove_range(wt->kvm, &wt->consumer, wt->gfn, 1);
	wt->ranged = armed;
	wt->gfn = gfn;
	mutex_lock(&vf->lock);
	wt->on = armed;
	mutex_unlock(&vf->lock);
}

/*
 * Close: the VM goes with the VFIO user.  A harvest in flight is waited
 * for before the consumer goes.
 */
void kvx_mvf_wtrace_release(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_wtrace *wt = &vf->wtrace;

	lockdep_assert_held(&vf->mig.state_mutex);

	if (!wt->kvm)
		return;
	mutex_lock(&vf->lock);
	wt->on = false;
	mutex_unlock(&vf->lock);
	cancel_delayed_work_sync(&vf->poll_work);

	wt->unregister(wt->kvm, &wt->consumer);
	kvx_mvf_wtrace_put_symbols(wt);
	wt->kvm = NULL;
	wt->ranged = false;

	mutex_lock(&vf->lock);
	kvx_mvf_mbx_kick_poller(vf);
	mutex_unlock(&vf->lock);
}

/*
 * The poller's tick, without the VF's lock (the harvest takes slots_lock,
 * which KVM holds around the write-track notifier that takes the VF's
 * lock): was the page written since the last tick?  Always true when the
 * page is not traced.  kvx_mvf_wtrace_release() waits for the poller
 * before the consumer goes, so @on seen true keeps it for this call.
 */
bool kvx_mvf_wtrace_sync(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_wtrace *wt = &vf->wtrace;
	bool on;

	mutex_lock(&vf->lock);
	on = wt->on;
	mutex_unlock(&vf->lock);
	if (!on)
		return true;

	wt->written = false;
	wt->sync(wt->kvm, &wt->consumer);

	mutex_lock(&vf->lock);
	wt->syncs++;
	wt->noticed += wt->written;
	mutex_unlock(&vf->lock);
	return wt->written;
}
