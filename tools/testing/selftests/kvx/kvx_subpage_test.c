// SPDX-License-Identifier: GPL-2.0
/*
 * kvx sub-page windows: a guest reaches the allowed bytes of a page it may
 * not map, through the trampoline KVM provides, and nothing else.
 *
 * On VMX hosts with VMFUNC (Bochs tigerlake) the trampoline switches into
 * the window's view and the accesses cost no exit; elsewhere (QEMU TCG,
 * AMD) every access is one KVX_HC_WINDOW_ACCESS hypercall.  The same
 * assertions run on both, with the exit budget of each path.  The host side
 * plays the VMM: accesses that reach it as KVM_EXIT_MMIO are served with the
 * same rules (allowed ranges only), as QEMU would for a trapped BAR page.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvx.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"
#include "kvx_subpage_guest.h"

#define NR_VIEWS	4
#define TRAMP_GPA	0xd0010000ULL
#define WIN0_SLOT	20
#define WIN0_GPA	0xd0000000ULL	/* window 0, view 1: "device A" */
#define WIN1_SLOT	21
#define WIN1_GPA	0xd0001000ULL	/* window 1, view 2: "device B" */
#define BIG_SLOT	22
#define BIG_GPA		0xd0100000ULL	/* two pages: not a window */
#define ONE_SLOT	23
#define ONE_GPA		0xd0200000ULL	/* one more page for a window */

/* Result lines too long for one source line. */
#define MSG_ENABLE \
	"enable: ENXIO without views, EINVAL args, EEXIST twice/over RAM, EBUSY after vCPUs\n"
#define MSG_ACCESS0 \
	"access %s: %lu accesses, %lu exits (%lu irq, %lu pf, %lu trapped), %lu hypercalls\n"
#define MSG_ACCESS1 \
	"window 1 (writes by hypercall): %lu accesses, %lu exits (%lu irq, %lu pf), %lu hypercalls\n"
#define MSG_FORBIDDEN \
	"forbidden bytes: direct access traps, 65536 calls match the model, %s, pages intact\n"
#define MSG_EXCEPTIONS \
	"exceptions: #PF on the access and single-stepping delivered in view 0, results right\n"
#define MSG_RACE \
	"removal race (%s): %d removals under reads: %lu ok, %lu %s, %lu EAGAIN, %lu trapped\n"
#define MSG_RACE_ROUNDS \
	"race (%s): the rounds overlapped %lu guest accesses (%lu ok, %lu %s, %lu EAGAIN), %d held\n"
#define MSG_FUZZ \
	"fuzz: 10000 broken and 10000 random KVX_SET_WINDOW rejected, only real windows answer\n"

#define VMM_REFUSED	0xffffffffffffffffULL	/* what the VMM reads back */
#define UNMAPPED_GVA	0x7fff00000000ULL	/* no guest mapping */

/* Window 0: registers at 0x000-0x0ff (RW), an ID block at 0x800 (R). */
static const struct kvx_window_range win0_ranges[] = {
	{ .offset = 0x000, .size = 0x100, .access = KVX_WINDOW_READ | KVX_WINDOW_WRITE },
	{ .offset = 0x800, .size = 0x010, .access = KVX_WINDOW_READ },
};

/* Window 1: one block at 0x200 (RW); window 0 forbids that offset. */
static const struct kvx_window_range win1_ranges[] = {
	{ .offset = 0x200, .size = 0x040, .access = KVX_WINDOW_READ | KVX_WINDOW_WRITE },
};

static bool use_vmfunc;		/* host: windows switch by VMFUNC */

/* ---- shared with the guest ---- */
static bool guest_vmfunc;
static uint32_t guest_loops;
static uint32_t guest_stop;	/* READ_ONCE() in the guest */
static uint32_t guest_race_slot;	/* the race deletes the memslot */
/*
 * The race's guest publishes its counts after every access, outcome first,
 * then iters: the host thread starts its rounds only once the guest is in
 * its loop, and tells which accesses fell inside them.  One cache line, so
 * one guest page.
 */
struct race_count {
	uint64_t iters, ok, gone, again;
} __aligned(64);
static struct race_count guest_race_count;
static int ud_count, pf_count, db_count;
static uint64_t pf_cr2, rogue_v;

/* ---- the window rules, for the guest's and the VMM's checks ---- */

static const struct kvx_window_range *ranges_of(int id, int *n)
{
	if (id == 0) {
		*n = ARRAY_SIZE(win0_ranges);
		return win0_ranges;
	}
	*n = ARRAY_SIZE(win1_ranges);
	return win1_ranges;
}

/* Status the trampoline must return for a valid id with window @id set. */
static int expect_status(int id, uint32_t off, uint32_t size, bool write)
{
	const struct kvx_window_range *r;
	int i, n;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	if (off & (size - 1))
		return -EINVAL;
	r = ranges_of(id, &n);
	for (i = 0; i < n; i++) {
		if (!(r[i].access & (write ? KVX_WINDOW_WRITE : KVX_WINDOW_READ)))
			continue;
		if (off >= r[i].offset && off + size <= r[i].offset + r[i].size)
			return 0;
	}
	return -EPERM;
}

/* ---- guest side ---- */

static void *tramp(void)
{
	return (void *)TRAMP_GPA;
}

static int g_read(int id, uint64_t addr, int size, uint64_t *v)
{
	return kvx_window_read(tramp(), id, (void *)addr, size, (__u64 *)v);
}

static uint64_t read_cr2(void)
{
	uint64_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}

static int g_write(int id, uint64_t addr, int size, uint64_t v)
{
	return kvx_window_write(tramp(), id, (void *)addr, size, v);
}

static void guest_ud_handler(struct ex_regs *regs)
{
	WRITE_ONCE(ud_count, ud_count + 1);
	/* Rogue entries stop on ud2 inside the trampoline: resume after. */
	regs->rip = regs->r12;
}

static void guest_pf_handler(struct ex_regs *regs)
{
	WRITE_ONCE(pf_count, pf_count + 1);
	pf_cr2 = read_cr2();
	/* The trampoline's access "movq (%rsi), %rdx" is 3 bytes: skip it. */
	regs->rip += 3;
}

static void guest_db_handler(struct ex_regs *regs)
{
	WRITE_ONCE(db_count, db_count + 1);
}

static uint64_t pattern(uint32_t i)
{
	return 0x0101010101010101ULL * (i & 0xff) ^ ((uint64_t)i << 32);
}

