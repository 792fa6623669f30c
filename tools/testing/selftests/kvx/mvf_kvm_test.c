// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_kvm_test: a kvx-mvf VF's mailbox driven by a real KVM guest.
 *
 * The test is the VMM and does what QEMU does, nothing more: it associates
 * the VF's VFIO group with the VM (KVM_DEV_TYPE_VFIO) before opening the
 * device, maps the mailbox page (BAR0 page 1, the sparse mmap area) and
 * makes the mapping guest memory at MBX_GPA (a memslot), removes and
 * re-adds that memslot as a guest sizing BARs makes QEMU do, and resets
 * the device as QEMU does at every system reset; it never calls a private
 * ioctl.  The VF finds the memslot by itself.  The guest runs the mailbox
 * protocol on that page with plain loads, stores and locked
 * read-modify-writes.  Its first message runs at once, before the VF
 * found the memslot (on baf10d6 KVM_RUN failed with EFAULT there: the
 * fault handler refused the page).  TRAPPED: every guest write is
 * intercepted by KVM write tracking and handled at once; DIRECT: with PML
 * the PF's poller harvests kvx write tracing and every request is noticed
 * through it, without PML it polls the page; either way no exit per
 * message.  Switching modes under the looping guest loses and corrupts no
 * message.  The guest yields to the
 * host while it waits for the PF, so the poller also gets the CPU on
 * Bochs's single slow one.
 *
 * Needs kvx-mvf, vfio_iommu_type1 and debugfs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvx.h>
#include <linux/kvx_mvf.h>
#include <linux/vfio.h>

#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"
#include "kvx_util.h"
#include "mvf_util.h"

/* A wait yields (a ucall) every YIELD_SPINS reads, fails after MAX_YIELDS. */
#define MVF_GUEST_YIELD		0x79
#define MVF_GUEST_YIELD_SPINS	4096
#define MVF_GUEST_MAX_YIELDS	20000
#include "mvf_guest.h"

#define PHASE_MSGS	64
#define SWITCH_MSGS	400

enum {
	SYNC_SHARED_DONE = SYNC_PHASES_END,
	SYNC_SWITCH_DONE,
	SYNC_API_1_1,
	SYNC_PF_MSG_DONE,
};

/* Guest side: the VF driver. */

/* API 1.1, then wait for the PF's PF_LINK message (link down) and ACK it. */
static void guest_pf_msg(void)
{
	uint32_t msg[2] = { KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_1 };
	uint32_t reply[KVX_MVF_MBX_WORDS];

	guest_xfer(msg, 2, reply);
	GUEST_ASSERT_EQ(reply[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE));
	GUEST_SYNC(SYNC_API_1_1);
	guest_read_reply(reply);
	GUEST_ASSERT_EQ(reply[0], KVX_MVF_MSG_PF_LINK | KVX_MVF_MSG_CTS);
	GUEST_ASSERT_EQ(reply[1], 0);
	GUEST_SYNC(SYNC_PF_MSG_DONE);
}

static void guest_code(void)
{
	/* Each reply must be the ACK of exactly its request. */
	guest_mac_phases(PHASE_MSGS, true);
	guest_set_mac_run(2 * PHASE_MSGS, PHASE_MSGS, true);
	GUEST_SYNC(SYNC_SHARED_DONE);
	guest_set_mac_run(3 * PHASE_MSGS, SWITCH_MSGS, true);
	GUEST_SYNC(SYNC_SWITCH_DONE);
	guest_pf_msg();
	GUEST_DONE();
}

/* Host side: the VMM and the PF's operator. */

/* The retired KVX_MVF_SET_MBX_GPA: _IO(VFIO_TYPE, 0xf1). */
#define RETIRED_SET_MBX_GPA	_IO(VFIO_TYPE, 0xf1)

/*
 * Without a KVM, QEMU (TCG) maps the page too, in the default TRAPPED
 * mode: the mapping works and the PF polls it.  The private ioctl is gone.
 */
