// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_vfio_test: drive a kvx-mvf VF through VFIO as a VMM would, and its
 * mailbox as an igbvf-style VF driver would, checking the PF side's view
 * (debugfs) after every step.
 *
 * Needs kvx-mvf and vfio_iommu_type1 loaded and debugfs mounted.  The tests
 * run in order on one VF; each checks its own preconditions.
 */
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
#include "mvf_vfio.h"

/* Where a failed CHECK() resumes: the test runner in main(). */
static sigjmp_buf test_failed;

static void __noreturn __printf(1, 2) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	va_end(ap);
	siglongjmp(test_failed, 1);
}

#define CHECK(cond, fmt, ...) do {					\
	if (!(cond))							\
		fail("%s:%d: %s: " fmt "\n", __func__, __LINE__, #cond,	\
		     ##__VA_ARGS__);					\
} while (0)

/* sysfs and debugfs */

/* Whether two keys hold the same value (mvf_state() has one buffer). */
static bool same_state(struct vf *a, const char *ka, struct vf *b,
		       const char *kb)
{
	char va[256];

	snprintf(va, sizeof(va), "%s", mvf_state(a, ka));
	return !strcmp(va, mvf_state(b, kb));
}

/* VFIO region access */

/*
 * The VF driver's side of the mailbox through region accesses.  The
 * mailbox has one semantics in every mode and through every path (the
 * DIRECT protocol of mvf.rst): nothing is read-to-clear, a region write is
 * a store of VFMAILBOX that the PF handles at once.  A driver takes VFU by
 * storing it (which also clears PFSTS and PFACK) and reading it back,
 * posts with REQ | VFU and acknowledges with ACK.
 */

static u32 mbx_read_ctrl(struct vf *vf)
{
	return mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);
}

static bool mbx_check_bit(struct vf *vf, u32 mask)
{
	return mbx_read_ctrl(vf) & mask;
}

static bool mbx_lock(struct vf *vf)
{
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_VFU);
	return mbx_read_ctrl(vf) & KVX_MVF_MBX_VFU;
}

static bool mbx_send(struct vf *vf, const u32 *msg, unsigned int len)
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

static bool mbx_recv(struct vf *vf, u32 *reply)
{
	unsigned int i;

	if (!mbx_check_bit(vf, KVX_MVF_MBX_PFSTS) || !mbx_lock(vf))
		return false;
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		reply[i] = mvf_reg_read(vf, KVX_MVF_REG_VFMBMEM + 4 * i);
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_ACK);
	return true;
}

/* One request and its reply; false if the mailbox protocol broke. */
static bool mbx_xfer(struct vf *vf, u32 *reply, unsigned int len, ...)
{
	u32 msg[KVX_MVF_MBX_WORDS] = {};
	unsigned int i;
	va_list ap;

	va_start(ap, len);
	for (i = 0; i < len; i++)
		msg[i] = va_arg(ap, u32);
	va_end(ap);

	memset(reply, 0, KVX_MVF_MBX_WORDS * sizeof(*reply));
	return mbx_send(vf, msg, len) && mbx_recv(vf, reply);
}

#define ACKED(id)	(KVX_MVF_MSG_ACK | KVX_MVF_MSG_CTS | (id))
#define NACKED(id)	(KVX_MVF_MSG_NACK | KVX_MVF_MSG_CTS | (id))

static void mac_words(const char *mac, u32 *w)
{
	unsigned int b[6];

	CHECK(sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
		     &b[4], &b[5]) == 6, "bad MAC '%s'", mac);
	w[0] = b[0] | b[1] << 8 | b[2] << 16 | (u32)b[3] << 24;
	w[1] = b[4] | b[5] << 8;
}

/* Tests, in order. */

static void test_create(struct vf *vf)
{
	char buf[64];
	long avail;

	CHECK(mvf_exists(MVF_PARENT_DIR), "kvx-mvf not loaded?");
	CHECK(mvf_read_file(MVF_TYPE_DIR "/device_api", buf, sizeof(buf)) == 0, "");
	CHECK(!strcmp(buf, VFIO_DEVICE_API_PCI_STRING "\n"), "api %s", buf);
	avail = mvf_read_long(MVF_TYPE_DIR "/available_instances");
	CHECK(avail > 0, "available %ld", avail);

	CHECK(mvf_mdev_create(vf, MVF_TYPE) == 0, "");
	CHECK(mvf_mdev_exists(vf->uuid), "%s", vf->uuid);
	CHECK(mvf_read_long(MVF_TYPE_DIR "/available_instances") == avail - 1, "");
	CHECK(*mvf_state(vf, "mac"), "no debugfs view for %s", vf->uuid);
	/* The same UUID twice is refused. */
	CHECK(mvf_write_file(MVF_TYPE_DIR "/create", vf->uuid) == -EEXIST, "");
}

static void test_open(struct vf *vf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int ret;

	vf->container = mvf_open_container();
	CHECK(vf->container >= 0, "%s", strerror(-vf->container));
	CHECK(ioctl(vf->container, VFIO_GET_API_VERSION) == VFIO_API_VERSION,
	      "");
	CHECK(ioctl(vf->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) ==
	      1, "vfio_iommu_type1 not loaded?");

	ret = mvf_open_group(vf);
	CHECK(!ret, "%s's group: %s", vf->uuid, strerror(-ret));
	CHECK(!ioctl(vf->group, VFIO_GROUP_GET_STATUS, &status), "");
	CHECK(status.flags & VFIO_GROUP_FLAGS_VIABLE, "flags %x", status.flags);
	ret = mvf_set_container(vf, vf->container);
	CHECK(!ret, "%s", strerror(-ret));
	/* Type1 v2, as QEMU: v1 has no dirty tracking (EACCES). */
	ret = mvf_set_iommu(vf->container);
	CHECK(!ret, "%s", strerror(-ret));
	ret = mvf_open_device(vf);
	CHECK(!ret, "%s", strerror(-ret));

	CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_INFO, &info), "");
	CHECK(info.flags & VFIO_DEVICE_FLAGS_PCI, "flags %x", info.flags);
	CHECK(info.flags & VFIO_DEVICE_FLAGS_RESET, "flags %x", info.flags);
	CHECK(info.num_regions == VFIO_PCI_NUM_REGIONS, "%u", info.num_regions);
	CHECK(info.num_irqs == VFIO_PCI_NUM_IRQS, "%u", info.num_irqs);
	info.argsz = 4;
	CHECK(ioctl(vf->device, VFIO_DEVICE_GET_INFO, &info) == -1 &&
	      errno == EINVAL, "short argsz accepted");
}

static void test_region_info(struct vf *vf)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	const u32 rw = VFIO_REGION_INFO_FLAG_READ |
			    VFIO_REGION_INFO_FLAG_WRITE;
	unsigned int i;

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri), "");
	CHECK(ri.size == PCI_CFG_SPACE_SIZE && ri.flags == rw,
	      "size %llu flags %x", (unsigned long long)ri.size, ri.flags);
	vf->cfg_off = ri.offset;

	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri), "");
	CHECK(ri.size == KVX_MVF_BAR0_SIZE &&
	      ri.flags == (rw | VFIO_REGION_INFO_FLAG_MMAP |
			   VFIO_REGION_INFO_FLAG_CAPS),
	      "size %llu flags %x", (unsigned long long)ri.size, ri.flags);
	/* argsz without room for the capabilities: told how much to pass. */
	CHECK(ri.argsz > sizeof(ri) && ri.cap_offset == 0, "argsz %u cap %u",
	      ri.argsz, ri.cap_offset);
	vf->bar0_off = ri.offset;
	ri.argsz = sizeof(ri);

	for (i = VFIO_PCI_BAR1_REGION_INDEX; i < VFIO_PCI_NUM_REGIONS; i++) {
		if (i == VFIO_PCI_CONFIG_REGION_INDEX)
			continue;
		ri.index = i;
		CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri), "");
		CHECK(ri.size == 0, "region %u size %llu", i,
		      (unsigned long long)ri.size);
	}
	ri.index = VFIO_PCI_NUM_REGIONS;
	CHECK(ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri) == -1 &&
	      errno == EINVAL, "");
	ri.index = 0;
	ri.argsz = 8;
	CHECK(ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri) == -1 &&
	      errno == EINVAL, "");

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		ii.index = i;
		CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_IRQ_INFO, &ii), "");
		if (i == VFIO_PCI_MSI_IRQ_INDEX)
			CHECK(ii.count == 1 && ii.flags ==
			      (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE),
			      "MSI count %u flags 0x%x", ii.count, ii.flags);
		else if (i != VFIO_PCI_REQ_IRQ_INDEX)	/* remove_request */
			CHECK(ii.count == 0, "irq %u count %u", i, ii.count);
	}
	ii.index = VFIO_PCI_NUM_IRQS;
	CHECK(ioctl(vf->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) == -1 &&
	      errno == EINVAL, "");
}

/* BAR0's sparse mmap capability lists the mailbox page and nothing else. */
static void test_region_caps(struct vf *vf)
{
	union {
		struct vfio_region_info ri;
		u8 buf[512];
	} u = { .ri = { .argsz = sizeof(u.ri),
			.index = VFIO_PCI_BAR0_REGION_INDEX } };
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_info_cap_header *hdr;

	CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &u.ri), "");
	CHECK(u.ri.argsz <= sizeof(u.buf), "argsz %u", u.ri.argsz);
	CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &u.ri), "");
	CHECK(u.ri.cap_offset >= sizeof(u.ri) &&
	      u.ri.cap_offset + sizeof(*sparse) +
	      sizeof(sparse->areas[0]) <= u.ri.argsz, "cap_offset %u argsz %u",
	      u.ri.cap_offset, u.ri.argsz);
	hdr = (void *)(u.buf + u.ri.cap_offset);
	CHECK(hdr->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP && hdr->version == 1,
	      "id %u version %u", hdr->id, hdr->version);
	CHECK(hdr->next == 0, "more capabilities: next %u", hdr->next);
	sparse = (void *)hdr;
	CHECK(sparse->nr_areas == 1, "%u areas", sparse->nr_areas);
	CHECK(sparse->areas[0].offset == KVX_MVF_MBX_PAGE &&
	      sparse->areas[0].size == KVX_MVF_PAGE_SIZE, "area 0x%llx+0x%llx",
	      (unsigned long long)sparse->areas[0].offset,
	      (unsigned long long)sparse->areas[0].size);

	/* The other regions have no capabilities. */
	u.ri.argsz = sizeof(u.ri);
	u.ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	CHECK(!ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &u.ri), "");
	CHECK(!(u.ri.flags & (VFIO_REGION_INFO_FLAG_MMAP |
			      VFIO_REGION_INFO_FLAG_CAPS)) &&
	      u.ri.cap_offset == 0, "flags %x", u.ri.flags);
}

static void test_config_space(struct vf *vf)
{
	u8 cfg[PCI_CFG_SPACE_SIZE];
	u32 bar, size;

	CHECK(mvf_region_read(vf, vf->cfg_off, cfg, sizeof(cfg)) == sizeof(cfg),
	      "");
	CHECK((cfg[0] | cfg[1] << 8) == KVX_MVF_PCI_VENDOR_ID, "");
	CHECK((cfg[2] | cfg[3] << 8) == KVX_MVF_PCI_DEVICE_ID, "");
	CHECK(cfg[PCI_REVISION_ID] == KVX_MVF_PCI_REVISION, "");
	CHECK((cfg[PCI_CLASS_PROG] | cfg[PCI_CLASS_DEVICE] << 8 |
	       cfg[PCI_CLASS_DEVICE + 1] << 16) == KVX_MVF_PCI_CLASS, "");
	CHECK(cfg[PCI_HEADER_TYPE] == PCI_HEADER_TYPE_NORMAL, "");
	/* One capability: MSI, one vector, 64-bit. */
	CHECK(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, "");
	CHECK(cfg[PCI_CAPABILITY_LIST] == 0x40, "0x%x",
	      cfg[PCI_CAPABILITY_LIST]);
	CHECK(cfg[0x40 + PCI_CAP_LIST_ID] == PCI_CAP_ID_MSI &&
	      cfg[0x40 + PCI_CAP_LIST_NEXT] == 0, "");
	CHECK((cfg[0x40 + PCI_MSI_FLAGS] | cfg[0x41 + PCI_MSI_FLAGS] << 8) ==
	      PCI_MSI_FLAGS_64BIT, "");
	CHECK(!mvf_cfg_write32(vf, 0x40 + PCI_MSI_ADDRESS_LO, 0xfee00003), "");
	CHECK(mvf_cfg_read32(vf, 0x40 + PCI_MSI_ADDRESS_LO) == 0xfee00000, "");
	CHECK(!mvf_cfg_write32(vf, 0x40 + PCI_MSI_DATA_64, 0xffff4041), "");
	CHECK(mvf_cfg_read32(vf, 0x40 + PCI_MSI_DATA_64) == 0x4041, "");
	CHECK(!mvf_cfg_write32(vf, 0x40, 0xffffffff), "");
	CHECK(mvf_cfg_read32(vf, 0x40) == ((PCI_MSI_FLAGS_64BIT |
					 PCI_MSI_FLAGS_ENABLE) << 16 |
					PCI_CAP_ID_MSI), "0x%x",
	      mvf_cfg_read32(vf, 0x40));

	/* BAR sizing, as firmware does it. */
	CHECK(!mvf_cfg_write32(vf, PCI_BASE_ADDRESS_0, 0xffffffff), "");
	bar = mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0);
	size = ~(bar & PCI_BASE_ADDRESS_MEM_MASK) + 1;
	CHECK(size == KVX_MVF_BAR0_SIZE, "bar 0x%08x", bar);
	CHECK((bar & ~PCI_BASE_ADDRESS_MEM_MASK) ==
	      (PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_32),
	      "bar 0x%08x", bar);
	CHECK(!mvf_cfg_write32(vf, PCI_BASE_ADDRESS_0, 0xfebf0000), "");
	CHECK(mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0) == 0xfebf0000, "");
	CHECK(!mvf_cfg_write32(vf, PCI_BASE_ADDRESS_1, 0xffffffff), "");
	CHECK(mvf_cfg_read32(vf, PCI_BASE_ADDRESS_1) == 0, "BAR1 implemented?");

	/* Read-only fields stay, writable ones take. */
	CHECK(!mvf_cfg_write32(vf, PCI_VENDOR_ID, 0x12345678), "");
	CHECK(mvf_cfg_read32(vf, PCI_VENDOR_ID) ==
	      (KVX_MVF_PCI_VENDOR_ID | KVX_MVF_PCI_DEVICE_ID << 16), "");
	CHECK(!mvf_cfg_write32(vf, PCI_COMMAND, 0xffff), "");
	CHECK((mvf_cfg_read32(vf, PCI_COMMAND) & 0xffff) ==
	      (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	       PCI_COMMAND_INTX_DISABLE), "0x%x", mvf_cfg_read32(vf, PCI_COMMAND));
}

static void test_bar0_ids(struct vf *vf)
{
	u32 status;

	CHECK(mvf_reg_read(vf, KVX_MVF_REG_ID) == KVX_MVF_ID_MAGIC, "");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_VERSION) ==
	      (KVX_MVF_ABI_VERSION << KVX_MVF_VERSION_ABI_SHIFT |
	       KVX_MVF_DEVICE_GENERATION), "");
	status = mvf_reg_read(vf, KVX_MVF_REG_STATUS);
	CHECK(status == KVX_MVF_STATUS_LINK_UP, "status 0x%x", status);
	/* Reserved space reads as zero. */
	CHECK(mvf_reg_read(vf, 0x800) == 0 && mvf_reg_read(vf, 0x3000) == 0, "");
}

static void test_mbx_reset_done(struct vf *vf)
{
	u32 ctrl = mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);

	CHECK(ctrl == KVX_MVF_MBX_RSTD, "VFMAILBOX 0x%x after open", ctrl);
	/* A level: a read clears nothing, the VF's store does. */
	ctrl = mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);
	CHECK(ctrl == KVX_MVF_MBX_RSTD, "RSTD read-to-clear: 0x%x", ctrl);
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
	ctrl = mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);
	CHECK(ctrl == 0, "RSTD not cleared by the VF's store: 0x%x", ctrl);
}

static void test_mbx_not_cts(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	mac_words("02:aa:bb:cc:dd:ee", w);
	CHECK(mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]), "");
	CHECK(r[0] == (KVX_MVF_MSG_NACK | KVX_MVF_MSG_SET_MAC), "0x%x", r[0]);
	CHECK(r[1] == KVX_MVF_ERR_NOT_CTS, "err %u", r[1]);
	CHECK(!strcmp(mvf_state(vf, "cts"), "0"), "");
	CHECK(same_state(vf, "mac", vf, "admin_mac"), "");
	CHECK(!strcmp(mvf_state(vf, "nacks"), "1"), "");
}

static void test_mbx_reset(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	mac_words(mvf_state(vf, "admin_mac"), w);
	CHECK(r[1] == w[0] && r[2] == w[1], "mac 0x%x 0x%x", r[1], r[2]);
	CHECK(r[3] == KVX_MVF_API_1_0, "api 0x%x", r[3]);
	CHECK(!strcmp(mvf_state(vf, "cts"), "1"), "");
	CHECK(!strcmp(mvf_state(vf, "api"), "1.0"), "");
	CHECK(!strcmp(mvf_state(vf, "pf_msg_pending"), "0"), "reply not acked");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_STATUS) ==
	      (KVX_MVF_STATUS_LINK_UP | KVX_MVF_STATUS_CTS), "");
}

static void test_mbx_api(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS];

	/* GET_LINK is API 1.1. */
	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK), "");
	CHECK(r[0] == NACKED(KVX_MVF_MSG_GET_LINK) && r[1] == KVX_MVF_ERR_API,
	      "0x%x %u", r[0], r[1]);

	CHECK(mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE, 0x0200), "");
	CHECK(r[0] == NACKED(KVX_MVF_MSG_API_NEGOTIATE), "0x%x", r[0]);
	CHECK(r[1] == KVX_MVF_ERR_API && r[2] == KVX_MVF_API_1_1,
	      "%u 0x%x", r[1], r[2]);
	CHECK(!strcmp(mvf_state(vf, "api"), "1.0"), "");

	CHECK(mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_1),
	      "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE), "0x%x", r[0]);
	CHECK(r[1] == KVX_MVF_API_1_1, "0x%x", r[1]);
	CHECK(!strcmp(mvf_state(vf, "api"), "1.1"), "");
}

/* Read and acknowledge a PF to VF message, as igbvf reads one. */
static void pf_msg_recv(struct vf *vf, u32 *msg)
{
	unsigned int i;

	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_PFACK), "PFACK without request");
	CHECK(mbx_check_bit(vf, KVX_MVF_MBX_PFSTS), "no PF message");
	CHECK(mbx_lock(vf), "");
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		msg[i] = mvf_reg_read(vf, KVX_MVF_REG_VFMBMEM + 4 * i);
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_ACK);
	CHECK(!strcmp(mvf_state(vf, "pf_msg_pending"), "0"), "");
}

#define PF_LINK_MSG	(KVX_MVF_MSG_PF_LINK | KVX_MVF_MSG_CTS)