static void guest_discover(void)
{
	const uint8_t *t = tramp();
	uint32_t a, b, c, d;

	GUEST_ASSERT_EQ(kvx_subpage_guest_find(), TRAMP_GPA);
	GUEST_ASSERT(kvx_subpage_guest_valid(t));
	kvx_guest_cpuid(KVX_CPUID_WINDOWS, &a, &b, &c, &d);
	GUEST_ASSERT_EQ(d, KVX_WINDOW_MAX_IDS);
	/* The header's mode byte: 1 VMFUNC, 2 hypercall. */
	GUEST_ASSERT_EQ(t[0x806], guest_vmfunc ? 1 : 2);
	GUEST_DONE();
}

/* S1: allowed accesses, every size, both windows; counted by the host. */
static void guest_access(void)
{
	uint64_t v;
	uint32_t i, off;
	int size;

	/* Warm up: fault in what the window views need. */
	GUEST_ASSERT_EQ(g_write(0, WIN0_GPA, 8, 1), 0);
	GUEST_ASSERT_EQ(g_read(0, WIN0_GPA, 8, &v), 0);
	GUEST_ASSERT_EQ(g_read(1, WIN1_GPA + 0x200, 8, &v), 0);
	GUEST_SYNC(0);

	for (i = 0; i < guest_loops; i++) {
		off = (i * 8) % 0x100;
		GUEST_ASSERT_EQ(g_write(0, WIN0_GPA + off, 8, pattern(i)), 0);
		GUEST_ASSERT_EQ(g_read(0, WIN0_GPA + off, 8, &v), 0);
		GUEST_ASSERT_EQ(v, pattern(i));
		for (size = 1; size <= 4; size *= 2) {
			GUEST_ASSERT_EQ(g_read(0, WIN0_GPA + off + size, size, &v), 0);
			GUEST_ASSERT_EQ(v, ((pattern(i) >> (8 * size)) &
					    ((1ULL << (8 * size)) - 1)));
		}
		GUEST_ASSERT_EQ(g_read(0, WIN0_GPA + 0x800, 8, &v), 0);
		GUEST_ASSERT_EQ(v, 0x4449564544585650ULL);	/* "PVXDEVID" */
	}
	GUEST_SYNC(1);

	/* Window 1: its writes take the hypercall unless VMFUNC_WRITES. */
	for (i = 0; i < guest_loops; i++) {
		off = 0x200 + (i * 8) % 0x40;
		GUEST_ASSERT_EQ(g_write(1, WIN1_GPA + off, 8, ~pattern(i)), 0);
		GUEST_ASSERT_EQ(g_read(1, WIN1_GPA + off, 8, &v), 0);
		GUEST_ASSERT_EQ(v, ~pattern(i));
	}
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* Jump to a trampoline VMFUNC site with registers the guest chose. */
static int rogue_site(const uint8_t *site, uint32_t id, uint64_t ptr,
		      uint32_t view, uint64_t *rdx)
{
	register uint64_t r10 asm("r10") = 8;
	uint64_t rcx = view, rsi = ptr, rdi = id, d = 0;
	int ret;

	asm volatile("mov %%rsp, %%r13\n\t"
		     "lea -128(%%rsp), %%rsp\n\t"
		     "lea 1f(%%rip), %%r12\n\t"
		     "push %%r12\n\t"
		     "pushfq\n\t"
		     "mov %%rsp, %%r11\n\t"
		     "xor %%eax, %%eax\n\t"
		     "jmp *%[site]\n\t"
		     "1: mov %%r13, %%rsp\n\t"
		     : "=&a" (ret), "+c" (rcx), "+d" (d), "+S" (rsi), "+D" (rdi),
		       "+r" (r10)
		     : [site] "r" (site)
		     : "r8", "r9", "r11", "r12", "r13", "cc", "memory");
	*rdx = d;
	return ret;
}

/* S2: what the guest must not reach. */
static void guest_forbidden(void)
{
	const uint8_t *t = tramp();
	uint32_t off, size, id, sites[3], nsites = 0, i;
	int dir, r, e, uds;
	uint64_t v;

	/* A direct access traps to the VMM, which refuses it. */
	GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(WIN0_GPA + 0x200)), VMM_REFUSED);
	WRITE_ONCE(*(uint64_t *)(WIN0_GPA + 0x10), 0x77);	/* served, trapped */
	GUEST_SYNC(0);

	/* Every offset, size and direction through the trampoline. */
	for (id = 0; id < 2; id++) {
		uint64_t base = id ? WIN1_GPA : WIN0_GPA;

		for (off = 0; off < 4096; off++) {
			for (size = 1; size <= 8; size *= 2) {
				for (dir = 0; dir < 2; dir++) {
					e = expect_status(id, off, size, dir);
					if (dir)
						r = g_write(id, base + off, size, off);
					else
						r = g_read(id, base + off, size, &v);
					GUEST_ASSERT_EQ(r, e);
					if (!dir && r)
						GUEST_ASSERT_EQ(v, 0);
				}
			}
		}
	}
	GUEST_ASSERT_EQ(g_read(0, WIN0_GPA, 3, &v), -EINVAL);
	for (id = 2; id < 20; id++)
		GUEST_ASSERT_EQ(g_read(id, WIN0_GPA, 8, &v),
				id < KVX_WINDOW_MAX_IDS ? -ENOENT : -EINVAL);
	GUEST_SYNC(1);

	/*
	 * Window 1's allowed offset, but a pointer into window 0's page: in
	 * view 2 that page is absent, so the access reaches the VMM.
	 */
	GUEST_ASSERT_EQ(g_read(1, WIN0_GPA + 0x200, 8, &v), 0);
	rogue_v = v;
	GUEST_SYNC(2);

	if (!guest_vmfunc) {
		/* The views hypercall does not reach window views. */
		uds = ud_count;
		asm volatile("lea 1f(%%rip), %%r12\n\t"
			     "vmmcall\n\t"
			     "1:"
			     :: "a"(KVX_HC_VIEW_SWITCH), "b"(0), "c"(1)
			     : "r12", "memory");
		GUEST_ASSERT_EQ(ud_count, uds + 1);
		GUEST_DONE();
	}

	/* A VMFUNC of the guest's own into each window view: back in view 0. */
	for (i = 1; i <= 2; i++) {
		asm volatile(".byte 0x0f, 0x01, 0xd4" :: "a"(0), "c"(i) : "memory");
		GUEST_ASSERT_EQ(READ_ONCE(*(uint64_t *)(WIN0_GPA + 0x200)),
				VMM_REFUSED);
	}
	GUEST_SYNC(3);

	/* Every VMFUNC site of the page, with hostile registers. */
	for (off = 0; off + 2 < 4096; off++) {
		if (t[off] == 0x0f && t[off + 1] == 0x01 && t[off + 2] == 0xd4) {
			GUEST_ASSERT(nsites < 3);
			sites[nsites++] = off;
		}
	}
	GUEST_ASSERT_EQ(nsites, 3);
	for (i = 0; i < nsites; i++) {
		for (id = 0; id < 2; id++) {
			uint32_t view;

			for (view = 0; view < NR_VIEWS; view++) {
				uds = ud_count;
				r = rogue_site(t + sites[i], id, WIN0_GPA + 0x200,
					       view, &v);
				/* Stopped on ud2, refused, or a trap to the VMM. */
				GUEST_ASSERT(ud_count == uds + 1 || r ||
					     v == VMM_REFUSED || v == 0);
				GUEST_ASSERT(v == 0 || v == VMM_REFUSED);
			}
		}
	}
	GUEST_DONE();
}

