/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvx: extensions of the KVM API (views, write tracing, sub-page windows).
 *
 * Capabilities, ioctls and exit reasons sit in ranges that the kernel's own
 * <linux/kvm.h> does not use; kvm.ko checks that at build time.  See
 * Documentation/virt/kvx/api.rst.
 */
#ifndef _UAPI_LINUX_KVX_H
#define _UAPI_LINUX_KVX_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef KVMIO
#define KVMIO 0xAE
#endif

/*
 * KVM_CHECK_EXTENSION (VM fd): the number of views a VM can have (0: none).
 * KVM_ENABLE_CAP (VM fd, before any vCPU): args[0] = number of views
 * (2..max), other args 0.
 */
#define KVX_CAP_VIEWS			0x4b580001
/* KVM_CHECK_EXTENSION: 1 if guests switch views with VMFUNC (no exit). */
#define KVX_CAP_VIEWS_VMFUNC		0x4b580002

#define KVX_VIEWS_MAX			16

/* Access of a view to a GFN range; INHERIT drops the view's own setting. */
#define KVX_VIEW_ACCESS_READ		(1U << 0)
#define KVX_VIEW_ACCESS_WRITE		(1U << 1)
#define KVX_VIEW_ACCESS_EXEC		(1U << 2)
#define KVX_VIEW_ACCESS_RWX		(KVX_VIEW_ACCESS_READ |		\
					 KVX_VIEW_ACCESS_WRITE |	\
					 KVX_VIEW_ACCESS_EXEC)
#define KVX_VIEW_ACCESS_INHERIT		(1U << 31)

/* KVX_SET_VIEW_ACCESS (VM fd) */
struct kvx_view_access {
	__u16 view;
	__u16 pad;		/* 0 */
	__u32 access;		/* KVX_VIEW_ACCESS_* */
	__u64 gfn;
	__u64 npages;
	__u64 flags;		/* 0 */
	__u64 reserved[4];	/* 0 */
};

/* KVX_SET_SLOT_VIEWS (VM fd): memslot (as_id << 16 | id) visible in @views */
#define KVX_SLOT_VIEWS_ALL		(~0ULL)
struct kvx_slot_views {
	__u32 slot;
	__u32 flags;		/* 0 */
	__u64 views;		/* bit v: the slot exists in view v */
	__u64 reserved[2];	/* 0 */
};

/* KVX_SET_VIEW_VISIBILITY (VM fd): views the guest may switch to. */
struct kvx_view_visibility {
	__u64 visible;		/* bit v: view v; bit 0 must be set */
	__u64 flags;		/* 0 */
	__u64 reserved[2];	/* 0 */
};

/* KVX_GET_VCPU_VIEW, KVX_SET_VCPU_VIEW (vCPU fd) */
struct kvx_vcpu_view {
	__u16 view;
	__u16 pad;		/* 0 */
	__u32 flags;		/* 0 */
	__u64 reserved[3];	/* 0 */
};

/*
 * A guest access a view does not allow: KVM_RUN fails with EFAULT and
 * kvm_run.exit_reason is KVX_EXIT_VIEW_FAULT; the details are at
 * kvx_run_view_fault(run) (the start of the exit union).
 */
#define KVX_EXIT_VIEW_FAULT		0x4b580001
#define KVX_VIEW_FAULT_HIDDEN		(1ULL << 0) /* slot not in this view */
struct kvx_view_fault {
	__u64 flags;		/* KVX_VIEW_FAULT_* */
	__u64 gpa;
	__u32 access;		/* the access tried: one KVX_VIEW_ACCESS_* bit */
	__u32 allowed;		/* what the view allows there */
	__u16 view;
	__u16 pad[3];
};

#define kvx_run_view_fault(run)	((struct kvx_view_fault *)(run)->padding)

#define KVX_SET_VIEW_ACCESS	_IOW(KVMIO, 0xf0, struct kvx_view_access)
#define KVX_SET_SLOT_VIEWS	_IOW(KVMIO, 0xf1, struct kvx_slot_views)
#define KVX_SET_VIEW_VISIBILITY	_IOW(KVMIO, 0xf2, struct kvx_view_visibility)
#define KVX_GET_VCPU_VIEW	_IOR(KVMIO, 0xf3, struct kvx_vcpu_view)
#define KVX_SET_VCPU_VIEW	_IOW(KVMIO, 0xf4, struct kvx_vcpu_view)

/*
 * Guest ABI.  Switch to view V:
 *   VMFUNC hosts:  EAX = 0, ECX = V, VMFUNC (0f 01 d4); no exit.
 *   every host:    EAX = KVX_HC_VIEW_SWITCH, EBX = 0, ECX = V, VMCALL
 *                  (VMMCALL on AMD) at CPL 0; RAX = 0 on return.
 * An invalid or hidden V raises #UD on both paths.
 */
#define KVX_HC_VIEW_SWITCH		0x4b580001

