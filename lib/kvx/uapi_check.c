// SPDX-License-Identifier: GPL-2.0
/*
 * Validation of kvx ioctl arguments.
 *
 * Every check here guards input that userspace controls, so a failed check
 * returns an errno and never warns; only a caller passing an impossible bound
 * (a kernel bug) trips a WARN.
 */

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/overflow.h>
#include <linux/string.h>

#include "uapi_check.h"

/**
 * kvx_mem_is_zero() - Check that a reserved field is all zeroes.
 * @p: start of the field
 * @len: length of the field in bytes, may be 0
 *
 * Reserved fields and padding must be zero so that later kernels can give
 * them a meaning without breaking old userspace that left garbage there.
 *
 * Return: true if all @len bytes at @p are zero (trivially so for @len 0).
 */
bool kvx_mem_is_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/**
 * kvx_check_flags() - Check a flags word against the flags a call knows.
 * @flags: flags passed by userspace
 * @valid: mask of the flags this call defines
 *
 * Return: 0 if @flags has no bit outside @valid, -EINVAL otherwise.  Unknown
 * bits are rejected rather than ignored so that they can be given a meaning
 * later and userspace can probe for them.
 */
int kvx_check_flags(u64 flags, u64 valid)
{
	return flags & ~valid ? -EINVAL : 0;
}

/**
 * kvx_check_gfn_range() - Check a range of guest frame numbers.
 * @gfn: first guest frame number of the range
 * @npages: number of pages in the range
 * @max_gfn: first guest frame number past the usable space (exclusive)
 *
 * The range is [@gfn, @gfn + @npages).  It may end exactly at @max_gfn.
 *
 * Return: 0 if the range is valid; -EINVAL if it is empty, if
 * @gfn + @npages wraps around, or if it ends past @max_gfn.  An empty range is
 * an error rather than a no-op: it is almost always a userspace bug (a size
 * in bytes passed where pages were expected and rounded down).
 */
int kvx_check_gfn_range(u64 gfn, u64 npages, u64 max_gfn)
{
	u64 end;

	if (!npages)
		return -EINVAL;
	if (check_add_overflow(gfn, npages, &end))
		return -EINVAL;
	if (end > max_gfn)
		return -EINVAL;
	return 0;
}

/**
 * kvx_check_view_access() - Check the access rights a view gives a range.
 * @access: KVX_VIEW_ACCESS_* bits
 *
 * Any combination of READ, WRITE and EXEC is accepted, including none (the
 * range is not present in the view) and EXEC alone (execute-only), except
 * WRITE without READ: EPT treats a writable, non-readable entry as a
 * misconfiguration, not as a permission.  INHERIT must be passed alone.
 *
 * Return: 0 if @access is valid, -EINVAL otherwise (unknown bits, WRITE
 * without READ, or INHERIT combined with other bits).
 */
int kvx_check_view_access(u32 access)
{
	if (access == KVX_VIEW_ACCESS_INHERIT)
		return 0;
	if (access & ~KVX_VIEW_ACCESS_RWX)
		return -EINVAL;
	if ((access & KVX_VIEW_ACCESS_WRITE) && !(access & KVX_VIEW_ACCESS_READ))
		return -EINVAL;
	return 0;
}

static bool kvx_subpage_ranges_overlap(const struct kvx_subpage_range *a,
				       const struct kvx_subpage_range *b)
{
	return a->offset < b->offset + b->size &&
	       b->offset < a->offset + a->size;
}

static bool kvx_subpage_range_is_valid(const struct kvx_subpage_range *r)
{
	if (!r->size || r->offset + r->size > KVX_SUBPAGE_SIZE)
		return false;
	return r->flags && !(r->flags & ~KVX_SUBPAGE_VALID_FLAGS);
}

/**
 * kvx_check_subpage_ranges() - Check the allowed byte ranges of a window.
 * @ranges: array of @n ranges, already copied from userspace
 * @n: number of ranges
 * @max_n: most ranges the caller accepts, at most KVX_CHECK_SUBPAGE_MAX_RANGES
 *
 * Each range must be non-empty, lie within one KVX_SUBPAGE_SIZE page, and
 * allow reading, writing or both (no other flag bits).  No two ranges may
 * share a byte; adjacent ranges are fine.  The ranges need not be sorted.
 *
 * Overlap is checked pairwise: @max_n bounds the work to a few thousand
 * comparisons and needs neither a sorted copy nor an allocation.
 *
 * Return: 0 if the ranges are valid; -E2BIG if @n exceeds @max_n (so that
 * userspace can tell "too many" from "malformed"); -EINVAL if @n is 0, if a
 * range is empty, crosses the end of the page or has invalid flags, or if two
 * ranges overlap.
 */
int kvx_check_subpage_ranges(const struct kvx_subpage_range *ranges,
			     unsigned int n, unsigned int max_n)
{
	unsigned int i, j;

	if (WARN_ON_ONCE(max_n > KVX_CHECK_SUBPAGE_MAX_RANGES))
		return -EINVAL;
	if (!n)
		return -EINVAL;
	if (n > max_n)
		return -E2BIG;

	for (i = 0; i < n; i++) {
		if (!kvx_subpage_range_is_valid(&ranges[i]))
			return -EINVAL;
		for (j = 0; j < i; j++) {
			if (kvx_subpage_ranges_overlap(&ranges[i], &ranges[j]))
				return -EINVAL;
		}
	}
	return 0;
}
