/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx sub-page windows: the trampoline KVM copies into a guest page.
 *
 * Position-independent x86-64 code, read-only to the guest.  The guest calls
 * an entry point at CPL 0 with
 *
 *	EDI = window id, RSI = pointer to the register in the guest's mapping
 *	of the window page (bits 11:0 are the offset), RDX = value (writes)
 *
 * and gets EAX = 0 or -KVX_SUBPAGE_E*, RDX = value (reads; 0 on error).
 * RCX, RSI, R8-R11 and the arithmetic flags are clobbered; RFLAGS.IF is
 * restored.  The call uses 16 bytes of the caller's stack (view 0 only).
 *
 * Rules the code keeps, checked by subpage_tramp_test.c and argued in
 * Documentation/virt/kvx/subpage.rst ("Threat model"):
 *
 * - VMFUNC (0f 01 d4) occurs only at the three labelled sites, and each is
 *   followed by a check of ECX, which after a VMFUNC that did not exit is
 *   the view the CPU is in: after an enter site, ECX must be the window's
 *   view and the access is validated again (window, offset, size,
 *   direction) before it is made; after the leave site, ECX must be 0 or
 *   the code stops on ud2.
 * - No memory write in a window view except the access itself: no push,
 *   no call, no ret; only direct branches.  RSP points into this read-only
 *   page meanwhile, so an event frame pushed there faults.
 * - Interrupts are off from entry until after the switch back.
 * - Writes to a window flagged KVX_SUBPAGE_WIN_WRITE_HC take the hypercall
 *   even in VMFUNC mode.
 * - Offset 0 is ud2: code that runs off the end of the page before this
 *   one (after a VMFUNC of its own) faults here.
 *
 * The blob is data to the host (.rodata); kvm.ko copies it into the
 * trampoline page, fills the table at KVX_SUBPAGE_TABLE_OFFSET and, on
 * AMD, rewrites the VMCALL site as VMMCALL.
 */
#include "subpage_tramp.h"

/* A local base label, so every RIP-relative operand is resolved here. */
#define TRAMP(off)	(.Lbase + (off))
#define MODE		TRAMP(KVX_SUBPAGE_TABLE_OFFSET + KVX_SUBPAGE_HDR_MODE)
#define WINDOWS		TRAMP(KVX_SUBPAGE_WINDOWS_OFFSET)
#define GUARD		TRAMP(KVX_SUBPAGE_TABLE_OFFSET)

/*
 * Check one access against the table.
 * In:  EDI window id, RSI pointer, R10D size, ECX the current view (only
 *      with check_view, right after an enter VMFUNC).
 * Out: falls through with R8 at the matching range, or jumps to \fail with
 *      R9D = -KVX_SUBPAGE_E*.  Clobbers EAX, ECX, R8, R9.  Reads only the
 *      table; writes nothing.
 */
.macro VALIDATE access:req, check_view:req, fail:req
	movl	$-KVX_SUBPAGE_EINVAL, %r9d
	cmpl	$KVX_SUBPAGE_MAX_WINDOWS, %edi
	jae	\fail
	movl	%edi, %r8d
	shll	$KVX_SUBPAGE_WINDOW_SHIFT, %r8d
	leaq	WINDOWS(%rip), %rax
	addq	%rax, %r8
	movl	$-KVX_SUBPAGE_ENOENT, %r9d
	movzwl	KVX_SUBPAGE_WIN_VIEW(%r8), %eax
	testl	%eax, %eax
	jz	\fail
.if \check_view
	movl	$-KVX_SUBPAGE_EAGAIN, %r9d
	cmpl	%eax, %ecx
	jne	\fail
.endif
	movl	$-KVX_SUBPAGE_EINVAL, %r9d
	movl	%r10d, %eax
	decl	%eax
	cmpl	$7, %eax
	ja	\fail				/* size 0 or above 8 */
	testl	%r10d, %eax
	jnz	\fail				/* not a power of two */
	testl	%esi, %eax
	jnz	\fail				/* misaligned */
	movl	%esi, %ecx
	andl	$(KVX_SUBPAGE_TRAMP_SIZE - 1), %ecx	/* offset */
	leal	(%rcx, %r10), %eax		/* end of the access */
	movl	$-KVX_SUBPAGE_EPERM, %r9d
	addq	$KVX_SUBPAGE_WIN_RANGES, %r8
