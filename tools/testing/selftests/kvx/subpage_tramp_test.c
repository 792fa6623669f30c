// SPDX-License-Identifier: GPL-2.0
/*
 * subpage_tramp_test: the sub-page window trampoline, run on the host.
 *
 * The trampoline of arch/x86/kvm/kvx/subpage_tramp.S is linked into this
 * program and copied into an executable page exactly as KVM copies it into
 * the guest; the table is filled the way KVM fills it.  VMFUNC, VMCALL and
 * CLI fault in userspace, so signal handlers play the CPU and KVM:
 *
 * - VMFUNC (SIGILL) switches a modelled view: each fake window page is
 *   accessible only while its view is current (mprotect), so an access made
 *   in the wrong view faults, as the missing mapping would in a guest;
 * - the VMCALL site is rewritten as ud2 (as KVM rewrites it as VMMCALL on
 *   AMD), and its SIGILL runs what KVM's hypercall handler runs:
 *   kvx_subpage_check() against a copy of the table, then one access of
 *   the exact width;
 * - CLI, which faults at CPL 3, is rewritten as NOP.
 *
 * Every window id x offset x size x direction is compared with a model of
 * the rules written here independently of the kernel's (the check slots
 * are written by the kernel's own kvx_subpage_emit_slot()); refused calls run
 * with every window page inaccessible, and each page is compared with a
 * shadow copy after each test, so a refused call that touched a byte, or a
 * permitted one that touched another, fails.  KVM is not needed.
 *
 * A wrong result prints offset/size, then "status/signal[/view] want
 * status": signal is a JUMP_* (1 fault, 2 ud2, 3 other SIGILL), view the
 * view the call returned in.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <linux/kvx.h>

#include "kselftest.h"
#include "kvx_subpage_guest.h"
#include "../../../../arch/x86/kvm/kvx/subpage_tramp.h"

#define PAGE		KVX_SUBPAGE_TRAMP_SIZE
#define NR_IDS		8	/* ids with a spec; 8..14 exist but are empty */
#define R		KVX_SUBPAGE_READ
#define W		KVX_SUBPAGE_WRITE
#define RW		(R | W)

static_assert(KVX_GUEST_TRAMP_MAGIC == KVX_SUBPAGE_MAGIC, "guest magic");
static_assert(KVX_GUEST_TRAMP_VERSION == KVX_SUBPAGE_VERSION, "version");
static_assert(KVX_GUEST_TRAMP_HDR == KVX_SUBPAGE_TABLE_OFFSET, "header");
static_assert(KVX_GUEST_ENTRY_READ1 == KVX_SUBPAGE_ENTRY_READ1, "read1");
static_assert(KVX_GUEST_ENTRY_WRITE1 == KVX_SUBPAGE_ENTRY_WRITE1, "write1");
static_assert(KVX_GUEST_ENTRY_STRIDE == KVX_SUBPAGE_ENTRY_STRIDE, "stride");

struct spec_range {
	uint16_t start, end;
	uint8_t access;
};

struct spec_window {
	uint16_t view;			/* 0: no window */
	uint16_t flags;			/* KVX_SUBPAGE_WIN_* */
	struct spec_range r[KVX_SUBPAGE_MAX_RANGES];
};

/*
 * The windows.  0 is the MSI-X case (a hole the guest must never reach);
 * 1 uses every range slot; 2 is an id without a window; 3 has the highest
 * view and the whole page; 4 has an odd-sized range; 5 overlapping R and W
 * ranges, writes by hypercall; 6 a write-only last byte; 7 nothing but an
 * unused slot.
 */
static const struct spec_window spec[NR_IDS] = {
	[0] = { 1, 0, { { 0x000, 0x800, RW }, { 0xc00, 0x1000, R } } },
	[1] = { 2, 0, { { 0x10, 0x18, R }, { 0x20, 0x28, W },
		     { 0x100, 0x104, RW }, { 0x200, 0x201, RW },
		     { 0x300, 0x302, R }, { 0xff8, 0x1000, W },
		     { 0x400, 0x440, RW } } },
	[2] = { 0 },
	[3] = { 15, 0, { { 0, 0x1000, RW } } },
	[4] = { 4, 0, { { 0x7, 0x9, RW } } },
	[5] = { 5, KVX_SUBPAGE_WIN_WRITE_HC, { { 0x40, 0x80, R }, { 0x60, 0xa0, W } } },
	[6] = { 6, 0, { { 0xfff, 0x1000, W } } },
	[7] = { 7, 0, { { 0x100, 0x200, 0 } } },
};

static uint8_t *tramp;			/* the trampoline page (R+X) */
static uint8_t *wpage[NR_IDS];		/* fake window pages */
static uint8_t shadow[NR_IDS][PAGE];	/* what they must hold */
static struct kvx_subpage_tramp_window kvm_windows[KVX_SUBPAGE_MAX_WINDOWS];

/*
 * The modelled CPU and KVM, written by the signal handlers.  Every call
 * into the trampoline is an asm with a memory clobber or an external call,
 * so the compiler reloads them afterwards.
 */
static int cur_view;
static bool deny_all;		/* refused calls: no page reachable */
static bool want_guard;		/* legitimate call: RSP must be GUARD */
static int race;		/* what "KVM" does at the next enter */
static unsigned long nr_vmfunc, nr_vmcall, nr_cli;
static unsigned long bad_site, no_guard, bad_leaf;
static long stop_offset;
static int stop_view;
static sigjmp_buf jump_env;