/* S3: exceptions raised inside a window view are delivered in view 0. */
static void guest_exceptions(void)
{
	uint64_t v = 0, flags;
	int r;

	/*
	 * #PF on the access itself (the pointer's page is unmapped), raised
	 * in the window view.  The hypercall path never uses the pointer.
	 */
	if (guest_vmfunc) {
		r = g_read(0, UNMAPPED_GVA + 0x10, 8, &v);
		GUEST_ASSERT_EQ(pf_count, 1);
		GUEST_ASSERT_EQ(pf_cr2, UNMAPPED_GVA + 0x10);
		GUEST_ASSERT_EQ(r, 0);
	}
	GUEST_SYNC(0);

	/* Single-step through a call: every #DB in view 0, result right. */
	GUEST_ASSERT_EQ(g_write(0, WIN0_GPA + 0x18, 8, 0x1234), 0);
	asm volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory", "cc");
	r = g_read(0, WIN0_GPA + 0x18, 8, &v);
	asm volatile("pushfq; andq $~0x100, (%%rsp); popfq; pushfq; pop %0"
		     : "=r"(flags) :: "memory", "cc");
	GUEST_ASSERT(!(flags & 0x100));
	GUEST_ASSERT_EQ(r, 0);
	GUEST_ASSERT_EQ(v, 0x1234);
	GUEST_ASSERT(db_count > 10);
	GUEST_DONE();
}

/* S4: accesses while the host removes and re-adds the window. */
static void guest_race(void)
{
	uint64_t n_ok = 0, n_gone = 0, n_again = 0, v;
	int r;

	while (!READ_ONCE(guest_stop)) {
		r = g_read(0, WIN0_GPA + 0x20, 8, &v);
		if (!r) {
			GUEST_ASSERT_EQ(v, 0xabcdef);
			WRITE_ONCE(guest_race_count.ok, ++n_ok);
		} else if (r == (guest_race_slot ? -EFAULT : -ENOENT)) {
			/* hypercall: the slot is gone */
			WRITE_ONCE(guest_race_count.gone, ++n_gone);
		} else {
			GUEST_ASSERT_EQ(r, -EAGAIN);
			WRITE_ONCE(guest_race_count.again, ++n_again);
		}
		WRITE_ONCE(guest_race_count.iters, n_ok + n_gone + n_again);
	}
	if (guest_race_slot) {
		/* The slot is back: the window works again. */
		GUEST_ASSERT_EQ(g_read(0, WIN0_GPA + 0x20, 8, &v), 0);
		GUEST_ASSERT_EQ(v, 0xabcdef);
	} else {
		/* The window is gone now: a clean error, not a stale mapping. */
		GUEST_ASSERT_EQ(g_read(0, WIN0_GPA + 0x20, 8, &v), -ENOENT);
		GUEST_ASSERT_EQ(g_write(0, WIN0_GPA + 0x20, 8, 1), -ENOENT);
	}
	GUEST_SYNC(n_ok);
	GUEST_SYNC(n_gone);
	GUEST_SYNC(n_again);
	GUEST_DONE();
}

/* S5: after the fuzz, only the two real windows answer. */
static void guest_after_fuzz(void)
{
	uint64_t v;
	int id;

	for (id = 0; id < KVX_WINDOW_MAX_IDS; id++)
		GUEST_ASSERT_EQ(g_read(id, (id ? WIN1_GPA + 0x200 : WIN0_GPA), 8, &v),
				id < 2 ? 0 : -ENOENT);
	GUEST_DONE();
}

/* ---- host side ---- */

struct win_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *page[2];		/* the "BAR" pages */
	uint8_t shadow[2][4096];	/* their expected contents */
	uint64_t mmio_exits;		/* accesses the VMM served */
	uint64_t mmio_refused;		/* ... and refused */
	uint64_t mmio_last_gpa;
};

static void set_slot_views(struct kvm_vm *vm, uint32_t slot, uint64_t views)
{
	struct kvx_slot_views s = { .slot = slot, .views = views };

	vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &s);
}

static int enable_windows_raw(struct kvm_vm *vm, uint64_t gpa, uint64_t flags,
			      uint64_t a2)
{
	struct kvm_enable_cap cap = {
		.cap = KVX_CAP_WINDOWS, .args = { gpa, flags, a2 },
	};

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
}

static struct kvx_window window_arg(int id)
{
	struct kvx_window w = {
		.id = id,
		.slot = id ? WIN1_SLOT : WIN0_SLOT,
		.gpa = id ? WIN1_GPA : WIN0_GPA,
		.view = id + 1,
	};
	const struct kvx_window_range *r;
	int n;

	r = ranges_of(id, &n);
	w.nr_ranges = n;
	memcpy(w.ranges, r, n * sizeof(*r));
	if (id == 0)
		w.flags = KVX_WINDOW_F_VMFUNC_WRITES;
	return w;
}

static int set_window_raw(struct kvm_vm *vm, struct kvx_window *w)
{
	return __vm_ioctl(vm, KVX_SET_WINDOW, w);
}

static void set_window(struct kvm_vm *vm, int id)
{
	struct kvx_window w = window_arg(id);

	TEST_ASSERT(!set_window_raw(vm, &w), "KVX_SET_WINDOW %d: errno %d", id, errno);
}

