// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_window_test: a sub-page window over a kvx-mvf VF's mailbox page.
 *
 * The test is the VMM of a VF in DIRECT mode with KVM attached: it maps
 * the mailbox page (BAR0 page 1) from VFIO, makes that mapping a one-page
 * memslot hidden from every view and puts a window over it that allows
 * VFMBMEM (the message buffer, 0x40..0x7f) read and write and nothing else,
 * so that VFMAILBOX, the control register, is the register the guest must
 * not touch.  The guest fills VFMBMEM and reads it back through the
 * trampoline, is refused everywhere else (-EPERM, reads 0) and traps to
 * the VMM, which refuses, when it touches VFMAILBOX directly.  The host
 * checks through VFIO region reads and the PF's debugfs counters that
 * VFMBMEM holds the pattern and that the PF saw no request.
 *
 * The window has no KVX_WINDOW_F_VMFUNC_WRITES (VFMAILBOX's bits must not
 * be set by a page walk, subpage.rst 5.3): with VMFUNC (Bochs) reads cost
 * no exit and every write is one hypercall; without (QEMU) every access is
 * one hypercall.  The guest never waits for the PF, so it runs on both.
 *
 * Needs kvx-mvf, vfio_iommu_type1 and debugfs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvx.h>
#include <linux/kvx_mvf.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"
#include "mvf_util.h"
#include "kvx_subpage_guest.h"

#define NR_VIEWS	2
#define WIN_ID		0
#define WIN_VIEW	1
#define MBX_GPA		0xc0000000ULL	/* the guest's BAR0 + 0x1000 */
#define MBX_SLOT	10
#define TRAMP_GPA	0xc0010000ULL

#define MBX_CTRL_OFF	(KVX_MVF_REG_VFMAILBOX - KVX_MVF_MBX_PAGE)
#define MBX_MEM_OFF	(KVX_MVF_REG_VFMBMEM - KVX_MVF_MBX_PAGE)
#define MBX_MEM_SIZE	(KVX_MVF_MBX_WORDS * 4)
#define MBX_CTRL_GPA	(MBX_GPA + MBX_CTRL_OFF)
#define MBX_MEM_GPA(i)	(MBX_GPA + MBX_MEM_OFF + 4 * (i))
/* What a rogue guest would store into VFMAILBOX: post a request. */
#define ROGUE_CTRL	(KVX_MVF_MBX_REQ | KVX_MVF_MBX_VFU)
#define ROUNDS		64	/* of 16 writes, then of 16 reads */
#define ACCESSES	(ROUNDS * KVX_MVF_MBX_WORDS)
#define VMM_REFUSED	0xffffffffU	/* what the VMM reads back */

/* Result lines too long for one source line. */
#define MSG_SETUP \
	"window 0 over the VF's mailbox page (DIRECT, KVM attached): VFMBMEM RW, rest forbidden\n"
#define MSG_PHASE \
	"VFMBMEM %s (%s): %u 4-byte accesses, %lu exits (%lu irq, %lu pf, %lu trapped), %lu hypercalls\n"
#define MSG_FORBIDDEN \
	"trampoline: VFMAILBOX and the other 1008 dwords refused (-EPERM, reads 0), VFMBMEM served\n"
#define MSG_TRAP \
	"direct VFMAILBOX read and write: KVM_EXIT_MMIO at 0x%llx, refused by the VMM\n"
#define MSG_PF \
	"PF side: VFMAILBOX 0x%08x unchanged, no request or protocol error, page intact\n"

static const struct kvx_window_range win_ranges[] = {
	{ .offset = MBX_MEM_OFF, .size = MBX_MEM_SIZE,
	  .access = KVX_WINDOW_READ | KVX_WINDOW_WRITE },
};

enum {
	SYNC_WARM,
	SYNC_WRITTEN,
	SYNC_READ,
	SYNC_FORBIDDEN,
};

/* ---- guest side ---- */

static uint32_t pattern(uint32_t round, uint32_t i)
{
	return 0x4b4d0000 ^ round << 8 ^ i * 0x11;
}

static int g_read(uint64_t gpa, uint32_t *v)
{
	__u64 val = 0xdeadbeef;
	int r;

	r = kvx_window_read((void *)TRAMP_GPA, WIN_ID, (void *)gpa, 4, &val);
	*v = val;
	GUEST_ASSERT(!(val >> 32));
	return r;
}

static int g_write(uint64_t gpa, uint32_t v)
{
	return kvx_window_write((void *)TRAMP_GPA, WIN_ID, (void *)gpa, 4, v);
}

