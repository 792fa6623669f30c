/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: DMA logging, the device-side dirty tracking of guest memory.
 */
#ifndef KVX_MVF_DIRTY_H
#define KVX_MVF_DIRTY_H

#include <linux/types.h>

struct kvx_mvf_vf;
struct vfio_log_ops;

/* One IOVA range of the session: a bit per page of 1 << shift bytes. */
struct kvx_mvf_dirty_range {
	u64 start;
	u64 last;
	unsigned long *bitmap;
};

/*
 * The logging session, under the DMA engine's lock (the engine is the
 * one writer of guest memory).  @ranges is sorted and non-overlapping;
 * NULL when no session is active.
 */
struct kvx_mvf_dirty {
	struct kvx_mvf_dirty_range *ranges;
	u32 nr_ranges;
	unsigned int shift;
	/* Bytes written outside the session's ranges. */
	u64 untracked;
	/* Counts STARTs: tells a session from the one before it. */
	u64 session;
};

extern const struct vfio_log_ops kvx_mvf_log_ops;

void kvx_mvf_dirty_log(struct kvx_mvf_vf *vf, u64 iova, u64 len);
void kvx_mvf_dirty_stop(struct kvx_mvf_vf *vf);
bool kvx_mvf_dirty_offered(void);

#endif /* KVX_MVF_DIRTY_H */
