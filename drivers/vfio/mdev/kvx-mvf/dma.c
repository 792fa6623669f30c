// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the DMA engine.
 *
 * The VF driver programs a ring of descriptors in IOVA memory (base and
 * size, while the engine is disabled), enables the engine, posts
 * descriptors by advancing TAIL and writes DMA_DOORBELL.  The doorbell is
 * served synchronously, in the context of the region write that rang it:
 * every descriptor from HEAD to TAIL is read, carried out and completed by
 * writing its status dword back, and HEAD advances past it.  A descriptor
 * that cannot be read, or whose status cannot be written, halts the engine
 * (RING_FAULT) until it is disabled.
 *
 * All guest memory is reached through vfio_dma_rw(), which walks the
 * container's IOVA mappings for each access: the engine holds no pins, so
 * an unmap by the VMM needs no callback, and an IOVA that is not mapped
 * fails the one descriptor that names it (ERR_FAULT).  Every write to guest
 * memory goes through kvx_mvf_dma_to_iova(), which logs it for DMA
 * logging (dirty.c) before it writes.
 *
 * A doorbell that completed descriptors raises the MSI vector when
 * DMA_CTRL.IRQ is set (irq.c).  Bus mastering is honoured: with
 * PCI_COMMAND_MASTER clear a doorbell is refused (NO_MASTER) and nothing
 * is touched.  While migration has the
 * device quiesced (kvx_mvf_dma_set_quiesced()) a doorbell is remembered and
 * served when the device runs again.
 */

#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/unaligned.h>

#include "dirty.h"
#include "dma.h"
#include "irq.h"
#include "mvf.h"

int kvx_mvf_dma_init(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_dma *dma = &vf->dma;

	dma->bounce = (void *)__get_free_page(GFP_KERNEL);
	if (!dma->bounce)
		return -ENOMEM;
	mutex_init(&dma->lock);
	memset(&dma->regs, 0, sizeof(dma->regs));
	dma->quiesced = false;
	return 0;
}

void kvx_mvf_dma_destroy(struct kvx_mvf_vf *vf)
{
	kvx_mvf_dirty_stop(vf);
	mutex_destroy(&vf->dma.lock);
	free_page((unsigned long)vf->dma.bounce);
	vf->dma.bounce = NULL;
}

/* Function level reset: the engine is disabled and forgets its ring. */
void kvx_mvf_dma_reset(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->dma.lock);
	memset(&vf->dma.regs, 0, sizeof(vf->dma.regs));
	mutex_unlock(&vf->dma.lock);
}

bool kvx_mvf_dma_is_reg(unsigned int off)
{
	return off >= KVX_MVF_DMA_PAGE &&
	       off < KVX_MVF_DMA_PAGE + KVX_MVF_PAGE_SIZE;
}

/* The one way the engine writes guest memory: logged, then written. */
static int kvx_mvf_dma_to_iova(struct kvx_mvf_vf *vf, u64 iova, void *buf,
			       size_t len)
{
	kvx_mvf_dirty_log(vf, iova, len);
	return vfio_dma_rw(&vf->vdev, iova, buf, len, true);
}

static bool kvx_mvf_dma_bus_master(struct kvx_mvf_vf *vf)
{
	bool master;

	mutex_lock(&vf->lock);
	master = get_unaligned_le16(&vf->config[PCI_COMMAND]) &
		 PCI_COMMAND_MASTER;
	mutex_unlock(&vf->lock);
	return master;
}

static u32 kvx_mvf_dma_copy(struct kvx_mvf_vf *vf, u64 src, u64 dst, u32 len)
{
	void *buf = vf->dma.bounce;
	u32 done, n;

	for (done = 0; done < len; done += n) {
		n = min_t(u32, len - done, PAGE_SIZE);
		if (vfio_dma_rw(&vf->vdev, src + done, buf, n, false) ||
		    kvx_mvf_dma_to_iova(vf, dst + done, buf, n))
			return KVX_MVF_DMA_ERR_FAULT;
		cond_resched();
	}
	return KVX_MVF_DMA_ERR_OK;
}

/* Chunks are whole pages from @dst, so byte i of the buffer is byte i. */
static u32 kvx_mvf_dma_fill(struct kvx_mvf_vf *vf, u32 pattern, u64 dst,
			    u32 len)
{
	u8 *buf = vf->dma.bounce;
	u32 done, n, i;

	for (i = 0; i < PAGE_SIZE; i++)
		buf[i] = pattern >> (8 * (i % sizeof(pattern)));
	for (done = 0; done < len; done += n) {
		n = min_t(u32, len - done, PAGE_SIZE);
		if (kvx_mvf_dma_to_iova(vf, dst + done, buf, n))
			return KVX_MVF_DMA_ERR_FAULT;
		cond_resched();
	}
	return KVX_MVF_DMA_ERR_OK;
}

