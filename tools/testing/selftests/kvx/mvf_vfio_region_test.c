// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_vfio_region_test: the VF as a VMM finds it: mdev creation, the container,
 * group and device, region and IRQ info, config space, BAR0's identity.
 *
 * See mvf_vfio_test.h.
 */
#include "mvf_vfio_test.h"

TEST_F_TIMEOUT(vfio, create, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	long avail = mvf_shared->avail_before;
	char buf[64];

	ASSERT_NE(0, mvf_exists(MVF_PARENT_DIR)) {
		TH_LOG("kvx-mvf not loaded?");
	}
	ASSERT_EQ(mvf_read_file(MVF_TYPE_DIR "/device_api", buf, sizeof(buf)),
		  0);
	ASSERT_STREQ(buf, VFIO_DEVICE_API_PCI_STRING "\n") {
		TH_LOG("api %s", buf);
	}
	ASSERT_GT(avail, 0) {
		TH_LOG("available %ld", avail);
	}

	/* mvf_vf_setup() created the VF. */
	ASSERT_EQ(mvf_shared->create_ret, 0);
	ASSERT_NE(0, mvf_mdev_exists(vf->uuid)) {
		TH_LOG("%s", vf->uuid);
	}
	ASSERT_EQ(mvf_shared->avail_after, avail - 1);
	ASSERT_EQ(mvf_read_long(MVF_TYPE_DIR "/available_instances"),
		  avail - 1);
	ASSERT_STRNE("", mvf_state(vf, "mac")) {
		TH_LOG("no debugfs view for %s", vf->uuid);
	}
	/* The same UUID twice is refused. */
	ASSERT_EQ(mvf_write_file(MVF_TYPE_DIR "/create", vf->uuid), -EEXIST);
}

TEST_F_TIMEOUT(vfio, open, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info info = { .argsz = sizeof(info) };

	/* mvf_vf_setup() opened the VF; each step's result. */
	ASSERT_EQ(0, mvf_shared->container_ret) {
		TH_LOG("%s", strerror(-mvf_shared->container_ret));
	}
	ASSERT_GE(vf->container, 0);
	ASSERT_EQ(ioctl(vf->container, VFIO_GET_API_VERSION), VFIO_API_VERSION);
	ASSERT_EQ(ioctl(vf->container, VFIO_CHECK_EXTENSION,
			VFIO_TYPE1v2_IOMMU), 1) {
		TH_LOG("vfio_iommu_type1 not loaded?");
	}

	ASSERT_EQ(0, mvf_shared->group_ret) {
		TH_LOG("%s's group: %s", vf->uuid,
		       strerror(-mvf_shared->group_ret));
	}
	ASSERT_EQ(0, ioctl(vf->group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_NE(0, status.flags & VFIO_GROUP_FLAGS_VIABLE) {
		TH_LOG("flags %x", status.flags);
	}
	ASSERT_EQ(0, mvf_shared->set_container_ret) {
		TH_LOG("%s", strerror(-mvf_shared->set_container_ret));
	}
	/* Type1 v2, as QEMU: v1 has no dirty tracking (EACCES). */
	ASSERT_EQ(0, mvf_shared->set_iommu_ret) {
		TH_LOG("%s", strerror(-mvf_shared->set_iommu_ret));
	}
	ASSERT_EQ(0, mvf_shared->device_ret) {
		TH_LOG("%s", strerror(-mvf_shared->device_ret));
	}

	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_GET_INFO, &info));
	ASSERT_NE(0, info.flags & VFIO_DEVICE_FLAGS_PCI) {
		TH_LOG("flags %x", info.flags);
	}
	ASSERT_NE(0, info.flags & VFIO_DEVICE_FLAGS_RESET) {
		TH_LOG("flags %x", info.flags);
	}
	ASSERT_EQ(info.num_regions, VFIO_PCI_NUM_REGIONS) {
		TH_LOG("%u", info.num_regions);
	}
	ASSERT_EQ(info.num_irqs, VFIO_PCI_NUM_IRQS) {
		TH_LOG("%u", info.num_irqs);
	}
	info.argsz = 4;
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_GET_INFO, &info), -1) {
		TH_LOG("short argsz accepted");
	}
	ASSERT_EQ(errno, EINVAL) {
		TH_LOG("short argsz accepted");
	}
}

