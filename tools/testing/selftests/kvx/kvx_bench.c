// SPDX-License-Identifier: GPL-2.0
/*
 * kvx benchmarks: counts, not times.  Each figure is measured in this run
 * and reported as a ratio against the baseline of the same run:
 *
 *   views:  a view switch by VMFUNC vs by hypercall (exits and guest TSC
 *           per switch);
 *   wtrace: 10,000 writes to traced pages with page-track trapping (the
 *           baseline), write protection and PML (exits, emulations and
 *           guest TSC per write), and the cost of a harvest against the
 *           number of traced and of written pages (host ns).
 *
 * Output is KTAP; every benchmark is one result line with its figures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/kvx.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"

#define SWITCHES	10000
#define WRITES		10000
#define DATA_GPA	0x10000000ULL
#define DATA_SLOT	10
#define MAX_PAGES	16384

/* Result lines too long for one source line. */
#define KVX_BENCH_MSG1 \
	"views: hypercall switch: %.2f exits, %lu TSC per switch (no VMFUNC on this host)\n"
#define KVX_BENCH_MSG2 \
	"views: per switch VMFUNC %.4f exits %lu TSC, hypercall %.2f exits %lu TSC: hypercall/VMFUNC TSC ratio %.1f\n"
#define KVX_BENCH_MSG3 \
	"wtrace: %d writes to 16 pages: untraced %lu exits %lu TSC/write; trap %lu exits %lu emulated %lu TSC/write; write-protect %lu exits %lu TSC/write (%.1fx faster than trap)%s\n"
#define KVX_BENCH_MSG4 \
	"harvest (%s): 16 written of 64 traced %lu ns, of 16384 traced %lu ns (x%.1f for 256x traced); 1024 written of 16384 %lu ns (x%.1f for 64x written)\n"

static bool guest_vmfunc;

/* ---- views ---- */

static void guest_switch(void)
{
	uint64_t t0, t1;
	int i;

	for (;;) {
		t0 = rdtsc();
		for (i = 0; i < SWITCHES; i++) {
			if (guest_vmfunc) {
				asm volatile(".byte 0x0f, 0x01, 0xd4" :: "a"(0), "c"(1) : "memory");
				asm volatile(".byte 0x0f, 0x01, 0xd4" :: "a"(0), "c"(0) : "memory");
			} else {
				kvm_hypercall(KVX_HC_VIEW_SWITCH, 0, 1, 0, 0);
				kvm_hypercall(KVX_HC_VIEW_SWITCH, 0, 0, 0, 0);
			}
		}
		t1 = rdtsc();
		GUEST_SYNC(t1 - t0);
	}
}

struct counts {
	uint64_t tsc, exits, emul;
};

static struct counts run_counted(struct kvm_vcpu *vcpu)
{
	uint64_t e = kvx_vcpu_stat(vcpu, "exits") - kvx_vcpu_stat(vcpu, "irq_exits");
	uint64_t m = kvx_vcpu_stat(vcpu, "insn_emulation");
	struct counts c;
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "guest did not sync");
	c.tsc = uc.args[1];
	/* Less the GUEST_SYNC exit itself. */
	c.exits = kvx_vcpu_stat(vcpu, "exits") - kvx_vcpu_stat(vcpu, "irq_exits") - e - 1;
	c.emul = kvx_vcpu_stat(vcpu, "insn_emulation") - m;
	return c;
}

static struct counts bench_switch(bool vmfunc)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create(1);
	struct counts c;

	vm_enable_cap(vm, KVX_CAP_VIEWS, 2);
	vcpu = vm_vcpu_add(vm, 0, guest_switch);
	guest_vmfunc = vmfunc;
	sync_global_to_guest(vm, guest_vmfunc);
	run_counted(vcpu);		/* warm-up: roots loaded */
	c = run_counted(vcpu);
	kvm_vm_free(vm);
	return c;
}

static void bench_views(void)
{
	struct counts hc = bench_switch(false), vf;
	int n = 2 * SWITCHES;

	if (!kvm_check_cap(KVX_CAP_VIEWS_VMFUNC)) {
		ksft_test_result_pass(KVX_BENCH_MSG1,
				      (double)hc.exits / n, hc.tsc / n);
		return;
	}
	vf = bench_switch(true);
	ksft_test_result_pass(KVX_BENCH_MSG2,
			      (double)vf.exits / n, vf.tsc / n,
			      (double)hc.exits / n, hc.tsc / n,
			      (double)hc.tsc / (vf.tsc ? vf.tsc : 1));
}

/* ---- write tracing ---- */

