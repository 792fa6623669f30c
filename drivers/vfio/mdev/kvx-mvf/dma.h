/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the DMA engine of BAR0 page 2.
 */
#ifndef KVX_MVF_DMA_H
#define KVX_MVF_DMA_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/kvx_mvf.h>

#include "dirty.h"

struct kvx_mvf_vf;

/*
 * The engine's registers and counters, as the VF sees them.  Everything
 * here is under kvx_mvf_dma.lock.
 */
struct kvx_mvf_dma_regs {
	u32 ctrl;
	u32 status;		/* KVX_MVF_DMA_STATUS_* but ENABLED */
	u64 ring_base;
	u32 ring_size;
	u32 head;
	u32 tail;
	u32 completed;
	u32 errors;
	u32 cpl_pending;	/* completions the VF did not acknowledge */
	bool kick_pending;	/* a doorbell arrived while quiesced */
};

/*
 * The DMA engine.  @lock is taken before the VF's lock and is held while
 * the engine reads and writes IOVA memory (which may fault user pages):
 * nothing holding the VF's lock may take it.  @quiesced is set while
 * migration has the device stopped: doorbells are remembered, not served.
 */
struct kvx_mvf_dma {
	/* Protects the rest, and serialises the engine. */
	struct mutex lock;
	struct kvx_mvf_dma_regs regs;
	bool quiesced;
	struct kvx_mvf_dirty dirty;
	/* One page: data moves through it, a chunk at a time. */
	void *bounce;
};

int kvx_mvf_dma_init(struct kvx_mvf_vf *vf);
void kvx_mvf_dma_destroy(struct kvx_mvf_vf *vf);
void kvx_mvf_dma_reset(struct kvx_mvf_vf *vf);
bool kvx_mvf_dma_is_reg(unsigned int off);
u32 kvx_mvf_dma_read(struct kvx_mvf_vf *vf, unsigned int off);
void kvx_mvf_dma_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val);
void kvx_mvf_dma_set_quiesced(struct kvx_mvf_vf *vf, bool quiesced);

#endif /* KVX_MVF_DMA_H */