enum { JUMP_NONE, JUMP_SEGV, JUMP_UD2, JUMP_SIGILL };
enum {
	RACE_NONE, RACE_CLEARED, RACE_CLEARED_REFUSED, RACE_REUSED, RACE_FORGED
};

#define GUARD	(tramp + KVX_SUBPAGE_TABLE_OFFSET)

static int page_of_view(int view)
{
	int id;

	for (id = 0; id < NR_IDS; id++)
		if (view && spec[id].view == view)
			return id;
	return -1;
}

static void protect(int id, int prot)
{
	if (id >= 0 && mprotect(wpage[id], PAGE, prot))
		abort();
}

/* The CPU switched to @view: only its window page is mapped. */
static void set_view(int view)
{
	protect(page_of_view(cur_view), PROT_NONE);
	cur_view = view;
	if (!deny_all)
		protect(page_of_view(view), PROT_READ | PROT_WRITE);
}

static bool is_site(const uint16_t *sites, int n, long off)
{
	int i;

	for (i = 0; i < n; i++)
		if (sites[i] == off)
			return true;
	return false;
}

static struct kvx_subpage_tramp_entry *tramp_windows(void)
{
	return (void *)(tramp + KVX_SUBPAGE_WINDOWS_OFFSET);
}

static void tramp_writable(bool on)
{
	if (mprotect(tramp, PAGE, on ? PROT_READ | PROT_WRITE :
		     PROT_READ | PROT_EXEC))
		abort();
}

/*
 * The tracer of window-view code.  Only the forms the trampoline is meant
 * to use there are accepted: register arithmetic, direct branches, one
 * access through (%rsi), LFENCE, VMFUNC and ud2, in the code or in a check
 * slot.  A load from the page itself (RIP- or R8-relative: what a guest
 * translation could show from another page, subpage.rst 3.2), a push,
 * pop, call, ret, indirect branch, any other memory operand or an unknown
 * instruction is an error, so a change to the trampoline that adds one
 * fails here until this list is reviewed.
 */
#define TF		0x100UL
static bool tracing;
static unsigned long traced, trace_bad, trace_accesses, trace_stores;
static long trace_bad_off = -1;

static void trace_fail(const uint8_t *p)
{
	if (!trace_bad++)
		trace_bad_off = p - tramp;
}

/* A memory operand: 0 none, 1 the page itself, 2 (%rsi), -1 other. */
static int trace_operand(uint8_t rex, uint8_t modrm)
{
	uint8_t mod = modrm >> 6, rm = modrm & 7;

	if (mod == 3)
		return 0;
	if (mod == 0 && rm == 5)
		return 1;			/* RIP-relative */
	if ((rex & 1) && rm == 0)
		return 1;			/* disp(%r8), the table */
	if (!(rex & 1) && mod == 0 && rm == 6)
		return 2;			/* (%rsi), the access */
	return -1;
}

static void trace_insn(const uint8_t *p)
{
	const uint8_t *start = p;
	uint8_t rex = 0, op, modrm;
	bool store = false;
	int mem = 0;

	traced++;
	if (p < tramp || p >= tramp + PAGE ||
	    (p >= tramp + KVX_SUBPAGE_TABLE_OFFSET &&
	     p < tramp + KVX_SUBPAGE_SLOTS_HIGH)) {
		trace_fail(p);
		return;
	}
	if (*p == 0x66)
		p++;
	if ((*p & 0xf0) == 0x40)
		rex = *p++;
	op = *p++;
	modrm = *p;
	switch (op) {
	case 0x0f:
		op = *p++;
		modrm = *p;
		if ((op == 0x01 && modrm == 0xd4) || op == 0x0b ||
		    (op == 0xae && modrm == 0xe8) || (op & 0xf0) == 0x80)
			break;
		if (op == 0xb6 || op == 0xb7) {
			mem = trace_operand(rex, modrm);
			break;
		}
		trace_fail(start);
		return;
	case 0x25:				/* and $imm32, %eax */
	case 0x3d:				/* cmp $imm32, %eax */
	case 0x70 ... 0x7f:
	case 0xe9:
	case 0xeb:
	case 0xb8 ... 0xbf:
	case 0x8d:				/* lea: no access */
		break;
	case 0x01:
	case 0x31:
	case 0x39:
	case 0x85:
	case 0x81:
	case 0x83:
	case 0xc1:
	case 0xff:
		if (modrm >> 6 != 3 || (op == 0xff && ((modrm >> 3) & 7) > 1))
			mem = -1;		/* read-modify-write, or a branch */
		break;
	case 0x3b:
	case 0x8b:
		mem = trace_operand(rex, modrm);
		break;
	case 0xf6:
		mem = ((modrm >> 3) & 7) ? -1 : trace_operand(rex, modrm);
		break;
	case 0x88:
	case 0x89:
		mem = trace_operand(rex, modrm);
		store = mem != 0;
		break;
	default:
		trace_fail(start);
		return;
	}
	if (mem == 1 || mem < 0 || (store && mem != 2))
		trace_fail(start);
	if (mem == 2)
		trace_accesses++;
	if (store)
		trace_stores++;
}

static void on_sigtrap(int sig, siginfo_t *si, void *ctx)
{
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;

	if (cur_view && tracing)
		trace_insn((uint8_t *)g[REG_RIP]);
	else
		g[REG_EFL] &= ~TF;
}