/*
 * Write tracing.  KVM_CHECK_EXTENSION: the modes this host supports, as
 * bits (1 << KVX_WTRACE_*).  KVM_ENABLE_CAP: args[0] = mode, or 0 to turn
 * tracing off (dropping every traced range); other args 0.
 */
#define KVX_CAP_WRITE_TRACE		0x4b580003
#define KVX_WTRACE_PML			1	/* hardware log, no exit per write */
#define KVX_WTRACE_WRPROT		2	/* first write per epoch faults */
#define KVX_WTRACE_TRAP			3	/* every write exits (baseline) */

/* Most GFNs traced at once per VM. */
#define KVX_WTRACE_MAX_PAGES		(1U << 20)

/* KVX_WTRACE_SET_RANGE (VM fd): start or stop tracing [gfn, gfn + npages). */
#define KVX_WTRACE_RANGE_REMOVE		(1U << 0)
struct kvx_wtrace_range {
	__u64 gfn;
	__u64 npages;
	__u32 flags;		/* KVX_WTRACE_RANGE_* */
	__u32 pad;		/* 0 */
	__u64 reserved[2];	/* 0 */
};

/*
 * KVX_WTRACE_HARVEST (VM fd): the traced GFNs written since they were last
 * reported, at most @max of them into the __u64 array at @gfns; they are
 * re-armed.  KVX_WTRACE_OVERFLOW: more remain, reported by the next call.
 */
#define KVX_WTRACE_OVERFLOW		(1ULL << 0)
struct kvx_wtrace_harvest {
	__u64 gfns;		/* in: user address of __u64[max] */
	__u32 max;		/* in: 1..KVX_WTRACE_MAX_PAGES */
	__u32 count;		/* out: GFNs written to @gfns */
	__u64 flags;		/* in: 0; out: KVX_WTRACE_OVERFLOW */
	__u64 epoch;		/* out: number of this harvest, from 1 */
	__u64 reserved[4];	/* 0 */
};

#define KVX_WTRACE_SET_RANGE	_IOW(KVMIO, 0xf8, struct kvx_wtrace_range)
#define KVX_WTRACE_HARVEST	_IOWR(KVMIO, 0xf9, struct kvx_wtrace_harvest)

/*
 * Sub-page windows (Documentation/virt/kvx/subpage.rst).
 * KVM_CHECK_EXTENSION: the number of window ids (15), 0 if none.
 * KVM_ENABLE_CAP (VM fd, views enabled, before any vCPU): args[0] = the
 * trampoline page's GPA, args[1] = KVX_WINDOWS_* flags, args[2..3] = 0.
 * Whether windows switch with VMFUNC is KVX_CAP_VIEWS_VMFUNC, unless
 * KVX_WINDOWS_HYPERCALL asks for the hypercall path.
 */
#define KVX_CAP_WINDOWS			0x4b580004
#define KVX_WINDOWS_HYPERCALL		(1ULL << 0)	/* never VMFUNC */

#define KVX_WINDOW_READ			(1U << 0)
#define KVX_WINDOW_WRITE		(1U << 1)
#define KVX_WINDOW_MAX_IDS		15
#define KVX_WINDOW_MAX_RANGES		7
/* Writes through VMFUNC too: the page is writable in its view (5.3). */
#define KVX_WINDOW_F_VMFUNC_WRITES	(1U << 0)

struct kvx_window_range {
	__u16 offset;
	__u16 size;		/* >= 1, offset + size <= 4096 */
	__u32 access;		/* KVX_WINDOW_READ | KVX_WINDOW_WRITE */
};

/* KVX_SET_WINDOW (VM fd) */
struct kvx_window {
	__u32 id;		/* 0 .. KVX_WINDOW_MAX_IDS - 1 */
	__u32 slot;		/* as_id << 16 | id: one page, at @gpa */
	__u64 gpa;
	__u16 view;		/* 1 .. nr_views - 1, serving nothing else */
	__u16 nr_ranges;	/* 1 .. KVX_WINDOW_MAX_RANGES */
	__u32 flags;		/* KVX_WINDOW_F_* */
	struct kvx_window_range ranges[KVX_WINDOW_MAX_RANGES];
	__u64 reserved[4];	/* 0 */
};

/* KVX_REMOVE_WINDOW (VM fd) */
struct kvx_window_id {
	__u32 id;
	__u32 flags;		/* 0 */
	__u64 reserved[3];	/* 0 */
};

#define KVX_SET_WINDOW		_IOW(KVMIO, 0xf5, struct kvx_window)
#define KVX_REMOVE_WINDOW	_IOW(KVMIO, 0xf6, struct kvx_window_id)

/*
 * Guest ABI of the hypercall path (the trampoline makes it; see
 * subpage.rst 5.1): RAX = KVX_HC_WINDOW_ACCESS, RBX = window id,
 * RCX = size (bits 7:0) | direction (bits 15:8: 1 read, 2 write),
 * RDX = value, RSI = offset in the page; at CPL 0.  Returns RAX = 0 or
 * -errno, RDX = the value read.
 */
#define KVX_HC_WINDOW_ACCESS		0x4b580002

#endif /* _UAPI_LINUX_KVX_H */
