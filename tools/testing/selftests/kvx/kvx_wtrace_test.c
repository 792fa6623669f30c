// SPDX-License-Identifier: GPL-2.0
/*
 * kvx write tracing: the traced pages the guest wrote, harvested at
 * coherency points, without an exit per write.
 *
 * Every mode the host offers runs: PML (Bochs tigerlake: no exit per
 * write) and write protection (everywhere: one exit per page per epoch).
 * The guests write pseudo-random values at pseudo-random places; the host
 * replays the same generator, so it knows exactly which pages each round
 * wrote and checks that a harvest reports those and nothing else.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/kvx.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"

#define TABLE_SLOT	10
#define TABLE_GPA	0x10000000ULL
#define TABLE_PAGES	64		/* the guest's "page table" */
#define ENTRIES		(TABLE_PAGES * 512)
#define NR_VCPUS	2
#define WRITES		24		/* per vCPU per round */
#define HUGE_SLOT	11
#define HUGE_GPA	0x20000000ULL
#define HUGE_PAGES	512
#define EXIT_WRITES	10000
#define BIG_SLOT	12
#define BIG_GPA		0x30000000ULL
#define BIG_PAGES	2048		/* traced, 4 PML buffers */
#define BIG_SPAN	2000		/* the guest writes 3 of 4 of these */
#define BIG_WRITTEN	(BIG_SPAN / 4 * 3)
#define PML_ENTRIES	512
#define EXIT_SLACK	2
#define PASSES		3		/* per round of the concurrent case */
#define HARVESTERS	2
#define VIEW_ROUNDS	6

/* Result lines too long for one source line. */
#define KVX_WTRACE_TEST_MSG1 \
	"%s: %d writes to %lu traced pages: %lu exits (%lu irq), %lu emulated per epoch\n"
#define KVX_WTRACE_TEST_MSG2 \
	"%s: 4K traces inside THP memory, range removal, slot delete/re-add\n"
#define KVX_WTRACE_TEST_MSG3 \
	"%s: overflow reports the rest next time; %d bad arguments rejected, traces unchanged\n"
#define KVX_WTRACE_TEST_MSG4 \
	"%s: %d of %d traced pages written, 1 harvest exact: %lu exits (%lu irq)\n"
#define KVX_WTRACE_TEST_MSG5 \
	"%s: %d rounds, %d threads: %lu harvests, %lu GFNs; final %lu; %d/%d overlap\n"
#define KVX_WTRACE_TEST_MSG6 \
	"%s: views on, %d rounds in views 1 and 0 (%s): harvests exact, %lu exits\n"

static uint32_t mode;		/* KVX_WTRACE_* under test */
static bool verbose;
/*
 * Rounds of the shadow test: 2000 on QEMU; Bochs runs far slower, and
 * slower again with PML on, so it does fewer (all paths still covered).
 */
static int rounds;
static int conc_rounds;		/* of the concurrent-harvests case */

/* ---- the generator, shared by guest and host ---- */

static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Entry index and value of write @i of a round, for @vcpu. */
static void gen_write(uint64_t *state, int vcpu, uint64_t *index,
		      uint64_t *value)
{
	uint64_t r = next_rand(state);

	/* Each vCPU owns half of the table. */
	*index = vcpu * (ENTRIES / NR_VCPUS) + r % (ENTRIES / NR_VCPUS);
	*value = next_rand(state);
}

/* ---- guest ---- */

static void guest_table(int vcpu)
{
	uint64_t *table = (uint64_t *)TABLE_GPA;
	uint64_t state = 0x9e3779b97f4a7c15ULL * (vcpu + 1);
	uint64_t index, value;
	int round, i;

	for (round = 0; round < rounds; round++) {
		for (i = 0; i < WRITES; i++) {
			gen_write(&state, vcpu, &index, &value);
			table[index] = value;
		}
		GUEST_SYNC(round);	/* coherency point */
	}
	GUEST_DONE();
}

static void guest_exits(uint64_t pages)
{
	uint64_t *table = (uint64_t *)TABLE_GPA;
	int epoch, i;

	for (epoch = 0; epoch < 3; epoch++) {
		for (i = 0; i < EXIT_WRITES; i++)
			WRITE_ONCE(table[(i % pages) * 512 + i % 512], i);
		GUEST_SYNC(epoch);
	}
	GUEST_DONE();
}

static void guest_pages(uint64_t base, uint64_t npages, uint64_t stride)
{
	uint64_t i;

	for (;;) {
		for (i = 0; i < npages; i += stride)
			WRITE_ONCE(*(uint64_t *)(base + i * 4096),
				   READ_ONCE(*(uint64_t *)(base + i * 4096)) + 1);
		GUEST_SYNC(0);
	}
}

