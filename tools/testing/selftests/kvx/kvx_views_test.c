// SPDX-License-Identifier: GPL-2.0
/*
 * kvx views: alternate TDP views switched by the guest.
 *
 * On VMX hosts with VMFUNC (Bochs tigerlake) the guest switches with VMFUNC
 * and the switches must cost no exit; elsewhere (QEMU TCG, AMD) it switches
 * with the KVX_HC_VIEW_SWITCH hypercall and every switch is one exit.  The
 * same assertions run on both, with the exit budget of each path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvx.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"

#define NR_VIEWS	3
#define SWITCH_LOOPS	5000

/* Guest-physical layout, identity-mapped in the guest. */
#define DATA_SLOT	10
#define DATA_GPA	0x10000000ULL	/* 16 pages, all views */
#define DATA_PAGES	16
#define V1_SLOT		11
#define V1_GPA		0x10100000ULL	/* 1 page, view 1 only */
#define V2_SLOT		12
#define V2_GPA		0x10200000ULL	/* 1 page, view 2 only */
#define HUGE_SLOT	13
#define HUGE_GPA	0x20000000ULL	/* 2 MiB, THP-backed */
#define HUGE_PAGES	512
#define DIRTY_SLOT	14
#define DIRTY_GPA	0x30000000ULL
#define DIRTY_PAGES	64

#define MAGIC1		0x1111111111111111ULL
#define MAGIC2		0x2222222222222222ULL
#define MMIO_VALUE	0x5a5a5a5a5a5a5a5aULL

#define W_PAGE		(DATA_GPA + 0 * 4096)	/* read-only in view 1 */
#define X_PAGE		(DATA_GPA + 1 * 4096)	/* not executable in view 1 */
#define P_PAGE		(DATA_GPA + 2 * 4096)	/* probe, RWX everywhere */
#define INV_PAGE	(DATA_GPA + 3 * 4096)	/* invalidation test */

/* Result lines too long for one source line. */
#define KVX_VIEWS_TEST_MSG1 \
	"switch loop: %d switches, %lu exits (%lu irq), view data checked each time\n"
#define KVX_VIEWS_TEST_MSG2 \
	"restrictions: W and X denied in view 1 only, exit names GPA/access/view\n"
#define KVX_VIEWS_TEST_MSG3 \
	"huge page: one read-only 4K page inside 2M, its neighbours writable\n"
#define KVX_VIEWS_TEST_MSG4 \
	"dirty log: 3 rounds of writes made in view 1 all logged, nothing else\n"

static bool use_vmfunc;		/* host side: the VM switches by VMFUNC */
static uint32_t ring_bytes;	/* views_vm(): dirty ring size, 0 for none */
static bool guest_vmfunc;	/* the same, in the guest */
static int ud_count;		/* guest: #UDs taken */

/* ---- guest side ---- */

static void guest_ud_handler(struct ex_regs *regs)
{
	WRITE_ONCE(ud_count, ud_count + 1);
	regs->rip += 3;		/* VMFUNC, VMCALL and VMMCALL are 3 bytes */
}

static uint64_t raw_switch(bool vmfunc, uint32_t eax, uint32_t view)
{
	uint64_t r = 0;

	if (vmfunc)
		asm volatile(".byte 0x0f, 0x01, 0xd4"
			     :: "a"(eax), "c"(view) : "memory");
	else
		r = kvm_hypercall(KVX_HC_VIEW_SWITCH, 0, view, 0, 0);
	return r;
}

static void view_switch(uint32_t view)
{
	GUEST_ASSERT_EQ(raw_switch(guest_vmfunc, 0, view), 0);
}

static uint64_t rd(uint64_t gpa)
{
	return READ_ONCE(*(uint64_t *)gpa);
}

static void wr(uint64_t gpa, uint64_t val)
{
	WRITE_ONCE(*(uint64_t *)gpa, val);
}

/* Views 1 and 2, each reading its own page, then back to view 0. */
static void guest_visit_views(void)
{
	view_switch(1);
	GUEST_ASSERT_EQ(rd(V1_GPA), MAGIC1);
	view_switch(2);
	GUEST_ASSERT_EQ(rd(V2_GPA), MAGIC2);
	view_switch(0);
}

static void guest_switch_loop(void)
{
	int i;

	/* Warm up: load every view and fault its pages in. */
	guest_visit_views();
	GUEST_SYNC(0);

	for (i = 0; i < SWITCH_LOOPS; i++)
		guest_visit_views();
	GUEST_SYNC(1);

	/* View 0 does not have view 1's page: MMIO. */
	GUEST_ASSERT_EQ(rd(V1_GPA), MMIO_VALUE);
	GUEST_DONE();
}