static bool allowed(uint32_t off)
{
	return off >= MBX_MEM_OFF && off < MBX_MEM_OFF + MBX_MEM_SIZE;
}

static void guest_code(void)
{
	uint32_t r, i, off, v;

	GUEST_ASSERT_EQ(kvx_subpage_guest_find(), TRAMP_GPA);
	GUEST_ASSERT(kvx_subpage_guest_valid((void *)TRAMP_GPA));
	/* Warm up: fault in what the window view needs. */
	GUEST_ASSERT_EQ(g_write(MBX_MEM_GPA(0), 0), 0);
	GUEST_ASSERT_EQ(g_read(MBX_MEM_GPA(0), &v), 0);
	GUEST_ASSERT_EQ(v, 0);
	GUEST_SYNC(SYNC_WARM);

	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
			GUEST_ASSERT_EQ(g_write(MBX_MEM_GPA(i), pattern(r, i)), 0);
	GUEST_SYNC(SYNC_WRITTEN);

	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < KVX_MVF_MBX_WORDS; i++) {
			GUEST_ASSERT_EQ(g_read(MBX_MEM_GPA(i), &v), 0);
			GUEST_ASSERT_EQ(v, pattern(ROUNDS - 1, i));
		}
	}
	GUEST_SYNC(SYNC_READ);

	/* VFMAILBOX first, then every other dword of the page. */
	GUEST_ASSERT_EQ(g_read(MBX_CTRL_GPA, &v), -EPERM);
	GUEST_ASSERT_EQ(v, 0);
	GUEST_ASSERT_EQ(g_write(MBX_CTRL_GPA, ROGUE_CTRL), -EPERM);
	for (off = 0; off < 4096; off += 4) {
		if (allowed(off)) {
			GUEST_ASSERT_EQ(g_read(MBX_GPA + off, &v), 0);
			GUEST_ASSERT_EQ(v, pattern(ROUNDS - 1, (off - MBX_MEM_OFF) / 4));
			continue;
		}
		GUEST_ASSERT_EQ(g_read(MBX_GPA + off, &v), -EPERM);
		GUEST_ASSERT_EQ(v, 0);
		GUEST_ASSERT_EQ(g_write(MBX_GPA + off, ROGUE_CTRL), -EPERM);
	}
	GUEST_SYNC(SYNC_FORBIDDEN);

	/* The page is absent from view 0: both trap to the VMM. */
	GUEST_ASSERT_EQ(READ_ONCE(*(uint32_t *)MBX_CTRL_GPA), VMM_REFUSED);
	WRITE_ONCE(*(uint32_t *)MBX_CTRL_GPA, ROGUE_CTRL);
	GUEST_DONE();
}

/* ---- host side: the VMM ---- */

static struct vf vf = MVF_VF_INIT;
static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static bool use_vmfunc;
static uint64_t mmio_exits, mmio_refused, mmio_last_gpa;

/* One 4-byte VFIO region access to BAR0 (mvf.rst: 4 bytes, aligned). */
static uint32_t bar0_read(uint32_t off)
{
	uint32_t v;

	TEST_ASSERT(mvf_region_read(&vf, vf.bar0_off + off, &v, 4) == 4,
		    "BAR0 read at 0x%x: %s", off, strerror(errno));
	return v;
}

static void bar0_write(uint32_t off, uint32_t v)
{
	TEST_ASSERT(mvf_region_write(&vf, vf.bar0_off + off, &v, 4) == 4,
		    "BAR0 write at 0x%x: %s", off, strerror(errno));
}

/*
 * A trapped access to the page, as a VMM that traps the whole page serves
 * it: VFMBMEM through VFIO region access, everything else refused.  With
 * VMFUNC a host interrupt inside the trampoline can bring one allowed
 * access here.
 */
static bool vmm_mmio(void)
{
	struct kvm_run *run = vcpu->run;
	uint64_t gpa = run->mmio.phys_addr;
	uint32_t off = gpa - MBX_GPA, v;

	if ((gpa & ~4095ULL) != MBX_GPA)
		return false;
	mmio_exits++;
	mmio_last_gpa = gpa;
	if (!allowed(off) || run->mmio.len != 4 || (off & 3)) {
		mmio_refused++;
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, run->mmio.len);
		return true;
	}
	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, 4);
		bar0_write(KVX_MVF_MBX_PAGE + off, v);
	} else {
		v = bar0_read(KVX_MVF_MBX_PAGE + off);
		memcpy(run->mmio.data, &v, 4);
	}
	return true;
}

