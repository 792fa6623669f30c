// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf VFs for kvx selftests on the KVM selftest library (mvf_util.h):
 * mvf_vfio.c's functions, asserted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvx_mvf.h>
#include <linux/vfio.h>

#include "mvf_util.h"

const char *vf_state(struct vf *vf, const char *key)
{
	static __thread char val[256];
	int ret;

	ret = mvf_state_get(vf, key, val, sizeof(val));
	TEST_ASSERT(!ret || ret == -ENODATA, "%s's debugfs config: %s",
		    vf->uuid, strerror(-ret));
	return val;
}

uint64_t vf_count(struct vf *vf, const char *key)
{
	const char *val = vf_state(vf, key);

	TEST_ASSERT(*val, "no '%s' in the VF's debugfs config", key);
	return strtoull(val, NULL, 0);
}

void vf_set_mode(struct vf *vf, const char *mode)
{
	int ret = mvf_set_mode(vf, mode);

	TEST_ASSERT(!ret, "mode %s: %s", mode, strerror(-ret));
}

void vf_create(struct vf *vf)
{
	int ret;

	ret = mvf_mdev_create(vf, MVF_TYPE);
	TEST_ASSERT(!ret, "create VF: %s", strerror(-ret));
	vf->container = mvf_open_container();
	TEST_ASSERT(vf->container >= 0, "/dev/vfio/vfio: %s",
		    strerror(-vf->container));
	ret = mvf_open_group(vf);
	TEST_ASSERT(!ret, "%s's group: %s", vf->uuid, strerror(-ret));
	ret = mvf_set_container(vf, vf->container);
	TEST_ASSERT(!ret, "SET_CONTAINER: %s", strerror(-ret));
	ret = mvf_set_iommu(vf->container);
	TEST_ASSERT(!ret, "SET_IOMMU: %s (vfio_iommu_type1 loaded?)",
		    strerror(-ret));
	vf->device = -1;
}

void vf_open(struct vf *vf)
{
	int ret;

	ret = mvf_open_device(vf);
	TEST_ASSERT(!ret, "GET_DEVICE_FD: %s", strerror(-ret));
	ret = mvf_find_regions(vf);
	TEST_ASSERT(!ret, "region info: %s", strerror(-ret));
}

bool vf_wait_count(struct vf *vf, const char *key, uint64_t want)
{
	unsigned int i;

	for (i = 0; i < 5000; i++) {
		if (vf_count(vf, key) == want)
			return true;
		usleep(1000);
	}
	return false;
}

void vf_map_mbx(struct vf *vf)
{
	vf->mbx_page = mvf_mmap_bar0(vf, KVX_MVF_MBX_PAGE, getpagesize(),
				     MAP_SHARED);
	TEST_ASSERT(vf->mbx_page != MAP_FAILED, "mailbox mmap: %s",
		    strerror(errno));
}

void vf_destroy(struct vf *vf)
{
	mvf_close(vf);
	mvf_mdev_remove(vf->uuid);
}

int kvm_vfio_create(struct kvm_vm *vm)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

	vm_ioctl(vm, KVM_CREATE_DEVICE, &cd);
	return cd.fd;
}

void kvm_vfio_add(int kvm_vfio, struct vf *vf)
{
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (uint64_t)(unsigned long)&vf->group,
	};

	TEST_ASSERT(!ioctl(kvm_vfio, KVM_SET_DEVICE_ATTR, &attr),
		    "KVM_DEV_VFIO_FILE_ADD: %s", strerror(errno));
}

void kvm_vfio_add_group(struct kvm_vm *vm, struct vf *vf)
{
	kvm_vfio_add(kvm_vfio_create(vm), vf);
}