static void guest_restrict(void)
{
	void (*fn)(void) = (void (*)(void))X_PAGE;

	wr(W_PAGE, 1);		/* view 0: writable */
	fn();			/* view 0: executable */
	view_switch(1);
	GUEST_ASSERT_EQ(rd(W_PAGE), 1);	/* view 1: readable */
	wr(P_PAGE, 2);		/* other pages unaffected */
	GUEST_SYNC(0);
	wr(W_PAGE, 3);		/* view 1: faults to the host */
	GUEST_SYNC(1);
	fn();			/* view 1: faults to the host */
	GUEST_SYNC(2);
	view_switch(0);
	GUEST_DONE();
}

static void guest_huge(void)
{
	int i;

	view_switch(1);
	for (i = 0; i < HUGE_PAGES; i++) {
		if (i == 7)
			continue;
		wr(HUGE_GPA + i * 4096ULL, i);
	}
	GUEST_SYNC(0);
	wr(HUGE_GPA + 7 * 4096ULL, 7);	/* read-only in view 1 */
	GUEST_DONE();
}

static void guest_invalidate(void)
{
	int v;

	for (v = 0; v < NR_VIEWS; v++) {
		view_switch(v);
		GUEST_ASSERT_EQ(rd(INV_PAGE), 0x1234);
	}
	view_switch(0);
	GUEST_SYNC(0);
	for (v = 0; v < NR_VIEWS; v++) {
		view_switch(v);
		GUEST_ASSERT_EQ(rd(INV_PAGE), 0x5678);
	}
	view_switch(0);
	GUEST_DONE();
}

static void guest_dirty(void)
{
	int round, i;

	view_switch(1);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < DIRTY_PAGES; i += 2)
			wr(DIRTY_GPA + i * 4096ULL, round);
		GUEST_SYNC(round);
	}
	view_switch(0);
	GUEST_DONE();
}

static void guest_ud(void)
{
	int expect = 0;

	/* An index past the views, past the list, beyond 511, a bad leaf. */
	raw_switch(guest_vmfunc, 0, NR_VIEWS);
	GUEST_ASSERT_EQ(READ_ONCE(ud_count), ++expect);
	raw_switch(guest_vmfunc, 0, 511);
	GUEST_ASSERT_EQ(READ_ONCE(ud_count), ++expect);
	raw_switch(guest_vmfunc, 0, 512);
	GUEST_ASSERT_EQ(READ_ONCE(ud_count), ++expect);
	if (guest_vmfunc) {
		raw_switch(true, 1, 1);
		GUEST_ASSERT_EQ(READ_ONCE(ud_count), ++expect);
	}
	/* Still in view 0, and switching still works. */
	view_switch(1);
	GUEST_ASSERT_EQ(rd(V1_GPA), MAGIC1);
	view_switch(0);
	GUEST_SYNC(0);
	/* The host hid view 2. */
	raw_switch(guest_vmfunc, 0, 2);
	GUEST_ASSERT_EQ(READ_ONCE(ud_count), ++expect);
	view_switch(1);
	view_switch(0);
	GUEST_SYNC(1);
	/* Visible again. */
	view_switch(2);
	GUEST_ASSERT_EQ(rd(V2_GPA), MAGIC2);
	view_switch(0);
	GUEST_DONE();
}

static void guest_state(void)
{
	view_switch(2);
	GUEST_SYNC(0);		/* host: GET says 2, then SET 1 */
	GUEST_ASSERT_EQ(rd(V1_GPA), MAGIC1);
	GUEST_SYNC(1);		/* host: SET 0 */
	GUEST_ASSERT_EQ(rd(V1_GPA), MMIO_VALUE);
	GUEST_DONE();
}

static void guest_pagetrack(void)
{
	view_switch(1);
	wr(W_PAGE, 7);		/* read-only in view 1 and write-tracked */
	GUEST_SYNC(0);
	view_switch(0);
	wr(W_PAGE, 8);		/* view 0: write-tracked, so emulated */
	GUEST_DONE();
}

static void guest_prefault(void)
{
	int v, i;

	for (v = 0; v < NR_VIEWS; v++) {
		view_switch(v);
		for (i = 0; i < DATA_PAGES; i++)
			rd(DATA_GPA + i * 4096ULL);
		if (v)
			GUEST_ASSERT_EQ(rd(v == 1 ? V1_GPA : V2_GPA),
					v == 1 ? MAGIC1 : MAGIC2);
	}
	view_switch(0);
	GUEST_DONE();
}

static void guest_probe(void)
{
	for (;;) {
		view_switch(1);
		wr(P_PAGE, rd(P_PAGE) + 1);
		GUEST_ASSERT_EQ(rd(V1_GPA), MAGIC1);
		view_switch(0);
		GUEST_SYNC(0);
	}
}