/* PML full: every page of BIG_SPAN but one in four, twice each. */
static bool big_written(uint64_t p)
{
	return p < BIG_SPAN && p % 4 != 3;
}

static void guest_big(void)
{
	uint64_t p;
	int epoch;

	for (epoch = 0; epoch < 3; epoch++) {
		/* Offset 0 first: Bochs logs unaligned GPAs (vmtest). */
		for (p = 0; p < BIG_PAGES; p++)
			if (big_written(p))
				WRITE_ONCE(*(uint64_t *)(BIG_GPA + p * 4096), epoch);
		for (p = 0; p < BIG_PAGES; p++)
			if (big_written(p))
				WRITE_ONCE(*(uint64_t *)(BIG_GPA + p * 4096 + 8), epoch);
		GUEST_SYNC(epoch);
	}
	GUEST_DONE();
}

/* The pages round @r of the concurrent and the views cases writes. */
static bool round_written(uint64_t p, int r)
{
	return (p * 7 + r) % 3 == 0;
}

/* Harvests each host thread completed: the guest waits for them. */
static uint64_t harvests_done[HARVESTERS] __aligned(64);	/* one page */
static int overlapped;		/* passes after which harvests ran */

static void guest_concurrent(void)
{
	uint64_t *table = (uint64_t *)TABLE_GPA;
	uint64_t p, start[HARVESTERS], spin;
	int round, pass, t;

	for (round = 0; round < conc_rounds; round++) {
		for (pass = 0; pass < PASSES; pass++) {
			for (p = 0; p < TABLE_PAGES; p++)
				if (round_written(p, round))
					WRITE_ONCE(table[p * 512], round << 8 | pass);
			/*
			 * Let both threads harvest between passes, so reports
			 * and re-arms interleave with the writes (bounded: on
			 * Bochs's one CPU the threads run when this is
			 * preempted). The last pass is left to the final
			 * harvest, or to threads that happen to run.
			 */
			if (pass == PASSES - 1)
				break;
			for (t = 0; t < HARVESTERS; t++)
				start[t] = READ_ONCE(harvests_done[t]);
			for (spin = 0; spin < 4000000; spin++) {
				for (t = 0; t < HARVESTERS; t++)
					if (READ_ONCE(harvests_done[t]) == start[t])
						break;
				if (t == HARVESTERS) {
					WRITE_ONCE(overlapped, overlapped + 1);
					break;
				}
				cpu_relax();
			}
		}
		GUEST_SYNC(round);
	}
	GUEST_DONE();
}

static bool guest_vmfunc;	/* the VM switches views by VMFUNC */

static void guest_view_switch(uint32_t view)
{
	if (guest_vmfunc)
		asm volatile(".byte 0x0f, 0x01, 0xd4"
			     :: "a"(0), "c"(view) : "memory");
	else
		GUEST_ASSERT_EQ(kvm_hypercall(KVX_HC_VIEW_SWITCH, 0, view, 0, 0), 0);
}

/* Round @r of the views case runs in this view. */
static uint32_t round_view(int r)
{
	return r == 3 ? 0 : 1;
}

static void guest_views(void)
{
	uint64_t *table = (uint64_t *)TABLE_GPA;
	uint64_t p;
	int round;

	for (round = 0; round < VIEW_ROUNDS; round++) {
		guest_view_switch(round_view(round));
		for (p = 0; p < TABLE_PAGES; p++)
			if (round_written(p, round))
				WRITE_ONCE(table[p * 512], round + 1);
		GUEST_SYNC(round);
	}
	guest_view_switch(0);
	GUEST_DONE();
}

/* ---- host ---- */

static void enable_trace(struct kvm_vm *vm, uint32_t m)
{
	vm_enable_cap(vm, KVX_CAP_WRITE_TRACE, m);
}

static int set_range(struct kvm_vm *vm, uint64_t gpa, uint64_t npages,
		     uint32_t flags)
{
	struct kvx_wtrace_range a = {
		.gfn = gpa >> 12, .npages = npages, .flags = flags,
	};

	return __vm_ioctl(vm, KVX_WTRACE_SET_RANGE, &a);
}

/* Harvest into @gfns (at most @max); returns the count, sets *overflow. */
static uint32_t harvest(struct kvm_vm *vm, uint64_t *gfns, uint32_t max,
			bool *overflow)
{
	struct kvx_wtrace_harvest h = {
		.gfns = (uintptr_t)gfns, .max = max,
	};

	vm_ioctl(vm, KVX_WTRACE_HARVEST, &h);
	if (overflow)
		*overflow = h.flags & KVX_WTRACE_OVERFLOW;
	else
		TEST_ASSERT(!(h.flags & KVX_WTRACE_OVERFLOW), "unexpected overflow");
	return h.count;
}

