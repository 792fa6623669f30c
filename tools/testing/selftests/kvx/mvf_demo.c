// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_demo: a kvx-mvf VF's mailbox trapped for a migration and released
 * afterwards, in plain words (make demo).
 *
 * The program is the VMM of mvf_kvm_test: a KVM guest drives the mailbox
 * page of VF "src", mapped into its memory, with SET_MAC requests.  The
 * host migrates the VF to a second VF "dst" while the guest works: src
 * RUNNING -> PRE_COPY (the guest keeps sending) -> STOP_COPY with a
 * request in flight, dst RESUMING -> RUNNING with the mailbox page of dst
 * in the guest's memslot, and the guest goes on there.  At each step it
 * prints the mailbox mode the PF reports (debugfs "mode") and the guest's
 * VM exits per message (binary stats), and checks: DIRECT before and
 * after, TRAPPED during the migration, dst's VF config equal to src's, no
 * message lost.
 *
 * A DIRECT guest waits for the PF's poller, a host work item.  On a single
 * CPU (Bochs) that work runs only when the vCPU thread gives the CPU up, so
 * the guest yields to the host (a ucall) every YIELD_SPINS reads while it
 * waits, and the host sleeps briefly.  Those exits are the demo's, not the
 * mailbox's: they are counted apart.  Needs kvx-mvf, vfio_iommu_type1 and
 * debugfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define PHASE_MSGS	32
/* Messages in all: RESET, SET_VLAN, three phases and the one in flight. */
#define ALL_MSGS	(2 + 3 * PHASE_MSGS + 1)
#define DEMO_VLAN	100

/* Lines too long for one source line. */
#define DEMO_MSG1 \
	"%s: %u messages on %s, its mailbox %s: %.2f VM exits per message (%lu in all; %lu stores trapped, %lu instructions emulated); the guest yielded %lu times while waiting\n"
#define DEMO_MSG2 \
	"two VFs of %s: src %s (mailbox page in the guest at 0x%llx), dst %s; the PF set both mailboxes to direct\n"
#define DEMO_MSG3 \
	"src RUNNING -> PRE_COPY: mailbox %s; %zu initial bytes read (%llu announced)\n"
#define DEMO_MSG4 \
	"dst RESUMING -> STOP: the stream loaded, mailbox %s; the guest's mailbox memslot is now dst's page\n"
#define DEMO_WARM1 \
	"warm-up, RESET and SET_VLAN on src: %lu VM exits (the guest's first run faults its memory in)\n"
#define DEMO_WARM2 \
	"the guest read the reply to request %u from dst: %lu VM exits (the memslot change zapped the VM's page tables: its memory faults in again)\n"
#define DEMO_RESULT4 \
	"destination: VF config equals the source's, mailbox %s until it runs\n"
#define DEMO_RESULT5 \
	"after migration: mailbox %s, %.2f exits/message; %lu of %u requests answered, none lost (the one in flight too), mac %s\n"

enum {
	SYNC_WARM = 1,		/* RESET, SET_VLAN: guest memory faulted in */
	SYNC_BEFORE,		/* PHASE_MSGS on src */
	SYNC_PRECOPY,		/* PHASE_MSGS more, src in PRE_COPY */
	SYNC_IN_FLIGHT,		/* a request posted, its reply unread */
	SYNC_RESUMED,		/* the reply, read from dst */
	SYNC_AFTER,		/* PHASE_MSGS more on dst */
};

/* Guest side: mvf_guest.h's VF driver, with yields while it waits. */

/* The reply must be the ACK of the request: id and payload echoed. */
static void guest_reply(const uint32_t *msg, unsigned int len)
{
	uint32_t reply[KVX_MVF_MBX_WORDS];
	unsigned int i;

	guest_read_reply(reply);
	GUEST_ASSERT_EQ(reply[0] & (KVX_MVF_MSG_ACK | KVX_MVF_MSG_NACK |
				    KVX_MVF_MSG_ID_MASK),
			KVX_MVF_MSG_ACK | (msg[0] & KVX_MVF_MSG_ID_MASK));
	for (i = 1; i < len && msg[0] == KVX_MVF_MSG_SET_MAC; i++)
		GUEST_ASSERT_EQ(reply[i], msg[i]);
}

static void guest_set_macs(uint32_t first, uint32_t count)
{
	uint32_t msg[MSG_LEN], n;

	for (n = first; n < first + count; n++) {
		mac_msg(msg, n);
		guest_post(msg, MSG_LEN);
		guest_reply(msg, MSG_LEN);
	}
}