TEST_F_TIMEOUT(vfio, region_info, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_irq_info ii = { .argsz = sizeof(ii) };
	const u32 rw = VFIO_REGION_INFO_FLAG_READ |
			    VFIO_REGION_INFO_FLAG_WRITE;
	unsigned int i;

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri));
	ASSERT_EQ(ri.size, PCI_CFG_SPACE_SIZE) {
		TH_LOG("size %llu flags %x", (unsigned long long)ri.size,
		       ri.flags);
	}
	ASSERT_EQ(ri.flags, rw) {
		TH_LOG("size %llu flags %x", (unsigned long long)ri.size,
		       ri.flags);
	}
	/* Where mvf_vf_setup() found it. */
	ASSERT_EQ(vf->cfg_off, ri.offset);

	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri));
	ASSERT_EQ(ri.size, KVX_MVF_BAR0_SIZE) {
		TH_LOG("size %llu flags %x", (unsigned long long)ri.size,
		       ri.flags);
	}
	ASSERT_EQ(ri.flags,
		  (rw | VFIO_REGION_INFO_FLAG_MMAP |
		   VFIO_REGION_INFO_FLAG_CAPS)) {
		TH_LOG("size %llu flags %x", (unsigned long long)ri.size,
		       ri.flags);
	}
	/* argsz without room for the capabilities: told how much to pass. */
	ASSERT_GT(ri.argsz, sizeof(ri)) {
		TH_LOG("argsz %u cap %u", ri.argsz, ri.cap_offset);
	}
	ASSERT_EQ(ri.cap_offset, 0) {
		TH_LOG("argsz %u cap %u", ri.argsz, ri.cap_offset);
	}
	ASSERT_EQ(vf->bar0_off, ri.offset);
	ri.argsz = sizeof(ri);

	for (i = VFIO_PCI_BAR1_REGION_INDEX; i < VFIO_PCI_NUM_REGIONS; i++) {
		if (i == VFIO_PCI_CONFIG_REGION_INDEX)
			continue;
		ri.index = i;
		ASSERT_EQ(0,
			  ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri));
		ASSERT_EQ(ri.size, 0) {
			TH_LOG("region %u size %llu", i,
			       (unsigned long long)ri.size);
		}
	}
	ri.index = VFIO_PCI_NUM_REGIONS;
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri), -1);
	ASSERT_EQ(errno, EINVAL);
	ri.index = 0;
	ri.argsz = 8;
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri), -1);
	ASSERT_EQ(errno, EINVAL);

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		ii.index = i;
		ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_GET_IRQ_INFO, &ii));
		if (i == VFIO_PCI_MSI_IRQ_INDEX) {
			ASSERT_EQ(ii.count, 1) {
				TH_LOG("MSI count %u flags 0x%x", ii.count,
				       ii.flags);
			}
			ASSERT_EQ(ii.flags, (VFIO_IRQ_INFO_EVENTFD |
					     VFIO_IRQ_INFO_NORESIZE)) {
				TH_LOG("MSI count %u flags 0x%x", ii.count,
				       ii.flags);
			}
		} else if (i != VFIO_PCI_REQ_IRQ_INDEX) {
			/* the REQ index: remove_request */
			ASSERT_EQ(ii.count, 0) {
				TH_LOG("irq %u count %u", i, ii.count);
			}
		}
	}
	ii.index = VFIO_PCI_NUM_IRQS;
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_GET_IRQ_INFO, &ii), -1);
	ASSERT_EQ(errno, EINVAL);
}