static int remove_window_raw(struct kvm_vm *vm, uint32_t id)
{
	struct kvx_window_id w = { .id = id };

	return __vm_ioctl(vm, KVX_REMOVE_WINDOW, &w);
}

static void add_page(struct win_vm *w, int i, uint64_t gpa, uint32_t slot)
{
	int k;

	vm_userspace_mem_region_add(w->vm, VM_MEM_SRC_ANONYMOUS, gpa, slot, 1, 0);
	virt_map(w->vm, gpa, gpa, 1);
	w->page[i] = addr_gpa2hva(w->vm, gpa);
	/* Every byte a secret the guest must never see where forbidden. */
	for (k = 0; k < 4096; k++)
		w->shadow[i][k] = random() | 0x80;
	memcpy(w->page[i], w->shadow[i], 4096);
}

static void win_vm_create(struct win_vm *w, void *guest, uint64_t flags)
{
	memset(w, 0, sizeof(*w));
	w->vm = vm_create(1);
	vm_enable_cap(w->vm, KVX_CAP_VIEWS, NR_VIEWS);
	TEST_ASSERT(!enable_windows_raw(w->vm, TRAMP_GPA, flags, 0),
		    "KVX_CAP_WINDOWS: errno %d", errno);
	/* Hidden from every view before the slots exist. */
	set_slot_views(w->vm, WIN0_SLOT, 0);
	set_slot_views(w->vm, WIN1_SLOT, 0);
	w->vcpu = vm_vcpu_add(w->vm, 0, guest);
	kvx_set_window_cpuid(w->vcpu, TRAMP_GPA);
	vm_install_exception_handler(w->vm, UD_VECTOR, guest_ud_handler);
	vm_install_exception_handler(w->vm, PF_VECTOR, guest_pf_handler);
	vm_install_exception_handler(w->vm, DB_VECTOR, guest_db_handler);
	virt_map(w->vm, TRAMP_GPA, TRAMP_GPA, 1);
	add_page(w, 0, WIN0_GPA, WIN0_SLOT);
	add_page(w, 1, WIN1_GPA, WIN1_SLOT);
	memcpy(w->page[0] + 0x800, "PVXDEVID", 8);
	memcpy(w->shadow[0] + 0x800, "PVXDEVID", 8);
	set_window(w->vm, 0);
	set_window(w->vm, 1);
	guest_vmfunc = use_vmfunc && !(flags & KVX_WINDOWS_HYPERCALL);
	sync_global_to_guest(w->vm, guest_vmfunc);
}

/*
 * The VMM's side of a trapped window page: serve what the window allows,
 * refuse the rest, as a VMM that traps the whole page does today.
 */
static bool vmm_mmio(struct win_vm *w)
{
	struct kvm_run *run = w->vcpu->run;
	uint64_t gpa = run->mmio.phys_addr;
	int id = (gpa & ~4095ULL) == WIN1_GPA;
	uint32_t off = gpa & 4095;

	if ((gpa & ~4095ULL) != WIN0_GPA && (gpa & ~4095ULL) != WIN1_GPA)
		return false;
	w->mmio_exits++;
	w->mmio_last_gpa = gpa;
	if (expect_status(id, off, run->mmio.len, run->mmio.is_write)) {
		w->mmio_refused++;
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, run->mmio.len);
		return true;
	}
	if (run->mmio.is_write) {
		memcpy(w->page[id] + off, run->mmio.data, run->mmio.len);
		memcpy(w->shadow[id] + off, run->mmio.data, run->mmio.len);
	} else {
		memcpy(run->mmio.data, w->page[id] + off, run->mmio.len);
	}
	return true;
}

/* Run to the next ucall, serving trapped window accesses on the way. */
static uint64_t run_sync(struct win_vm *w)
{
	for (;;) {
		vcpu_run(w->vcpu);
		if (w->vcpu->run->exit_reason != KVM_EXIT_MMIO || !vmm_mmio(w))
			return kvx_ucall_value(w->vcpu);
	}
}

static void expect_sync(struct win_vm *w, uint64_t n)
{
	uint64_t got = run_sync(w);

	TEST_ASSERT(got == n, "expected GUEST_SYNC(%lu), got %ld", n, (long)got);
}

static void expect_done(struct win_vm *w)
{
	TEST_ASSERT(run_sync(w) == KVX_GUEST_DONE, "expected GUEST_DONE");
}

/* The bytes no access was allowed to change are unchanged. */
static void check_pages(struct win_vm *w, const char *what)
{
	int i, k;

	for (i = 0; i < 2; i++)
		for (k = 0; k < 4096; k++)
			TEST_ASSERT(w->page[i][k] == w->shadow[i][k] ||
				    !expect_status(i, k, 1, true),
				    "%s: window %d byte 0x%x changed: 0x%x, was 0x%x",
				    what, i, k, w->page[i][k], w->shadow[i][k]);
}

struct stats {
	uint64_t exits, irqs, hcs, leaves, mmio, pf;
};

static struct stats stats_now(struct win_vm *w)
{
	return (struct stats){
		.exits = kvx_vcpu_stat(w->vcpu, "exits"),
		.irqs = kvx_vcpu_stat(w->vcpu, "irq_exits"),
		.hcs = kvx_vcpu_stat(w->vcpu, "kvx_window_hypercalls"),
		.leaves = kvx_vcpu_stat(w->vcpu, "kvx_window_leaves"),
		.mmio = w->mmio_exits,
		.pf = kvx_vcpu_stat(w->vcpu, "pf_taken"),
	};
}

static struct stats stats_since(struct win_vm *w, struct stats s)
{
	struct stats n = stats_now(w);

	return (struct stats){
		.exits = n.exits - s.exits, .irqs = n.irqs - s.irqs,
		.hcs = n.hcs - s.hcs, .leaves = n.leaves - s.leaves,
		.mmio = n.mmio - s.mmio, .pf = n.pf - s.pf,
	};
}

static void test_caps(void)
{
	int n = kvm_check_cap(KVX_CAP_WINDOWS);
	int vmfunc = kvm_check_cap(KVX_CAP_VIEWS_VMFUNC);

	TEST_ASSERT(n == KVX_WINDOW_MAX_IDS, "KVX_CAP_WINDOWS = %d", n);
	TEST_ASSERT(vmfunc == kvx_host_is_vmx(),
		    "KVX_CAP_VIEWS_VMFUNC = %d on a %s host", vmfunc,
		    kvx_host_is_vmx() ? "VMX" : "non-VMX");
	ksft_test_result_pass("caps: %d window ids, trampoline by %s\n", n,
			      vmfunc ? "VMFUNC" : "hypercall");
}