static void check_link_msg(const u32 *m, bool up)
{
	unsigned int i;

	CHECK(m[0] == PF_LINK_MSG, "header 0x%x", m[0]);
	CHECK(m[1] == (up ? KVX_MVF_LINK_UP : 0) && m[2] == (up ? 10000 : 0),
	      "link %u speed %u, want %s", m[1], m[2], up ? "up" : "down");
	for (i = 3; i < KVX_MVF_MBX_WORDS; i++)
		CHECK(!m[i], "word %u: 0x%x", i, m[i]);
}

static void test_mbx_get_link(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS];

	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_GET_LINK), "0x%x", r[0]);
	CHECK(r[1] == KVX_MVF_LINK_UP && r[2] == 10000, "%u %u", r[1], r[2]);

	CHECK(mvf_set_link("down") == 0, "");
	pf_msg_recv(vf, r);
	check_link_msg(r, false);
	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_GET_LINK), "0x%x", r[0]);
	CHECK(r[1] == 0 && r[2] == 0, "%u %u", r[1], r[2]);
	CHECK(!(mvf_reg_read(vf, KVX_MVF_REG_STATUS) & KVX_MVF_STATUS_LINK_UP), "");

	CHECK(mvf_set_link("sideways") == -EINVAL, "");
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS), "");
	CHECK(mvf_set_link("up") == 0, "");
	pf_msg_recv(vf, r);
	check_link_msg(r, true);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_STATUS) & KVX_MVF_STATUS_LINK_UP, "");
}

/*
 * A link change through debugfs reaches an API 1.1 VF as a PF_LINK
 * message: at once when the buffer is free, else when the VF releases it
 * or acknowledged the reply in it; changes made meanwhile make one message
 * with the latest state.
 */
static void test_pf_link_msg(struct vf *vf)
{
	u32 m[KVX_MVF_MBX_WORDS], r[KVX_MVF_MBX_WORDS];
	long msgs = atol(mvf_state(vf, "pf_msgs"));

	CHECK(!strcmp(mvf_state(vf, "api"), "1.1"), "");
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS), "");

	/* A free buffer: the message is there when the write returns. */
	CHECK(mvf_set_link("down") == 0, "");
	CHECK(!strcmp(mvf_state(vf, "pf_msg_pending"), "1"), "");
	pf_msg_recv(vf, m);
	check_link_msg(m, false);
	CHECK(atol(mvf_state(vf, "pf_msgs")) == msgs + 1, "");

	/* The VF owns the buffer: held until VFU is released; coalesced. */
	CHECK(mbx_lock(vf), "");
	CHECK(mvf_set_link("up") == 0 && mvf_set_link("down") == 0 &&
	      mvf_set_link("up") == 0, "");
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS), "written under VFU");
	CHECK(!strcmp(mvf_state(vf, "link_msg_pending"), "1"), "");
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
	CHECK(!strcmp(mvf_state(vf, "link_msg_pending"), "0"), "");
	pf_msg_recv(vf, m);
	check_link_msg(m, true);
	CHECK(atol(mvf_state(vf, "pf_msgs")) == msgs + 2, "one message");

	/* A reply waits for its ACK: the link message comes after it. */
	CHECK(mbx_send(vf, (u32 []){ KVX_MVF_MSG_GET_LINK }, 1), "");
	CHECK(mvf_set_link("down") == 0, "");
	CHECK(!strcmp(mvf_state(vf, "link_msg_pending"), "1"), "");
	CHECK(mbx_recv(vf, r), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_GET_LINK) && r[1] == KVX_MVF_LINK_UP,
	      "reply 0x%x %u", r[0], r[1]);
	pf_msg_recv(vf, m);
	check_link_msg(m, false);

	/* An API 1.0 VF has no link messages; STATUS still follows. */
	CHECK(mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_0) &&
	      r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE), "");
	CHECK(mvf_set_link("up") == 0, "");
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS), "sent to API 1.0");
	CHECK(!strcmp(mvf_state(vf, "link_msg_pending"), "0"), "");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_STATUS) & KVX_MVF_STATUS_LINK_UP, "");
	CHECK(atol(mvf_state(vf, "pf_msgs")) == msgs + 3, "");
	CHECK(mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_1) &&
	      r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE), "");
}

static void test_mbx_set_mac(struct vf *vf)
{
	static const char * const bad[] = {
		"03:11:22:33:44:55",	/* multicast */
		"00:00:00:00:00:00",
		"ff:ff:ff:ff:ff:ff",
	};
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	unsigned int i;

	mac_words("02:11:22:33:44:55", w);
	CHECK(mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_SET_MAC), "0x%x", r[0]);
	CHECK(r[1] == w[0] && r[2] == w[1], "");
	CHECK(!strcmp(mvf_state(vf, "mac"), "02:11:22:33:44:55"), "%s",
	      mvf_state(vf, "mac"));

	for (i = 0; i < 3; i++) {
		mac_words(bad[i], w);
		CHECK(mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]), "");
		CHECK(r[0] == NACKED(KVX_MVF_MSG_SET_MAC) &&
		      r[1] == KVX_MVF_ERR_INVAL, "%s: 0x%x %u", bad[i], r[0],
		      r[1]);
	}
	/* Stray bits above the MAC in word 2. */
	mac_words("02:11:22:33:44:66", w);
	CHECK(mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1] | 1 << 16),
	      "");
	CHECK(r[0] == NACKED(KVX_MVF_MSG_SET_MAC) && r[1] == KVX_MVF_ERR_INVAL,
	      "0x%x", r[0]);
	CHECK(!strcmp(mvf_state(vf, "mac"), "02:11:22:33:44:55"), "changed: %s",
	      mvf_state(vf, "mac"));
}

static void vlan_op(struct vf *vf, u32 op, u32 vid, u32 expect,
		    u32 err)
{
	u32 r[KVX_MVF_MBX_WORDS];

	CHECK(mbx_xfer(vf, r, 2, KVX_MVF_MSG_SET_VLAN |
		       op << KVX_MVF_MSG_INFO_SHIFT, vid), "");
	CHECK(r[0] == (expect | KVX_MVF_MSG_CTS | KVX_MVF_MSG_SET_VLAN),
	      "op %u vid %u: 0x%x", op, vid, r[0]);
	CHECK(!err || r[1] == err, "op %u vid %u: err %u", op, vid, r[1]);
}

static void test_mbx_set_vlan(struct vf *vf)
{
	char full[256];
	unsigned int i;

	vlan_op(vf, KVX_MVF_VLAN_ADD, 200, KVX_MVF_MSG_ACK, 0);
	vlan_op(vf, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_ACK, 0);
	vlan_op(vf, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_ACK, 0);
	CHECK(!strcmp(mvf_state(vf, "vlans"), "100 200"), "%s",
	      mvf_state(vf, "vlans"));

	vlan_op(vf, KVX_MVF_VLAN_ADD, 0, KVX_MVF_MSG_NACK, KVX_MVF_ERR_INVAL);
	vlan_op(vf, KVX_MVF_VLAN_ADD, 4095, KVX_MVF_MSG_NACK, KVX_MVF_ERR_INVAL);
	vlan_op(vf, 2, 300, KVX_MVF_MSG_NACK, KVX_MVF_ERR_INVAL);
	CHECK(!strcmp(mvf_state(vf, "vlans"), "100 200"), "%s",
	      mvf_state(vf, "vlans"));

	vlan_op(vf, KVX_MVF_VLAN_DEL, 100, KVX_MVF_MSG_ACK, 0);
	vlan_op(vf, KVX_MVF_VLAN_DEL, 100, KVX_MVF_MSG_ACK, 0);
	CHECK(!strcmp(mvf_state(vf, "vlans"), "200"), "%s",
	      mvf_state(vf, "vlans"));

	/* Fill the table; one more is refused and changes nothing. */
	for (i = 1; i < KVX_MVF_MAX_VLANS; i++)
		vlan_op(vf, KVX_MVF_VLAN_ADD, 1000 + i, KVX_MVF_MSG_ACK, 0);
	snprintf(full, sizeof(full), "%s", mvf_state(vf, "vlans"));
	vlan_op(vf, KVX_MVF_VLAN_ADD, 7, KVX_MVF_MSG_NACK, KVX_MVF_ERR_NOSPC);
	CHECK(!strcmp(mvf_state(vf, "vlans"), full), "%s",
	      mvf_state(vf, "vlans"));
	for (i = 1; i < KVX_MVF_MAX_VLANS; i++)
		vlan_op(vf, KVX_MVF_VLAN_DEL, 1000 + i, KVX_MVF_MSG_ACK, 0);
	CHECK(!strcmp(mvf_state(vf, "vlans"), "200"), "%s",
	      mvf_state(vf, "vlans"));
}

/* SET_MCAST of @nr hashes (@h, two per word); the reply's header. */
static u32 mcast_op(struct vf *vf, u32 nr, const u16 *h, unsigned int nh,
		    u32 *r)
{
	u32 msg[KVX_MVF_MBX_WORDS] = {};
	unsigned int i;

	msg[0] = KVX_MVF_MSG_SET_MCAST | nr << KVX_MVF_MSG_INFO_SHIFT;
	for (i = 0; i < nh; i++)
		msg[1 + i / 2] |= (u32)h[i] << (i % 2 * 16);
	memset(r, 0, KVX_MVF_MBX_WORDS * sizeof(*r));
	CHECK(mbx_send(vf, msg, KVX_MVF_MBX_WORDS) && mbx_recv(vf, r), "");
	return r[0];
}

static void test_mbx_set_mcast(struct vf *vf)
{
	static const u16 list[] = { 0x7ff, 0x012, 0xabc, 0x012, 0x000 };
	u16 full[2 * (KVX_MVF_MBX_WORDS - 1)];
	char want[256], before[2048], after[2048];
	u32 r[KVX_MVF_MBX_WORDS];
	unsigned int i, n;

	CHECK(!strcmp(mvf_state(vf, "mcast"), ""), "%s",
	      mvf_state(vf, "mcast"));
	/* Sorted, a repeat counted once; hash 0 is a hash like any other. */
	CHECK(mcast_op(vf, 5, list, 5, r) == ACKED(KVX_MVF_MSG_SET_MCAST),
	      "0x%x %u", r[0], r[1]);
	CHECK(r[1] == 4, "kept %u", r[1]);
	CHECK(!strcmp(mvf_state(vf, "mcast"), "0x000 0x012 0x7ff 0xabc"), "%s",
	      mvf_state(vf, "mcast"));

	/* The most the buffer holds, replacing the list whole. */
	for (i = 0; i < ARRAY_SIZE(full); i++)
		full[i] = 0xfff - 3 * i;
	CHECK(mcast_op(vf, KVX_MVF_MAX_MCAST, full, ARRAY_SIZE(full), r) ==
	      ACKED(KVX_MVF_MSG_SET_MCAST) && r[1] == KVX_MVF_MAX_MCAST,
	      "0x%x %u", r[0], r[1]);
	for (i = 0, n = 0; i < ARRAY_SIZE(full); i++)
		n += snprintf(want + n, sizeof(want) - n, "%s0x%03x",
			      i ? " " : "", full[ARRAY_SIZE(full) - 1 - i]);
	CHECK(!strcmp(mvf_state(vf, "mcast"), want), "%s vs %s",
	      mvf_state(vf, "mcast"), want);

	/* Refused, changing nothing: too many, 13 bits, stray halfwords. */
	CHECK(!mvf_state_dump(vf, before, sizeof(before)), "");
	CHECK(mcast_op(vf, KVX_MVF_MAX_MCAST + 1, full, ARRAY_SIZE(full), r) ==
	      NACKED(KVX_MVF_MSG_SET_MCAST) && r[1] == KVX_MVF_ERR_INVAL,
	      "31: 0x%x %u", r[0], r[1]);
	CHECK(mcast_op(vf, 0xff, full, ARRAY_SIZE(full), r) ==
	      NACKED(KVX_MVF_MSG_SET_MCAST) && r[1] == KVX_MVF_ERR_INVAL,
	      "255: 0x%x %u", r[0], r[1]);
	full[7] = 0x1000;
	CHECK(mcast_op(vf, 8, full, 8, r) == NACKED(KVX_MVF_MSG_SET_MCAST) &&
	      r[1] == KVX_MVF_ERR_INVAL, "0x1000: 0x%x %u", r[0], r[1]);
	full[7] = 0x100;
	CHECK(mcast_op(vf, 7, full, 8, r) == NACKED(KVX_MVF_MSG_SET_MCAST) &&
	      r[1] == KVX_MVF_ERR_INVAL, "past count: 0x%x %u", r[0], r[1]);
	CHECK(mcast_op(vf, 0, full, 1, r) == NACKED(KVX_MVF_MSG_SET_MCAST) &&
	      r[1] == KVX_MVF_ERR_INVAL, "past 0: 0x%x %u", r[0], r[1]);
	CHECK(!mvf_state_dump(vf, after, sizeof(after)), "");
	*strstr(before, "requests") = '\0';
	*strstr(after, "requests") = '\0';
	CHECK(!strcmp(before, after), "state changed:\n%s\n--\n%s", before,
	      after);

	/* Count 0 empties the filter; a RESET does too. */
	CHECK(mcast_op(vf, 0, NULL, 0, r) == ACKED(KVX_MVF_MSG_SET_MCAST) &&
	      r[1] == 0, "0x%x %u", r[0], r[1]);
	CHECK(!strcmp(mvf_state(vf, "mcast"), ""), "%s",
	      mvf_state(vf, "mcast"));
	CHECK(mcast_op(vf, 2, list, 2, r) == ACKED(KVX_MVF_MSG_SET_MCAST), "");
	CHECK(!strcmp(mvf_state(vf, "mcast"), "0x012 0x7ff"), "%s",
	      mvf_state(vf, "mcast"));
}

static void test_mbx_malformed(struct vf *vf)
{
	static const struct {
		u32 hdr;
		u32 err;
	} bad[] = {
		{ 0x0077, KVX_MVF_ERR_UNKNOWN },
		{ 0xffff, KVX_MVF_ERR_UNKNOWN },
		{ 0x0005, KVX_MVF_ERR_UNKNOWN },
		{ KVX_MVF_MSG_PF_LINK, KVX_MVF_ERR_UNKNOWN },	/* PF to VF */
		{ KVX_MVF_MSG_RESET | 0x01000000, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_RESET | KVX_MVF_MSG_ACK, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_SET_MAC | KVX_MVF_MSG_NACK, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_GET_LINK | KVX_MVF_MSG_CTS, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_SET_MAC | 1 << KVX_MVF_MSG_INFO_SHIFT,
		  KVX_MVF_ERR_INVAL },
	};
	u32 r[KVX_MVF_MBX_WORDS];
	char before[2048], after[2048];
	char nacks[32];
	unsigned int i;

	snprintf(nacks, sizeof(nacks), "%s", mvf_state(vf, "nacks"));
	CHECK(!mvf_state_dump(vf, before, sizeof(before)), "");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(mbx_xfer(vf, r, 3, bad[i].hdr, 0x11111111, 0x2222), "");
		CHECK(r[0] == NACKED(bad[i].hdr & KVX_MVF_MSG_ID_MASK) &&
		      r[1] == bad[i].err, "hdr 0x%x: 0x%x %u", bad[i].hdr,
		      r[0], r[1]);
	}
	CHECK(!mvf_state_dump(vf, after, sizeof(after)), "");
	/* Only the counters moved. */
	CHECK(atol(mvf_state(vf, "nacks")) == atol(nacks) + (long)i, "");
	*strstr(before, "requests") = '\0';
	*strstr(after, "requests") = '\0';
	CHECK(!strcmp(before, after), "state changed:\n%s\n--\n%s", before,
	      after);
}

static void test_mbx_ownership(struct vf *vf)
{
	long errors = atol(mvf_state(vf, "protocol_errors"));
	long requests = atol(mvf_state(vf, "requests"));
	u32 word;

	/*
	 * Release VFU, then write the buffer (memory: it lands, as through
	 * the mapping) and post it without VFU: dropped, a protocol error.
	 */
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_VFU), "");
	word = KVX_MVF_MSG_RESET;
	mvf_reg_write(vf, KVX_MVF_REG_VFMBMEM, word);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_VFMBMEM) == word, "VFMBMEM not memory");
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_REQ);
	CHECK(!mbx_check_bit(vf, KVX_MVF_MBX_PFACK | KVX_MVF_MBX_REQ),
	      "REQ without VFU taken or left: 0x%x", mbx_read_ctrl(vf));
	CHECK(atol(mvf_state(vf, "requests")) == requests, "");
	CHECK(atol(mvf_state(vf, "protocol_errors")) == errors + 1, "");
	/* REQ/ACK are actions, RO bits ignore writes. */
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, (u32)~KVX_MVF_MBX_REQ);
	CHECK((mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX) & ~KVX_MVF_MBX_VFU) == 0,
	      "");
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
}

static void test_pf_reset_notice(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS];

	CHECK(mvf_event(vf, "bogus") == -EINVAL, "");
	CHECK(mvf_event(vf, "reset") == 0, "");
	CHECK(mbx_read_ctrl(vf) & KVX_MVF_MBX_RSTI, "");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_STATUS) & KVX_MVF_STATUS_RESET_PENDING,
	      "");
	CHECK(!strcmp(mvf_state(vf, "cts"), "0"), "");

	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK), "");
	CHECK(r[0] == (KVX_MVF_MSG_NACK | KVX_MVF_MSG_GET_LINK) &&
	      r[1] == KVX_MVF_ERR_NOT_CTS, "0x%x %u", r[0], r[1]);

	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_RSTI), "");
	CHECK(!strcmp(mvf_state(vf, "reset_pending"), "0"), "");
	CHECK(!strcmp(mvf_state(vf, "api"), "1.0"), "");
	CHECK(!strcmp(mvf_state(vf, "vlans"), ""), "%s", mvf_state(vf, "vlans"));
	CHECK(!strcmp(mvf_state(vf, "mcast"), ""), "%s", mvf_state(vf, "mcast"));
	CHECK(same_state(vf, "mac", vf, "admin_mac"), "");
}

static void test_doorbell(struct vf *vf)
{
	mvf_reg_write(vf, KVX_MVF_REG_DOORBELL, 1);
	mvf_reg_write(vf, KVX_MVF_REG_DOORBELL, 2);
	mvf_reg_write(vf, KVX_MVF_REG_DOORBELL, 0xcafe);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DB_COUNT) == 3, "");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DOORBELL) == 0, "");
	CHECK(!strcmp(mvf_state(vf, "doorbells"), "3"), "");
	CHECK(!strcmp(mvf_state(vf, "doorbell_last"), "0x0000cafe"), "");
	/* Read-only registers ignore writes. */
	mvf_reg_write(vf, KVX_MVF_REG_DB_COUNT, 0);
	mvf_reg_write(vf, KVX_MVF_REG_ID, 0);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DB_COUNT) == 3, "");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_ID) == KVX_MVF_ID_MAGIC, "");
}