/* Validate one descriptor completely, then carry it out. */
static u32 kvx_mvf_dma_exec(struct kvx_mvf_vf *vf,
			    const struct kvx_mvf_dma_desc *desc)
{
	u16 op = le16_to_cpu((__force __le16)desc->op);
	u32 len = le32_to_cpu((__force __le32)desc->len);
	u64 src = le64_to_cpu((__force __le64)desc->src);
	u64 dst = le64_to_cpu((__force __le64)desc->dst);
	u64 end;

	if (op != KVX_MVF_DMA_OP_COPY && op != KVX_MVF_DMA_OP_FILL)
		return KVX_MVF_DMA_ERR_OP;
	if (desc->flags || desc->rsvd || !len || len > KVX_MVF_DMA_MAX_LEN ||
	    check_add_overflow(dst, (u64)len, &end))
		return KVX_MVF_DMA_ERR_INVAL;

	if (op == KVX_MVF_DMA_OP_FILL) {
		if (upper_32_bits(src))
			return KVX_MVF_DMA_ERR_INVAL;
		return kvx_mvf_dma_fill(vf, lower_32_bits(src), dst, len);
	}

	if (check_add_overflow(src, (u64)len, &end) ||
	    (src < dst + len && dst < src + len))
		return KVX_MVF_DMA_ERR_INVAL;
	return kvx_mvf_dma_copy(vf, src, dst, len);
}

/*
 * Serve the ring from HEAD to TAIL.  At most ring_size descriptors: TAIL
 * only changes through register writes, which wait for the lock.  Always
 * in process context (a region write, a migration arc, close), under a
 * mutex: a full ring moves up to 256 MiB, so the engine yields the CPU
 * between pages and between descriptors.
 */
static void kvx_mvf_dma_process(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_dma_regs *regs = &vf->dma.regs;
	u32 completed = regs->completed;
	struct kvx_mvf_dma_desc desc;
	__le32 status;
	u64 addr;
	u32 err;

	might_sleep();
	lockdep_assert_held(&vf->dma.lock);

	if (!(regs->ctrl & KVX_MVF_DMA_CTRL_ENABLE) ||
	    (regs->status & KVX_MVF_DMA_STATUS_RING_FAULT))
		return;
	if (vf->dma.quiesced) {
		regs->kick_pending = true;
		return;
	}
	regs->kick_pending = false;
	if (!kvx_mvf_dma_bus_master(vf)) {
		regs->status |= KVX_MVF_DMA_STATUS_NO_MASTER;
		return;
	}
	regs->status &= ~KVX_MVF_DMA_STATUS_NO_MASTER;

	while (regs->head != regs->tail) {
		addr = regs->ring_base + (u64)regs->head * KVX_MVF_DMA_DESC_SIZE;
		if (vfio_dma_rw(&vf->vdev, addr, &desc, sizeof(desc), false)) {
			regs->status |= KVX_MVF_DMA_STATUS_RING_FAULT;
			break;
		}
		err = kvx_mvf_dma_exec(vf, &desc);
		status = cpu_to_le32(KVX_MVF_DMA_STS_DONE | err);
		if (kvx_mvf_dma_to_iova(vf, addr + offsetof(typeof(desc), status),
					&status, sizeof(status))) {
			regs->status |= KVX_MVF_DMA_STATUS_RING_FAULT;
			break;
		}
		regs->head = (regs->head + 1) & (regs->ring_size - 1);
		regs->completed++;
		regs->cpl_pending++;
		if (err)
			regs->errors++;
		cond_resched();
	}
	if (regs->completed != completed && (regs->ctrl & KVX_MVF_DMA_CTRL_IRQ))
		kvx_mvf_irq_signal(vf);
}

/*
 * Enabling checks the ring: a power-of-2 size up to KVX_MVF_DMA_RING_MAX
 * and a base aligned to a descriptor; otherwise the engine stays disabled
 * with CFG_ERR.  Disabling clears HEAD, TAIL and the error bits.
 */
static void kvx_mvf_dma_set_ctrl(struct kvx_mvf_dma_regs *regs, u32 val)
{
	bool enable = val & KVX_MVF_DMA_CTRL_ENABLE;

	regs->ctrl = (regs->ctrl & ~KVX_MVF_DMA_CTRL_IRQ) |
		     (val & KVX_MVF_DMA_CTRL_IRQ);
	if (enable == !!(regs->ctrl & KVX_MVF_DMA_CTRL_ENABLE))
		return;
	if (!enable) {
		regs->ctrl &= ~KVX_MVF_DMA_CTRL_ENABLE;
		regs->head = 0;
		regs->tail = 0;
		regs->status = 0;
		regs->kick_pending = false;
		return;
	}
	if (!regs->ring_size || regs->ring_size > KVX_MVF_DMA_RING_MAX ||
	    !is_power_of_2(regs->ring_size) ||
	    !IS_ALIGNED(regs->ring_base, KVX_MVF_DMA_DESC_SIZE)) {
		regs->status |= KVX_MVF_DMA_STATUS_CFG_ERR;
		return;
	}
	regs->status &= ~KVX_MVF_DMA_STATUS_CFG_ERR;
	regs->ctrl |= KVX_MVF_DMA_CTRL_ENABLE;
}