/* ---- host side ---- */

static void enable_views(struct kvm_vm *vm, int n)
{
	vm_enable_cap(vm, KVX_CAP_VIEWS, n);
}

static void set_access(struct kvm_vm *vm, int view, uint64_t gpa,
		       uint64_t npages, uint32_t access)
{
	struct kvx_view_access a = {
		.view = view, .access = access,
		.gfn = gpa >> 12, .npages = npages,
	};

	vm_ioctl(vm, KVX_SET_VIEW_ACCESS, &a);
}

static void set_slot_views(struct kvm_vm *vm, uint32_t slot, uint64_t views)
{
	struct kvx_slot_views s = { .slot = slot, .views = views };

	vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &s);
}

static void add_region(struct kvm_vm *vm, enum vm_mem_backing_src_type src,
		       uint64_t gpa, uint32_t slot, uint64_t npages,
		       uint32_t flags)
{
	vm_userspace_mem_region_add(vm, src, gpa, slot, npages, flags);
	virt_map(vm, gpa, gpa, npages);
}

/* A VM with NR_VIEWS views and the standard layout. */
static struct kvm_vm *views_vm(struct kvm_vcpu **vcpu, void *guest)
{
	struct kvm_vm *vm = vm_create(1);

	enable_views(vm, NR_VIEWS);
	/* Hidden from the start: view 0 never sees them. */
	set_slot_views(vm, V1_SLOT, 1 << 1);
	set_slot_views(vm, V2_SLOT, 1 << 2);
	if (ring_bytes)
		vm_enable_dirty_ring(vm, ring_bytes);
	*vcpu = vm_vcpu_add(vm, 0, guest);
	vm_install_exception_handler(vm, UD_VECTOR, guest_ud_handler);

	add_region(vm, VM_MEM_SRC_ANONYMOUS, DATA_GPA, DATA_SLOT, DATA_PAGES, 0);
	add_region(vm, VM_MEM_SRC_ANONYMOUS, V1_GPA, V1_SLOT, 1, 0);
	add_region(vm, VM_MEM_SRC_ANONYMOUS, V2_GPA, V2_SLOT, 1, 0);
	*(uint64_t *)addr_gpa2hva(vm, V1_GPA) = MAGIC1;
	*(uint64_t *)addr_gpa2hva(vm, V2_GPA) = MAGIC2;
	*(uint8_t *)addr_gpa2hva(vm, X_PAGE) = 0xc3;	/* ret */

	guest_vmfunc = use_vmfunc;
	sync_global_to_guest(vm, guest_vmfunc);
	return vm;
}

static void expect_sync(struct kvm_vcpu *vcpu, uint64_t n)
{
	uint64_t got = kvx_run_sync(vcpu);

	TEST_ASSERT(got == n, "expected GUEST_SYNC(%lu), got %ld", n, (long)got);
}

static void expect_done(struct kvm_vcpu *vcpu)
{
	TEST_ASSERT(kvx_run_sync(vcpu) == KVX_GUEST_DONE, "expected GUEST_DONE");
}

/* Run into an MMIO read of @gpa and answer it with MMIO_VALUE. */
static void expect_mmio_read(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	TEST_ASSERT(run->exit_reason == KVM_EXIT_MMIO,
		    "expected KVM_EXIT_MMIO at 0x%lx, got %s", gpa,
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->mmio.phys_addr == gpa && !run->mmio.is_write &&
		    run->mmio.len == 8,
		    "MMIO exit at 0x%llx len %u write %u, expected read of 8 at 0x%lx",
		    run->mmio.phys_addr, run->mmio.len, run->mmio.is_write, gpa);
	memcpy(run->mmio.data, &(uint64_t){ MMIO_VALUE }, 8);
}

static void expect_view_fault(struct kvm_vcpu *vcpu, uint64_t gpa,
			      uint32_t access, uint16_t view, uint64_t flags)
{
	struct kvx_view_fault *f = kvx_run_view_fault(vcpu->run);
	int r = _vcpu_run(vcpu);

	TEST_ASSERT(r == -1 && errno == EFAULT,
		    "KVM_RUN returned %d (errno %d), expected EFAULT", r, errno);
	TEST_ASSERT(vcpu->run->exit_reason == KVX_EXIT_VIEW_FAULT,
		    "exit reason 0x%x, expected KVX_EXIT_VIEW_FAULT",
		    vcpu->run->exit_reason);
	TEST_ASSERT(f->gpa == gpa && f->access == access && f->view == view &&
		    f->flags == flags,
		    "fault gpa 0x%llx access %u view %u flags 0x%llx, expected 0x%lx %u %u 0x%lx",
		    f->gpa, f->access, f->view, f->flags, gpa, access, view, flags);
}