static void test_bad_access(struct vf *vf)
{
	const u64 cfg = vf->cfg_off, bar0 = vf->bar0_off;
	const struct {
		u64 pos;
		size_t len;
		bool write;
	} bad[] = {
		{ bar0 + KVX_MVF_BAR0_SIZE, 4, false },
		{ bar0 + KVX_MVF_BAR0_SIZE, 4, true },
		{ bar0 + KVX_MVF_BAR0_SIZE - 2, 4, false },
		{ bar0 + KVX_MVF_REG_VFMAILBOX + 2, 4, true },
		{ bar0 + KVX_MVF_REG_VFMBMEM + 1, 4, false },
		{ bar0 + KVX_MVF_REG_VFMAILBOX, 2, true },
		{ bar0 + KVX_MVF_REG_VFMAILBOX, 1, false },
		{ bar0 + KVX_MVF_REG_VFMBMEM, 8, true },
		{ bar0 + KVX_MVF_REG_VFMBMEM, 64, false },
		{ bar0 + (1ULL << 39), 4, false },
		{ cfg + PCI_CFG_SPACE_SIZE, 1, false },
		{ cfg + PCI_CFG_SPACE_SIZE - 1, 2, false },
		{ cfg + PCI_CFG_SPACE_SIZE, 4, true },
		{ cfg + PCI_COMMAND, 3, true },
		{ cfg + PCI_COMMAND + 1, 2, true },
		{ cfg + PCI_COMMAND, 8, true },
		{ cfg + 0, PCI_CFG_SPACE_SIZE + 1, false },
		{ (u64)VFIO_PCI_BAR1_REGION_INDEX << 40, 4, false },
		{ (u64)VFIO_PCI_ROM_REGION_INDEX << 40, 4, true },
		{ (u64)VFIO_PCI_NUM_REGIONS << 40, 4, false },
		{ (u64)0xff << 40, 4, true },
	};
	char before[2048], after[2048];
	u8 cfg_before[PCI_CFG_SPACE_SIZE], cfg_after[PCI_CFG_SPACE_SIZE];
	u8 buf[PCI_CFG_SPACE_SIZE + 8];
	unsigned int i;
	ssize_t ret;

	CHECK(!mvf_state_dump(vf, before, sizeof(before)), "");
	CHECK(mvf_region_read(vf, cfg, cfg_before, sizeof(cfg_before)) ==
	      sizeof(cfg_before), "");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, 0xff, sizeof(buf));
		if (bad[i].write)
			ret = mvf_region_write(vf, bad[i].pos, buf, bad[i].len);
		else
			ret = mvf_region_read(vf, bad[i].pos, buf, bad[i].len);
		CHECK(ret == -EINVAL, "%s pos 0x%llx len %zu: %zd",
		      bad[i].write ? "write" : "read",
		      (unsigned long long)bad[i].pos, bad[i].len, ret);
	}
	CHECK(mvf_region_read(vf, cfg, cfg_after, sizeof(cfg_after)) ==
	      sizeof(cfg_after), "");
	CHECK(!memcmp(cfg_before, cfg_after, sizeof(cfg_before)),
	      "config space changed");
	CHECK(!mvf_state_dump(vf, after, sizeof(after)), "");
	CHECK(!strcmp(before, after), "state changed:\n%s\n--\n%s", before,
	      after);
	CHECK(ioctl(vf->device, _IO(VFIO_TYPE, VFIO_BASE + 60)) == -1 &&
	      errno == ENOTTY, "unknown ioctl");
}

static void test_device_reset(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	mac_words("02:00:00:00:00:42", w);
	CHECK(mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]), "");
	vlan_op(vf, KVX_MVF_VLAN_ADD, 42, KVX_MVF_MSG_ACK, 0);
	CHECK(!ioctl(vf->device, VFIO_DEVICE_RESET), "%s", strerror(errno));

	CHECK(mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX) == KVX_MVF_MBX_RSTD, "");
	CHECK(!strcmp(mvf_state(vf, "cts"), "0"), "");
	CHECK(!strcmp(mvf_state(vf, "vlans"), ""), "");
	CHECK(!strcmp(mvf_state(vf, "api"), "1.0"), "");
	CHECK(same_state(vf, "mac", vf, "admin_mac"), "");
	CHECK((mvf_cfg_read32(vf, PCI_COMMAND) & 0xffff) == 0, "");
	CHECK(mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0) ==
	      PCI_BASE_ADDRESS_SPACE_MEMORY, "");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DB_COUNT) == 0, "");
	/* And the VF driver can start over. */
	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
}

/*
 * DIRECT mode: the VF driver's side over the mapped mailbox page.  Single
 * loads and stores for VFMBMEM, atomic read-modify-writes for VFMAILBOX,
 * as mvf.rst asks.
 */

#define MBX_CTRL(m)	((m) + (KVX_MVF_REG_VFMAILBOX - KVX_MVF_MBX_PAGE) / 4)
#define MBX_MEM(m, i)	\
	((m) + (KVX_MVF_REG_VFMBMEM - KVX_MVF_MBX_PAGE) / 4 + (i))
/* The poller runs every few ms; give it 5 s at least, in 500 us steps. */
#define POLL_TRIES	10000
#define POLL_US		500

static u32 dmbx_ctrl(u32 *m)
{
	return __atomic_load_n(MBX_CTRL(m), __ATOMIC_SEQ_CST);
}

static void dmbx_set(u32 *m, u32 bits)
{
	__atomic_fetch_or(MBX_CTRL(m), bits, __ATOMIC_SEQ_CST);
}

static void dmbx_clear(u32 *m, u32 bits)
{
	__atomic_fetch_and(MBX_CTRL(m), ~bits, __ATOMIC_SEQ_CST);
}

/* Bounded wait until (VFMAILBOX & mask) == want; the last value seen. */
static bool dmbx_wait(u32 *m, u32 mask, u32 want, u32 *seen)
{
	unsigned int i;

	for (i = 0; i < POLL_TRIES; i++) {
		*seen = dmbx_ctrl(m);
		if ((*seen & mask) == want)
			return true;
		usleep(POLL_US);
	}
	return false;
}

/* Post a request in the page: take VFU, write VFMBMEM, set REQ. */
static void dmbx_post(u32 *m, const u32 *msg, unsigned int len)
{
	unsigned int i;

	dmbx_set(m, KVX_MVF_MBX_VFU);
	CHECK(!(dmbx_ctrl(m) & KVX_MVF_MBX_PFU), "PF holds the buffer: 0x%x",
	      dmbx_ctrl(m));
	dmbx_clear(m, KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK);
	for (i = 0; i < len; i++)
		WRITE_ONCE(*MBX_MEM(m, i), msg[i]);
	dmbx_set(m, KVX_MVF_MBX_REQ);
}

/* Wait for the reply, read it, consume PFSTS/PFACK and ACK it. */
static void dmbx_recv(u32 *m, u32 *reply)
{
	unsigned int i;
	u32 ctrl;

	CHECK(dmbx_wait(m, KVX_MVF_MBX_PFSTS, KVX_MVF_MBX_PFSTS, &ctrl),
	      "no reply: VFMAILBOX 0x%x", ctrl);
	CHECK((ctrl & (KVX_MVF_MBX_REQ | KVX_MVF_MBX_VFU | KVX_MVF_MBX_PFU |
		       KVX_MVF_MBX_PFACK)) == KVX_MVF_MBX_PFACK,
	      "VFMAILBOX 0x%x with the reply", ctrl);
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		reply[i] = READ_ONCE(*MBX_MEM(m, i));
	dmbx_clear(m, KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK);
	dmbx_set(m, KVX_MVF_MBX_ACK);
	CHECK(dmbx_wait(m, KVX_MVF_MBX_ACK, 0, &ctrl),
	      "ACK not taken: VFMAILBOX 0x%x", ctrl);
}

static void dmbx_xfer(u32 *m, u32 *reply, unsigned int len, ...)
{
	u32 msg[KVX_MVF_MBX_WORDS] = {};
	unsigned int i;
	va_list ap;

	va_start(ap, len);
	for (i = 0; i < len; i++)
		msg[i] = va_arg(ap, u32);
	va_end(ap);

	dmbx_post(m, msg, len);
	dmbx_recv(m, reply);
}

static u32 *mbx_map(struct vf *vf)
{
	void *p = mvf_mmap_bar0(vf, KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE,
			      MAP_SHARED);

	CHECK(p != MAP_FAILED, "mmap of the mailbox page: %s",
	      strerror(errno));
	vf->mbx_page = p;
	return p;
}

/* A mapping holds the device open: a failed test must not leave one. */
static void mbx_unmap(struct vf *vf)
{
	if (vf->mbx_page)
		munmap(vf->mbx_page, KVX_MVF_PAGE_SIZE);
	vf->mbx_page = NULL;
}

static sigjmp_buf bus_error;

static void on_sigbus(int sig)
{
	siglongjmp(bus_error, 1);
}

/* Whether a load from @p raises SIGBUS. */
static bool load_faults(u32 *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool faulted = false;

	CHECK(!sigaction(SIGBUS, &sa, &old), "");
	if (sigsetjmp(bus_error, 1) == 0)
		(void)READ_ONCE(*p);
	else
		faulted = true;
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

static void test_mode_trapped(struct vf *vf)
{
	static const char * const bad[] = {
		"", "Direct", "DIRECT", "directx", "trap", "direct trapped",
		"1",
	};
	void *p;
	unsigned int i;

	CHECK(!strcmp(mvf_mode(vf), "trapped\n"), "default mode %s",
	      mvf_mode(vf));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(mvf_set_mode(vf, bad[i]) == -EINVAL, "'%s' accepted",
		      bad[i]);
	CHECK(!strcmp(mvf_mode(vf), "trapped\n"), "mode %s", mvf_mode(vf));
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");

	/* QEMU maps every sparse mmap area, whatever the PF chose. */
	p = mvf_mmap_bar0(vf, KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE, MAP_SHARED);
	CHECK(p != MAP_FAILED, "mmap while TRAPPED: %s", strerror(errno));
	CHECK(!load_faults(p), "load from the page mapped while TRAPPED");
	CHECK(!strcmp(mvf_state(vf, "mappings"), "1"), "");
	CHECK(!strcmp(mvf_state(vf, "polled"), "1"), "mapped, not polled");
	munmap(p, KVX_MVF_PAGE_SIZE);
	CHECK(!strcmp(mvf_state(vf, "mappings"), "0"), "");
	CHECK(!strcmp(mvf_state(vf, "polled"), "0"), "unmapped, polled");
}

static void test_mmap_bad(struct vf *vf)
{
	static const struct {
		s64 off;
		size_t len;
		int flags;
	} bad[] = {
		{ 0, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ 0, KVX_MVF_BAR0_SIZE, MAP_SHARED },
		{ 0, 2 * KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ KVX_MVF_MBX_PAGE, 2 * KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ 2 * KVX_MVF_PAGE_SIZE, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ 3 * KVX_MVF_PAGE_SIZE, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE, MAP_PRIVATE },
		{ KVX_MVF_BAR0_SIZE, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		/* The config region. */
		{ (s64)(VFIO_PCI_CONFIG_REGION_INDEX -
			VFIO_PCI_BAR0_REGION_INDEX) << 40, KVX_MVF_PAGE_SIZE,
		  MAP_SHARED },
		/* The mailbox page's offset in another region. */
		{ (1LL << 40) + KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE,
		  MAP_SHARED },
	};
	unsigned int i;
	void *p;

	CHECK(mvf_set_mode(vf, "direct") == 0, "");
	CHECK(!strcmp(mvf_mode(vf), "direct\n"), "mode %s", mvf_mode(vf));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		p = mvf_mmap_bar0(vf, bad[i].off, bad[i].len, bad[i].flags);
		if (p != MAP_FAILED)
			munmap(p, bad[i].len);
		CHECK(p == MAP_FAILED && errno == EINVAL,
		      "mmap 0x%llx+0x%zx flags %x: %s",
		      (long long)bad[i].off, bad[i].len, bad[i].flags,
		      p == MAP_FAILED ? strerror(errno) : "mapped");
	}
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");
}

/*
 * A VF driver over the mapped page negotiates API 1.1, sets a MAC and
 * reads the link; only the poller sees the requests.
 */
static void test_direct_mbx(struct vf *vf)
{
	long requests = atol(mvf_state(vf, "requests"));
	long errors = atol(mvf_state(vf, "protocol_errors"));
	u32 r[KVX_MVF_MBX_WORDS], w[2], ctrl;
	unsigned int i;
	u32 *m;

	CHECK(!strcmp(mvf_state(vf, "cts"), "1"), "VF not set up");
	CHECK(mvf_set_mode(vf, "direct") == 0, "");
	m = mbx_map(vf);
	/* The page is the mailbox the trapped path left behind. */
	CHECK(!(dmbx_ctrl(m) & (KVX_MVF_MBX_REQ | KVX_MVF_MBX_ACK |
				KVX_MVF_MBX_PFU)), "VFMAILBOX 0x%x",
	      dmbx_ctrl(m));

	dmbx_xfer(m, r, 2, KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_1);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE) &&
	      r[1] == KVX_MVF_API_1_1, "0x%x 0x%x", r[0], r[1]);
	CHECK(!strcmp(mvf_state(vf, "api"), "1.1"), "%s", mvf_state(vf, "api"));

	mac_words("02:de:ad:be:ef:01", w);
	dmbx_xfer(m, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_SET_MAC) && r[1] == w[0] &&
	      r[2] == w[1], "0x%x 0x%x 0x%x", r[0], r[1], r[2]);
	CHECK(!strcmp(mvf_state(vf, "mac"), "02:de:ad:be:ef:01"), "%s",
	      mvf_state(vf, "mac"));

	dmbx_xfer(m, r, 1, KVX_MVF_MSG_GET_LINK);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_GET_LINK) && r[1] == KVX_MVF_LINK_UP,
	      "0x%x %u", r[0], r[1]);
	CHECK(atol(mvf_state(vf, "requests")) == requests + 3, "requests %s",
	      mvf_state(vf, "requests"));
	CHECK(!strcmp(mvf_state(vf, "pf_msg_pending"), "0"), "");

	/*
	 * A link change while the VF holds VFU waits; the poller delivers
	 * it once VFU is released.  With the buffer free it is at once.
	 */
	dmbx_set(m, KVX_MVF_MBX_VFU);
	CHECK(mvf_set_link("down") == 0, "");
	usleep(20 * 1000);
	CHECK(!(dmbx_ctrl(m) & (KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFU)),
	      "written under VFU: 0x%x", dmbx_ctrl(m));
	dmbx_clear(m, KVX_MVF_MBX_VFU);
	CHECK(dmbx_wait(m, KVX_MVF_MBX_PFSTS, KVX_MVF_MBX_PFSTS, &ctrl),
	      "no link message: 0x%x", ctrl);
	CHECK(!(ctrl & (KVX_MVF_MBX_PFACK | KVX_MVF_MBX_PFU)), "0x%x", ctrl);
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		r[i] = READ_ONCE(*MBX_MEM(m, i));
	check_link_msg(r, false);
	dmbx_clear(m, KVX_MVF_MBX_PFSTS);
	dmbx_set(m, KVX_MVF_MBX_ACK);
	CHECK(dmbx_wait(m, KVX_MVF_MBX_ACK, 0, &ctrl), "0x%x", ctrl);
	CHECK(mvf_set_link("up") == 0, "");
	CHECK(dmbx_ctrl(m) & KVX_MVF_MBX_PFSTS, "0x%x", dmbx_ctrl(m));
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		r[i] = READ_ONCE(*MBX_MEM(m, i));
	check_link_msg(r, true);
	dmbx_clear(m, KVX_MVF_MBX_PFSTS);
	dmbx_set(m, KVX_MVF_MBX_ACK);
	CHECK(dmbx_wait(m, KVX_MVF_MBX_ACK, 0, &ctrl), "0x%x", ctrl);
	CHECK(!strcmp(mvf_state(vf, "pf_msg_pending"), "0"), "");

	/* REQ without VFU is dropped and counted, as when trapped. */
	dmbx_clear(m, KVX_MVF_MBX_VFU);
	dmbx_set(m, KVX_MVF_MBX_REQ);
	CHECK(dmbx_wait(m, KVX_MVF_MBX_REQ, 0, &ctrl), "REQ stuck: 0x%x",
	      ctrl);
	CHECK(!(ctrl & (KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK)),
	      "REQ without VFU answered: 0x%x", ctrl);
	CHECK(atol(mvf_state(vf, "protocol_errors")) == errors + 1, "");
	CHECK(atol(mvf_state(vf, "requests")) == requests + 3, "");

	/* A region read while DIRECT is a load: nothing read-to-clear. */
	dmbx_set(m, KVX_MVF_MBX_VFU);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX) == dmbx_ctrl(m), "");
	dmbx_clear(m, KVX_MVF_MBX_VFU);

	/* A reset keeps the mapping, which shows the reset page. */
	CHECK(!ioctl(vf->device, VFIO_DEVICE_RESET), "%s", strerror(errno));
	CHECK(dmbx_ctrl(m) == KVX_MVF_MBX_RSTD, "0x%x", dmbx_ctrl(m));
	dmbx_clear(m, KVX_MVF_MBX_RSTD);
	dmbx_xfer(m, r, 1, KVX_MVF_MSG_RESET);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	CHECK(!strcmp(mvf_state(vf, "cts"), "1"), "");

	mbx_unmap(vf);
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");
}

/*
 * What QEMU does: it maps the mailbox page whatever the mode and never
 * expects it to go away.  A VF driver loops over the mapping while the PF
 * switches the mode under it: no access faults (SIGBUS on main), every
 * request is answered once, a request posted just before a switch too,
 * and region accesses see the same registers as the mapping (one
 * semantics, nothing read-to-clear).  A TRAPPED VF mapped by a user it
 * cannot trap is polled.
 */
