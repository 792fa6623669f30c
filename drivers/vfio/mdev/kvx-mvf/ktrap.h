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
struct mm_struct;
struct vm_area_struct;
struct kvx_mvf_vf;

/*
 * Where the VM maps the mailbox page and whether its writes trap.  @kvm is
 * the VM @node is registered with (from open_device while vdev->kvm is
 * set until close), @mm its address space (compared, never dereferenced).
 * @hva is the address of the page's mapping in @mm (0: none), @armed says
 * a memslot of @kvm holds it at @gfn, @tracked that @gfn is write-tracked
 * (TRAPPED).  @kvm and the registration change under the migration mutex
 * and the VF's lock, never unregistered under the VF's lock (unregistering
 * waits for the notifier, which takes it); the rest is under the VF's
 * lock.  @writes counts the guest writes handled, @arms the memslots
 * found.  KVM's page-track functions and kvx_hva_to_gfn() are taken with
 * symbol_get() while @kvm is set.
 */
struct kvx_mvf_ktrap {
	struct kvm_page_track_notifier_node node;
	struct kvm *kvm;
	struct mm_struct *mm;
	unsigned long hva;
	gfn_t gfn;
	bool armed;
	bool tracked;
	u64 writes;
	u64 arms;
	void (*unregister)(struct kvm *kvm,
			   struct kvm_page_track_notifier_node *n);
	int (*add_gfn)(struct kvm *kvm, gfn_t gfn);
	int (*remove_gfn)(struct kvm *kvm, gfn_t gfn);
	int (*hva_to_gfn)(struct kvm *kvm, struct mm_struct *mm,
			  unsigned long hva, gfn_t *gfn);
};

void kvx_mvf_ktrap_open(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_release(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_start(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_stop(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_sync(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_arm(struct kvx_mvf_vf *vf);
void kvx_mvf_ktrap_map(struct kvx_mvf_vf *vf, struct vm_area_struct *vma);
void kvx_mvf_ktrap_unmap(struct kvx_mvf_vf *vf, struct vm_area_struct *vma);

#endif /* KVX_MVF_KTRAP_H */
