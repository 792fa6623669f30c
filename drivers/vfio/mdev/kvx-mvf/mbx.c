// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the mailbox register model.
 *
 * The mailbox has one register semantics in every mode and through every
 * path (mvf.rst, "The mailbox protocol"): the page is plain memory the VF
 * may map, its VFMAILBOX bits are levels that each side changes with
 * atomic read-modify-writes, and the PF reacts to the state it finds
 * (kvx_mvf_mbx_poll()): REQ from the owner of the buffer posts the request,
 * ACK ends the PF message.  A VFIO region read is a load, a region write a
 * store followed at once by that pass.  The mailbox mode only decides how
 * the PF notices stores it cannot see: TRAPPED has KVM report a guest's
 * stores (ktrap.c) and polls only a page mapped outside a tracked memslot,
 * DIRECT polls (direct.c).  A mode switch never changes what the VF sees.
 */

#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "mbx.h"
#include "mvf.h"
#include "pf.h"

#define KVX_MVF_MBX_CTRL_OFF	(KVX_MVF_REG_VFMAILBOX - KVX_MVF_MBX_PAGE)
#define KVX_MVF_MBX_MEM_OFF	(KVX_MVF_REG_VFMBMEM - KVX_MVF_MBX_PAGE)
/* What the VF may set or clear; KVX_MVF_MBX_R2C_BITS it may only clear. */
#define KVX_MVF_MBX_VF_BITS	(KVX_MVF_MBX_REQ | KVX_MVF_MBX_ACK | \
				 KVX_MVF_MBX_VFU)

int kvx_mvf_mbx_init(struct kvx_mvf_mbx *mbx)
{
	void *base;

	mbx->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!mbx->page)
		return -ENOMEM;
	base = page_address(mbx->page);
	mbx->ctrl = base + KVX_MVF_MBX_CTRL_OFF;
	mbx->mem = base + KVX_MVF_MBX_MEM_OFF;
	mbx->mode = KVX_MVF_MBX_TRAPPED;
	return 0;
}

void kvx_mvf_mbx_destroy(struct kvx_mvf_mbx *mbx)
{
	__free_page(mbx->page);
	mbx->page = NULL;
}

/*
 * Mailbox state right after a VF reset (FLR or creation): reset done.  The
 * caller made sure no mapping of the page is left (kvx_mvf_dev_reset()).
 */
void kvx_mvf_mbx_reset(struct kvx_mvf_mbx *mbx)
{
	memset(page_address(mbx->page), 0, PAGE_SIZE);
	atomic_set(mbx->ctrl, KVX_MVF_MBX_RSTD);
	mbx->pf_msg_pending = false;
	mbx->link_msg_pending = false;
	mbx->pf_trap = false;
}

/*
 * Hand the request in VFMBMEM to the PF and post its reply, which replaces
 * the whole buffer (unused words read as zero).  The request is copied first
 * so that the handler never reads the buffer it is writing, nor a word a
 * DIRECT VF changes under it.  The reply is complete in VFMBMEM before the
 * fully ordered update of VFMAILBOX shows PFSTS (and drops PFU).
 */
static void kvx_mvf_mbx_post_request(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	u32 req[KVX_MVF_MBX_WORDS];
	u32 reply[KVX_MVF_MBX_WORDS] = {};
	unsigned int i;

	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		req[i] = READ_ONCE(mbx->mem[i]);
	mbx->stats.requests++;

	kvx_mvf_pf_handle_msg(vf, req, reply);
	if (reply[0] & KVX_MVF_MSG_NACK)
		mbx->stats.nacks++;

	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		WRITE_ONCE(mbx->mem[i], reply[i]);
	mbx->pf_msg_pending = true;
	kvx_mvf_mbx_update(mbx, KVX_MVF_MBX_PFU,
			   KVX_MVF_MBX_PFACK | KVX_MVF_MBX_PFSTS);
}

/*
 * Deliver a waiting PF to VF message once the buffer is free: the VF does
 * not own it, posted no request the PF has not taken, and acknowledged the
 * PF's last message (a reply goes first).  The PF takes the buffer with
 * PFU in one atomic step, as igb does, so a mapped VF that tries to take
 * VFU meanwhile sees PFU and backs off; the message is complete in VFMBMEM
 * before PFSTS rises.  Called where the buffer may have become free: the
 * VF's ACK and release, each DIRECT (or write-tracked) pass, and where the
 * PF queues a message.
 */
void kvx_mvf_mbx_pf_msg_flush(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	u32 msg[KVX_MVF_MBX_WORDS] = {};
	unsigned int i;
	int old;

	lockdep_assert_held(&vf->lock);

	if (!mbx->link_msg_pending || mbx->pf_msg_pending)
		return;
	old = atomic_read(mbx->ctrl);
	do {
		if (old & (KVX_MVF_MBX_VFU | KVX_MVF_MBX_PFU |
			   KVX_MVF_MBX_REQ | KVX_MVF_MBX_ACK))
			return;
	} while (!atomic_try_cmpxchg(mbx->ctrl, &old,
				     old | KVX_MVF_MBX_PFU));

	kvx_mvf_pf_link_msg(vf, msg);
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		WRITE_ONCE(mbx->mem[i], msg[i]);
	mbx->link_msg_pending = false;
	mbx->pf_msg_pending = true;
	mbx->stats.pf_msgs++;
	kvx_mvf_mbx_update(mbx, KVX_MVF_MBX_PFU, KVX_MVF_MBX_PFSTS);
}

