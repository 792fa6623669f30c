/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx sub-page windows: layout of the trampoline page KVM maps into a guest.
 *
 * One 4 KiB page, read-only to the guest in every view and executable in
 * every view (the only executable page of a window view):
 *
 *   0x000  ud2; falling into the page from the page before it faults
 *   0x010  entry points, KVX_SUBPAGE_ENTRY_STRIDE apart: read 1, 2, 4, 8
 *          bytes, then write 1, 2, 4, 8 bytes
 *   ...    code (subpage_tramp.S), at most up to KVX_SUBPAGE_TABLE_OFFSET
 *   0x800  struct kvx_subpage_tramp_hdr, filled by KVM
 *   0x840  struct kvx_subpage_tramp_window[KVX_SUBPAGE_MAX_WINDOWS]
 *
 * Included by subpage_tramp.S, by KVM and by the host-side unit test, so it
 * needs nothing but <linux/types.h>.  Documentation/virt/kvx/subpage.rst has
 * the design and the threat model.
 */
#ifndef ARCH_X86_KVM_KVX_SUBPAGE_TRAMP_H
#define ARCH_X86_KVM_KVX_SUBPAGE_TRAMP_H

#define KVX_SUBPAGE_TRAMP_SIZE		4096
#define KVX_SUBPAGE_MAGIC		0x5053584b	/* "KXSP" */
#define KVX_SUBPAGE_VERSION		1

/* Entry points: offset of the entry for @size bytes (1, 2, 4, 8). */
#define KVX_SUBPAGE_ENTRY_STRIDE	0x10
#define KVX_SUBPAGE_ENTRY_READ1		0x10
#define KVX_SUBPAGE_ENTRY_WRITE1	0x50

/* Where KVM fills in the header and the windows. */
#define KVX_SUBPAGE_TABLE_OFFSET	0x800
#define KVX_SUBPAGE_WINDOWS_OFFSET	0x840
#define KVX_SUBPAGE_WINDOW_SHIFT	6		/* 64 bytes each */
#define KVX_SUBPAGE_WINDOW_SIZE		64
#define KVX_SUBPAGE_RANGE_SIZE		8
#define KVX_SUBPAGE_MAX_WINDOWS		15		/* views 1..15 */
#define KVX_SUBPAGE_MAX_RANGES		7

/* Field offsets for the assembly. */
#define KVX_SUBPAGE_HDR_MODE		6
#define KVX_SUBPAGE_WIN_VIEW		0
#define KVX_SUBPAGE_WIN_FLAGS		2
#define KVX_SUBPAGE_WIN_RANGES		8
#define KVX_SUBPAGE_RANGE_START		0
#define KVX_SUBPAGE_RANGE_ACCESS	2
#define KVX_SUBPAGE_RANGE_END		4

/* kvx_subpage_tramp_hdr.mode: how the trampoline reaches the window. */
#define KVX_SUBPAGE_MODE_OFF		0	/* every call: -EOPNOTSUPP */
#define KVX_SUBPAGE_MODE_VMFUNC		1	/* VMFUNC into the window view */
#define KVX_SUBPAGE_MODE_HYPERCALL	2	/* KVX_HC_WINDOW_ACCESS */

/*
 * kvx_subpage_tramp_window.flags.  WRITE_HC: in VMFUNC mode, writes to
 * this window still take the hypercall; its view maps the page read-only
 * (subpage.rst, "Page walks through the window page").
 */
#define KVX_SUBPAGE_WIN_WRITE_HC	1

/* Range access bits, and the direction of one access. */
#define KVX_SUBPAGE_READ		1
#define KVX_SUBPAGE_WRITE		2

/*
 * Status in EAX (negated), on both paths; the same numbers as Linux errno
 * and, where KVM has one, as KVM_E*.
 */
#define KVX_SUBPAGE_EPERM		1	/* offset/size not in a range */
#define KVX_SUBPAGE_ENOENT		2	/* no window with this id */
#define KVX_SUBPAGE_EAGAIN		11	/* window changed during the call */
#define KVX_SUBPAGE_EFAULT		14	/* host access failed (hypercall) */
#define KVX_SUBPAGE_EINVAL		22	/* bad id, size or alignment */
#define KVX_SUBPAGE_EOPNOTSUPP		95	/* windows off (mode OFF) */

/*
 * The hypercall of the fallback path; include/uapi/linux/kvx.h will carry
 * it with the rest of the window uAPI.
 */
#ifndef KVX_HC_WINDOW_ACCESS
#define KVX_HC_WINDOW_ACCESS		0x4b580002
#endif
/* Its second argument (RCX): size in bits 7:0, access in bits 15:8. */
#define KVX_SUBPAGE_HC_ACCESS_SHIFT	8

/* Instruction sites the kernel and the test look for. */
#define KVX_SUBPAGE_NR_VMFUNC_SITES	3
#define KVX_SUBPAGE_NR_VMCALL_SITES	1

#ifndef __ASSEMBLER__
#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/build_bug.h>
#else
#include <assert.h>
#endif

struct kvx_subpage_tramp_hdr {
	__u32 magic;		/* KVX_SUBPAGE_MAGIC */
	__u16 version;		/* KVX_SUBPAGE_VERSION */
	__u8 mode;		/* KVX_SUBPAGE_MODE_* */
	__u8 nr_windows;	/* KVX_SUBPAGE_MAX_WINDOWS */
	__u32 hypercall;	/* KVX_HC_WINDOW_ACCESS */
	__u8 reserved[52];
};

