// SPDX-License-Identifier: GPL-2.0
/*
 * kvx attack tests: a hostile guest against a sub-page window.
 *
 * Each case is written as the attacker would write it.  The window is one
 * page whose first 256 bytes the guest may read and write through the
 * trampoline; every other byte is a secret the guest must never read or
 * change.  The page is hidden from view 0, so a plain access traps to the
 * VMM (this test), which refuses forbidden offsets as QEMU would for a
 * trapped BAR page.  After each case the host compares the whole page with
 * its copy (through the backing memory, not through KVM), and checks that
 * the guest saw no secret.  Documentation/virt/kvx/subpage.rst, "Threat
 * model", lists the claims these cases test.
 *
 *   pv_msrs   KVM's paravirtual features pointed at forbidden bytes:
 *             kvmclock, steal time, PV EOI, async PF (issue 10, item 3)
 *   emulator  instructions KVM emulates, with operands on forbidden bytes:
 *             SGDT, LGDT, LOCK CMPXCHG, MOVS (item 3, item 6)
 *   nested    an L2 of the guest's own reads and writes forbidden bytes
 *             (VMX on Intel, SVM on AMD; item 2)
 *   smm       the guest's SMI handler reads and writes forbidden bytes
 *             through the SMM address space's copy of the slot (item 5)
 *   stress    2 vCPUs: one jumps into every byte of the trampoline with
 *             random registers, the other sends it interrupts and NMIs at
 *             random times; every value it gets back is checked against
 *             the page's forbidden qwords
 *   progress  the guest calls the trampoline in a loop while the host
 *             flips the guest PTE of its pointer between the window page,
 *             RAM and an unbacked GPA: every call completes (item 7)
 *   guards    the uAPI refusals the boundary relies on (EBUSY)
 *   events    an NMI and an IRQ sent while vCPU 0 is provably inside a
 *             trampoline access (the window page is userfaultfd memory,
 *             so the access's fault waits for the test) are delivered
 *             outside the window view: their frames hold the caller's
 *             stack, never the trampoline's, also with IF=1 (the guest
 *             skipped the CLI), and an NMI gate pointing at window-view
 *             code (the read or write access) reads and writes nothing
 *             forbidden (item 1)
 */
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvx.h>
#include <linux/userfaultfd.h>

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"
#include "vmx.h"
#include "kselftest.h"
#include "kvx_util.h"
#include "kvx_subpage_guest.h"
#include "../../../../arch/x86/kvm/kvx/subpage_tramp.h"

#define NR_VIEWS	2
#define TRAMP_GPA	0xd0010000ULL
#define WIN_SLOT	20
#define WIN_GPA		0xd0000000ULL
#define ALLOWED_END	0x100		/* [0, 0x100) read-write */
/* The windows' read-write range, [0, ALLOWED_END). */
#define ALLOWED_RANGE	{ .offset = 0, .size = ALLOWED_END,		\
			  .access = KVX_WINDOW_READ | KVX_WINDOW_WRITE }
#define SECRET_OFF	0x800		/* a forbidden qword */
#define TARGET_OFF	0x400		/* forbidden bytes an attacker writes */

#define VMM_REFUSED	0xffffffffffffffffULL	/* a trapped forbidden read */
#define ATTACK_VALUE	0x4141414141414141ULL

#define L2_STACK_SIZE	256

#define MSG_PV \
	"pv_msrs: kvmclock #%u, steal time #%u, PV EOI #%u, async PF #%u; %d forbidden bytes changed\n"
#define MSG_PV_OK \
	"pv_msrs: kvmclock, steal time, PV EOI, async PF never touch the page\n"
#define MSG_EMUL \
	"emulator: %s: %s, %lu trapped reads, %lu trapped writes, %d forbidden bytes changed\n"
#define MSG_EMUL_OK \
	"emulator: SGDT, LGDT, LOCK CMPXCHG, REP MOVSQ reach no forbidden byte\n"
#define MSG_NESTED \
	"nested (%s L2): read 0x%lx, secret 0x%lx, %lu trapped reads, %lu trapped writes, %d changed\n"
#define MSG_SMM \
	"smm: the SMI handler read 0x%08x, secret 0x%08x, %lu trapped reads, %lu trapped writes, %d changed\n"
#define MSG_SMM_OK \
	"smm: the SMI handler traps on the window page like view 0\n"
#define MSG_STRESS \
	"stress: %u attempts, %u guests wrecked themselves (%u shutdown, %u internal error, %u view fault, %u MMIO spin, %u stuck); exceptions%s; %lu NMIs, %lu IRQs; %lu trapped, %lu other exits; %d leaks, %d changed\n"
#define MSG_STRESS_OK \
	"stress: %u random entries under events, no forbidden byte read or written\n"
#define MSG_GUARDS_OK \
	"guards: EBUSY for hiding an existing slot, and for views off under windows or hidden slots\n"
#define MSG_PROGRESS \
	"progress: %lu calls in %.1f s under %lu PTE flips (%lu followed by a call); the guest read the window %lu, RAM %lu, unbacked %lu times; %lu trapped\n"
#define MSG_PROGRESS_OK \
	"progress: %lu trampoline calls completed while the host flipped the pointer's PTE %lu times\n"
#define MSG_NESTED_OK \
	"nested: an L2 of the guest's own traps on the window page like L1\n"

static const struct kvx_window_range win_ranges[] = { ALLOWED_RANGE };

/* ---- shared with the guest ---- */
static uint64_t seen[8];		/* what the guest read */
static uint8_t vectors[8];		/* exceptions of its WRMSRs */

struct attack_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *page;			/* the window's backing */
	uint8_t copy[4096];
	unsigned long mmio_reads, mmio_writes, mmio_forbidden;
	bool emulation_failed;
};

/* ---- host side ---- */

/*
 * A VM with one window over a page of random bytes: @ranges, window
 * @flags, the page mapped with @map (MAP_SHARED or MAP_PRIVATE).
 */
static void attack_vm_create_win(struct attack_vm *a, void *guest,
				 const struct kvx_window_range *ranges, int nr,
				 __u32 flags, int map)
{
	struct kvx_slot_views sv = { .slot = WIN_SLOT, .views = 0 };
	struct kvm_enable_cap cap = {
		.cap = KVX_CAP_WINDOWS, .args = { TRAMP_GPA, 0 },
	};
	struct kvx_window w = {
		.id = 0, .slot = WIN_SLOT, .gpa = WIN_GPA, .view = 1,
		.nr_ranges = nr, .flags = flags,
	};
	int i;

	memset(a, 0, sizeof(*a));
	a->vm = vm_create(1);
	vm_enable_cap(a->vm, KVX_CAP_VIEWS, NR_VIEWS);
	vm_ioctl(a->vm, KVM_ENABLE_CAP, &cap);
	/* Hidden from every view before the slot exists. */
	vm_ioctl(a->vm, KVX_SET_SLOT_VIEWS, &sv);
	a->vcpu = vm_vcpu_add(a->vm, 0, guest);
	virt_map(a->vm, TRAMP_GPA, TRAMP_GPA, 1);

	a->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       map | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(a->page != MAP_FAILED, "mmap: %s", strerror(errno));
	for (i = 0; i < 4096; i++)
		a->page[i] = random() | 0x80;
	memcpy(a->copy, a->page, sizeof(a->copy));
	vm_set_user_memory_region(a->vm, WIN_SLOT, 0, WIN_GPA, 4096, a->page);
	virt_map(a->vm, WIN_GPA, WIN_GPA, 1);
	memcpy(w.ranges, ranges, nr * sizeof(*ranges));
	vm_ioctl(a->vm, KVX_SET_WINDOW, &w);
}

static void attack_vm_create(struct attack_vm *a, void *guest)
{
	attack_vm_create_win(a, guest, win_ranges, ARRAY_SIZE(win_ranges), 0,
			     MAP_SHARED);
}

static void attack_vm_free(struct attack_vm *a)
{
	kvm_vm_free(a->vm);
	munmap(a->page, 4096);
}

/* The VMM's side of a trapped access: allowed offsets only. */
static void serve_mmio(struct attack_vm *a)
{
	struct kvm_run *run = a->vcpu->run;
	uint64_t off = run->mmio.phys_addr - WIN_GPA;
	bool ok = off + run->mmio.len <= ALLOWED_END;

	TEST_ASSERT(run->mmio.phys_addr >= WIN_GPA && off < 4096,
		    "MMIO exit outside the window: 0x%llx",
		    (unsigned long long)run->mmio.phys_addr);
	if (!ok)
		a->mmio_forbidden++;
	if (run->mmio.is_write) {
		a->mmio_writes++;
		if (ok)
			memcpy(a->page + off, run->mmio.data, run->mmio.len);
	} else {
		a->mmio_reads++;
		if (ok)
			memcpy(run->mmio.data, a->page + off, run->mmio.len);
		else
			memset(run->mmio.data, 0xff, run->mmio.len);
	}
}

/*
 * Run until the guest's next ucall.  Trapped accesses are served; an
 * emulation failure (KVM refused an instruction) ends the run.
 * Returns the GUEST_SYNC value, KVX_GUEST_DONE, or 0 after a failure.
 */
static uint64_t attack_run(struct attack_vm *a)
{
	struct kvm_run *run = a->vcpu->run;

	for (;;) {
		vcpu_run(a->vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO) {
			serve_mmio(a);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
		    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
			a->emulation_failed = true;
			return 0;
		}
		return kvx_ucall_value(a->vcpu);
	}
}

/* Every byte of the page as it was, but the allowed ones. */
static int page_changes(struct attack_vm *a)
{
	int i, n = 0;

	for (i = ALLOWED_END; i < 4096; i++)
		n += a->page[i] != a->copy[i];
	return n;
}

static uint64_t secret(struct attack_vm *a, int off)
{
	return *(uint64_t *)(a->copy + off);
}

/* ---- pv_msrs ---- */

