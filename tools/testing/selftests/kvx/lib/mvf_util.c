// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf VFs for kvx selftests (mvf_util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvx_mvf.h>
#include <linux/vfio.h>

#include "mvf_util.h"

int mvf_write_file(const char *path, const char *val)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : 0;
}

int mvf_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return 0;
}

const char *vf_state(struct vf *vf, const char *key)
{
	static __thread char val[128];
	char path[PATH_MAX], buf[2048], *line, *save;
	size_t klen = strlen(key);

	val[0] = '\0';
	snprintf(path, sizeof(path), MVF_DEBUGFS_DIR "/%s/config", vf->uuid);
	TEST_ASSERT(!mvf_read_file(path, buf, sizeof(buf)), "%s unreadable",
		    path);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			snprintf(val, sizeof(val), "%s", line + klen + 1);
			break;
		}
	}
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
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), MVF_DEBUGFS_DIR "/%s/mode", vf->uuid);
	ret = mvf_write_file(path, mode);
	TEST_ASSERT(!ret, "mode %s: %s", mode, strerror(-ret));
}

void vf_create(struct vf *vf)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	TEST_ASSERT(!mvf_read_file("/proc/sys/kernel/random/uuid", vf->uuid,
				   sizeof(vf->uuid)), "no uuid");
	vf->uuid[36] = '\0';
	TEST_ASSERT(!mvf_write_file(MVF_TYPE_DIR "/create", vf->uuid),
		    "create VF");

	snprintf(path, sizeof(path), MVF_MDEV_DIR "/%s/iommu_group", vf->uuid);
	n = readlink(path, link, sizeof(link) - 1);
	TEST_ASSERT(n > 0, "%s: %s", path, strerror(errno));
	link[n] = '\0';

	vf->container = open("/dev/vfio/vfio", O_RDWR);
	TEST_ASSERT(vf->container >= 0, "/dev/vfio/vfio: %s", strerror(errno));
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	vf->group = open(path, O_RDWR);
	TEST_ASSERT(vf->group >= 0, "%s: %s", path, strerror(errno));
	TEST_ASSERT(!ioctl(vf->group, VFIO_GROUP_SET_CONTAINER, &vf->container),
		    "SET_CONTAINER: %s", strerror(errno));
	/* Type1 v2, as QEMU: v1 has no dirty tracking. */
	TEST_ASSERT(!ioctl(vf->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU),
		    "SET_IOMMU: %s (vfio_iommu_type1 loaded?)", strerror(errno));
	vf->device = -1;
}

void vf_open(struct vf *vf)
{
	struct vfio_region_info ri = {
		.argsz = sizeof(ri),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};

	vf->device = ioctl(vf->group, VFIO_GROUP_GET_DEVICE_FD, vf->uuid);
	TEST_ASSERT(vf->device >= 0, "GET_DEVICE_FD: %s", strerror(errno));
	TEST_ASSERT(!ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri),
		    "BAR0 info: %s", strerror(errno));
	vf->bar0_off = ri.offset;
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
	vf->mbx_page = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
			    MAP_SHARED, vf->device,
			    vf->bar0_off + KVX_MVF_MBX_PAGE);
	TEST_ASSERT(vf->mbx_page != MAP_FAILED, "mailbox mmap: %s",
		    strerror(errno));
}

void vf_destroy(struct vf *vf)
{
	char path[PATH_MAX];

	if (vf->mbx_page)
		munmap(vf->mbx_page, getpagesize());
	close(vf->device);
	close(vf->group);
	close(vf->container);
	snprintf(path, sizeof(path), MVF_MDEV_DIR "/%s/remove", vf->uuid);
	mvf_write_file(path, "1");
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