/* Harvest and turn the result into a bitmap of pages relative to @gpa. */
static void harvest_pages(struct kvm_vm *vm, uint64_t gpa, uint64_t npages,
			  bool *written)
{
	static uint64_t gfns[HUGE_PAGES];
	uint32_t n, i;

	memset(written, 0, npages);
	n = harvest(vm, gfns, HUGE_PAGES, NULL);
	for (i = 0; i < n; i++) {
		uint64_t rel = gfns[i] - (gpa >> 12);

		TEST_ASSERT(rel < npages, "harvest reported gfn 0x%lx outside the range",
			    gfns[i]);
		TEST_ASSERT(!written[rel], "gfn 0x%lx reported twice", gfns[i]);
		written[rel] = true;
	}
}

static const char *mode_name(uint32_t m)
{
	return m == KVX_WTRACE_PML ? "PML" :
	       m == KVX_WTRACE_WRPROT ? "write-protect" : "trap (page-track)";
}

static void test_caps(uint32_t *modes)
{
	int caps = kvm_check_cap(KVX_CAP_WRITE_TRACE);
	int want = 1 << KVX_WTRACE_WRPROT | 1 << KVX_WTRACE_TRAP;

	/* The VMX testbed has PML: it must be offered, never skipped. */
	if (kvx_host_is_vmx())
		want |= 1 << KVX_WTRACE_PML;
	TEST_ASSERT(caps == want, "KVX_CAP_WRITE_TRACE = 0x%x, expected 0x%x",
		    caps, want);
	*modes = caps;
	ksft_test_result_pass("caps: modes 0x%x (%s)\n", caps,
			      caps & (1 << KVX_WTRACE_PML) ? "PML, write-protect, trap" :
			      "write-protect, trap");
}

static void test_enable(void)
{
	struct kvm_enable_cap cap = { .cap = KVX_CAP_WRITE_TRACE };
	struct kvx_wtrace_harvest h = {};
	struct kvm_vm *vm = vm_create_barebones();
	int r;

	r = __vm_ioctl(vm, KVX_WTRACE_HARVEST, &h);
	TEST_ASSERT(r == -1 && errno == ENXIO, "harvest while off: %d/%d", r, errno);
	cap.args[0] = 4;
	TEST_ASSERT(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == -1 && errno == EINVAL,
		    "mode 4 accepted");
	cap.args[0] = KVX_WTRACE_WRPROT;
	cap.args[2] = 1;
	TEST_ASSERT(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == -1 && errno == EINVAL,
		    "args[2] accepted");
	cap.args[2] = 0;
	if (!kvx_host_is_vmx()) {
		cap.args[0] = KVX_WTRACE_PML;
		TEST_ASSERT(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == -1 &&
			    errno == EOPNOTSUPP, "PML accepted without PML");
		cap.args[0] = KVX_WTRACE_WRPROT;
	}
	TEST_ASSERT(!__vm_ioctl(vm, KVM_ENABLE_CAP, &cap), "enable: %d", errno);
	TEST_ASSERT(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == -1 && errno == EBUSY,
		    "enabled twice");
	cap.args[0] = 0;
	TEST_ASSERT(!__vm_ioctl(vm, KVM_ENABLE_CAP, &cap), "disable: %d", errno);
	TEST_ASSERT(__vm_ioctl(vm, KVX_WTRACE_HARVEST, &h) == -1 && errno == ENXIO,
		    "harvest after disable");
	kvm_vm_free(vm);
	ksft_test_result_pass("enable: bad mode/args EINVAL, twice EBUSY, off ENXIO\n");
}

/* A VM whose vCPUs run @guest with the table traced in @mode. */
static struct kvm_vm *trace_vm(struct kvm_vcpu **vcpus, int nr, void *guest)
{
	struct kvm_vm *vm = vm_create_with_vcpus(nr, guest, vcpus);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TABLE_GPA,
				    TABLE_SLOT, TABLE_PAGES, 0);
	virt_map(vm, TABLE_GPA, TABLE_GPA, TABLE_PAGES);
	enable_trace(vm, mode);
	TEST_ASSERT(!set_range(vm, TABLE_GPA, TABLE_PAGES, 0), "trace: %d", errno);
	return vm;
}

/* The shadow-coherence test: the host shadows the guest's table using
 * only harvests at the guest's coherency points.
 */