static void guest_pv_msrs(void)
{
	uint64_t gpa = WIN_GPA + TARGET_OFF;

	/* kvmclock: KVM writes a pvclock_vcpu_time_info there. */
	vectors[0] = wrmsr_safe(MSR_KVM_SYSTEM_TIME_NEW, gpa | 1);
	GUEST_SYNC(1);
	/* Steal time: 64 bytes of kvm_steal_time, on every vCPU load. */
	vectors[1] = wrmsr_safe(MSR_KVM_STEAL_TIME, (gpa + 0x40) | KVM_MSR_ENABLED);
	GUEST_SYNC(2);
	/* PV EOI: a flag KVM reads and clears at each interrupt. */
	vectors[2] = wrmsr_safe(MSR_KVM_PV_EOI_EN, (gpa + 0x80) | KVM_MSR_ENABLED);
	/* Async PF: the reason word KVM writes. */
	vectors[3] = wrmsr_safe(MSR_KVM_ASYNC_PF_INT, 0xec);
	vectors[4] = wrmsr_safe(MSR_KVM_ASYNC_PF_EN, (gpa + 0xc0) |
				KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT);
	GUEST_SYNC(3);
	GUEST_DONE();
}

static void test_pv_msrs(void)
{
	struct attack_vm a;
	uint8_t v[8];
	uint64_t r;
	int changed, i;

	attack_vm_create(&a, guest_pv_msrs);
	/* Each sync is an exit and an entry: clock and steal-time updates. */
	for (i = 0; i < 8; i++) {
		r = attack_run(&a);
		TEST_ASSERT(!a.emulation_failed, "pv_msrs: emulation failure");
		if (r == KVX_GUEST_DONE)
			break;
	}
	TEST_ASSERT(r == KVX_GUEST_DONE, "pv_msrs: guest did not finish");
	sync_global_from_guest(a.vm, vectors);
	memcpy(v, vectors, sizeof(v));
	changed = page_changes(&a);
	ksft_print_msg(MSG_PV, v[0], v[1], v[2], v[4], changed);
	TEST_ASSERT(!changed, "pv_msrs: KVM wrote %d forbidden bytes", changed);
	/* Features that take a gfn cache refuse the address outright. */
	TEST_ASSERT(v[2] == GP_VECTOR, "pv_msrs: PV EOI at a window accepted (vector %u)",
		    v[2]);
	TEST_ASSERT(v[3] == 0 && v[4] == GP_VECTOR,
		    "pv_msrs: async PF at a window accepted (vectors %u, %u)",
		    v[3], v[4]);
	attack_vm_free(&a);
	ksft_test_result_pass(MSG_PV_OK);
}

/* ---- emulator ---- */

struct dt_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

static void guest_sgdt(void)
{
	asm volatile("sgdt (%0)" : : "r"(WIN_GPA + TARGET_OFF) : "memory");
	GUEST_DONE();
}

static void guest_lgdt(void)
{
	struct dt_ptr mine, now;

	asm volatile("sgdt %0" : "=m"(mine));
	asm volatile("lgdt (%0)" : : "r"(WIN_GPA + SECRET_OFF) : "memory");
	asm volatile("sgdt %0" : "=m"(now));
	asm volatile("lgdt %0" : : "m"(mine));
	seen[0] = now.base;
	seen[1] = now.limit;
	GUEST_DONE();
}

static void guest_cmpxchg(void)
{
	uint64_t *p = (uint64_t *)(WIN_GPA + TARGET_OFF);
	uint64_t old = VMM_REFUSED;

	/* Whatever compares equal, the new value must not land. */
	asm volatile("lock cmpxchgq %2, %1"
		     : "+a"(old), "+m"(*p) : "r"(ATTACK_VALUE) : "memory");
	seen[0] = old;
	GUEST_DONE();
}

static void guest_movs(void)
{
	uint64_t buf[4] = {};
	void *src = (void *)(WIN_GPA + SECRET_OFF), *dst = buf;
	uint64_t n = 4;

	asm volatile("rep movsq" : "+S"(src), "+D"(dst), "+c"(n) : : "memory");
	memcpy(seen, buf, sizeof(buf));
	GUEST_DONE();
}

static const struct {
	const char *name;
	void *guest;
} emulator_cases[] = {
	{ "SGDT to forbidden bytes", guest_sgdt },
	{ "LGDT from forbidden bytes", guest_lgdt },
	{ "LOCK CMPXCHG on forbidden bytes", guest_cmpxchg },
	{ "REP MOVSQ from forbidden bytes", guest_movs },
};

static void test_emulator(void)
{
	uint64_t got[8];
	struct attack_vm a;
	int i, k, changed;
	uint64_t r;

	for (i = 0; i < ARRAY_SIZE(emulator_cases); i++) {
		attack_vm_create(&a, emulator_cases[i].guest);
		r = attack_run(&a);
		TEST_ASSERT(a.emulation_failed || r == KVX_GUEST_DONE,
			    "%s: unexpected ucall 0x%lx", emulator_cases[i].name, r);
		sync_global_from_guest(a.vm, seen);
		memcpy(got, seen, sizeof(got));
		changed = page_changes(&a);
		ksft_print_msg(MSG_EMUL, emulator_cases[i].name,
			       a.emulation_failed ? "refused (emulation failure exit)" :
						    "completed",
			       a.mmio_reads, a.mmio_writes, changed);
		TEST_ASSERT(!changed, "%s: %d forbidden bytes changed",
			    emulator_cases[i].name, changed);
		for (k = 0; k < 4; k++) {
			TEST_ASSERT(got[k] != secret(&a, SECRET_OFF + 8 * k) &&
				    got[k] != secret(&a, SECRET_OFF + 2),
				    "%s: the guest read a secret: 0x%lx",
				    emulator_cases[i].name, got[k]);
		}
		attack_vm_free(&a);
	}
	ksft_test_result_pass(MSG_EMUL_OK);
}

/* ---- nested ---- */

static uint64_t l2_stack[L2_STACK_SIZE];
static bool l2_vmx;		/* set by L1: CPUID in L2 would exit to L1 */

static void l2_attack(void)
{
	uint64_t *w = (uint64_t *)WIN_GPA;

	seen[0] = READ_ONCE(w[SECRET_OFF / 8]);
	WRITE_ONCE(w[TARGET_OFF / 8], ATTACK_VALUE);
	seen[1] = READ_ONCE(w[0]);	/* an allowed qword, for contrast */
	if (l2_vmx)
		vmcall();
	else
		vmmcall();
}

static void l1_vmx(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_attack, &l2_stack[L2_STACK_SIZE]);
	GUEST_ASSERT(!vmlaunch());
	GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
}

static void l1_svm(struct svm_test_data *svm)
{
	generic_svm_setup(svm, l2_attack, &l2_stack[L2_STACK_SIZE]);
	run_guest(svm->vmcb, svm->vmcb_gpa);
	GUEST_ASSERT_EQ(svm->vmcb->control.exit_code, SVM_EXIT_VMMCALL);
}

static void guest_nested(void *data)
{
	l2_vmx = this_cpu_has(X86_FEATURE_VMX);
	if (l2_vmx)
		l1_vmx(data);
	else
		l1_svm(data);
	GUEST_DONE();
}

/*
 * One L2 attack.  @ept (VMX only): L1 gives L2 an EPT of its own (identity
 * over L1's RAM and the window page), so L2 runs on KVM's shadow EPT
 * (guest_mmu); otherwise L2 shares L1's physical space on the L1 root.
 */
static void nested_once(bool ept)
{
	struct vmx_pages *vmx;
	struct attack_vm a;
	vm_vaddr_t gva;
	uint64_t r, got[2];
	int changed;

	attack_vm_create(&a, guest_nested);
	if (kvm_cpu_has(X86_FEATURE_VMX)) {
		vmx = vcpu_alloc_vmx(a.vm, &gva);
		if (ept) {
			prepare_eptp(vmx, a.vm, 0);
			nested_map_memslot(vmx, a.vm, 0);
			nested_map(vmx, a.vm, WIN_GPA, WIN_GPA, 4096);
		}
	} else {
		vcpu_alloc_svm(a.vm, &gva);
	}
	vcpu_args_set(a.vcpu, 1, gva);
	r = attack_run(&a);
	sync_global_from_guest(a.vm, seen);
	memcpy(got, seen, sizeof(got));
	changed = page_changes(&a);
	ksft_print_msg(MSG_NESTED, kvm_cpu_has(X86_FEATURE_VMX) ?
		       (ept ? "VMX, nested EPT," : "VMX") : "SVM", got[0],
		       secret(&a, SECRET_OFF), a.mmio_reads, a.mmio_writes, changed);
	TEST_ASSERT(got[0] != secret(&a, SECRET_OFF), "nested: L2 read the secret");
	TEST_ASSERT(!changed, "nested: L2 changed %d forbidden bytes", changed);
	TEST_ASSERT(r == KVX_GUEST_DONE, "nested: guest stopped (0x%lx, %s)", r,
		    a.emulation_failed ? "emulation failure" : "ucall");
	TEST_ASSERT(a.mmio_forbidden >= 2,
		    "nested: L2's forbidden accesses did not trap (%lu)",
		    a.mmio_forbidden);
	attack_vm_free(&a);
}

static void test_nested(void)
{
	nested_once(false);
	/* The selftest library builds nested page tables for VMX only. */
	if (kvm_cpu_has(X86_FEATURE_VMX))
		nested_once(true);
	ksft_test_result_pass(MSG_NESTED_OK);
}

/* ---- smm ---- */

#define SMRAM_GPA	0x1000000
#define SMRAM_SLOT	((1 << 16) | 1)
#define SMRAM_PAGES	16
#define SMM_PORT	0xe

