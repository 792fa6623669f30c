/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mvf_vfio tests (mvf_vfio_*_test.c): a kvx-mvf VF driven through VFIO
 * as a VMM would, and its mailbox as an igbvf-style VF driver would,
 * checking the PF side's view (debugfs) after every step.  One binary per
 * concern, each on kselftest_harness.h.
 *
 * The tests of a binary run in order on one VF, as a VMM and a VF driver
 * would use it: each starts from where the one before left it and checks
 * its own preconditions.  The harness runs every test in a child, so the
 * VF is created and opened, and the guest memory allocated (shared), by the
 * harness's process before the first test (MVF_HARNESS_MAIN, once the
 * options asked for a run: -l and -h create nothing), and a test gets a
 * copy of it (FIXTURE_SETUP): the files are inherited, the guest memory is
 * shared, and what a test maps or opens itself goes with its child.  The
 * device reaches guest memory through vfio_dma_rw(), which works in the
 * process that mapped it only: each test's child maps the guest memory for
 * DMA (FIXTURE_SETUP) and unmaps it (FIXTURE_TEARDOWN).  The "create" and
 * "open" tests check what the setup did.
 *
 * Removing the VF that went through the tests is the last result,
 * "vfio.remove": the harness's process holds the VF open until its tests
 * are done, so mvf_exit() closes it, removes it and reports that (counted
 * in the plan: ksft_set_plan() below).
 *
 * The harness's closing line is "# Totals: ..."; ours must be "N passed,
 * N failed, N skipped", and a skip is not a pass: mvf_exit() replaces the
 * harness's ksft_exit(), prints that line and exits KSFT_SKIP when a test
 * was skipped.
 *
 * Needs kvx-mvf and vfio_iommu_type1 loaded and debugfs mounted.
 */
#ifndef SELFTEST_MVF_VFIO_TEST_H
#define SELFTEST_MVF_VFIO_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/compiler.h>
#include <linux/kvx_mvf.h>
#include <linux/pci_regs.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "kselftest.h"

static void __noreturn mvf_exit(bool harness_ok);
/* The harness ends with ksft_exit(): ours. */
#undef ksft_exit
#define ksft_exit(condition)	mvf_exit(condition)
/* The harness's plan, and the removal mvf_exit() reports. */
#define ksft_set_plan(plan)	ksft_set_plan((plan) + 1)

#include "kselftest_harness.h"
#include "mvf_vfio.h"

/* Per test, in seconds (the harness's default is 30). */
#define MVF_TIMEOUT	120
/* Removing the VF once its user closed it. */
#define MVF_REMOVE_TIMEOUT	10

/*
 * The DMA engine's view of guest memory: GUEST_SIZE bytes of the test's own
 * memory mapped at GUEST_IOVA in the type1 container.  The ring is at its
 * start, data buffers after it.
 */
#define GUEST_IOVA	0x40000000ULL
#define GUEST_SIZE	(4UL << 20)
#define RING_OFF	0
#define DATA_OFF	0x10000UL
/* Not mapped in the container. */
#define BAD_IOVA	0x7f000000ULL
#define GPAGE		4096UL

/* What the harness's process set up, shared with every test's child. */
struct mvf_shared {
	struct vf vf;
	bool loaded;		/* the PF is there */
	/* mvf_vf_setup()'s steps: 0 or -errno (-EAGAIN: not tried). */
	long avail_before, avail_after;
	int create_ret;
	int container_ret;
	int group_ret;
	int set_container_ret;
	int set_iommu_ret;
	int device_ret;
	int regions_ret;
	int mem_ret;
	/*
	 * Dirty tracking as QEMU chooses it: the device's DMA logging where
	 * the device offers it (VFIO_DEVICE_FEATURE_PROBE of
	 * DMA_LOGGING_START), else the container's (type1
	 * VFIO_IOMMU_DIRTY_PAGES), which must then be exact for the device's
	 * DMA.  1: the device's; probed by mvf_vf_setup(), checked against
	 * the dma_logging parameter by dma_log_offer and mig_caps.
	 */
	int dev_log;
};

static struct mvf_shared *mvf_shared;

/*
 * Before the harness runs its tests: create the VF, open it in a type1 v2
 * container (as QEMU: v1 has no dirty tracking) and allocate the guest
 * memory, recording each step's result for the tests to check.
 */
