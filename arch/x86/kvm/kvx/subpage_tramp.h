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
 *   ...    code (subpage_tramp.S), at most up to KVX_SUBPAGE_SLOTS_LOW
 *   0x400  check slots of views 1..5 (KVX_SUBPAGE_SLOT_SIZE each)
 *   0x800  struct kvx_subpage_tramp_hdr, filled by KVM
 *   0x840  struct kvx_subpage_tramp_entry[KVX_SUBPAGE_MAX_WINDOWS]
 *   0x880  check slots of views 6..15
 *
 * A check slot is code KVM writes for the window of one view: its ranges
 * as immediates (kvx_subpage_emit_slot()).  Code that runs in a window view
 * reads no memory but the access itself, so no guest translation can feed
 * it a forged table (subpage.rst 3.2, "Translations").
 *
 * Included by subpage_tramp.S, by KVM and by the host-side unit test, so it
 * needs nothing but <linux/types.h>.  Documentation/virt/kvx/subpage.rst has
 * the design and the threat model.
 */
#ifndef ARCH_X86_KVM_KVX_SUBPAGE_TRAMP_H
#define ARCH_X86_KVM_KVX_SUBPAGE_TRAMP_H

#define KVX_SUBPAGE_TRAMP_SIZE		4096
#define KVX_SUBPAGE_MAGIC		0x5053584b	/* "KXSP" */
#define KVX_SUBPAGE_VERSION		2

/* Entry points: offset of the entry for @size bytes (1, 2, 4, 8). */
#define KVX_SUBPAGE_ENTRY_STRIDE	0x10
#define KVX_SUBPAGE_ENTRY_READ1		0x10
#define KVX_SUBPAGE_ENTRY_WRITE1	0x50

/* Where KVM fills in the header and the windows. */
#define KVX_SUBPAGE_TABLE_OFFSET	0x800
#define KVX_SUBPAGE_WINDOWS_OFFSET	0x840
#define KVX_SUBPAGE_ENTRY_SHIFT		2		/* 4 bytes each */
#define KVX_SUBPAGE_MAX_WINDOWS		15		/* views 1..15 */
#define KVX_SUBPAGE_MAX_RANGES		7

/*
 * Check slots: view v's at kvx_subpage_slot(v).  The first 6 bytes pick
 * the half of the direction; each half holds up to KVX_SUBPAGE_SLOT_RANGES
 * ranges of 16 bytes, a jump to the refusal and one to the access.
 */
#define KVX_SUBPAGE_SLOT_SIZE		192
#define KVX_SUBPAGE_SLOTS_LOW		0x400		/* views 1..5 */
#define KVX_SUBPAGE_SLOTS_HIGH		0x880		/* views 6..15 */
#define KVX_SUBPAGE_SLOT_WRITE		96		/* the write half */
#define KVX_SUBPAGE_SLOT_RANGES		5		/* per direction */

/* R10B bit 7 in the window view: the access is a write. */
#define KVX_SUBPAGE_DIR_WRITE		0x80

/* Field offsets for the assembly. */
#define KVX_SUBPAGE_HDR_MODE		6
#define KVX_SUBPAGE_WIN_VIEW		0
#define KVX_SUBPAGE_WIN_FLAGS		2

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

/* kvx_subpage_tramp_labels[]: code offsets KVM and the slots need. */
#define KVX_SUBPAGE_L_READ_RESTART	0	/* view 0: a read, again */
#define KVX_SUBPAGE_L_WRITE_RESTART	1	/* view 0: a write, again */
#define KVX_SUBPAGE_L_WINDOW		2	/* first byte after an enter */
#define KVX_SUBPAGE_L_ACCESS		3	/* access code (ends L_WINDOW..) */
#define KVX_SUBPAGE_L_READ		4	/* slot: read permitted */
#define KVX_SUBPAGE_L_WRITE		5	/* slot: write permitted */
#define KVX_SUBPAGE_L_EPERM		6	/* slot: not in a range */
#define KVX_SUBPAGE_L_EAGAIN		7	/* slot: no window in this view */
#define KVX_SUBPAGE_NR_LABELS		8

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