static void emulate_vmfunc(greg_t *g, long off)
{
	uint32_t view = g[REG_RCX];
	bool enter = off != kvx_subpage_tramp_vmfunc_sites[2];

	nr_vmfunc++;
	if (!is_site(kvx_subpage_tramp_vmfunc_sites,
		     KVX_SUBPAGE_NR_VMFUNC_SITES, off))
		bad_site++;
	if ((uint32_t)g[REG_RAX] != 0 || view >= KVX_VIEWS_MAX) {
		bad_leaf++;
		siglongjmp(jump_env, JUMP_SIGILL);
	}
	if (enter && want_guard && (uint8_t *)g[REG_RSP] != GUARD)
		no_guard++;
	if (enter && race != RACE_NONE) {
		struct kvx_subpage_tramp_entry *w = tramp_windows();
		int r = race, id;

		/*
		 * The VMM removes (or replaces) the window meanwhile; or what
		 * the page holds as data is not what KVM wrote (a guest
		 * translation that shows another page for data, FORGED).
		 */
		race = RACE_NONE;
		tramp_writable(true);
		for (id = 0; id < KVX_SUBPAGE_MAX_WINDOWS; id++) {
			if (r == RACE_FORGED) {
				w[id].view = view;
				w[id].flags = 0;
			} else if (w[id].view == view) {
				w[id].view = r == RACE_REUSED ? 6 : 0;
			}
		}
		tramp_writable(false);
		/* Hidden view: KVM's VMFUNC exit leaves it in view 0. */
		if (r == RACE_CLEARED_REFUSED) {
			g[REG_RCX] = 0;
			return;
		}
	}
	set_view(view);
	/* Single-step what runs in a window view (test_window_view_code). */
	if (tracing && view) {
		g[REG_EFL] |= TF;
		trace_insn((uint8_t *)g[REG_RIP] + 3);
	} else {
		g[REG_EFL] &= ~TF;
	}
}

/* One access of exactly @size bytes, as get_user()/put_user() make. */
static uint64_t read_once(uint8_t *p, unsigned int size)
{
	switch (size) {
	case 1:
		return __atomic_load_n(p, __ATOMIC_RELAXED);
	case 2:
		return __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED);
	case 4:
		return __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
	default:
		return __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
	}
}

static void write_once(uint8_t *p, unsigned int size, uint64_t val)
{
	switch (size) {
	case 1:
		__atomic_store_n(p, val, __ATOMIC_RELAXED);
		break;
	case 2:
		__atomic_store_n((uint16_t *)p, val, __ATOMIC_RELAXED);
		break;
	case 4:
		__atomic_store_n((uint32_t *)p, val, __ATOMIC_RELAXED);
		break;
	default:
		__atomic_store_n((uint64_t *)p, val, __ATOMIC_RELAXED);
	}
}

static void emulate_hypercall(greg_t *g)
{
	uint64_t desc = g[REG_RCX], id = g[REG_RBX], val = 0;
	uint32_t size = desc & 0xff;
	uint32_t access = desc >> KVX_SUBPAGE_HC_ACCESS_SHIFT;
	uint64_t offset = g[REG_RSI];
	uint8_t *p;
	int r, pid;

	nr_vmcall++;
	if ((uint32_t)g[REG_RAX] != KVX_HC_WINDOW_ACCESS || cur_view)
		bad_leaf++;
	if (id > UINT32_MAX || offset > UINT32_MAX || desc >> 16)
		r = -KVX_SUBPAGE_EINVAL;
	else
		r = kvx_subpage_check(kvm_windows, id, offset, size, access);
	if (!r) {
		/* KVM: get_user()/put_user() of exactly @size bytes. */
		pid = page_of_view(kvm_windows[id].view);
		protect(pid, PROT_READ | PROT_WRITE);
		p = wpage[pid] + offset;
		if (access == R)
			val = read_once(p, size);
		else
			write_once(p, size, g[REG_RDX]);
		protect(pid, PROT_NONE);
	}
	g[REG_RAX] = (long)r;
	if (access == R)
		g[REG_RDX] = val;
}

static void on_sigill(int sig, siginfo_t *si, void *ctx)
{
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	uint8_t *rip = (uint8_t *)g[REG_RIP];
	long off = rip - tramp;

	if (off < 0 || off > PAGE - 3)
		siglongjmp(jump_env, JUMP_SIGILL);
	if (rip[0] == 0x0f && rip[1] == 0x01 && rip[2] == 0xd4) {
		emulate_vmfunc(g, off);
		g[REG_RIP] += 3;
		return;
	}
	if (rip[0] == 0x0f && rip[1] == 0x0b &&
	    is_site(kvx_subpage_tramp_vmcall_sites,
		    KVX_SUBPAGE_NR_VMCALL_SITES, off)) {
		emulate_hypercall(g);
		g[REG_RIP] += 3;
		return;
	}
	if (rip[0] == 0x0f && rip[1] == 0x0b) {
		stop_offset = off;
		stop_view = cur_view;
		siglongjmp(jump_env, JUMP_UD2);
	}
	siglongjmp(jump_env, JUMP_SIGILL);
}

static void on_sigsegv(int sig, siginfo_t *si, void *ctx)
{
	siglongjmp(jump_env, JUMP_SEGV);
}