static void mvf_vf_setup(void)
{
	struct mvf_shared *sh;
	struct vf *vf;
	void *p;
	int ret;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return;
	mvf_shared = sh;
	vf = &sh->vf;
	*vf = (struct vf)MVF_VF_INIT;
	sh->create_ret = -EAGAIN;
	sh->container_ret = -EAGAIN;
	sh->group_ret = -EAGAIN;
	sh->set_container_ret = -EAGAIN;
	sh->set_iommu_ret = -EAGAIN;
	sh->device_ret = -EAGAIN;
	sh->regions_ret = -EAGAIN;
	sh->mem_ret = -EAGAIN;
	sh->dev_log = -1;
	sh->loaded = mvf_exists(MVF_PARENT_DIR);
	if (!sh->loaded)
		return;

	sh->avail_before = mvf_read_long(MVF_TYPE_DIR "/available_instances");
	sh->create_ret = mvf_mdev_create(vf, MVF_TYPE);
	sh->avail_after = mvf_read_long(MVF_TYPE_DIR "/available_instances");
	if (sh->create_ret)
		return;
	ret = mvf_open_container();
	sh->container_ret = ret < 0 ? ret : 0;
	if (ret < 0)
		return;
	vf->container = ret;
	sh->group_ret = mvf_open_group(vf);
	if (sh->group_ret)
		return;
	sh->set_container_ret = mvf_set_container(vf, vf->container);
	if (sh->set_container_ret)
		return;
	sh->set_iommu_ret = mvf_set_iommu(vf->container);
	if (sh->set_iommu_ret)
		return;
	sh->device_ret = mvf_open_device(vf);
	if (sh->device_ret)
		return;
	sh->regions_ret = mvf_find_regions(vf);

	/* Shared: what one test's child wrote, the next one's finds. */
	p = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		sh->mem_ret = -errno;
		return;
	}
	sh->mem_ret = 0;
	vf->mem = p;
	sh->dev_log = !mvf_feature(vf, VFIO_DEVICE_FEATURE_PROBE |
				   VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL,
				   0);
}

/*
 * Remove the VF the tests used, now closed: within MVF_REMOVE_TIMEOUT
 * seconds (the write blocks while anything holds the VF open, so a child
 * makes it), and the mdev and the PF's debugfs view of it are gone.  The
 * reason it failed, or NULL.
 */
static const char *mvf_vf_remove(struct vf *vf)
{
	struct timespec delay = { .tv_nsec = 100 * 1000 * 1000 };
	int status, i;
	pid_t child;

	if (!mvf_mdev_exists(vf->uuid))
		return "the VF was gone before its removal";
	fflush(stdout);
	child = fork();
	if (child < 0)
		return "fork";
	if (!child)
		_exit(mvf_mdev_remove(vf->uuid) ? 1 : 0);
	for (i = 0; i < MVF_REMOVE_TIMEOUT * 10; i++) {
		if (waitpid(child, &status, WNOHANG) == child)
			break;
		nanosleep(&delay, NULL);
	}
	if (i == MVF_REMOVE_TIMEOUT * 10)
		return "remove still blocked after the VF was closed";
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return "remove failed";
	if (mvf_mdev_exists(vf->uuid))
		return "the mdev is still there";
	if (mvf_debugfs_exists(vf->uuid))
		return "the PF's debugfs entry is still there";
	return NULL;
}

/*
 * Instead of the harness's ksft_exit(): remove the VF (a result of its
 * own), print the totals and our closing line; a skipped test is not a
 * pass.
 */
static void __noreturn mvf_exit(bool harness_ok)
{
	unsigned int passed, failed, skipped;
	const char *err;

	if (!mvf_shared || !mvf_shared->vf.uuid[0] ||
	    mvf_shared->create_ret) {
		ksft_test_result_code(KSFT_SKIP, "vfio.remove", "no VF");
	} else {
		mvf_close(&mvf_shared->vf);
		err = mvf_vf_remove(&mvf_shared->vf);
		if (err)
			ksft_print_msg("vfio.remove: %s: %s\n",
				       mvf_shared->vf.uuid, err);
		ksft_test_result_code(err ? KSFT_FAIL : KSFT_PASS,
				      "vfio.remove", err ? "%s" : NULL, err);
	}
	passed = ksft_cnt.ksft_pass;
	failed = ksft_cnt.ksft_fail + ksft_cnt.ksft_error;
	skipped = ksft_cnt.ksft_xskip;
	ksft_print_cnts();
	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	fflush(stdout);
	exit(failed || !harness_ok ? KSFT_FAIL : skipped ? KSFT_SKIP :
	     KSFT_PASS);
}