71:	testb	$\access, KVX_SUBPAGE_RANGE_ACCESS(%r8)
	jz	72f
	cmpw	KVX_SUBPAGE_RANGE_START(%r8), %cx
	jb	72f
	cmpw	KVX_SUBPAGE_RANGE_END(%r8), %ax
	jbe	73f
72:	addq	$KVX_SUBPAGE_RANGE_SIZE, %r8
	testb	$(KVX_SUBPAGE_WINDOW_SIZE - 1), %r8b	/* past the last range */
	jnz	71b
	jmp	\fail
73:
.endm

/* An entry point: fixed offset, size in R10D, then the common body. */
.macro ENTRY off:req, size:req, body:req
	.org	TRAMP(\off), 0xcc
	endbr64
	movl	$\size, %r10d
	jmp	\body
.endm

	.section .rodata, "a"
	.balign	64
	.globl	kvx_subpage_tramp_start
	.type	kvx_subpage_tramp_start, @object
kvx_subpage_tramp_start:
.Lbase:
	ud2

	ENTRY	KVX_SUBPAGE_ENTRY_READ1 + 0x00, 1, .Lread
	ENTRY	KVX_SUBPAGE_ENTRY_READ1 + 0x10, 2, .Lread
	ENTRY	KVX_SUBPAGE_ENTRY_READ1 + 0x20, 4, .Lread
	ENTRY	KVX_SUBPAGE_ENTRY_READ1 + 0x30, 8, .Lread
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x00, 1, .Lwrite
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x10, 2, .Lwrite
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x20, 4, .Lwrite
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x30, 8, .Lwrite
	.org	TRAMP(KVX_SUBPAGE_ENTRY_WRITE1 + 0x40), 0xcc

/* ---- read: view 0 ---- */
.Lread:
	pushfq
	cli
	movq	%rsp, %r11
	movzbl	MODE(%rip), %eax
	cmpl	$KVX_SUBPAGE_MODE_VMFUNC, %eax
	je	.Lread_vmfunc
	movl	$(KVX_SUBPAGE_READ << KVX_SUBPAGE_HC_ACCESS_SHIFT), %ecx
	cmpl	$KVX_SUBPAGE_MODE_HYPERCALL, %eax
	je	.Lhypercall
	movl	$-KVX_SUBPAGE_EOPNOTSUPP, %r9d
.Lread_refused:
	xorl	%edx, %edx
	movl	%r9d, %eax
	jmp	.Lreturn

.Lread_vmfunc:
	VALIDATE KVX_SUBPAGE_READ, 0, .Lread_refused
	andq	$-KVX_SUBPAGE_WINDOW_SIZE, %r8
	movzwl	KVX_SUBPAGE_WIN_VIEW(%r8), %ecx
	leaq	GUARD(%rip), %rsp
	xorl	%eax, %eax
.Lvmfunc_enter_read:
	vmfunc
/* ---- read: window view (or view 0 if KVM switched back) ---- */
	VALIDATE KVX_SUBPAGE_READ, 1, .Lread_failed
	lfence
	cmpl	$4, %r10d
	je	74f
	cmpl	$8, %r10d
	je	75f
	cmpl	$2, %r10d
	je	76f
	movzbl	(%rsi), %edx
	jmp	77f
76:	movzwl	(%rsi), %edx
	jmp	77f
74:	movl	(%rsi), %edx
	jmp	77f
75:	movq	(%rsi), %rdx
77:	xorl	%r9d, %r9d
	jmp	.Lleave
.Lread_failed:
	xorl	%edx, %edx
	jmp	.Lleave