static void test_mapped_mode_switch(struct vf *vf)
{
	u32 msg[2] = { KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_1 };
	long requests = atol(mvf_state(vf, "requests"));
	long errors = atol(mvf_state(vf, "protocol_errors"));
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	u32 *m;
	unsigned int i;

	CHECK(mvf_set_mode(vf, "direct") == 0, "");
	m = mbx_map(vf);
	CHECK(!load_faults(m), "mapping does not work");

	/* Post a request and switch at once: it must be answered once. */
	dmbx_post(m, msg, 2);
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");
	CHECK(!strcmp(mvf_mode(vf), "trapped\n"), "mode %s", mvf_mode(vf));
	CHECK(!load_faults(m), "TRAPPED revoked the mapping (SIGBUS)");
	CHECK(!load_faults(MBX_MEM(m, 0)), "");
	CHECK(atol(mvf_state(vf, "requests")) == requests + 1, "requests %s",
	      mvf_state(vf, "requests"));
	CHECK(!strcmp(mvf_state(vf, "polled"), "1"), "mapped TRAPPED VF not polled");
	/* The region sees what the mapping sees: no read-to-clear. */
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX) == dmbx_ctrl(m) &&
	      mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX) == dmbx_ctrl(m),
	      "VFMAILBOX 0x%x through the region, 0x%x mapped",
	      mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX), dmbx_ctrl(m));
	dmbx_recv(m, r);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE) &&
	      r[1] == KVX_MVF_API_1_1, "0x%x 0x%x", r[0], r[1]);
	CHECK(!strcmp(mvf_state(vf, "pf_msg_pending"), "0"), "");

	/* The same driver carries on over the mapping while TRAPPED. */
	mac_words("02:de:ad:be:ef:02", w);
	dmbx_xfer(m, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_SET_MAC), "0x%x", r[0]);
	CHECK(!strcmp(mvf_state(vf, "mac"), "02:de:ad:be:ef:02"), "%s",
	      mvf_state(vf, "mac"));
	/* And through the region, with the same protocol. */
	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_GET_LINK), "0x%x", r[0]);

	/* Switch every round, mid-message too; nothing faults or is lost. */
	for (i = 0; i < 8; i++) {
		mac_words(i % 2 ? "02:de:ad:be:ef:03" : "02:de:ad:be:ef:04", w);
		dmbx_post(m, (u32 []){ KVX_MVF_MSG_SET_MAC, w[0], w[1] }, 3);
		CHECK(mvf_set_mode(vf, i % 2 ? "trapped" : "direct") == 0, "");
		dmbx_recv(m, r);
		CHECK(r[0] == ACKED(KVX_MVF_MSG_SET_MAC), "round %u: 0x%x", i,
		      r[0]);
		CHECK(!strcmp(mvf_state(vf, "mac"), i % 2 ? "02:de:ad:be:ef:03" :
			      "02:de:ad:be:ef:04"), "round %u: %s", i,
		      mvf_state(vf, "mac"));
	}
	CHECK(atol(mvf_state(vf, "requests")) == requests + 11, "requests %s",
	      mvf_state(vf, "requests"));
	CHECK(atol(mvf_state(vf, "protocol_errors")) == errors, "%s",
	      mvf_state(vf, "protocol_errors"));

	/* A reset keeps the mapping: it sees the reset page. */
	CHECK(!ioctl(vf->device, VFIO_DEVICE_RESET), "%s", strerror(errno));
	CHECK(!load_faults(m), "reset revoked the mapping");
	CHECK(dmbx_ctrl(m) == KVX_MVF_MBX_RSTD, "0x%x", dmbx_ctrl(m));
	dmbx_clear(m, KVX_MVF_MBX_RSTD);
	dmbx_xfer(m, r, 1, KVX_MVF_MSG_RESET);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	mbx_unmap(vf);
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");
	CHECK(!strcmp(mvf_state(vf, "polled"), "0"), "");
}

/*
 * The DMA engine.  The test's own memory stands for guest memory: GUEST_SIZE
 * bytes mapped at GUEST_IOVA in the type1 container.  The ring is at its
 * start, data buffers after it.
 */

#define GUEST_IOVA	0x40000000ULL
#define GUEST_SIZE	(4UL << 20)
#define RING_OFF	0
#define DATA_OFF	0x10000UL
/* Not mapped in the container. */
#define BAD_IOVA	0x7f000000ULL
#define GPAGE		4096UL

static u64 giova(unsigned long off)
{
	return GUEST_IOVA + off;
}

static void guest_map(struct vf *vf)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = GUEST_IOVA,
		.size = GUEST_SIZE,
	};
	void *p;

	if (vf->mem)
		return;
	p = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "%s", strerror(errno));
	memset(p, 0, GUEST_SIZE);
	map.vaddr = (u64)(unsigned long)p;
	CHECK(!ioctl(vf->container, VFIO_IOMMU_MAP_DMA, &map), "MAP_DMA: %s",
	      strerror(errno));
	vf->mem = p;
}

static struct kvx_mvf_dma_desc *ring_desc(struct vf *vf, u32 i)
{
	return (void *)(vf->mem + RING_OFF + i * KVX_MVF_DMA_DESC_SIZE);
}

static u32 desc_status(struct vf *vf, u32 i)
{
	return __atomic_load_n(&ring_desc(vf, i)->status, __ATOMIC_SEQ_CST);
}

static void bus_master(struct vf *vf, bool on)
{
	u32 cmd = mvf_cfg_read32(vf, PCI_COMMAND) & 0xffff;

	cmd = on ? cmd | PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY :
		   cmd & ~PCI_COMMAND_MASTER;
	CHECK(mvf_region_write(vf, vf->cfg_off + PCI_COMMAND, &cmd, 2) == 2, "");
}

/* Program and enable a ring of @size descriptors at @iova. */
static u32 dma_ring(struct vf *vf, u64 iova, u32 size)
{
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, 0);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_LO, (u32)iova);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_HI, iova >> 32);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_SIZE, size);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, KVX_MVF_DMA_CTRL_ENABLE);
	return mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS);
}

/* Write a descriptor at TAIL and advance TAIL; its index. */
static u32 dma_post(struct vf *vf, u16 op, u64 src, u64 dst, u32 len)
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

static void dma_kick(struct vf *vf)
{
	mvf_reg_write(vf, KVX_MVF_REG_DMA_DOORBELL, 1);
}

/* Post one descriptor, ring, and return its written-back status. */
static u32 dma_run(struct vf *vf, u16 op, u64 src, u64 dst, u32 len)
{
	u32 i = dma_post(vf, op, src, dst, len);

	dma_kick(vf);
	return desc_status(vf, i);
}

#define DMA_OK		(KVX_MVF_DMA_STS_DONE | KVX_MVF_DMA_ERR_OK)

static bool all_bytes(const u8 *p, size_t n, u8 val)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != val)
			return false;
	return true;
}

static void test_dma_ring_config(struct vf *vf)
{
	static const struct {
		u64 base;
		u32 size;
	} bad[] = {
		{ GUEST_IOVA, 0 },
		{ GUEST_IOVA, 3 },
		{ GUEST_IOVA, 24 },
		{ GUEST_IOVA, KVX_MVF_DMA_RING_MAX * 2 },
		{ GUEST_IOVA + 8, 16 },
		{ GUEST_IOVA + 16, 16 },
	};
	unsigned int i;
	u32 status;

	guest_map(vf);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS) == 0, "engine on after reset");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		status = dma_ring(vf, bad[i].base, bad[i].size);
		CHECK(status == KVX_MVF_DMA_STATUS_CFG_ERR,
		      "base 0x%llx size %u: status 0x%x",
		      (unsigned long long)bad[i].base, bad[i].size, status);
		CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_CTRL) == 0, "");
	}
	status = dma_ring(vf, giova(RING_OFF), 16);
	CHECK(status == KVX_MVF_DMA_STATUS_ENABLED, "status 0x%x", status);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_LO) == (u32)giova(RING_OFF) &&
	      mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_HI) == giova(RING_OFF) >> 32,
	      "");

	/* Ring registers are frozen while enabled; TAIL stays in the ring. */
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_SIZE, 32);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_LO, 0x1000);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_SIZE) == 16 &&
	      mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_LO) == (u32)giova(RING_OFF),
	      "ring changed while enabled");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_TAIL, 16);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_TAIL) == 0, "TAIL beyond ring taken");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_HEAD, 5);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD) == 0, "HEAD is read-only");
	/* A doorbell with nothing posted does nothing. */
	dma_kick(vf);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED) == 0, "");
}

static void test_dma_copy_fill(struct vf *vf)
{
	u8 *src = vf->mem + DATA_OFF, *dst = src + 0x40000;
	u32 pattern = 0xa1b2c3d4, i, n;

	bus_master(vf, true);
	CHECK(dma_ring(vf, giova(RING_OFF), 16) == KVX_MVF_DMA_STATUS_ENABLED,
	      "");
	for (i = 0; i < 3 * GPAGE + 100; i++)
		src[i] = i * 7 + 3;
	memset(dst, 0, 4 * GPAGE);

	/* A copy across pages, from an odd offset to another. */
	n = dma_run(vf, KVX_MVF_DMA_OP_COPY, giova(DATA_OFF + 1),
		    giova(DATA_OFF + 0x40000 + 3), 3 * GPAGE);
	CHECK(n == DMA_OK, "copy status 0x%x", n);
	CHECK(!memcmp(dst + 3, src + 1, 3 * GPAGE), "copied data differ");
	CHECK(all_bytes(dst, 3, 0) && dst[3 * GPAGE + 3] == 0,
	      "copy wrote outside its destination");

	/* A fill of an unaligned length; byte i takes pattern byte i % 4. */
	n = dma_run(vf, KVX_MVF_DMA_OP_FILL, pattern, giova(DATA_OFF + 0x40000),
		    GPAGE + 5);
	CHECK(n == DMA_OK, "fill status 0x%x", n);
	for (i = 0; i < GPAGE + 5; i++)
		CHECK(dst[i] == (u8)(pattern >> (8 * (i % 4))),
		      "byte %u: 0x%x", i, dst[i]);
	CHECK(dst[GPAGE + 5] == src[GPAGE + 3], "fill went past its length");

	/* A batch: several descriptors, one doorbell, wrapping the ring. */
	for (i = 0; i < 20; i++) {
		u32 idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x01010101 * i,
				   giova(DATA_OFF + 0x80000 + i * 64), 64);

		if (i % 10 == 9)
			dma_kick(vf);
		(void)idx;
	}
	for (i = 0; i < 20; i++)
		CHECK(all_bytes(vf->mem + DATA_OFF + 0x80000 + i * 64, 64, i),
		      "batch buffer %u", i);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD) == 22 % 16, "head %u",
	      mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD));
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD) ==
	      mvf_reg_read(vf, KVX_MVF_REG_DMA_TAIL), "");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED) == 22, "completed %u",
	      mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED));
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS) == 0, "");

	/* Completions are acknowledged by count, never below zero. */
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING) == 22, "");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, 20);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING) == 2, "");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, 100);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING) == 0, "");
}

/* Each bad descriptor completes with its error and writes no data. */
static void test_dma_bad_desc(struct vf *vf)
{
	const u64 d = giova(DATA_OFF + 0x100000), s = giova(DATA_OFF);
	const struct {
		u16 op, flags;
		u32 len, rsvd;
		u64 src, dst;
		u32 err;
	} bad[] = {
		{ 0, 0, 64, 0, s, d, KVX_MVF_DMA_ERR_OP },
		{ 3, 0, 64, 0, s, d, KVX_MVF_DMA_ERR_OP },
		{ 0xffff, 0, 64, 0, s, d, KVX_MVF_DMA_ERR_OP },
		{ KVX_MVF_DMA_OP_COPY, 1, 64, 0, s, d, KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 1, s, d, KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, 0, 0, s, d, KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, KVX_MVF_DMA_MAX_LEN + 1, 0, s, d,
		  KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, d + 32, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* overlap */
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, d - 32, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* overlap */
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, ~0ULL - 10, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* wraps */
		{ KVX_MVF_DMA_OP_FILL, 0, 64, 0, 0, ~0ULL - 10,
		  KVX_MVF_DMA_ERR_INVAL },		/* wraps */
		{ KVX_MVF_DMA_OP_FILL, 0, 64, 0, 1ULL << 32, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* pattern */
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, BAD_IOVA, d,
		  KVX_MVF_DMA_ERR_FAULT },		/* unmapped source */
		{ KVX_MVF_DMA_OP_FILL, 0, 64, 0, 0x55, BAD_IOVA,
		  KVX_MVF_DMA_ERR_FAULT },		/* unmapped target */
	};
	u32 errors = mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS);
	u32 done = mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED);
	struct kvx_mvf_dma_desc *desc;
	unsigned int i;
	u32 idx, st;

	memset(vf->mem + DATA_OFF + 0x100000 - GPAGE, 0xee, 3 * GPAGE);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		idx = dma_post(vf, bad[i].op, bad[i].src, bad[i].dst,
			       bad[i].len);
		desc = ring_desc(vf, idx);
		desc->flags = bad[i].flags;
		desc->rsvd = bad[i].rsvd;
		dma_kick(vf);
		st = desc_status(vf, idx);
		CHECK(st == (KVX_MVF_DMA_STS_DONE | bad[i].err),
		      "case %u: status 0x%x, want error %u", i, st, bad[i].err);
		CHECK(desc->op == bad[i].op && desc->len == bad[i].len &&
		      desc->src == bad[i].src && desc->dst == bad[i].dst,
		      "case %u: descriptor rewritten", i);
	}
	CHECK(all_bytes(vf->mem + DATA_OFF + 0x100000 - GPAGE, 3 * GPAGE, 0xee),
	      "a refused descriptor wrote data");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS) == errors + i, "errors %u",
	      mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS));
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED) == done + i, "");
	/* The engine carries on. */
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 0x42424242, d, 8) == DMA_OK, "");
	CHECK(all_bytes(vf->mem + DATA_OFF + 0x100000, 8, 0x42), "");
}

/* Without bus mastering, or with the ring unmapped, nothing moves. */
static void test_dma_halt(struct vf *vf)
{
	u8 *buf = vf->mem + DATA_OFF + 0x120000;
	u32 done = mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED), idx, status;

	memset(buf, 0, 64);
	bus_master(vf, false);
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x11111111,
		       giova(DATA_OFF + 0x120000), 64);
	dma_kick(vf);
	status = mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS);
	CHECK(status == (KVX_MVF_DMA_STATUS_ENABLED |
			 KVX_MVF_DMA_STATUS_NO_MASTER), "status 0x%x", status);
	CHECK(desc_status(vf, idx) == 0 && all_bytes(buf, 64, 0),
	      "DMA without bus mastering");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED) == done, "");
	/* Bus mastering back on: the next doorbell serves the descriptor. */
	bus_master(vf, true);
	dma_kick(vf);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS) ==
	      KVX_MVF_DMA_STATUS_ENABLED, "");
	CHECK(desc_status(vf, idx) == DMA_OK && all_bytes(buf, 64, 0x11), "");

	/* A ring the device cannot read halts the engine until disabled. */
	CHECK(dma_ring(vf, BAD_IOVA, 4) == KVX_MVF_DMA_STATUS_ENABLED, "");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_TAIL, 1);
	dma_kick(vf);
	status = mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS);
	CHECK(status == (KVX_MVF_DMA_STATUS_ENABLED |
			 KVX_MVF_DMA_STATUS_RING_FAULT), "status 0x%x", status);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD) == 0, "");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, 0);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS) == 0 &&
	      mvf_reg_read(vf, KVX_MVF_REG_DMA_TAIL) == 0, "");
	CHECK(dma_ring(vf, giova(RING_OFF), 16) == KVX_MVF_DMA_STATUS_ENABLED,
	      "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 0x22222222,
		      giova(DATA_OFF + 0x120000), 64) == DMA_OK, "");
	CHECK(all_bytes(buf, 64, 0x22), "");
}

/* A function level reset disables the engine and clears its registers. */
static void test_dma_reset(struct vf *vf)
{
	static const unsigned int regs[] = {
		KVX_MVF_REG_DMA_CTRL, KVX_MVF_REG_DMA_STATUS,
		KVX_MVF_REG_DMA_RING_LO, KVX_MVF_REG_DMA_RING_HI,
		KVX_MVF_REG_DMA_RING_SIZE, KVX_MVF_REG_DMA_HEAD,
		KVX_MVF_REG_DMA_TAIL, KVX_MVF_REG_DMA_COMPLETED,
		KVX_MVF_REG_DMA_ERRORS, KVX_MVF_REG_DMA_CPL_PENDING,
	};
	u32 r[KVX_MVF_MBX_WORDS];
	unsigned int i;

	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED) != 0, "no DMA so far?");
	CHECK(!ioctl(vf->device, VFIO_DEVICE_RESET), "%s", strerror(errno));
	for (i = 0; i < ARRAY_SIZE(regs); i++)
		CHECK(mvf_reg_read(vf, regs[i]) == 0, "reg 0x%x: 0x%x", regs[i],
		      mvf_reg_read(vf, regs[i]));
	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
}

/* DMA logging. */

static int log_start(struct vf *vf, u64 *page_size,
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

/*
 * Dirty tracking as QEMU chooses it: the device's DMA logging where the
 * device offers it (VFIO_DEVICE_FEATURE_PROBE of DMA_LOGGING_START), else
 * the container's (type1 VFIO_IOMMU_DIRTY_PAGES), which must then be
 * exact for the device's DMA.  1: the device's; set by dma_log_offer.
 */
static int dev_log = -1;

static int container_dirty(struct vf *vf, u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d), .flags = flags,
	};

	return ioctl(vf->container, VFIO_IOMMU_DIRTY_PAGES, &d) ? -errno : 0;
}

/* GET_BITMAP of [@iova, @iova + @size): whole mappings, 4 KiB pages. */
static int container_report(struct vf *vf, u64 iova, u64 size, u64 *bitmap)
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

static int log_start_guest(struct vf *vf, u64 page_size)
{
	struct vfio_device_feature_dma_logging_range r = {
		GUEST_IOVA, GUEST_SIZE
	};

	if (!dev_log)
		return container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	return log_start(vf, &page_size, &r, 1);
}

static int log_stop(struct vf *vf)
{
	if (!dev_log)
		return container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
	return mvf_feature(vf, VFIO_DEVICE_FEATURE_SET |
		       VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
}

/* The device's REPORT through the VFIO core. */
static int log_report(struct vf *vf, u64 iova, u64 length, u64 page_size,
		      u64 *bitmap)
{
	struct vfio_device_feature_dma_logging_report r = {
		iova, length, page_size, (u64)(unsigned long)bitmap
	};

	return mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
		       VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &r, sizeof(r));
}

#define GPAGES		(GUEST_SIZE / GPAGE)

static u64 dirty_bm[GPAGES / 64];
static bool dirty_want[GPAGES];

static void want_range(unsigned long off, unsigned long len)
{
	unsigned long p;

	for (p = off / GPAGE; p <= (off + len - 1) / GPAGE; p++)
		dirty_want[p] = true;
}

/* Report the whole guest at 4 KiB and compare with what the test wrote. */
static void check_dirty(struct vf *vf, const char *what)
{
	unsigned int p, missed = 0, extra = 0, n = 0;
	bool got;

	memset(dirty_bm, 0, sizeof(dirty_bm));
	if (dev_log)
		CHECK(!log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE, dirty_bm),
		      "%s: report: %s", what, strerror(errno));
	else
		CHECK(!container_report(vf, GUEST_IOVA, GUEST_SIZE, dirty_bm),
		      "%s: GET_BITMAP: %s", what, strerror(errno));
	for (p = 0; p < GPAGES; p++) {
		got = dirty_bm[p / 64] & (1ULL << (p % 64));
		missed += dirty_want[p] && !got;
		extra += got && !dirty_want[p];
		n += got;
		if (got != dirty_want[p])
			ksft_print_msg("%s: page 0x%x: reported %d, written %d\n",
				       what, p, got, dirty_want[p]);
	}
	CHECK(!missed && !extra, "%s: %u missed, %u extra", what, missed,
	      extra);
	memset(dirty_want, 0, sizeof(dirty_want));
}