static void test_shadow(void)
{
	static uint64_t shadow[ENTRIES];
	uint64_t state[NR_VCPUS], index, value;
	struct kvm_vcpu *vcpus[NR_VCPUS];
	bool expect[TABLE_PAGES], got[TABLE_PAGES];
	uint64_t *table, reported = 0;
	struct kvm_vm *vm;
	int round, v, i, p;

	vm = trace_vm(vcpus, NR_VCPUS, guest_table);
	sync_global_to_guest(vm, rounds);
	for (v = 0; v < NR_VCPUS; v++) {
		vcpu_args_set(vcpus[v], 1, v);
		state[v] = 0x9e3779b97f4a7c15ULL * (v + 1);
	}
	table = addr_gpa2hva(vm, TABLE_GPA);
	memset(shadow, 0, sizeof(shadow));

	for (round = 0; round < rounds; round++) {
		memset(expect, 0, sizeof(expect));
		for (v = 0; v < NR_VCPUS; v++) {
			TEST_ASSERT(kvx_run_sync(vcpus[v]) == round, "vCPU %d out of step", v);
			for (i = 0; i < WRITES; i++) {
				gen_write(&state[v], v, &index, &value);
				expect[index / 512] = true;
			}
		}
		harvest_pages(vm, TABLE_GPA, TABLE_PAGES, got);
		for (p = 0; p < TABLE_PAGES; p++) {
			TEST_ASSERT(got[p] == expect[p],
				    "%s round %d: page %d %s", mode_name(mode), round, p,
				    got[p] ? "reported but not written" :
				    "written but not reported");
			if (got[p]) {
				memcpy(&shadow[p * 512], &table[p * 512], 4096);
				reported++;
			}
		}
		TEST_ASSERT(!memcmp(shadow, table, sizeof(shadow)),
			    "%s round %d: shadow differs from the guest's table",
			    mode_name(mode), round);
		if (verbose || !(round % 500)) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ksft_print_msg("%s: round %d coherent at %ld.%03ld s, exits %lu %lu\n",
				       mode_name(mode), round, (long)ts.tv_sec,
				       ts.tv_nsec / 1000000,
				       kvx_vcpu_stat(vcpus[0], "exits"),
				       kvx_vcpu_stat(vcpus[1], "exits"));
		}
	}
	for (v = 0; v < NR_VCPUS; v++)
		TEST_ASSERT(kvx_run_sync(vcpus[v]) == KVX_GUEST_DONE, "vCPU %d not done", v);
	kvm_vm_free(vm);
	ksft_test_result_pass("%s: shadow coherent over %d rounds x %d vCPUs, %lu page reports\n",
			      mode_name(mode), rounds, NR_VCPUS, reported);
}

/* Exit counters of one epoch: the guest runs to its next sync. */
struct epoch_exits {
	uint64_t exits, irqs, emul;
};

static struct epoch_exits run_epoch(struct kvm_vcpu *vcpu, int epoch)
{
	struct epoch_exits a = {
		.exits = kvx_vcpu_stat(vcpu, "exits"),
		.irqs = kvx_vcpu_stat(vcpu, "irq_exits"),
		.emul = kvx_vcpu_stat(vcpu, "insn_emulation"),
	};
	int got = kvx_run_sync(vcpu);

	TEST_ASSERT(got == epoch, "epoch %d: guest synced %d", epoch, got);
	return (struct epoch_exits) {
		.exits = kvx_vcpu_stat(vcpu, "exits") - a.exits,
		.irqs = kvx_vcpu_stat(vcpu, "irq_exits") - a.irqs,
		.emul = kvx_vcpu_stat(vcpu, "insn_emulation") - a.emul,
	};
}

static void test_exits(void)
{
	uint64_t pages = 16;
	struct epoch_exits x[3];
	bool got[TABLE_PAGES];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = trace_vm(&vcpu, 1, guest_exits);
	int epoch, p;

	vcpu_args_set(vcpu, 1, pages);
	for (epoch = 0; epoch < 3; epoch++) {
		x[epoch] = run_epoch(vcpu, epoch);
		harvest_pages(vm, TABLE_GPA, TABLE_PAGES, got);
		for (p = 0; p < TABLE_PAGES; p++)
			TEST_ASSERT(got[p] == (p < pages), "epoch %d page %d", epoch, p);
	}
	/* Epochs after the first: the pages are mapped and re-armed. */
	for (epoch = 1; epoch < 3; epoch++) {
		uint64_t n = x[epoch].exits - x[epoch].irqs;

		if (mode == KVX_WTRACE_PML)
			TEST_ASSERT(n == 1,
				    "PML: %d writes to %lu pages: %lu exits (+%lu irq), not 1",
				    EXIT_WRITES, pages, n, x[epoch].irqs);
		else if (mode == KVX_WTRACE_TRAP)
			TEST_ASSERT(n >= EXIT_WRITES + 1 && x[epoch].emul >= EXIT_WRITES,
				    "trap: %d writes took %lu exits, %lu emulations; expected one each per write",
				    EXIT_WRITES, n, x[epoch].emul);
		else
			TEST_ASSERT(n == pages + 1,
				    "write-protect: %d writes to %lu pages took %lu exits, expected %lu",
				    EXIT_WRITES, pages, n, pages + 1);
	}
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_WTRACE_TEST_MSG1,
			      mode_name(mode), EXIT_WRITES, pages, x[2].exits, x[2].irqs,
			      x[2].emul);
}

