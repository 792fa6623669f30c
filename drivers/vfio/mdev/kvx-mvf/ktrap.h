/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the TRAPPED mailbox mode through KVM write tracking.
 */
#ifndef KVX_MVF_KTRAP_H
#define KVX_MVF_KTRAP_H

#include <linux/kvm_types.h>
#include <linux/types.h>
#include <asm/kvm_page_track.h>

struct kvm;
struct kvx_mvf_vf;

/*
 * Where the VM maps the mailbox page and whether its writes trap.  @kvm is
 * the VM @node is registered with (a reference), set from the VMM's
 * KVX_MVF_SET_MBX_GPA until close, reset or a GPA-less call; @gfn and
 * @tracked are under the VF's lock, @tracked meaning @gfn is write-tracked
 * in @kvm.  @kvm and the registration change under the migration mutex,
 * never under the VF's lock: unregistering waits for the notifier, which
 * takes that lock.  @writes counts the guest writes handled.  KVM's
 * page-track functions are taken with symbol_get() while @kvm is set, as
 * VFIO takes kvm_put_kvm(): kvx-mvf does not need kvm.ko to load.
 */
struct kvx_mvf_ktrap {
	struct kvm_page_track_notifier_node node;
	struct kvm *kvm;
	gfn_t gfn;
	bool tracked;
	u64 writes;
	void (*unregister)(struct kvm *kvm,
			   struct kvm_page_track_notifier_node *n);
	int (*add_gfn)(struct kvm *kvm, gfn_t gfn);
	int (*remove_gfn)(struct kvm *kvm, gfn_t gfn);
};

int kvx_mvf_ktrap_ioctl_set_gpa(struct kvx_mvf_vf *vf, void __user *arg);
bool kvx_mvf_ktrap_start(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_stop(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_release(struct kvx_mvf_vf *vf);

#endif /* KVX_MVF_KTRAP_H */