/* The device's START, where it offers DMA logging. */
static void dev_log_start(struct vf *vf)
{
	struct vfio_device_feature_dma_logging_range r[2];
	u64 ps;
	int ret;

	CHECK(!strcmp(mvf_state(vf, "dma_log"), "0"), "");

	/* Refused ranges leave no session behind. */
	ps = GPAGE;
	CHECK(log_start(vf, &ps, r, 0) == -EINVAL, "no ranges");
	r[0] = (typeof(r[0])){ GUEST_IOVA + 100, GPAGE };
	CHECK(log_start(vf, &ps, r, 1) == -EINVAL, "unaligned");
	r[0] = (typeof(r[0])){ GUEST_IOVA, 2 * GPAGE };
	r[1] = (typeof(r[1])){ GUEST_IOVA + GPAGE, 2 * GPAGE };
	CHECK(log_start(vf, &ps, r, 2) == -EINVAL, "overlap");
	r[0] = (typeof(r[0])){ ~0ULL - GPAGE + 1, 2 * GPAGE };
	CHECK(log_start(vf, &ps, r, 1) == -EOVERFLOW, "wrap");
	r[0] = (typeof(r[0])){ ~0ULL - GPAGE + 1, GPAGE };
	CHECK(log_start(vf, &ps, r, 1) == -EOVERFLOW, "ends at 2^64");
	/* Length 0: {0, 0} would be the whole 2^64, {x, 0} inverted. */
	r[0] = (typeof(r[0])){ 0, 0 };
	CHECK(log_start(vf, &ps, r, 1) == -EINVAL, "{0, 0}");
	CHECK(!strcmp(mvf_state(vf, "dma_log"), "0"), "session left: %s",
	      mvf_state(vf, "dma_log"));
	log_stop(vf);
	r[0] = (typeof(r[0])){ 0x10000, 0 };
	CHECK(log_start(vf, &ps, r, 1) == -EINVAL, "{0x10000, 0}");
	CHECK(!strcmp(mvf_state(vf, "dma_log"), "0"), "session left: %s",
	      mvf_state(vf, "dma_log"));
	log_stop(vf);
	r[0] = (typeof(r[0])){ GUEST_IOVA, GPAGE };
	r[1] = (typeof(r[1])){ GUEST_IOVA + 2 * GPAGE, 0 };
	CHECK(log_start(vf, &ps, r, 2) == -EINVAL, "second range empty");
	CHECK(!strcmp(mvf_state(vf, "dma_log"), "0"), "session left: %s",
	      mvf_state(vf, "dma_log"));
	CHECK(log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE, dirty_bm) == -EINVAL,
	      "report without a session");

	/* One session at a time. */
	r[0] = (typeof(r[0])){ GUEST_IOVA, GUEST_SIZE / 2 };
	r[1] = (typeof(r[1])){ GUEST_IOVA + GUEST_SIZE / 2, GUEST_SIZE / 2 };
	CHECK(!log_start(vf, &ps, r, 2), "%s", strerror(errno));
	CHECK(ps == GPAGE, "page size %llu", (unsigned long long)ps);
	CHECK(!strcmp(mvf_state(vf, "dma_log"), "2"), "");
	ret = log_start_guest(vf, GPAGE);
	CHECK(ret == -EBUSY, "second START: %d", ret);
	CHECK(!strcmp(mvf_state(vf, "dma_log"), "2"), "second START changed it");
	CHECK(!log_stop(vf), "");
	CHECK(!strcmp(mvf_state(vf, "dma_log"), "0"), "");
	CHECK(!log_stop(vf), "STOP without a session");
	CHECK(log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE, dirty_bm) == -EINVAL,
	      "report after STOP");

	/* The page size: the hint if the device can, its own choice else. */
	r[0] = (typeof(r[0])){ GUEST_IOVA, GUEST_SIZE };
	ps = 65536;
	CHECK(!log_start(vf, &ps, r, 1) && ps == 65536, "ps %llu",
	      (unsigned long long)ps);
	CHECK(!log_stop(vf), "");
	ps = 3 * 1024;
	CHECK(!log_start(vf, &ps, r, 1) && ps == GPAGE, "ps %llu",
	      (unsigned long long)ps);
	CHECK(!log_stop(vf), "");
	/* 256 TiB at 4 KiB is too many bits: coarser, down to 2^26 pages. */
	r[0] = (typeof(r[0])){ 0, 1ULL << 48 };
	ps = GPAGE;
	CHECK(!log_start(vf, &ps, r, 1), "%s", strerror(errno));
	CHECK(ps == 1ULL << 22, "ps %llu", (unsigned long long)ps);
	CHECK(!log_stop(vf), "");
}

/*
 * DMA logging is offered only where the VFIO core serves REPORT (the
 * kernel has CONFIG_IOMMUFD_DRIVER, the read-only module parameter
 * dma_logging says so): QEMU probes it and, finding it missing, uses the
 * container's dirty tracking.  On baf10d6 the device offered it on every
 * kernel and every core REPORT failed with EOPNOTSUPP, which failed QEMU's
 * migration at its first dirty sync.  The private REPORT is gone.
 */
static void test_dma_log_offer(struct vf *vf)
{
	struct vfio_device_feature_dma_logging_report rep = {
		GUEST_IOVA, GUEST_SIZE, GPAGE, (u64)(unsigned long)dirty_bm
	};
	char param[8] = "";
	int probe, ret;

	probe = mvf_feature(vf, VFIO_DEVICE_FEATURE_PROBE |
			VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0);
	dev_log = !probe;
	if (dev_log) {
		/* What QEMU does at its first dirty sync. */
		CHECK(!log_start_guest(vf, GPAGE), "%s", strerror(errno));
		ret = log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE, dirty_bm);
		log_stop(vf);
		CHECK(!ret, "DMA logging offered, the core's REPORT fails: %s",
		      strerror(-ret));
	}
	CHECK(!mvf_read_file("/sys/module/kvx_mvf/parameters/dma_logging", param,
			     sizeof(param)), "no dma_logging parameter");
	ksft_print_msg("DMA logging %s (dma_logging=%c): dirty tracking by the %s\n",
		       dev_log ? "offered" : "not offered", param[0],
		       dev_log ? "device" : "type1 container");
	CHECK(dev_log == (param[0] == 'Y'), "PROBE %d, dma_logging %s", probe,
	      param);
	CHECK(ioctl(vf->device, _IO(VFIO_TYPE, 0xf0), &rep) == -1 &&
	      errno == ENOTTY, "private REPORT (0xf0) still there");
	if (dev_log) {
		dev_log_start(vf);
		return;
	}
	CHECK(probe == -ENOTTY, "PROBE: %s", strerror(-probe));
	ret = mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep));
	CHECK(ret == -ENOTTY, "REPORT: %s", strerror(-ret));
	/* What QEMU falls back to: the container can track. */
	CHECK(!container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), "%s",
	      strerror(errno));
	CHECK(!container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), "");
}

static void test_dma_log_report(struct vf *vf)
{
	const unsigned long a = DATA_OFF + 0x200000;
	u32 idx, st;

	bus_master(vf, true);
	CHECK(dma_ring(vf, giova(RING_OFF), 16) == KVX_MVF_DMA_STATUS_ENABLED,
	      "");
	log_stop(vf);	/* whatever a failed test left */
	/* Writes before the session are not reported. */
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, giova(a), 64) == DMA_OK, "");
	CHECK(!log_start_guest(vf, GPAGE), "%s", strerror(errno));
	memset(dirty_want, 0, sizeof(dirty_want));
	check_dirty(vf, "fresh session");

	/* Each kind of write: data pages and the status dwords. */
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a), GPAGE) == DMA_OK,
	      "");
	want_range(a, GPAGE);
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_COPY, giova(DATA_OFF),
		      giova(a + 0x40000 + 100), 3 * GPAGE) == DMA_OK, "");
	want_range(a + 0x40000 + 100, 3 * GPAGE);
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a + 0x80000 + GPAGE - 1),
		      1) == DMA_OK, "");
	want_range(a + 0x80000 + GPAGE - 1, 1);
	/* A refused descriptor writes its status only. */
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a + 0xc0000), 64);
	ring_desc(vf, idx)->flags = 1;
	dma_kick(vf);
	CHECK(desc_status(vf, idx) ==
	      (KVX_MVF_DMA_STS_DONE | KVX_MVF_DMA_ERR_INVAL), "");
	/* A write outside the session's ranges is counted, not reported. */
	st = dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, BAD_IOVA, 64);
	CHECK(st == (KVX_MVF_DMA_STS_DONE | KVX_MVF_DMA_ERR_FAULT), "0x%x", st);
	CHECK(!dev_log || !strcmp(mvf_state(vf, "dma_untracked"), "64"),
	      "untracked %s", mvf_state(vf, "dma_untracked"));
	want_range(RING_OFF, 16 * KVX_MVF_DMA_DESC_SIZE);
	check_dirty(vf, "writes");
	/* Read and clear: nothing new since. */
	check_dirty(vf, "second report");
	if (!dev_log) {
		unsigned long off, len;

		/* Every data page of the guest, 1 MiB per descriptor. */
		for (off = DATA_OFF; off < GUEST_SIZE; off += len) {
			len = GUEST_SIZE - off < KVX_MVF_DMA_MAX_LEN ?
			      GUEST_SIZE - off : KVX_MVF_DMA_MAX_LEN;
			CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 3, giova(off),
				      len) == DMA_OK, "");
		}
		want_range(DATA_OFF, GUEST_SIZE - DATA_OFF);
		want_range(RING_OFF, 16 * KVX_MVF_DMA_DESC_SIZE);
		check_dirty(vf, "whole guest");
		CHECK(!log_stop(vf), "");
		return;
	}

	/* A coarser report page sets the bit of each 64 KiB holding a write. */
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a + 0x100000), 8) ==
	      DMA_OK, "");
	memset(dirty_bm, 0, sizeof(dirty_bm));
	dirty_bm[1] = 0xf0f0;	/* bits are set, never cleared */
	CHECK(!log_report(vf, GUEST_IOVA, GUEST_SIZE, 65536, dirty_bm), "%s",
	      strerror(errno));
	CHECK(dirty_bm[0] == (1ULL << (RING_OFF / 65536) |
			      1ULL << ((a + 0x100000) / 65536)) &&
	      dirty_bm[1] == 0xf0f0, "0x%llx 0x%llx",
	      (unsigned long long)dirty_bm[0], (unsigned long long)dirty_bm[1]);

	/* A report of part of the range leaves the rest in the log. */
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a + 0x140000), 2 * GPAGE)
	      == DMA_OK, "");
	memset(dirty_bm, 0, sizeof(dirty_bm));
	CHECK(!log_report(vf, giova(a + 0x140000), GPAGE, GPAGE, dirty_bm), "");
	CHECK(dirty_bm[0] == 1, "0x%llx", (unsigned long long)dirty_bm[0]);
	want_range(a + 0x140000 + GPAGE, GPAGE);
	want_range(RING_OFF, 64);
	check_dirty(vf, "rest");
	CHECK(!log_stop(vf), "");
}

/* Refused reports leave the log as it was. */
static void test_dma_log_bad_report(struct vf *vf)
{
	const unsigned long c = DATA_OFF + 0x380000;
	u64 bm[4];

	log_stop(vf);	/* whatever a failed test left */
	CHECK(!log_start_guest(vf, GPAGE), "%s", strerror(errno));
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 9, giova(c), GPAGE) == DMA_OK, "");
	want_range(c, GPAGE);
	want_range(RING_OFF, 64);

	if (dev_log) {
		CHECK(log_report(vf, GUEST_IOVA, GUEST_SIZE, 2048, dirty_bm) ==
		      -EINVAL, "page size 2048");
		CHECK(log_report(vf, GUEST_IOVA, GUEST_SIZE, 3 * GPAGE,
				 dirty_bm) == -EINVAL, "page size 12 KiB");
		CHECK(log_report(vf, ~0ULL - GPAGE + 1, 2 * GPAGE, GPAGE, bm) ==
		      -EOVERFLOW, "wrap");
		/* Length 0 (the core passes it on): not [0, 2^64). */
		CHECK(log_report(vf, 0, 0, GPAGE, bm) == -EINVAL,
		      "iova 0 length 0");
		CHECK(log_report(vf, GUEST_IOVA, 0, GPAGE, bm) == -EINVAL,
		      "length 0");
	} else {
		/* type1 wants whole mappings: part of one is refused. */
		CHECK(container_report(vf, GUEST_IOVA, GPAGE, bm) == -EINVAL,
		      "part of a mapping");
	}

	/* Nothing was cleared: the write is still reported, and only it. */
	check_dirty(vf, "after refused reports");
	CHECK(!log_stop(vf), "");
}

/* Migration v2. */

#define MIG_BUF		(KVX_MVF_MIG_MAX_SIZE + 64)
#define GEN_PARAM	"/sys/module/kvx_mvf/parameters/generation"

static u32 mig_get(struct vf *vf)
{
	u32 state;
	int ret = mvf_mig_get(vf, &state);

	CHECK(!ret, "%s", strerror(-ret));
	return state;
}

static int precopy_info(int fd, struct vfio_precopy_info *info)
{
	info->argsz = sizeof(*info);
	info->flags = 0;
	return ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, info) ? -errno : 0;
}

/* Read what the data_fd has now: until EOF (STOP_COPY) or ENOMSG. */
static size_t mig_read(int fd, u8 *buf, size_t size, bool precopy)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		CHECK(len < size, "stream too long");
		n = read(fd, buf + len, 13);	/* odd chunks on purpose */
		if (n < 0 && precopy && errno == ENOMSG)
			break;
		CHECK(n >= 0, "read: %s", strerror(errno));
		if (!n) {
			CHECK(!precopy, "EOF in PRE_COPY");
			break;
		}
		len += n;
	}
	return len;
}

/* Save @vf through STOP -> STOP_COPY; leaves it in STOP. */
static size_t mig_save_stopped(struct vf *vf, u8 *buf)
{
	size_t len;
	int fd;

	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP_COPY, &fd) && fd >= 0, "");
	len = mig_read(fd, buf, MIG_BUF, false);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	close(fd);
	return len;
}

/* Feed @buf to @vf: 0, or the errno of the write or of RESUMING -> STOP. */
static int mig_resume(struct vf *vf, const u8 *buf, size_t len)
{
	size_t off, n;
	int fd, ret = 0;

	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RESUMING, &fd) && fd >= 0, "");
	for (off = 0; off < len && !ret; off += n) {
		n = len - off < 7 ? len - off : 7;
		if (write(fd, buf + off, n) != (ssize_t)n)
			ret = -errno;
	}
	if (!ret)
		ret = mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL);
	close(fd);
	return ret;
}

/* Open the VF @b was created as, in @a's container. */
static void vf_open_in(struct vf *b, struct vf *a)
{
	int ret = mvf_open_in(b, a->container);

	CHECK(!ret, "%s in the container: %s", b->uuid, strerror(-ret));
	b->mem = a->mem;
}

/*
 * A second VF of mdev type @type in @a's container, so it sees the same
 * guest memory.
 */
static void vf_add_type(struct vf *b, struct vf *a, const char *type)
{
	*b = (struct vf)MVF_VF_INIT;
	CHECK(mvf_mdev_create(b, type) == 0, "create a %s", type);
	vf_open_in(b, a);
}

static void vf_add(struct vf *b, struct vf *a)
{
	vf_add_type(b, a, MVF_TYPE);
}

static void vf_del(struct vf *b)
{
	mvf_close(b);
	if (b->uuid[0] && mvf_mdev_exists(b->uuid))
		mvf_mdev_remove(b->uuid);
}

static const unsigned int dma_regs[] = {
	KVX_MVF_REG_DMA_CTRL, KVX_MVF_REG_DMA_STATUS, KVX_MVF_REG_DMA_RING_LO,
	KVX_MVF_REG_DMA_RING_HI, KVX_MVF_REG_DMA_RING_SIZE,
	KVX_MVF_REG_DMA_HEAD, KVX_MVF_REG_DMA_TAIL, KVX_MVF_REG_DMA_COMPLETED,
	KVX_MVF_REG_DMA_ERRORS, KVX_MVF_REG_DMA_CPL_PENDING,
};

static const char * const mig_keys[] = {
	"api", "cts", "mac", "vlans", "mcast", "reset_pending", "pf_msg_pending",
	"requests", "nacks", "protocol_errors", "doorbells", "doorbell_last",
};

/*
 * The state a destination must have taken from its source: the PF's view,
 * the DMA registers, VFMBMEM, config space; VFMAILBOX last (reading it
 * clears bits, on both alike).
 */
static void mig_compare(struct vf *a, struct vf *b)
{
	char va[256];
	unsigned int i;
	u32 ra, rb;

	for (i = 0; i < ARRAY_SIZE(mig_keys); i++) {
		snprintf(va, sizeof(va), "%s", mvf_state(a, mig_keys[i]));
		CHECK(!strcmp(va, mvf_state(b, mig_keys[i])), "%s: %s vs %s",
		      mig_keys[i], va, mvf_state(b, mig_keys[i]));
	}
	for (i = 0; i < ARRAY_SIZE(dma_regs); i++) {
		ra = mvf_reg_read(a, dma_regs[i]);
		rb = mvf_reg_read(b, dma_regs[i]);
		CHECK(ra == rb, "DMA reg 0x%x: 0x%x vs 0x%x", dma_regs[i], ra, rb);
	}
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		CHECK(mvf_reg_read(a, KVX_MVF_REG_VFMBMEM + 4 * i) ==
		      mvf_reg_read(b, KVX_MVF_REG_VFMBMEM + 4 * i), "VFMBMEM %u", i);
	CHECK(mvf_cfg_read32(a, PCI_COMMAND) == mvf_cfg_read32(b, PCI_COMMAND), "");
	CHECK(mvf_cfg_read32(a, PCI_BASE_ADDRESS_0) ==
	      mvf_cfg_read32(b, PCI_BASE_ADDRESS_0), "");
	ra = mvf_reg_read(a, KVX_MVF_REG_VFMAILBOX);
	rb = mvf_reg_read(b, KVX_MVF_REG_VFMAILBOX);
	CHECK(ra == rb, "VFMAILBOX 0x%x vs 0x%x", ra, rb);
}

/* A VF driver brings @vf up: RESET, API, MAC, VLANs, DMA ring. */
static void vf_bring_up(struct vf *vf, u32 api, const char *mac)
{
	static const u16 mcast[] = { 0x0a1, 0x3f0, 0x002 };
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	CHECK(mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	CHECK(mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE, api), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE), "0x%x", r[0]);
	mac_words(mac, w);
	CHECK(mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]), "");
	vlan_op(vf, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_ACK, 0);
	vlan_op(vf, KVX_MVF_VLAN_ADD, 200, KVX_MVF_MSG_ACK, 0);
	CHECK(mcast_op(vf, 3, mcast, 3, r) == ACKED(KVX_MVF_MSG_SET_MCAST), "");
	bus_master(vf, true);
	CHECK(dma_ring(vf, giova(RING_OFF), 16) == KVX_MVF_DMA_STATUS_ENABLED,
	      "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 5, giova(DATA_OFF), 64) == DMA_OK,
	      "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 5, giova(DATA_OFF), 64) == DMA_OK,
	      "");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, 1);
}