/*
 * The SMI handler, 16-bit code at SMBASE + 0x8000 (SMM starts with DS base
 * 0 and 4 GiB limits, paging off):
 *	mov eax, [WIN_GPA + SECRET_OFF]
 *	out SMM_PORT, eax
 *	mov dword [WIN_GPA + TARGET_OFF], 0x41414141
 *	rsm
 */
static void smm_handler(uint8_t *p)
{
	uint32_t secret = WIN_GPA + SECRET_OFF, target = WIN_GPA + TARGET_OFF;
	uint8_t *s = p;

	*p++ = 0x66; *p++ = 0x67; *p++ = 0xa1;
	memcpy(p, &secret, 4);
	p += 4;
	*p++ = 0x66; *p++ = 0xe7; *p++ = SMM_PORT;
	*p++ = 0x66; *p++ = 0x67; *p++ = 0xc7; *p++ = 0x05;
	memcpy(p, &target, 4);
	p += 4;
	memset(p, 0x41, 4);
	p += 4;
	*p++ = 0x0f; *p++ = 0xaa;
	TEST_ASSERT(p - s < 64, "SMI handler too long");
}

static void guest_smm(void)
{
	GUEST_SYNC(1);		/* the host makes an SMI pending */
	GUEST_DONE();
}

static void test_smm(void)
{
	struct kvx_slot_views sv = { .slot = 1 << 16 | WIN_SLOT, .views = 0 };
	struct kvm_vcpu_events ev;
	struct attack_vm a;
	uint32_t got = 0;
	bool reported = false;
	struct kvm_run *run;
	int changed;

	attack_vm_create(&a, guest_smm);
	/*
	 * A VMM with SMM maps its memory in both address spaces (QEMU does),
	 * the window page too, and hides both copies.
	 */
	vm_ioctl(a.vm, KVX_SET_SLOT_VIEWS, &sv);
	vm_set_user_memory_region(a.vm, 1 << 16 | WIN_SLOT, 0, WIN_GPA, 4096,
				  a.page);
	vm_userspace_mem_region_add(a.vm, VM_MEM_SRC_ANONYMOUS, SMRAM_GPA,
				    SMRAM_SLOT, SMRAM_PAGES, 0);
	TEST_ASSERT(vm_phy_pages_alloc(a.vm, SMRAM_PAGES, SMRAM_GPA, SMRAM_SLOT) ==
		    SMRAM_GPA, "SMRAM allocation");
	memset(addr_gpa2hva(a.vm, SMRAM_GPA), 0, SMRAM_PAGES * 4096);
	smm_handler(addr_gpa2hva(a.vm, SMRAM_GPA + 0x8000));
	vcpu_set_msr(a.vcpu, MSR_IA32_SMBASE, SMRAM_GPA);

	TEST_ASSERT(attack_run(&a) == 1, "smm: first sync");
	vcpu_events_get(a.vcpu, &ev);
	ev.smi.pending = 1;
	ev.flags |= KVM_VCPUEVENT_VALID_SMM;
	vcpu_events_set(a.vcpu, &ev);

	run = a.vcpu->run;
	for (;;) {
		vcpu_run(a.vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO) {
			serve_mmio(&a);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == SMM_PORT) {
			TEST_ASSERT(run->io.size == 4 && run->io.direction == KVM_EXIT_IO_OUT,
				    "smm: port access %u bytes", run->io.size);
			memcpy(&got, (uint8_t *)run + run->io.data_offset, 4);
			reported = true;
			continue;
		}
		TEST_ASSERT(run->exit_reason != KVM_EXIT_INTERNAL_ERROR,
			    "smm: internal error %u", run->internal.suberror);
		break;
	}
	TEST_ASSERT(kvx_ucall_value(a.vcpu) == KVX_GUEST_DONE, "smm: guest did not finish");
	changed = page_changes(&a);
	ksft_print_msg(MSG_SMM, got, (uint32_t)secret(&a, SECRET_OFF), a.mmio_reads,
		       a.mmio_writes, changed);
	TEST_ASSERT(reported, "smm: the SMI handler did not run");
	TEST_ASSERT(got != (uint32_t)secret(&a, SECRET_OFF), "smm: SMM read the secret");
	TEST_ASSERT(!changed, "smm: SMM changed %d forbidden bytes", changed);
	attack_vm_free(&a);
	ksft_test_result_pass(MSG_SMM_OK);
}

/* ---- stress ---- */

/*
 * 10^5 attempts on QEMU; Bochs runs about 40 a second, so it makes 5,000
 * there (testing.rst has the times).  argv[2] sets another number.
 */
#define STRESS_ATTEMPTS		10000
#define STRESS_ATTEMPTS_BOCHS	300
static uint32_t stress_attempts;
#define STRESS_CHUNK	4096		/* attempts between two host checks */
#define IPI_VECTOR	0xf0
#define DONE_PORT	0xe		/* the guest's "look at me" */

struct attempt {
	uint64_t rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11, target;
};

/*
 * vCPU 0's state, shared with its exception handlers.  Global, not static:
 * the attempt's asm refers to them by name.
 */
struct attempt st_in;
uint64_t st_saved[7];		/* rsp, rbx, rbp, r12-r15 */
uint64_t st_frame[2];		/* R11's stack: RFLAGS, return */
uint64_t st_stack[64];
uint64_t st_idx;			/* slot in got_rdx/got_rax */
uint64_t got_rdx[STRESS_CHUNK], got_rax[STRESS_CHUNK];
static uint64_t rec_rip;
static uint64_t nr_exc[32], nr_nmi, nr_ipi, nr_ret;
static uint32_t chunk_done, stress_stop, via_exception, stress_ready;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t stress_exc[32];		/* host: exceptions of every VM */
/*
 * host: how guests wrecked themselves: shutdown, internal error, view
 * fault, MMIO spin, stuck (the watchdog)
 */
static uint32_t stress_wrecks[5];

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void stress_recover(struct ex_regs *regs)
{
	if (regs->vector < 32)
		nr_exc[regs->vector]++;
	via_exception = 1;
	regs->rip = rec_rip;
	/* The interrupted RSP, in the frame above RFLAGS. */
	(&regs->rflags)[1] = st_saved[0];
	regs->rflags = 0x202;
}

static void stress_nmi(struct ex_regs *regs)
{
	nr_nmi++;
}

static void stress_ipi(struct ex_regs *regs)
{
	nr_ipi++;
	x2apic_write_reg(APIC_EOI, 0);
}

/* A register value an attacker would try. */
static uint64_t pick(uint64_t r)
{
	switch (r % 8) {
	case 0:
		return 0;
	case 1:
		return 1;			/* the window's view */
	case 2:
		return WIN_GPA + (r >> 8) % 4096;	/* any byte of the page */
	case 3:
		return WIN_GPA + SECRET_OFF;
	case 4:
		return 1 << ((r >> 8) % 4);	/* an access size */
	case 5:
		return TRAMP_GPA + (r >> 8) % 4096;
	default:
		return r | (1ULL << 63);	/* non-canonical */
	}
}

/*
 * One attempt: random registers, a jump to trampoline byte @i % 4096.  The
 * trampoline's own return (through R11's frame) and every exception land
 * at "recovered", which restores the stack and the callee-saved registers
 * that random code may have changed.
 */
static void stress_attempt(uint32_t i)
{
	uint64_t r = next_rand();

	st_in.rax = r & 1 ? 0 : pick(next_rand());
	/* ECX is the view for VMFUNC; a huge RCX would make a REP run forever. */
	st_in.rcx = pick(next_rand()) & 0xff;
	st_in.rdx = pick(next_rand());
	st_in.rsi = pick(next_rand());
	st_in.rdi = r & 2 ? 0 : pick(next_rand());
	st_in.r8 = pick(next_rand());
	st_in.r9 = pick(next_rand());
	st_in.r10 = pick(next_rand());
	/* Not the window: a stack there makes the guest spin on MMIO. */
	st_in.r11 = r & 4 ? (uint64_t)st_frame : pick(next_rand() & ~6ULL);
	st_in.target = TRAMP_GPA + i % 4096;
	st_idx = i % STRESS_CHUNK;
	st_frame[0] = 0x202;
	st_frame[1] = (uint64_t)&&recovered;
	rec_rip = (uint64_t)&&recovered;
	via_exception = 0;
	/*
	 * One attempt in four starts with an interrupt of its own pending and
	 * IF=0: it arrives wherever the code sets IF again (STI, POPF, the
	 * trampoline's return), whatever the other vCPU manages to send.
	 */
	if (!(r & 0x30)) {
		asm volatile("cli");
		x2apic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VECTOR);
	}
	asm goto("mov %%rsp, st_saved\n\t"
		 "mov %%rbx, st_saved+8\n\t"
		 "mov %%rbp, st_saved+16\n\t"
		 "mov %%r12, st_saved+24\n\t"
		 "mov %%r13, st_saved+32\n\t"
		 "mov %%r14, st_saved+40\n\t"
		 "mov %%r15, st_saved+48\n\t"
		 "lea st_stack+%c[top], %%rsp\n\t"
		 "mov st_in+8*0, %%rax\n\t"
		 "mov st_in+8*1, %%rcx\n\t"
		 "mov st_in+8*2, %%rdx\n\t"
		 "mov st_in+8*3, %%rsi\n\t"
		 "mov st_in+8*4, %%rdi\n\t"
		 "mov st_in+8*5, %%r8\n\t"
		 "mov st_in+8*6, %%r9\n\t"
		 "mov st_in+8*7, %%r10\n\t"
		 "mov st_in+8*8, %%r11\n\t"
		 "jmp *st_in+8*9\n\t"
		 : : [top] "i"(sizeof(st_stack))
		 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
		   "memory", "cc"
		 : recovered);