/* Dirty logging and tracing of the same pages both see every write. */
static void test_dirty_log(void)
{
	unsigned long bitmap[TABLE_PAGES / 64];
	bool got[TABLE_PAGES];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_pages);
	int round, p;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TABLE_GPA, TABLE_SLOT,
				    TABLE_PAGES, KVM_MEM_LOG_DIRTY_PAGES);
	virt_map(vm, TABLE_GPA, TABLE_GPA, TABLE_PAGES);
	enable_trace(vm, mode);
	TEST_ASSERT(!set_range(vm, TABLE_GPA, TABLE_PAGES, 0), "trace");
	vcpu_args_set(vcpu, 3, TABLE_GPA, (uint64_t)TABLE_PAGES, 3ULL);
	kvm_vm_get_dirty_log(vm, TABLE_SLOT, bitmap);
	for (round = 0; round < 6; round++) {
		kvx_run_sync(vcpu);
		/* Alternate which of the two is read first. */
		if (round & 1)
			harvest_pages(vm, TABLE_GPA, TABLE_PAGES, got);
		kvm_vm_get_dirty_log(vm, TABLE_SLOT, bitmap);
		if (!(round & 1))
			harvest_pages(vm, TABLE_GPA, TABLE_PAGES, got);
		for (p = 0; p < TABLE_PAGES; p++) {
			bool dirty = bitmap[p / 64] & (1UL << (p % 64));

			TEST_ASSERT(dirty == !(p % 3) && got[p] == !(p % 3),
				    "round %d page %d: dirty log %d, trace %d, written %d",
				    round, p, dirty, got[p], !(p % 3));
		}
	}
	kvm_vm_free(vm);
	ksft_test_result_pass("%s: dirty log and trace on the same pages agree for 6 rounds\n",
			      mode_name(mode));
}

/* A traced 4K page inside THP-backed memory, and a memslot removed and
 * re-added under a trace.
 */
static void test_huge_and_slots(void)
{
	bool got[HUGE_PAGES];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_pages);
	int round, p;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS_THP, HUGE_GPA, HUGE_SLOT,
				    HUGE_PAGES, 0);
	virt_map(vm, HUGE_GPA, HUGE_GPA, HUGE_PAGES);
	enable_trace(vm, mode);
	TEST_ASSERT(!set_range(vm, HUGE_GPA + 100 * 4096, 1, 0), "trace");
	TEST_ASSERT(!set_range(vm, HUGE_GPA + 300 * 4096, 2, 0), "trace");
	vcpu_args_set(vcpu, 3, HUGE_GPA, (uint64_t)HUGE_PAGES, 1ULL);
	for (round = 0; round < 4; round++) {
		kvx_run_sync(vcpu);
		harvest_pages(vm, HUGE_GPA, HUGE_PAGES, got);
		for (p = 0; p < HUGE_PAGES; p++)
			TEST_ASSERT(got[p] == (p == 100 || p == 300 || p == 301),
				    "round %d page %d reported %d", round, p, got[p]);
	}
	/* Stop tracing one page: it is no longer reported. */
	TEST_ASSERT(!set_range(vm, HUGE_GPA + 300 * 4096, 1, KVX_WTRACE_RANGE_REMOVE),
		    "remove");
	kvx_run_sync(vcpu);
	harvest_pages(vm, HUGE_GPA, HUGE_PAGES, got);
	for (p = 0; p < HUGE_PAGES; p++)
		TEST_ASSERT(got[p] == (p == 100 || p == 301), "after remove: page %d %d",
			    p, got[p]);

	/* The slot goes away and comes back: harvests keep working. */
	vm_mem_region_delete(vm, HUGE_SLOT);
	harvest_pages(vm, HUGE_GPA, HUGE_PAGES, got);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, HUGE_GPA, HUGE_SLOT,
				    HUGE_PAGES, 0);
	kvx_run_sync(vcpu);
	harvest_pages(vm, HUGE_GPA, HUGE_PAGES, got);
	for (p = 0; p < HUGE_PAGES; p++)
		TEST_ASSERT(got[p] == (p == 100 || p == 301), "new slot: page %d %d",
			    p, got[p]);
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_WTRACE_TEST_MSG2,
			      mode_name(mode));
}

