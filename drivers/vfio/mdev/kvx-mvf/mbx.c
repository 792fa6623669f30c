// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the mailbox register model.
 *
 * The VF side follows the igbvf driver's mailbox code: the VF takes the
 * buffer by writing VFU and reading it back, fills VFMBMEM, and posts the
 * request by writing REQ (which also drops VFU); it then waits for PFACK and
 * PFSTS, takes VFU again, reads the reply and writes ACK.
 *
 * In TRAPPED mode every register access lands here, so a request is handed
 * to the PF side at once, inside the VF's REQ write; the PF's ownership of
 * the buffer (PFU) is never visible to the VF.  In DIRECT mode the VF
 * writes the page itself and kvx_mvf_mbx_poll() reacts to the state it
 * finds there as the trapped path reacts to the writes: REQ from the owner
 * of the buffer posts the request, ACK ends the PF message.  A VF trapped
 * through KVM write tracking keeps the DIRECT layout (mbx->mapped): its
 * stores land in the page and kvx_mvf_mbx_poll() runs after each one.
 */

#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/vfio.h>

#include "mbx.h"
#include "mvf.h"
#include "pf.h"

#define KVX_MVF_MBX_CTRL_OFF	(KVX_MVF_REG_VFMAILBOX - KVX_MVF_MBX_PAGE)
#define KVX_MVF_MBX_MEM_OFF	(KVX_MVF_REG_VFMBMEM - KVX_MVF_MBX_PAGE)
/* What the VF may set or clear in DIRECT mode; RC bits it may only clear. */
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
}

static bool kvx_mvf_mbx_vf_owns(const struct kvx_mvf_mbx *mbx)
{
	return atomic_read(mbx->ctrl) & KVX_MVF_MBX_VFU;
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

static void kvx_mvf_mbx_write_ctrl(struct kvx_mvf_vf *vf, u32 val)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;

	/* REQ is only honoured from the owner of the buffer. */
	if (val & KVX_MVF_MBX_REQ) {
		if (kvx_mvf_mbx_vf_owns(mbx))
			kvx_mvf_mbx_post_request(vf);
		else
			mbx->stats.protocol_errors++;
	}

	if (val & KVX_MVF_MBX_ACK)
		mbx->pf_msg_pending = false;

	/* VFU is granted only while the PF does not hold the buffer. */
	if ((val & KVX_MVF_MBX_VFU) &&
	    !(atomic_read(mbx->ctrl) & KVX_MVF_MBX_PFU))
		kvx_mvf_mbx_update(mbx, 0, KVX_MVF_MBX_VFU);
	else
		kvx_mvf_mbx_update(mbx, KVX_MVF_MBX_VFU, 0);

	kvx_mvf_mbx_pf_msg_flush(vf);
}

/*
 * A region write of VFMAILBOX while mapped does what the same store through
 * the mapping would, without losing the PF's concurrent updates: the VF's
 * bits take the written value, the read-to-clear bits can only be cleared.
 */
static void kvx_mvf_mbx_write_ctrl_direct(struct kvx_mvf_mbx *mbx, u32 val)
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
}

static bool kvx_mvf_mbx_is_mem(unsigned int reg)
{
	return reg >= KVX_MVF_REG_VFMBMEM &&
	       reg < KVX_MVF_REG_VFMBMEM + KVX_MVF_MBX_WORDS * sizeof(u32);
}

/*
 * @off is relative to KVX_MVF_MBX_PAGE and dword aligned.  While mapped a
 * region read is a plain load, as through the mapping: nothing is cleared.
 */
u32 kvx_mvf_mbx_read(struct kvx_mvf_vf *vf, unsigned int off)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	unsigned int reg = KVX_MVF_MBX_PAGE + off;

	lockdep_assert_held(&vf->lock);

	if (reg == KVX_MVF_REG_VFMAILBOX) {
		if (mbx->mapped)
			return atomic_read(mbx->ctrl);
		return kvx_mvf_mbx_update(mbx, KVX_MVF_MBX_R2C_BITS, 0);
	}
	if (kvx_mvf_mbx_is_mem(reg))
		return READ_ONCE(mbx->mem[(reg - KVX_MVF_REG_VFMBMEM) /
					  sizeof(u32)]);
	return 0;
}

void kvx_mvf_mbx_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	unsigned int reg = KVX_MVF_MBX_PAGE + off;
	bool direct = mbx->mapped;

	lockdep_assert_held(&vf->lock);

	if (reg == KVX_MVF_REG_VFMAILBOX) {
		if (direct) {
			kvx_mvf_mbx_write_ctrl_direct(mbx, val);
			/* Mapped and TRAPPED: handled at once (ktrap.c). */
			if (mbx->mode == KVX_MVF_MBX_TRAPPED)
				kvx_mvf_mbx_poll(vf);
		} else {
			kvx_mvf_mbx_write_ctrl(vf, val);
		}
		return;
	}
	if (kvx_mvf_mbx_is_mem(reg)) {
		/* A trapped VF that does not own the buffer cannot change it. */
		if (!direct && !kvx_mvf_mbx_vf_owns(mbx)) {
			mbx->stats.protocol_errors++;
			return;
		}
		WRITE_ONCE(mbx->mem[(reg - KVX_MVF_REG_VFMBMEM) / sizeof(u32)],
			   val);
	}
}

/*
 * The mapping of the mailbox page, shared by the modes that map it:
 * direct.c (DIRECT), ktrap.c (TRAPPED through KVM write tracking) and
 * wtrace.c (DIRECT noticed through kvx write tracing).
 */

/*
 * Whether the VF reaches its mailbox page through a mapping: DIRECT, or
 * TRAPPED with the page write-tracked in its VM (ktrap.c).
 */
void kvx_mvf_mbx_sync_mapped(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	vf->mbx.mapped = vf->mbx.mode == KVX_MVF_MBX_DIRECT ||
			 vf->ktrap.tracked;
}

void kvx_mvf_direct_zap(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	unmap_mapping_range(vf->vdev.inode->i_mapping, KVX_MVF_MBX_MMAP_OFFSET,
			    PAGE_SIZE, true);
}

bool kvx_mvf_direct_active(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	return vf->open && vf->mbx.mode == KVX_MVF_MBX_DIRECT;
}