static void test_no_kvm(struct vf *vf)
{
	bool retired, mapped, reads, polled;
	uint32_t *m;

	vf_open(vf);
	retired = ioctl(vf->device, RETIRED_SET_MBX_GPA, NULL) == -1 &&
		  errno == ENOTTY;
	m = mvf_mmap_bar0(vf, KVX_MVF_MBX_PAGE, getpagesize(), MAP_SHARED);
	mapped = m != MAP_FAILED;
	if (!mapped)
		ksft_print_msg("mmap while TRAPPED without KVM: %s\n",
			       strerror(errno));
	reads = mapped && READ_ONCE(m[0]) == KVX_MVF_MBX_RSTD;
	polled = !strcmp(vf_state(vf, "polled"), "1");
	if (mapped)
		munmap(m, getpagesize());
	close(vf->device);
	vf->device = -1;
	ksft_test_result(retired && mapped && reads && polled,
			 "no KVM: the page maps in TRAPPED mode and is polled (%d %d %d); SET_MBX_GPA retired (%d)\n",
			 mapped, reads, polled, retired);
}

struct counts {
	uint64_t exits, other_exits, emulated, writes, requests;
	uint64_t syncs, noticed;
};

/* Exits that are not the guest's own doing: host interrupts and ucalls. */
static void sample(struct kvm_vcpu *vcpu, struct vf *vf, struct counts *c)
{
	c->exits = kvx_vcpu_stat(vcpu, "exits");
	c->other_exits = kvx_vcpu_other_exits(vcpu);
	c->emulated = kvx_vcpu_stat(vcpu, "insn_emulation");
	c->writes = vf_count(vf, "trapped_writes");
	c->requests = vf_count(vf, "requests");
	c->syncs = vf_count(vf, "wtrace_syncs");
	c->noticed = vf_count(vf, "wtrace_noticed");
}

/* The VF is a consumer of kvx write tracing only where that costs no exit. */
static bool vf_traces(void)
{
	return kvm_check_cap(KVX_CAP_WRITE_TRACE) & BIT(KVX_WTRACE_PML);
}

/* Run the guest to @stage, sleeping at its yields so the PF's work runs. */
static void run_until(struct kvm_vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[1] == MVF_GUEST_YIELD) {
				usleep(1000);
				continue;
			}
			TEST_ASSERT(uc.args[1] == stage,
				    "guest at stage %lu, want %lu",
				    (unsigned long)uc.args[1],
				    (unsigned long)stage);
			return;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("unexpected exit %s",
				  exit_reason_str(vcpu->run->exit_reason));
		}
	}
}

/*
 * One phase of PHASE_MSGS requests, counted before (@a) and after (@b):
 * returns the exits the mailbox cost (other exits taken out).
 */
static uint64_t run_phase(struct kvm_vcpu *vcpu, struct vf *vf,
			  uint64_t stage, struct counts *a, struct counts *b)
{
	sample(vcpu, vf, a);
	run_until(vcpu, stage);
	sample(vcpu, vf, b);
	TEST_ASSERT(b->requests - a->requests == PHASE_MSGS,
		    "%lu requests, the guest sent %u",
		    (unsigned long)(b->requests - a->requests), PHASE_MSGS);
	return (b->exits - a->exits) - (b->other_exits - a->other_exits);
}

static void test_trapped(struct kvm_vcpu *vcpu, struct vf *vf)
{
	struct counts a, b;
	uint64_t exits;

	TEST_ASSERT(vf_count(vf, "write_tracked") == 1, "not tracked");
	exits = run_phase(vcpu, vf, SYNC_TRAPPED_DONE, &a, &b);
	TEST_ASSERT(b.writes - a.writes == PHASE_MSGS * WRITES_PER_MSG,
		    "%lu writes handled, the guest made %u",
		    (unsigned long)(b.writes - a.writes),
		    PHASE_MSGS * WRITES_PER_MSG);
	TEST_ASSERT(b.emulated - a.emulated >= PHASE_MSGS * WRITES_PER_MSG &&
		    exits >= PHASE_MSGS * WRITES_PER_MSG,
		    "%lu exits, %lu emulated for %u writes",
		    (unsigned long)exits, (unsigned long)(b.emulated - a.emulated),
		    PHASE_MSGS * WRITES_PER_MSG);
	ksft_print_msg("TRAPPED: %.1f exits per message (%u writes)\n",
		       (double)exits / PHASE_MSGS, WRITES_PER_MSG);
	ksft_test_result_pass("TRAPPED: every guest write intercepted and answered at once\n");
}

