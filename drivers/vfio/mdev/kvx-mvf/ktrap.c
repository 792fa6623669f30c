// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the TRAPPED mailbox mode through KVM write tracking.
 *
 * A VMM such as QEMU gives the VF to a KVM guest without any private
 * ioctl: it adds the VF's group (or device) to the VM's VFIO-KVM device,
 * so that the device is opened with vdev->kvm set, mmaps every sparse mmap
 * area of BAR0 (the mailbox page) and, once the guest enabled memory
 * decode, puts that mapping into a memslot at the address the guest
 * programmed.  The VF arms itself from that:
 *
 * - open_device (the VMM's process, as KVM requires) registers a page-track
 *   notifier with the VM;
 * - mmap in the VM's process records the mapping's address;
 * - while that mapping is not write-tracked, the PF polls the page (the
 *   fallback of kvx_mvf_mbx_polled()), and each tick first looks for the
 *   memslot whose userspace range holds the mapping (kvx_hva_to_gfn() of
 *   kvx's kvm.ko, kvx_mvf_ktrap_arm()); once found, a TRAPPED VF
 *   write-tracks that GFN and the polling stops;
 * - the memslot's deletion (a guest sizing BARs toggles memory decode,
 *   QEMU removes and re-adds the slot) comes through the notifier's
 *   track_remove_region: the page is untracked and polled again
 *   until the next memslot holds it.  VFIO_DEVICE_RESET changes none of
 *   this; close ends it.
 *
 * While tracked, reads go to the page at no cost and every guest write
 * faults, is emulated by KVM into the page and reported to
 * kvx_mvf_ktrap_track_write(), which makes the pass over the page
 * (kvx_mvf_mbx_poll()) at once, in the vCPU's thread, before the guest's
 * next instruction.  DIRECT removes the tracking and the poller takes
 * over; the guest driver cannot tell the two apart.
 *
 * KVM's page-track functions are taken with symbol_get(), as VFIO takes
 * kvm_put_kvm(): kvx-mvf loads without kvm.ko.  With a stock kvm.ko (no
 * kvx_hva_to_gfn()) the VF never finds the memslot and polls.
 */

#include <linux/kvm_host.h>
#include <linux/kvx_wtrace.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>

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
	if (vf->ktrap.armed && gpa_to_gfn(gpa) == vf->ktrap.gfn) {
		vf->ktrap.writes++;
		kvx_mvf_mbx_poll(vf);
		/* A DIRECT VF trapped for the PF's exchange: released now? */
		kvx_mvf_ktrap_sync(vf);
		kvx_mvf_mbx_kick_poller(vf);
	}
	mutex_unlock(&vf->lock);
}

/*
 * The memslot under the page was deleted (6.12 reports no KVM_MR_MOVE,
 * which QEMU never uses), and its
 * write-track counts with it: nothing to remove.  The mapping is polled
 * until a memslot holds it again (kvx_mvf_ktrap_arm()).
 */
static void kvx_mvf_ktrap_remove_region(gfn_t gfn, unsigned long nr_pages,
					struct kvm_page_track_notifier_node *n)
{
	struct kvx_mvf_vf *vf = node_to_vf(n);

	mutex_lock(&vf->lock);
	if (vf->ktrap.armed && vf->ktrap.gfn >= gfn &&
	    vf->ktrap.gfn - gfn < nr_pages) {
		vf->ktrap.armed = false;
		vf->ktrap.tracked = false;
		kvx_mvf_mbx_kick_poller(vf);
	}
	mutex_unlock(&vf->lock);
}

/*
 * Entering TRAPPED: track the page if a memslot holds it.  If not, a
 * mapping of the page is polled (kvx_mvf_mbx_polled()).
 */
void kvx_mvf_ktrap_start(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	if (vf->ktrap.armed && !vf->ktrap.tracked &&
	    kvx_mvf_mbx_trapped(vf) &&
	    !vf->ktrap.add_gfn(vf->ktrap.kvm, vf->ktrap.gfn))
		vf->ktrap.tracked = true;
}

/*
 * Make the tracking follow kvx_mvf_mbx_trapped(): the mode changed, or the
 * PF asked for the trap for an exchange of its own or that exchange ended.
 */
void kvx_mvf_ktrap_sync(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	if (kvx_mvf_mbx_trapped(vf))
		kvx_mvf_ktrap_start(vf);
	else
		kvx_mvf_ktrap_stop(vf);
}

/* Leaving TRAPPED, or the page's memslot is no longer known. */
void kvx_mvf_ktrap_stop(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	if (vf->ktrap.tracked)
		vf->ktrap.remove_gfn(vf->ktrap.kvm, vf->ktrap.gfn);
	vf->ktrap.tracked = false;
}

/*
 * The poller's tick, under the VF's lock (kvx_hva_to_gfn() takes KVM's
 * srcu, as the tracking does): find the memslot that holds the VM's
 * mapping of the page, and track it if TRAPPED.  The pass that follows
 * in the same tick handles what the guest wrote before.
 */