u32 kvx_mvf_dma_read(struct kvx_mvf_vf *vf, unsigned int off)
{
	struct kvx_mvf_dma_regs *regs = &vf->dma.regs;
	u32 val;

	mutex_lock(&vf->dma.lock);
	switch (off) {
	case KVX_MVF_REG_DMA_CTRL:
		val = regs->ctrl;
		break;
	case KVX_MVF_REG_DMA_STATUS:
		val = regs->status;
		if (regs->ctrl & KVX_MVF_DMA_CTRL_ENABLE)
			val |= KVX_MVF_DMA_STATUS_ENABLED;
		if (regs->kick_pending)
			val |= KVX_MVF_DMA_STATUS_QUIESCED;
		break;
	case KVX_MVF_REG_DMA_RING_LO:
		val = lower_32_bits(regs->ring_base);
		break;
	case KVX_MVF_REG_DMA_RING_HI:
		val = upper_32_bits(regs->ring_base);
		break;
	case KVX_MVF_REG_DMA_RING_SIZE:
		val = regs->ring_size;
		break;
	case KVX_MVF_REG_DMA_HEAD:
		val = regs->head;
		break;
	case KVX_MVF_REG_DMA_TAIL:
		val = regs->tail;
		break;
	case KVX_MVF_REG_DMA_COMPLETED:
		val = regs->completed;
		break;
	case KVX_MVF_REG_DMA_ERRORS:
		val = regs->errors;
		break;
	case KVX_MVF_REG_DMA_CPL_PENDING:
		val = regs->cpl_pending;
		break;
	default:
		val = 0;
		break;
	}
	mutex_unlock(&vf->dma.lock);
	return val;
}

/*
 * Ring registers only change while the engine is disabled; a TAIL beyond
 * the ring is ignored.  Other writes to the page are ignored, as MMIO.
 */
void kvx_mvf_dma_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val)
{
	struct kvx_mvf_dma_regs *regs = &vf->dma.regs;
	bool enabled;

	mutex_lock(&vf->dma.lock);
	enabled = regs->ctrl & KVX_MVF_DMA_CTRL_ENABLE;
	switch (off) {
	case KVX_MVF_REG_DMA_CTRL:
		kvx_mvf_dma_set_ctrl(regs, val);
		break;
	case KVX_MVF_REG_DMA_RING_LO:
		if (!enabled)
			regs->ring_base = (regs->ring_base & ~0xffffffffULL) |
					  val;
		break;
	case KVX_MVF_REG_DMA_RING_HI:
		if (!enabled)
			regs->ring_base = lower_32_bits(regs->ring_base) |
					  (u64)val << 32;
		break;
	case KVX_MVF_REG_DMA_RING_SIZE:
		if (!enabled)
			regs->ring_size = val;
		break;
	case KVX_MVF_REG_DMA_TAIL:
		if (enabled && val < regs->ring_size)
			regs->tail = val;
		break;
	case KVX_MVF_REG_DMA_DOORBELL:
		kvx_mvf_dma_process(vf);
		break;
	case KVX_MVF_REG_DMA_CPL_PENDING:
		regs->cpl_pending -= min(val, regs->cpl_pending);
		break;
	default:
		break;
	}
	mutex_unlock(&vf->dma.lock);
}

/*
 * Migration stops the engine from touching guest memory (quiesced) and lets
 * it go again.  On the way out a doorbell that arrived meanwhile is served,
 * and else the interrupt for completions still unacknowledged is raised
 * again: one the source raised just before it stopped may have been lost.
 */
void kvx_mvf_dma_set_quiesced(struct kvx_mvf_vf *vf, bool quiesced)
{
	struct kvx_mvf_dma_regs *regs = &vf->dma.regs;
	bool was;

	mutex_lock(&vf->dma.lock);
	was = vf->dma.quiesced;
	vf->dma.quiesced = quiesced;
	if (!quiesced && regs->kick_pending)
		kvx_mvf_dma_process(vf);
	else if (was && !quiesced && regs->cpl_pending &&
		 (regs->ctrl & KVX_MVF_DMA_CTRL_IRQ))
		kvx_mvf_irq_signal(vf);
	mutex_unlock(&vf->dma.lock);
}
