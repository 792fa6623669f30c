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
 * The mapping is revoked (its PTEs zapped) whenever the VF must not see the
 * page: when the PF switches it to TRAPPED (unless a KVM guest has the page
 * and its writes trap, ktrap.c), on reset and on close.  The fault handler
 * maps the page only while the VF is open and mapped (mbx->mapped), and
 * both the handler and every revocation run under the VF's lock, so once a
 * revocation returned no access to the page goes unseen by the PF: a later
 * access faults and gets SIGBUS.  The revocation (kvx_mvf_direct_zap()) and
 * the test for a polled DIRECT VF (kvx_mvf_direct_active()) are shared with
 * ktrap.c and wtrace.c, and so live with the mailbox (mbx.c).
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

static bool kvx_mvf_direct_mappable(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	return vf->open && vf->mbx.mapped;
}

/* Stops by itself once the VF left DIRECT or was closed. */
static void kvx_mvf_direct_poll(struct work_struct *work)
{
	struct kvx_mvf_vf *vf = container_of(to_delayed_work(work),
					     struct kvx_mvf_vf, poll_work);
	bool written = kvx_mvf_wtrace_sync(vf);

	mutex_lock(&vf->lock);
	if (kvx_mvf_direct_active(vf)) {
		if (written)
			kvx_mvf_mbx_poll(vf);
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
	if (kvx_mvf_direct_active(vf))
		queue_delayed_work(system_wq, &vf->poll_work, 0);
}

/*
 * No mapping can be left here (each holds the device file open), but the
 * zap costs nothing and keeps the rule simple.  The poller sees !open and
 * stops; the cancel waits for a pass in flight.
 */
void kvx_mvf_direct_close(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->lock);
	vf->open = false;
	kvx_mvf_direct_zap(vf);
	mutex_unlock(&vf->lock);
	cancel_delayed_work_sync(&vf->poll_work);
}

/*
 * Leaving DIRECT: first no new untrapped access (mode, then the write
 * tracking of a KVM guest's page or else the zap), then the last pass over
 * what the VF left in the page, so that a request posted before the switch
 * is answered and REQ/ACK are not left latched for the trapped path.
 * Entering DIRECT drops the tracking; the poller takes over.
 */
void kvx_mvf_direct_set_mode(struct kvx_mvf_vf *vf,
			     enum kvx_mvf_mbx_mode mode)
{
	mutex_lock(&vf->lock);
	if (vf->mbx.mode != mode) {
		vf->mbx.mode = mode;
		if (mode == KVX_MVF_MBX_TRAPPED) {
			if (!kvx_mvf_ktrap_start(vf))
				kvx_mvf_direct_zap(vf);
			kvx_mvf_mbx_poll(vf);
		} else {
			kvx_mvf_ktrap_stop(vf);
			if (kvx_mvf_direct_active(vf))
				queue_delayed_work(system_wq, &vf->poll_work,
						   0);
		}
	}
	mutex_unlock(&vf->lock);
}

static vm_fault_t kvx_mvf_direct_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct kvx_mvf_vf *vf = vma->vm_private_data;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	mutex_lock(&vf->lock);
	if (kvx_mvf_direct_mappable(vf))
		ret = vmf_insert_pfn(vma, vmf->address,
				     page_to_pfn(vf->mbx.page));
	mutex_unlock(&vf->lock);
	return ret;
}

static const struct vm_operations_struct kvx_mvf_direct_vm_ops = {
	.fault = kvx_mvf_direct_fault,
};

/*
 * Only the mailbox page, whole and shared, and only while DIRECT or with a
 * KVM attached (whose guest may get the page trapped, ktrap.c).  The page
 * is inserted by pfn on fault so that revocation is a plain zap.
 */
int kvx_mvf_direct_mmap(struct kvx_mvf_vf *vf, struct vm_area_struct *vma)
{
	int ret = 0;

	if ((u64)vma->vm_pgoff << PAGE_SHIFT != KVX_MVF_MBX_MMAP_OFFSET ||
	    vma->vm_end - vma->vm_start != PAGE_SIZE ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	mutex_lock(&vf->lock);
	if (vf->mbx.mode != KVX_MVF_MBX_DIRECT && !vf->vdev.kvm)
		ret = -EACCES;
	mutex_unlock(&vf->lock);
	if (ret)
		return ret;

	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_private_data = vf;
	vma->vm_ops = &kvx_mvf_direct_vm_ops;
	return 0;
}