static void test_overflow_and_fuzz(void)
{
	uint64_t gfns[8], seen = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_pages);
	bool overflow, got[TABLE_PAGES];
	uint32_t n, i, total = 0;
	int r, rejected = 0;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TABLE_GPA, TABLE_SLOT,
				    TABLE_PAGES, 0);
	virt_map(vm, TABLE_GPA, TABLE_GPA, TABLE_PAGES);
	enable_trace(vm, mode);
	TEST_ASSERT(!set_range(vm, TABLE_GPA, 10, 0), "trace");
	vcpu_args_set(vcpu, 3, TABLE_GPA, 10ULL, 1ULL);
	kvx_run_sync(vcpu);
	do {
		n = harvest(vm, gfns, 4, &overflow);
		for (i = 0; i < n; i++)
			seen |= 1ULL << (gfns[i] - (TABLE_GPA >> 12));
		total += n;
	} while (overflow);
	TEST_ASSERT(total == 10 && seen == 0x3ff, "overflowing harvests: %u GFNs, mask 0x%lx",
		    total, seen);

	/* Bad arguments: each rejected, and the traced set is unchanged. */
	srandom(0x77);
	for (i = 0; i < 2000; i++) {
		struct kvx_wtrace_range a = { .gfn = TABLE_GPA >> 12, .npages = 1 };
		struct kvx_wtrace_harvest h = { .gfns = (uintptr_t)gfns, .max = 8 };
		uint64_t rnd = (uint64_t)random() << 31 ^ random();
		int want = EINVAL;

		switch (i % 8) {
		case 0:
			a.flags = rnd | 2;
			break;
		case 1:
			a.pad = rnd | 1;
			break;
		case 2:
			a.reserved[rnd & 1] = rnd | 1;
			break;
		case 3:
			a.npages = 0;
			break;
		case 4:
			kvx_fuzz_gfn_range(&a.gfn, &a.npages, rnd, 1000, 5000);
			break;
		case 5:
			h.max = rnd & 1 ? 0 : KVX_WTRACE_MAX_PAGES + 1 + rnd % 1000;
			break;
		case 6:
			h.reserved[rnd % 4] = rnd | 1;
			break;
		case 7:
			h.gfns = 0xffff800000000000ULL + (rnd & 0xfffff000);
			want = EFAULT;
			break;
		}
		if (i % 8 < 5)
			r = __vm_ioctl(vm, KVX_WTRACE_SET_RANGE, &a);
		else
			r = __vm_ioctl(vm, KVX_WTRACE_HARVEST, &h);
		TEST_ASSERT(r == -1 && errno == want, "fuzz case %u: %d errno %d, expected %d",
			    i % 8, r, errno, want);
		rejected++;
	}
	kvx_run_sync(vcpu);
	harvest_pages(vm, TABLE_GPA, TABLE_PAGES, got);
	for (i = 0; i < TABLE_PAGES; i++)
		TEST_ASSERT(got[i] == (i < 10), "after fuzz: page %u reported %d", i, got[i]);
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_WTRACE_TEST_MSG3,
			      mode_name(mode), rejected);
}

