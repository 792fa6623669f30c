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
 * iova_bitmap helpers, which only exist with CONFIG_IOMMUFD_DRIVER.  Where
 * the kernel lacks them (the core then fails REPORT with -EOPNOTSUPP),
 * KVX_MVF_DMA_LOGGING_REPORT on the device fd reports the same log in the
 * same bitmap format.
 */

#include <linux/bits.h>
#include <linux/interval_tree.h>
#include <linux/iova_bitmap.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mvf.h"

#define KVX_MVF_DIRTY_MAX_PAGES		BIT_ULL(26)	/* 8 MiB of bitmaps */
#define KVX_MVF_DIRTY_MAX_PAGE_SIZE	SZ_1G
/* Bits of a private report handled per pass: one page of bitmap. */
#define KVX_MVF_REPORT_WINDOW		(PAGE_SIZE * BITS_PER_BYTE)

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
		ranges[nr].start = node->start;
		ranges[nr].last = node->last;
		nr++;
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
		lo = max(iova, r->start);
		hi = min(last, r->last);
		if (lo > hi)
			continue;
		bitmap_set(r->bitmap, (lo >> shift) - (r->start >> shift),
			   (hi >> shift) - (lo >> shift) + 1);
		tracked += hi - lo + 1;
	}
	dirty->untracked += last - iova + 1 - tracked;
}

typedef void (*kvx_mvf_dirty_set_fn)(void *opaque, u64 iova, u64 len);

/*
 * Report the dirty tracking pages that meet [@iova, @last] through @set,
 * clipped to it, and clear those wholly inside it: a page only partly
 * reported stays dirty for the report that covers the rest.
 */
static void kvx_mvf_dirty_collect(struct kvx_mvf_dirty *dirty, u64 iova,
				  u64 last, kvx_mvf_dirty_set_fn set,
				  void *opaque)
{
	unsigned int shift = dirty->shift;
	struct kvx_mvf_dirty_range *r;
	u64 lo, hi, pstart, pend;
	unsigned long bit, end, base;
	u32 i;

	for (i = 0; i < dirty->nr_ranges; i++) {
		r = &dirty->ranges[i];
		lo = max(iova, r->start);
		hi = min(last, r->last);
		if (lo > hi)
			continue;
		base = r->start >> shift;
		end = (hi >> shift) - base + 1;
		bit = (lo >> shift) - base;
		for_each_set_bit_from(bit, r->bitmap, end) {
			pstart = (u64)(base + bit) << shift;
			pend = pstart + ((1ULL << shift) - 1);
			set(opaque, max(pstart, iova),
			    min(pend, last) - max(pstart, iova) + 1);
			if (pstart >= iova && pend <= last)
				__clear_bit(bit, r->bitmap);
		}
	}
}

static void kvx_mvf_dirty_set_iova_bitmap(void *opaque, u64 iova, u64 len)
{
	iova_bitmap_set(opaque, iova, len);
}

static int kvx_mvf_log_read_and_clear(struct vfio_device *vdev,
				      unsigned long iova, unsigned long length,
				      struct iova_bitmap *bitmap)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	int ret = 0;

	mutex_lock(&vf->dma.lock);
	if (vf->dma.dirty.ranges)
		kvx_mvf_dirty_collect(&vf->dma.dirty, iova, iova + length - 1,
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

/* The private report: one window of the user's bitmap at a time. */
struct kvx_mvf_report_window {
	u64 *words;
	u64 iova;		/* of bit 0 */
	unsigned int shift;	/* of the report's page size */
};

static void kvx_mvf_report_set(void *opaque, u64 iova, u64 len)
{
	struct kvx_mvf_report_window *win = opaque;
	u64 first = (iova - win->iova) >> win->shift;
	u64 n = ((iova + len - 1 - win->iova) >> win->shift) - first + 1;
	unsigned int off, cnt;

	while (n) {
		off = first % 64;
		cnt = min_t(u64, n, 64 - off);
		win->words[first / 64] |= GENMASK_ULL(off + cnt - 1, off);
		first += cnt;
		n -= cnt;
	}
}

/*
 * KVX_MVF_DMA_LOGGING_REPORT: REPORT's semantics, with the range aligned to
 * the page size.  Each window of the user's bitmap is read before any of
 * its pages is cleared, so a bitmap the kernel cannot access fails with
 * -EFAULT before the log changes.  Bits are only ever set.
 */
long kvx_mvf_dirty_ioctl_report(struct kvx_mvf_vf *vf, void __user *arg)
{
	unsigned long minsz = offsetofend(struct kvx_mvf_dma_logging_report,
					  bitmap);
	struct kvx_mvf_dma_logging_report rep;
	struct kvx_mvf_report_window win;
	u64 __user *ubitmap;
	u64 npages, done, n, end;
	size_t bytes;
	long ret = 0;

	if (copy_from_user(&rep, arg, minsz))
		return -EFAULT;
	if (rep.argsz < minsz || rep.flags)
		return -EINVAL;
	if (rep.page_size < SZ_4K || !is_power_of_2(rep.page_size) ||
	    !rep.length || !IS_ALIGNED(rep.iova | rep.length, rep.page_size))
		return -EINVAL;
	if (check_add_overflow(rep.iova, rep.length - 1, &end))
		return -EOVERFLOW;

	win.words = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!win.words)
		return -ENOMEM;
	win.shift = ilog2(rep.page_size);
	npages = rep.length >> win.shift;
	ubitmap = u64_to_user_ptr(rep.bitmap);

	mutex_lock(&vf->dma.lock);
	if (!vf->dma.dirty.ranges) {
		ret = -EINVAL;
		goto out_unlock;
	}
	for (done = 0; done < npages; done += n) {
		n = min_t(u64, npages - done, KVX_MVF_REPORT_WINDOW);
		bytes = DIV_ROUND_UP(n, 64) * sizeof(u64);
		if (copy_from_user(win.words, ubitmap + done / 64, bytes)) {
			ret = -EFAULT;
			break;
		}
		win.iova = rep.iova + (done << win.shift);
		kvx_mvf_dirty_collect(&vf->dma.dirty, win.iova,
				      win.iova + (n << win.shift) - 1,
				      kvx_mvf_report_set, &win);
		if (copy_to_user(ubitmap + done / 64, win.words, bytes)) {
			ret = -EFAULT;
			break;
		}
		cond_resched();
	}
out_unlock:
	mutex_unlock(&vf->dma.lock);
	kfree(win.words);
	return ret;
}