static void guest_code(void)
{
	uint32_t reset = KVX_MVF_MSG_RESET, msg[MSG_LEN];
	uint32_t vlan[2] = {
		KVX_MVF_MSG_SET_VLAN |
		KVX_MVF_VLAN_ADD << KVX_MVF_MSG_INFO_SHIFT, DEMO_VLAN,
	};

	guest_post(&reset, 1);
	guest_reply(&reset, 1);
	guest_post(vlan, 2);
	guest_reply(vlan, 2);
	GUEST_SYNC(SYNC_WARM);
	guest_set_macs(0, PHASE_MSGS);
	GUEST_SYNC(SYNC_BEFORE);
	guest_set_macs(PHASE_MSGS, PHASE_MSGS);
	GUEST_SYNC(SYNC_PRECOPY);
	mac_msg(msg, 2 * PHASE_MSGS);
	guest_post(msg, MSG_LEN);
	GUEST_SYNC(SYNC_IN_FLIGHT);
	guest_reply(msg, MSG_LEN);
	GUEST_SYNC(SYNC_RESUMED);
	guest_set_macs(2 * PHASE_MSGS + 1, PHASE_MSGS);
	GUEST_SYNC(SYNC_AFTER);
	GUEST_DONE();
}

/* Host side: the VMM, and the PF's view through debugfs. */

/* The mailbox mode as the PF reports it: "trapped" or "direct". */
static const char *vf_mode(struct vf *vf)
{
	static char buf[2][32];
	static int i;
	char path[PATH_MAX], *p = buf[i++ % 2];

	snprintf(path, sizeof(path), MVF_DEBUGFS_DIR "/%s/mode", vf->uuid);
	TEST_ASSERT(!mvf_read_file(path, p, sizeof(buf[0])), "%s: %s", path,
		    strerror(errno));
	p[strcspn(p, "\n")] = '\0';
	return p;
}

/* Create, a container, the group; then KVM learns the group; then open. */
static void vf_create_for(struct vf *vf, const char *name, int kvm_vfio)
{
	vf_create(vf);
	vf->name = name;
	kvm_vfio_add(kvm_vfio, vf);
	vf_open(vf);
	vf_map_mbx(vf);
}

/*
 * The guest's memslot at MBX_GPA becomes @vf's mailbox page, as QEMU
 * does it: no private ioctl, the VF finds the memslot by itself once it
 * runs (a VF that migration keeps stopped looks when it runs again).
 */
static void vf_give_guest(struct kvm_vm *vm, struct vf *vf, bool running)
{
	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, 0, NULL);
	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, getpagesize(),
				  vf->mbx_page);
	TEST_ASSERT(!running || vf_wait_count(vf, "memslot", 1),
		    "%s did not find the memslot of its page", vf->name);
}

/* One SET_STATE; the new data_fd, or -1. */
static int mig_set(struct vf *vf, uint32_t state)
{
	uint64_t buf[(sizeof(struct vfio_device_feature) +
		      sizeof(struct vfio_device_feature_mig_state)) / 8] = {};
	struct vfio_device_feature *f = (void *)buf;
	struct vfio_device_feature_mig_state *ms = (void *)f->data;

	f->argsz = sizeof(buf);
	f->flags = VFIO_DEVICE_FEATURE_SET |
		   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	ms->device_state = state;
	ms->data_fd = -1;
	TEST_ASSERT(!ioctl(vf->device, VFIO_DEVICE_FEATURE, f),
		    "%s: state %u: %s", vf->name, state, strerror(errno));
	return ms->data_fd;
}

static uint8_t stream[KVX_MVF_MIG_MAX_SIZE];
static size_t stream_len;

/* Read until the temporary end (PRE_COPY) or the end; the bytes read. */
static size_t mig_read(int fd, bool precopy)
{
	size_t start = stream_len;
	ssize_t n;

	while ((n = read(fd, stream + stream_len,
			 sizeof(stream) - stream_len)) > 0)
		stream_len += n;
	TEST_ASSERT(precopy ? n < 0 && errno == ENOMSG : !n, "read: %s",
		    strerror(errno));
	return stream_len - start;
}

struct phase {
	uint64_t exits, yields, requests, trapped, emulated;
};

/* The guest's own exits: all but host interrupts and ucalls. */
static uint64_t own_exits(struct kvm_vcpu *vcpu)
{
	uint64_t exits = kvx_vcpu_stat(vcpu, "exits");

	return exits - kvx_vcpu_other_exits(vcpu);
}

/* Run the guest to @stage, sleeping at its yields so the PF's work runs. */
static void run_phase(struct kvm_vcpu *vcpu, struct vf *vf, uint64_t stage,
		      struct phase *p)
{
	uint64_t exits = own_exits(vcpu), requests = vf_count(vf, "requests");
	uint64_t trapped = vf_count(vf, "trapped_writes");
	uint64_t emulated = kvx_vcpu_stat(vcpu, "insn_emulation"), sync;