static void test_mig_caps(struct vf *vf)
{
	struct vfio_device_feature_migration mf = {};
	struct vfio_device_feature_mig_data_size ds = {};
	struct vfio_precopy_info info;
	u8 byte;
	int fd, ret;

	CHECK(!mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
		       VFIO_DEVICE_FEATURE_MIGRATION, &mf, sizeof(mf)), "%s",
	      strerror(errno));
	CHECK(mf.flags == (VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			   VFIO_MIGRATION_PRE_COPY), "flags 0x%llx",
	      (unsigned long long)mf.flags);
	CHECK(mig_get(vf) == VFIO_DEVICE_STATE_RUNNING, "");
	CHECK(!mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
		       VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &ds, sizeof(ds)), "");
	CHECK(ds.stop_copy_length > sizeof(struct kvx_mvf_mig_header) &&
	      ds.stop_copy_length < KVX_MVF_MIG_MAX_SIZE, "%llu",
	      (unsigned long long)ds.stop_copy_length);

	/* Invalid targets and arcs: -EINVAL, the state stays. */
	CHECK(mvf_mig_set(vf, VFIO_DEVICE_STATE_ERROR, NULL) == -EINVAL, "");
	CHECK(mvf_mig_set(vf, 99, NULL) == -EINVAL, "");
	CHECK(mig_get(vf) == VFIO_DEVICE_STATE_RUNNING, "");
	/* PRE_COPY -> RUNNING ends the session: not in PRE_COPY any more. */
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, &fd) && fd >= 0, "");
	CHECK(!precopy_info(fd, &info), "%s", strerror(errno));
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	ret = precopy_info(fd, &info);
	CHECK(ret == -EINVAL, "PRECOPY_INFO after the session: %s",
	      strerror(-ret));
	close(fd);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP_COPY, &fd) && fd >= 0, "");
	CHECK(mig_get(vf) == VFIO_DEVICE_STATE_STOP_COPY, "");
	CHECK(mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, NULL) == -EINVAL, "");
	CHECK(mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY_P2P, NULL) == -EINVAL, "");
	CHECK(mig_get(vf) == VFIO_DEVICE_STATE_STOP_COPY, "");
	/* PRECOPY_INFO is for the PRE_COPY states only. */
	CHECK(precopy_info(fd, &info) == -EINVAL, "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	/* The session ended with the arc: its fd is dead. */
	CHECK(read(fd, &byte, 1) == -1 && errno == ENODEV, "read: %s",
	      strerror(errno));
	CHECK(precopy_info(fd, &info) == -EINVAL, "");
	close(fd);

	/* RESUMING -> STOP without a stream: -EINVAL, still RESUMING. */
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RESUMING, &fd) && fd >= 0, "");
	CHECK(mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL) == -EINVAL, "");
	CHECK(mig_get(vf) == VFIO_DEVICE_STATE_RESUMING, "");
	CHECK(mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL) == -EINVAL, "");
	/* Reset takes the device back to RUNNING and ends the session. */
	CHECK(!ioctl(vf->device, VFIO_DEVICE_RESET), "");
	CHECK(mig_get(vf) == VFIO_DEVICE_STATE_RUNNING, "");
	CHECK(write(fd, &byte, 1) == -1 && errno == ENODEV, "write: %s",
	      strerror(errno));
	close(fd);
	vf_bring_up(vf, KVX_MVF_API_1_1, "02:00:00:00:aa:01");
}

/* Leaving RUNNING quiesces: DMA deferred, mailbox TRAPPED. */
static void test_mig_quiesce(struct vf *vf)
{
	u8 *buf = vf->mem + DATA_OFF + 0x1000;
	u32 idx, st;

	CHECK(mvf_set_mode(vf, "direct") == 0, "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING_P2P, NULL), "");
	CHECK(!strcmp(mvf_mode(vf), "trapped\n"), "mode %s", mvf_mode(vf));
	memset(buf, 0, 64);
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x33333333,
		       giova(DATA_OFF + 0x1000), 64);
	dma_kick(vf);
	st = mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS);
	CHECK(st == (KVX_MVF_DMA_STATUS_ENABLED | KVX_MVF_DMA_STATUS_QUIESCED),
	      "status 0x%x", st);
	CHECK(desc_status(vf, idx) == 0 && all_bytes(buf, 64, 0),
	      "DMA while quiesced");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	/* The PF's choice made while stopped waits for RUNNING. */
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");
	CHECK(mvf_set_mode(vf, "direct") == 0, "");
	CHECK(!strcmp(mvf_mode(vf), "trapped\n"), "mode %s", mvf_mode(vf));
	CHECK(desc_status(vf, idx) == 0, "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(desc_status(vf, idx) == DMA_OK && all_bytes(buf, 64, 0x33),
	      "deferred doorbell not served");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS) ==
	      KVX_MVF_DMA_STATUS_ENABLED, "");
	CHECK(!strcmp(mvf_mode(vf), "direct\n"), "mode %s", mvf_mode(vf));
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");
}

static u8 stream[MIG_BUF], stream2[MIG_BUF];

/*
 * PRE_COPY, then STOP_COPY, into a second VF: its state equals the
 * source's, a doorbell deferred on the source is served on the
 * destination, and DMA logging saw every page the DMA wrote meanwhile.
 */
/*
 * QEMU >= 8.1 moves a running VF to PRE_COPY while the guest uses it; the
 * uAPI promises that this changes nothing for the device's operation.  A
 * driver over the mapped page of a DIRECT VF keeps working in PRE_COPY
 * and after it (on main the switch to TRAPPED revoked the mapping: SIGBUS).
 */
static void test_mig_precopy_mapped(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	unsigned int i;
	u32 *m;
	int fd;

	CHECK(mvf_set_mode(vf, "direct") == 0, "");
	m = mbx_map(vf);
	dmbx_xfer(m, r, 1, KVX_MVF_MSG_RESET);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, &fd) && fd >= 0, "");
	CHECK(!load_faults(m), "PRE_COPY revoked the mapping (SIGBUS)");
	for (i = 0; i < 4; i++) {
		mac_words(i % 2 ? "02:de:ad:be:ef:05" : "02:de:ad:be:ef:06", w);
		dmbx_xfer(m, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]);
		CHECK(r[0] == ACKED(KVX_MVF_MSG_SET_MAC), "PRE_COPY: 0x%x",
		      r[0]);
	}
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	close(fd);
	dmbx_xfer(m, r, 2, KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_1);
	CHECK(r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE), "0x%x", r[0]);
	CHECK(!strcmp(mvf_state(vf, "mac"), "02:de:ad:be:ef:05"), "%s",
	      mvf_state(vf, "mac"));
	mbx_unmap(vf);
	CHECK(mvf_set_mode(vf, "trapped") == 0, "");
}

static void test_mig_precopy(struct vf *vf)
{
	struct vfio_precopy_info info;
	const unsigned long x = DATA_OFF + 0x2000, y = DATA_OFF + 0x3000;
	const u16 mc = 0x5a5;
	size_t len, n;
	struct vf b;
	u32 r[KVX_MVF_MBX_WORDS], idx;
	int fd;

	vf_add(&b, vf);
	log_stop(vf);
	CHECK(!log_start_guest(vf, GPAGE), "%s", strerror(errno));
	memset(dirty_want, 0, sizeof(dirty_want));

	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, &fd) && fd >= 0, "");
	CHECK(!precopy_info(fd, &info), "%s", strerror(errno));
	CHECK(info.initial_bytes > sizeof(struct kvx_mvf_mig_header) &&
	      info.dirty_bytes == 0, "initial %llu dirty %llu",
	      (unsigned long long)info.initial_bytes,
	      (unsigned long long)info.dirty_bytes);
	len = mig_read(fd, stream, MIG_BUF, true);
	CHECK(len == info.initial_bytes, "read %zu of %llu", len,
	      (unsigned long long)info.initial_bytes);
	CHECK(!precopy_info(fd, &info) && !info.initial_bytes &&
	      !info.dirty_bytes, "");

	/* The VF keeps running: its mailbox and DMA change the state. */
	vlan_op(vf, KVX_MVF_VLAN_ADD, 300, KVX_MVF_MSG_ACK, 0);
	CHECK(mcast_op(vf, 1, &mc, 1, r) == ACKED(KVX_MVF_MSG_SET_MCAST), "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 0x44444444, giova(x), 64) ==
	      DMA_OK, "");
	want_range(x, 64);
	want_range(RING_OFF, 64);
	CHECK(!precopy_info(fd, &info), "");
	CHECK(!info.initial_bytes && info.dirty_bytes, "dirty %llu",
	      (unsigned long long)info.dirty_bytes);
	n = mig_read(fd, stream + len, MIG_BUF - len, true);
	CHECK(n == info.dirty_bytes, "read %zu of %llu dirty", n,
	      (unsigned long long)info.dirty_bytes);
	len += n;
	ksft_print_msg("pre-copy: %zu initial bytes, %zu dirty\n", len - n, n);
	CHECK(!precopy_info(fd, &info) && !info.dirty_bytes, "");
	check_dirty(vf, "pre-copy");

	/* P2P: a doorbell waits, nothing is written. */
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY_P2P, NULL), "");
	memset(vf->mem + y, 0, 64);
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x55555555, giova(y), 64);
	dma_kick(vf);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS) & KVX_MVF_DMA_STATUS_QUIESCED,
	      "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP_COPY, NULL), "");
	n = mig_read(fd, stream + len, MIG_BUF - len, false);
	ksft_print_msg("stop-copy: %zu bytes, stream %zu\n", n, len + n);
	len += n;
	close(fd);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	check_dirty(vf, "stopped");
	CHECK(desc_status(vf, idx) == 0 && all_bytes(vf->mem + y, 64, 0), "");

	CHECK(mig_resume(&b, stream, len) == 0, "resume: %s", strerror(errno));
	CHECK(mig_get(&b) == VFIO_DEVICE_STATE_STOP, "");
	mig_compare(vf, &b);
	CHECK(!strcmp(mvf_state(&b, "vlans"), "100 200 300"), "");

	/* Running, the destination serves the doorbell the source deferred. */
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(desc_status(vf, idx) == DMA_OK && all_bytes(vf->mem + y, 64, 0x55),
	      "deferred doorbell lost");
	CHECK(mvf_reg_read(&b, KVX_MVF_REG_DMA_HEAD) == (idx + 1) % 16, "");
	CHECK(dma_run(&b, KVX_MVF_DMA_OP_FILL, 0x66666666, giova(y), 64) ==
	      DMA_OK && all_bytes(vf->mem + y, 64, 0x66), "");
	CHECK(mbx_xfer(&b, r, 1, KVX_MVF_MSG_GET_LINK), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_GET_LINK), "0x%x", r[0]);
	CHECK(!log_stop(vf), "");
	vf_del(&b);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
}

/*
 * A PF reset notice while the device is stopped waits for it to run:
 * sent then it would come after a source's last snapshot, or be
 * overwritten by the stream on a destination.
 */
static void test_mig_reset_notice(struct vf *vf)
{
	u32 r[KVX_MVF_MBX_WORDS];
	struct vf b;
	size_t len;
	int fd;

	CHECK(!strcmp(mvf_state(vf, "cts"), "1"), "VF not set up");
	len = mig_save_stopped(vf, stream);
	CHECK(mvf_event(vf, "reset") == 0, "");
	CHECK(!strcmp(mvf_state(vf, "reset_pending"), "0") &&
	      !strcmp(mvf_state(vf, "cts"), "1"), "notice delivered in STOP");

	/* The destination gets one while RESUMING: the stream is applied. */
	vf_add(&b, vf);
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_STOP, NULL), "");
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_RESUMING, &fd) && fd >= 0, "");
	CHECK(mvf_event(&b, "reset") == 0, "");
	CHECK(write(fd, stream, len) == (ssize_t)len, "%s", strerror(errno));
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_STOP, NULL), "%s", strerror(errno));
	close(fd);
	mig_compare(vf, &b);
	/* ... and sees it when it runs. */
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(mbx_read_ctrl(&b) & KVX_MVF_MBX_RSTI, "notice lost in RESUMING");
	CHECK(!strcmp(mvf_state(&b, "cts"), "0"), "");
	CHECK(mbx_xfer(&b, r, 1, KVX_MVF_MSG_RESET), "");
	CHECK(r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	vf_del(&b);

	/* The source runs again, as after a failed migration: its notice. */
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(mbx_read_ctrl(vf) & KVX_MVF_MBX_RSTI, "notice lost in STOP");
	CHECK(!strcmp(mvf_state(vf, "cts"), "0") &&
	      !strcmp(mvf_state(vf, "reset_pending"), "1"), "");
	vf_bring_up(vf, KVX_MVF_API_1_1, "02:00:00:00:aa:01");
	CHECK(!strcmp(mvf_state(vf, "reset_pending"), "0"), "");
}

/*
 * One mdev type per compatibility generation (issue 11, item 4).  VFs of
 * kvx-mvf-vf-g1 and kvx-mvf-vf-g2 have the same config space byte for byte
 * (QEMU compares it; on baf10d6 the generation was the revision ID and
 * QEMU failed with "Bad config data: i=0x8 read: 1 device: 2"); the guest
 * reads the generation in VERSION, so a stream resumes only on a VF of its
 * own generation and is refused at its header otherwise (QEMU writes
 * pre-copy data as it comes: before the switchover), the destination
 * unchanged.  Each type tells its compatibility in sysfs.
 */
