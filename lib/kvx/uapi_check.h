/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Validation of kvx ioctl arguments, shared by every kvx ioctl handler.
 *
 * The helpers work on arguments already copied from userspace and are pure
 * functions of them: no locks, no allocation, no side effects.  They exist so
 * that each ioctl rejects malformed input the same way and so the rules can
 * be tested under KUnit without a VM.
 */
#ifndef _KVX_UAPI_CHECK_H
#define _KVX_UAPI_CHECK_H

#include <linux/bits.h>
#include <linux/types.h>

/*
 * Access rights of a view on a GFN range (EPT/NPT permission bits), as in
 * include/uapi/linux/kvx.h, which KVM's build includes first; KUnit builds
 * this file without it.
 */
#ifndef KVX_VIEW_ACCESS_READ
#define KVX_VIEW_ACCESS_READ		BIT(0)
#define KVX_VIEW_ACCESS_WRITE		BIT(1)
#define KVX_VIEW_ACCESS_EXEC		BIT(2)
#define KVX_VIEW_ACCESS_RWX		(KVX_VIEW_ACCESS_READ |		\
					 KVX_VIEW_ACCESS_WRITE |	\
					 KVX_VIEW_ACCESS_EXEC)
/* Drop the view's override: the range gets view 0's access again. */
#define KVX_VIEW_ACCESS_INHERIT		BIT(31)
#endif

/* One allowed byte range of a sub-page window; the page is 4 KiB. */
#define KVX_SUBPAGE_SIZE		4096
#define KVX_CHECK_SUBPAGE_MAX_RANGES	64
#ifndef KVX_WINDOW_READ
#define KVX_WINDOW_READ			BIT(0)
#define KVX_WINDOW_WRITE		BIT(1)
#endif
#define KVX_SUBPAGE_VALID_FLAGS		(KVX_WINDOW_READ | KVX_WINDOW_WRITE)

struct kvx_subpage_range {
	__u16 offset;
	__u16 size;
	__u32 flags;
};

bool kvx_mem_is_zero(const void *p, size_t len);
int kvx_check_flags(u64 flags, u64 valid);
int kvx_check_gfn_range(u64 gfn, u64 npages, u64 max_gfn);
int kvx_check_view_access(u32 access);
int kvx_check_subpage_ranges(const struct kvx_subpage_range *ranges,
			     unsigned int n, unsigned int max_n);

#endif /* _KVX_UAPI_CHECK_H */