/*
 * A region write of VFMAILBOX does what the same store through the mapping
 * would, without losing the PF's concurrent updates: the VF's bits take the
 * written value, PFSTS, PFACK and RSTD can only be cleared.
 */
static void kvx_mvf_mbx_write_ctrl(struct kvx_mvf_mbx *mbx, u32 val)
{
	u32 clear = (KVX_MVF_MBX_VF_BITS & ~val) |
		    (KVX_MVF_MBX_R2C_BITS & ~val);

	kvx_mvf_mbx_update(mbx, clear, val & KVX_MVF_MBX_VF_BITS);
}

/*
 * The DIRECT poller's pass (and the last one when the VF leaves DIRECT):
 * react to what the VF left in the page.  An ACK ends the PF message; a REQ
 * with VFU set hands the buffer to the PF (REQ and VFU drop, PFU rises
 * while the PF handles it), a REQ without VFU is a protocol error and is
 * dropped.
 */
void kvx_mvf_mbx_poll(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	int old, new;

	lockdep_assert_held(&vf->lock);

	if (atomic_read(mbx->ctrl) & KVX_MVF_MBX_ACK) {
		kvx_mvf_mbx_update(mbx, KVX_MVF_MBX_ACK, 0);
		mbx->pf_msg_pending = false;
	}

	old = atomic_read(mbx->ctrl);
	do {
		if (!(old & KVX_MVF_MBX_REQ))
			goto flush;
		new = old & ~(KVX_MVF_MBX_REQ | KVX_MVF_MBX_VFU);
		if (old & KVX_MVF_MBX_VFU)
			new |= KVX_MVF_MBX_PFU;
	} while (!atomic_try_cmpxchg(mbx->ctrl, &old, new));

	if (old & KVX_MVF_MBX_VFU)
		kvx_mvf_mbx_post_request(vf);
	else
		mbx->stats.protocol_errors++;
flush:
	kvx_mvf_mbx_pf_msg_flush(vf);
	/* The PF's exchange ended: nothing of its own waits for the VF. */
	if (mbx->pf_trap && !mbx->link_msg_pending && !mbx->pf_msg_pending &&
	    !kvx_mvf_mbx_reset_pending(mbx))
		mbx->pf_trap = false;
}

static bool kvx_mvf_mbx_is_mem(unsigned int reg)
{
	return reg >= KVX_MVF_REG_VFMBMEM &&
	       reg < KVX_MVF_REG_VFMBMEM + KVX_MVF_MBX_WORDS * sizeof(u32);
}

/* @off is relative to KVX_MVF_MBX_PAGE and dword aligned: a plain load. */
u32 kvx_mvf_mbx_read(struct kvx_mvf_vf *vf, unsigned int off)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	unsigned int reg = KVX_MVF_MBX_PAGE + off;

	lockdep_assert_held(&vf->lock);

	if (reg == KVX_MVF_REG_VFMAILBOX)
		return atomic_read(mbx->ctrl);
	if (kvx_mvf_mbx_is_mem(reg))
		return READ_ONCE(mbx->mem[(reg - KVX_MVF_REG_VFMBMEM) /
					  sizeof(u32)]);
	return 0;
}

/*
 * A store, as through the mapping; the PF sees a region write, so a write
 * of VFMAILBOX is handled at once, in every mode.
 */
void kvx_mvf_mbx_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	unsigned int reg = KVX_MVF_MBX_PAGE + off;

	lockdep_assert_held(&vf->lock);

	if (reg == KVX_MVF_REG_VFMAILBOX) {
		kvx_mvf_mbx_write_ctrl(mbx, val);
		kvx_mvf_mbx_poll(vf);
		return;
	}
	if (kvx_mvf_mbx_is_mem(reg))
		WRITE_ONCE(mbx->mem[(reg - KVX_MVF_REG_VFMBMEM) / sizeof(u32)],
			   val);
}

/*
 * Whether the PF polls the page: while the VF is open and migration lets
 * it run, in DIRECT mode, and in TRAPPED mode when a user maps the page
 * whose stores are not write-tracked in a VM (QEMU without KVM, a VMM that
 * maps the page but has no memslot the VF found, ktrap.c).
 */
bool kvx_mvf_mbx_polled(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;

	lockdep_assert_held(&vf->lock);

	if (!vf->open || mbx->quiesced)
		return false;
	return !kvx_mvf_mbx_trapped(vf) ||
	       (mbx->nr_maps && !vf->ktrap.tracked);
}

/*
 * Whether the PF observes the VF TRAPPED: its mode, or an exchange of the
 * PF's own in flight (@pf_trap: the PF asked for the trap to talk to the
 * VF, and it is released once the VF acknowledged, kvx_mvf_mbx_poll()).
 */
bool kvx_mvf_mbx_trapped(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	return vf->mbx.mode == KVX_MVF_MBX_TRAPPED || vf->mbx.pf_trap;
}

/* Start the poller now if the page must be polled; it stops by itself. */
void kvx_mvf_mbx_kick_poller(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	if (kvx_mvf_mbx_polled(vf))
		mod_delayed_work(system_wq, &vf->poll_work, 0);
}