recovered:
	asm volatile("mov st_saved, %%rsp\n\t"
		     "mov st_saved+8, %%rbx\n\t"
		     "mov st_saved+16, %%rbp\n\t"
		     "mov st_saved+24, %%r12\n\t"
		     "mov st_saved+32, %%r13\n\t"
		     "mov st_saved+40, %%r14\n\t"
		     "mov st_saved+48, %%r15\n\t"
		     "mov st_idx, %%rcx\n\t"
		     "mov %%rdx, got_rdx(,%%rcx,8)\n\t"
		     "mov %%rax, got_rax(,%%rcx,8)\n\t"
		     : : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
		       "r11", "memory", "cc");
	if (!via_exception)
		nr_ret++;
}

static void guest_stress_victim(uint32_t start)
{
	uint32_t i;

	x2apic_enable();
	asm volatile("sti");
	/*
	 * Whether an event lands inside an attempt is up to the timing of two
	 * vCPUs (on Bochs, NMIs mostly hit a random RSP and shut the guest
	 * down unseen).  That the sender's NMIs and IRQs reach this vCPU at
	 * all is not: the first VM waits for one of each before it starts.
	 */
	while (!start && (!READ_ONCE(nr_nmi) || !READ_ONCE(nr_ipi)))
		asm volatile("sti; hlt");
	WRITE_ONCE(stress_ready, 1);
	for (i = start; i < stress_attempts; i++) {
		stress_attempt(i);
		if (i % STRESS_CHUNK == STRESS_CHUNK - 1 || i == stress_attempts - 1) {
			WRITE_ONCE(chunk_done, i + 1);
			outl(DONE_PORT, i + 1);
		}
	}
	WRITE_ONCE(stress_stop, 1);
	outl(DONE_PORT, 0);
	for (;;)
		asm volatile("hlt");
}

/* vCPU 1: interrupts and NMIs for vCPU 0 at random times. */
static void guest_stress_sender(void)
{
	uint64_t n;

	x2apic_enable();
	while (!READ_ONCE(stress_stop)) {
		for (n = next_rand() % 256; n; n--)
			asm volatile("nop");
		x2apic_write_reg(APIC_ICR, APIC_DEST_PHYSICAL |
				 (next_rand() & 1 ? APIC_DM_NMI : APIC_DM_FIXED | IPI_VECTOR));
	}
	outl(DONE_PORT, 1);
	for (;;)
		asm volatile("cli; hlt");
}

struct sender {
	struct kvm_vcpu *vcpu;
	int exits;
};

static void *stress_sender_thread(void *arg)
{
	struct sender *s = arg;

	for (;;) {
		vcpu_run(s->vcpu);
		s->exits++;
		if (s->vcpu->run->exit_reason == KVM_EXIT_IO &&
		    s->vcpu->run->io.port == DONE_PORT)
			return NULL;
		TEST_ASSERT(s->vcpu->run->exit_reason == KVM_EXIT_IO ||
			    s->vcpu->run->exit_reason == KVM_EXIT_INTR,
			    "stress: sender exit %u", s->vcpu->run->exit_reason);
	}
}

/*
 * The guest may also wreck itself by spinning without an exit (a jump to
 * itself decoded from the middle of an instruction) or by halting where no
 * event can wake it.  The watchdog is the VMM that notices: no new attempt
 * for STRESS_STUCK_S seconds, and it interrupts KVM_RUN until the run loop
 * has seen it.  Time only decides when to give up on a guest that no
 * longer runs attempts; every check is made whatever it decides.
 */
#define STRESS_STUCK_S	2
#define STRESS_READY_S	120	/* for the first NMI and IRQ */

struct watchdog {
	pthread_t runner;
	uint64_t *idx;
	uint32_t *done, *ready;
	bool fired, seen, quit;
};

static void stress_sigusr1(int sig)
{
}

static void *stress_watchdog(void *arg)
{
	struct watchdog *w = arg;
	uint64_t idx = -1ULL;
	uint32_t done = 0;
	int still = 0, waiting = 0;

	while (!READ_ONCE(w->quit)) {
		usleep(100 * 1000);
		if (READ_ONCE(w->fired)) {
			if (!READ_ONCE(w->seen))
				pthread_kill(w->runner, SIGUSR1);
			continue;
		}
		if (!READ_ONCE(*w->ready)) {
			if (++waiting >= STRESS_READY_S * 10)
				WRITE_ONCE(w->fired, true);
			continue;
		}
		if (READ_ONCE(*w->idx) != idx || READ_ONCE(*w->done) != done) {
			idx = READ_ONCE(*w->idx);
			done = READ_ONCE(*w->done);
			still = 0;
		} else if (++still >= STRESS_STUCK_S * 10) {
			WRITE_ONCE(w->fired, true);
		}
	}
	return NULL;
}

/* Did the guest get a forbidden qword back in RDX or RAX? */
static int stress_leaks(struct attack_vm *a, uint32_t first, uint32_t n)
{
	int leaks = 0, off;
	uint32_t i;

	sync_global_from_guest(a->vm, got_rdx);
	sync_global_from_guest(a->vm, got_rax);
	for (i = first; i < first + n && i < STRESS_CHUNK; i++) {
		for (off = ALLOWED_END; off < 4096; off += 8) {
			leaks += got_rdx[i] == secret(a, off);
			leaks += got_rax[i] == secret(a, off);
		}
	}
	return leaks;
}

/*
 * One VM of the stress, from attempt @start.  Returns the attempts done:
 * all of them, or up to the one after which the guest had wrecked itself
 * (an exit no guest survives, or one attempt spinning on trapped
 * accesses), which the caller counts and skips.
 */
static uint32_t stress_vm(uint32_t start, int *leaks, int *changed,
			  uint64_t *trapped, uint64_t *other, uint64_t *events)
{
	uint64_t *stop, spin = 0, last_idx = -1ULL;
	uint32_t done = start, v, *cdone;
	struct watchdog wd = {};
	struct sender s = {};
	struct attack_vm a;
	struct kvm_run *run;
	pthread_t thread, watch;
	bool wrecked = false;
	int i;

	attack_vm_create(&a, guest_stress_victim);
	sync_global_to_guest(a.vm, stress_attempts);
	vcpu_args_set(a.vcpu, 1, start);
	for (i = 0; i < 256; i++)
		vm_install_exception_handler(a.vm, i, stress_recover);
	vm_install_exception_handler(a.vm, NMI_VECTOR, stress_nmi);
	vm_install_exception_handler(a.vm, IPI_VECTOR, stress_ipi);
	s.vcpu = vm_vcpu_add(a.vm, 1, guest_stress_sender);
	pthread_create(&thread, NULL, stress_sender_thread, &s);
	stop = addr_gva2hva(a.vm, (vm_vaddr_t)&stress_stop);
	cdone = addr_gva2hva(a.vm, (vm_vaddr_t)&chunk_done);
	wd.runner = pthread_self();
	wd.idx = addr_gva2hva(a.vm, (vm_vaddr_t)&st_idx);
	wd.done = cdone;
	wd.ready = addr_gva2hva(a.vm, (vm_vaddr_t)&stress_ready);
	pthread_create(&watch, NULL, stress_watchdog, &wd);

	run = a.vcpu->run;
	while (!wrecked) {
		uint64_t idx = *(uint64_t *)addr_gva2hva(a.vm, (vm_vaddr_t)&st_idx);

		if (idx != last_idx) {
			last_idx = idx;
			spin = 0;
		}
		if (__vcpu_run(a.vcpu)) {
			TEST_ASSERT(errno == EINTR, "stress: KVM_RUN: %s", strerror(errno));
			if (READ_ONCE(wd.fired)) {
				WRITE_ONCE(wd.seen, true);
				TEST_ASSERT(READ_ONCE(*wd.ready),
					    "stress: no NMI and IRQ from vCPU 1 in %d s (%lu NMIs, %lu IRQs)",
					    STRESS_READY_S,
					    *(uint64_t *)addr_gva2hva(a.vm, (vm_vaddr_t)&nr_nmi),
					    *(uint64_t *)addr_gva2hva(a.vm, (vm_vaddr_t)&nr_ipi));
				stress_wrecks[4]++;
				wrecked = true;
			}
			continue;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			if (run->mmio.phys_addr >= WIN_GPA &&
			    run->mmio.phys_addr < WIN_GPA + 4096) {
				serve_mmio(&a);
				wrecked = ++spin > 20000;
				stress_wrecks[3] += wrecked;
			} else {
				/* A write to the read-only trampoline slot. */
				TEST_ASSERT(run->mmio.phys_addr >> 12 == TRAMP_GPA >> 12,
					    "stress: MMIO at 0x%llx",
					    (unsigned long long)run->mmio.phys_addr);
				(*other)++;
			}
			continue;
		case KVM_EXIT_IO:
			if (run->io.port == 0x1000)	/* a ucall: an assertion */
				kvx_ucall_value(a.vcpu);
			if (run->io.port != DONE_PORT || run->io.size != 4) {
				(*other)++;	/* random port I/O */
				continue;
			}
			memcpy(&v, (uint8_t *)run + run->io.data_offset, 4);
			if (v && v == READ_ONCE(*cdone) && v > done) {
				*leaks += stress_leaks(&a, done % STRESS_CHUNK, v - done);
				done = v;
				TEST_ASSERT(!page_changes(&a),
					    "stress: forbidden bytes changed by attempt %u", done);
			}
			if (!v && READ_ONCE(*stop))
				break;
			continue;
		case KVM_EXIT_INTR:
			continue;
		case KVM_EXIT_SHUTDOWN:
		case KVM_EXIT_INTERNAL_ERROR:
		case KVX_EXIT_VIEW_FAULT:
			/* The guest wrecked itself; the VMM would stop it. */
			stress_wrecks[run->exit_reason == KVM_EXIT_SHUTDOWN ? 0 :
				      run->exit_reason == KVM_EXIT_INTERNAL_ERROR ? 1 : 2]++;
			wrecked = true;
			continue;
		default:
			TEST_FAIL("stress: vCPU 0 exit %u (%s) after %u attempts",
				  run->exit_reason, exit_reason_str(run->exit_reason), done);
		}
		break;
	}
	if (wrecked) {
		uint32_t end = done - done % STRESS_CHUNK + last_idx;

		if (last_idx == -1ULL || end < done)
			end = done;

		/* Check what it did before, skip the attempt that did it. */
		if (end > done)
			*leaks += stress_leaks(&a, done % STRESS_CHUNK, end - done);
		done = end + 1;
	}
	WRITE_ONCE(wd.quit, true);
	pthread_join(watch, NULL);
	WRITE_ONCE(*stop, 1);
	pthread_join(thread, NULL);
	sync_global_from_guest(a.vm, nr_exc);
	sync_global_from_guest(a.vm, nr_nmi);
	sync_global_from_guest(a.vm, nr_ipi);
	for (i = 0; i < 32; i++)
		stress_exc[i] += nr_exc[i];
	events[0] += nr_nmi;
	events[1] += nr_ipi;
	*trapped += a.mmio_reads + a.mmio_writes;
	*changed += page_changes(&a);
	attack_vm_free(&a);
	return done;
}