static void test_direct(struct kvm_vcpu *vcpu, struct vf *vf)
{
	struct counts a, b;
	uint64_t exits;

	vf_set_mode(vf, "direct");
	TEST_ASSERT(vf_count(vf, "write_tracked") == 0, "still tracked");
	exits = run_phase(vcpu, vf, SYNC_DIRECT_DONE, &a, &b);
	TEST_ASSERT(b.writes == a.writes && b.emulated == a.emulated,
		    "DIRECT trapped %lu writes, emulated %lu",
		    (unsigned long)(b.writes - a.writes),
		    (unsigned long)(b.emulated - a.emulated));
	ksft_print_msg("DIRECT: %lu exits for %u messages, %lu harvests, %lu reported the page\n",
		       (unsigned long)exits, PHASE_MSGS,
		       (unsigned long)(b.syncs - a.syncs),
		       (unsigned long)(b.noticed - a.noticed));
	if (!vf_traces()) {
		/* The first store maps the page writable: one fault, no more. */
		TEST_ASSERT(vf_count(vf, "wtrace") == 0, "harvesting without PML");
		TEST_ASSERT(exits / PHASE_MSGS == 0,
			    "%lu exits for %u messages", (unsigned long)exits,
			    PHASE_MSGS);
		ksft_test_result_pass("DIRECT, polled (no PML): 0 exits per message\n");
		return;
	}
	/*
	 * The poller passes over the page only after a harvest reported it,
	 * and a pass takes at most one request (the guest waits for the
	 * reply): every request was noticed through write tracing.  A write
	 * faults (without PML) only as the first after a reporting harvest
	 * re-armed the page, and once at the start.
	 */
	TEST_ASSERT(vf_count(vf, "wtrace") == 1, "not harvesting");
	TEST_ASSERT(b.noticed - a.noticed >= PHASE_MSGS &&
		    b.noticed - a.noticed <= b.syncs - a.syncs,
		    "%lu reporting harvests of %lu for %u requests",
		    (unsigned long)(b.noticed - a.noticed),
		    (unsigned long)(b.syncs - a.syncs), PHASE_MSGS);
	TEST_ASSERT(exits <= b.noticed - a.noticed + 1,
		    "%lu exits, %lu reporting harvests", (unsigned long)exits,
		    (unsigned long)(b.noticed - a.noticed));
	ksft_test_result_pass("DIRECT: requests noticed by harvests, <= 1 exit each\n");
}

/*
 * Run the guest to its GUEST_SYNC(@sync) with @fn(@arg) on a thread beside
 * it, told to stop by *@stop; @a and @b: the counts before and after.
 */
static void run_beside(struct kvm_vcpu *vcpu, struct vf *vf, uint64_t sync,
		       void *(*fn)(void *), void *arg, bool *stop,
		       struct counts *a, struct counts *b)
{
	pthread_t thread;

	sample(vcpu, vf, a);
	pthread_create(&thread, NULL, fn, arg);
	run_until(vcpu, sync);
	WRITE_ONCE(*stop, true);
	pthread_join(thread, NULL);
	sample(vcpu, vf, b);
}

struct harvester {
	struct kvm_vm *vm;
	bool stop;
	uint64_t harvests, reports;
};