	p->yields = 0;
	while ((sync = kvx_run_sync(vcpu)) == MVF_GUEST_YIELD) {
		p->yields++;
		usleep(1000);
	}
	TEST_ASSERT(sync == stage, "guest at %lu, want %lu",
		    (unsigned long)sync, (unsigned long)stage);
	p->exits = own_exits(vcpu) - exits;
	p->requests = vf_count(vf, "requests") - requests;
	p->trapped = vf_count(vf, "trapped_writes") - trapped;
	p->emulated = kvx_vcpu_stat(vcpu, "insn_emulation") - emulated;
}

static void show_phase(const char *what, struct vf *vf, struct phase *p,
		       unsigned int msgs)
{
	ksft_print_msg(DEMO_MSG1, what, msgs, vf->name, vf_mode(vf),
		       (double)p->exits / msgs, (unsigned long)p->exits,
		       (unsigned long)p->trapped, (unsigned long)p->emulated,
		       (unsigned long)p->yields);
}

/* What the PF keeps as the VF's negotiated config, key by key. */
static bool same_config(struct vf *a, struct vf *b)
{
	static const char *const keys[] = { "api", "cts", "mac", "vlans",
					    "mcast", "requests" };
	char va[128], vb[128];
	bool same = true;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(va, sizeof(va), "%s", vf_state(a, keys[i]));
		snprintf(vb, sizeof(vb), "%s", vf_state(b, keys[i]));
		ksft_print_msg("  %-8s %s: %-20s %s: %s\n", keys[i], a->name, va,
			       b->name, vb);
		same &= !strcmp(va, vb);
	}
	return same;
}