static uint64_t run_sync(void)
{
	do {
		vcpu_run(vcpu);
	} while (vcpu->run->exit_reason == KVM_EXIT_MMIO && vmm_mmio());
	return kvx_ucall_value(vcpu);
}

static void expect_sync(uint64_t n)
{
	uint64_t got = run_sync();

	TEST_ASSERT(got == n, "expected GUEST_SYNC(%lu), got %ld", n, (long)got);
}

struct stats {
	uint64_t exits, irqs, hcs, mmio, pf;
};

static struct stats stats_now(void)
{
	return (struct stats){
		.exits = kvx_vcpu_stat(vcpu, "exits"),
		.irqs = kvx_vcpu_stat(vcpu, "irq_exits"),
		.hcs = kvx_vcpu_stat(vcpu, "kvx_window_hypercalls"),
		.mmio = mmio_exits,
		.pf = kvx_vcpu_stat(vcpu, "pf_taken"),
	};
}

static struct stats stats_since(struct stats s)
{
	struct stats n = stats_now();

	return (struct stats){
		.exits = n.exits - s.exits, .irqs = n.irqs - s.irqs,
		.hcs = n.hcs - s.hcs, .mmio = n.mmio - s.mmio, .pf = n.pf - s.pf,
	};
}

/* The VMM's CPUID leaves for discovery (kvx_subpage_guest.h). */
static void setup(void)
{
	struct kvm_enable_cap cap = {
		.cap = KVX_CAP_WINDOWS, .args = { TRAMP_GPA },
	};
	struct kvx_slot_views hide = { .slot = MBX_SLOT, .views = 0 };
	struct kvx_window w = {
		.id = WIN_ID, .slot = MBX_SLOT, .gpa = MBX_GPA, .view = WIN_VIEW,
		.nr_ranges = ARRAY_SIZE(win_ranges),
	};
	void *page;

	vf_create(&vf);
	vf_set_mode(&vf, "direct");

	vm = vm_create(1);
	vm_enable_cap(vm, KVX_CAP_VIEWS, NR_VIEWS);
	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	kvx_set_window_cpuid(vcpu, TRAMP_GPA);
	virt_map(vm, TRAMP_GPA, TRAMP_GPA, 1);

	/* The VMM's way: the group to the VM, then the device. */
	kvm_vfio_add_group(vm, &vf);
	vf_open(&vf);
	page = mvf_mmap_bar0(&vf, KVX_MVF_MBX_PAGE, getpagesize(), MAP_SHARED);
	TEST_ASSERT(page != MAP_FAILED, "mailbox mmap in DIRECT: %s",
		    strerror(errno));
	vf.mbx_page = page;

	/* Hidden from every view before the slot exists. */
	vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &hide);
	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, getpagesize(),
				  vf.mbx_page);
	virt_pg_map(vm, MBX_GPA, MBX_GPA);
	memcpy(w.ranges, win_ranges, sizeof(win_ranges));
	TEST_ASSERT(!__vm_ioctl(vm, KVX_SET_WINDOW, &w), "KVX_SET_WINDOW: %s",
		    strerror(errno));
	ksft_test_result_pass(MSG_SETUP);
}

/*
 * Budget: one exit for the GUEST_SYNC, plus at most a few first-touch
 * page faults.  With VMFUNC a host interrupt that lands inside the
 * trampoline moves the vCPU to view 0, where that one access traps to the
 * VMM: at most one per interrupt, and its exit is an EPT violation, so it
 * counts in pf_taken too.  Writes are one hypercall each on both paths
 * (no KVX_WINDOW_F_VMFUNC_WRITES), reads only without VMFUNC.
 */
static void check_phase(const char *what, bool write, struct stats s)
{
	uint64_t hcs = write || !use_vmfunc ? ACCESSES : 0;

	TEST_ASSERT(s.mmio <= s.pf && s.pf - s.mmio <= 4, "%s: %lu page faults",
		    what, s.pf);
	TEST_ASSERT(s.hcs == hcs && s.exits - s.irqs == 1 + hcs + s.pf &&
		    s.mmio <= (use_vmfunc ? s.irqs : 0), MSG_PHASE, what,
		    use_vmfunc ? "VMFUNC" : "hypercall", ACCESSES, s.exits,
		    s.irqs, s.pf, s.mmio, s.hcs);
	ksft_test_result_pass(MSG_PHASE, what, use_vmfunc ? "VMFUNC" : "hypercall",
			      ACCESSES, s.exits - 1, s.irqs, s.pf, s.mmio, s.hcs);
}

