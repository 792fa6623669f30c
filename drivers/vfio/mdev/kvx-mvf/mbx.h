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
	u64 pf_traps;		/* exchanges the PF asked the trap for */
};

/*
 * How the PF notices what the VF does in its mailbox page.  The mode is an
 * observation choice of the PF and never changes what the VF sees: the
 * page has one register semantics in every mode (the DIRECT protocol,
 * mvf.rst), is mmap-able in every mode and is never revoked.  TRAPPED:
 * every write the PF can see is handled at once (a VFIO region write, a
 * guest store write-tracked through KVM, ktrap.c); when the page is mapped
 * by a user whose stores cannot be trapped (a mapping outside a tracked
 * memslot), the PF polls it as in DIRECT.  DIRECT: the PF polls the page
 * (direct.c), and region writes are handled at once too.
 */
enum kvx_mvf_mbx_mode {
	KVX_MVF_MBX_TRAPPED,
	KVX_MVF_MBX_DIRECT,
};

/*
 * The mailbox as the VF sees it, stored in @page, the page a VF's user may
 * map: @ctrl is VFMAILBOX and @mem VFMBMEM, at their offsets in BAR0 page
 * 1.  The bits are levels, each changed by one side only: REQ and ACK stay
 * set until the PF takes them, the VF clears PFSTS, PFACK and RSTD itself
 * (nothing is read-to-clear), in every mode and through every path.  Both
 * sides change @ctrl with atomic operations only.  @nr_maps counts the
 * user mappings of the page (VMAs), @quiesced is set while migration has
 * the device stopped (no poller pass then).  @pf_trap: the PF asked for the
 * trap because it must talk to the VF (a PF to VF message queued or not yet
 * acknowledged, a reset notice not yet answered by RESET); the VF is
 * observed TRAPPED whatever its mode until the exchange ended
 * (kvx_mvf_mbx_poll() releases it, kvx_mvf_mbx_trapped()).  @pf_msg_pending is set while
 * a PF message (a reply, or a PF to VF message) waits for the VF's ACK.
 * @link_msg_pending: a PF_LINK message waits for the buffer to be free
 * (kvx_mvf_mbx_pf_msg_flush()).
 */
struct kvx_mvf_mbx {
	struct page *page;
	atomic_t *ctrl;
	u32 *mem;
	enum kvx_mvf_mbx_mode mode;
	unsigned int nr_maps;
	bool quiesced;
	bool pf_trap;
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

/* Whether the PF polls the page (direct.c, ktrap.c, wtrace.c). */
bool kvx_mvf_mbx_trapped(struct kvx_mvf_vf *vf);
bool kvx_mvf_mbx_polled(struct kvx_mvf_vf *vf);
void kvx_mvf_mbx_kick_poller(struct kvx_mvf_vf *vf);

/* Atomically clear then set bits of VFMAILBOX; returns the old value. */
static inline u32 kvx_mvf_mbx_update(struct kvx_mvf_mbx *mbx, u32 clear,
				     u32 set)
{
	int old = atomic_read(mbx->ctrl);

	while (!atomic_try_cmpxchg(mbx->ctrl, &old, (old & ~clear) | set))
		;
	return old;
}

/*
 * The PF must talk to the VF (pf.c): observe it TRAPPED until the exchange
 * ended; the caller makes the tracking follow (kvx_mvf_direct_sync()).
 */
static inline void kvx_mvf_mbx_request_trap(struct kvx_mvf_mbx *mbx)
{
	if (!mbx->pf_trap)
		mbx->stats.pf_traps++;
	mbx->pf_trap = true;
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