static void test_stress(void)
{
	struct sigaction sa = { .sa_handler = stress_sigusr1 };
	uint64_t trapped = 0, other = 0, events[2] = {};
	uint32_t done = 0, vms = 0;
	int leaks = 0, changed = 0, i;
	char list[256] = "";

	/* No SA_RESTART: the watchdog's signal ends KVM_RUN with EINTR. */
	sigaction(SIGUSR1, &sa, NULL);
	while (done < stress_attempts) {
		done = stress_vm(done, &leaks, &changed, &trapped, &other, events);
		vms++;
		TEST_ASSERT(!leaks && !changed, "stress: %d leaks, %d bytes changed by %u",
			    leaks, changed, done);
	}
	for (i = 0; i < 32; i++) {
		if (stress_exc[i])
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 " #%d:%lu", i, stress_exc[i]);
	}
	ksft_print_msg(MSG_STRESS, done, vms - 1, stress_wrecks[0], stress_wrecks[1],
		       stress_wrecks[2], stress_wrecks[3], stress_wrecks[4], list,
		       events[0], events[1], trapped, other, leaks, changed);
	TEST_ASSERT(events[0] && events[1], "stress: events did not arrive (%lu NMIs, %lu IRQs)",
		    events[0], events[1]);
	ksft_test_result_pass(MSG_STRESS_OK, done);
}

/* ---- progress: forward progress while the host flips a guest PTE ---- */

#define PROG_GVA	0x60000000ULL	/* the pointer's page */
#define PROG_UNBACKED	0xd0020000ULL	/* no memslot: the VMM answers */
#define PROG_OFF	0x10		/* allowed in the window */
#define PROG_UNBACKED_VAL 0x5555555555555555ULL
#define PROG_CALLS	100000
#define PROG_CALLS_BOCHS 20000
#define PROG_FLIPS	2000		/* flips with a call after each */
#define PROG_FLIPS_BOCHS 200		/* one CPU: each flip waits for a tick */
#define PROG_STALL_S	30		/* no call completed for this long */
#define PROG_MAX_S	60		/* flipping stops after this, done or not */

static uint64_t prog_iters;		/* guest: calls completed */
static uint32_t prog_stop;		/* host: enough flips straddled */
static uint64_t prog_val[3];		/* window, RAM, unbacked */
static uint64_t prog_seen[3];

static void guest_progress(uint64_t calls)
{
	uint64_t i;
	__u64 v;
	int k, r;

	for (i = 0; i < calls || !READ_ONCE(prog_stop); i++) {
		r = kvx_window_read((const void *)TRAMP_GPA, 0,
				    (const void *)(PROG_GVA + PROG_OFF), 8, &v);
		GUEST_ASSERT_EQ(r, 0);
		for (k = 0; k < 3 && v != prog_val[k]; k++)
			;
		__GUEST_ASSERT(k < 3, "call %lu read 0x%llx", i, v);
		prog_seen[k]++;
		WRITE_ONCE(prog_iters, i + 1);
	}
	GUEST_DONE();
}

struct flipper {
	uint64_t *pte, *iters, gpa[3];
	uint32_t *stop;
	uint64_t want, flips, flips_during;
	bool quit;
};

/*
 * Flips the PTE once the guest is in its loop, until @want flips were each
 * followed by a call the guest completed; then lets the guest stop.
 */
static void *prog_flip(void *arg)
{
	struct flipper *f = arg;
	time_t end = time(NULL) + PROG_MAX_S;
	uint64_t at_flip;

	while (!READ_ONCE(*f->iters) && !READ_ONCE(f->quit))
		sched_yield();
	at_flip = READ_ONCE(*f->iters);
	while (!READ_ONCE(f->quit) && f->flips_during < f->want &&
	       time(NULL) < end) {
		uint64_t pte = READ_ONCE(*f->pte), now;

		pte &= ~PHYSICAL_PAGE_MASK;
		WRITE_ONCE(*f->pte, pte | f->gpa[f->flips % 3]);
		f->flips++;
		/* Wait for a call to complete after this flip. */
		while ((now = READ_ONCE(*f->iters)) == at_flip && !READ_ONCE(f->quit))
			sched_yield();
		at_flip = now;
		f->flips_during++;
	}
	WRITE_ONCE(*f->stop, 1);
	return NULL;
}

struct stall_watch {
	pthread_t runner;
	uint64_t *iters;
	bool fired, quit;
};

static void *prog_watch(void *arg)
{
	struct stall_watch *w = arg;
	uint64_t last = -1ULL;
	int still = 0;

	while (!READ_ONCE(w->quit)) {
		sleep(1);
		if (READ_ONCE(*w->iters) != last) {
			last = READ_ONCE(*w->iters);
			still = 0;
		} else if (++still >= PROG_STALL_S) {
			WRITE_ONCE(w->fired, true);
			pthread_kill(w->runner, SIGUSR1);
		}
	}
	return NULL;
}