/*
 * Bytes [start, end) of the page; access 0 marks an unused slot.  The field
 * order keeps a zero byte or an access byte (0..3) between any two offset
 * bytes, so no table content can spell a VMFUNC (0f 01 d4).
 */
struct kvx_subpage_tramp_range {
	__u16 start;
	__u8 access;		/* KVX_SUBPAGE_READ | KVX_SUBPAGE_WRITE */
	__u8 pad;
	__u16 end;
	__u16 pad2;
};

/* One window: one page, one view.  view 0 means no window. */
struct kvx_subpage_tramp_window {
	__u16 view;
	__u16 flags;		/* KVX_SUBPAGE_WIN_* */
	__u16 pad[2];
	struct kvx_subpage_tramp_range range[KVX_SUBPAGE_MAX_RANGES];
};

static_assert(sizeof(struct kvx_subpage_tramp_hdr) ==
	      KVX_SUBPAGE_WINDOWS_OFFSET - KVX_SUBPAGE_TABLE_OFFSET,
	      "header fills the space before the windows");
static_assert(sizeof(struct kvx_subpage_tramp_range) ==
	      KVX_SUBPAGE_RANGE_SIZE, "range size");
static_assert(sizeof(struct kvx_subpage_tramp_window) ==
	      KVX_SUBPAGE_WINDOW_SIZE, "window size");
static_assert(KVX_SUBPAGE_WINDOW_SIZE == 1 << KVX_SUBPAGE_WINDOW_SHIFT,
	      "window shift");
static_assert(KVX_SUBPAGE_WINDOWS_OFFSET +
	      KVX_SUBPAGE_MAX_WINDOWS * KVX_SUBPAGE_WINDOW_SIZE <=
	      KVX_SUBPAGE_TRAMP_SIZE, "windows fit in the page");

/* The blob KVM copies to offset 0 of the page (subpage_tramp.S). */
extern const __u8 kvx_subpage_tramp_start[];
extern const __u8 kvx_subpage_tramp_end[];
/* Offsets of each VMFUNC (0f 01 d4) and of the VMCALL (0f 01 c1). */
extern const __u16 kvx_subpage_tramp_vmfunc_sites[KVX_SUBPAGE_NR_VMFUNC_SITES];
extern const __u16 kvx_subpage_tramp_vmcall_sites[KVX_SUBPAGE_NR_VMCALL_SITES];

/*
 * The check the trampoline makes, for KVM's hypercall handler (against its
 * own copy of the window, never the guest's page) and for the unit test.
 * Same checks, same order, same status as the assembly.  @w is the window
 * the id names, or NULL for none.
 */
static inline int kvx_subpage_check_window(const struct kvx_subpage_tramp_window *w,
					   __u32 offset, __u32 size,
					   __u32 access)
{
	int i;

	if (!w || !w->view)
		return -KVX_SUBPAGE_ENOENT;
	if (size - 1 > 7 || (size & (size - 1)) || (offset & (size - 1)) ||
	    offset >= KVX_SUBPAGE_TRAMP_SIZE ||
	    (access != KVX_SUBPAGE_READ && access != KVX_SUBPAGE_WRITE))
		return -KVX_SUBPAGE_EINVAL;
	for (i = 0; i < KVX_SUBPAGE_MAX_RANGES; i++) {
		const struct kvx_subpage_tramp_range *r = &w->range[i];

		if ((r->access & access) && offset >= r->start &&
		    offset + size <= r->end)
			return 0;
	}
	return -KVX_SUBPAGE_EPERM;
}

/* The same for window @id of a whole table. */
static inline int kvx_subpage_check(const struct kvx_subpage_tramp_window *windows,
				    __u32 id, __u32 offset, __u32 size,
				    __u32 access)
{
	if (id >= KVX_SUBPAGE_MAX_WINDOWS)
		return -KVX_SUBPAGE_EINVAL;
	return kvx_subpage_check_window(&windows[id], offset, size, access);
}

/*
 * Count the VMFUNC encodings (0f 01 d4) in @page that do not start at one of
 * the documented sites, including the ones an instruction boundary would
 * make at the page start (a VMFUNC whose first bytes end the page before).
 * KVM runs it over the whole page, table included, after every fill; it
 * must return 0.
 */
static inline int kvx_subpage_stray_vmfuncs(const __u8 *page, unsigned int len)
{
	int stray = 0, s;
	unsigned int i;

	if (len && page[0] == 0xd4)
		stray++;
	if (len > 1 && page[0] == 0x01 && page[1] == 0xd4)
		stray++;
	for (i = 0; i + 2 < len; i++) {
		if (page[i] != 0x0f || page[i + 1] != 0x01 || page[i + 2] != 0xd4)
			continue;
		for (s = 0; s < KVX_SUBPAGE_NR_VMFUNC_SITES; s++)
			if (kvx_subpage_tramp_vmfunc_sites[s] == i)
				break;
		if (s == KVX_SUBPAGE_NR_VMFUNC_SITES)
			stray++;
	}
	return stray;
}
#endif /* !__ASSEMBLER__ */

#endif /* ARCH_X86_KVM_KVX_SUBPAGE_TRAMP_H */