/* The rules, written from the documentation rather than from the code. */
static int expect(uint32_t id, uint32_t off, uint32_t size, int access)
{
	const struct spec_window *w;
	int i;

	if (id >= KVX_SUBPAGE_MAX_WINDOWS)
		return -KVX_SUBPAGE_EINVAL;
	if (id >= NR_IDS || !spec[id].view)
		return -KVX_SUBPAGE_ENOENT;
	if ((size != 1 && size != 2 && size != 4 && size != 8) ||
	    off % size || off >= PAGE)
		return -KVX_SUBPAGE_EINVAL;
	w = &spec[id];
	for (i = 0; i < KVX_SUBPAGE_MAX_RANGES; i++)
		if ((w->r[i].access & access) && off >= w->r[i].start &&
		    off + size <= w->r[i].end)
			return 0;
	return -KVX_SUBPAGE_EPERM;
}

/*
 * Make the page runnable at CPL 3: VMCALL (which a hypervisor under this
 * host would handle itself) becomes ud2 + nop, and the CLI of each body
 * (pushfq; cli; mov %rsp,%r11) a NOP.
 */
static void patch_for_host(void)
{
	long len = kvx_subpage_tramp_end - kvx_subpage_tramp_start;
	int i;

	for (i = 0; i < KVX_SUBPAGE_NR_VMCALL_SITES; i++)
		memcpy(tramp + kvx_subpage_tramp_vmcall_sites[i], "\x0f\x0b\x90", 3);
	nr_cli = 0;
	for (i = 0; i + 5 <= len; i++)
		if (!memcmp(tramp + i, "\x9c\xfa\x49\x89\xe3", 5)) {
			tramp[i + 1] = 0x90;
			nr_cli++;
		}
}

/*
 * After an enter VMFUNC into @view: size and alignment, then the window of
 * the view (whatever id EDI names), whose writes are refused if they take
 * the hypercall.
 */
static int expect_in_view(uint32_t off, uint32_t size, int access, int view)
{
	int id = page_of_view(view);

	if ((size != 1 && size != 2 && size != 4 && size != 8) || off % size)
		return -KVX_SUBPAGE_EINVAL;
	if (id < 0)
		return -KVX_SUBPAGE_EAGAIN;
	if (access == W && (spec[id].flags & KVX_SUBPAGE_WIN_WRITE_HC))
		return -KVX_SUBPAGE_EPERM;
	return expect(id, off, size, access);
}

static void fill_table(uint8_t mode)
{
	struct kvx_subpage_tramp_hdr *hdr = (void *)GUARD;
	int id, i;

	memset(kvm_windows, 0, sizeof(kvm_windows));
	for (id = 0; id < NR_IDS; id++) {
		kvm_windows[id].view = spec[id].view;
		kvm_windows[id].flags = spec[id].flags;
		for (i = 0; i < KVX_SUBPAGE_MAX_RANGES; i++) {
			kvm_windows[id].range[i].start = spec[id].r[i].start;
			kvm_windows[id].range[i].end = spec[id].r[i].end;
			kvm_windows[id].range[i].access = spec[id].r[i].access;
		}
	}
	tramp_writable(true);
	memset(tramp, 0, PAGE);
	memcpy(tramp, kvx_subpage_tramp_start,
	       kvx_subpage_tramp_end - kvx_subpage_tramp_start);
	for (i = 1; i <= KVX_SUBPAGE_MAX_WINDOWS; i++)
		kvx_subpage_emit_slot(tramp, i, NULL);
	for (id = 0; id < NR_IDS; id++) {
		struct kvx_subpage_tramp_entry *e = tramp_windows() + id;

		if (!spec[id].view)
			continue;
		if (kvx_subpage_emit_slot(tramp, spec[id].view, &kvm_windows[id]))
			abort();	/* the spec fits the slots */
		e->view = spec[id].view;
		e->flags = spec[id].flags;
	}
	hdr->magic = KVX_SUBPAGE_MAGIC;
	hdr->version = KVX_SUBPAGE_VERSION;
	hdr->mode = mode;
	hdr->nr_windows = KVX_SUBPAGE_MAX_WINDOWS;
	hdr->hypercall = KVX_HC_WINDOW_ACCESS;
	patch_for_host();
	tramp_writable(false);
}

static bool pages_match(void)
{
	int id, ok = true;

	set_view(0);
	for (id = 0; id < NR_IDS; id++) {
		if (!spec[id].view)
			continue;
		protect(id, PROT_READ);
		if (memcmp(wpage[id], shadow[id], PAGE)) {
			ksft_print_msg("window %d: page differs from shadow\n", id);
			ok = false;
		}
		protect(id, PROT_NONE);
	}
	return ok;
}

/* One call through the guest header's wrappers; JUMP_* in *jump. */
static int tcall(bool write, uint32_t id, void *reg, unsigned int size,
		 __u64 *value, int *jump)
{
	int j, r;

	j = sigsetjmp(jump_env, 1);
	if (j) {
		*jump = j;
		set_view(0);
		return 0;
	}
	if (write)
		r = kvx_window_write(tramp, id, reg, size, *value);
	else
		r = kvx_window_read(tramp, id, reg, size, value);
	*jump = JUMP_NONE;
	return r;
}

static uint64_t shadow_value(int id, uint32_t off, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, &shadow[id][off], size);
	return v;
}

/* Window ids to sweep; the hypercall path takes the first three. */
static const uint32_t sweep_ids[] = { 0, 1, 15, 2, 3, 4, 5, 6, 7, 8, 14,
				      0x10001, 0xffffffff };