/*
 * Instead of TEST_HARNESS_MAIN: the harness's options first (-l, -h and a
 * bad option end there, before a VF exists; the harness reads them again),
 * then the VF, then the tests and mvf_exit().
 */
static void __noreturn mvf_main(int argc, char **argv)
{
	int ret = test_harness_argv_check(argc, argv);

	if (ret != KSFT_PASS)
		exit(ret);
	optind = 1;
	mvf_vf_setup();
	exit(test_harness_run(argc, argv));
}

#define MVF_HARNESS_MAIN					\
	int main(int argc, char **argv)				\
	{							\
		mvf_main(argc, argv);				\
	}

/* The guest memory in the container, for the calling process. */
static inline int guest_dma_map(struct vf *vf)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (u64)(unsigned long)vf->mem,
		.iova = GUEST_IOVA,
		.size = GUEST_SIZE,
	};

	return ioctl(vf->container, VFIO_IOMMU_MAP_DMA, &map);
}

static inline void guest_dma_unmap(struct vf *vf)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = GUEST_IOVA,
		.size = GUEST_SIZE,
	};

	ioctl(vf->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

/* Every test: the VF the harness's process set up, a copy of it. */
FIXTURE(vfio) {
	struct vf vf;
};

FIXTURE_SETUP(vfio)
{
	ASSERT_NE(NULL, mvf_shared);
	if (!mvf_shared->loaded)
		SKIP(return, "%s missing: kvx-mvf not loaded", MVF_PARENT_DIR);
	self->vf = mvf_shared->vf;
	/* Where mvf_vf_setup() stopped: the create and open tests tell more. */
	ASSERT_EQ(0, mvf_shared->create_ret);
	ASSERT_EQ(0, mvf_shared->container_ret);
	ASSERT_EQ(0, mvf_shared->group_ret);
	ASSERT_EQ(0, mvf_shared->set_container_ret);
	ASSERT_EQ(0, mvf_shared->set_iommu_ret);
	ASSERT_EQ(0, mvf_shared->device_ret);
	ASSERT_EQ(0, mvf_shared->regions_ret);
	ASSERT_EQ(0, mvf_shared->mem_ret);
	/*
	 * The test before may have left its mapping if it was killed (its
	 * timeout, a crash); after a failed ASSERT the harness tears down.
	 */
	guest_dma_unmap(&self->vf);
	ASSERT_EQ(0, guest_dma_map(&self->vf)) {
		TH_LOG("MAP_DMA: %s", strerror(errno));
	}
}

FIXTURE_TEARDOWN(vfio)
{
	guest_dma_unmap(&self->vf);
}

/*
 * Two keys of the PF's view hold the same value if @same, different ones
 * if not (mvf_state() has one buffer).
 */
static inline void assert_state_cmp(struct __test_metadata *_metadata,
				    struct vf *a, const char *ka,
				    struct vf *b, const char *kb, bool same)
{
	char va[256];

	snprintf(va, sizeof(va), "%s", mvf_state(a, ka));
	if (same) {
		ASSERT_STREQ(va, mvf_state(b, kb)) {
			TH_LOG("%s of %s, %s of %s", ka, a->uuid, kb, b->uuid);
		}
	} else {
		ASSERT_STRNE(va, mvf_state(b, kb)) {
			TH_LOG("%s of %s, %s of %s", ka, a->uuid, kb, b->uuid);
		}
	}
}

static inline void assert_same_state(struct __test_metadata *_metadata,
				     struct vf *a, const char *ka,
				     struct vf *b, const char *kb)
{
	assert_state_cmp(_metadata, a, ka, b, kb, true);
}

static inline void assert_other_state(struct __test_metadata *_metadata,
				      struct vf *a, const char *ka,
				      struct vf *b, const char *kb)
{
	assert_state_cmp(_metadata, a, ka, b, kb, false);
}

/*
 * @key of the PF's view is empty or absent, in a view that was read
 * (mvf_state() is "" for a missing file too).
 */
static inline void assert_state_empty(struct __test_metadata *_metadata,
				      struct vf *vf, const char *key)
{
	char val[256];
	int ret = mvf_state_get(vf, key, val, sizeof(val));

	ASSERT_TRUE(!ret || ret == -ENODATA) {
		TH_LOG("%s's debugfs config: %s", vf->uuid, strerror(-ret));
	}
	ASSERT_STREQ(val, "") {
		TH_LOG("%s of %s", key, vf->uuid);
	}
}

/*
 * The VF driver's side of the mailbox through region accesses.  The
 * mailbox has one semantics in every mode and through every path (the
 * DIRECT protocol of mvf.rst): nothing is read-to-clear, a region write is
 * a store of VFMAILBOX that the PF handles at once.  A driver takes VFU by
 * storing it (which also clears PFSTS and PFACK) and reading it back,
 * posts with REQ | VFU and acknowledges with ACK.
 */

static inline u32 mbx_read_ctrl(struct vf *vf)
{
	return mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);
}

