/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the VF-visible mailbox register model (VFMAILBOX + VFMBMEM).
 */
#ifndef KVX_MVF_MBX_H
#define KVX_MVF_MBX_H

#include <linux/atomic.h>
#include <linux/types.h>
#include <linux/kvx_mvf.h>

struct kvx_mvf_vf;
struct page;

struct kvx_mvf_mbx_stats {
	u64 requests;		/* requests handed to the PF */
	u64 nacks;		/* of which the PF refused */
	u64 protocol_errors;	/* VF broke the ownership rules */
	u64 pf_msgs;		/* PF to VF messages delivered */
};

/*
 * How the VF reaches its mailbox page.  TRAPPED: every write handled at
 * once, through VFIO region read/write, or through KVM write tracking when
 * the VMM mapped the page into a guest (ktrap.c).  DIRECT: the page is
 * mapped into the VF's user (direct.c) and the PF polls it.
 */
enum kvx_mvf_mbx_mode {
	KVX_MVF_MBX_TRAPPED,
	KVX_MVF_MBX_DIRECT,
};

/*
 * The mailbox as the VF sees it, stored in @page, the page a DIRECT VF has
 * mapped: @ctrl is VFMAILBOX and @mem VFMBMEM, at their offsets in BAR0
 * page 1.  In TRAPPED mode @ctrl holds the latched bits: VFU, PFU and RSTI
 * as levels, PFSTS, PFACK and RSTD until the VF reads them; REQ and ACK are
 * actions and never latched.  In DIRECT mode the VF writes the page itself:
 * REQ and ACK stay set until the PF's poller takes them, and the VF clears
 * the read-to-clear bits.  @mapped says the VF reaches the page that way:
 * DIRECT, or TRAPPED through KVM write tracking (ktrap.c), where the
 * guest's stores land in the page too, each reported at once.  Both sides
 * change @ctrl with atomic operations only.  @pf_msg_pending is set while
 * a PF message (a reply, or a PF to VF message) waits for the VF's ACK.
 * @link_msg_pending: a PF_LINK message waits for the buffer to be free
 * (kvx_mvf_mbx_pf_msg_flush()).
 */
struct kvx_mvf_mbx {
	struct page *page;
	atomic_t *ctrl;
	u32 *mem;
	enum kvx_mvf_mbx_mode mode;
	bool mapped;
	bool pf_msg_pending;
	bool link_msg_pending;
	struct kvx_mvf_mbx_stats stats;
};

int kvx_mvf_mbx_init(struct kvx_mvf_mbx *mbx);
void kvx_mvf_mbx_destroy(struct kvx_mvf_mbx *mbx);
void kvx_mvf_mbx_poll(struct kvx_mvf_vf *vf);
void kvx_mvf_mbx_pf_msg_flush(struct kvx_mvf_vf *vf);
void kvx_mvf_mbx_reset(struct kvx_mvf_mbx *mbx);
u32 kvx_mvf_mbx_read(struct kvx_mvf_vf *vf, unsigned int off);
void kvx_mvf_mbx_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val);

/* The mapping of the mailbox page (direct.c, ktrap.c, wtrace.c). */
void kvx_mvf_mbx_sync_mapped(struct kvx_mvf_vf *vf);
void kvx_mvf_direct_zap(struct kvx_mvf_vf *vf);
bool kvx_mvf_direct_active(struct kvx_mvf_vf *vf);

/* Atomically clear then set bits of VFMAILBOX; returns the old value. */
static inline u32 kvx_mvf_mbx_update(struct kvx_mvf_mbx *mbx, u32 clear,
				     u32 set)
{
	int old = atomic_read(mbx->ctrl);

	while (!atomic_try_cmpxchg(mbx->ctrl, &old, (old & ~clear) | set))
		;
	return old;
}

static inline void kvx_mvf_mbx_set_reset_pending(struct kvx_mvf_mbx *mbx,
						 bool pending)
{
	if (pending)
		kvx_mvf_mbx_update(mbx, 0, KVX_MVF_MBX_RSTI);
	else
		kvx_mvf_mbx_update(mbx, KVX_MVF_MBX_RSTI, 0);
}

static inline bool kvx_mvf_mbx_reset_pending(const struct kvx_mvf_mbx *mbx)
{
	return atomic_read(mbx->ctrl) & KVX_MVF_MBX_RSTI;
}

#endif /* KVX_MVF_MBX_H */