static void test_caps(void)
{
	int n = kvm_check_cap(KVX_CAP_VIEWS);
	int vmfunc = kvm_check_cap(KVX_CAP_VIEWS_VMFUNC);

	TEST_ASSERT(n == KVX_VIEWS_MAX, "KVX_CAP_VIEWS = %d, expected %d",
		    n, KVX_VIEWS_MAX);
	/* On a VMX testbed VMFUNC must be in use: never fall back silently. */
	TEST_ASSERT(vmfunc == kvx_host_is_vmx(),
		    "KVX_CAP_VIEWS_VMFUNC = %d on a %s host", vmfunc,
		    kvx_host_is_vmx() ? "VMX" : "non-VMX");
	use_vmfunc = vmfunc;
	ksft_test_result_pass("caps: %d views, switching by %s\n", n,
			      vmfunc ? "VMFUNC" : "hypercall");
}

static int enable_raw(struct kvm_vm *vm, uint64_t a0, uint64_t a1)
{
	struct kvm_enable_cap cap = {
		.cap = KVX_CAP_VIEWS, .args = { a0, a1 },
	};

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
}

static void test_enable(void)
{
	struct kvx_vcpu_view s = {};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create(1);
	int r;

	/* Views off: every views ioctl says so. */
	r = __vm_ioctl(vm, KVX_SET_VIEW_ACCESS, &(struct kvx_view_access){});
	TEST_ASSERT(r == -1 && errno == ENXIO, "SET_VIEW_ACCESS without views: %d/%d", r, errno);
	TEST_ASSERT(enable_raw(vm, 1, 0) == -1 && errno == EINVAL, "1 view accepted");
	TEST_ASSERT(enable_raw(vm, KVX_VIEWS_MAX + 1, 0) == -1 && errno == EINVAL,
		    "%d views accepted", KVX_VIEWS_MAX + 1);
	TEST_ASSERT(enable_raw(vm, 2, 1) == -1 && errno == EINVAL, "args[1] != 0 accepted");
	TEST_ASSERT(enable_raw(vm, 2, 0) == 0, "2 views refused: %d", errno);
	TEST_ASSERT(enable_raw(vm, 3, 0) == -1 && errno == EBUSY, "enabled twice");
	TEST_ASSERT(enable_raw(vm, 0, 0) == 0, "disable before vCPUs refused");
	TEST_ASSERT(enable_raw(vm, 3, 0) == 0, "re-enable refused");
	vcpu = vm_vcpu_add(vm, 0, guest_probe);
	TEST_ASSERT(enable_raw(vm, 0, 0) == -1 && errno == EBUSY,
		    "disabled with a vCPU");
	vcpu_ioctl(vcpu, KVX_GET_VCPU_VIEW, &s);
	TEST_ASSERT(s.view == 0, "new vCPU in view %u", s.view);
	s.view = 3;
	r = __vcpu_ioctl(vcpu, KVX_SET_VCPU_VIEW, &s);
	TEST_ASSERT(r == -1 && errno == EINVAL, "view 3 of 3 accepted");
	kvm_vm_free(vm);
	ksft_test_result_pass("enable: bad counts/args EINVAL, twice or with vCPUs EBUSY\n");
}

static void test_switch_loop(void)
{
	uint64_t exits, irqs, hcs, vmfx, sw;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_switch_loop);

	expect_sync(vcpu, 0);
	exits = kvx_vcpu_stat(vcpu, "exits");
	irqs = kvx_vcpu_stat(vcpu, "irq_exits");
	hcs = kvx_vcpu_stat(vcpu, "kvx_view_hypercalls");
	vmfx = kvx_vcpu_stat(vcpu, "kvx_vmfunc_exits");
	sw = kvx_vcpu_stat(vcpu, "kvx_view_switches");
	expect_sync(vcpu, 1);
	exits = kvx_vcpu_stat(vcpu, "exits") - exits;
	irqs = kvx_vcpu_stat(vcpu, "irq_exits") - irqs;
	hcs = kvx_vcpu_stat(vcpu, "kvx_view_hypercalls") - hcs;
	vmfx = kvx_vcpu_stat(vcpu, "kvx_vmfunc_exits") - vmfx;
	sw = kvx_vcpu_stat(vcpu, "kvx_view_switches") - sw;

	if (use_vmfunc) {
		/* One exit: the GUEST_SYNC; host interrupts aside. */
		TEST_ASSERT(exits - irqs == 1 && hcs == 0 && vmfx == 0,
			    "%d VMFUNC switches: %lu exits (%lu irq), %lu hypercalls, %lu VMFUNC exits",
			    3 * SWITCH_LOOPS, exits, irqs, hcs, vmfx);
		/* KVM saw at most one switch per exit, and no more. */
		TEST_ASSERT(sw <= exits, "%lu switches seen in %lu exits", sw, exits);
	} else {
		TEST_ASSERT(hcs == 3 * SWITCH_LOOPS && sw == 3 * SWITCH_LOOPS &&
			    exits - irqs == 3 * SWITCH_LOOPS + 1,
			    "%d hypercall switches: %lu hypercalls, %lu switches, %lu exits (%lu irq)",
			    3 * SWITCH_LOOPS, hcs, sw, exits, irqs);
	}
	expect_mmio_read(vcpu, V1_GPA);
	expect_done(vcpu);
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_VIEWS_TEST_MSG1,
			      3 * SWITCH_LOOPS, exits, irqs);
}