static inline bool mbx_check_bit(struct vf *vf, u32 mask)
{
	return mbx_read_ctrl(vf) & mask;
}

static inline bool mbx_lock(struct vf *vf)
{
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_VFU);
	return mbx_read_ctrl(vf) & KVX_MVF_MBX_VFU;
}

static inline bool mbx_send(struct vf *vf, const u32 *msg, unsigned int len)
{
	unsigned int i;

	/* Taking VFU drops stale PFSTS and PFACK, as igbvf does. */
	if (!mbx_lock(vf))
		return false;
	for (i = 0; i < len; i++)
		mvf_reg_write(vf, KVX_MVF_REG_VFMBMEM + 4 * i, msg[i]);
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX,
		      KVX_MVF_MBX_REQ | KVX_MVF_MBX_VFU);
	return mbx_check_bit(vf, KVX_MVF_MBX_PFACK);
}

static inline bool mbx_recv(struct vf *vf, u32 *reply)
{
	unsigned int i;

	if (!mbx_check_bit(vf, KVX_MVF_MBX_PFSTS) || !mbx_lock(vf))
		return false;
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		reply[i] = mvf_reg_read(vf, KVX_MVF_REG_VFMBMEM + 4 * i);
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_ACK);
	return true;
}

/* A request of @len words, from the arguments of a variadic caller. */
static inline void mbx_msg_va(u32 *msg, unsigned int len, va_list ap)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		msg[i] = va_arg(ap, u32);
}

/* One request and its reply; false if the mailbox protocol broke. */
static inline bool mbx_xfer(struct vf *vf, u32 *reply, unsigned int len, ...)
{
	u32 msg[KVX_MVF_MBX_WORDS] = {};
	va_list ap;

	va_start(ap, len);
	mbx_msg_va(msg, len, ap);
	va_end(ap);

	memset(reply, 0, KVX_MVF_MBX_WORDS * sizeof(*reply));
	return mbx_send(vf, msg, len) && mbx_recv(vf, reply);
}

#define ACKED(id)	(KVX_MVF_MSG_ACK | KVX_MVF_MSG_CTS | (id))
#define NACKED(id)	(KVX_MVF_MSG_NACK | KVX_MVF_MSG_CTS | (id))

static inline void mac_words(struct __test_metadata *_metadata,
			     const char *mac, u32 *w)
{
	unsigned int b[6];
	int n;

	n = sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]);
	ASSERT_EQ(n, 6) {
		TH_LOG("bad MAC '%s'", mac);
	}
	w[0] = b[0] | b[1] << 8 | b[2] << 16 | (u32)b[3] << 24;
	w[1] = b[4] | b[5] << 8;
}

/* Read and acknowledge a PF to VF message, as igbvf reads one. */
static inline void pf_msg_recv(struct __test_metadata *_metadata,
			       struct vf *vf, u32 *msg)
{
	unsigned int i;

	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_PFACK) {
		TH_LOG("PFACK without request");
	}
	ASSERT_NE(0, mbx_check_bit(vf, KVX_MVF_MBX_PFSTS)) {
		TH_LOG("no PF message");
	}
	ASSERT_NE(0, mbx_lock(vf));
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		msg[i] = mvf_reg_read(vf, KVX_MVF_REG_VFMBMEM + 4 * i);
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_ACK);
	ASSERT_STREQ(mvf_state(vf, "pf_msg_pending"), "0");
}