/* PML full: one epoch writes more pages than one PML buffer holds. */
static void test_pml_full(void)
{
	static uint64_t gfns[BIG_PAGES];
	static bool got[BIG_PAGES];
	struct epoch_exits ex[3];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool overflow;
	uint32_t n, i;
	int epoch;

	vm = __vm_create_with_one_vcpu(&vcpu, BIG_PAGES, guest_big);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, BIG_GPA, BIG_SLOT,
				    BIG_PAGES, 0);
	virt_map(vm, BIG_GPA, BIG_GPA, BIG_PAGES);
	enable_trace(vm, mode);
	TEST_ASSERT(!set_range(vm, BIG_GPA, BIG_PAGES, 0), "trace: %d", errno);
	for (epoch = 0; epoch < 3; epoch++) {
		ex[epoch] = run_epoch(vcpu, epoch);

		/* One harvest, room for every traced page: exactly the set. */
		memset(got, 0, sizeof(got));
		n = harvest(vm, gfns, BIG_PAGES, &overflow);
		TEST_ASSERT(!overflow, "epoch %d: overflow with max %d", epoch, BIG_PAGES);
		for (i = 0; i < n; i++) {
			uint64_t rel = gfns[i] - (BIG_GPA >> 12);

			TEST_ASSERT(rel < BIG_PAGES && big_written(rel) && !got[rel],
				    "epoch %d: gfn 0x%lx %s", epoch, gfns[i],
				    rel < BIG_PAGES && got[rel] ? "reported twice" :
				    "reported but not written");
			got[rel] = true;
		}
		TEST_ASSERT(n == BIG_WRITTEN, "%s epoch %d: %u of %d written pages reported",
			    mode_name(mode), epoch, n, BIG_WRITTEN);
	}
	/*
	 * Epochs after the first: mapped and re-armed. Any exit empties the
	 * PML buffer, so between two exits at most 512 pages are logged:
	 * at least BIG_WRITTEN / 512 exits before the ucall's.
	 */
	for (epoch = 1; epoch < 3; epoch++) {
		uint64_t x = ex[epoch].exits - ex[epoch].irqs;

		if (mode == KVX_WTRACE_PML)
			TEST_ASSERT(ex[epoch].exits >= BIG_WRITTEN / PML_ENTRIES + 1 &&
				    x <= BIG_WRITTEN / PML_ENTRIES + 1 + EXIT_SLACK,
				    "PML: %d pages written: %lu exits (+%lu irq), expected %d",
				    BIG_WRITTEN, x, ex[epoch].irqs, BIG_WRITTEN / PML_ENTRIES + 1);
		else if (mode == KVX_WTRACE_TRAP)
			TEST_ASSERT(x >= 2 * BIG_WRITTEN + 1 && ex[epoch].emul >= 2 * BIG_WRITTEN,
				    "trap: %d writes took %lu exits, %lu emulations",
				    2 * BIG_WRITTEN, x, ex[epoch].emul);
		else
			TEST_ASSERT(x >= BIG_WRITTEN + 1 && x <= BIG_WRITTEN + 1 + EXIT_SLACK,
				    "write-protect: %d pages written took %lu exits, expected %d",
				    BIG_WRITTEN, x, BIG_WRITTEN + 1);
	}
	TEST_ASSERT(kvx_run_sync(vcpu) == KVX_GUEST_DONE, "not done");
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_WTRACE_TEST_MSG4, mode_name(mode), BIG_WRITTEN,
			      BIG_PAGES, ex[2].exits, ex[2].irqs);
}

/* Concurrent harvests: two threads harvest while the guest writes. */
struct harvester {
	pthread_t thread;
	struct kvm_vm *vm;
	uint64_t *done;		/* its harvests_done[], in the guest */
	int round;
	bool got[TABLE_PAGES];
	uint64_t harvests, gfns;
};

static bool harvest_stop;