/*
 * One window: one page, one view.  view 0 means no window.  KVM's own copy,
 * which its hypercall checks and from which it writes the slot; the page
 * holds only the entry below.
 */
struct kvx_subpage_tramp_window {
	__u16 view;
	__u16 flags;		/* KVX_SUBPAGE_WIN_* */
	__u16 pad[2];
	struct kvx_subpage_tramp_range range[KVX_SUBPAGE_MAX_RANGES];
};

/*
 * The page's entry for window id i: what the code in view 0 needs to pick
 * the view and the path.  Values 0..15 and 0..1: no VMFUNC can be spelled.
 */
struct kvx_subpage_tramp_entry {
	__u16 view;
	__u16 flags;		/* KVX_SUBPAGE_WIN_* */
};

static_assert(sizeof(struct kvx_subpage_tramp_hdr) ==
	      KVX_SUBPAGE_WINDOWS_OFFSET - KVX_SUBPAGE_TABLE_OFFSET,
	      "header fills the space before the windows");
static_assert(sizeof(struct kvx_subpage_tramp_entry) ==
	      1 << KVX_SUBPAGE_ENTRY_SHIFT, "entry size");
static_assert(KVX_SUBPAGE_WINDOWS_OFFSET + KVX_SUBPAGE_MAX_WINDOWS *
	      sizeof(struct kvx_subpage_tramp_entry) <= KVX_SUBPAGE_SLOTS_HIGH,
	      "entries end before the high slots");
static_assert(KVX_SUBPAGE_SLOTS_LOW + 5 * KVX_SUBPAGE_SLOT_SIZE <=
	      KVX_SUBPAGE_TABLE_OFFSET, "low slots end before the header");
static_assert(KVX_SUBPAGE_SLOTS_HIGH + 10 * KVX_SUBPAGE_SLOT_SIZE ==
	      KVX_SUBPAGE_TRAMP_SIZE, "high slots end the page");
static_assert(6 + KVX_SUBPAGE_SLOT_RANGES * 16 + 10 <= KVX_SUBPAGE_SLOT_WRITE &&
	      KVX_SUBPAGE_SLOT_WRITE + KVX_SUBPAGE_SLOT_RANGES * 16 + 10 <=
	      KVX_SUBPAGE_SLOT_SIZE, "a slot holds its ranges");

/* The blob KVM copies to offset 0 of the page (subpage_tramp.S). */
extern const __u8 kvx_subpage_tramp_start[];
extern const __u8 kvx_subpage_tramp_end[];
/* Offsets of each VMFUNC (0f 01 d4) and of the VMCALL (0f 01 c1). */
extern const __u16 kvx_subpage_tramp_vmfunc_sites[KVX_SUBPAGE_NR_VMFUNC_SITES];
extern const __u16 kvx_subpage_tramp_vmcall_sites[KVX_SUBPAGE_NR_VMCALL_SITES];
/* Offsets of the labels KVX_SUBPAGE_L_*. */
extern const __u16 kvx_subpage_tramp_labels[KVX_SUBPAGE_NR_LABELS];

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

/* Offset of view @view's check slot (views 1..15; DISPATCH in the .S). */
static inline unsigned int kvx_subpage_slot(unsigned int view)
{
	if (view <= 5)
		return KVX_SUBPAGE_SLOTS_LOW + (view - 1) * KVX_SUBPAGE_SLOT_SIZE;
	return KVX_SUBPAGE_SLOTS_HIGH + (view - 6) * KVX_SUBPAGE_SLOT_SIZE;
}