#define PF_LINK_MSG	(KVX_MVF_MSG_PF_LINK | KVX_MVF_MSG_CTS)

static inline void check_link_msg(struct __test_metadata *_metadata,
				  const u32 *m, bool up)
{
	unsigned int i;

	ASSERT_EQ(m[0], PF_LINK_MSG) {
		TH_LOG("header 0x%x", m[0]);
	}
	ASSERT_EQ(m[1], (up ? KVX_MVF_LINK_UP : 0)) {
		TH_LOG("link %u speed %u, want %s", m[1], m[2],
		       up ? "up" : "down");
	}
	ASSERT_EQ(m[2], (up ? 10000 : 0)) {
		TH_LOG("link %u speed %u, want %s", m[1], m[2],
		       up ? "up" : "down");
	}
	for (i = 3; i < KVX_MVF_MBX_WORDS; i++) {
		ASSERT_EQ(0, m[i]) {
			TH_LOG("word %u: 0x%x", i, m[i]);
		}
	}
}

static inline void vlan_op(struct __test_metadata *_metadata,
			   struct vf *vf, u32 op, u32 vid, u32 expect,
		    u32 err)
{
	u32 r[KVX_MVF_MBX_WORDS];

	ASSERT_NE(0,
		  mbx_xfer(vf, r, 2,
			   KVX_MVF_MSG_SET_VLAN | op << KVX_MVF_MSG_INFO_SHIFT,
			   vid));
	ASSERT_EQ(r[0], (expect | KVX_MVF_MSG_CTS | KVX_MVF_MSG_SET_VLAN)) {
		TH_LOG("op %u vid %u: 0x%x", op, vid, r[0]);
	}
	if (err) {
		ASSERT_EQ(r[1], err) {
			TH_LOG("op %u vid %u: err %u", op, vid, r[1]);
		}
	}
}

/* SET_MCAST of @nr hashes (@h, two per word); the reply's header. */
static inline u32 mcast_op(struct __test_metadata *_metadata,
			   struct vf *vf, u32 nr, const u16 *h, unsigned int nh,
		    u32 *r)
{
	u32 msg[KVX_MVF_MBX_WORDS] = {};
	unsigned int i;

	msg[0] = KVX_MVF_MSG_SET_MCAST | nr << KVX_MVF_MSG_INFO_SHIFT;
	for (i = 0; i < nh; i++)
		msg[1 + i / 2] |= (u32)h[i] << (i % 2 * 16);
	memset(r, 0, KVX_MVF_MBX_WORDS * sizeof(*r));
	ASSERT_NE(0, mbx_send(vf, msg, KVX_MVF_MBX_WORDS));
	ASSERT_NE(0, mbx_recv(vf, r));
	return r[0];
}

/* The DMA engine. */

static inline u64 giova(unsigned long off)
{
	return GUEST_IOVA + off;
}

static inline struct kvx_mvf_dma_desc *ring_desc(struct vf *vf, u32 i)
{
	return (void *)(vf->mem + RING_OFF + i * KVX_MVF_DMA_DESC_SIZE);
}

static inline u32 desc_status(struct vf *vf, u32 i)
{
	return __atomic_load_n(&ring_desc(vf, i)->status, __ATOMIC_SEQ_CST);
}

static inline void bus_master(struct __test_metadata *_metadata,
			      struct vf *vf, bool on)
{
	u32 cmd = mvf_cfg_read32(vf, PCI_COMMAND) & 0xffff;

	cmd = on ? cmd | PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY :
		   cmd & ~PCI_COMMAND_MASTER;
	ASSERT_EQ(mvf_region_write(vf, vf->cfg_off + PCI_COMMAND, &cmd, 2), 2);
}

/* Program and enable a ring of @size descriptors at @iova. */
static inline u32 dma_ring(struct vf *vf, u64 iova, u32 size)
{
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, 0);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_LO, (u32)iova);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_HI, iova >> 32);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_SIZE, size);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, KVX_MVF_DMA_CTRL_ENABLE);
	return mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS);
}