static void test_mig_generation(struct vf *vf)
{
	u8 c1[PCI_CFG_SPACE_SIZE], c2[PCI_CFG_SPACE_SIZE];
	struct vf b1 = {}, b2 = {}, b3 = {};
	u32 r[KVX_MVF_MBX_WORDS];
	char buf[256];
	unsigned int i;
	size_t len;

	CHECK(mvf_read_file(GEN_PARAM, buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "1\n"), "generation %s", buf);
	CHECK(mvf_write_file(GEN_PARAM, "0") == -EINVAL, "");
	CHECK(mvf_write_file(GEN_PARAM, "3") == -EINVAL, "");
	CHECK(mvf_write_file(GEN_PARAM, "two") == -EINVAL, "");

	/* The types and what they tell. */
	CHECK(!mvf_read_file(MVF_TYPES_DIR "/kvx-mvf-vf-g1/description", buf,
			     sizeof(buf)) && strstr(buf, "generation 1:") &&
	      strstr(buf, "generation 1 only"), "g1: %s", buf);
	CHECK(!mvf_read_file(MVF_TYPES_DIR "/kvx-mvf-vf-g2/description", buf,
			     sizeof(buf)) && strstr(buf, "generation 2:") &&
	      strstr(buf, "API 1.0-1.2"), "g2: %s", buf);
	vf_add_type(&b1, vf, "kvx-mvf-vf-g1");
	vf_add_type(&b2, vf, "kvx-mvf-vf-g2");
	CHECK(!strcmp(mvf_state(&b1, "generation"), "1") &&
	      !strcmp(mvf_state(&b2, "generation"), "2"), "");
	CHECK((mvf_reg_read(&b1, KVX_MVF_REG_VERSION) &
	       KVX_MVF_VERSION_GEN_MASK) == 1 &&
	      (mvf_reg_read(&b2, KVX_MVF_REG_VERSION) &
	       KVX_MVF_VERSION_GEN_MASK) == 2, "VERSION");
	CHECK(mvf_region_read(&b1, b1.cfg_off, c1, sizeof(c1)) == sizeof(c1) &&
	      mvf_region_read(&b2, b2.cfg_off, c2, sizeof(c2)) == sizeof(c2), "");
	for (i = 0; i < sizeof(c1); i++)
		CHECK(c1[i] == c2[i],
		      "config byte 0x%x: generation 1 0x%02x, 2 0x%02x", i,
		      c1[i], c2[i]);
	CHECK(c1[PCI_REVISION_ID] == KVX_MVF_PCI_REVISION, "");

	/* 1 -> 2: refused at the header, the destination unchanged. */
	len = mig_save_stopped(vf, stream);
	CHECK(mig_resume(&b2, stream, len) == -EINVAL,
	      "a generation 1 stream resumed on generation 2");
	CHECK(!strcmp(mvf_state(&b2, "cts"), "0") &&
	      !strcmp(mvf_state(&b2, "requests"), "0"), "destination changed");
	CHECK(!ioctl(b2.device, VFIO_DEVICE_RESET), "%s", strerror(errno));
	/* 1 -> 1, from kvx-mvf-vf to kvx-mvf-vf-g1: as is. */
	CHECK(mig_resume(&b1, stream, len) == 0, "%s", strerror(errno));
	mig_compare(vf, &b1);
	CHECK(!strcmp(mvf_state(&b1, "quiesced_resumes"), "0"), "");
	CHECK(!mvf_mig_set(&b1, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");

	/* 2 -> 2 with API 1.2, which only generation 2 has. */
	CHECK(mbx_xfer(&b2, r, 1, KVX_MVF_MSG_RESET) &&
	      r[0] == ACKED(KVX_MVF_MSG_RESET), "");
	CHECK(mbx_xfer(&b2, r, 2, KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_2) &&
	      r[0] == ACKED(KVX_MVF_MSG_API_NEGOTIATE), "0x%x", r[0]);
	len = mig_save_stopped(&b2, stream);
	vf_add_type(&b3, vf, "kvx-mvf-vf-g2");
	CHECK(mig_resume(&b3, stream, len) == 0, "%s", strerror(errno));
	mig_compare(&b2, &b3);
	CHECK(!strcmp(mvf_state(&b3, "api"), "1.2"), "%s",
	      mvf_state(&b3, "api"));
	/* 2 -> 1: refused too, never resumed quiesced behind the guest. */
	CHECK(!ioctl(b1.device, VFIO_DEVICE_RESET), "");
	CHECK(mig_resume(&b1, stream, len) == -EINVAL,
	      "a generation 2 stream resumed on generation 1");
	CHECK(!strcmp(mvf_state(&b1, "quiesced_resumes"), "0"), "");
	vf_del(&b3);
	vf_del(&b2);
	vf_del(&b1);
}

/* The offset of the first section of @type in a stream, or 0. */
static size_t tlv_find(const u8 *s, size_t len, u16 type)
{
	size_t off = sizeof(struct kvx_mvf_mig_header);
	const struct kvx_mvf_mig_tlv *t;

	while (off + sizeof(*t) <= len) {
		t = (const void *)(s + off);
		if (t->type == type)
			return off;
		off += sizeof(*t) + ((t->length + 7) & ~7u);
	}
	return 0;
}

static void *section(u8 *s, size_t len, u16 type)
{
	size_t off = tlv_find(s, len, type);

	CHECK(off, "no TLV of type %u", type);
	return s + off + sizeof(struct kvx_mvf_mig_tlv);
}

/* Copy @len of @src to stream2, inserting @ins at @at. */
static size_t splice(const u8 *src, size_t len, size_t at, const void *ins,
		     size_t ins_len)
{
	memcpy(stream2, src, at);
	memcpy(stream2 + at, ins, ins_len);
	memcpy(stream2 + at + ins_len, src + at, len - at);
	return len + ins_len;
}

/* What a refused stream must not change. */
struct dest_view {
	char dbg[2048];
	u32 dma[ARRAY_SIZE(dma_regs)];
	u8 cfg[PCI_CFG_SPACE_SIZE];
};

static void dest_view(struct vf *b, struct dest_view *v)
{
	unsigned int i;

	memset(v, 0, sizeof(*v));
	CHECK(!mvf_state_dump(b, v->dbg, sizeof(v->dbg)), "");
	for (i = 0; i < ARRAY_SIZE(dma_regs); i++)
		v->dma[i] = mvf_reg_read(b, dma_regs[i]);
	CHECK(mvf_region_read(b, b->cfg_off, v->cfg, sizeof(v->cfg)) ==
	      sizeof(v->cfg), "");
}

/* Resume @s into @b: the errno; a refusal must have changed nothing. */
static int try_resume(struct vf *b, const u8 *s, size_t len, const char *what)
{
	struct dest_view before, after;
	int ret;

	CHECK(!ioctl(b->device, VFIO_DEVICE_RESET), "");
	dest_view(b, &before);
	ret = mig_resume(b, s, len);
	if (ret) {
		CHECK(ret == -EINVAL, "%s: %s", what, strerror(-ret));
		dest_view(b, &after);
		CHECK(!memcmp(&before, &after, sizeof(before)),
		      "%s: refused stream changed the device:\n%s\n--\n%s",
		      what, before.dbg, after.dbg);
	}
	return ret;
}

#define REFUSED(s, len, what) do {					\
	const char *what_ = (what);					\
									\
	CHECK(try_resume(&b, s, len, what_) == -EINVAL, "%s accepted",	\
	      what_);							\
} while (0)

static void test_mig_bad_streams(struct vf *vf)
{
	static const struct kvx_mvf_mig_tlv opt = { 0x7f01, 0, 12 };
	static const struct kvx_mvf_mig_tlv req = {
		0x7f02, KVX_MVF_MIG_TLV_REQUIRED, 8
	};
	static const u16 hashes[] = { 0x100, 0x200, 0x300 };
	u32 payload32[KVX_MVF_MBX_WORDS];
	u8 payload[32] = {};
	struct kvx_mvf_mig_header *hdr = (void *)stream2;
	struct kvx_mvf_mig_vf_config *cfg;
	struct kvx_mvf_mig_mcast *mc;
	struct kvx_mvf_mig_mailbox *mbx;
	struct kvx_mvf_mig_dma *dma;
	struct kvx_mvf_mig_tlv *t;
	unsigned int i, accepted = 0, refused = 0;
	size_t len, at, n;
	struct vf b;

	vf_add(&b, vf);
	CHECK(mcast_op(vf, 3, hashes, 3, payload32) ==
	      ACKED(KVX_MVF_MSG_SET_MCAST), "0x%x", payload32[0]);
	len = mig_save_stopped(vf, stream);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(try_resume(&b, stream, len, "valid") == 0, "valid stream");

	for (n = 0; n < len; n++)
		REFUSED(stream, n, "truncated");
	memcpy(stream2, stream, len);
	stream2[len] = 0;
	REFUSED(stream2, len + 1, "trailing byte");
	memset(stream2 + len, 0, 8);
	REFUSED(stream2, len + 8, "trailing END-sized zeros");

#define MUTATE(what, change) do {				\
	memcpy(stream2, stream, len);				\
	change;							\
	REFUSED(stream2, len, what);				\
} while (0)
	MUTATE("magic", hdr->magic ^= 1);
	MUTATE("version 2", hdr->version = 2);
	MUTATE("version 0", hdr->version = 0);
	MUTATE("generation 0", hdr->generation = 0);
	MUTATE("header flags", hdr->flags = 1);
	MUTATE("features without API 1.1",
	       hdr->features &= ~KVX_MVF_MIG_F_API_1_1);
	MUTATE("TLV flag", ((struct kvx_mvf_mig_tlv *)(stream2 +
		tlv_find(stream2, len, KVX_MVF_MIG_MAILBOX)))->flags |= 2);
	MUTATE("VF_CONFIG length", ((struct kvx_mvf_mig_tlv *)(stream2 +
		tlv_find(stream2, len, KVX_MVF_MIG_VF_CONFIG)))->length = 40);
	MUTATE("END length", ((struct kvx_mvf_mig_tlv *)(stream2 + len -
		8))->length = 8);
	MUTATE("vendor ID", ((u8 *)section(stream2, len,
					   KVX_MVF_MIG_PCI_CONFIG))[0] ^= 1);

	cfg = section(stream2, len, KVX_MVF_MIG_VF_CONFIG);
	MUTATE("multicast MAC", cfg->mac[0] |= 1);
	MUTATE("API 2.0", cfg->api = 0x0200);
	MUTATE("cts 2", cfg->cts = 2);
	MUTATE("17 VLANs", cfg->nr_vlans = 17);
	MUTATE("unsorted VLANs", cfg->vlans[0] = 300);
	MUTATE("stray VLAN", cfg->vlans[10] = 5);
	MUTATE("VLAN 4095", cfg->vlans[1] = 4095);
	MUTATE("cfg rsvd", cfg->rsvd[5] = 1);
	mc = section(stream2, len, KVX_MVF_MIG_MCAST);
	CHECK(mc->nr_hashes, "the source has a multicast list");
	MUTATE("31 hashes", mc->nr_hashes = KVX_MVF_MAX_MCAST + 1);
	MUTATE("unsorted hashes", mc->hashes[0] = 0xfff);
	MUTATE("repeated hash", mc->hashes[1] = mc->hashes[0]);
	MUTATE("13-bit hash", mc->hashes[mc->nr_hashes - 1] |= 0x1000);
	MUTATE("stray hash", mc->hashes[KVX_MVF_MAX_MCAST - 1] = 0xfff);
	MUTATE("mcast rsvd", mc->rsvd = 1);
	mbx = section(stream2, len, KVX_MVF_MIG_MAILBOX);
	MUTATE("VFMAILBOX REQ", mbx->vfmailbox |= KVX_MVF_MBX_REQ);
	MUTATE("VFMAILBOX PFU", mbx->vfmailbox |= KVX_MVF_MBX_PFU);
	MUTATE("pf_msg_pending 2", mbx->pf_msg_pending = 2);
	dma = section(stream2, len, KVX_MVF_MIG_DMA);
	MUTATE("DMA ctrl", dma->ctrl = 5);
	MUTATE("DMA status ENABLED", dma->status |= KVX_MVF_DMA_STATUS_ENABLED);
	MUTATE("ring size 3", dma->ring_size = 3);
	MUTATE("ring base", dma->ring_base += 8);
	MUTATE("head", dma->head = dma->ring_size);
	MUTATE("errors", dma->errors = dma->completed + 1);
	MUTATE("DMA rsvd", dma->rsvd = 1);
	MUTATE("kick_pending 2",
	       ((struct kvx_mvf_mig_dma_pending *)section(stream2, len,
		KVX_MVF_MIG_DMA_PENDING))->kick_pending = 2);

	/* Sections: unknown required ones refused, optional ones skipped. */
	at = tlv_find(stream, len, KVX_MVF_MIG_DMA);
	memcpy(payload, &req, sizeof(req));
	REFUSED(stream2, splice(stream, len, at, payload, 16),
		"unknown required section");
	memcpy(payload, &opt, sizeof(opt));
	n = splice(stream, len, at, payload, 16 + 8);
	stream2[at + 8 + 12] = 1;
	REFUSED(stream2, n, "non-zero padding");
	stream2[at + 8 + 12] = 0;
	CHECK(try_resume(&b, stream2, n, "optional") == 0,
	      "unknown optional section refused");
	mig_compare(vf, &b);
	/* A missing required section. */
	at = tlv_find(stream, len, KVX_MVF_MIG_DMA_PENDING);
	t = (void *)(stream + at);
	memcpy(stream2, stream, at);
	memcpy(stream2 + at, stream + at + 8 + t->length,
	       len - at - 8 - t->length);
	REFUSED(stream2, len - 8 - t->length, "no DMA_PENDING");
	/*
	 * MCAST came after version 1: REQUIRED while the list is not empty
	 * (a destination that does not know it must refuse), and a stream
	 * without it (an older source) resumes with an empty list.
	 */
	at = tlv_find(stream, len, KVX_MVF_MIG_MCAST);
	t = (void *)(stream + at);
	CHECK(t->flags == KVX_MVF_MIG_TLV_REQUIRED && t->length == sizeof(*mc),
	      "MCAST flags 0x%x length %u", t->flags, t->length);
	memcpy(stream2, stream, at);
	memcpy(stream2 + at, stream + at + 8 + t->length,
	       len - at - 8 - t->length);
	CHECK(try_resume(&b, stream2, len - 8 - t->length, "no MCAST") == 0,
	      "stream without MCAST refused");
	CHECK(!strcmp(mvf_state(&b, "mcast"), ""), "%s", mvf_state(&b, "mcast"));
	CHECK(same_state(&b, "vlans", vf, "vlans"), "");
	/* An empty list is optional: an older destination skips it. */
	n = mig_save_stopped(&b, stream2);
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	t = (void *)(stream2 + tlv_find(stream2, n, KVX_MVF_MIG_MCAST));
	mc = (void *)(t + 1);
	CHECK(t->type == KVX_MVF_MIG_MCAST && t->flags == 0 && !mc->nr_hashes,
	      "empty MCAST: type %u flags 0x%x nr %u", t->type, t->flags,
	      mc->nr_hashes);
	/* A repeated section: the last copy counts. */
	at = tlv_find(stream, len, KVX_MVF_MIG_VF_CONFIG);
	t = (void *)(stream + at);
	n = splice(stream, len, len - 8, stream + at, 8 + t->length);
	cfg = (void *)(stream2 + len - 8 + 8);
	cfg->mac[5] ^= 0x10;
	CHECK(try_resume(&b, stream2, n, "repeat") == 0, "repeated section");
	CHECK(!same_state(&b, "mac", vf, "mac"), "the first copy won");

	/* Oversized: the write that passes the limit is refused. */
	memset(stream2, 0, MIG_BUF);
	memcpy(stream2, stream, sizeof(struct kvx_mvf_mig_header));
	REFUSED(stream2, KVX_MVF_MIG_MAX_SIZE + 1, "oversized");

	/* Bit flips: refused with nothing changed, or a valid stream. */
	srand(1);
	for (i = 0; i < 300; i++) {
		memcpy(stream2, stream, len);
		for (n = 0; n <= (unsigned int)rand() % 3; n++) {
			at = rand() % len;
			stream2[at] ^= 1 << (rand() % 8);
		}
		if (try_resume(&b, stream2, len, "bit flip"))
			refused++;
		else
			accepted++;
	}
	ksft_print_msg("bit flips: %u refused, %u valid\n", refused, accepted);
	CHECK(refused > 0, "");
	vf_del(&b);
}

/*
 * A PF_LINK message still waiting when the source stops travels in the
 * stream's PF_MSG section (REQUIRED while one waits, so that a destination
 * that does not know the section refuses the stream rather than drop the
 * message), and the destination writes it once it runs, with its own PF's
 * link.  On d073233 the stream dropped it: the destination's VF driver
 * never heard of the change.
 */
static void test_mig_pf_link(struct vf *vf)
{
	struct kvx_mvf_mig_vf_config *cfg;
	struct kvx_mvf_mig_pf_msg *pm;
	u32 m[KVX_MVF_MBX_WORDS];
	struct kvx_mvf_mig_tlv *t;
	size_t len, at;
	struct vf b;

	CHECK(!strcmp(mvf_state(vf, "api"), "1.1") &&
	      !strcmp(mvf_state(vf, "cts"), "1"), "VF not set up");
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS), "");
	vf_add(&b, vf);
	/* Stopped, the source holds the message: it waits in the stream. */
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	CHECK(mvf_set_link("down") == 0, "");
	CHECK(!strcmp(mvf_state(vf, "link_msg_pending"), "1"), "");
	CHECK(!(mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS), "written while stopped");
	len = mig_save_stopped(vf, stream);
	CHECK(mig_resume(&b, stream, len) == 0, "%s", strerror(errno));
	CHECK(!(mbx_read_ctrl(&b) & KVX_MVF_MBX_PFSTS), "written in STOP");
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(mbx_read_ctrl(&b) & KVX_MVF_MBX_PFSTS,
	      "the PF_LINK message waiting on the source was lost");
	pf_msg_recv(&b, m);
	check_link_msg(m, false);
	CHECK(!strcmp(mvf_state(&b, "link_msg_pending"), "0"), "");

	at = tlv_find(stream, len, KVX_MVF_MIG_PF_MSG);
	CHECK(at, "no PF_MSG section");
	t = (void *)(stream + at);
	pm = (void *)(t + 1);
	CHECK(t->flags == KVX_MVF_MIG_TLV_REQUIRED &&
	      t->length == sizeof(*pm) && pm->link_pending == 1 && !pm->rsvd,
	      "PF_MSG flags 0x%x length %u pending %u", t->flags, t->length,
	      pm->link_pending);
	/* What a PF_MSG section may not hold. */
	pm = (void *)(stream2 + at + sizeof(*t));
	MUTATE("link_pending 2", pm->link_pending = 2);
	MUTATE("PF_MSG rsvd", pm->rsvd = 1);
	cfg = section(stream2, len, KVX_MVF_MIG_VF_CONFIG);
	MUTATE("PF_LINK waiting for API 1.0", cfg->api = KVX_MVF_API_1_0);
	MUTATE("PF_LINK waiting without CTS", cfg->cts = 0);

	/* The source, running again (a failed migration), has its own. */
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	pf_msg_recv(vf, m);
	check_link_msg(m, false);
	CHECK(mvf_set_link("up") == 0, "");
	pf_msg_recv(vf, m);
	check_link_msg(m, true);
	/* Nothing waiting: the section is optional and says so. */
	len = mig_save_stopped(vf, stream);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	t = (void *)(stream + tlv_find(stream, len, KVX_MVF_MIG_PF_MSG));
	pm = (void *)(t + 1);
	CHECK(t->type == KVX_MVF_MIG_PF_MSG && !t->flags && !pm->link_pending,
	      "empty PF_MSG: type %u flags 0x%x pending %u", t->type, t->flags,
	      pm->link_pending);
	vf_del(&b);
}

/*
 * A valid stream whose VF negotiated an API this driver does not know
 * resumes quiesced: config space and the PF's counters (STATS) are taken,
 * the VF configuration, the mailbox and the DMA engine start over with
 * RSTI raised, and the guest driver renegotiates.  The counters are the
 * VF's over its life, which no reset clears (mvf.rst, "Resuming").  A
 * stream without STATS leaves the destination's counters.
 */
static void test_mig_quiesced(struct vf *vf)
{
	struct kvx_mvf_mig_vf_config *cfg;
	u32 r[KVX_MVF_MBX_WORDS];
	char requests[32];
	size_t len, at, n;
	struct kvx_mvf_mig_tlv *t;
	struct vf b;

	CHECK(atol(mvf_state(vf, "requests")) > 0 &&
	      atol(mvf_state(vf, "nacks")) > 0, "VF not used");
	vf_add(&b, vf);
	len = mig_save_stopped(vf, stream);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	memcpy(stream2, stream, len);
	cfg = section(stream2, len, KVX_MVF_MIG_VF_CONFIG);
	cfg->api = 0x0103;	/* API 1.3: unknown here */
	CHECK(mig_resume(&b, stream2, len) == 0, "%s", strerror(errno));
	CHECK(!strcmp(mvf_state(&b, "quiesced_resumes"), "1"), "%s",
	      mvf_state(&b, "quiesced_resumes"));
	CHECK(same_state(&b, "requests", vf, "requests") &&
	      same_state(&b, "nacks", vf, "nacks") &&
	      same_state(&b, "protocol_errors", vf, "protocol_errors"),
	      "STATS not taken: requests %s", mvf_state(&b, "requests"));
	CHECK(mvf_cfg_read32(&b, PCI_COMMAND) == mvf_cfg_read32(vf, PCI_COMMAND) &&
	      mvf_cfg_read32(&b, PCI_BASE_ADDRESS_0) ==
	      mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0), "config space not taken");
	CHECK(!strcmp(mvf_state(&b, "api"), "1.0") &&
	      !strcmp(mvf_state(&b, "cts"), "0") &&
	      same_state(&b, "mac", &b, "admin_mac") &&
	      !strcmp(mvf_state(&b, "vlans"), "") &&
	      !strcmp(mvf_state(&b, "mcast"), ""), "VF configuration taken");
	CHECK(!mvf_reg_read(&b, KVX_MVF_REG_DMA_CTRL) &&
	      !mvf_reg_read(&b, KVX_MVF_REG_DMA_COMPLETED) &&
	      !mvf_reg_read(&b, KVX_MVF_REG_DB_COUNT), "DMA engine taken");
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(mbx_read_ctrl(&b) == KVX_MVF_MBX_RSTI, "VFMAILBOX 0x%x",
	      mbx_read_ctrl(&b));
	CHECK(mbx_xfer(&b, r, 1, KVX_MVF_MSG_RESET) &&
	      r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);

	/* Without STATS: the destination's own counters stay. */
	at = tlv_find(stream2, len, KVX_MVF_MIG_STATS);
	CHECK(at, "no STATS section");
	t = (void *)(stream2 + at);
	n = sizeof(*t) + t->length;
	memmove(stream2 + at, stream2 + at + n, len - at - n);
	snprintf(requests, sizeof(requests), "%s", mvf_state(&b, "requests"));
	CHECK(mig_resume(&b, stream2, len - n) == 0, "%s", strerror(errno));
	CHECK(!strcmp(mvf_state(&b, "quiesced_resumes"), "2"), "");
	CHECK(!strcmp(mvf_state(&b, "requests"), requests), "requests %s, had %s",
	      mvf_state(&b, "requests"), requests);
	vf_del(&b);
}

/*
 * Closing the device ends its DMA logging session and its migration data
 * transfer session; a data_fd that outlives the VF only says -ENODEV.
 */
static void test_mig_close(struct vf *vf)
{
	struct vfio_precopy_info info;
	struct vf b;
	u8 byte;
	int fd, ret;

	vf_add(&b, vf);
	if (dev_log)
		CHECK(!log_start_guest(&b, GPAGE), "%s", strerror(errno));
	CHECK(!strcmp(mvf_state(&b, "dma_log"), dev_log ? "1" : "0"), "");
	CHECK(!mvf_mig_set(&b, VFIO_DEVICE_STATE_PRE_COPY, &fd) && fd >= 0, "");
	CHECK(!precopy_info(fd, &info) && info.initial_bytes, "");
	close(b.device);
	b.device = -1;
	CHECK(!strcmp(mvf_state(&b, "dma_log"), "0"), "logging survived close");
	CHECK(read(fd, &byte, 1) == -1 && errno == ENODEV, "read: %s",
	      strerror(errno));
	vf_del(&b);
	CHECK(!mvf_mdev_exists(b.uuid), "VF not removed");
	ret = precopy_info(fd, &info);
	CHECK(ret == -EINVAL, "PRECOPY_INFO: %s", strerror(-ret));
	CHECK(read(fd, &byte, 1) == -1 && errno == ENODEV, "");
	close(fd);
}

static int set_msi(struct vf *vf, u32 data_type, u32 count, s32 data)
{
	return mvf_set_irq(vf, VFIO_PCI_MSI_IRQ_INDEX, data_type, count, data);
}

/* Interrupts signalled since the last call (the eventfd's counter). */
static u64 irqs(int efd)
{
	u64 n;
	int ret = mvf_eventfd_read(efd, &n);

	CHECK(!ret, "eventfd: %s", strerror(-ret));
	return n;
}