/* Ids x all offsets x sizes x directions. */
static bool sweep(const char *what, unsigned int nr_ids)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	const uint32_t *ids = sweep_ids;
	unsigned long n, bad = 0, seed = 1;
	unsigned long calls = nr_ids * PAGE * ARRAY_SIZE(sizes) * 2;
	bool ok;

	for (n = 0; n < calls; n++) {
		uint32_t id = ids[n / (PAGE * ARRAY_SIZE(sizes) * 2)];
		unsigned int off = n / (ARRAY_SIZE(sizes) * 2) % PAGE;
		unsigned int size = sizes[n / 2 % ARRAY_SIZE(sizes)];
		unsigned int dir = n % 2 ? W : R;
		int pid = id < NR_IDS && spec[id].view ? (int)id : 0;
		int want = expect(id, off, size, dir);
		__u64 val;
		int r, jump;

		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		val = dir == W ? seed : 0x5a5a5a5a5a5a5a5aUL;
		deny_all = want != 0;
		want_guard = true;
		r = tcall(dir == W, id, wpage[pid] + off, size, &val, &jump);
		deny_all = false;
		want_guard = false;
		if (jump || r != want || cur_view) {
			if (bad++ < 10)
				ksft_print_msg("%s id %u %#x/%u dir %u: %d/%d/%d want %d\n",
					       what, id, off, size, dir, r,
					       jump, cur_view, want);
			set_view(0);
			continue;
		}
		if (dir == W && !want) {
			memcpy(&shadow[pid][off], &val, size);
		} else if (dir == R && val != (want ? 0 :
					       shadow_value(pid, off, size))) {
			if (bad++ < 10)
				ksft_print_msg("%s: id %u off 0x%x size %u: read 0x%llx\n",
					       what, id, off, size, val);
		}
	}
	ok = pages_match();
	ksft_print_msg("%s: %lu calls, %lu wrong\n", what, calls, bad);
	return ok && !bad;
}

static bool test_layout(void)
{
	long len = kvx_subpage_tramp_end - kvx_subpage_tramp_start;
	bool ok = true;
	int i, e;

	fill_table(KVX_SUBPAGE_MODE_VMFUNC);
	ksft_print_msg("code: %ld bytes; VMFUNC at 0x%x 0x%x 0x%x; VMCALL at 0x%x\n",
		       len, kvx_subpage_tramp_vmfunc_sites[0],
		       kvx_subpage_tramp_vmfunc_sites[1],
		       kvx_subpage_tramp_vmfunc_sites[2],
		       kvx_subpage_tramp_vmcall_sites[0]);
	if (len > KVX_SUBPAGE_SLOTS_LOW || len < 0x90) {
		ksft_print_msg("code size %ld out of bounds\n", len);
		ok = false;
	}
	if (tramp[0] != 0x0f || tramp[1] != 0x0b) {
		ksft_print_msg("offset 0 is not ud2\n");
		ok = false;
	}
	for (e = 0; e < 8; e++) {
		uint8_t *p = tramp + KVX_SUBPAGE_ENTRY_READ1 +
			     e * KVX_SUBPAGE_ENTRY_STRIDE;

		if (memcmp(p, "\xf3\x0f\x1e\xfa", 4)) {
			ksft_print_msg("entry %d lacks endbr64\n", e);
			ok = false;
		}
	}
	for (i = 0; i < KVX_SUBPAGE_NR_VMFUNC_SITES; i++)
		if (memcmp(tramp + kvx_subpage_tramp_vmfunc_sites[i],
			   "\x0f\x01\xd4", 3)) {
			ksft_print_msg("VMFUNC site %d is not VMFUNC\n", i);
			ok = false;
		}
	if (nr_cli != 2) {
		ksft_print_msg("%lu CLIs in the bodies, want 2\n", nr_cli);
		ok = false;
	}
	for (i = 0; i < KVX_SUBPAGE_NR_VMCALL_SITES; i++)
		if (memcmp(kvx_subpage_tramp_start +
			   kvx_subpage_tramp_vmcall_sites[i], "\x0f\x01\xc1", 3)) {
			ksft_print_msg("VMCALL site %d is not VMCALL\n", i);
			ok = false;
		}
	/* The leave site: test %ecx,%ecx; jnz to a ud2. */
	i = kvx_subpage_tramp_vmfunc_sites[2] + 3;
	if (tramp[i] != 0x85 || tramp[i + 1] != 0xc9 || tramp[i + 2] != 0x75 ||
	    memcmp(tramp + i + 4 + (int8_t)tramp[i + 3], "\x0f\x0b", 2)) {
		ksft_print_msg("leave site is not followed by its check\n");
		ok = false;
	}
	return ok;
}

