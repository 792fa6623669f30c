// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the TRAPPED mailbox mode through KVM write tracking.
 *
 * A VMM that runs the VF in a KVM guest maps the mailbox page (BAR0 page 1,
 * the DIRECT mapping) into guest memory and tells the VF where, with
 * KVX_MVF_SET_MBX_GPA.  While the PF keeps such a VF TRAPPED, the page's
 * GFN is write-tracked in the VM: reads go to the page at no cost, and
 * every guest write faults, is emulated by KVM into the page and reported
 * to kvx_mvf_ktrap_track_write(), which handles it at once, in the vCPU's
 * thread, before the guest's next instruction.  DIRECT removes the
 * tracking and the poller takes over; the guest driver cannot tell the two
 * apart, so the PF can switch modes under a guest in the middle of a
 * message.
 *
 * Because the write is already in the page when KVM reports it, the
 * mailbox sees the page as in DIRECT mode (mbx->mapped) and the handler is
 * the DIRECT poller's pass, kvx_mvf_mbx_poll(): what a region write of
 * VFMAILBOX does on a mapped mailbox is that store followed by this pass.
 *
 * kvm_page_track_register_notifier() pins the VM and must run in the VMM's
 * process, so the notifier is registered once, by the ioctl, and stays
 * until close, reset or a GPA-less ioctl; mode switches, which may come
 * from any process, only add and remove the GFN.  Without a KVM, or before
 * the VMM gave the GPA, TRAPPED is the region read/write path.  The same
 * GPA makes the DIRECT poller harvest kvx write tracing (wtrace.c).
 */

#include <linux/kvm_host.h>
#include <linux/lockdep.h>
#include <linux/uaccess.h>

#include "ktrap.h"
#include "mbx.h"
#include "mvf.h"
#include "wtrace.h"

static struct kvx_mvf_vf *node_to_vf(struct kvm_page_track_notifier_node *n)
{
	return container_of(n, struct kvx_mvf_vf, ktrap.node);
}

/*
 * The write landed in the page already.  Any write into the page is
 * handled, tracked or not: one that raced with the removal of the tracking
 * is in the page and must not be left for a path that no longer looks.
 */
static void kvx_mvf_ktrap_track_write(gpa_t gpa, const u8 *new, int bytes,
				      struct kvm_page_track_notifier_node *n)
{
	struct kvx_mvf_vf *vf = node_to_vf(n);

	mutex_lock(&vf->lock);
	if (vf->ktrap.kvm && gpa_to_gfn(gpa) == vf->ktrap.gfn) {
		vf->ktrap.writes++;
		kvx_mvf_mbx_poll(vf);
	}
	mutex_unlock(&vf->lock);
}

/*
 * The memslot under the page goes away, and its write-track counts with
 * it: nothing to remove.  The VF falls back to region access until the
 * VMM gives a GPA again.
 */
static void kvx_mvf_ktrap_remove_region(gfn_t gfn, unsigned long nr_pages,
					struct kvm_page_track_notifier_node *n)
{
	struct kvx_mvf_vf *vf = node_to_vf(n);

	mutex_lock(&vf->lock);
	if (vf->ktrap.tracked && vf->ktrap.gfn >= gfn &&
	    vf->ktrap.gfn - gfn < nr_pages) {
		vf->ktrap.tracked = false;
		kvx_mvf_mbx_sync_mapped(vf);
		if (!vf->mbx.mapped)
			kvx_mvf_direct_zap(vf);
	}
	mutex_unlock(&vf->lock);
}

/*
 * Entering TRAPPED: track the page if a VM has it.  Returns whether the
 * guest's writes now trap; if not the caller revokes the mapping.
 */
bool kvx_mvf_ktrap_start(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	if (vf->ktrap.kvm && !vf->ktrap.tracked &&
	    !vf->ktrap.add_gfn(vf->ktrap.kvm, vf->ktrap.gfn))
		vf->ktrap.tracked = true;
	kvx_mvf_mbx_sync_mapped(vf);
	return vf->ktrap.tracked;
}

/* Leaving TRAPPED, or forgetting the GPA. */
void kvx_mvf_ktrap_stop(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	if (vf->ktrap.tracked)
		vf->ktrap.remove_gfn(vf->ktrap.kvm, vf->ktrap.gfn);
	vf->ktrap.tracked = false;
	kvx_mvf_mbx_sync_mapped(vf);
}

/*
 * Move the trap to @gfn: the new GFN is tracked before the old one is
 * released, so that a failure (no memslot there) changes nothing.
 */
static int kvx_mvf_ktrap_move(struct kvx_mvf_vf *vf, struct kvm *kvm,
			      gfn_t gfn)
{
	bool trap = vf->open && vf->mbx.mode == KVX_MVF_MBX_TRAPPED;

	lockdep_assert_held(&vf->lock);

	if (trap && !(vf->ktrap.tracked && vf->ktrap.gfn == gfn)) {
		if (vf->ktrap.add_gfn(kvm, gfn))
			return -ENOENT;
		if (vf->ktrap.tracked)
			vf->ktrap.remove_gfn(kvm, vf->ktrap.gfn);
		vf->ktrap.tracked = true;
	}
	vf->ktrap.kvm = kvm;
	vf->ktrap.gfn = gfn;
	kvx_mvf_mbx_sync_mapped(vf);
	return 0;
}

/*
 * Put what symbol_get() returned: __symbol_put() BUGs on a symbol that
 * was not found, as when a lookup in kvx_mvf_ktrap_register() failed.
 */