/* Write a descriptor at TAIL and advance TAIL; its index. */
static inline u32 dma_post(struct vf *vf, u16 op, u64 src, u64 dst, u32 len)
{
	u32 size = mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_SIZE);
	u32 tail = mvf_reg_read(vf, KVX_MVF_REG_DMA_TAIL);
	struct kvx_mvf_dma_desc *d = ring_desc(vf, tail);

	memset(d, 0, sizeof(*d));
	d->op = op;
	d->len = len;
	d->src = src;
	d->dst = dst;
	mvf_reg_write(vf, KVX_MVF_REG_DMA_TAIL, (tail + 1) % size);
	return tail;
}

static inline void dma_kick(struct vf *vf)
{
	mvf_reg_write(vf, KVX_MVF_REG_DMA_DOORBELL, 1);
}

/* Post one descriptor, ring, and return its written-back status. */
static inline u32 dma_run(struct vf *vf, u16 op, u64 src, u64 dst, u32 len)
{
	u32 i = dma_post(vf, op, src, dst, len);

	dma_kick(vf);
	return desc_status(vf, i);
}

#define DMA_OK		(KVX_MVF_DMA_STS_DONE | KVX_MVF_DMA_ERR_OK)

static inline bool all_bytes(const u8 *p, size_t n, u8 val)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != val)
			return false;
	return true;
}

/*
 * Descriptor @idx, posted to fill 64 bytes at @buf, must be refused when
 * kicked: DMA_STATUS reads @want, the descriptor stays unwritten and so
 * do the bytes.
 */
static inline void assert_dma_refused(struct __test_metadata *_metadata,
				      struct vf *vf, u32 idx, const u8 *buf,
				      u32 want, const char *why)
{
	u32 status;

	dma_kick(vf);
	status = mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS);
	ASSERT_EQ(status, want) {
		TH_LOG("%s: status 0x%x", why, status);
	}
	ASSERT_EQ(desc_status(vf, idx), 0) {
		TH_LOG("%s", why);
	}
	ASSERT_NE(0, all_bytes(buf, 64, 0)) {
		TH_LOG("%s", why);
	}
}

/* DMA logging. */

static inline int log_start(struct vf *vf, u64 *page_size,
			    struct vfio_device_feature_dma_logging_range *ranges,
			    u32 nr)
{
	struct vfio_device_feature_dma_logging_control c = {
		.page_size = *page_size,
		.num_ranges = nr,
		.ranges = (u64)(unsigned long)ranges,
	};
	int ret;

	ret = mvf_feature(vf, VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &c, sizeof(c));
	if (!ret)
		*page_size = c.page_size;
	return ret;
}

static inline int container_dirty(struct vf *vf, u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d), .flags = flags,
	};

	return ioctl(vf->container, VFIO_IOMMU_DIRTY_PAGES, &d) ? -errno : 0;
}

/* GET_BITMAP of [@iova, @iova + @size): whole mappings, 4 KiB pages. */
static inline int container_report(struct vf *vf, u64 iova, u64 size,
				   u64 *bitmap)
{
	u64 buf[(sizeof(struct vfio_iommu_type1_dirty_bitmap) +
		 sizeof(struct vfio_iommu_type1_dirty_bitmap_get)) / 8] = {};
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)buf;
	struct vfio_iommu_type1_dirty_bitmap_get *g = (void *)d->data;

	d->argsz = sizeof(buf);
	d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	g->iova = iova;
	g->size = size;
	g->bitmap.pgsize = GPAGE;
	g->bitmap.size = (size / GPAGE + 63) / 64 * 8;
	g->bitmap.data = (__u64 *)bitmap;
	return ioctl(vf->container, VFIO_IOMMU_DIRTY_PAGES, d) ? -errno : 0;
}

static inline int log_start_guest(struct vf *vf, u64 page_size)
{
	struct vfio_device_feature_dma_logging_range r = {
		GUEST_IOVA, GUEST_SIZE
	};

	if (!mvf_shared->dev_log)
		return container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	return log_start(vf, &page_size, &r, 1);
}