/* (a) 0f 01 d4 at the documented sites only, whatever the table holds. */
static bool test_vmfunc_sites(void)
{
	unsigned long seed = 7;
	int i, n = 0, round, stray = 0;
	bool ok = true;

	fill_table(KVX_SUBPAGE_MODE_VMFUNC);
	for (i = 0; i + 2 < PAGE; i++) {
		if (memcmp(tramp + i, "\x0f\x01\xd4", 3))
			continue;
		n++;
		if (!is_site(kvx_subpage_tramp_vmfunc_sites,
			     KVX_SUBPAGE_NR_VMFUNC_SITES, i)) {
			ksft_print_msg("stray VMFUNC at 0x%x\n", i);
			ok = false;
		}
	}
	if (n != KVX_SUBPAGE_NR_VMFUNC_SITES) {
		ksft_print_msg("%d VMFUNCs, want %d\n", n,
			       KVX_SUBPAGE_NR_VMFUNC_SITES);
		ok = false;
	}
	/* Random windows (with hostile offsets such as 0x10f/0x1d4). */
	tramp_writable(true);
	for (round = 0; round < 20000; round++) {
		struct kvx_subpage_tramp_window win = { 0 };
		uint16_t view;
		int j;

		seed = seed * 6364136223846793005UL + 1;
		view = 1 + (seed >> 33) % KVX_SUBPAGE_MAX_WINDOWS;
		win.view = view;
		win.flags = (seed >> 40) & KVX_SUBPAGE_WIN_WRITE_HC;
		for (j = 0; j < KVX_SUBPAGE_MAX_RANGES; j++) {
			struct kvx_subpage_tramp_range *r = &win.range[j];

			seed = seed * 6364136223846793005UL + 1;
			r->start = (seed >> 20) & 0xfff;
			r->end = (seed >> 36) % 0x1001;
			if (j == 0) {
				r->start = 0x10f;
				r->end = 0x1d4;
			} else if (j == 1) {
				r->start = 0xd4;
				r->end = 0x10f;
			}
			/* At most five per direction: what KVM accepts. */
			r->access = j < 5 ? (seed >> 52) & 3 : 0;
		}
		if (kvx_subpage_emit_slot(tramp, view, &win)) {
			ksft_print_msg("slot refused a window with 5 ranges\n");
			ok = false;
			break;
		}
		for (i = 0; i < KVX_SUBPAGE_MAX_WINDOWS; i++) {
			struct kvx_subpage_tramp_entry *e = tramp_windows() + i;

			seed = seed * 6364136223846793005UL + 1;
			e->view = (seed >> 40) & 0xf;
			e->flags = (seed >> 50) & KVX_SUBPAGE_WIN_WRITE_HC;
		}
		stray += kvx_subpage_stray_vmfuncs(tramp, PAGE) != 0;
	}
	tramp_writable(false);
	if (stray) {
		ksft_print_msg("%d of 20000 random windows spell a VMFUNC\n",
			       stray);
		ok = false;
	}
	return ok;
}

/* sweep() the table filled for @mode, its counts from zero. */
static bool sweep_mode(uint8_t mode, const char *what, unsigned int nr_ids)
{
	fill_table(mode);
	nr_vmfunc = 0;
	nr_vmcall = 0;
	bad_site = 0;
	no_guard = 0;
	bad_leaf = 0;
	return sweep(what, nr_ids);
}

static bool test_vmfunc_path(void)
{
	bool ok;

	ok = sweep_mode(KVX_SUBPAGE_MODE_VMFUNC, "vmfunc",
			ARRAY_SIZE(sweep_ids));
	/* The VMCALLs: writes to window 5, flagged WRITE_HC. */
	ksft_print_msg("vmfunc: %lu VMFUNCs, %lu VMCALLs\n", nr_vmfunc,
		       nr_vmcall);
	if (bad_site || no_guard || bad_leaf || !nr_vmfunc || !nr_vmcall) {
		ksft_print_msg("vmfunc: %lu off-site, %lu without guard stack, %lu bad leaf/view\n",
			       bad_site, no_guard, bad_leaf);
		ok = false;
	}
	return ok;
}

static bool test_hypercall_path(void)
{
	bool ok;

	ok = sweep_mode(KVX_SUBPAGE_MODE_HYPERCALL, "hypercall", 3);
	ksft_print_msg("hypercall: %lu VMCALLs\n", nr_vmcall);
	if (nr_vmfunc || bad_leaf || !nr_vmcall)
		ok = false;
	return ok;
}

static bool test_mode_off(void)
{
	__u64 v = 0;
	int r, jump;

	fill_table(KVX_SUBPAGE_MODE_OFF);
	deny_all = true;
	r = tcall(false, 0, wpage[0], 4, &v, &jump);
	if (!jump && r == -KVX_SUBPAGE_EOPNOTSUPP)
		r = tcall(true, 0, wpage[0], 4, &v, &jump);
	deny_all = false;
	return !jump && r == -KVX_SUBPAGE_EOPNOTSUPP && pages_match();
}

/*
 * Enter the trampoline at @target with chosen registers, as a guest that
 * jumps there would; the trampoline's return path finds the flags and the
 * return address at R11 as an entry point leaves them.
 */
struct rogue_regs {
	uint64_t rax, rcx, rdx, rsi, rdi, r10;
};

static void rogue_jump(const void *target, struct rogue_regs *regs)
{
	register uint64_t rax asm("rax") = regs->rax;
	register uint64_t rcx asm("rcx") = regs->rcx;
	register uint64_t rdx asm("rdx") = regs->rdx;
	register uint64_t rsi asm("rsi") = regs->rsi;
	register uint64_t rdi asm("rdi") = regs->rdi;
	register uint64_t r10 asm("r10") = regs->r10;

	asm volatile("lea -128(%%rsp), %%rsp\n\t"
		     "lea 1f(%%rip), %%r11\n\t"
		     "push %%r11\n\t"
		     "pushfq\n\t"
		     "mov %%rsp, %%r11\n\t"
		     "jmp *%[target]\n"
		     "1:\tlea 128(%%rsp), %%rsp"
		     : "+a" (rax), "+c" (rcx), "+d" (rdx), "+S" (rsi),
		       "+D" (rdi), "+r" (r10)
		     : [target] "r" (target)
		     : "r8", "r9", "r11", "cc", "memory");
	regs->rax = rax;
	regs->rdx = rdx;
}

static int rogue(long site, struct rogue_regs *regs, int *jump)
{
	int j;

	j = sigsetjmp(jump_env, 1);
	if (j) {
		*jump = j;
		return 0;
	}
	rogue_jump(tramp + site, regs);
	*jump = JUMP_NONE;
	return (int)regs->rax;
}