static void test_enable(void)
{
	struct kvm_vm *vm = vm_create(1);
	struct kvx_window w = window_arg(0);

	TEST_ASSERT(enable_windows_raw(vm, TRAMP_GPA, 0, 0) == -1 && errno == ENXIO,
		    "windows without views: errno %d", errno);
	vm_enable_cap(vm, KVX_CAP_VIEWS, NR_VIEWS);
	TEST_ASSERT(set_window_raw(vm, &w) == -1 && errno == ENXIO,
		    "SET_WINDOW before the cap: errno %d", errno);
	TEST_ASSERT(enable_windows_raw(vm, TRAMP_GPA + 1, 0, 0) == -1 && errno == EINVAL,
		    "unaligned trampoline accepted");
	TEST_ASSERT(enable_windows_raw(vm, TRAMP_GPA, 2, 0) == -1 && errno == EINVAL,
		    "unknown flag accepted");
	TEST_ASSERT(enable_windows_raw(vm, TRAMP_GPA, 0, 1) == -1 && errno == EINVAL,
		    "args[2] != 0 accepted");
	TEST_ASSERT(enable_windows_raw(vm, 1ULL << 52, 0, 0) == -1 && errno == EINVAL,
		    "GPA beyond the guest's physical space accepted");
	/* The trampoline may not overlap a memslot (slot 0 is at GPA 0). */
	TEST_ASSERT(enable_windows_raw(vm, 0x1000, 0, 0) == -1 && errno == EEXIST,
		    "trampoline over RAM accepted: errno %d", errno);
	TEST_ASSERT(!enable_windows_raw(vm, TRAMP_GPA, 0, 0), "enable: errno %d", errno);
	TEST_ASSERT(enable_windows_raw(vm, TRAMP_GPA, 0, 0) == -1 && errno == EEXIST,
		    "enabled twice");
	vm_vcpu_add(vm, 0, guest_discover);
	kvm_vm_free(vm);

	vm = vm_create(1);
	vm_enable_cap(vm, KVX_CAP_VIEWS, NR_VIEWS);
	vm_vcpu_add(vm, 0, guest_discover);
	TEST_ASSERT(enable_windows_raw(vm, TRAMP_GPA, 0, 0) == -1 && errno == EBUSY,
		    "enabled after a vCPU: errno %d", errno);
	kvm_vm_free(vm);
	ksft_test_result_pass(MSG_ENABLE);
}

static void test_discover(void)
{
	struct win_vm w;
	int hc;

	for (hc = 0; hc <= use_vmfunc; hc++) {
		win_vm_create(&w, guest_discover, hc ? KVX_WINDOWS_HYPERCALL : 0);
		expect_done(&w);
		kvm_vm_free(w.vm);
	}
	ksft_test_result_pass("discovery: CPUID leaves, header, mode byte\n");
}

static void test_access(uint64_t flags)
{
	bool vmfunc = use_vmfunc && !(flags & KVX_WINDOWS_HYPERCALL);
	uint32_t loops = vmfunc ? 5000 : 1000;
	/* Accesses per loop: window 0 then window 1. */
	const uint64_t per0 = 6, per1 = 2;
	struct stats s0, s1;
	struct win_vm w;

	win_vm_create(&w, guest_access, flags);
	guest_loops = loops;
	sync_global_to_guest(w.vm, guest_loops);
	expect_sync(&w, 0);
	s0 = stats_now(&w);
	expect_sync(&w, 1);
	s0 = stats_since(&w, s0);
	s1 = stats_now(&w);
	expect_sync(&w, 2);
	s1 = stats_since(&w, s1);
	expect_done(&w);
	check_pages(&w, "access");

	/*
	 * Budget: one exit for the GUEST_SYNC, plus at most a few first-touch
	 * page faults (pf_taken, reported).  A host interrupt that lands inside
	 * the trampoline moves the vCPU to view 0, where that one access traps
	 * to the VMM: at most one per interrupt, and its exit, an EPT
	 * violation, counts in pf_taken too.
	 */
	TEST_ASSERT(s0.mmio <= s0.pf && s0.pf - s0.mmio <= 4 &&
		    s1.mmio <= s1.pf && s1.pf - s1.mmio <= 4,
		    "page faults: %lu, %lu", s0.pf, s1.pf);
	if (vmfunc) {
		TEST_ASSERT(s0.hcs == 0 && s0.exits - s0.irqs == 1 + s0.pf &&
			    s0.mmio <= s0.irqs,
			    "window 0: %lu accesses, %lu exits (%lu irq, %lu pf, %lu trapped), %lu hypercalls",
			    per0 * loops, s0.exits, s0.irqs, s0.pf, s0.mmio, s0.hcs);
		/* Window 1 writes by hypercall (no KVX_WINDOW_F_VMFUNC_WRITES). */
		TEST_ASSERT(s1.hcs == loops && s1.exits - s1.irqs == 1 + loops + s1.pf &&
			    s1.mmio <= s1.irqs,
			    "window 1: %lu accesses, %lu exits (%lu irq, %lu pf, %lu trapped), %lu hypercalls",
			    per1 * loops, s1.exits, s1.irqs, s1.pf, s1.mmio, s1.hcs);
	} else {
		TEST_ASSERT(s0.hcs == per0 * loops && !s0.mmio &&
			    s0.exits - s0.irqs == 1 + per0 * loops + s0.pf,
			    "window 0: %lu accesses, %lu exits (%lu irq, %lu pf), %lu hypercalls",
			    per0 * loops, s0.exits, s0.irqs, s0.pf, s0.hcs);
		TEST_ASSERT(s1.hcs == per1 * loops && !s1.mmio,
			    "window 1: %lu hypercalls for %lu accesses", s1.hcs, per1 * loops);
	}
	kvm_vm_free(w.vm);
	ksft_print_msg(MSG_ACCESS1, per1 * loops, s1.exits - 1, s1.irqs, s1.pf,
		       s1.hcs);
	ksft_test_result_pass(MSG_ACCESS0, vmfunc ? "VMFUNC" : "hypercall",
			      per0 * loops, s0.exits - 1, s0.irqs, s0.pf,
			      s0.mmio, s0.hcs);
}