static inline int log_stop(struct vf *vf)
{
	if (!mvf_shared->dev_log)
		return container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
	return mvf_feature(vf, VFIO_DEVICE_FEATURE_SET |
		       VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
}

/* The device's REPORT through the VFIO core. */
static inline int log_report(struct vf *vf, u64 iova, u64 length, u64 page_size,
			     u64 *bitmap)
{
	struct vfio_device_feature_dma_logging_report r = {
		iova, length, page_size, (u64)(unsigned long)bitmap
	};

	return mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
		       VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &r, sizeof(r));
}

#define GPAGES		(GUEST_SIZE / GPAGE)

static u64 dirty_bm[GPAGES / 64] __maybe_unused;
static bool dirty_want[GPAGES] __maybe_unused;

static inline void want_range(unsigned long off, unsigned long len)
{
	unsigned long p;

	for (p = off / GPAGE; p <= (off + len - 1) / GPAGE; p++)
		dirty_want[p] = true;
}

/* Report the whole guest at 4 KiB and compare with what the test wrote. */
static inline void check_dirty(struct __test_metadata *_metadata,
			       struct vf *vf, const char *what)
{
	unsigned int p, missed = 0, extra = 0, n = 0;
	bool got;

	memset(dirty_bm, 0, sizeof(dirty_bm));
	if (mvf_shared->dev_log) {
		ASSERT_EQ(0,
			  log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE,
				     dirty_bm)) {
			TH_LOG("%s: report: %s", what, strerror(errno));
		}
	} else {
		ASSERT_EQ(0,
			  container_report(vf, GUEST_IOVA, GUEST_SIZE,
					   dirty_bm)) {
			TH_LOG("%s: GET_BITMAP: %s", what, strerror(errno));
		}
	}
	for (p = 0; p < GPAGES; p++) {
		got = dirty_bm[p / 64] & (1ULL << (p % 64));
		missed += dirty_want[p] && !got;
		extra += got && !dirty_want[p];
		n += got;
		if (got != dirty_want[p])
			ksft_print_msg("%s: page 0x%x: reported %d, written %d\n",
				       what, p, got, dirty_want[p]);
	}
	ASSERT_EQ(0, missed) {
		TH_LOG("%s: %u missed, %u extra", what, missed, extra);
	}
	ASSERT_EQ(0, extra) {
		TH_LOG("%s: %u missed, %u extra", what, missed, extra);
	}
	memset(dirty_want, 0, sizeof(dirty_want));
}

/* Open the VF @b was created as, in @a's container. */
static inline void vf_open_in(struct __test_metadata *_metadata,
			      struct vf *b, struct vf *a)
{
	int ret = mvf_open_in(b, a->container);

	ASSERT_EQ(0, ret) {
		TH_LOG("%s in the container: %s", b->uuid, strerror(-ret));
	}
	b->mem = a->mem;
}

/*
 * A second VF of mdev type @type in @a's container, so it sees the same
 * guest memory.
 */
static inline void vf_add_type(struct __test_metadata *_metadata,
			       struct vf *b, struct vf *a, const char *type)
{
	*b = (struct vf)MVF_VF_INIT;
	ASSERT_EQ(mvf_mdev_create(b, type), 0) {
		TH_LOG("create a %s", type);
	}
	vf_open_in(_metadata, b, a);
}

static inline void vf_add(struct __test_metadata *_metadata,
			  struct vf *b, struct vf *a)
{
	vf_add_type(_metadata, b, a, MVF_TYPE);
}

static inline void vf_del(struct vf *b)
{
	mvf_close(b);
	if (b->uuid[0] && mvf_mdev_exists(b->uuid))
		mvf_mdev_remove(b->uuid);
}

static inline int set_msi(struct vf *vf, u32 data_type, u32 count, s32 data)
{
	return mvf_set_irq(vf, VFIO_PCI_MSI_IRQ_INDEX, data_type, count, data);
}

/* Interrupts signalled since the last call (the eventfd's counter). */
static inline u64 irqs(struct __test_metadata *_metadata,
		       int efd)
{
	u64 n;
	int ret = mvf_eventfd_read(efd, &n);

	ASSERT_EQ(0, ret) {
		TH_LOG("eventfd: %s", strerror(-ret));
	}
	return n;
}

#endif /* SELFTEST_MVF_VFIO_TEST_H */