static void *harvest_thread(void *arg)
{
	struct harvester *h = arg;
	uint64_t gfns[TABLE_PAGES];
	uint32_t n, i;

	while (!__atomic_load_n(&harvest_stop, __ATOMIC_ACQUIRE)) {
		n = harvest(h->vm, gfns, TABLE_PAGES, NULL);
		for (i = 0; i < n; i++) {
			uint64_t rel = gfns[i] - (TABLE_GPA >> 12);

			TEST_ASSERT(rel < TABLE_PAGES && round_written(rel, h->round),
				    "round %d: thread got gfn 0x%lx, not written",
				    h->round, gfns[i]);
			h->got[rel] = true;
		}
		h->harvests++;
		h->gfns += n;
		__atomic_fetch_add(h->done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct harvester h[HARVESTERS] = {};
	uint64_t harvests = 0, thread_gfns = 0, final = 0, *done;
	bool got[TABLE_PAGES];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int round, t, p, *overlap;

	vm = trace_vm(&vcpu, 1, guest_concurrent);
	sync_global_to_guest(vm, conc_rounds);
	done = addr_gva2hva(vm, (vm_vaddr_t)&harvests_done);
	overlap = addr_gva2hva(vm, (vm_vaddr_t)&overlapped);
	for (round = 0; round < conc_rounds; round++) {
		__atomic_store_n(&harvest_stop, false, __ATOMIC_RELEASE);
		for (t = 0; t < HARVESTERS; t++) {
			memset(h[t].got, 0, sizeof(h[t].got));
			h[t].vm = vm;
			h[t].done = &done[t];
			h[t].round = round;
			pthread_create(&h[t].thread, NULL, harvest_thread, &h[t]);
		}
		TEST_ASSERT(kvx_run_sync(vcpu) == round, "round %d out of step", round);
		__atomic_store_n(&harvest_stop, true, __ATOMIC_RELEASE);
		for (t = 0; t < HARVESTERS; t++)
			pthread_join(h[t].thread, NULL);

		/* The vCPU is out of KVM_RUN: this harvest gets the rest. */
		harvest_pages(vm, TABLE_GPA, TABLE_PAGES, got);
		for (p = 0; p < TABLE_PAGES; p++) {
			bool any = got[p];

			final += got[p];
			for (t = 0; t < HARVESTERS; t++)
				any |= h[t].got[p];
			TEST_ASSERT(any == round_written(p, round),
				    "%s round %d: page %d %s", mode_name(mode), round, p,
				    any ? "reported but not written" :
				    "written but reported by no harvest");
		}
	}
	TEST_ASSERT(kvx_run_sync(vcpu) == KVX_GUEST_DONE, "not done");
	for (t = 0; t < HARVESTERS; t++) {
		harvests += h[t].harvests;
		thread_gfns += h[t].gfns;
	}
	ksft_test_result_pass(KVX_WTRACE_TEST_MSG5, mode_name(mode), conc_rounds, HARVESTERS,
			      harvests, thread_gfns, final, *overlap, conc_rounds * (PASSES - 1));
	kvm_vm_free(vm);
}

/* Tracing in a VM with views: writes made in view 1 are reported. */
static void test_views(void)
{
	struct kvx_vcpu_view cur;
	bool got[TABLE_PAGES];
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t *table, exits;
	int round, p;

	vm = vm_create(1);
	vm_enable_cap(vm, KVX_CAP_VIEWS, 2);
	vcpu = vm_vcpu_add(vm, 0, guest_views);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TABLE_GPA,
				    TABLE_SLOT, TABLE_PAGES, 0);
	virt_map(vm, TABLE_GPA, TABLE_GPA, TABLE_PAGES);
	guest_vmfunc = kvm_check_cap(KVX_CAP_VIEWS_VMFUNC) > 0;
	sync_global_to_guest(vm, guest_vmfunc);
	enable_trace(vm, mode);
	TEST_ASSERT(!set_range(vm, TABLE_GPA, TABLE_PAGES, 0), "trace: %d", errno);
	table = addr_gpa2hva(vm, TABLE_GPA);
	for (round = 0; round < VIEW_ROUNDS; round++) {
		TEST_ASSERT(kvx_run_sync(vcpu) == round, "round %d out of step", round);
		vcpu_ioctl(vcpu, KVX_GET_VCPU_VIEW, &cur);
		TEST_ASSERT(cur.view == round_view(round), "round %d in view %u, not %u",
			    round, cur.view, round_view(round));
		harvest_pages(vm, TABLE_GPA, TABLE_PAGES, got);
		for (p = 0; p < TABLE_PAGES; p++) {
			TEST_ASSERT(got[p] == round_written(p, round),
				    "%s view %u round %d: page %d %s", mode_name(mode),
				    cur.view, round, p, got[p] ? "reported but not written" :
				    "written but not reported");
			TEST_ASSERT(!got[p] || table[p * 512] == round + 1,
				    "round %d: page %d holds %lu", round, p, table[p * 512]);
		}
	}
	TEST_ASSERT(kvx_run_sync(vcpu) == KVX_GUEST_DONE, "not done");
	exits = kvx_vcpu_stat(vcpu, "exits");
	kvm_vm_free(vm);
	ksft_test_result_pass(KVX_WTRACE_TEST_MSG6, mode_name(mode), VIEW_ROUNDS,
			      guest_vmfunc ? "VMFUNC" : "hypercall", exits);
}

/* What runs in every mode the host offers, in this order. */
static void (*const mode_tests[])(void) = {
	test_shadow, test_exits, test_dirty_log, test_huge_and_slots,
	test_overflow_and_fuzz, test_pml_full, test_concurrent, test_views,
};

/* Usage: kvx_wtrace_test [MODE [verbose]]: only MODE (KVX_WTRACE_*). */
int main(int argc, char **argv)
{
	uint32_t modes, m, only = argc > 1 ? atoi(argv[1]) : 0;
	unsigned int t;

	verbose = argc > 2;
	ksft_print_header();
	/* test_caps() asserts that these are the modes the testbed has. */
	modes = kvm_check_cap(KVX_CAP_WRITE_TRACE);
	if (only)
		modes &= 1 << only;
	ksft_set_plan(2 + ARRAY_SIZE(mode_tests) * __builtin_popcount(modes));
	test_caps(&m);
	test_enable();
	for (m = KVX_WTRACE_TRAP; m >= KVX_WTRACE_PML; m--) {
		if (!(modes & (1 << m)))
			continue;
		mode = m;
		rounds = !kvx_host_is_vmx() ? 2000 : m == KVX_WTRACE_PML ? 40 : 150;
		conc_rounds = !kvx_host_is_vmx() ? 20 : 6;
		for (t = 0; t < ARRAY_SIZE(mode_tests); t++)
			mode_tests[t]();
	}
	ksft_finished();
}