static void test_restrict(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_restrict);
	uint64_t *w = addr_gpa2hva(vm, W_PAGE);

	set_access(vm, 1, W_PAGE, 1, KVX_VIEW_ACCESS_READ | KVX_VIEW_ACCESS_EXEC);
	set_access(vm, 1, X_PAGE, 1, KVX_VIEW_ACCESS_READ | KVX_VIEW_ACCESS_WRITE);

	expect_sync(vcpu, 0);
	TEST_ASSERT(*w == 1, "view 0 write lost: %lu", *w);
	expect_view_fault(vcpu, W_PAGE, KVX_VIEW_ACCESS_WRITE, 1, 0);
	TEST_ASSERT(kvx_run_view_fault(vcpu->run)->allowed ==
		    (KVX_VIEW_ACCESS_READ | KVX_VIEW_ACCESS_EXEC),
		    "allowed = %u", kvx_run_view_fault(vcpu->run)->allowed);
	TEST_ASSERT(*w == 1, "denied write reached memory: %lu", *w);
	/* The VMM decides: it lets the write through. */
	set_access(vm, 1, W_PAGE, 1, KVX_VIEW_ACCESS_INHERIT);
	expect_sync(vcpu, 1);
	TEST_ASSERT(*w == 3, "allowed write missing: %lu", *w);

	expect_view_fault(vcpu, X_PAGE, KVX_VIEW_ACCESS_EXEC, 1, 0);
	set_access(vm, 1, X_PAGE, 1, KVX_VIEW_ACCESS_RWX);
	expect_sync(vcpu, 2);
	expect_done(vcpu);
	TEST_ASSERT(kvx_vcpu_stat(vcpu, "kvx_view_faults") == 2,
		    "kvx_view_faults = %lu", kvx_vcpu_stat(vcpu, "kvx_view_faults"));
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_VIEWS_TEST_MSG2);
}

static void test_huge(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_huge);
	uint64_t *p;
	int i;

	add_region(vm, VM_MEM_SRC_ANONYMOUS_THP, HUGE_GPA, HUGE_SLOT, HUGE_PAGES, 0);
	set_access(vm, 1, HUGE_GPA + 7 * 4096, 1, KVX_VIEW_ACCESS_READ);
	expect_sync(vcpu, 0);
	for (i = 0; i < HUGE_PAGES; i++) {
		p = addr_gpa2hva(vm, HUGE_GPA + i * 4096ULL);
		TEST_ASSERT(*p == (i == 7 ? 0 : i), "page %d holds %lu", i, *p);
	}
	expect_view_fault(vcpu, HUGE_GPA + 7 * 4096, KVX_VIEW_ACCESS_WRITE, 1, 0);
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_VIEWS_TEST_MSG3);
}

static void test_invalidate(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_invalidate);
	uint64_t *p = addr_gpa2hva(vm, INV_PAGE);

	*p = 0x1234;
	expect_sync(vcpu, 0);
	/* New backing page: every view must drop the old one. */
	TEST_ASSERT(!madvise((void *)((uintptr_t)p & ~4095UL), 4096, MADV_DONTNEED),
		    "madvise: %d", errno);
	*p = 0x5678;
	expect_done(vcpu);
	kvm_vm_free(vm);
	ksft_test_result_pass("invalidation: MADV_DONTNEED reaches views 0, 1 and 2\n");
}

static void test_dirty(void)
{
	unsigned long bitmap[DIRTY_PAGES / 64];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_dirty);
	int round, i;

	add_region(vm, VM_MEM_SRC_ANONYMOUS, DIRTY_GPA, DIRTY_SLOT, DIRTY_PAGES,
		   KVM_MEM_LOG_DIRTY_PAGES);
	kvm_vm_get_dirty_log(vm, DIRTY_SLOT, bitmap);	/* clear */
	for (round = 0; round < 3; round++) {
		expect_sync(vcpu, round);
		kvm_vm_get_dirty_log(vm, DIRTY_SLOT, bitmap);
		for (i = 0; i < DIRTY_PAGES; i++) {
			bool dirty = bitmap[i / 64] & (1UL << (i % 64));

			TEST_ASSERT(dirty == !(i & 1),
				    "round %d: page %d %s in the dirty log",
				    round, i, dirty ? "wrongly" : "missing");
		}
	}
	expect_done(vcpu);
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_VIEWS_TEST_MSG4);
}