static inline void kvx_subpage_put32(__u8 *p, __u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* jmp rel32 at @at to label @l; returns the offset after it. */
static inline unsigned int kvx_subpage_emit_jmp(__u8 *page, unsigned int at,
						unsigned int l)
{
	page[at] = 0xe9;
	kvx_subpage_put32(page + at + 1,
			  kvx_subpage_tramp_labels[l] - (at + 5));
	return at + 5;
}

/* Ranges of @w that allow @access: the number a slot half must hold. */
static inline unsigned int kvx_subpage_nr_ranges(const struct kvx_subpage_tramp_window *w,
						 __u32 access)
{
	unsigned int i, n = 0;

	for (i = 0; i < KVX_SUBPAGE_MAX_RANGES; i++)
		n += !!(w->range[i].access & access);
	return n;
}

/*
 * One half of a slot, at @at: with EAX = the offset in the page and R8D =
 * offset + size, for each range that allows @access
 *
 *	cmp $start, %eax	3d imm32
 *	jb 1f			72 09
 *	cmp $end, %r8d		41 81 f8 imm32
 *	jbe ok			76 rel8
 * 1:
 *
 * then "jmp EPERM" and, at ok, "jmp @ok_label".  Immediates are 0..4096,
 * so none of these bytes can spell a VMFUNC.
 */
static inline void kvx_subpage_emit_half(__u8 *page, unsigned int at,
					 const struct kvx_subpage_tramp_window *w,
					 __u32 access, unsigned int ok_label)
{
	unsigned int ok = at + kvx_subpage_nr_ranges(w, access) * 16 + 5;
	unsigned int i;

	for (i = 0; i < KVX_SUBPAGE_MAX_RANGES; i++) {
		const struct kvx_subpage_tramp_range *r = &w->range[i];

		if (!(r->access & access))
			continue;
		page[at] = 0x3d;
		kvx_subpage_put32(page + at + 1, r->start);
		page[at + 5] = 0x72;
		page[at + 6] = 0x09;
		page[at + 7] = 0x41;
		page[at + 8] = 0x81;
		page[at + 9] = 0xf8;
		kvx_subpage_put32(page + at + 10, r->end);
		page[at + 14] = 0x76;
		page[at + 15] = ok - (at + 16);
		at += 16;
	}
	at = kvx_subpage_emit_jmp(page, at, KVX_SUBPAGE_L_EPERM);
	kvx_subpage_emit_jmp(page, at, ok_label);
}

/*
 * Write view @view's check slot into @page for window @w (NULL: none, every
 * access -EAGAIN).  A window whose writes take the hypercall gets no write
 * ranges: its view maps the page read-only.  Returns 0, or -1 when a
 * direction has more than KVX_SUBPAGE_SLOT_RANGES ranges.
 */
static inline int kvx_subpage_emit_slot(__u8 *page, __u16 view,
					const struct kvx_subpage_tramp_window *w)
{
	static const struct kvx_subpage_tramp_window none;
	unsigned int at = kvx_subpage_slot(view);
	const struct kvx_subpage_tramp_window *wr = w;
	unsigned int i;

	if (w && (w->flags & KVX_SUBPAGE_WIN_WRITE_HC))
		wr = &none;
	if (w && (kvx_subpage_nr_ranges(w, KVX_SUBPAGE_READ) > KVX_SUBPAGE_SLOT_RANGES ||
		  kvx_subpage_nr_ranges(wr, KVX_SUBPAGE_WRITE) > KVX_SUBPAGE_SLOT_RANGES))
		return -1;
	for (i = 0; i < KVX_SUBPAGE_SLOT_SIZE; i++)
		page[at + i] = 0xcc;
	if (!w) {
		kvx_subpage_emit_jmp(page, at, KVX_SUBPAGE_L_EAGAIN);
		return 0;
	}
	/* test $KVX_SUBPAGE_DIR_WRITE, %r10b; jnz <write half> */
	page[at] = 0x41;
	page[at + 1] = 0xf6;
	page[at + 2] = 0xc2;
	page[at + 3] = KVX_SUBPAGE_DIR_WRITE;
	page[at + 4] = 0x75;
	page[at + 5] = KVX_SUBPAGE_SLOT_WRITE - 6;
	kvx_subpage_emit_half(page, at + 6, w, KVX_SUBPAGE_READ,
			      KVX_SUBPAGE_L_READ);
	kvx_subpage_emit_half(page, at + KVX_SUBPAGE_SLOT_WRITE, wr,
			      KVX_SUBPAGE_WRITE, KVX_SUBPAGE_L_WRITE);
	return 0;
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