/* BAR0's sparse mmap capability lists the mailbox page and nothing else. */
TEST_F_TIMEOUT(vfio, region_caps, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	union {
		struct vfio_region_info ri;
		u8 buf[512];
	} u = { .ri = { .argsz = sizeof(u.ri),
			.index = VFIO_PCI_BAR0_REGION_INDEX } };
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_info_cap_header *hdr;

	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &u.ri));
	ASSERT_LE(u.ri.argsz, sizeof(u.buf)) {
		TH_LOG("argsz %u", u.ri.argsz);
	}
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &u.ri));
	ASSERT_GE(u.ri.cap_offset, sizeof(u.ri)) {
		TH_LOG("cap_offset %u argsz %u", u.ri.cap_offset, u.ri.argsz);
	}
	ASSERT_LE(u.ri.cap_offset + sizeof(*sparse) + sizeof(sparse->areas[0]),
		  u.ri.argsz) {
		TH_LOG("cap_offset %u argsz %u", u.ri.cap_offset, u.ri.argsz);
	}
	hdr = (void *)(u.buf + u.ri.cap_offset);
	ASSERT_EQ(hdr->id, VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
		TH_LOG("id %u version %u", hdr->id, hdr->version);
	}
	ASSERT_EQ(hdr->version, 1) {
		TH_LOG("id %u version %u", hdr->id, hdr->version);
	}
	ASSERT_EQ(hdr->next, 0) {
		TH_LOG("more capabilities: next %u", hdr->next);
	}
	sparse = (void *)hdr;
	ASSERT_EQ(sparse->nr_areas, 1) {
		TH_LOG("%u areas", sparse->nr_areas);
	}
	ASSERT_EQ(sparse->areas[0].offset, KVX_MVF_MBX_PAGE) {
		TH_LOG("area 0x%llx+0x%llx",
		       (unsigned long long)sparse->areas[0].offset,
		       (unsigned long long)sparse->areas[0].size);
	}
	ASSERT_EQ(sparse->areas[0].size, KVX_MVF_PAGE_SIZE) {
		TH_LOG("area 0x%llx+0x%llx",
		       (unsigned long long)sparse->areas[0].offset,
		       (unsigned long long)sparse->areas[0].size);
	}

	/* The other regions have no capabilities. */
	u.ri.argsz = sizeof(u.ri);
	u.ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &u.ri));
	ASSERT_EQ(0,
		  u.ri.flags &
		  (VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS)) {
		TH_LOG("flags %x", u.ri.flags);
	}
	ASSERT_EQ(u.ri.cap_offset, 0) {
		TH_LOG("flags %x", u.ri.flags);
	}
}