static void test_forbidden(void)
{
	uint64_t leaves;
	struct win_vm w;

	win_vm_create(&w, guest_forbidden, 0);
	expect_sync(&w, 0);
	TEST_ASSERT(w.mmio_exits == 2 && w.mmio_refused == 1,
		    "direct accesses: %lu trapped, %lu refused", w.mmio_exits,
		    w.mmio_refused);
	expect_sync(&w, 1);
	check_pages(&w, "every offset");
	TEST_ASSERT(w.mmio_exits - 2 <= kvx_vcpu_stat(w.vcpu, "irq_exits"),
		    "%lu accesses trapped during the sweep", w.mmio_exits - 2);
	expect_sync(&w, 2);
	sync_global_from_guest(w.vm, rogue_v);
	if (use_vmfunc)
		TEST_ASSERT(rogue_v == VMM_REFUSED && w.mmio_last_gpa == WIN0_GPA + 0x200,
			    "window 1, pointer into window 0's page: read 0x%lx, last trap 0x%lx",
			    rogue_v, w.mmio_last_gpa);
	else	/* KVM takes the offset only, in window 1's own page. */
		TEST_ASSERT(rogue_v == *(uint64_t *)(w.page[1] + 0x200),
			    "window 1, pointer into window 0's page: read 0x%lx", rogue_v);
	if (use_vmfunc) {
		leaves = kvx_vcpu_stat(w.vcpu, "kvx_window_leaves");
		expect_sync(&w, 3);
		TEST_ASSERT(kvx_vcpu_stat(w.vcpu, "kvx_window_leaves") >= leaves + 2,
			    "rogue VMFUNCs: leaves %lu -> %lu", leaves,
			    kvx_vcpu_stat(w.vcpu, "kvx_window_leaves"));
	}
	expect_done(&w);
	check_pages(&w, "rogue entries");
	kvm_vm_free(w.vm);
	ksft_test_result_pass(MSG_FORBIDDEN,
			      use_vmfunc ? "rogue VMFUNCs and VMFUNC-site jumps contained" :
			      "the views hypercall refuses window views");
}

static void test_exceptions(void)
{
	struct win_vm w;

	win_vm_create(&w, guest_exceptions, 0);
	expect_sync(&w, 0);
	if (use_vmfunc)
		TEST_ASSERT(kvx_vcpu_stat(w.vcpu, "kvx_window_reflected") >= 1,
			    "#PF in the window view not reflected");
	expect_done(&w);
	check_pages(&w, "exceptions");
	kvm_vm_free(w.vm);
	ksft_test_result_pass(MSG_EXCEPTIONS);
}

#define RACE_HOLDS	10	/* rounds that wait for the guest, spread out */
#define RACE_WAIT_S	120	/* per wait, far beyond one access on Bochs */

struct race_arg {
	struct win_vm *w;
	int rounds;
	bool slot;		/* delete and re-create the memslot instead */
	struct race_count *gc;	/* the guest's counts, in its memory */
	struct race_count start, end;	/* ... around the rounds */
};

static struct race_count race_seen(struct race_arg *a)
{
	struct race_count c;

	/* iters last in the guest, first here: the outcomes include it. */
	c.iters = READ_ONCE(a->gc->iters);
	c.ok = READ_ONCE(a->gc->ok);
	c.gone = READ_ONCE(a->gc->gone);
	c.again = READ_ONCE(a->gc->again);
	return c;
}

/*
 * Wait until the guest's count @field reaches @n.  The guest runs on its
 * own; a wait that ends here is a hung vCPU or a lost access, not load.
 */
static struct race_count race_wait(struct race_arg *a, size_t field, uint64_t n,
				   const char *what)
{
	struct timespec t0, t;
	struct race_count c;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		c = race_seen(a);
		if (*(uint64_t *)((char *)&c + field) >= n)
			return c;
		clock_gettime(CLOCK_MONOTONIC, &t);
		TEST_ASSERT(t.tv_sec - t0.tv_sec < RACE_WAIT_S,
			    "race: no guest access %s in %d s: %lu iters, %lu ok, %lu gone, %lu EAGAIN",
			    what, RACE_WAIT_S, c.iters, c.ok, c.gone, c.again);
		usleep(100);
	}
}

static void race_remove(struct race_arg *a)
{
	if (a->slot)
		vm_set_user_memory_region(a->w->vm, WIN0_SLOT, 0, WIN0_GPA, 0,
					  a->w->page[0]);
	else
		TEST_ASSERT(!remove_window_raw(a->w->vm, 0), "remove: errno %d", errno);
}

static void race_restore(struct race_arg *a)
{
	/* The same backing each time, so the VMM's view stays valid. */
	if (a->slot)
		vm_set_user_memory_region(a->w->vm, WIN0_SLOT, 0, WIN0_GPA, 4096,
					  a->w->page[0]);
	else
		set_window(a->w->vm, 0);
}

/*
 * Remove (or delete the slot of) window 0 and put it back, a->rounds times,
 * while the guest reads it.  The rounds start once the guest has read the
 * window at least once, and RACE_HOLDS of them, the first included, wait
 * for the guest in each state: one whole access after the removal returned
 * (-ENOENT for a window; for a memslot -EFAULT or a trap to the VMM), and
 * an access that succeeds after the restore.  The others run free: that is
 * the race.  So both outcomes occur within the rounds whatever the
 * scheduler does, and the host counts them.
 */
static void *race_thread(void *p)
{
	struct race_arg *a = p;
	int i, every = a->rounds / RACE_HOLDS;
	struct race_count c, h;

	race_wait(a, offsetof(struct race_count, ok), 1, "before the rounds");
	a->start = race_seen(a);
	for (i = 0; i < a->rounds; i++) {
		race_remove(a);
		if (!(i % every)) {
			/* A whole access after the removal returned. */
			c = race_seen(a);
			h = race_wait(a, offsetof(struct race_count, iters), c.iters + 2,
				      "with the window removed");
			TEST_ASSERT(a->slot || h.gone > c.gone,
				    "race: %lu accesses after a removal, none -ENOENT (%lu ok, %lu EAGAIN)",
				    h.iters - c.iters, h.ok - c.ok, h.again - c.again);
		}
		race_restore(a);
		if (!(i % every)) {
			/* An access that succeeds after the restore. */
			c = race_seen(a);
			race_wait(a, offsetof(struct race_count, ok), c.ok + 1,
				  "succeeding with the window back");
		}
	}
	a->end = race_seen(a);
	if (!a->slot) {
		TEST_ASSERT(!remove_window_raw(a->w->vm, 0), "remove: errno %d", errno);
		TEST_ASSERT(remove_window_raw(a->w->vm, 0) == -1 && errno == ENOENT,
			    "removed twice");
	}
	WRITE_ONCE(*(uint32_t *)addr_gva2hva(a->w->vm, (uint64_t)&guest_stop), 1);
	return NULL;
}