/* Userspace harvests the mailbox page as fast as it can. */
static void *harvest_mbx(void *arg)
{
	struct harvester *hv = arg;
	struct timespec ts = { .tv_nsec = 200 * 1000 };
	uint64_t gfns[4];
	struct kvx_wtrace_harvest h;
	uint32_t i;

	while (!READ_ONCE(hv->stop)) {
		h = (struct kvx_wtrace_harvest){ .gfns = (uintptr_t)gfns,
						 .max = 4 };
		vm_ioctl(hv->vm, KVX_WTRACE_HARVEST, &h);
		for (i = 0; i < h.count; i++) {
			TEST_ASSERT(gfns[i] == MBX_GPA >> 12,
				    "reported gfn 0x%lx", (unsigned long)gfns[i]);
			hv->reports++;
		}
		hv->harvests++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/*
 * Userspace traces the mailbox page too, in the mode the VF's consumer
 * enabled, and harvests it in a loop while the guest sends requests:
 * each harvest re-arms the page, yet the consumer's harvests still notice
 * every request, and userspace's see the writes although the consumer's
 * re-arm the page every tick.  Turning userspace's tracing off leaves the
 * consumer harvesting.  Without PML there is no consumer: userspace
 * traces (write-protect) the page the VF polls, and neither disturbs the
 * other.
 */
static void test_shared(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			struct vf *vf)
{
	uint32_t modes = kvm_check_cap(KVX_CAP_WRITE_TRACE);
	uint32_t mode = modes & BIT(KVX_WTRACE_PML) ? KVX_WTRACE_PML :
						       KVX_WTRACE_WRPROT;
	struct kvx_wtrace_range range = { .gfn = MBX_GPA >> 12, .npages = 1 };
	struct kvm_enable_cap cap = { .cap = KVX_CAP_WRITE_TRACE };
	struct harvester hv = { .vm = vm };
	struct counts a, b;
	int r;

	TEST_ASSERT(modes, "no kvx write tracing");
	cap.args[0] = KVX_WTRACE_TRAP;
	r = __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	TEST_ASSERT(vf_traces() ? r == -1 && errno == EBUSY : !r,
		    "mode %u beside the consumer's %u: %d errno %d",
		    KVX_WTRACE_TRAP, mode, r, errno);
	if (!vf_traces()) {
		cap.args[0] = 0;
		vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	}
	cap.args[0] = mode;
	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	vm_ioctl(vm, KVX_WTRACE_SET_RANGE, &range);

	run_beside(vcpu, vf, SYNC_SHARED_DONE, harvest_mbx, &hv, &hv.stop,
		   &a, &b);

	ksft_print_msg("shared: consumer %lu harvests, %lu reports; user %lu, %lu\n",
		       (unsigned long)(b.syncs - a.syncs),
		       (unsigned long)(b.noticed - a.noticed),
		       (unsigned long)hv.harvests, (unsigned long)hv.reports);
	TEST_ASSERT(b.requests - a.requests == PHASE_MSGS, "%lu requests",
		    (unsigned long)(b.requests - a.requests));
	TEST_ASSERT(!vf_traces() || b.noticed - a.noticed >= PHASE_MSGS,
		    "%lu reporting harvests for %u requests",
		    (unsigned long)(b.noticed - a.noticed), PHASE_MSGS);
	TEST_ASSERT(hv.reports, "userspace saw none of %u requests",
		    PHASE_MSGS);

	cap.args[0] = 0;
	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
	r = __vm_ioctl(vm, KVX_WTRACE_SET_RANGE, &range);
	TEST_ASSERT(r == -1 && errno == ENXIO, "range after off: %d errno %d",
		    r, errno);
	TEST_ASSERT(vf_count(vf, "wtrace") == vf_traces(),
		    "consumer gone with userspace, or there without PML");
	ksft_test_result_pass("userspace harvests the page the VF %s\n",
			      vf_traces() ? "harvests too" : "polls");
}

struct switcher {
	struct vf *vf;
	bool stop;
	unsigned int switches;
};

static void *switch_modes(void *arg)
{
	struct switcher *sw = arg;
	struct timespec ts = { .tv_nsec = 700 * 1000 };

	while (!READ_ONCE(sw->stop)) {
		vf_set_mode(sw->vf, sw->switches % 2 ? "direct" : "trapped");
		sw->switches++;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void test_switching(struct kvm_vcpu *vcpu, struct vf *vf)
{
	struct switcher sw = { .vf = vf };
	uint32_t last = 3 * PHASE_MSGS + SWITCH_MSGS - 1;
	char mac[32];
	struct counts a, b;

	run_beside(vcpu, vf, SYNC_SWITCH_DONE, switch_modes, &sw, &sw.stop,
		   &a, &b);

	snprintf(mac, sizeof(mac), "02:5a:%02x:%02x:%02x:%02x", last & 0xff,
		 (last >> 8) & 0xff, (last >> 16) & 0xff, last >> 24);
	TEST_ASSERT(b.requests - a.requests == SWITCH_MSGS,
		    "%lu requests for %u messages",
		    (unsigned long)(b.requests - a.requests), SWITCH_MSGS);
	TEST_ASSERT(!strcmp(vf_state(vf, "mac"), mac), "mac %s, want %s",
		    vf_state(vf, "mac"), mac);
	TEST_ASSERT(vf_count(vf, "protocol_errors") == 0 &&
		    vf_count(vf, "nacks") == 0, "protocol errors or NACKs");
	TEST_ASSERT(sw.switches >= 4 && b.writes > a.writes,
		    "%u switches, %lu trapped writes: no interleaving",
		    sw.switches, (unsigned long)(b.writes - a.writes));
	ksft_print_msg("%u mode switches during %u messages\n", sw.switches,
		       SWITCH_MSGS);
	ksft_test_result_pass("mode switches under a looping guest: none lost or corrupted\n");
}

static int set_link(const char *state)
{
	return mvf_write_file(MVF_DEBUGFS_DIR "/link", state);
}

/*
 * The PF asks for the trap when it must talk to the VF (issue 11, item 5):
 * a DIRECT VF whose PF queues a PF_LINK message is write-tracked until the
 * guest acknowledged the message, then released to DIRECT: the guest's
 * ACK (two stores) is trapped and answered at once.  On baf10d6 the
 * message was delivered untrapped and the page stayed untracked.
 */
static void test_pf_trap(struct kvm_vcpu *vcpu, struct vf *vf)
{
	uint64_t traps = atol(vf_state(vf, "pf_traps")), writes;
	bool trapped;

	vf_set_mode(vf, "direct");
	TEST_ASSERT(vf_count(vf, "write_tracked") == 0, "DIRECT and tracked");
	run_until(vcpu, SYNC_API_1_1);
	writes = vf_count(vf, "trapped_writes");
	TEST_ASSERT(!set_link("down"), "link down");
	trapped = vf_count(vf, "write_tracked") == 1 &&
		  !strcmp(vf_state(vf, "pf_trap"), "1");
	run_until(vcpu, SYNC_PF_MSG_DONE);
	TEST_ASSERT(trapped, "PF message queued, the page not trapped");
	TEST_ASSERT(vf_count(vf, "trapped_writes") - writes == 2,
		    "%lu of the guest's 2 ACK stores trapped",
		    (unsigned long)(vf_count(vf, "trapped_writes") - writes));
	TEST_ASSERT(vf_count(vf, "pf_trap") == 0 &&
		    vf_count(vf, "write_tracked") == 0,
		    "trap not released after the ACK");
	TEST_ASSERT(vf_count(vf, "pf_traps") == traps + 1, "pf_traps");
	TEST_ASSERT(!strcmp(vf_state(vf, "link_msg_pending"), "0") &&
		    !strcmp(vf_state(vf, "pf_msg_pending"), "0"), "PF message still pending");
	ksft_test_result_pass("PF message to a DIRECT VF: trapped, released after the ACK\n");
}

/*
 * What QEMU does under a running VM: a guest sizing BARs toggles memory
 * decode and QEMU removes the memslot, then adds it back (the page is
 * polled meanwhile and tracked again once the slot is back); a system
 * reset is a VFIO_DEVICE_RESET, which the tracking survives.
 */
static void test_qemu_events(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
			     struct vf *vf)
{
	struct ucall uc;

	vf_set_mode(vf, "trapped");
	TEST_ASSERT(vf_count(vf, "write_tracked") == 1, "not tracked");

	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, 0, NULL);
	TEST_ASSERT(vf_count(vf, "write_tracked") == 0 &&
		    vf_count(vf, "memslot") == 0, "tracked past its memslot");
	TEST_ASSERT(vf_count(vf, "polled") == 1, "untracked mapping not polled");
	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, getpagesize(),
				  vf->mbx_page);
	TEST_ASSERT(vf_wait_count(vf, "write_tracked", 1),
		    "memslot back, page not tracked again");
	TEST_ASSERT(vf_count(vf, "memslot_gfn") == MBX_GPA >> 12, "gfn 0x%lx",
		    (unsigned long)vf_count(vf, "memslot_gfn"));
	TEST_ASSERT(vf_count(vf, "polled") == 0, "tracked and polled");

	TEST_ASSERT(!ioctl(vf->device, VFIO_DEVICE_RESET), "reset: %s",
		    strerror(errno));
	TEST_ASSERT(vf_count(vf, "write_tracked") == 1,
		    "tracking lost on VFIO_DEVICE_RESET");

	vcpu_run(vcpu);
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_DONE, "guest not done");
	ksft_test_result_pass("memslot removed and re-added: tracked again; reset keeps it\n");
}

int main(void)
{
	struct vf vf = { .container = -1, .group = -1, .device = -1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct stat st;
	bool polled;

	ksft_print_header();
	if (stat(MVF_TYPE_DIR, &st))
		ksft_exit_skip("%s missing: kvx-mvf not loaded\n", MVF_TYPE_DIR);
	ksft_set_plan(8);

	vf_create(&vf);
	test_no_kvm(&vf);

	/* QEMU: group to the VFIO-KVM device, open, mmap the sparse area. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	kvm_vfio_add_group(vm, &vf);
	vf_open(&vf);
	vf.mbx_page = mvf_mmap_bar0(&vf, KVX_MVF_MBX_PAGE, getpagesize(),
				    MAP_SHARED);
	TEST_ASSERT(vf.mbx_page != MAP_FAILED,
		    "mailbox mmap while TRAPPED with KVM: %s", strerror(errno));
	/* Mapped, no memslot yet: polled (asserted after the guest ran). */
	polled = !strcmp(vf_state(&vf, "polled"), "1") &&
		 !strcmp(vf_state(&vf, "memslot"), "0");

	/* The guest enables decode: QEMU adds the memslot, the guest runs. */
	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, getpagesize(),
				  vf.mbx_page);
	virt_pg_map(vm, MBX_GPA, MBX_GPA);
	run_until(vcpu, SYNC_RESET_DONE);
	TEST_ASSERT(polled, "mapped without a memslot, not polled");
	TEST_ASSERT(vf_wait_count(&vf, "write_tracked", 1),
		    "the VF did not find the memslot of its page");
	TEST_ASSERT(vf_count(&vf, "memslot_gfn") == MBX_GPA >> 12, "gfn 0x%lx",
		    (unsigned long)vf_count(&vf, "memslot_gfn"));
	ksft_test_result_pass("QEMU's steps: first message answered, memslot found\n");

	test_trapped(vcpu, &vf);
	test_direct(vcpu, &vf);
	test_shared(vm, vcpu, &vf);
	test_switching(vcpu, &vf);
	test_pf_trap(vcpu, &vf);
	test_qemu_events(vm, vcpu, &vf);
	TEST_ASSERT(!set_link("up"), "link up");

	vf_destroy(&vf);
	kvm_vm_free(vm);
	ksft_finished();
}