TEST_F_TIMEOUT(vfio, config_space, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u8 cfg[PCI_CFG_SPACE_SIZE];
	u32 bar, size;

	ASSERT_EQ(mvf_region_read(vf, vf->cfg_off, cfg, sizeof(cfg)),
		  sizeof(cfg));
	ASSERT_EQ((cfg[0] | cfg[1] << 8), KVX_MVF_PCI_VENDOR_ID);
	ASSERT_EQ((cfg[2] | cfg[3] << 8), KVX_MVF_PCI_DEVICE_ID);
	ASSERT_EQ(cfg[PCI_REVISION_ID], KVX_MVF_PCI_REVISION);
	ASSERT_EQ(cfg[PCI_CLASS_PROG] | cfg[PCI_CLASS_DEVICE] << 8 |
		  cfg[PCI_CLASS_DEVICE + 1] << 16, KVX_MVF_PCI_CLASS);
	ASSERT_EQ(cfg[PCI_HEADER_TYPE], PCI_HEADER_TYPE_NORMAL);
	/* One capability: MSI, one vector, 64-bit. */
	ASSERT_NE(0, cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	ASSERT_EQ(cfg[PCI_CAPABILITY_LIST], 0x40) {
		TH_LOG("0x%x", cfg[PCI_CAPABILITY_LIST]);
	}
	ASSERT_EQ(cfg[0x40 + PCI_CAP_LIST_ID], PCI_CAP_ID_MSI);
	ASSERT_EQ(cfg[0x40 + PCI_CAP_LIST_NEXT], 0);
	ASSERT_EQ((cfg[0x40 + PCI_MSI_FLAGS] | cfg[0x41 + PCI_MSI_FLAGS] << 8),
		  PCI_MSI_FLAGS_64BIT);
	ASSERT_EQ(0,
		  mvf_cfg_write32(vf, 0x40 + PCI_MSI_ADDRESS_LO, 0xfee00003));
	ASSERT_EQ(mvf_cfg_read32(vf, 0x40 + PCI_MSI_ADDRESS_LO), 0xfee00000);
	ASSERT_EQ(0, mvf_cfg_write32(vf, 0x40 + PCI_MSI_DATA_64, 0xffff4041));
	ASSERT_EQ(mvf_cfg_read32(vf, 0x40 + PCI_MSI_DATA_64), 0x4041);
	ASSERT_EQ(0, mvf_cfg_write32(vf, 0x40, 0xffffffff));
	ASSERT_EQ(mvf_cfg_read32(vf, 0x40),
		  ((PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE) << 16 |
		   PCI_CAP_ID_MSI)) {
		TH_LOG("0x%x", mvf_cfg_read32(vf, 0x40));
	}

	/* BAR sizing, as firmware does it. */
	ASSERT_EQ(0, mvf_cfg_write32(vf, PCI_BASE_ADDRESS_0, 0xffffffff));
	bar = mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0);
	size = ~(bar & PCI_BASE_ADDRESS_MEM_MASK) + 1;
	ASSERT_EQ(size, KVX_MVF_BAR0_SIZE) {
		TH_LOG("bar 0x%08x", bar);
	}
	ASSERT_EQ((bar & ~PCI_BASE_ADDRESS_MEM_MASK),
		  (PCI_BASE_ADDRESS_SPACE_MEMORY |
		   PCI_BASE_ADDRESS_MEM_TYPE_32)) {
		TH_LOG("bar 0x%08x", bar);
	}
	ASSERT_EQ(0, mvf_cfg_write32(vf, PCI_BASE_ADDRESS_0, 0xfebf0000));
	ASSERT_EQ(mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0), 0xfebf0000);
	ASSERT_EQ(0, mvf_cfg_write32(vf, PCI_BASE_ADDRESS_1, 0xffffffff));
	ASSERT_EQ(mvf_cfg_read32(vf, PCI_BASE_ADDRESS_1), 0) {
		TH_LOG("BAR1 implemented?");
	}

	/* Read-only fields stay, writable ones take. */
	ASSERT_EQ(0, mvf_cfg_write32(vf, PCI_VENDOR_ID, 0x12345678));
	ASSERT_EQ(mvf_cfg_read32(vf, PCI_VENDOR_ID),
		  (KVX_MVF_PCI_VENDOR_ID | KVX_MVF_PCI_DEVICE_ID << 16));
	ASSERT_EQ(0, mvf_cfg_write32(vf, PCI_COMMAND, 0xffff));
	ASSERT_EQ((mvf_cfg_read32(vf, PCI_COMMAND) & 0xffff),
		  (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		   PCI_COMMAND_INTX_DISABLE)) {
		TH_LOG("0x%x", mvf_cfg_read32(vf, PCI_COMMAND));
	}
}

TEST_F_TIMEOUT(vfio, bar0_ids, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 status;

	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_ID), KVX_MVF_ID_MAGIC);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_VERSION),
		  (KVX_MVF_ABI_VERSION << KVX_MVF_VERSION_ABI_SHIFT |
		   KVX_MVF_DEVICE_GENERATION));
	status = mvf_reg_read(vf, KVX_MVF_REG_STATUS);
	ASSERT_EQ(status, KVX_MVF_STATUS_LINK_UP) {
		TH_LOG("status 0x%x", status);
	}
	/* Reserved space reads as zero. */
	ASSERT_EQ(mvf_reg_read(vf, 0x800), 0);
	ASSERT_EQ(mvf_reg_read(vf, 0x3000), 0);
}

MVF_HARNESS_MAIN