/*
 * Single-step every instruction run in a window view: only accepted forms,
 * at most one access per call, a store only when writing.
 */
static bool test_window_view_code(void)
{
	static const uint32_t offs[] = { 0x0, 0x8, 0x10, 0x20, 0x100, 0x400,
					 0x7f8, 0x800, 0xc00, 0xff8 };
	unsigned long calls = 0, wrong = 0;
	unsigned int n;

	fill_table(KVX_SUBPAGE_MODE_VMFUNC);
	traced = 0;
	trace_bad = 0;
	tracing = true;
	for (n = 0; n < NR_IDS * ARRAY_SIZE(offs) * 4 * 2; n++) {
		uint32_t id = n / (ARRAY_SIZE(offs) * 8);
		uint32_t off = offs[n / 8 % ARRAY_SIZE(offs)];
		unsigned int size = 1 << (n / 2 % 4);
		bool write = n % 2;
		int pid = spec[id].view ? (int)id : 0;
		int want = expect(id, off, size, write ? W : R);
		__u64 val = 0x0102030405060708ULL;
		int r, jump;

		trace_accesses = 0;
		trace_stores = 0;
		deny_all = want != 0;
		r = tcall(write, id, wpage[pid] + off, size, &val, &jump);
		deny_all = false;
		calls++;
		if (jump || r != want || trace_accesses > 1 ||
		    (trace_stores && !write)) {
			wrong++;
			continue;
		}
		if (write && !want)
			memcpy(&shadow[pid][off], &val, size);
	}
	tracing = false;
	ksft_print_msg("window view code: %lu calls, %lu instructions traced, %lu wrong\n",
		       calls, traced, wrong);
	if (trace_bad)
		ksft_print_msg("%lu unexpected instructions, first at %#lx\n",
			       trace_bad, trace_bad_off);
	return !wrong && !trace_bad && traced && pages_match();
}

/*
 * A guest that jumps straight to an enter VMFUNC with registers of its
 * choice: the view it lands in (ECX) and the window it names (EDI) differ,
 * or the size is not one of the four.  Nothing outside the ranges of the
 * landed view's window may be touched, whatever EDI names.
 */
static bool test_rogue_enter(void)
{
	static const uint64_t sizes[] = { 0, 1, 2, 3, 4, 5, 8, 16,
					  (1ULL << 32) | 4 };
	static const uint32_t offs[] = { 0x0, 0x7, 0x8, 0x10, 0x20, 0x7f8,
					 0x800, 0x808, 0xa00, 0xbf8, 0xc00,
					 0xff8, 0xfff };
	const unsigned long per_view = (NR_IDS + 1) * ARRAY_SIZE(sizes) *
				       ARRAY_SIZE(offs);
	unsigned long n, bad = 0, calls = 0;

	fill_table(KVX_SUBPAGE_MODE_VMFUNC);
	trace_bad = 0;
	tracing = true;		/* the failure paths of the second check too */
	for (n = 0; n < 2 * 15 * per_view; n++) {
		int o = n % ARRAY_SIZE(offs);
		int s = n / ARRAY_SIZE(offs) % ARRAY_SIZE(sizes);
		int id = n / (ARRAY_SIZE(offs) * ARRAY_SIZE(sizes)) % (NR_IDS + 1);
		int v = 1 + n / per_view % 15;
		int site = n / (15 * per_view);
		int vp = page_of_view(v), want, r, jump;
		struct rogue_regs regs = {
			.rax = 0, .rcx = v, .rdx = 0xdeadbeefcafef00dULL,
			.rdi = id | 0xabcd000000000000ULL, .r10 = sizes[s],
		};
		uint32_t size = sizes[s];	/* only R10D counts */

		if (vp < 0)
			continue;	/* KVM refuses: #UD, tested in guests */
		regs.rsi = (uint64_t)(wpage[vp] + offs[o]);
		want = expect_in_view(offs[o], size, site ? W : R, v);
		deny_all = want != 0;
		r = rogue(kvx_subpage_tramp_vmfunc_sites[site], &regs, &jump);
		deny_all = false;
		calls++;
		if (jump || cur_view || (want ? r != want : r != 0)) {
			if (bad++ < 10)
				ksft_print_msg("enter %d view %d id %d %#x/%#lx: %d/%d want %d\n",
					       site, v, id, offs[o], sizes[s],
					       r, jump, want);
			set_view(0);
			continue;
		}
		if (site && !want)
			memcpy(&shadow[vp][offs[o]], &regs.rdx, size);
	}
	tracing = false;
	ksft_print_msg("rogue enter: %lu jumps, %lu wrong, %lu unexpected instructions\n",
		       calls, bad, trace_bad);
	return pages_match() && !bad && !trace_bad;
}

/* A guest that jumps to the leave VMFUNC with ECX = a window view. */
static bool test_rogue_leave(void)
{
	unsigned long bad = 0;
	int v, jump;

	fill_table(KVX_SUBPAGE_MODE_VMFUNC);
	for (v = 1; v < 16; v++) {
		struct rogue_regs regs = { .rax = 0, .rcx = v };
		long leave = kvx_subpage_tramp_vmfunc_sites[2];

		if (page_of_view(v) < 0)
			continue;
		regs.rsi = (uint64_t)wpage[page_of_view(v)];
		deny_all = true;
		stop_offset = -1;
		/* xor %eax,%eax; xor %ecx,%ecx precede the site: skip them. */
		rogue(leave, &regs, &jump);
		deny_all = false;
		if (jump != JUMP_UD2 || stop_view != v ||
		    stop_offset <= leave) {
			ksft_print_msg("rogue leave to view %d: signal %d at 0x%lx in view %d\n",
				       v, jump, stop_offset, stop_view);
			bad++;
		}
		set_view(0);
	}
	return !bad && pages_match();
}