static void kvx_mvf_ktrap_put_symbols(struct kvx_mvf_vf *vf)
{
	if (vf->ktrap.remove_gfn)
		symbol_put(kvm_write_track_remove_gfn);
	if (vf->ktrap.add_gfn)
		symbol_put(kvm_write_track_add_gfn);
	if (vf->ktrap.unregister)
		symbol_put(kvm_page_track_unregister_notifier);
	vf->ktrap.unregister = NULL;
	vf->ktrap.add_gfn = NULL;
	vf->ktrap.remove_gfn = NULL;
}

/*
 * KVM is loaded (the VF has a VM), so the lookups only fail on a kvm.ko
 * built without external write tracking.
 */
static int kvx_mvf_ktrap_register(struct kvx_mvf_vf *vf, struct kvm *kvm)
{
	int (*reg)(struct kvm *kvm, struct kvm_page_track_notifier_node *n);
	int ret = -EOPNOTSUPP;

	reg = symbol_get(kvm_page_track_register_notifier);
	if (!reg)
		return ret;
	vf->ktrap.unregister = symbol_get(kvm_page_track_unregister_notifier);
	vf->ktrap.add_gfn = symbol_get(kvm_write_track_add_gfn);
	vf->ktrap.remove_gfn = symbol_get(kvm_write_track_remove_gfn);
	if (!vf->ktrap.unregister || !vf->ktrap.add_gfn ||
	    !vf->ktrap.remove_gfn)
		goto err_put_symbols;

	vf->ktrap.node.track_write = kvx_mvf_ktrap_track_write;
	vf->ktrap.node.track_remove_region = kvx_mvf_ktrap_remove_region;
	ret = reg(kvm, &vf->ktrap.node);
	if (ret)
		goto err_put_symbols;
	symbol_put(kvm_page_track_register_notifier);
	return 0;

err_put_symbols:
	kvx_mvf_ktrap_put_symbols(vf);
	symbol_put(kvm_page_track_register_notifier);
	return ret;
}

/*
 * Stop tracking and unregister.  The last pass handles a write that KVM
 * put in the page but had not reported yet; the notifier, which takes the
 * VF's lock, is waited for outside it.
 */
static void __kvx_mvf_ktrap_release(struct kvx_mvf_vf *vf)
{
	struct kvm *kvm;

	lockdep_assert_held(&vf->mig.state_mutex);

	mutex_lock(&vf->lock);
	kvm = vf->ktrap.kvm;
	kvx_mvf_ktrap_stop(vf);
	vf->ktrap.kvm = NULL;
	if (!vf->mbx.mapped)
		kvx_mvf_direct_zap(vf);
	if (kvm)
		kvx_mvf_mbx_poll(vf);
	mutex_unlock(&vf->lock);

	if (kvm) {
		vf->ktrap.unregister(kvm, &vf->ktrap.node);
		kvx_mvf_ktrap_put_symbols(vf);
	}
	kvx_mvf_wtrace_release(vf);
}

/* Close and VFIO_DEVICE_RESET: the VM reference goes with the user. */
void kvx_mvf_ktrap_release(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->mig.state_mutex);
	__kvx_mvf_ktrap_release(vf);
	mutex_unlock(&vf->mig.state_mutex);
}

static int kvx_mvf_ktrap_set(struct kvx_mvf_vf *vf, struct kvm *kvm,
			     gfn_t gfn)
{
	bool registered = false;
	int ret;

	lockdep_assert_held(&vf->mig.state_mutex);

	if (!vf->ktrap.kvm) {
		ret = kvx_mvf_ktrap_register(vf, kvm);
		if (ret)
			return ret;
		registered = true;
	}

	mutex_lock(&vf->lock);
	ret = kvx_mvf_ktrap_move(vf, kvm, gfn);
	mutex_unlock(&vf->lock);

	if (ret && registered) {
		vf->ktrap.unregister(kvm, &vf->ktrap.node);
		kvx_mvf_ktrap_put_symbols(vf);
	}
	if (!ret)
		kvx_mvf_wtrace_set(vf, kvm, gfn);
	return ret;
}

int kvx_mvf_ktrap_ioctl_set_gpa(struct kvx_mvf_vf *vf, void __user *arg)
{
	unsigned long minsz = offsetofend(struct kvx_mvf_mbx_gpa, gpa);
	struct kvm *kvm = vf->vdev.kvm;
	struct kvx_mvf_mbx_gpa req;
	int ret = 0;

	if (copy_from_user(&req, arg, minsz))
		return -EFAULT;
	if (req.argsz < minsz || req.flags & ~KVX_MVF_MBX_GPA_VALID)
		return -EINVAL;
	if (req.flags & KVX_MVF_MBX_GPA_VALID) {
		if (!PAGE_ALIGNED(req.gpa) || req.gpa >> KVX_MVF_MBX_GPA_BITS)
			return -EINVAL;
		if (!kvm)
			return -ENODEV;
	} else if (req.gpa) {
		return -EINVAL;
	}

	mutex_lock(&vf->mig.state_mutex);
	if (req.flags & KVX_MVF_MBX_GPA_VALID)
		ret = kvx_mvf_ktrap_set(vf, kvm, gpa_to_gfn(req.gpa));
	else
		__kvx_mvf_ktrap_release(vf);
	mutex_unlock(&vf->mig.state_mutex);
	return ret;
}