static void test_progress(void)
{
	struct sigaction sa = { .sa_handler = stress_sigusr1 };
	uint64_t calls = kvx_host_is_vmx() ? PROG_CALLS_BOCHS : PROG_CALLS;
	uint64_t unbacked = 0, ram_gva, iters, seen[3];
	struct stall_watch w = { .runner = pthread_self() };
	struct flipper f = {
		.want = kvx_host_is_vmx() ? PROG_FLIPS_BOCHS : PROG_FLIPS,
	};
	pthread_t flip, watch;
	struct timespec t0, t1;
	struct attack_vm a;
	struct kvm_run *run;
	uint8_t *ram;
	int i;

	sigaction(SIGUSR1, &sa, NULL);
	attack_vm_create(&a, guest_progress);
	vcpu_args_set(a.vcpu, 1, calls);
	ram_gva = vm_vaddr_alloc_page(a.vm);
	ram = addr_gva2hva(a.vm, ram_gva);
	for (i = 0; i < 4096; i++)
		ram[i] = 0x30 + i % 7;
	virt_pg_map(a.vm, PROG_GVA, WIN_GPA);
	prog_val[0] = *(uint64_t *)(a.page + PROG_OFF);
	prog_val[1] = *(uint64_t *)(ram + PROG_OFF);
	prog_val[2] = PROG_UNBACKED_VAL;
	sync_global_to_guest(a.vm, prog_val);
	f.pte = vm_get_page_table_entry(a.vm, PROG_GVA);
	f.iters = addr_gva2hva(a.vm, (vm_vaddr_t)&prog_iters);
	f.stop = addr_gva2hva(a.vm, (vm_vaddr_t)&prog_stop);
	f.gpa[0] = WIN_GPA;
	f.gpa[1] = addr_gva2gpa(a.vm, ram_gva);
	f.gpa[2] = PROG_UNBACKED;
	w.iters = f.iters;
	pthread_create(&flip, NULL, prog_flip, &f);
	pthread_create(&watch, NULL, prog_watch, &w);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	run = a.vcpu->run;
	for (;;) {
		if (__vcpu_run(a.vcpu)) {
			TEST_ASSERT(errno == EINTR, "progress: KVM_RUN: %s", strerror(errno));
			if (READ_ONCE(w.fired))
				break;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO &&
		    run->mmio.phys_addr == PROG_UNBACKED + PROG_OFF &&
		    !run->mmio.is_write && run->mmio.len == 8) {
			memcpy(run->mmio.data, &prog_val[2], 8);
			unbacked++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			serve_mmio(&a);
			continue;
		}
		TEST_ASSERT(kvx_ucall_value(a.vcpu) == KVX_GUEST_DONE,
			    "progress: guest stopped");
		break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	WRITE_ONCE(f.quit, true);
	WRITE_ONCE(w.quit, true);
	pthread_join(flip, NULL);
	pthread_join(watch, NULL);
	iters = READ_ONCE(*f.iters);
	sync_global_from_guest(a.vm, prog_seen);
	memcpy(seen, prog_seen, sizeof(seen));
	ksft_print_msg(MSG_PROGRESS, iters,
		       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		       f.flips, f.flips_during, seen[0], seen[1], seen[2],
		       a.mmio_reads + unbacked);
	TEST_ASSERT(!w.fired, "progress: no call completed in %d s (%lu of %lu done)",
		    PROG_STALL_S, iters, calls);
	TEST_ASSERT(iters >= calls, "progress: %lu of %lu calls", iters, calls);
	/* On a slow machine the time limit may end it first: one is enough. */
	TEST_ASSERT(f.flips_during,
		    "progress: no flip followed by a call (of %lu wanted)", f.want);
	TEST_ASSERT(!page_changes(&a) && !a.mmio_forbidden,
		    "progress: %d forbidden bytes changed, %lu forbidden trapped accesses",
		    page_changes(&a), a.mmio_forbidden);
	attack_vm_free(&a);
	ksft_test_result_pass(MSG_PROGRESS_OK, iters, f.flips);
}

/* ---- events: an NMI and an IRQ pending while vCPU 0 is inside a window view ---- */

/*
 * The window page is anonymous memory registered with userfaultfd (missing
 * pages) and dropped before each hold, so the trampoline's access faults
 * and KVM's fault-in waits for this test: the uffd message proves that
 * vCPU 0 is inside the access, in the window view (VMFUNC) or in the
 * hypercall (SVM).  Only then does the test send it an NMI and an IRQ
 * (KVM_SIGNAL_MSI: a VM ioctl, as the vCPU holds its mutex), and it
 * resolves the fault with UFFDIO_COPY of the page.  Nothing else touches
 * the page meanwhile: trapped accesses are served from the copy.
 *
 * The guest's NMI and IRQ gates use IST stacks in RAM, as Linux's NMI gate
 * does, so an event delivered in a window view leaves a trace: its frame
 * holds the trampoline's RSP (its page), which a window view never
 * changes.  Delivered after the vCPU left the view (subpage.rst 3.4), the
 * frame holds the caller's stack (R11, 3.2).
 */
#define EV_RO_OFF	0x200		/* a read-only qword */
#define EV_WO_OFF	0x300		/* a write-only qword */
#define EV_IRQ_VECTOR	0xe0
#define EV_HOLD_S	120		/* no fault after arming: failure detection */
#define EV_ARM		0x100
#define EV_DONE		0x200
#define EV_MSG \
	"events %s: held by %s %d; NMI %u%s, IRQ %u%s; returned %d, 0x%lx (register 0x%lx); %d forbidden bytes changed, %d secrets seen; %lu trapped reads (%lu refused), %lu trapped writes\n"
#define EV_MSG_OK \
	"events: %u holds; NMIs and IRQs sent inside the access are delivered outside the window view\n"

static const struct kvx_window_range ev_ranges[] = {
	ALLOWED_RANGE,
	{ .offset = EV_RO_OFF, .size = 8, .access = KVX_WINDOW_READ },
	{ .offset = EV_WO_OFF, .size = 8, .access = KVX_WINDOW_WRITE },
};

enum { EV_CALL, EV_NOCLI };

/*
 * One hold: a call of the trampoline (EV_CALL: as the ABI says; EV_NOCLI:
 * the attacker's own PUSHF, then the code after the trampoline's CLI, so
 * IF stays 1), 8 bytes at @off, and the events it gets: an NMI, an IRQ.
 * @gate >= 0: the guest's NMI gate points at that trampoline label, code
 * that runs in the window view with the registers of the held call.  Those
 * get the NMI alone: with an IRQ pending as well, KVM would ask for an
 * exit right after the NMI's delivery (to inject the IRQ), and that exit
 * would take the vCPU out of the window view before the gate's code ran.
 */
struct ev_hold {
	const char *name;
	uint8_t entry, write, nmi, irq;
	int8_t gate;
	uint16_t off;
	uint64_t rdx;
};

static const struct ev_hold ev_holds[] = {
	{ "call", EV_CALL, 0, 1, 1, -1, 0x10, 0 },
	{ "no cli", EV_NOCLI, 0, 0, 1, -1, 0x18, 0 },
	/* Read a read-only register; the NMI writes RDX to it. */
	{ "NMI gate at the write access", EV_CALL, 0, 1, 0, KVX_SUBPAGE_L_WRITE,
	  EV_RO_OFF, ATTACK_VALUE },
	/* Write a write-only register; the NMI reads it. */
	{ "NMI gate at the read access", EV_CALL, 1, 1, 0, KVX_SUBPAGE_L_READ,
	  EV_WO_OFF, ATTACK_VALUE },
};

#define EV_HOLDS	ARRAY_SIZE(ev_holds)

struct ev_frame {
	uint64_t rip, rsp, rflags;
	uint32_t n;
};

/* Global, not static: the calls' asm refers to them by name. */
uint64_t ev_rsp;			/* RSP at the call */
uint64_t ev_body;			/* .Lread after its PUSHF; CLI */
static uint32_t ev_k;			/* the hold */
static uint8_t ev_mode;			/* the trampoline's */
static struct ev_frame ev_nmi[EV_HOLDS], ev_irq[EV_HOLDS];
static uint64_t ev_val[EV_HOLDS], ev_sp[EV_HOLDS];
static int ev_ret[EV_HOLDS];

static void ev_record(struct ev_frame *f, struct ex_regs *regs)
{
	f->rip = regs->rip;
	f->rsp = (&regs->rflags)[1];	/* the interrupted RSP */
	f->rflags = regs->rflags;
	f->n++;
}

static void ev_nmi_handler(struct ex_regs *regs)
{
	ev_record(&ev_nmi[READ_ONCE(ev_k)], regs);
}

static void ev_irq_handler(struct ex_regs *regs)
{
	ev_record(&ev_irq[READ_ONCE(ev_k)], regs);
	x2apic_write_reg(APIC_EOI, 0);
}

static void ev_call(const struct ev_hold *h)
{
	register uint64_t rdx asm("rdx") = h->rdx;
	register uint64_t rsi asm("rsi") = WIN_GPA + h->off;
	register uint64_t rdi asm("rdi") = 0;
	unsigned int off = (h->write ? KVX_GUEST_ENTRY_WRITE1 : KVX_GUEST_ENTRY_READ1) +
			   3 * KVX_GUEST_ENTRY_STRIDE;
	const void *entry = (const char *)TRAMP_GPA + off;
	int ret;

	if (h->entry == EV_CALL) {
		asm volatile("lea -128(%%rsp), %%rsp\n\t"
			     "mov %%rsp, ev_rsp\n\t"
			     "call *%[entry]\n\t"
			     "lea 128(%%rsp), %%rsp"
			     : "=a"(ret), "+d"(rdx), "+S"(rsi), "+D"(rdi)
			     : [entry] "r"(entry)
			     : "rcx", "r8", "r9", "r10", "r11", "cc", "memory");
	} else {
		asm volatile("lea -128(%%rsp), %%rsp\n\t"
			     "mov %%rsp, ev_rsp\n\t"
			     "mov $8, %%r10d\n\t"
			     "call 1f\n\t"
			     "jmp 2f\n"
			     "1:\tpushfq\n\t"
			     "jmp *ev_body\n"
			     "2:\tlea 128(%%rsp), %%rsp"
			     : "=a"(ret), "+d"(rdx), "+S"(rsi), "+D"(rdi)
			     :
			     : "rcx", "r8", "r9", "r10", "r11", "cc", "memory");
	}
	ev_ret[ev_k] = ret;
	ev_val[ev_k] = rdx;
	ev_sp[ev_k] = ev_rsp;
}

/* The NMI that ran trampoline code never returned: an IRET of our own. */
static void ev_nmi_unblock(void)
{
	asm volatile("lea -128(%%rsp), %%rsp\n\t"
		     "mov %%ss, %%eax\n\t"
		     "push %%rax\n\t"
		     "lea 8(%%rsp), %%rax\n\t"
		     "push %%rax\n\t"
		     "pushfq\n\t"
		     "mov %%cs, %%eax\n\t"
		     "push %%rax\n\t"
		     "lea 1f(%%rip), %%rax\n\t"
		     "push %%rax\n\t"
		     "iretq\n"
		     "1:\tlea 128(%%rsp), %%rsp"
		     : : : "rax", "memory");
}

static void guest_events(void)
{
	uint32_t k;

	x2apic_enable();
	ev_mode = READ_ONCE(*(uint8_t *)(TRAMP_GPA + KVX_SUBPAGE_TABLE_OFFSET +
					 KVX_SUBPAGE_HDR_MODE));
	asm volatile("sti");
	for (k = 0; k < EV_HOLDS; k++) {
		/* Only VMFUNC mode has window-view code. */
		if (ev_holds[k].gate >= 0 && ev_mode != KVX_SUBPAGE_MODE_VMFUNC)
			continue;
		WRITE_ONCE(ev_k, k);
		GUEST_SYNC(EV_ARM | k);
		ev_call(&ev_holds[k]);
		GUEST_SYNC(EV_DONE | k);
		if (ev_holds[k].gate >= 0)
			ev_nmi_unblock();
	}
	GUEST_DONE();
}

/* ---- events, host side ---- */

struct ev_ctl {
	struct attack_vm *a;
	int uffd;
	uint32_t k;			/* the armed hold */
	bool armed, quit;
	bool done[EV_HOLDS];
	struct uffd_msg msg[EV_HOLDS];
};

static uint8_t ev_src[4096] __aligned(4096);	/* UFFDIO_COPY's source */

static void ev_msi(struct kvm_vm *vm, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = data };
	int r = __vm_ioctl(vm, KVM_SIGNAL_MSI, &msi);

	TEST_ASSERT(r == 1, "events: KVM_SIGNAL_MSI 0x%x: %d, errno %d", data, r, errno);
}

/*
 * Waits for the fault of each hold; sends the events while vCPU 0 waits
 * in it, then resolves it.
 */
