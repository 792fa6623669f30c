// SPDX-License-Identifier: GPL-2.0
/*
 * kvx benchmarks: counts, not times.  Each figure is measured in this run
 * and reported as a ratio against the baseline of the same run:
 *
 *   views:  a view switch by VMFUNC vs by hypercall vs a plain hypercall
 *           round trip (exits and guest TSC per switch);
 *   windows: one 8-byte read of a window page trapped to the VMM (the
 *           baseline: KVM_EXIT_MMIO), through the trampoline by hypercall,
 *           and by VMFUNC (exits and guest TSC per access); and the cost of
 *           intercepting every exception in a VMFUNC-window VM (int3 loop);
 *           the same for 8-byte writes, where VMFUNC windows write by
 *           hypercall unless the VMM sets KVX_WINDOW_F_VMFUNC_WRITES;
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
#include "kvx_subpage_guest.h"

#define SWITCHES	10000
#define WRITES		10000
#define DATA_GPA	0x10000000ULL
#define DATA_SLOT	10
#define MAX_PAGES	16384

/* Result lines too long for one source line. */
#define KVX_BENCH_MSG1 \
	"views: hypercall switch: %.2f exits, %lu TSC per switch; plain hypercall %.2f exits %lu TSC (no VMFUNC on this host)\n"
#define KVX_BENCH_MSG2 \
	"views: per switch VMFUNC %.4f exits %lu TSC, hypercall %.2f exits %lu TSC, plain hypercall %.2f exits %lu TSC: VMFUNC/hypercall TSC %.3f\n"
#define KVX_BENCH_MSG5 \
	"windows: per 8-byte read: trapped to the VMM %.2f exits %lu TSC; trampoline by hypercall %.2f exits %lu TSC (trapped/hypercall %.1f)%s\n"
#define KVX_BENCH_MSG6 \
	"; by VMFUNC %.4f exits %lu TSC (trapped/VMFUNC %.1f); int3 with every exception intercepted %.2f exits %lu TSC vs %.2f exits %lu TSC without windows"
#define KVX_BENCH_MSG7 \
	"windows: per 8-byte write: trapped to the VMM %.2f exits %lu TSC; trampoline by hypercall %.2f exits %lu TSC (trapped/hypercall %.1f)%s\n"
#define KVX_BENCH_MSG8 \
	"; VMFUNC window, default (writes by hypercall) %.2f exits %lu TSC; with KVX_WINDOW_F_VMFUNC_WRITES %.4f exits %lu TSC (trapped/VMFUNC %.1f)"
#define KVX_BENCH_MSG3 \
	"wtrace: %d writes to 16 pages: untraced %lu exits %lu TSC/write; trap %lu exits %lu emulated %lu TSC/write; write-protect %lu exits %lu TSC/write (%.1fx faster than trap)%s\n"
#define KVX_BENCH_MSG4 \
	"harvest (%s): 16 written of 64 traced %lu ns, of 16384 traced %lu ns (x%.1f for 256x traced); 1024 written of 16384 %lu ns (x%.1f for 64x written)\n"

static bool guest_vmfunc;
static int guest_mode;

/* ---- views ---- */