/*
 * What the page holds changes between the two checks: the window's entry
 * goes (KVM clears it before it hides the view, so the view still serves
 * it), KVM has hidden the view (its VMFUNC exit leaves ECX = 0), the entry
 * names another view, or every entry is forged.  The check in the window
 * view goes by its slot alone; a forged entry must not widen it.
 */
static bool test_races(void)
{
	static const struct { int race; uint32_t off; int want; } cases[] = {
		{ RACE_CLEARED, 0x100, 0 },
		{ RACE_CLEARED_REFUSED, 0x100, -KVX_SUBPAGE_EAGAIN },
		{ RACE_REUSED, 0x100, 0 },
		{ RACE_FORGED, 0x100, 0 },
		{ RACE_FORGED, 0x800, -KVX_SUBPAGE_EPERM },	/* the hole */
		{ RACE_FORGED, 0xc00, -KVX_SUBPAGE_EPERM },	/* read-only */
	};
	bool ok = true;
	unsigned int n;

	for (n = 0; n < 2 * ARRAY_SIZE(cases); n++) {
		unsigned int i = n / 2, dir = n % 2 ? W : R;
		uint32_t off = cases[i].off;
		int want = cases[i].want;
		__u64 v = 0x1122334455667788ULL;
		int r, jump;

		/* 0xc00 is readable: only its write is refused. */
		if (off == 0xc00 && dir == R)
			want = 0;
		fill_table(KVX_SUBPAGE_MODE_VMFUNC);
		race = cases[i].race;
		deny_all = want != 0;
		r = tcall(dir == W, 0, wpage[0] + off, 8, &v, &jump);
		deny_all = false;
		race = RACE_NONE;
		if (jump || r != want || cur_view ||
		    (dir == R && v != (want ? 0 : shadow_value(0, off, 8)))) {
			ksft_print_msg("race %d off %#x dir %u: %d (signal %d), want %d\n",
				       cases[i].race, off, dir, r, jump, want);
			ok = false;
		}
		if (dir == W && !want && !jump)
			memcpy(&shadow[0][off], &v, 8);
	}
	return ok && pages_match();
}

/* kvx_subpage_check(), KVM's half, against the model, sizes 0..16. */
static bool test_c_check(void)
{
	unsigned long n, bad = 0;

	fill_table(KVX_SUBPAGE_MODE_HYPERCALL);
	for (n = 0; n < 17UL * (PAGE + 8) * 17 * 4; n++) {
		int access = n % 4;
		uint32_t size = n / 4 % 17;
		uint32_t off = n / (4 * 17) % (PAGE + 8);
		uint32_t id = n / (4 * 17 * (PAGE + 8));
		int want = expect(id, off, size, access);
		int got = kvx_subpage_check(kvm_windows, id, off, size, access);

		if ((access == 0 || access == 3) && want != -KVX_SUBPAGE_EINVAL &&
		    want != -KVX_SUBPAGE_ENOENT)
			want = -KVX_SUBPAGE_EINVAL;
		if (got != want && bad++ < 10)
			ksft_print_msg("check id %u off %#x size %u access %d: %d, want %d\n",
				       id, off, size, access, got, want);
	}
	return !bad;
}

static const struct {
	const char *name;
	bool (*fn)(void);
} tests[] = {
	{ "layout", test_layout },
	{ "vmfunc_only_at_sites", test_vmfunc_sites },
	{ "vmfunc_path_all_offsets", test_vmfunc_path },
	{ "hypercall_path_all_offsets", test_hypercall_path },
	{ "mode_off", test_mode_off },
	{ "window_view_code", test_window_view_code },
	{ "rogue_enter", test_rogue_enter },
	{ "rogue_leave", test_rogue_leave },
	{ "removal_races", test_races },
	{ "kvm_check_model", test_c_check },
};

static void setup(void)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_ONSTACK };
	unsigned long seed = 3;
	int id, i;

	if (sigaltstack(&ss, NULL))
		ksft_exit_fail_msg("sigaltstack\n");
	sa.sa_sigaction = on_sigill;
	sigaction(SIGILL, &sa, NULL);
	sa.sa_sigaction = on_sigsegv;
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_sigaction = on_sigtrap;
	sigaction(SIGTRAP, &sa, NULL);

	tramp = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tramp == MAP_FAILED)
		ksft_exit_fail_msg("mmap\n");
	for (id = 0; id < NR_IDS; id++) {
		wpage[id] = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (wpage[id] == MAP_FAILED)
			ksft_exit_fail_msg("mmap\n");
		for (i = 0; i < PAGE; i++) {
			seed = seed * 6364136223846793005UL + 1;
			shadow[id][i] = seed >> 56;
		}
		memcpy(wpage[id], shadow[id], PAGE);
		protect(id, PROT_NONE);
	}
}

int main(void)
{
	unsigned int i;

	ksft_print_header();
	setup();
	ksft_set_plan(ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (tests[i].fn())
			ksft_test_result_pass("%s\n", tests[i].name);
		else
			ksft_test_result_fail("%s\n", tests[i].name);
	}
	ksft_finished();
}