/* The same writes, collected from the vCPU's dirty ring. */
static void test_dirty_ring(void)
{
	struct kvm_dirty_gfn *ring;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t fetch = 0, n = 65536 / sizeof(*ring);
	bool seen[DIRTY_PAGES];
	int round, i;

	ring_bytes = 65536;
	vm = views_vm(&vcpu, guest_dirty);
	ring_bytes = 0;
	add_region(vm, VM_MEM_SRC_ANONYMOUS, DIRTY_GPA, DIRTY_SLOT, DIRTY_PAGES,
		   KVM_MEM_LOG_DIRTY_PAGES);
	ring = vcpu_map_dirty_ring(vcpu);
	for (round = 0; round < 3; round++) {
		expect_sync(vcpu, round);
		memset(seen, 0, sizeof(seen));
		for (;;) {
			struct kvm_dirty_gfn *e = &ring[fetch % n];

			if (__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) !=
			    KVM_DIRTY_GFN_F_DIRTY)
				break;
			if (e->slot == DIRTY_SLOT && e->offset < DIRTY_PAGES)
				seen[e->offset] = true;
			__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
					 __ATOMIC_RELEASE);
			fetch++;
		}
		kvm_vm_reset_dirty_ring(vm);
		for (i = 0; i < DIRTY_PAGES; i++)
			TEST_ASSERT(seen[i] == !(i & 1), "ring round %d: page %d %s",
				    round, i, seen[i] ? "wrongly in the ring" : "missing");
	}
	expect_done(vcpu);
	kvm_vm_free(vm);
	ksft_test_result_pass("dirty ring: 3 rounds of writes made in view 1 all in the ring\n");
}

static void set_visible(struct kvm_vm *vm, uint64_t mask)
{
	struct kvx_view_visibility s = { .visible = mask };

	vm_ioctl(vm, KVX_SET_VIEW_VISIBILITY, &s);
}

static void test_ud(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_ud);
	struct kvx_view_visibility bad = { .visible = 0x6 };

	expect_sync(vcpu, 0);
	TEST_ASSERT(__vm_ioctl(vm, KVX_SET_VIEW_VISIBILITY, &bad) == -1 &&
		    errno == EINVAL, "view 0 hidden");
	bad.visible = 0xf;
	TEST_ASSERT(__vm_ioctl(vm, KVX_SET_VIEW_VISIBILITY, &bad) == -1 &&
		    errno == EINVAL, "view 3 of 3 made visible");
	set_visible(vm, 0x3);
	expect_sync(vcpu, 1);
	set_visible(vm, 0x7);
	expect_done(vcpu);
	kvm_vm_free(vm);
	ksft_test_result_pass("#UD: bad index, leaf and hidden view refused, VM keeps running\n");
}

static void test_state(void)
{
	struct kvx_vcpu_view s = {};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_state);

	expect_sync(vcpu, 0);
	vcpu_ioctl(vcpu, KVX_GET_VCPU_VIEW, &s);
	TEST_ASSERT(s.view == 2, "GET_VCPU_VIEW = %u, guest is in 2", s.view);
	s.view = 1;
	vcpu_ioctl(vcpu, KVX_SET_VCPU_VIEW, &s);
	expect_sync(vcpu, 1);
	s.view = 0;
	vcpu_ioctl(vcpu, KVX_SET_VCPU_VIEW, &s);
	expect_mmio_read(vcpu, V1_GPA);
	expect_done(vcpu);
	kvm_vm_free(vm);
	ksft_test_result_pass("vCPU state: GET follows the guest, SET moves it\n");
}

/*
 * A page both write-tracked (page-track, here through write tracing's TRAP
 * mode) and read-only in a view: KVM would emulate a tracked write; the view
 * must win and exit instead.
 */