int main(void)
{
	struct vfio_precopy_info info = { .argsz = sizeof(info) };
	struct vf src = {}, dst = {};
	size_t initial, dirty, final;
	struct kvm_vcpu *vcpu;
	struct phase p;
	struct kvm_vm *vm;
	char mac[32], val[128];
	struct stat st;
	int fd, kvm_vfio;
	bool ok;

	ksft_print_header();
	if (stat(MVF_TYPE_DIR, &st))
		ksft_exit_skip("%s missing: kvx-mvf not loaded\n", MVF_TYPE_DIR);
	ksft_set_plan(5);

	/* Both VFs' groups go to the VM's VFIO-KVM device before opening. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	kvm_vfio = kvm_vfio_create(vm);
	vf_create_for(&src, "src", kvm_vfio);
	vf_create_for(&dst, "dst", kvm_vfio);
	vm_set_user_memory_region(vm, MBX_SLOT, 0, MBX_GPA, getpagesize(),
				  src.mbx_page);
	virt_pg_map(vm, MBX_GPA, MBX_GPA);
	vf_give_guest(vm, &src, true);
	/* The PF operator's choice on both sides: DIRECT (not migrated). */
	vf_set_mode(&src, "direct");
	vf_set_mode(&dst, "direct");
	ksft_print_msg(DEMO_MSG2, MVF_PF_NAME, src.uuid, MBX_GPA, dst.uuid);

	/* 1. Before: RUNNING, DIRECT, nothing traps. */
	run_phase(vcpu, &src, SYNC_WARM, &p);
	TEST_ASSERT(p.requests == 2, "RESET and SET_VLAN: %lu requests",
		    (unsigned long)p.requests);
	ksft_print_msg(DEMO_WARM1, (unsigned long)p.exits);
	run_phase(vcpu, &src, SYNC_BEFORE, &p);
	show_phase("before migration (src RUNNING)", &src, &p, PHASE_MSGS);
	ksft_test_result(!strcmp(vf_mode(&src), "direct") &&
			 p.exits < PHASE_MSGS && !p.trapped && !p.emulated &&
			 p.requests == PHASE_MSGS,
			 "before migration: mailbox %s, %.2f exits/message, %lu of %u requests answered\n",
			 vf_mode(&src), (double)p.exits / PHASE_MSGS,
			 (unsigned long)p.requests, PHASE_MSGS);

	/* 2. PRE_COPY: the guest keeps running, every mailbox store traps. */
	fd = mig_set(&src, VFIO_DEVICE_STATE_PRE_COPY);
	TEST_ASSERT(fd >= 0 && !ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info),
		    "PRE_COPY: %s", strerror(errno));
	initial = mig_read(fd, true);
	ksft_print_msg(DEMO_MSG3, vf_mode(&src), initial,
		       (unsigned long long)info.initial_bytes);
	run_phase(vcpu, &src, SYNC_PRECOPY, &p);
	show_phase("during PRE_COPY", &src, &p, PHASE_MSGS);
	TEST_ASSERT(!ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info),
		    "PRECOPY_INFO: %s", strerror(errno));
	dirty = mig_read(fd, true);
	ksft_print_msg("the guest changed the VF config: %zu dirty bytes read (%llu announced)\n",
		       dirty, (unsigned long long)info.dirty_bytes);
	ksft_test_result(!strcmp(vf_mode(&src), "trapped") &&
			 p.exits >= PHASE_MSGS * WRITES_PER_MSG &&
			 p.trapped == PHASE_MSGS * WRITES_PER_MSG &&
			 p.requests == PHASE_MSGS && initial && dirty,
			 "PRE_COPY: mailbox %s, %.2f exits/message (%u stores each), %zu + %zu bytes pre-copied\n",
			 vf_mode(&src), (double)p.exits / PHASE_MSGS,
			 WRITES_PER_MSG, initial, dirty);

	/* 3. STOP_COPY with a request posted and its reply not yet read. */
	run_phase(vcpu, &src, SYNC_IN_FLIGHT, &p);
	ksft_print_msg("the guest posted request %u and is stopped before reading the reply\n",
		       2 * PHASE_MSGS + 3);
	mig_set(&src, VFIO_DEVICE_STATE_STOP_COPY);
	final = mig_read(fd, false);
	close(fd);
	ksft_print_msg("src PRE_COPY -> STOP_COPY: mailbox %s; %zu final bytes, %zu in all\n",
		       vf_mode(&src), final, stream_len);
	ksft_test_result(!strcmp(vf_mode(&src), "trapped") &&
			 p.requests == 1 && final,
			 "STOP_COPY: mailbox %s, %zu stream bytes (%zu + %zu + %zu)\n",
			 vf_mode(&src), stream_len, initial, dirty, final);

	/* 4. dst RESUMING -> STOP, then the guest's memslot is dst's page. */
	fd = mig_set(&dst, VFIO_DEVICE_STATE_RESUMING);
	TEST_ASSERT(fd >= 0 && write(fd, stream, stream_len) ==
		    (ssize_t)stream_len, "RESUMING: %s", strerror(errno));
	ksft_print_msg("dst RUNNING -> RESUMING: mailbox %s; %zu bytes written\n",
		       vf_mode(&dst), stream_len);
	mig_set(&dst, VFIO_DEVICE_STATE_STOP);
	close(fd);
	vf_give_guest(vm, &dst, false);
	ksft_print_msg(DEMO_MSG4, vf_mode(&dst));
	ksft_print_msg("VF config (debugfs) after the migration:\n");
	ok = same_config(&src, &dst) && !strcmp(vf_mode(&dst), "trapped");
	ksft_test_result(ok, DEMO_RESULT4, vf_mode(&dst));

	/* 5. dst RUNNING: released to DIRECT; the guest reads its reply. */
	mig_set(&dst, VFIO_DEVICE_STATE_RUNNING);
	ksft_print_msg("dst STOP -> RUNNING: mailbox released to %s\n",
		       vf_mode(&dst));
	run_phase(vcpu, &dst, SYNC_RESUMED, &p);
	TEST_ASSERT(!p.requests, "%lu requests for a reply",
		    (unsigned long)p.requests);
	ksft_print_msg(DEMO_WARM2, 2 * PHASE_MSGS + 3, (unsigned long)p.exits);
	run_phase(vcpu, &dst, SYNC_AFTER, &p);
	show_phase("after migration (dst RUNNING)", &dst, &p, PHASE_MSGS);
	TEST_ASSERT(kvx_run_sync(vcpu) == KVX_GUEST_DONE, "guest not done");
	snprintf(mac, sizeof(mac), "02:5a:%02x:00:00:00", 3 * PHASE_MSGS);
	ok = !strcmp(vf_mode(&dst), "direct") && p.exits < PHASE_MSGS &&
	     !p.trapped && !p.emulated &&
	     p.requests == PHASE_MSGS &&
	     vf_count(&dst, "requests") == ALL_MSGS &&
	     !strcmp(vf_state(&dst, "mac"), mac) &&
	     !vf_count(&dst, "nacks") && !vf_count(&dst, "protocol_errors");
	/* A copy: vf_count() below reuses vf_state()'s buffer. */
	snprintf(val, sizeof(val), "%s", vf_state(&dst, "mac"));
	ksft_test_result(ok, DEMO_RESULT5, vf_mode(&dst), (double)p.exits / PHASE_MSGS,
			 (unsigned long)vf_count(&dst, "requests"), ALL_MSGS,
			 val);

	vf_destroy(&dst);
	vf_destroy(&src);
	kvm_vm_free(vm);
	ksft_finished();
}
