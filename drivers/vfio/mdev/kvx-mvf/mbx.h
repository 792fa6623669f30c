/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the VF-visible mailbox register model (VFMAILBOX + VFMBMEM).
 */
#ifndef KVX_MVF_MBX_H
#define KVX_MVF_MBX_H

#include <linux/types.h>
#include <linux/kvx_mvf.h>

struct kvx_mvf_vf;

struct kvx_mvf_mbx_stats {
	u64 requests;		/* requests handed to the PF */
	u64 nacks;		/* of which the PF refused */
	u64 protocol_errors;	/* VF broke the ownership rules */
};

/*
 * The mailbox as the VF sees it.  @ctrl holds the latched VFMAILBOX bits:
 * VFU, PFU and RSTI as levels, PFSTS, PFACK and RSTD until the VF reads
 * them.  REQ and ACK are actions and never latched.  @pf_msg_pending is set
 * while a PF message (a reply, for now) waits for the VF's ACK.
 */
struct kvx_mvf_mbx {
	u32 ctrl;
	u32 mem[KVX_MVF_MBX_WORDS];
	bool pf_msg_pending;
	struct kvx_mvf_mbx_stats stats;
};

void kvx_mvf_mbx_reset(struct kvx_mvf_mbx *mbx);
void kvx_mvf_mbx_set_reset_pending(struct kvx_mvf_mbx *mbx, bool pending);
bool kvx_mvf_mbx_reset_pending(const struct kvx_mvf_mbx *mbx);
u32 kvx_mvf_mbx_read(struct kvx_mvf_vf *vf, unsigned int off);
void kvx_mvf_mbx_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val);

#endif /* KVX_MVF_MBX_H */