void kvx_mvf_ktrap_arm(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_ktrap *kt = &vf->ktrap;
	gfn_t gfn;

	lockdep_assert_held(&vf->lock);

	if (kt->armed || !kt->kvm || !kt->hva_to_gfn || !kt->hva)
		return;
	if (kt->hva_to_gfn(kt->kvm, kt->mm, kt->hva, &gfn))
		return;
	kt->gfn = gfn;
	kt->armed = true;
	kt->arms++;
	kvx_mvf_ktrap_start(vf);
	kvx_mvf_mbx_poll(vf);
}

/*
 * A mapping of the page was made (mmap, fork, mremap).  Only one in the
 * VM's process can be a memslot's: the latest is the one followed.
 */
void kvx_mvf_ktrap_map(struct kvx_mvf_vf *vf, struct vm_area_struct *vma)
{
	lockdep_assert_held(&vf->lock);

	if (!vf->ktrap.kvm || vma->vm_mm != vf->ktrap.mm)
		return;
	kvx_mvf_ktrap_stop(vf);
	vf->ktrap.armed = false;
	vf->ktrap.hva = vma->vm_start;
}

/* The followed mapping goes: so does the tracking of its memslot. */
void kvx_mvf_ktrap_unmap(struct kvx_mvf_vf *vf, struct vm_area_struct *vma)
{
	lockdep_assert_held(&vf->lock);

	if (!vf->ktrap.kvm || vma->vm_mm != vf->ktrap.mm ||
	    vma->vm_start != vf->ktrap.hva)
		return;
	kvx_mvf_ktrap_stop(vf);
	vf->ktrap.armed = false;
	vf->ktrap.hva = 0;
}

/*
 * Put what symbol_get() returned: __symbol_put() BUGs on a symbol that
 * was not found.
 */
static void kvx_mvf_ktrap_put_symbols(struct kvx_mvf_ktrap *kt)
{
	if (kt->hva_to_gfn)
		symbol_put(kvx_hva_to_gfn);
	if (kt->remove_gfn)
		symbol_put(kvm_write_track_remove_gfn);
	if (kt->add_gfn)
		symbol_put(kvm_write_track_add_gfn);
	if (kt->unregister)
		symbol_put(kvm_page_track_unregister_notifier);
	kt->unregister = NULL;
	kt->add_gfn = NULL;
	kt->remove_gfn = NULL;
	kt->hva_to_gfn = NULL;
}

/*
 * open_device with a KVM attached, in the VMM's process (KVM's rule for
 * notifiers).  Without external write tracking or kvx's kvm.ko the VF
 * polls a mapped page instead: the open does not fail for it.
 */
void kvx_mvf_ktrap_open(struct kvx_mvf_vf *vf)
{
	int (*reg)(struct kvm *kvm, struct kvm_page_track_notifier_node *n);
	struct kvx_mvf_ktrap *kt = &vf->ktrap;
	struct kvm *kvm = vf->vdev.kvm;

	lockdep_assert_held(&vf->mig.state_mutex);

	if (!kvm || kt->kvm)
		return;
	reg = symbol_get(kvx_page_track_register_notifier);
	if (!reg)
		return;
	kt->unregister = symbol_get(kvm_page_track_unregister_notifier);
	kt->add_gfn = symbol_get(kvm_write_track_add_gfn);
	kt->remove_gfn = symbol_get(kvm_write_track_remove_gfn);
	kt->hva_to_gfn = symbol_get(kvx_hva_to_gfn);
	if (!kt->unregister || !kt->add_gfn || !kt->remove_gfn ||
	    !kt->hva_to_gfn)
		goto err_put_symbols;

	kt->node.track_write = kvx_mvf_ktrap_track_write;
	kt->node.track_remove_region = kvx_mvf_ktrap_remove_region;
	if (reg(kvm, &kt->node))
		goto err_put_symbols;
	symbol_put(kvx_page_track_register_notifier);

	mutex_lock(&vf->lock);
	kt->kvm = kvm;
	kt->mm = current->mm;
	mutex_unlock(&vf->lock);
	kvx_mvf_wtrace_open(vf, kvm);
	return;

err_put_symbols:
	kvx_mvf_ktrap_put_symbols(kt);
	symbol_put(kvx_page_track_register_notifier);
}

/*
 * Close: stop tracking and unregister.  The last pass handles a write
 * that KVM put in the page but had not reported yet; the notifier, which
 * takes the VF's lock, is waited for outside it.
 */
void kvx_mvf_ktrap_release(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_ktrap *kt = &vf->ktrap;
	struct kvm *kvm;

	mutex_lock(&vf->mig.state_mutex);
	kvx_mvf_wtrace_release(vf);
	mutex_lock(&vf->lock);
	kvm = kt->kvm;
	kvx_mvf_ktrap_stop(vf);
	kt->kvm = NULL;
	kt->mm = NULL;
	kt->armed = false;
	kt->hva = 0;
	if (kvm)
		kvx_mvf_mbx_poll(vf);
	mutex_unlock(&vf->lock);

	if (kvm) {
		kt->unregister(kvm, &kt->node);
		kvx_mvf_ktrap_put_symbols(kt);
	}
	mutex_unlock(&vf->mig.state_mutex);
}