static void *ev_control(void *arg)
{
	struct ev_ctl *c = arg;
	struct uffdio_copy copy = {
		.dst = (uint64_t)c->a->page, .src = (uint64_t)ev_src, .len = 4096,
	};
	struct pollfd p = { .fd = c->uffd, .events = POLLIN };
	struct uffd_msg msg;
	int waited = 0;
	uint32_t k;

	while (!READ_ONCE(c->quit)) {
		if (poll(&p, 1, 100) <= 0) {
			if (READ_ONCE(c->armed) && ++waited >= EV_HOLD_S * 10)
				TEST_FAIL("events: hold %u: no fault on the window page in %d s",
					  READ_ONCE(c->k), EV_HOLD_S);
			continue;
		}
		TEST_ASSERT(read(c->uffd, &msg, sizeof(msg)) == sizeof(msg),
			    "events: uffd read: %s", strerror(errno));
		TEST_ASSERT(msg.event == UFFD_EVENT_PAGEFAULT &&
			    (msg.arg.pagefault.address & ~4095ULL) == (uint64_t)c->a->page,
			    "events: uffd event %u at 0x%llx", msg.event,
			    (unsigned long long)msg.arg.pagefault.address);
		TEST_ASSERT(READ_ONCE(c->armed), "events: a fault outside a hold");
		k = READ_ONCE(c->k);
		c->msg[k] = msg;
		/* vCPU 0 is inside the access: the events are pending there. */
		if (ev_holds[k].nmi)
			ev_msi(c->a->vm, APIC_DM_NMI);
		if (ev_holds[k].irq)
			ev_msi(c->a->vm, APIC_DM_FIXED | EV_IRQ_VECTOR);
		memcpy(ev_src, c->a->copy, sizeof(ev_src));
		TEST_ASSERT(!ioctl(c->uffd, UFFDIO_COPY, &copy), "events: UFFDIO_COPY: %s",
			    strerror(errno));
		waited = 0;
		WRITE_ONCE(c->armed, false);
		WRITE_ONCE(c->done[k], true);
	}
	return NULL;
}

static bool ev_readable(unsigned int off)
{
	return off < ALLOWED_END || (off >= EV_RO_OFF && off < EV_RO_OFF + 8);
}

static bool ev_writable(unsigned int off)
{
	return off < ALLOWED_END || (off >= EV_WO_OFF && off < EV_WO_OFF + 8);
}

/* The VMM's side, from its copy: the page is not touched while held. */
static void ev_serve_mmio(struct attack_vm *a)
{
	struct kvm_run *run = a->vcpu->run;
	uint64_t off = run->mmio.phys_addr - WIN_GPA;
	bool ok;

	TEST_ASSERT(run->mmio.phys_addr >= WIN_GPA && off + run->mmio.len <= 4096,
		    "events: MMIO exit at 0x%llx", (unsigned long long)run->mmio.phys_addr);
	if (run->mmio.is_write) {
		ok = ev_writable(off) && ev_writable(off + run->mmio.len - 1);
		a->mmio_writes++;
		if (ok)
			memcpy(a->copy + off, run->mmio.data, run->mmio.len);
	} else {
		ok = ev_readable(off) && ev_readable(off + run->mmio.len - 1);
		a->mmio_reads++;
		if (ok)
			memcpy(run->mmio.data, a->copy + off, run->mmio.len);
		else
			memset(run->mmio.data, 0xff, run->mmio.len);
	}
	a->mmio_forbidden += !ok;
}

/* Bytes the guest may not write, changed in the page. */
static int ev_changes(struct attack_vm *a)
{
	int i, n = 0;

	for (i = 0; i < 4096; i++)
		n += !ev_writable(i) && a->page[i] != a->copy[i];
	return n;
}

/* Qwords the guest may not read, equal to @v. */
static int ev_secrets(struct attack_vm *a, uint64_t v)
{
	int off, n = 0;

	for (off = 0; off < 4096; off += 8)
		n += !ev_readable(off) && v == secret(a, off);
	return n;
}

/* The instruction @insn (3 bytes) in [@from, @to) of the trampoline. */
static unsigned int ev_find(unsigned int from, unsigned int to, const uint8_t *insn)
{
	const uint8_t *t = kvx_subpage_tramp_start;
	unsigned int i;

	for (i = from; i + 3 <= to; i++) {
		if (!memcmp(t + i, insn, 3))
			return i;
	}
	TEST_FAIL("events: access instruction not found in [0x%x, 0x%x)", from, to);
	return 0;
}

/* The 8-byte read entry jumps to .Lread: PUSHF; CLI; then its body. */
static uint64_t ev_read_body(void)
{
	const uint8_t *t = kvx_subpage_tramp_start;
	unsigned int j = KVX_SUBPAGE_ENTRY_READ1 + 3 * KVX_SUBPAGE_ENTRY_STRIDE + 10, to;

	if (t[j] == 0xeb) {
		to = j + 2 + (int8_t)t[j + 1];
	} else {
		TEST_ASSERT(t[j] == 0xe9, "events: entry without its jump");
		to = j + 5 + *(int32_t *)(t + j + 1);
	}
	TEST_ASSERT(t[to] == 0x9c && t[to + 1] == 0xfa, "events: .Lread is not PUSHF; CLI");
	return TRAMP_GPA + to + 2;
}

/* Code that runs in a window view: after an enter site to the leave site, the slots. */
static bool ev_window_code(unsigned int off)
{
	return (off >= kvx_subpage_tramp_labels[KVX_SUBPAGE_L_WINDOW] &&
		off < kvx_subpage_tramp_vmfunc_sites[2] + 3u) ||
	       (off >= KVX_SUBPAGE_SLOTS_LOW && off < KVX_SUBPAGE_TABLE_OFFSET) ||
	       off >= KVX_SUBPAGE_SLOTS_HIGH;
}

/*
 * An event frame's RIP: outside the trampoline, view-0 code of it, a
 * restart label, or the held access itself, which a vCPU moved to view 0
 * before it ran re-executes there, where it traps (subpage.rst 3.2).
 */
static bool ev_rip_ok(uint64_t rip, unsigned int held)
{
	unsigned int off = rip & 4095;

	if (rip >> 12 != TRAMP_GPA >> 12)
		return true;
	return off == kvx_subpage_tramp_labels[KVX_SUBPAGE_L_READ_RESTART] ||
	       off == kvx_subpage_tramp_labels[KVX_SUBPAGE_L_WRITE_RESTART] ||
	       off == held || !ev_window_code(off);
}

static const char *ev_where(char *buf, size_t n, const struct ev_frame *f, uint64_t sp)
{
	if (!f->n)
		return "";
	snprintf(buf, n, " at %s0x%lx, RSP %s0x%lx (call at 0x%lx), RFLAGS 0x%lx",
		 f->rip >> 12 == TRAMP_GPA >> 12 ? "T+" : "",
		 f->rip >> 12 == TRAMP_GPA >> 12 ? f->rip & 4095 : f->rip,
		 f->rsp >> 12 == TRAMP_GPA >> 12 ? "T+" : "",
		 f->rsp >> 12 == TRAMP_GPA >> 12 ? f->rsp & 4095 : f->rsp,
		 sp, f->rflags);
	return buf;
}

/* One frame's checks; returns the failures, each printed. */
static int ev_frame_bad(const char *hold, const char *what, const struct ev_frame *f,
			uint64_t sp, unsigned int held)
{
	int bad = 0;

	if (f->rsp >> 12 == TRAMP_GPA >> 12) {
		ksft_print_msg("events %s: FAIL: %s frame RSP T+0x%lx: in the window view\n",
			       hold, what, f->rsp & 4095);
		bad++;
	} else if (f->rsp > sp || f->rsp < sp - 24) {
		ksft_print_msg("events %s: FAIL: %s frame RSP 0x%lx, not the caller's (0x%lx)\n",
			       hold, what, f->rsp, sp);
		bad++;
	}
	if (!ev_rip_ok(f->rip, held)) {
		ksft_print_msg("events %s: FAIL: %s frame RIP T+0x%lx: window-view code\n",
			       hold, what, f->rip & 4095);
		bad++;
	}
	return bad;
}

static void ev_set_gate(struct kvm_vm *vm, int vector, uint64_t addr, int ist)
{
	struct idt_entry *e = (struct idt_entry *)addr_gva2hva(vm, vm->arch.idt) + vector;

	e->offset0 = addr;
	e->offset1 = addr >> 16;
	e->offset2 = addr >> 32;
	e->ist = ist;
}

static uint64_t ev_gate(struct kvm_vm *vm, int vector)
{
	struct idt_entry *e = (struct idt_entry *)addr_gva2hva(vm, vm->arch.idt) + vector;

	return e->offset0 | (uint64_t)e->offset1 << 16 | (uint64_t)e->offset2 << 32;
}

/* The checks of hold @k after the guest's call returned; failures. */
static int ev_check(struct ev_ctl *c, uint32_t k, unsigned int held, pid_t tid)
{
	const struct ev_hold *h = &ev_holds[k];
	struct attack_vm *a = c->a;
	struct ev_frame nmi, irq;
	int bad = 0, changed, seen;
	char b1[128], b2[128];
	uint64_t want = secret(a, h->off);	/* the held register */

	while (!READ_ONCE(c->done[k]))
		usleep(1000);	/* ev_control() gives up after EV_HOLD_S */
	sync_global_from_guest(a->vm, ev_nmi);
	sync_global_from_guest(a->vm, ev_irq);
	sync_global_from_guest(a->vm, ev_val);
	sync_global_from_guest(a->vm, ev_ret);
	sync_global_from_guest(a->vm, ev_sp);
	nmi = ev_nmi[k];
	irq = ev_irq[k];
	changed = ev_changes(a);
	seen = ev_secrets(a, ev_val[k]);
	ksft_print_msg(EV_MSG, h->name,
		       c->msg[k].arg.pagefault.feat.ptid == tid ? "vCPU 0's thread" :
		       "another thread", c->msg[k].arg.pagefault.feat.ptid,
		       nmi.n, ev_where(b1, sizeof(b1), &nmi, ev_sp[k]),
		       irq.n, ev_where(b2, sizeof(b2), &irq, ev_sp[k]),
		       ev_ret[k], ev_val[k], want, changed, seen,
		       a->mmio_reads, a->mmio_forbidden, a->mmio_writes);
	/*
	 * The view-only window slot has no HVA for KVM's async page faults:
	 * the fault-in, and so vCPU 0, waits in its own thread.
	 */
	if (c->msg[k].arg.pagefault.feat.ptid != tid) {
		ksft_print_msg("events %s: FAIL: the fault was not vCPU 0's (thread %d)\n",
			       h->name, tid);
		bad++;
	}
	if (nmi.n != (h->nmi && h->gate < 0) || irq.n != h->irq) {
		ksft_print_msg("events %s: FAIL: %u NMIs, %u IRQs recorded, want %u and %u\n",
			       h->name, nmi.n, irq.n, h->nmi && h->gate < 0, h->irq);
		bad++;
	}
	if (nmi.n)
		bad += ev_frame_bad(h->name, "NMI", &nmi, ev_sp[k], held);
	if (irq.n)
		bad += ev_frame_bad(h->name, "IRQ", &irq, ev_sp[k], held);
	if (h->gate < 0 && (ev_ret[k] || ev_val[k] != want)) {
		ksft_print_msg("events %s: FAIL: the call returned %d, 0x%lx, want 0, 0x%lx\n",
			       h->name, ev_ret[k], ev_val[k], want);
		bad++;
	}
	if (changed || seen) {
		ksft_print_msg("events %s: FAIL: %d forbidden bytes changed, %d secrets seen\n",
			       h->name, changed, seen);
		bad++;
	}
	return bad;
}

