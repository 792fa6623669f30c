/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx sub-page windows, guest side: how a guest driver finds the trampoline
 * page KVM provides and calls it.  Self-contained, so that a guest driver
 * author can copy it; Documentation/virt/kvx/subpage.rst is the reference.
 *
 * 1. Discovery.  CPUID 0x4b580000 returns EAX = the last kvx leaf and the
 *    signature "KVXKVXKVX\0\0\0" in EBX, ECX, EDX.  If EAX >= 0x4b580002,
 *    leaf 0x4b580002 describes the windows:
 *	EAX = bits 31:12 of the trampoline GPA, bit 0 set if there is one
 *	EBX = bits 63:32 of the trampoline GPA
 *	ECX = ABI version (1)
 *	EDX = number of window ids (ids are 0 .. EDX - 1)
 *    The VMM tells the driver which window id covers which BAR page (for
 *    example in a vendor-specific PCI capability of the device).
 *
 * 2. Mapping.  Map the GPA read-only and executable, write-back; in Linux:
 *	base = ioremap_cache(gpa, PAGE_SIZE);
 *	set_memory_ro((unsigned long)base, 1);
 *	set_memory_x((unsigned long)base, 1);
 *    Never copy the page: only the trampoline's own GPA may run in a window
 *    view.  kvx_subpage_guest_valid() checks the header.
 *
 * 3. Calls.  At CPL 0, with the register's address in the driver's own
 *    mapping of the BAR page (ioremap()); see kvx_window_read/write().
 *    A Linux driver adds ASM_CALL_CONSTRAINT to the asm, and CALL_NOSPEC
 *    for retpoline builds.
 */
#ifndef KVX_SUBPAGE_GUEST_H
#define KVX_SUBPAGE_GUEST_H

#include <linux/types.h>

#define KVX_CPUID_SIGNATURE		0x4b580000
#define KVX_CPUID_WINDOWS		0x4b580002
#define KVX_CPUID_SIGNATURE_EBX		0x4b58564b	/* "KVXK" */
#define KVX_CPUID_SIGNATURE_ECX		0x564b5856	/* "VXKV" */
#define KVX_CPUID_SIGNATURE_EDX		0x00000058	/* "X\0\0\0" */

/* The page; must match arch/x86/kvm/kvx/subpage_tramp.h. */
#define KVX_GUEST_TRAMP_MAGIC		0x5053584b	/* "KXSP" at 0x800 */
#define KVX_GUEST_TRAMP_VERSION		2
#define KVX_GUEST_TRAMP_HDR		0x800
#define KVX_GUEST_ENTRY_READ1		0x10		/* then 2, 4, 8 bytes */
#define KVX_GUEST_ENTRY_WRITE1		0x50
#define KVX_GUEST_ENTRY_STRIDE		0x10

static inline void kvx_guest_cpuid(__u32 leaf, __u32 *a, __u32 *b, __u32 *c,
				   __u32 *d)
{
	asm volatile("cpuid"
		     : "=a" (*a), "=b" (*b), "=c" (*c), "=d" (*d)
		     : "a" (leaf), "c" (0));
}

/* The trampoline's GPA, or 0 if the VM has none. */
static inline __u64 kvx_subpage_guest_find(void)
{
	__u32 a, b, c, d;

	kvx_guest_cpuid(KVX_CPUID_SIGNATURE, &a, &b, &c, &d);
	if (b != KVX_CPUID_SIGNATURE_EBX || c != KVX_CPUID_SIGNATURE_ECX ||
	    d != KVX_CPUID_SIGNATURE_EDX || a < KVX_CPUID_WINDOWS)
		return 0;
	kvx_guest_cpuid(KVX_CPUID_WINDOWS, &a, &b, &c, &d);
	if (!(a & 1) || c != KVX_GUEST_TRAMP_VERSION)
		return 0;
	return (__u64)b << 32 | (a & ~0xfffU);
}

static inline int kvx_subpage_guest_valid(const void *base)
{
	const __u32 *hdr =
		(const __u32 *)((const char *)base + KVX_GUEST_TRAMP_HDR);

	return hdr[0] == KVX_GUEST_TRAMP_MAGIC &&
	       (hdr[1] & 0xffff) == KVX_GUEST_TRAMP_VERSION;
}

#define KVX_GUEST_EINVAL		22

/* Entry offset for @size bytes from @first, or 0 for a size without one. */
static inline unsigned int kvx_guest_entry(unsigned int first,
					   unsigned int size)
{
	switch (size) {
	case 1:
		return first;
	case 2:
		return first + KVX_GUEST_ENTRY_STRIDE;
	case 4:
		return first + 2 * KVX_GUEST_ENTRY_STRIDE;
	case 8:
		return first + 3 * KVX_GUEST_ENTRY_STRIDE;
	default:
		return 0;
	}
}

/*
 * One call.  The trampoline clobbers RCX, RSI, R8-R11 and the flags and
 * pushes 16 bytes; the 128 bytes skipped first keep the red zone of
 * userspace code (such as KVM selftest guests) intact.
 */
static inline int kvx_window_call(const void *entry, __u32 id,
				  const void *reg, __u64 *value)
{
	register __u64 rdx asm("rdx") = *value;
	register __u64 rsi asm("rsi") = (unsigned long)reg;
	register __u64 rdi asm("rdi") = id;
	int ret;

	asm volatile("lea -128(%%rsp), %%rsp\n\t"
		     "call *%[entry]\n\t"
		     "lea 128(%%rsp), %%rsp"
		     : "=a" (ret), "+d" (rdx), "+S" (rsi), "+D" (rdi)
		     : [entry] "r" (entry)
		     : "rcx", "r8", "r9", "r10", "r11", "cc", "memory");
	*value = rdx;
	return ret;
}

/*
 * Read @size (1, 2, 4, 8) bytes at @reg, inside window @id.  Returns 0 or a
 * negative errno: -EINVAL (id, size, alignment), -EPERM (not in a range of
 * the window), -ENOENT (no such window), -EAGAIN (the window changed during
 * the call: retry or fall back to a plain MMIO access), -EFAULT,
 * -EOPNOTSUPP (windows off).
 */
static inline int kvx_window_read(const void *base, __u32 id,
				  const void *reg, unsigned int size,
				  __u64 *value)
{
	unsigned int off = kvx_guest_entry(KVX_GUEST_ENTRY_READ1, size);

	*value = 0;
	if (!off)
		return -KVX_GUEST_EINVAL;
	return kvx_window_call((const char *)base + off, id, reg, value);
}

static inline int kvx_window_write(const void *base, __u32 id,
				   void *reg, unsigned int size,
				   __u64 value)
{
	unsigned int off = kvx_guest_entry(KVX_GUEST_ENTRY_WRITE1, size);

	if (!off)
		return -KVX_GUEST_EINVAL;
	return kvx_window_call((const char *)base + off, id, reg, &value);
}

#endif /* KVX_SUBPAGE_GUEST_H */
