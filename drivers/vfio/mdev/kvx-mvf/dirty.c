// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_START/STOP/REPORT).
 *
 * The DMA engine is the only writer of guest memory and every one of its
 * writes goes through kvx_mvf_dirty_log() first, under the engine's lock:
 * a page is marked before the data can land, so a report never misses a
 * write that completed before it.  One session at a time; the session
 * belongs to the device's user and ends with STOP or when the device is
 * closed.
 *
 * Each range of the session has a bitmap of its own, one bit per tracking
 * page.  The tracking page is the user's hint when it is a power of two
 * from PAGE_SIZE to 1 GiB, PAGE_SIZE otherwise, and doubles until the
 * bitmaps of all ranges fit in KVX_MVF_DIRTY_MAX_PAGES bits; START returns
 * what was chosen, as the uAPI says.
 *
 * REPORT through the VFIO core writes the user's bitmap with the
 * iova_bitmap helpers, which only exist with CONFIG_IOMMUFD_DRIVER (the
 * VFIO core of a kernel without it fails every REPORT with -EOPNOTSUPP).
 * The feature is therefore offered (vdev->log_ops) only where the core can
 * serve REPORT: a VMM that finds it missing (QEMU probes it) uses its
 * container's dirty tracking, which type1 keeps exactly for this device,
 * whose every write goes through vfio_dma_rw() (dma.c).  The module
 * parameter dma_logging (read-only) tells which.
 */

#include <linux/bits.h>
#include <linux/interval_tree.h>
#include <linux/iova_bitmap.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dirty.h"
#include "mvf.h"

#define KVX_MVF_DIRTY_MAX_PAGES		BIT_ULL(26)	/* 8 MiB of bitmaps */
#define KVX_MVF_DIRTY_MAX_PAGE_SIZE	SZ_1G

/* Whether the VFIO core can serve REPORT, so the device offers logging. */
static bool dma_logging = IS_ENABLED(CONFIG_IOMMUFD_DRIVER);
module_param(dma_logging, bool, 0444);
MODULE_PARM_DESC(dma_logging,
		 "VFIO_DEVICE_FEATURE_DMA_LOGGING offered (the kernel has CONFIG_IOMMUFD_DRIVER)");

bool kvx_mvf_dirty_offered(void)
{
	return dma_logging;
}

static u64 kvx_mvf_dirty_npages(const struct kvx_mvf_dirty_range *r,
				unsigned int shift)
{
	return (r->last >> shift) - (r->start >> shift) + 1;
}

static void kvx_mvf_dirty_free(struct kvx_mvf_dirty_range *ranges, u32 nr)
{
	u32 i;

	if (!ranges)
		return;
	for (i = 0; i < nr; i++)
		kvfree(ranges[i].bitmap);
	kfree(ranges);
}

static bool kvx_mvf_dirty_active(struct kvx_mvf_vf *vf)
{
	bool active;

	mutex_lock(&vf->dma.lock);
	active = vf->dma.dirty.ranges;
	mutex_unlock(&vf->dma.lock);
	return active;
}

/*
 * The VFIO core checks alignment, overlaps and that iova + length does not
 * wrap, and makes each range [iova, iova + length - 1]; a range of length
 * 0 comes out as last = iova - 1: inverted, or [0, ULONG_MAX] for iova 0,
 * which a valid range cannot be (its end, 2^64, wraps).  Any of them, like
 * a range that wraps, is refused.
 */
static bool kvx_mvf_dirty_node_valid(const struct interval_tree_node *node)
{
	return node->start <= node->last && node->last != ULONG_MAX;
}

static int kvx_mvf_log_start(struct vfio_device *vdev,
			     struct rb_root_cached *root, u32 nnodes,
			     u64 *page_size)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	struct kvx_mvf_dirty *dirty = &vf->dma.dirty;
	struct kvx_mvf_dirty_range *ranges;
	struct interval_tree_node *node;
	unsigned int shift = PAGE_SHIFT;
	u64 total;
	u32 nr = 0, i;
	int ret;

	if (kvx_mvf_dirty_active(vf))
		return -EBUSY;

	if (is_power_of_2(*page_size) && *page_size >= PAGE_SIZE &&
	    *page_size <= KVX_MVF_DIRTY_MAX_PAGE_SIZE)
		shift = ilog2(*page_size);

	ranges = kcalloc(nnodes, sizeof(*ranges), GFP_KERNEL_ACCOUNT);
	if (!ranges)
		return -ENOMEM;
	/* In order of start: the tree is sorted and without overlaps. */
	for (node = interval_tree_iter_first(root, 0, ULONG_MAX);
	     node && nr < nnodes;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (!kvx_mvf_dirty_node_valid(node)) {
			ret = -EINVAL;
			goto err_free;
		}
		ranges[nr].start = node->start;
		ranges[nr].last = node->last;
		nr++;
	}
	if (nr != nnodes) {
		ret = -EINVAL;
		goto err_free;
	}

	/* Coarser tracking until the bitmaps fit; nnodes is bounded. */
	for (;;) {
		total = 0;
		for (i = 0; i < nr; i++)
			total += kvx_mvf_dirty_npages(&ranges[i], shift);
		if (total <= KVX_MVF_DIRTY_MAX_PAGES)
			break;
		shift++;
	}

	for (i = 0; i < nr; i++) {
		total = kvx_mvf_dirty_npages(&ranges[i], shift);
		ranges[i].bitmap = kvcalloc(BITS_TO_LONGS(total),
					    sizeof(unsigned long),
					    GFP_KERNEL_ACCOUNT);
		if (!ranges[i].bitmap) {
			ret = -ENOMEM;
			goto err_free;
		}
	}

	mutex_lock(&vf->dma.lock);
	if (dirty->ranges) {
		mutex_unlock(&vf->dma.lock);
		ret = -EBUSY;
		goto err_free;
	}
	dirty->ranges = ranges;
	dirty->nr_ranges = nr;
	dirty->shift = shift;
	dirty->untracked = 0;
	dirty->session++;
	mutex_unlock(&vf->dma.lock);

	*page_size = 1ULL << shift;
	return 0;

