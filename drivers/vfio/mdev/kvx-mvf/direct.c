// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the DIRECT mailbox mode without KVM.
 *
 * A DIRECT VF's user maps BAR0 page 1, the mailbox page, and drives the
 * mailbox with plain loads and atomic read-modify-writes; nothing traps.
 * The PF notices requests by polling the page from a delayed work every
 * KVX_MVF_POLL_INTERVAL and handles them as the trapped path does
 * (kvx_mvf_mbx_poll()).  When a KVM guest has the page and kvx write
 * tracing is there, each tick is a harvest instead and the pass runs only
 * if the guest wrote the page (wtrace.c).
 *
 * The mapping is never revoked and its fault handler never fails: the
 * mailbox mode only decides how the PF notices the VF's stores, never
 * whether the VF may make them (mvf.rst, "Mailbox modes").  A VF whose
 * page is mapped by a user the PF cannot trap is polled in TRAPPED mode
 * too (kvx_mvf_mbx_polled()); the poller stops while migration has the
 * device stopped, after a last pass.
 */

#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/workqueue.h>

#include "direct.h"
#include "ktrap.h"
#include "mbx.h"
#include "mvf.h"
#include "wtrace.h"

#define KVX_MVF_POLL_INTERVAL	msecs_to_jiffies(1)

/*
 * Stops by itself once the page needs no polling.  Each tick first looks
 * for the memslot of a KVM guest that holds the page (ktrap.c: a TRAPPED
 * VF then write-tracks it and stops polling) and keeps the write-tracing
 * range on it (wtrace.c).  With kvx write tracing (DIRECT with a guest's
 * page) a pass runs only when the guest wrote the page; a TRAPPED VF
 * polled because its mapping is not tracked gets a pass every tick.
 */
static void kvx_mvf_direct_poll(struct work_struct *work)
{
	struct kvx_mvf_vf *vf = container_of(to_delayed_work(work),
					     struct kvx_mvf_vf, poll_work);
	bool written;

	mutex_lock(&vf->lock);
	if (kvx_mvf_mbx_polled(vf))
		kvx_mvf_ktrap_arm(vf);
	mutex_unlock(&vf->lock);
	kvx_mvf_wtrace_follow(vf);
	written = kvx_mvf_wtrace_sync(vf);

	mutex_lock(&vf->lock);
	if (kvx_mvf_mbx_polled(vf)) {
		if (written || kvx_mvf_mbx_trapped(vf))
			kvx_mvf_mbx_poll(vf);
		kvx_mvf_ktrap_sync(vf);
		if (kvx_mvf_mbx_polled(vf))
			queue_delayed_work(system_wq, &vf->poll_work,
					   KVX_MVF_POLL_INTERVAL);
	}
	mutex_unlock(&vf->lock);
}

void kvx_mvf_direct_init(struct kvx_mvf_vf *vf)
{
	/* The mailbox page is mapped whole: it must be one CPU page. */
	BUILD_BUG_ON(PAGE_SIZE != KVX_MVF_PAGE_SIZE);
	INIT_DELAYED_WORK(&vf->poll_work, kvx_mvf_direct_poll);
}

/* Called with the VF just reset; starts polling if the PF chose DIRECT. */
void kvx_mvf_direct_open(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	vf->open = true;
	kvx_mvf_mbx_kick_poller(vf);
}

/* The poller sees !open and stops; the cancel waits for a pass in flight. */
void kvx_mvf_direct_close(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->lock);
	vf->open = false;
	mutex_unlock(&vf->lock);
	cancel_delayed_work_sync(&vf->poll_work);
}

/*
 * The PF's mode and whether migration lets the device run.  Leaving
 * DIRECT tracks a KVM guest's page if it can (ktrap.c); a page mapped
 * without tracking stays polled.  Stopping makes the last pass over what
 * the VF left in the page, so that a request posted before is answered
 * and no REQ or ACK is left behind a snapshot, and then the poller stops.
 * Nothing the VF sees changes.
 */
void kvx_mvf_direct_set_mode(struct kvx_mvf_vf *vf,
			     enum kvx_mvf_mbx_mode mode, bool run)
{
	mutex_lock(&vf->lock);
	if (vf->mbx.mode != mode) {
		vf->mbx.mode = mode;
		kvx_mvf_ktrap_sync(vf);
		kvx_mvf_mbx_poll(vf);
	}
	if (vf->mbx.quiesced == run) {
		vf->mbx.quiesced = !run;
		kvx_mvf_mbx_poll(vf);
	}
	kvx_mvf_ktrap_sync(vf);
	kvx_mvf_mbx_kick_poller(vf);
	mutex_unlock(&vf->lock);
}

/*
 * The PF queued an exchange of its own (pf.c asked for the trap) or
 * delivered one: make the tracking and the poller follow.
 */
void kvx_mvf_direct_sync(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	kvx_mvf_ktrap_sync(vf);
	kvx_mvf_mbx_kick_poller(vf);
}

/* Any access maps the page, in every mode: it is never revoked. */
static vm_fault_t kvx_mvf_direct_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct kvx_mvf_vf *vf = vma->vm_private_data;

	return vmf_insert_pfn(vma, vmf->address, page_to_pfn(vf->mbx.page));
}

/* A VMA copied (fork, split, mremap) is one more mapping to account. */
static void kvx_mvf_direct_vma_open(struct vm_area_struct *vma)
{
	struct kvx_mvf_vf *vf = vma->vm_private_data;

	mutex_lock(&vf->lock);
	vf->mbx.nr_maps++;
	kvx_mvf_ktrap_map(vf, vma);
	kvx_mvf_mbx_kick_poller(vf);
	mutex_unlock(&vf->lock);
}

static void kvx_mvf_direct_vma_close(struct vm_area_struct *vma)
{
	struct kvx_mvf_vf *vf = vma->vm_private_data;

	mutex_lock(&vf->lock);
	vf->mbx.nr_maps--;
	kvx_mvf_ktrap_unmap(vf, vma);
	kvx_mvf_mbx_kick_poller(vf);
	mutex_unlock(&vf->lock);
}

static const struct vm_operations_struct kvx_mvf_direct_vm_ops = {
	.open = kvx_mvf_direct_vma_open,
	.close = kvx_mvf_direct_vma_close,
	.fault = kvx_mvf_direct_fault,
};

/*
 * Only the mailbox page, whole and shared, in every mode.  The page is
 * inserted by pfn on fault; a mapping not write-tracked in a VM makes a
 * TRAPPED VF polled (kvx_mvf_mbx_polled()).
 */
int kvx_mvf_direct_mmap(struct kvx_mvf_vf *vf, struct vm_area_struct *vma)
{
	if ((u64)vma->vm_pgoff << PAGE_SHIFT != KVX_MVF_MBX_MMAP_OFFSET ||
	    vma->vm_end - vma->vm_start != PAGE_SIZE ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = vf;
	vma->vm_ops = &kvx_mvf_direct_vm_ops;
	kvx_mvf_direct_vma_open(vma);
	return 0;
}
