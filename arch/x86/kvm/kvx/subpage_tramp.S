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
 * - VMFUNC (0f 01 d4) occurs only at the three labelled sites.  After an
 *   enter site, ECX is the view the CPU is in (a VMFUNC KVM refused leaves
 *   ECX = 0), and the access is validated again in that view: size and
 *   alignment from registers, the ranges by the view's check slot, code
 *   KVM writes with the window's ranges as immediates.  The direction is
 *   the enter site's (R10B bit 7).  After the leave site, ECX must be 0 or
 *   the code stops on ud2.
 * - No memory access in a window view except the access itself: no load
 *   from the page (a guest translation could show the data side of the
 *   page elsewhere), no push, no call, no ret; only direct branches.  RSP
 *   points into this read-only page meanwhile, so an event frame pushed
 *   there faults.
 * - Interrupts are off from entry until after the switch back.
 * - Writes to a window flagged KVX_SUBPAGE_WIN_WRITE_HC take the hypercall
 *   even in VMFUNC mode; its slot permits none.
 * - Offset 0 is ud2: code that runs off the end of the page before this
 *   one (after a VMFUNC of its own) faults here.
 *
 * The blob is data to the host (.rodata); kvm.ko copies it into the
 * trampoline page, fills the table at KVX_SUBPAGE_TABLE_OFFSET and the
 * check slots and, on AMD, rewrites the VMCALL site as VMMCALL.
 */
#include "subpage_tramp.h"

/* A local base label, so every RIP-relative operand is resolved here. */
#define TRAMP(off)	(.Lbase + (off))
#define MODE		TRAMP(KVX_SUBPAGE_TABLE_OFFSET + KVX_SUBPAGE_HDR_MODE)
#define WINDOWS		TRAMP(KVX_SUBPAGE_WINDOWS_OFFSET)
#define GUARD		TRAMP(KVX_SUBPAGE_TABLE_OFFSET)
#define SIZE_MASK	(KVX_SUBPAGE_DIR_WRITE - 1)

/*
 * View 0: the first check, which picks the window's view.
 * In:  EDI window id, RSI pointer, R10D size | direction.
 * Out: falls through with R8 at the window's entry, or jumps to \fail with
 *      R9D = -KVX_SUBPAGE_E*.  Clobbers EAX, ECX, R8, R9.  The ranges are
 *      checked in the window view only.
 */
.macro VALIDATE0 fail:req
	movl	$-KVX_SUBPAGE_EINVAL, %r9d
	cmpl	$KVX_SUBPAGE_MAX_WINDOWS, %edi
	jae	\fail
	movl	%edi, %r8d
	shll	$KVX_SUBPAGE_ENTRY_SHIFT, %r8d
	leaq	WINDOWS(%rip), %rax
	addq	%rax, %r8
	movl	$-KVX_SUBPAGE_ENOENT, %r9d
	movzwl	KVX_SUBPAGE_WIN_VIEW(%r8), %eax
	testl	%eax, %eax
	jz	\fail
	SIZE_OK	\fail
.endm

/* R10D's size is 1, 2, 4 or 8 and RSI aligned to it; else \fail, EINVAL. */
.macro SIZE_OK fail:req
	movl	$-KVX_SUBPAGE_EINVAL, %r9d
	movl	%r10d, %ecx
	andl	$SIZE_MASK, %ecx
	leal	-1(%rcx), %eax
	cmpl	$7, %eax
	ja	\fail				/* size 0 or above 8 */
	testl	%ecx, %eax
	jnz	\fail				/* not a power of two */
	testl	%esi, %eax
	jnz	\fail				/* misaligned */
.endm

/* An entry point: fixed offset, size (and direction) in R10D, the body. */
.macro ENTRY off:req, size:req, body:req
	.org	TRAMP(\off), 0xcc
	endbr64
	movl	$\size, %r10d
	jmp	\body
.endm

/* In a window view: to view \v's check slot. */
.macro DISPATCH v:req
	cmpl	$\v, %ecx
.if \v < 6
	je	TRAMP(KVX_SUBPAGE_SLOTS_LOW + (\v - 1) * KVX_SUBPAGE_SLOT_SIZE)
.else
	je	TRAMP(KVX_SUBPAGE_SLOTS_HIGH + (\v - 6) * KVX_SUBPAGE_SLOT_SIZE)
.endif
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
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x00, KVX_SUBPAGE_DIR_WRITE | 1, .Lwrite
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x10, KVX_SUBPAGE_DIR_WRITE | 2, .Lwrite
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x20, KVX_SUBPAGE_DIR_WRITE | 4, .Lwrite
	ENTRY	KVX_SUBPAGE_ENTRY_WRITE1 + 0x30, KVX_SUBPAGE_DIR_WRITE | 8, .Lwrite
	.org	TRAMP(KVX_SUBPAGE_ENTRY_WRITE1 + 0x40), 0xcc