err_free:
	kvx_mvf_dirty_free(ranges, nr);
	return ret;
}

/* Ends the session if there is one; no session is not an error. */
void kvx_mvf_dirty_stop(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_dirty *dirty = &vf->dma.dirty;
	struct kvx_mvf_dirty_range *ranges;
	u32 nr;

	mutex_lock(&vf->dma.lock);
	ranges = dirty->ranges;
	nr = dirty->nr_ranges;
	dirty->ranges = NULL;
	dirty->nr_ranges = 0;
	mutex_unlock(&vf->dma.lock);

	kvx_mvf_dirty_free(ranges, nr);
}

static int kvx_mvf_log_stop(struct vfio_device *vdev)
{
	kvx_mvf_dirty_stop(vdev_to_vf(vdev));
	return 0;
}

/* Clip [@iova, @last] to @r: false if they do not meet. */
static bool kvx_mvf_dirty_clip(const struct kvx_mvf_dirty_range *r, u64 iova,
			       u64 last, u64 *lo, u64 *hi)
{
	*lo = max(iova, r->start);
	*hi = min(last, r->last);
	return *lo <= *hi;
}

/*
 * Called before every write of @len bytes at @iova by the device.  A write
 * that wraps the IOVA space is clamped; it will fail in vfio_dma_rw().
 */
void kvx_mvf_dirty_log(struct kvx_mvf_vf *vf, u64 iova, u64 len)
{
	struct kvx_mvf_dirty *dirty = &vf->dma.dirty;
	unsigned int shift = dirty->shift;
	struct kvx_mvf_dirty_range *r;
	u64 last, lo, hi, tracked = 0;
	u32 i;

	lockdep_assert_held(&vf->dma.lock);

	if (!dirty->ranges || !len)
		return;
	if (check_add_overflow(iova, len - 1, &last))
		last = U64_MAX;

	for (i = 0; i < dirty->nr_ranges; i++) {
		r = &dirty->ranges[i];
		if (!kvx_mvf_dirty_clip(r, iova, last, &lo, &hi))
			continue;
		bitmap_set(r->bitmap, (lo >> shift) - (r->start >> shift),
			   (hi >> shift) - (lo >> shift) + 1);
		tracked += hi - lo + 1;
	}
	dirty->untracked += last - iova + 1 - tracked;
}

/*
 * Called for each dirty tracking page met, clipped to the range; returns
 * whether the page, if wholly inside the range, may be cleared.
 */
typedef bool (*kvx_mvf_dirty_fn)(void *opaque, u64 iova, u64 len);

/*
 * Walk the dirty tracking pages that meet [@iova, @last] through @fn and
 * clear those wholly inside it that @fn lets go: a page only partly
 * reported stays dirty for the report that covers the rest.
 */
static void kvx_mvf_dirty_collect(struct kvx_mvf_dirty *dirty, u64 iova,
				  u64 last, kvx_mvf_dirty_fn fn, void *opaque)
{
	unsigned int shift = dirty->shift;
	struct kvx_mvf_dirty_range *r;
	u64 lo, hi, pstart, pend;
	unsigned long bit, end, base;
	bool clear;
	u32 i;

	for (i = 0; i < dirty->nr_ranges; i++) {
		r = &dirty->ranges[i];
		if (!kvx_mvf_dirty_clip(r, iova, last, &lo, &hi))
			continue;
		base = r->start >> shift;
		end = (hi >> shift) - base + 1;
		bit = (lo >> shift) - base;
		for_each_set_bit_from(bit, r->bitmap, end) {
			pstart = (u64)(base + bit) << shift;
			pend = pstart + ((1ULL << shift) - 1);
			clear = fn(opaque, max(pstart, iova),
				   min(pend, last) - max(pstart, iova) + 1);
			if (clear && pstart >= iova && pend <= last)
				__clear_bit(bit, r->bitmap);
		}
	}
}

static bool kvx_mvf_dirty_set_iova_bitmap(void *opaque, u64 iova, u64 len)
{
	iova_bitmap_set(opaque, iova, len);
	return true;
}

/*
 * The core's REPORT passes the user's range whole.  It checks that the
 * range does not wrap, but lets length 0 through, which would be read and
 * cleared as [iova, iova - 1], from IOVA 0 up for iova 0: refused.
 */
static int kvx_mvf_log_read_and_clear(struct vfio_device *vdev,
				      unsigned long iova, unsigned long length,
				      struct iova_bitmap *bitmap)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	unsigned long last;
	int ret = 0;

	if (!length || check_add_overflow(iova, length - 1, &last))
		return -EINVAL;

	mutex_lock(&vf->dma.lock);
	if (vf->dma.dirty.ranges)
		kvx_mvf_dirty_collect(&vf->dma.dirty, iova, last,
				      kvx_mvf_dirty_set_iova_bitmap, bitmap);
	else
		ret = -EINVAL;
	mutex_unlock(&vf->dma.lock);
	return ret;
}

const struct vfio_log_ops kvx_mvf_log_ops = {
	.log_start = kvx_mvf_log_start,
	.log_stop = kvx_mvf_log_stop,
	.log_read_and_clear = kvx_mvf_log_read_and_clear,
};