static void test_access(void)
{
	struct stats s;
	uint32_t i, v;

	expect_sync(SYNC_WARM);
	s = stats_now();
	expect_sync(SYNC_WRITTEN);
	s = stats_since(s);
	/* What the PF sees, through VFIO region reads. */
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++) {
		v = bar0_read(KVX_MVF_REG_VFMBMEM + 4 * i);
		TEST_ASSERT(v == pattern(ROUNDS - 1, i),
			    "VFMBMEM[%u] 0x%08x, the guest wrote 0x%08x", i, v,
			    pattern(ROUNDS - 1, i));
	}
	check_phase("writes", true, s);

	s = stats_now();
	expect_sync(SYNC_READ);
	check_phase("reads", false, stats_since(s));
}

static void test_forbidden(void)
{
	uint64_t trapped = mmio_exits;
	uint64_t irqs = kvx_vcpu_stat(vcpu, "irq_exits");

	expect_sync(SYNC_FORBIDDEN);
	irqs = kvx_vcpu_stat(vcpu, "irq_exits") - irqs;
	TEST_ASSERT(mmio_exits - trapped <= (use_vmfunc ? irqs : 0),
		    "%lu accesses trapped during the sweep (%lu irq exits)",
		    mmio_exits - trapped, irqs);
	TEST_ASSERT(mmio_refused == 0, "%lu refused traps", mmio_refused);
	ksft_test_result_pass(MSG_FORBIDDEN);
}

static void test_trap(void)
{
	uint64_t trapped = mmio_exits;

	TEST_ASSERT(run_sync() == KVX_GUEST_DONE, "expected GUEST_DONE");
	TEST_ASSERT(mmio_exits - trapped == 2 && mmio_refused == 2 &&
		    mmio_last_gpa == MBX_CTRL_GPA,
		    "direct accesses: %lu trapped, %lu refused, last at 0x%lx",
		    mmio_exits - trapped, mmio_refused, mmio_last_gpa);
	ksft_test_result_pass(MSG_TRAP, MBX_CTRL_GPA);
}

int main(void)
{
	static const char * const counters[] = {
		"requests", "protocol_errors", "nacks", "trapped_writes",
		"pf_msgs", "doorbells",
	};
	uint64_t before[ARRAY_SIZE(counters)];
	struct timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	uint8_t snap[4096], *page;
	uint32_t ctrl, v;
	struct stat st;
	unsigned int i;

	ksft_print_header();
	if (stat(MVF_TYPE_DIR, &st))
		ksft_exit_skip("%s missing: kvx-mvf not loaded\n", MVF_TYPE_DIR);
	TEST_REQUIRE(kvm_check_cap(KVX_CAP_WINDOWS));
	use_vmfunc = kvm_check_cap(KVX_CAP_VIEWS_VMFUNC);
	ksft_set_plan(6);

	setup();
	page = vf.mbx_page;
	ctrl = bar0_read(KVX_MVF_REG_VFMAILBOX);
	memcpy(snap, page, sizeof(snap));
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		before[i] = vf_count(&vf, counters[i]);

	test_access();
	test_forbidden();
	test_trap();

	/* A few of the PF poller's ticks: a REQ left anywhere is taken. */
	nanosleep(&ts, NULL);
	v = bar0_read(KVX_MVF_REG_VFMAILBOX);
	TEST_ASSERT(v == ctrl, "VFMAILBOX 0x%08x, was 0x%08x", v, ctrl);
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		TEST_ASSERT(vf_count(&vf, counters[i]) == before[i],
			    "PF counter %s: %lu, was %lu", counters[i],
			    (unsigned long)vf_count(&vf, counters[i]),
			    (unsigned long)before[i]);
	for (i = 0; i < sizeof(snap); i++)
		TEST_ASSERT(page[i] == snap[i] || allowed(i),
			    "mailbox page byte 0x%x: 0x%02x, was 0x%02x", i,
			    page[i], snap[i]);
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		TEST_ASSERT(bar0_read(KVX_MVF_REG_VFMBMEM + 4 * i) ==
			    pattern(ROUNDS - 1, i), "VFMBMEM[%u] changed", i);
	ksft_test_result_pass(MSG_PF, ctrl);

	vf_destroy(&vf);
	kvm_vm_free(vm);
	ksft_finished();
}