static void test_pagetrack(void)
{
	struct kvx_wtrace_range r = { .gfn = W_PAGE >> 12, .npages = 1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_pagetrack);
	uint64_t *w = addr_gpa2hva(vm, W_PAGE), emul;

	vm_enable_cap(vm, KVX_CAP_WRITE_TRACE, KVX_WTRACE_TRAP);
	vm_ioctl(vm, KVX_WTRACE_SET_RANGE, &r);
	set_access(vm, 1, W_PAGE, 1, KVX_VIEW_ACCESS_READ | KVX_VIEW_ACCESS_EXEC);
	expect_view_fault(vcpu, W_PAGE, KVX_VIEW_ACCESS_WRITE, 1, 0);
	TEST_ASSERT(*w == 0, "denied write to a tracked page reached memory: %lu", *w);
	set_access(vm, 1, W_PAGE, 1, KVX_VIEW_ACCESS_INHERIT);
	expect_sync(vcpu, 0);
	TEST_ASSERT(*w == 7, "allowed write missing: %lu", *w);
	emul = kvx_vcpu_stat(vcpu, "insn_emulation");
	expect_done(vcpu);
	TEST_ASSERT(*w == 8 && kvx_vcpu_stat(vcpu, "insn_emulation") > emul,
		    "view 0 write to the tracked page: %lu, not emulated", *w);
	kvm_vm_free(vm);
	ksft_test_result_pass("page-track: a tracked write the view denies exits, unemulated\n");
}

/* Random bits in one field of a valid argument: rejected, nothing changes. */
static void test_fuzz(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = views_vm(&vcpu, guest_probe);
	uint64_t before, *probe = addr_gpa2hva(vm, P_PAGE);
	int i, r, rejected = 0;

	srandom(0x6b7678);
	expect_sync(vcpu, 0);
	for (i = 0; i < 3000; i++) {
		struct kvx_view_access a = {
			.view = 1, .access = KVX_VIEW_ACCESS_READ,
			.gfn = P_PAGE >> 12, .npages = 1,
		};
		struct kvx_slot_views sv = { .slot = V1_SLOT, .views = 1 << 1 };
		struct kvx_vcpu_view cv = { .view = 1 };
		uint64_t rnd = (uint64_t)random() << 33 ^ random();

		switch (i % 9) {
		case 0:
			a.view = NR_VIEWS + rnd % 60000;
			break;
		case 1:
			a.access = (rnd | 8) & ~(1U << 31);
			break;
		case 2:
			a.npages = 0;
			a.gfn = rnd;
			break;
		case 3:
			kvx_fuzz_gfn_range(&a.gfn, &a.npages, rnd, 4096, 8192);
			break;
		case 4:
			a.flags = rnd | 1;
			break;
		case 5:
			a.reserved[rnd % 4] = rnd | 1;
			break;
		case 6:
			sv.views = (rnd | 8) & ~(1ULL << 63);
			break;
		case 7:
			sv.slot = (2 + rnd % 100) << 16 | (uint16_t)rnd;
			break;
		case 8:
			cv.view = NR_VIEWS + rnd % 60000;
			break;
		}
		if (i % 9 < 6)
			r = __vm_ioctl(vm, KVX_SET_VIEW_ACCESS, &a);
		else if (i % 9 < 8)
			r = __vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &sv);
		else
			r = __vcpu_ioctl(vcpu, KVX_SET_VCPU_VIEW, &cv);
		TEST_ASSERT(r == -1 && errno == EINVAL,
			    "fuzz case %d (%d): returned %d errno %d", i % 9, i, r, errno);
		rejected++;
	}
	/* Nothing changed: the probe page is still writable in view 1, view 1's
	 * page still only in view 1, and the vCPU still in view 0.
	 */
	before = *probe;
	expect_sync(vcpu, 0);
	TEST_ASSERT(*probe == before + 1, "probe write in view 1 lost");
	kvm_vm_free(vm);
	ksft_test_result_pass("fuzz: %d bad arguments rejected with EINVAL, state unchanged\n",
			      rejected);
}