/* The MSI vector: SET_IRQS, DMA completions, re-raise after quiesce. */
static void test_dma_irq(struct vf *vf)
{
	u64 buf[(sizeof(struct vfio_irq_set) + 8) / 8] = {};
	struct vfio_irq_set *s = (void *)buf;
	const u64 dst = giova(DATA_OFF + 0x4000);
	int efd, efd2;
	u32 ctrl;

	efd = eventfd(0, EFD_NONBLOCK);
	CHECK(efd >= 0, "");
	/* Refused: other indices, actions, counts, a bad fd. */
	*s = (struct vfio_irq_set){ .argsz = sizeof(*s) + 4, .index =
		VFIO_PCI_INTX_IRQ_INDEX, .count = 1, .flags =
		VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER };
	memcpy(s->data, &efd, 4);
	CHECK(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s) == -1 &&
	      errno == EINVAL, "INTx");
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	CHECK(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s) == -1 &&
	      errno == EINVAL, "MSI-X");
	s->index = VFIO_PCI_MSI_IRQ_INDEX;
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK;
	CHECK(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s) == -1 &&
	      errno == EINVAL, "mask");
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->count = 2;
	CHECK(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s) == -1 &&
	      errno == EINVAL, "count 2");
	s->count = 1;
	s->argsz = sizeof(*s);
	CHECK(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s) == -1 &&
	      errno == EINVAL, "short argsz");
	CHECK(set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, 12345) == -EBADF, "");

	CHECK(!set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, efd), "%s",
	      strerror(errno));
	ctrl = mvf_reg_read(vf, KVX_MVF_REG_DMA_CTRL);
	CHECK(ctrl == KVX_MVF_DMA_CTRL_ENABLE, "ctrl 0x%x", ctrl);
	/* Without DMA_CTRL.IRQ, completions are silent. */
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64) == DMA_OK, "");
	CHECK(irqs(efd) == 0, "interrupt without DMA_CTRL.IRQ");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, ctrl | KVX_MVF_DMA_CTRL_IRQ);
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_CTRL) ==
	      (ctrl | KVX_MVF_DMA_CTRL_IRQ), "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64) == DMA_OK, "");
	CHECK(irqs(efd) == 1, "no interrupt");
	/* One per doorbell that completed something. */
	dma_post(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64);
	dma_post(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64);
	dma_kick(vf);
	dma_kick(vf);
	CHECK(irqs(efd) == 1, "");
	/* DATA_BOOL and DATA_NONE fire it by hand. */
	CHECK(!set_msi(vf, VFIO_IRQ_SET_DATA_BOOL, 1, 1), "");
	CHECK(!set_msi(vf, VFIO_IRQ_SET_DATA_BOOL, 1, 0), "");
	CHECK(!set_msi(vf, VFIO_IRQ_SET_DATA_NONE, 1, 0), "");
	CHECK(irqs(efd) == 2, "");

	/* Leaving a quiesced state raises it again for pending completions. */
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING), "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(irqs(efd) == 1, "not raised again");
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, ~0u);
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), "");
	CHECK(!mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), "");
	CHECK(irqs(efd) == 0, "raised with nothing pending");

	/* Another eventfd replaces the first; -1 and count 0 detach. */
	efd2 = eventfd(0, EFD_NONBLOCK);
	CHECK(efd2 >= 0 && !set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, efd2),
	      "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64) == DMA_OK, "");
	CHECK(irqs(efd) == 0 && irqs(efd2) == 1, "");
	CHECK(!set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, -1), "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64) == DMA_OK, "");
	CHECK(irqs(efd2) == 0, "detached eventfd signalled");
	CHECK(!set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, efd), "");
	CHECK(!set_msi(vf, VFIO_IRQ_SET_DATA_NONE, 0, 0), "");
	CHECK(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64) == DMA_OK, "");
	CHECK(irqs(efd) == 0, "detached eventfd signalled");
	close(efd);
	close(efd2);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, ~0u);
}

/*
 * What the operator sets, in sysfs (<mdev>/kvx_mvf/): the admin MAC and
 * VLAN of a VF no user holds open, taken by the VF at once and at every
 * reset; bad input refused with EINVAL and a write while the VF is open
 * with EBUSY, either changing nothing; the VF's generation and its type's
 * compatibility.  On d073233 there was no kvx_mvf directory.
 */
static void test_admin_sysfs(struct vf *vf)
{
	static const char * const bad_macs[] = {
		"\n", "02:00:00:00:00", "02:00:00:00:00:01:02",
		"01:00:5e:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff",
		"02:00:00:00:00:0g", "02-00-00-00-00-01", "02:00:00:00:00:01x",
		" 02:00:00:00:00:01", "02:00:00:00:00:01\n\n",
	};
	static const char * const bad_vlans[] = {
		"\n", "4095", "65536", "-1", "abc", "1 2", "0x10", "010",
		"100x", " 5", "+5",
	};
	char before[2048], after[2048], mac[32], desc[256];
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	unsigned int i;
	struct vf b;

	/* The VF of the earlier tests is open: nothing can be set. */
	snprintf(mac, sizeof(mac), "%s", mvf_attr(vf, "admin_mac"));
	CHECK(!strcmp(mac, mvf_state(vf, "admin_mac")), "sysfs %s, debugfs %s",
	      mac, mvf_state(vf, "admin_mac"));
	CHECK(!strcmp(mvf_attr(vf, "admin_vlan"), "0"), "");
	CHECK(!strcmp(mvf_attr(vf, "generation"), mvf_state(vf, "generation")),
	      "");
	CHECK(mvf_attr_write(vf, "admin_mac", "02:00:00:00:00:42") == -EBUSY,
	      "");
	CHECK(mvf_attr_write(vf, "admin_vlan", "7") == -EBUSY, "");
	CHECK(mvf_attr_write(vf, "admin_mac", "bad") == -EINVAL, "");
	CHECK(!strcmp(mvf_attr(vf, "admin_mac"), mac) &&
	      !strcmp(mvf_attr(vf, "admin_vlan"), "0"), "changed while open");

	/* A VF no user holds: set at once. */
	b = (struct vf)MVF_VF_INIT;
	CHECK(mvf_mdev_create(&b, MVF_TYPE) == 0, "");
	CHECK(!mvf_attr_write(&b, "admin_mac", "02:00:00:00:00:42\n"), "");
	CHECK(!mvf_attr_write(&b, "admin_vlan", "42"), "");
	CHECK(!strcmp(mvf_attr(&b, "admin_mac"), "02:00:00:00:00:42") &&
	      !strcmp(mvf_state(&b, "admin_mac"), "02:00:00:00:00:42") &&
	      !strcmp(mvf_state(&b, "mac"), "02:00:00:00:00:42"), "%s",
	      mvf_attr(&b, "admin_mac"));
	CHECK(!strcmp(mvf_attr(&b, "admin_vlan"), "42") &&
	      !strcmp(mvf_state(&b, "vlans"), "42"), "");
	CHECK(!mvf_attr_write(&b, "admin_vlan", "4094\n"), "");
	CHECK(!strcmp(mvf_attr(&b, "admin_vlan"), "4094"), "");
	CHECK(!mvf_attr_write(&b, "admin_vlan", "42"), "");

	/* Bad input: EINVAL, nothing changed. */
	CHECK(!mvf_state_dump(&b, before, sizeof(before)), "");
	for (i = 0; i < ARRAY_SIZE(bad_macs); i++)
		CHECK(mvf_attr_write(&b, "admin_mac", bad_macs[i]) == -EINVAL,
		      "MAC '%s' accepted", bad_macs[i]);
	for (i = 0; i < ARRAY_SIZE(bad_vlans); i++)
		CHECK(mvf_attr_write(&b, "admin_vlan", bad_vlans[i]) == -EINVAL,
		      "VLAN '%s' accepted", bad_vlans[i]);
	CHECK(!mvf_state_dump(&b, after, sizeof(after)), "");
	CHECK(!strcmp(before, after), "bad input changed the VF:\n%s\n--\n%s",
	      before, after);
	CHECK(!strcmp(mvf_attr(&b, "admin_mac"), "02:00:00:00:00:42") &&
	      !strcmp(mvf_attr(&b, "admin_vlan"), "42"), "");

	/*
	 * Opened, the VF driver gets them at RESET; the port VLAN is the
	 * operator's, so SET_VLAN is refused; the settings are held.
	 */
	vf_open_in(&b, vf);
	CHECK(mbx_xfer(&b, r, 1, KVX_MVF_MSG_RESET) &&
	      r[0] == ACKED(KVX_MVF_MSG_RESET), "0x%x", r[0]);
	mac_words("02:00:00:00:00:42", w);
	CHECK(r[1] == w[0] && r[2] == w[1], "RESET MAC 0x%x 0x%x", r[1], r[2]);
	CHECK(!strcmp(mvf_state(&b, "vlans"), "42"), "");
	vlan_op(&b, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_NACK, KVX_MVF_ERR_PERM);
	vlan_op(&b, KVX_MVF_VLAN_DEL, 42, KVX_MVF_MSG_NACK, KVX_MVF_ERR_PERM);
	CHECK(!strcmp(mvf_state(&b, "vlans"), "42"), "");
	CHECK(mvf_attr_write(&b, "admin_vlan", "0") == -EBUSY &&
	      mvf_attr_write(&b, "admin_mac", "02:00:00:00:00:43") == -EBUSY,
	      "");
	CHECK(!strcmp(mvf_attr(&b, "admin_vlan"), "42"), "");
	close(b.device);
	b.device = -1;
	/* Closed again: no port VLAN, the VF's filter is its own. */
	CHECK(!mvf_attr_write(&b, "admin_vlan", "0"), "");
	CHECK(!strcmp(mvf_state(&b, "vlans"), ""), "");
	vf_del(&b);

	/* Compatibility: the generation, the type to create for it. */
	vf_add_type(&b, vf, "kvx-mvf-vf-g2");
	CHECK(!strcmp(mvf_attr(&b, "generation"), "2"), "");
	CHECK(!mvf_read_file(MVF_TYPES_DIR "/kvx-mvf-vf-g2/description", desc,
			     sizeof(desc)) &&
	      strstr(desc, "resumes migration streams of generation 2 only"),
	      "%s", desc);
	vf_del(&b);
}

static void test_second_vf(struct vf *vf)
{
	struct vf b = MVF_VF_INIT;
	char mac_a[32];
	long avail = mvf_read_long(MVF_TYPE_DIR "/available_instances");

	CHECK(mvf_mdev_create(&b, MVF_TYPE) == 0, "");
	CHECK(mvf_read_long(MVF_TYPE_DIR "/available_instances") == avail - 1, "");
	snprintf(mac_a, sizeof(mac_a), "%s", mvf_state(vf, "admin_mac"));
	CHECK(*mvf_state(&b, "admin_mac"), "");
	CHECK(strcmp(mvf_state(&b, "admin_mac"), mac_a), "same MAC %s", mac_a);

	CHECK(mvf_mdev_remove(b.uuid) == 0, "");
	CHECK(!mvf_mdev_exists(b.uuid), "");
	CHECK(!mvf_debugfs_exists(b.uuid), "");
	CHECK(mvf_read_long(MVF_TYPE_DIR "/available_instances") == avail, "");
}

/*
 * The remover @child waits for the device to be closed: close it (@device
 * is set to -1) and reap the child, waiting 10 s at most; a child stuck in
 * the kernel cannot be reaped, it is killed and not waited for.  What
 * waitpid() returned, @child once the removal finished, its status in
 * @status.
 */
static pid_t close_and_reap(int *device, pid_t child, int *status)
{
	struct timespec delay = { .tv_nsec = 100 * 1000 * 1000 };
	pid_t done = 0;
	int i;

	close(*device);
	*device = -1;
	for (i = 0; i < 100 && !done; i++) {
		done = waitpid(child, status, WNOHANG);
		if (!done)
			nanosleep(&delay, NULL);
	}
	if (!done)
		kill(child, SIGKILL);
	return done;
}

/*
 * Removing the mdev while a VMM holds it open asks the VMM to let it go,
 * as vfio-pci does (vfio_device_ops.request): the eventfd the VMM set on
 * VFIO_PCI_REQ_IRQ_INDEX fires while the removal waits; QEMU then unplugs
 * the device from its guest and closes it, and the removal completes.  On
 * d073233 the index had no eventfd (SET_IRQS: EINVAL) and a removal
 * waited for a VMM that was never told.
 */
static void test_remove_request(struct vf *vf)
{
	struct vfio_irq_info ii = {
		.argsz = sizeof(ii), .index = VFIO_PCI_REQ_IRQ_INDEX,
	};
	struct pollfd pfd = { .events = POLLIN };
	int efd, status;
	pid_t child, done;
	struct vf b;
	u64 n;

	vf_add(&b, vf);
	CHECK(!ioctl(b.device, VFIO_DEVICE_GET_IRQ_INFO, &ii), "");
	CHECK(ii.count == 1 && ii.flags ==
	      (VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE),
	      "REQ count %u flags 0x%x", ii.count, ii.flags);
	efd = eventfd(0, EFD_NONBLOCK);
	CHECK(efd >= 0, "");
	CHECK(mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 1,
			  12345) == -EBADF, "");
	CHECK(mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 2,
			  efd) == -EINVAL, "");
	CHECK(!mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 1,
			   efd), "SET_IRQS REQ: %s", strerror(errno));
	/* Loopback, as for MSI; not the MSI vector's eventfd. */
	CHECK(!mvf_set_irq(&b, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_BOOL, 1,
			   1), "");
	CHECK(irqs(efd) == 1, "");
	CHECK(!set_msi(&b, VFIO_IRQ_SET_DATA_NONE, 1, 0), "");
	CHECK(irqs(efd) == 0, "MSI signalled the request eventfd");

	child = fork();
	CHECK(child >= 0, "");
	if (!child) {
		/* The child's copies would keep the device open forever. */
		close(b.device);
		close(b.group);
		close(vf->device);
		close(vf->group);
		close(vf->container);
		close(efd);
		_exit(mvf_mdev_remove(b.uuid) ? 1 : 0);
	}

	pfd.fd = efd;
	CHECK(poll(&pfd, 1, 20000) == 1, "no device request within 20 s");
	n = irqs(efd);
	CHECK(n >= 1, "");
	CHECK(waitpid(child, &status, WNOHANG) == 0,
	      "remove did not wait for the open device");
	ksft_print_msg("remove: %llu device request(s) while the VMM held the VF\n",
		       (unsigned long long)n);

	/* The VMM unplugs the device and closes it. */
	done = close_and_reap(&b.device, child, &status);
	CHECK(done == child, "remove still blocked after close");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "remove failed");
	CHECK(!mvf_mdev_exists(b.uuid), "");
	close(efd);
	vf_del(&b);
}

/*
 * Removing the mdev while the device is open waits for the user to close
 * it; the device keeps working meanwhile.
 */
static void test_remove_while_open(struct vf *vf)
{
	struct timespec delay = { .tv_nsec = 100 * 1000 * 1000 };
	int status, i;
	pid_t child, done;

	child = fork();
	CHECK(child >= 0, "");
	if (!child) {
		/* The child's copies would keep the device open forever. */
		close(vf->device);
		close(vf->group);
		close(vf->container);
		_exit(mvf_mdev_remove(vf->uuid) ? 1 : 0);
	}

	for (i = 0; i < 5; i++)
		nanosleep(&delay, NULL);
	CHECK(waitpid(child, &status, WNOHANG) == 0,
	      "remove did not wait for the open device");
	CHECK(mvf_reg_read(vf, KVX_MVF_REG_ID) == KVX_MVF_ID_MAGIC, "");

	done = close_and_reap(&vf->device, child, &status);
	CHECK(done == child, "remove still blocked after close");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "remove failed");
	CHECK(!mvf_mdev_exists(vf->uuid), "");
	CHECK(!mvf_debugfs_exists(vf->uuid), "");
	close(vf->group);
	close(vf->container);
	vf->group = -1;
	vf->container = -1;
}

static const struct {
	const char *name;
	void (*fn)(struct vf *vf);
} tests[] = {
	{ "create", test_create },
	{ "open", test_open },
	{ "region_info", test_region_info },
	{ "region_caps", test_region_caps },
	{ "config_space", test_config_space },
	{ "bar0_ids", test_bar0_ids },
	{ "mbx_reset_done", test_mbx_reset_done },
	{ "mbx_not_cts", test_mbx_not_cts },
	{ "mbx_reset", test_mbx_reset },
	{ "mbx_api", test_mbx_api },
	{ "mbx_get_link", test_mbx_get_link },
	{ "pf_link_msg", test_pf_link_msg },
	{ "mbx_set_mac", test_mbx_set_mac },
	{ "mbx_set_vlan", test_mbx_set_vlan },
	{ "mbx_set_mcast", test_mbx_set_mcast },
	{ "mbx_malformed", test_mbx_malformed },
	{ "mbx_ownership", test_mbx_ownership },
	{ "pf_reset_notice", test_pf_reset_notice },
	{ "doorbell", test_doorbell },
	{ "bad_access", test_bad_access },
	{ "device_reset", test_device_reset },
	{ "mode_trapped", test_mode_trapped },
	{ "mmap_bad", test_mmap_bad },
	{ "direct_mbx", test_direct_mbx },
	{ "mapped_mode_switch", test_mapped_mode_switch },
	{ "mig_precopy_mapped", test_mig_precopy_mapped },
	{ "dma_ring_config", test_dma_ring_config },
	{ "dma_copy_fill", test_dma_copy_fill },
	{ "dma_bad_desc", test_dma_bad_desc },
	{ "dma_halt", test_dma_halt },
	{ "dma_reset", test_dma_reset },
	{ "dma_log_offer", test_dma_log_offer },
	{ "dma_log_report", test_dma_log_report },
	{ "dma_log_bad_report", test_dma_log_bad_report },
	{ "mig_caps", test_mig_caps },
	{ "mig_quiesce", test_mig_quiesce },
	{ "mig_precopy", test_mig_precopy },
	{ "mig_reset_notice", test_mig_reset_notice },
	{ "mig_generation", test_mig_generation },
	{ "mig_bad_streams", test_mig_bad_streams },
	{ "mig_pf_link", test_mig_pf_link },
	{ "mig_quiesced", test_mig_quiesced },
	{ "mig_close", test_mig_close },
	{ "dma_irq", test_dma_irq },
	{ "admin_sysfs", test_admin_sysfs },
	{ "second_vf", test_second_vf },
	{ "remove_request", test_remove_request },
	{ "remove_while_open", test_remove_while_open },
};

/* Leave no VF behind when a test failed half way. */
static void cleanup(struct vf *vf)
{
	mvf_close(vf);
	if (vf->uuid[0] && mvf_mdev_exists(vf->uuid))
		mvf_mdev_remove(vf->uuid);
}

/* Tests up to this one set up the VF; the rest cannot run without them. */
#define NR_SETUP_TESTS	3

int main(void)
{
	static struct vf vf = MVF_VF_INIT;
	static bool setup_failed;
	static unsigned int i;

	ksft_print_header();
	if (!mvf_exists(MVF_PARENT_DIR))
		ksft_exit_skip("%s missing: kvx-mvf not loaded\n", MVF_PARENT_DIR);
	ksft_set_plan(ARRAY_SIZE(tests));

	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (setup_failed) {
			ksft_test_result_skip("%s\n", tests[i].name);
		} else if (sigsetjmp(test_failed, 0) == 0) {
			tests[i].fn(&vf);
			ksft_test_result_pass("%s\n", tests[i].name);
		} else {
			ksft_test_result_fail("%s\n", tests[i].name);
			mbx_unmap(&vf);
			setup_failed = i < NR_SETUP_TESTS;
		}
	}
	cleanup(&vf);
	ksft_finished();
}