static void test_events(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_THREAD_ID };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	static const uint8_t rd[3] = { 0x48, 0x8b, 0x16 };	/* mov (%rsi), %rdx */
	static const uint8_t wr[3] = { 0x48, 0x89, 0x16 };	/* mov %rdx, (%rsi) */
	pid_t tid = syscall(SYS_gettid);
	unsigned int held[2], n = 0;
	struct ev_ctl c = {};
	uint64_t v, nmi_handler;
	struct attack_vm a;
	pthread_t ctl;
	uint8_t *tss;
	int bad = 0;
	uint32_t k;

	held[0] = ev_find(kvx_subpage_tramp_labels[KVX_SUBPAGE_L_READ],
			  kvx_subpage_tramp_labels[KVX_SUBPAGE_L_WRITE], rd);
	held[1] = ev_find(kvx_subpage_tramp_labels[KVX_SUBPAGE_L_WRITE],
			  kvx_subpage_tramp_vmfunc_sites[2], wr);
	attack_vm_create_win(&a, guest_events, ev_ranges, ARRAY_SIZE(ev_ranges),
			     KVX_WINDOW_F_VMFUNC_WRITES, MAP_PRIVATE);
	ev_body = ev_read_body();
	sync_global_to_guest(a.vm, ev_body);
	vm_install_exception_handler(a.vm, NMI_VECTOR, ev_nmi_handler);
	vm_install_exception_handler(a.vm, EV_IRQ_VECTOR, ev_irq_handler);
	/* IST 1 for NMIs, 2 for IRQs: stacks in RAM. */
	tss = addr_gva2hva(a.vm, a.vm->arch.tss);
	v = vm_vaddr_alloc_page(a.vm) + 4096;
	memcpy(tss + 0x24, &v, 8);
	v = vm_vaddr_alloc_page(a.vm) + 4096;
	memcpy(tss + 0x2c, &v, 8);
	nmi_handler = ev_gate(a.vm, NMI_VECTOR);
	ev_set_gate(a.vm, EV_IRQ_VECTOR, ev_gate(a.vm, EV_IRQ_VECTOR), 2);

	c.a = &a;
	c.uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	TEST_ASSERT(c.uffd >= 0, "events: userfaultfd: %s", strerror(errno));
	TEST_ASSERT(!ioctl(c.uffd, UFFDIO_API, &api), "events: UFFDIO_API: %s",
		    strerror(errno));
	reg.range.start = (uint64_t)a.page;
	reg.range.len = 4096;
	TEST_ASSERT(!ioctl(c.uffd, UFFDIO_REGISTER, &reg), "events: UFFDIO_REGISTER: %s",
		    strerror(errno));
	pthread_create(&ctl, NULL, ev_control, &c);

	for (;;) {
		vcpu_run(a.vcpu);
		if (a.vcpu->run->exit_reason == KVM_EXIT_MMIO) {
			ev_serve_mmio(&a);
			continue;
		}
		v = kvx_ucall_value(a.vcpu);
		if (v == KVX_GUEST_DONE)
			break;
		k = v & 0xff;
		TEST_ASSERT(k < EV_HOLDS && (v & ~0xffULL) && !(v & ~0x3ffULL),
			    "events: guest sync 0x%lx", v);
		if (v & EV_DONE) {
			bad += ev_check(&c, k, held[ev_holds[k].write], tid);
			n++;
			continue;
		}
		/* Arm: the gate, the page dropped, then the fault is awaited. */
		ev_set_gate(a.vm, NMI_VECTOR, ev_holds[k].gate < 0 ? nmi_handler :
			    TRAMP_GPA + kvx_subpage_tramp_labels[ev_holds[k].gate], 1);
		TEST_ASSERT(!madvise(a.page, 4096, MADV_DONTNEED), "events: madvise: %s",
			    strerror(errno));
		WRITE_ONCE(c.k, k);
		WRITE_ONCE(c.armed, true);
	}
	WRITE_ONCE(c.quit, true);
	pthread_join(ctl, NULL);
	close(c.uffd);
	sync_global_from_guest(a.vm, ev_mode);
	ksft_print_msg("events: trampoline mode %u (%s), %u holds%s\n", ev_mode,
		       ev_mode == KVX_SUBPAGE_MODE_VMFUNC ? "VMFUNC" : "hypercall", n,
		       ev_mode == KVX_SUBPAGE_MODE_VMFUNC ? "" :
		       "; the NMI gate holds need window-view code, which hypercall mode has not");
	TEST_ASSERT(n == (ev_mode == KVX_SUBPAGE_MODE_VMFUNC ? EV_HOLDS : 2),
		    "events: %u holds", n);
	TEST_ASSERT(!bad, "events: %d failures", bad);
	attack_vm_free(&a);
	ksft_test_result_pass(EV_MSG_OK, n);
}

/* ---- guards: the uAPI refusals the boundary relies on ---- */

static void expect_ebusy(int r, const char *what)
{
	TEST_ASSERT(r == -1 && errno == EBUSY, "%s: returned %d errno %d, not EBUSY",
		    what, r, errno);
}

static void test_guards(void)
{
	struct kvx_slot_views hide0 = { .slot = 0, .views = 1 << 1 };
	struct kvx_slot_views all0 = { .slot = 0, .views = KVX_SLOT_VIEWS_ALL };
	struct kvx_slot_views ghost = { .slot = 30, .views = 0 };
	struct kvm_enable_cap off = { .cap = KVX_CAP_VIEWS, .args = { 0 } };
	struct kvm_enable_cap win = {
		.cap = KVX_CAP_WINDOWS, .args = { TRAMP_GPA, 0 },
	};
	struct kvm_vm *vm;

	/* View 0's view of an existing slot is fixed: hide it before. */
	vm = vm_create_barebones();
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, 0x100000, 1, 1, 0);
	vm_enable_cap(vm, KVX_CAP_VIEWS, NR_VIEWS);
	hide0.slot = 1;
	all0.slot = 1;
	expect_ebusy(__vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &hide0),
		     "hiding an existing slot from view 0");
	TEST_ASSERT(!__vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &all0),
		    "the unchanged mask: errno %d", errno);
	/* A hidden slot keeps views on (its memslot is view-only). */
	vm_ioctl(vm, KVX_SET_SLOT_VIEWS, &ghost);
	expect_ebusy(__vm_ioctl(vm, KVM_ENABLE_CAP, &off), "views off with a hidden slot");
	kvm_vm_free(vm);

	/* Windows keep views on (they own a memslot). */
	vm = vm_create_barebones();
	vm_enable_cap(vm, KVX_CAP_VIEWS, NR_VIEWS);
	vm_ioctl(vm, KVM_ENABLE_CAP, &win);
	expect_ebusy(__vm_ioctl(vm, KVM_ENABLE_CAP, &off), "views off with windows");
	kvm_vm_free(vm);

	/* Views off again is still fine when nothing depends on them. */
	vm = vm_create_barebones();
	vm_enable_cap(vm, KVX_CAP_VIEWS, NR_VIEWS);
	TEST_ASSERT(!__vm_ioctl(vm, KVM_ENABLE_CAP, &off), "views off: errno %d", errno);
	kvm_vm_free(vm);
	ksft_test_result_pass(MSG_GUARDS_OK);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "pv_msrs", test_pv_msrs },
	{ "emulator", test_emulator },
	{ "nested", test_nested },
	{ "smm", test_smm },
	{ "stress", test_stress },
	{ "progress", test_progress },
	{ "guards", test_guards },
	{ "events", test_events },
};

/* kvx_attack_test [CASE]: every case, or the one named. */
int main(int argc, char **argv)
{
	bool nested = kvm_cpu_has(X86_FEATURE_VMX) || kvm_cpu_has(X86_FEATURE_SVM);
	char apicv[16];
	int i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		n += argc < 2 || !strcmp(argv[1], cases[i].name);
	stress_attempts = argc > 2 ? atoi(argv[2]) :
			  kvx_host_is_vmx() ? STRESS_ATTEMPTS_BOCHS : STRESS_ATTEMPTS;
	ksft_print_header();
	if (!n)
		ksft_exit_fail_msg("no case %s\n", argv[1]);
	ksft_set_plan(n);
	srandom(0x6b7678);
	TEST_REQUIRE(kvm_check_cap(KVX_CAP_WINDOWS));
	/* Both machines have SMM and nesting (KVM's default); no skips. */
	TEST_ASSERT(kvm_has_cap(KVM_CAP_X86_SMM), "KVM_CAP_X86_SMM missing");
	TEST_ASSERT(nested, "KVM offers neither VMX nor SVM to guests");
	if (kvx_module_param("kvm_intel", "enable_apicv", apicv, sizeof(apicv)))
		ksft_print_msg("kvm_intel.enable_apicv=%s (VMFUNC windows inhibit APICv)\n",
			       strtok(apicv, "\n"));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (argc < 2 || !strcmp(argv[1], cases[i].name))
			cases[i].run();
	}
	ksft_finished();
}