static void guest_switch(void)
{
	uint64_t t0, t1;
	int i;

	for (;;) {
		t0 = rdtsc();
		for (i = 0; i < SWITCHES; i++) {
			if (guest_mode == 2) {
				/* An unknown hypercall: -KVM_ENOSYS, a plain round trip. */
				kvm_hypercall(0x4b58ffff, 0, 0, 0, 0);
				kvm_hypercall(0x4b58ffff, 0, 0, 0, 0);
			} else if (guest_vmfunc) {
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

/* @mode: 0 hypercall switch, 1 VMFUNC switch, 2 plain hypercall. */
static struct counts bench_switch(int mode)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create(1);
	struct counts c;

	vm_enable_cap(vm, KVX_CAP_VIEWS, 2);
	vcpu = vm_vcpu_add(vm, 0, guest_switch);
	guest_vmfunc = mode == 1;
	guest_mode = mode;
	sync_global_to_guest(vm, guest_vmfunc);
	sync_global_to_guest(vm, guest_mode);
	run_counted(vcpu);		/* warm-up: roots loaded */
	c = run_counted(vcpu);
	kvm_vm_free(vm);
	return c;
}

static void bench_views(void)
{
	struct counts hc = bench_switch(0), plain = bench_switch(2), vf;
	int n = 2 * SWITCHES;

	if (!kvm_check_cap(KVX_CAP_VIEWS_VMFUNC)) {
		ksft_test_result_pass(KVX_BENCH_MSG1,
				      (double)hc.exits / n, hc.tsc / n,
				      (double)plain.exits / n, plain.tsc / n);
		return;
	}
	vf = bench_switch(1);
	ksft_test_result_pass(KVX_BENCH_MSG2,
			      (double)vf.exits / n, vf.tsc / n,
			      (double)hc.exits / n, hc.tsc / n,
			      (double)plain.exits / n, plain.tsc / n,
			      (double)vf.tsc / (hc.tsc ? hc.tsc : 1));
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

/* ---- sub-page windows ---- */

#define WIN_GPA		0xd0000000ULL
#define WIN_SLOT	20
#define TRAMP_GPA	0xd0010000ULL
#define ACCESSES	5000

/*
 * 0: plain load (trapped), 1: trampoline read; 2: int3 loop; 3: plain store
 * (trapped), 4: trampoline write.
 */
static void guest_window(int how)
{
	uint64_t t0, v = 0;
	int i;

	for (;;) {
		t0 = rdtsc();
		for (i = 0; i < ACCESSES; i++) {
			if (how == 0)
				v += READ_ONCE(*(uint64_t *)(WIN_GPA + 0x10));
			else if (how == 1)
				kvx_window_read((void *)TRAMP_GPA, 0,
						(void *)(WIN_GPA + 0x10), 8, (__u64 *)&v);
			else if (how == 3)
				WRITE_ONCE(*(uint64_t *)(WIN_GPA + 0x10), i);
			else if (how == 4)
				kvx_window_write((void *)TRAMP_GPA, 0,
						 (void *)(WIN_GPA + 0x10), 8, i);
			else
				asm volatile("int3" ::: "memory");
		}
		GUEST_SYNC(rdtsc() - t0);
	}
}

static void guest_bp_handler(struct ex_regs *regs)
{
}

/* A VM with one window (id 0, view 1) on a page at WIN_GPA. */
static struct counts bench_window(int how, bool windows, uint64_t flags,
				  uint32_t wflags)
{
	struct kvx_window w = {
		.slot = WIN_SLOT, .gpa = WIN_GPA, .view = 1, .nr_ranges = 1,
		.flags = wflags,
		.ranges = { { .offset = 0, .size = 0x100,
			      .access = KVX_WINDOW_READ | KVX_WINDOW_WRITE } },
	};
	struct kvx_slot_views sv = { .slot = WIN_SLOT, .views = 0 };
	struct kvm_enable_cap cap = {
		.cap = KVX_CAP_WINDOWS, .args = { TRAMP_GPA, flags },
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create(1);
	struct counts c = {};
	struct ucall uc;
	int round;

	vm_enable_cap(vm, KVX_CAP_VIEWS, 2);
	if (windows)
		vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &sv);
	vcpu = vm_vcpu_add(vm, 0, guest_window);
	vcpu_args_set(vcpu, 1, how);
	vm_install_exception_handler(vm, BP_VECTOR, guest_bp_handler);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, WIN_GPA, WIN_SLOT, 1, 0);
	virt_map(vm, WIN_GPA, WIN_GPA, 1);
	if (windows) {
		virt_map(vm, TRAMP_GPA, TRAMP_GPA, 1);
		vm_ioctl(vm, KVX_SET_WINDOW, &w);
	}
	/* Round 0 warms up; round 1 is measured. */
	for (round = 0; round < 2; round++) {
		uint64_t e = kvx_vcpu_stat(vcpu, "exits") - kvx_vcpu_stat(vcpu, "irq_exits");

		for (;;) {
			vcpu_run(vcpu);
			if (vcpu->run->exit_reason != KVM_EXIT_MMIO)
				break;
			/* The VMM's trapped-BAR path: serve the read. */
			TEST_ASSERT(vcpu->run->mmio.phys_addr == WIN_GPA + 0x10,
				    "MMIO at 0x%llx", vcpu->run->mmio.phys_addr);
			if (!vcpu->run->mmio.is_write)
				memcpy(vcpu->run->mmio.data, &(uint64_t){ 42 }, 8);
		}
		TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "guest did not sync");
		c.tsc = uc.args[1];
		c.exits = kvx_vcpu_stat(vcpu, "exits") -
			  kvx_vcpu_stat(vcpu, "irq_exits") - e - 1;
	}
	kvm_vm_free(vm);
	return c;
}

/* Trapped and hypercall accesses of one direction: the baselines. */
static void bench_window_base(bool write, struct counts *trap, struct counts *hc)
{
	int n = ACCESSES;

	*trap = bench_window(write ? 3 : 0, false, 0, 0);
	*hc = bench_window(write ? 4 : 1, true, KVX_WINDOWS_HYPERCALL, 0);
	TEST_ASSERT(trap->exits >= (uint64_t)n && hc->exits >= (uint64_t)n,
		    "trapped %lu, hypercall %lu exits for %d %s", trap->exits,
		    hc->exits, n, write ? "writes" : "reads");
}

/* One result line: the baselines, their ratio, and the VMFUNC figures. */
static void bench_window_report(const char *fmt, struct counts *trap,
				struct counts *hc, const char *vf_txt)
{
	int n = ACCESSES;

	ksft_test_result_pass(fmt, (double)trap->exits / n, trap->tsc / n,
			      (double)hc->exits / n, hc->tsc / n,
			      (double)trap->tsc / (hc->tsc ? hc->tsc : 1), vf_txt);
}

static void bench_windows(void)
{
	struct counts trap, hc, vf, bp_on, bp_off;
	char vf_txt[300] = "";
	int n = ACCESSES;

	bench_window_base(false, &trap, &hc);
	if (kvm_check_cap(KVX_CAP_VIEWS_VMFUNC)) {
		vf = bench_window(1, true, 0, 0);
		bp_on = bench_window(2, true, 0, 0);
		bp_off = bench_window(2, false, 0, 0);
		snprintf(vf_txt, sizeof(vf_txt), KVX_BENCH_MSG6,
			 (double)vf.exits / n, vf.tsc / n,
			 (double)trap.tsc / (vf.tsc ? vf.tsc : 1),
			 (double)bp_on.exits / n, bp_on.tsc / n,
			 (double)bp_off.exits / n, bp_off.tsc / n);
		TEST_ASSERT(vf.exits * 100 < (uint64_t)n,
			    "VMFUNC window reads: %lu exits for %d", vf.exits, n);
	}
	bench_window_report(KVX_BENCH_MSG5, &trap, &hc, vf_txt);
}

static void bench_window_writes(void)
{
	struct counts trap, hc, vdef, vw;
	char vf_txt[300] = "";
	int n = ACCESSES;

	bench_window_base(true, &trap, &hc);
	if (kvm_check_cap(KVX_CAP_VIEWS_VMFUNC)) {
		vdef = bench_window(4, true, 0, 0);
		vw = bench_window(4, true, 0, KVX_WINDOW_F_VMFUNC_WRITES);
		snprintf(vf_txt, sizeof(vf_txt), KVX_BENCH_MSG8,
			 (double)vdef.exits / n, vdef.tsc / n,
			 (double)vw.exits / n, vw.tsc / n,
			 (double)trap.tsc / (vw.tsc ? vw.tsc : 1));
		TEST_ASSERT(vw.exits * 100 < (uint64_t)n,
			    "VMFUNC window writes: %lu exits for %d", vw.exits, n);
	}
	bench_window_report(KVX_BENCH_MSG7, &trap, &hc, vf_txt);
}

int main(void)
{
	ksft_print_header();
	ksft_set_plan(5);
	bench_views();
	bench_windows();
	bench_window_writes();
	bench_wtrace();
	bench_harvest();
	ksft_finished();
}