/* ---- write: view 0 ---- */
.Lwrite:
	pushfq
	cli
	movq	%rsp, %r11
	movzbl	MODE(%rip), %eax
	cmpl	$KVX_SUBPAGE_MODE_VMFUNC, %eax
	je	.Lwrite_vmfunc
	movl	$(KVX_SUBPAGE_WRITE << KVX_SUBPAGE_HC_ACCESS_SHIFT), %ecx
	cmpl	$KVX_SUBPAGE_MODE_HYPERCALL, %eax
	je	.Lhypercall
	movl	$-KVX_SUBPAGE_EOPNOTSUPP, %r9d
.Lwrite_refused:
	movl	%r9d, %eax
	jmp	.Lreturn

.Lwrite_vmfunc:
	VALIDATE KVX_SUBPAGE_WRITE, 0, .Lwrite_refused
	andq	$-KVX_SUBPAGE_WINDOW_SIZE, %r8
	testb	$KVX_SUBPAGE_WIN_WRITE_HC, KVX_SUBPAGE_WIN_FLAGS(%r8)
	jnz	.Lwrite_hypercall
	movzwl	KVX_SUBPAGE_WIN_VIEW(%r8), %ecx
	leaq	GUARD(%rip), %rsp
	xorl	%eax, %eax
.Lvmfunc_enter_write:
	vmfunc
/* ---- write: window view (or view 0 if KVM switched back) ---- */
	VALIDATE KVX_SUBPAGE_WRITE, 1, .Lleave
	lfence
	cmpl	$4, %r10d
	je	74f
	cmpl	$8, %r10d
	je	75f
	cmpl	$2, %r10d
	je	76f
	movb	%dl, (%rsi)
	jmp	77f
76:	movw	%dx, (%rsi)
	jmp	77f
74:	movl	%edx, (%rsi)
	jmp	77f
75:	movq	%rdx, (%rsi)
77:	xorl	%r9d, %r9d

/* ---- back to view 0; R9D = status ---- */
.Lleave:
	xorl	%eax, %eax
	xorl	%ecx, %ecx
.Lvmfunc_leave:
	vmfunc
	testl	%ecx, %ecx
	jnz	.Lstop
	movl	%r9d, %eax
/* ---- view 0 only ---- */
.Lreturn:
	movq	%r11, %rsp
	popfq
	ret
	int3
.Lstop:
	ud2

/* ---- hypercall: view 0, ECX = access << 8 ---- */
.Lwrite_hypercall:
	movl	$(KVX_SUBPAGE_WRITE << KVX_SUBPAGE_HC_ACCESS_SHIFT), %ecx
.Lhypercall:
	orl	%r10d, %ecx
	pushq	%rbx
	movl	%edi, %ebx
	andl	$(KVX_SUBPAGE_TRAMP_SIZE - 1), %esi
	movl	$KVX_HC_WINDOW_ACCESS, %eax
.Lvmcall:
	vmcall
	popq	%rbx
	jmp	.Lreturn
	int3

	/* Must end below KVX_SUBPAGE_TABLE_OFFSET; KVM checks at init. */
	.globl	kvx_subpage_tramp_end
kvx_subpage_tramp_end:
	.size	kvx_subpage_tramp_start, kvx_subpage_tramp_end - kvx_subpage_tramp_start

	.balign	2
	.globl	kvx_subpage_tramp_vmfunc_sites
	.type	kvx_subpage_tramp_vmfunc_sites, @object
kvx_subpage_tramp_vmfunc_sites:
	.short	.Lvmfunc_enter_read - .Lbase
	.short	.Lvmfunc_enter_write - .Lbase
	.short	.Lvmfunc_leave - .Lbase
	.size	kvx_subpage_tramp_vmfunc_sites, . - kvx_subpage_tramp_vmfunc_sites

	.globl	kvx_subpage_tramp_vmcall_sites
	.type	kvx_subpage_tramp_vmcall_sites, @object
kvx_subpage_tramp_vmcall_sites:
	.short	.Lvmcall - .Lbase
	.size	kvx_subpage_tramp_vmcall_sites, . - kvx_subpage_tramp_vmcall_sites