/* ---- view 0: the mode, then the first check ---- */
.Lwrite:
	pushfq
	cli
	movq	%rsp, %r11
	movzbl	MODE(%rip), %eax
	cmpl	$KVX_SUBPAGE_MODE_VMFUNC, %eax
	je	.Lwrite_restart
	movl	$(KVX_SUBPAGE_WRITE << KVX_SUBPAGE_HC_ACCESS_SHIFT), %ecx
	jmp	.Lmode

.Lread:
	pushfq
	cli
	movq	%rsp, %r11
	movzbl	MODE(%rip), %eax
	cmpl	$KVX_SUBPAGE_MODE_VMFUNC, %eax
	je	.Lread_restart
	movl	$(KVX_SUBPAGE_READ << KVX_SUBPAGE_HC_ACCESS_SHIFT), %ecx
.Lmode:
	cmpl	$KVX_SUBPAGE_MODE_HYPERCALL, %eax
	je	.Lhypercall
	movl	$-KVX_SUBPAGE_EOPNOTSUPP, %r9d
.Lrefused:
	xorl	%edx, %edx
	movl	%r9d, %eax
	jmp	.Lreturn

/*
 * The first check, then the switch.  KVM also restarts here a vCPU that
 * left a window view before its access (R10B bit 7 picks the direction).
 */
.Lread_restart:
	VALIDATE0 .Lrefused
	movzwl	KVX_SUBPAGE_WIN_VIEW(%r8), %ecx
	leaq	GUARD(%rip), %rsp
	xorl	%eax, %eax
	jmp	.Lvmfunc_enter_read

.Lwrite_restart:
	VALIDATE0 .Lrefused
	testb	$KVX_SUBPAGE_WIN_WRITE_HC, KVX_SUBPAGE_WIN_FLAGS(%r8)
	jnz	.Lwrite_hypercall
	movzwl	KVX_SUBPAGE_WIN_VIEW(%r8), %ecx
	leaq	GUARD(%rip), %rsp
	xorl	%eax, %eax
.Lvmfunc_enter_write:
	vmfunc
/*
 * ---- window view (or view 0 with ECX = 0 if KVM refused the switch) ----
 * From here to .Laccess, and in the slots, nothing reads memory.
 */
.Lwindow_start:
	orl	$KVX_SUBPAGE_DIR_WRITE, %r10d
	jmp	.Lwindow
.Lvmfunc_enter_read:
	vmfunc
	andl	$SIZE_MASK, %r10d
.Lwindow:
	movl	$-KVX_SUBPAGE_EINVAL, %r9d
	movl	%r10d, %r8d
	andl	$SIZE_MASK, %r8d
	leal	-1(%r8), %eax
	cmpl	$7, %eax
	ja	.Lfailed			/* size 0 or above 8 */
	testl	%r8d, %eax
	jnz	.Lfailed			/* not a power of two */
	testl	%esi, %eax
	jnz	.Lfailed			/* misaligned */
	movl	%esi, %eax
	andl	$(KVX_SUBPAGE_TRAMP_SIZE - 1), %eax	/* offset */
	addl	%eax, %r8d				/* end of the access */
	DISPATCH 1
	DISPATCH 2
	DISPATCH 3
	DISPATCH 4
	DISPATCH 5
	DISPATCH 6
	DISPATCH 7
	DISPATCH 8
	DISPATCH 9
	DISPATCH 10
	DISPATCH 11
	DISPATCH 12
	DISPATCH 13
	DISPATCH 14
	DISPATCH 15
.Leagain:
	movl	$-KVX_SUBPAGE_EAGAIN, %r9d
	jmp	.Lfailed
.Leperm:
	movl	$-KVX_SUBPAGE_EPERM, %r9d
.Lfailed:
	xorl	%edx, %edx
	jmp	.Lleave

/* ---- the access, which a slot permitted ---- */
.Laccess:
.Lread_access:
	lfence
	andl	$SIZE_MASK, %r10d
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
	jmp	77f

.Lwrite_access:
	lfence
	andl	$SIZE_MASK, %r10d
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
	andl	$SIZE_MASK, %r10d
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

	/* Must end below KVX_SUBPAGE_SLOTS_LOW; KVM checks at init. */
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

	.balign	2
	.globl	kvx_subpage_tramp_labels
	.type	kvx_subpage_tramp_labels, @object
kvx_subpage_tramp_labels:
	.short	.Lread_restart - .Lbase		/* KVX_SUBPAGE_L_READ_RESTART */
	.short	.Lwrite_restart - .Lbase	/* KVX_SUBPAGE_L_WRITE_RESTART */
	.short	.Lwindow_start - .Lbase		/* KVX_SUBPAGE_L_WINDOW */
	.short	.Laccess - .Lbase		/* KVX_SUBPAGE_L_ACCESS */
	.short	.Lread_access - .Lbase		/* KVX_SUBPAGE_L_READ */
	.short	.Lwrite_access - .Lbase		/* KVX_SUBPAGE_L_WRITE */
	.short	.Leperm - .Lbase		/* KVX_SUBPAGE_L_EPERM */
	.short	.Leagain - .Lbase		/* KVX_SUBPAGE_L_EAGAIN */
	.size	kvx_subpage_tramp_labels, . - kvx_subpage_tramp_labels