static void test_race(bool slot)
{
	const char *gone_name = slot ? "EFAULT" : "ENOENT";
	struct race_count in, last;
	uint64_t ok, gone, again;
	struct race_arg a;
	struct win_vm w;
	pthread_t t;

	win_vm_create(&w, guest_race, 0);
	memcpy(w.page[0] + 0x20, &(uint64_t){ 0xabcdef }, 8);
	memcpy(w.shadow[0] + 0x20, &(uint64_t){ 0xabcdef }, 8);
	guest_race_slot = slot;
	sync_global_to_guest(w.vm, guest_race_slot);
	a.w = &w;
	a.slot = slot;
	a.rounds = use_vmfunc ? 200 : 1000;
	a.gc = addr_gva2hva(w.vm, (uint64_t)&guest_race_count);
	pthread_create(&t, NULL, race_thread, &a);
	ok = run_sync(&w);
	gone = run_sync(&w);
	again = run_sync(&w);
	expect_done(&w);
	pthread_join(t, NULL);
	check_pages(&w, "race");
	last = race_seen(&a);
	TEST_ASSERT(last.ok == ok && last.gone == gone && last.again == again &&
		    last.iters == ok + gone + again,
		    "race: the guest reported %lu ok, %lu gone, %lu EAGAIN, counted %lu/%lu/%lu of %lu",
		    ok, gone, again, last.ok, last.gone, last.again, last.iters);
	in = (struct race_count){
		.iters = a.end.iters - a.start.iters, .ok = a.end.ok - a.start.ok,
		.gone = a.end.gone - a.start.gone, .again = a.end.again - a.start.again,
	};
	ksft_print_msg(MSG_RACE_ROUNDS, slot ? "memslot" : "window", in.iters, in.ok,
		       in.gone, gone_name, in.again, RACE_HOLDS);
	/* Within the rounds, not just before or after them. */
	TEST_ASSERT(in.iters >= 3 * RACE_HOLDS && in.ok >= RACE_HOLDS,
		    "race: the rounds overlapped %lu accesses, %lu ok", in.iters, in.ok);
	TEST_ASSERT(slot || in.gone >= RACE_HOLDS,
		    "race: the rounds overlapped %lu accesses, %lu %s", in.iters, in.gone,
		    gone_name);
	TEST_ASSERT(ok, "race: %lu ok, %lu gone", ok, gone);
	TEST_ASSERT(slot || gone, "race: %lu ok, %lu gone", ok, gone);
	kvm_vm_free(w.vm);
	ksft_test_result_pass(MSG_RACE, slot ? "memslot" : "window",
			      a.rounds, ok, gone, gone_name, again, w.mmio_exits);
}

static void expect_errno(int r, int e, const char *what)
{
	TEST_ASSERT(r == -1 && errno == e, "%s: returned %d errno %d, expected %d",
		    what, r, errno, e);
}

static void test_guards(void)
{
	struct kvx_view_access va = { .view = 1, .access = KVX_VIEW_ACCESS_READ,
				      .gfn = 0x100, .npages = 1 };
	struct kvx_view_visibility vis = { .visible = 1 };
	struct kvx_vcpu_view vv = { .view = 1 };
	struct kvx_slot_views sv = { .slot = 5, .views = 1 << 1 };
	struct kvx_window w;
	struct win_vm wv;

	win_vm_create(&wv, guest_after_fuzz, 0);
	expect_errno(__vm_ioctl(wv.vm, KVX_SET_VIEW_ACCESS, &va), EBUSY,
		     "access range in a window view");
	expect_errno(__vm_ioctl(wv.vm, KVX_SET_SLOT_VIEWS, &sv), EBUSY,
		     "slot mask naming a window view");
	sv.slot = WIN0_SLOT;
	sv.views = KVX_SLOT_VIEWS_ALL;
	expect_errno(__vm_ioctl(wv.vm, KVX_SET_SLOT_VIEWS, &sv), EBUSY,
		     "window slot's mask changed");
	vis.visible = 1;
	expect_errno(__vm_ioctl(wv.vm, KVX_SET_VIEW_VISIBILITY, &vis), EBUSY,
		     "window view's visibility changed");
	expect_errno(__vcpu_ioctl(wv.vcpu, KVX_SET_VCPU_VIEW, &vv), EBUSY,
		     "vCPU put in a window view");

	w = window_arg(0);
	expect_errno(set_window_raw(wv.vm, &w), EEXIST, "same id twice");
	w.id = 5;
	expect_errno(set_window_raw(wv.vm, &w), EEXIST, "same page twice");
	/* A view with access ranges of its own cannot serve a window. */
	va.view = 3;
	vm_ioctl(wv.vm, KVX_SET_VIEW_ACCESS, &va);
	set_slot_views(wv.vm, ONE_SLOT, 0);
	vm_userspace_mem_region_add(wv.vm, VM_MEM_SRC_ANONYMOUS, ONE_GPA, ONE_SLOT, 1, 0);
	w.slot = ONE_SLOT;
	w.gpa = ONE_GPA;
	w.view = 1;
	expect_errno(set_window_raw(wv.vm, &w), EBUSY, "view serving a window");
	w.view = 3;
	expect_errno(set_window_raw(wv.vm, &w), EBUSY, "view with access ranges");
	va.access = KVX_VIEW_ACCESS_INHERIT;
	vm_ioctl(wv.vm, KVX_SET_VIEW_ACCESS, &va);
	if (use_vmfunc) {
		/* Six read ranges: more than view 3's check slot holds. */
		struct kvx_window big = w;
		unsigned int i;

		big.nr_ranges = 6;
		for (i = 0; i < 6; i++)
			big.ranges[i] = (struct kvx_window_range) {
				.offset = i * 0x10, .size = 8,
				.access = KVX_WINDOW_READ,
			};
		expect_errno(set_window_raw(wv.vm, &big), ENOSPC,
			     "six read ranges (VMFUNC check slot)");
	}
	/* Nothing of the refused one stayed: the same id and view work. */
	TEST_ASSERT(!set_window_raw(wv.vm, &w), "third window: errno %d", errno);
	TEST_ASSERT(!remove_window_raw(wv.vm, 5), "remove the third: errno %d", errno);
	set_slot_views(wv.vm, BIG_SLOT, 0);
	vm_userspace_mem_region_add(wv.vm, VM_MEM_SRC_ANONYMOUS, BIG_GPA, BIG_SLOT, 2, 0);
	w.slot = BIG_SLOT;
	w.gpa = BIG_GPA;
	expect_errno(set_window_raw(wv.vm, &w), EBUSY, "two-page slot");
	w.gpa = BIG_GPA + 4096;
	expect_errno(set_window_raw(wv.vm, &w), EINVAL, "GPA not the slot's base");
	w.slot = 30;
	expect_errno(set_window_raw(wv.vm, &w), ENOENT, "no such slot");
	w.slot = 0;
	w.gpa = 0;
	expect_errno(set_window_raw(wv.vm, &w), EBUSY, "slot visible in views");
	expect_errno(remove_window_raw(wv.vm, 7), ENOENT, "remove a free id");
	expect_errno(remove_window_raw(wv.vm, 15), EINVAL, "remove id 15");
	expect_done(&wv);
	kvm_vm_free(wv.vm);
	ksft_test_result_pass("guards: window views, slots, ids are KVM's (EBUSY/EEXIST/ENOENT)\n");
}