static void guest_write(uint64_t pages)
{
	uint64_t *p = (uint64_t *)DATA_GPA;
	uint64_t t0;
	int i;

	for (;;) {
		t0 = rdtsc();
		for (i = 0; i < WRITES; i++)
			WRITE_ONCE(p[(i % pages) * 512 + i % 512], i);
		GUEST_SYNC(rdtsc() - t0);
	}
}

static struct kvm_vm *wtrace_vm(struct kvm_vcpu **vcpu, uint32_t mode,
				uint64_t traced, uint64_t written)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_write);
	struct kvx_wtrace_range r = { .gfn = DATA_GPA >> 12, .npages = traced };

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, DATA_GPA, DATA_SLOT,
				    MAX_PAGES, 0);
	virt_map(vm, DATA_GPA, DATA_GPA, MAX_PAGES);
	if (mode) {
		vm_enable_cap(vm, KVX_CAP_WRITE_TRACE, mode);
		vm_ioctl(vm, KVX_WTRACE_SET_RANGE, &r);
	}
	vcpu_args_set(*vcpu, 1, written);
	return vm;
}

static uint64_t harvest_ns(struct kvm_vm *vm, uint32_t *count)
{
	static uint64_t gfns[MAX_PAGES];
	struct kvx_wtrace_harvest h = { .gfns = (uintptr_t)gfns, .max = MAX_PAGES };
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	vm_ioctl(vm, KVX_WTRACE_HARVEST, &h);
	clock_gettime(CLOCK_MONOTONIC, &b);
	*count = h.count;
	return (b.tv_sec - a.tv_sec) * 1000000000ULL + b.tv_nsec - a.tv_nsec;
}

/* Epoch 2 of @mode (pages mapped and re-armed), 16 pages written. */
static struct counts bench_mode(uint32_t mode)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = wtrace_vm(&vcpu, mode, 16, 16);
	struct counts c;
	uint32_t n;

	run_counted(vcpu);
	if (mode)
		harvest_ns(vm, &n);
	c = run_counted(vcpu);
	kvm_vm_free(vm);
	return c;
}

static void bench_wtrace(void)
{
	int modes = kvm_check_cap(KVX_CAP_WRITE_TRACE);
	struct counts none = bench_mode(0), trap, wp, pml = {};
	char pml_txt[160] = "";

	trap = bench_mode(KVX_WTRACE_TRAP);
	wp = bench_mode(KVX_WTRACE_WRPROT);
	if (modes & (1 << KVX_WTRACE_PML)) {
		pml = bench_mode(KVX_WTRACE_PML);
		snprintf(pml_txt, sizeof(pml_txt),
			 ", PML %lu exits %lu TSC/write (%.1fx faster than trap)",
			 pml.exits, pml.tsc / WRITES,
			 (double)trap.tsc / (pml.tsc ? pml.tsc : 1));
	}
	ksft_test_result_pass(KVX_BENCH_MSG3,
			      WRITES, none.exits, none.tsc / WRITES,
			      trap.exits, trap.emul, trap.tsc / WRITES,
			      wp.exits, wp.tsc / WRITES,
			      (double)trap.tsc / (wp.tsc ? wp.tsc : 1), pml_txt);
}

/* Harvest cost: by traced pages (written fixed) and by written pages. */
static void bench_harvest(void)
{
	static const uint64_t traced[] = { 64, 16384 }, written[] = { 16, 1024 };
	uint32_t mode = kvm_check_cap(KVX_CAP_WRITE_TRACE) & (1 << KVX_WTRACE_PML) ?
			KVX_WTRACE_PML : KVX_WTRACE_WRPROT;
	uint64_t ns[2][2];
	int t, w;

	for (t = 0; t < 2; t++) {
		for (w = 0; w < 2; w++) {
			struct kvm_vcpu *vcpu;
			struct kvm_vm *vm;
			uint32_t n;

			if (written[w] > traced[t]) {
				ns[t][w] = 0;
				continue;
			}
			vm = wtrace_vm(&vcpu, mode, traced[t], written[w]);
			run_counted(vcpu);
			harvest_ns(vm, &n);
			run_counted(vcpu);
			ns[t][w] = harvest_ns(vm, &n);
			TEST_ASSERT(n == written[w], "harvest of %lu written reported %u",
				    written[w], n);
			kvm_vm_free(vm);
		}
	}
	ksft_test_result_pass(KVX_BENCH_MSG4,
			      mode == KVX_WTRACE_PML ? "PML" : "write-protect",
			      ns[0][0], ns[1][0], (double)ns[1][0] / ns[0][0],
			      ns[1][1], (double)ns[1][1] / ns[1][0]);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(3);
	bench_views();
	bench_wtrace();
	bench_harvest();
	ksft_finished();
}
