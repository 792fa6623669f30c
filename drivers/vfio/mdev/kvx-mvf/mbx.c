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
 * the buffer (PFU) is never visible to the VF.  DIRECT mode will post the
 * same request from a snapshot of the mapped page.
 */

#include <linux/lockdep.h>
#include <linux/string.h>

#include "mvf.h"

/* Mailbox state right after a VF reset (FLR or creation): reset done. */
void kvx_mvf_mbx_reset(struct kvx_mvf_mbx *mbx)
{
	mbx->ctrl = KVX_MVF_MBX_RSTD;
	memset(mbx->mem, 0, sizeof(mbx->mem));
	mbx->pf_msg_pending = false;
}

void kvx_mvf_mbx_set_reset_pending(struct kvx_mvf_mbx *mbx, bool pending)
{
	if (pending)
		mbx->ctrl |= KVX_MVF_MBX_RSTI;
	else
		mbx->ctrl &= ~KVX_MVF_MBX_RSTI;
}

bool kvx_mvf_mbx_reset_pending(const struct kvx_mvf_mbx *mbx)
{
	return mbx->ctrl & KVX_MVF_MBX_RSTI;
}

static bool kvx_mvf_mbx_vf_owns(const struct kvx_mvf_mbx *mbx)
{
	return mbx->ctrl & KVX_MVF_MBX_VFU;
}

/*
 * Hand the request in VFMBMEM to the PF and post its reply, which replaces
 * the whole buffer (unused words read as zero).  The request is copied first
 * so that the handler never reads the buffer it is writing.
 */
static void kvx_mvf_mbx_post_request(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	u32 req[KVX_MVF_MBX_WORDS];
	u32 reply[KVX_MVF_MBX_WORDS] = {};

	memcpy(req, mbx->mem, sizeof(req));
	mbx->stats.requests++;

	kvx_mvf_pf_handle_msg(vf, req, reply);
	if (reply[0] & KVX_MVF_MSG_NACK)
		mbx->stats.nacks++;

	memcpy(mbx->mem, reply, sizeof(reply));
	mbx->pf_msg_pending = true;
	mbx->ctrl |= KVX_MVF_MBX_PFACK | KVX_MVF_MBX_PFSTS;
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
	if ((val & KVX_MVF_MBX_VFU) && !(mbx->ctrl & KVX_MVF_MBX_PFU))
		mbx->ctrl |= KVX_MVF_MBX_VFU;
	else
		mbx->ctrl &= ~KVX_MVF_MBX_VFU;
}

/* @off is relative to KVX_MVF_MBX_PAGE and dword aligned. */
u32 kvx_mvf_mbx_read(struct kvx_mvf_vf *vf, unsigned int off)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	unsigned int reg = KVX_MVF_MBX_PAGE + off;
	u32 val;

	lockdep_assert_held(&vf->lock);

	if (reg == KVX_MVF_REG_VFMAILBOX) {
		val = mbx->ctrl;
		mbx->ctrl &= ~KVX_MVF_MBX_R2C_BITS;
		return val;
	}
	if (reg >= KVX_MVF_REG_VFMBMEM &&
	    reg < KVX_MVF_REG_VFMBMEM + sizeof(mbx->mem))
		return mbx->mem[(reg - KVX_MVF_REG_VFMBMEM) / sizeof(u32)];
	return 0;
}

void kvx_mvf_mbx_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val)
{
	struct kvx_mvf_mbx *mbx = &vf->mbx;
	unsigned int reg = KVX_MVF_MBX_PAGE + off;

	lockdep_assert_held(&vf->lock);

	if (reg == KVX_MVF_REG_VFMAILBOX) {
		kvx_mvf_mbx_write_ctrl(vf, val);
		return;
	}
	if (reg >= KVX_MVF_REG_VFMBMEM &&
	    reg < KVX_MVF_REG_VFMBMEM + sizeof(mbx->mem)) {
		/* A VF that does not own the buffer cannot change it. */
		if (!kvx_mvf_mbx_vf_owns(mbx)) {
			mbx->stats.protocol_errors++;
			return;
		}
		mbx->mem[(reg - KVX_MVF_REG_VFMBMEM) / sizeof(u32)] = val;
	}
}