/* One field of a valid argument broken: each must give EINVAL. */
static void mutate(struct kvx_window *w, unsigned int k)
{
	switch (k % 12) {
	case 0:
		w->id = KVX_WINDOW_MAX_IDS + random() % 1000;
		break;
	case 1:
		w->view = random() % 2 ? 0 : NR_VIEWS + random() % 100;
		break;
	case 2:
		w->gpa |= 1 + random() % 4095;
		break;
	case 3:
		w->nr_ranges = random() % 2 ? 0 : KVX_WINDOW_MAX_RANGES + 1 + random() % 100;
		break;
	case 4:
		w->ranges[0].size = 0;
		break;
	case 5:
		w->ranges[0].offset = 4096 - random() % 8;
		w->ranges[0].size = 9;
		break;
	case 6:
		w->ranges[0].access = random() % 2 ? 0 : 4 << (random() % 28);
		break;
	case 7:
		w->flags = 2 << (random() % 30);
		break;
	case 8:
		w->reserved[random() % 4] = 1 + random();
		break;
	case 9:
		/* Two ranges sharing a byte. */
		w->nr_ranges = 2;
		w->ranges[1] = w->ranges[0];
		w->ranges[1].offset += w->ranges[0].size - 1;
		w->ranges[1].size = 1;
		break;
	case 10:
		w->slot = (2 + random() % 100) << 16 | (w->slot & 0xffff);
		break;
	default:
		w->slot = 32767 + random() % 1000;
		break;
	}
}

static void test_fuzz(void)
{
	struct kvx_window w, good;
	struct win_vm wv;
	int i, r;

	win_vm_create(&wv, guest_after_fuzz, 0);
	TEST_ASSERT(!remove_window_raw(wv.vm, 1), "remove 1");
	good = window_arg(1);
	for (i = 0; i < 10000; i++) {
		w = good;
		mutate(&w, i);
		r = set_window_raw(wv.vm, &w);
		TEST_ASSERT(r == -1 && errno == EINVAL,
			    "mutation %d (case %d): returned %d errno %d, expected EINVAL",
			    i, i % 12, r, errno);
	}
	/* Pure noise: whatever it is, an errno and no window. */
	for (i = 0; i < 10000; i++) {
		uint32_t *p = (uint32_t *)&w;
		unsigned int k;

		for (k = 0; k < sizeof(w) / 4; k++)
			p[k] = random();
		r = set_window_raw(wv.vm, &w);
		TEST_ASSERT(r == -1 && (errno == EINVAL || errno == ENOENT ||
					errno == EEXIST || errno == EBUSY),
			    "noise %d: returned %d errno %d", i, r, errno);
	}
	set_window(wv.vm, 1);
	expect_done(&wv);
	check_pages(&wv, "fuzz");
	kvm_vm_free(wv.vm);
	ksft_test_result_pass(MSG_FUZZ);
}

/* The trampoline's mapping goes with the VM. */
static int nr_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	TEST_ASSERT(f, "/proc/self/maps");
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void test_teardown(void)
{
	struct win_vm w;
	int before, after, i;

	win_vm_create(&w, guest_discover, 0);
	kvm_vm_free(w.vm);
	before = nr_maps();
	for (i = 0; i < 20; i++) {
		win_vm_create(&w, guest_discover, 0);
		expect_done(&w);
		kvm_vm_free(w.vm);
	}
	after = nr_maps();
	TEST_ASSERT(after <= before, "mappings %d -> %d after 20 VMs", before, after);
	ksft_test_result_pass("teardown: 20 VMs with windows, mappings %d -> %d\n",
			      before, after);
}

static void test_access_default(void)
{
	test_access(0);
}

/* VMFUNC hosts run the access test on the hypercall path too. */
static void test_access_hypercall(void)
{
	test_access(KVX_WINDOWS_HYPERCALL);
}

static void test_race_window(void)
{
	test_race(false);
}

static void test_race_memslot(void)
{
	test_race(true);
}

static const struct {
	const char *name;
	void (*run)(void);
	bool vmfunc_only;
} cases[] = {
	{ "caps", test_caps },
	{ "enable", test_enable },
	{ "discover", test_discover },
	{ "access", test_access_default },
	{ "access_hypercall", test_access_hypercall, true },
	{ "forbidden", test_forbidden },
	{ "exceptions", test_exceptions },
	{ "race_window", test_race_window },
	{ "race_memslot", test_race_memslot },
	{ "guards", test_guards },
	{ "fuzz", test_fuzz },
	{ "teardown", test_teardown },
};

static bool case_runs(int i, const char *only)
{
	return (!only || !strcmp(only, cases[i].name)) &&
	       (!cases[i].vmfunc_only || use_vmfunc);
}

/* kvx_subpage_test [CASE]: every case this host offers, or the one named. */
int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int i, n = 0;

	srandom(0x4b58);
	/* test_caps() asserts that this is what a VMX host has. */
	use_vmfunc = kvm_check_cap(KVX_CAP_VIEWS_VMFUNC) > 0;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		n += case_runs(i, only);
	ksft_print_header();
	if (!n)
		ksft_exit_fail_msg("no case %s on this host\n", only);
	ksft_set_plan(n);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (case_runs(i, only))
			cases[i].run();
	}
	ksft_finished();
}