/* KVM_PRE_FAULT_MEMORY of [gpa, gpa + size) in the vCPU's current view. */
static void prefault(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t size)
{
	struct kvm_pre_fault_memory r = { .gpa = gpa, .size = size };
	int ret;

	do {
		ret = __vcpu_ioctl(vcpu, KVM_PRE_FAULT_MEMORY, &r);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	TEST_ASSERT(!ret && !r.size, "KVM_PRE_FAULT_MEMORY 0x%lx+0x%lx: %d errno %d, 0x%llx left",
		    gpa, size, ret, errno, r.size);
}

static void host_touch(void *p, uint64_t size)
{
	uint8_t *b = p;
	uint64_t i;

	for (i = 0; i < size; i += 4096)
		WRITE_ONCE(b[i], READ_ONCE(b[i]));
}

/* Page faults a run of guest_prefault() takes, with or without pre-faulting. */
static uint64_t prefault_run(bool pre)
{
	struct userspace_mem_region *r0;
	struct kvx_vcpu_view s = {};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t pf;
	int v;

	vm = views_vm(&vcpu, guest_prefault);
	r0 = memslot2region(vm, 0);
	/*
	 * Make every host page present and writable first: a pre-fault is a
	 * read, and a page never written would be mapped read-only (the zero
	 * page) and fault again at the guest's first write.
	 */
	host_touch(r0->host_mem, r0->region.memory_size);
	host_touch(addr_gpa2hva(vm, DATA_GPA), DATA_PAGES * 4096ULL);
	for (v = 0; pre && v < NR_VIEWS; v++) {
		s.view = v;
		vcpu_ioctl(vcpu, KVX_SET_VCPU_VIEW, &s);
		prefault(vcpu, r0->region.guest_phys_addr, r0->region.memory_size);
		prefault(vcpu, DATA_GPA, DATA_PAGES * 4096ULL);
		if (v)
			prefault(vcpu, v == 1 ? V1_GPA : V2_GPA, 4096);
	}
	s.view = 0;
	vcpu_ioctl(vcpu, KVX_SET_VCPU_VIEW, &s);
	pf = kvx_vcpu_stat(vcpu, "pf_taken");
	expect_done(vcpu);
	pf = kvx_vcpu_stat(vcpu, "pf_taken") - pf;
	kvm_vm_free(vm);
	return pf;
}

/*
 * KVM_PRE_FAULT_MEMORY maps into the vCPU's current view, so a VMM that
 * wants every view populated moves the vCPU through them.  Without it the
 * guest takes at least one fault per data page per view; with it, at most
 * one per view: the fetch that splits the read-only huge mapping of its
 * code when KVM's NX huge page mitigation is on (pre-faults are reads).
 */
static void test_prefault(void)
{
	uint64_t cold, warm;

	TEST_ASSERT(kvm_check_cap(KVM_CAP_PRE_FAULT_MEMORY), "no KVM_PRE_FAULT_MEMORY");
	cold = prefault_run(false);
	warm = prefault_run(true);
	TEST_ASSERT(cold >= NR_VIEWS * DATA_PAGES && warm <= NR_VIEWS,
		    "page faults: %lu without pre-faulting, %lu after pre-faulting every view",
		    cold, warm);
	ksft_test_result_pass("pre-fault: KVM_PRE_FAULT_MEMORY per view: %lu faults, %lu without\n",
			      warm, cold);
}

static long slab_objs(const char *name)
{
	char line[512], n[64];
	long active = -1, v;
	FILE *f = fopen("/proc/slabinfo", "r");

	TEST_ASSERT(f, "/proc/slabinfo: %d", errno);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld", n, &v) == 2 && !strcmp(n, name))
			active = v;
	}
	fclose(f);
	return active;
}

/*
 * Shrink a slab cache: SLUB frees its empty slabs and per-CPU partials, and
 * a KASAN kernel first empties the cache's quarantine, which otherwise keeps
 * freed objects counted as active (kmem_cache_shrink(): kasan_cache_shrink()).
 * Without SLUB's sysfs there is nothing to shrink: the count is taken as is.
 */
static void slab_shrink(const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	f = fopen(path, "w");
	if (!f)
		return;
	fputs("1", f);
	fclose(f);
}

/* kvm_mmu_page_header objects in use after @n VMs with views populated. */
static long views_vms(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct kvm_vcpu *vcpu;
		struct kvm_vm *vm = views_vm(&vcpu, guest_probe);

		expect_sync(vcpu, 0);
		kvm_vm_free(vm);
	}
	/* Roots and tables are freed after an RCU grace period. */
	sleep(2);
	slab_shrink("kvm_mmu_page_header");
	return slab_objs("kvm_mmu_page_header");
}

/*
 * 20 VMs x 3 views x >= 4 tables each would leak >= 240 headers.  The count
 * also moves by whole slabs of 22 objects with the slab's per-CPU caches
 * (seen 44 -> 88 on QEMU), so the leak check is on the second batch of 20
 * VMs, after the first one has warmed those caches up, and allows 3 slabs.
 */
static void test_teardown(void)
{
	long before, warm, after;

	slab_shrink("kvm_mmu_page_header");
	before = slab_objs("kvm_mmu_page_header");
	TEST_ASSERT(before >= 0, "no kvm_mmu_page_header slab");
	warm = views_vms(20);
	after = views_vms(20);
	TEST_ASSERT(warm <= before + 120 && after <= warm + 66,
		    "kvm_mmu_page_header: %ld before, %ld after 20 VMs, %ld after 40",
		    before, warm, after);
	ksft_test_result_pass("teardown: 2 x 20 VMs with views, page headers %ld -> %ld -> %ld\n",
			      before, warm, after);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(14);
	test_caps();
	test_enable();
	test_switch_loop();
	test_restrict();
	test_huge();
	test_invalidate();
	test_dirty();
	test_dirty_ring();
	test_ud();
	test_state();
	test_pagetrack();
	test_prefault();
	test_fuzz();
	test_teardown();
	ksft_finished();
}
