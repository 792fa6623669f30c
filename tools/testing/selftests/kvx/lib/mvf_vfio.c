// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf VFs through sysfs, debugfs and VFIO (mvf_vfio.h); no KVM.
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

#include "mvf_vfio.h"

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

long mvf_read_long(const char *path)
{
	char buf[64];

	if (mvf_read_file(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

bool mvf_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int mvf_new_uuid(char *uuid)
{
	int ret = mvf_read_file("/proc/sys/kernel/random/uuid", uuid, 40);

	if (ret)
		return ret;
	uuid[36] = '\0';
	return 0;
}

int mvf_mdev_create(struct vf *vf, const char *type)
{
	char path[PATH_MAX];
	int ret;

	ret = mvf_new_uuid(vf->uuid);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), MVF_TYPES_DIR "/%s/create", type);
	return mvf_write_file(path, vf->uuid);
}

int mvf_mdev_remove(const char *uuid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_MDEV_DIR "/%s/remove", uuid);
	return mvf_write_file(path, "1");
}

bool mvf_mdev_exists(const char *uuid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_MDEV_DIR "/%s", uuid);
	return mvf_exists(path);
}

bool mvf_debugfs_exists(const char *uuid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_DEBUGFS_DIR "/%s", uuid);
	return mvf_exists(path);
}

int mvf_attr_write(struct vf *vf, const char *attr, const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_MDEV_DIR "/%s/kvx_mvf/%s", vf->uuid,
		 attr);
	return mvf_write_file(path, val);
}

const char *mvf_attr(struct vf *vf, const char *attr)
{
	static __thread char buf[64];
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_MDEV_DIR "/%s/kvx_mvf/%s", vf->uuid,
		 attr);
	if (mvf_read_file(path, buf, sizeof(buf)))
		return "";
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

int mvf_state_dump(struct vf *vf, char *buf, size_t size)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_DEBUGFS_DIR "/%s/config", vf->uuid);
	return mvf_read_file(path, buf, size);
}

int mvf_state_get(struct vf *vf, const char *key, char *val, size_t size)
{
	char buf[2048], *line, *save;
	size_t klen = strlen(key);
	int ret;

	val[0] = '\0';
	ret = mvf_state_dump(vf, buf, sizeof(buf));
	if (ret)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, key, klen) &&
		    (line[klen] == ' ' || line[klen] == '\0')) {
			snprintf(val, size, "%s",
				 line[klen] ? line + klen + 1 : "");
			return 0;
		}
	}
	return -ENODATA;
}

const char *mvf_state(struct vf *vf, const char *key)
{
	static __thread char val[256];

	mvf_state_get(vf, key, val, sizeof(val));
	return val;
}

static int mvf_debugfs_write(struct vf *vf, const char *file,
			     const char *val)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_DEBUGFS_DIR "/%s/%s", vf->uuid,
		 file);
	return mvf_write_file(path, val);
}

int mvf_event(struct vf *vf, const char *event)
{
	return mvf_debugfs_write(vf, "event", event);
}

int mvf_set_mode(struct vf *vf, const char *mode)
{
	return mvf_debugfs_write(vf, "mode", mode);
}

const char *mvf_mode(struct vf *vf)
{
	static __thread char buf[32];
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MVF_DEBUGFS_DIR "/%s/mode", vf->uuid);
	if (mvf_read_file(path, buf, sizeof(buf)))
		return "";
	return buf;
}

int mvf_set_link(const char *state)
{
	return mvf_write_file(MVF_DEBUGFS_DIR "/link", state);
}

int mvf_open_container(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR);

	return fd < 0 ? -errno : fd;
}

int mvf_open_group(struct vf *vf)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), MVF_MDEV_DIR "/%s/iommu_group", vf->uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return n ? -errno : -ENOENT;
	link[n] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	vf->group = open(path, O_RDWR);
	return vf->group < 0 ? -errno : 0;
}

int mvf_set_container(struct vf *vf, int container)
{
	return ioctl(vf->group, VFIO_GROUP_SET_CONTAINER, &container) ?
	       -errno : 0;
}

int mvf_set_iommu(int container)
{
	return ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) ? -errno : 0;
}

int mvf_open_device(struct vf *vf)
{
	vf->device = ioctl(vf->group, VFIO_GROUP_GET_DEVICE_FD, vf->uuid);
	return vf->device < 0 ? -errno : 0;
}

int mvf_region_info(struct vf *vf, uint32_t index, uint64_t *offset, uint64_t *size)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(vf->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	if (offset)
		*offset = ri.offset;
	if (size)
		*size = ri.size;
	return 0;
}

int mvf_find_regions(struct vf *vf)
{
	return mvf_region_info(vf, VFIO_PCI_CONFIG_REGION_INDEX, &vf->cfg_off,
			       NULL) ?:
	       mvf_region_info(vf, VFIO_PCI_BAR0_REGION_INDEX, &vf->bar0_off,
			       NULL);
}

int mvf_open_in(struct vf *vf, int container)
{
	return mvf_open_group(vf) ?: mvf_set_container(vf, container) ?:
	       mvf_open_device(vf) ?: mvf_find_regions(vf);
}

void mvf_close(struct vf *vf)
{
	if (vf->mbx_page)
		munmap(vf->mbx_page, KVX_MVF_PAGE_SIZE);
	vf->mbx_page = NULL;
	if (vf->device >= 0)
		close(vf->device);
	if (vf->group >= 0)
		close(vf->group);
	if (vf->container >= 0)
		close(vf->container);
	vf->device = -1;
	vf->group = -1;
	vf->container = -1;
}

ssize_t mvf_region_read(struct vf *vf, uint64_t pos, void *buf, size_t n)
{
	ssize_t ret = pread(vf->device, buf, n, pos);

	return ret < 0 ? -errno : ret;
}

ssize_t mvf_region_write(struct vf *vf, uint64_t pos, const void *buf, size_t n)
{
	ssize_t ret = pwrite(vf->device, buf, n, pos);

	return ret < 0 ? -errno : ret;
}

/* 32 bits at @off of the region at @base (@what): 0xdeadbeef if it fails. */
static uint32_t region_read32(struct vf *vf, uint64_t base, unsigned int off,
			      const char *what)
{
	uint32_t val = 0xdeadbeef;

	if (mvf_region_read(vf, base + off, &val, 4) != 4)
		printf("# %s read at 0x%x failed\n", what, off);
	return val;
}

uint32_t mvf_reg_read(struct vf *vf, unsigned int off)
{
	return region_read32(vf, vf->bar0_off, off, "BAR0");
}

int mvf_reg_write(struct vf *vf, unsigned int off, uint32_t val)
{
	if (mvf_region_write(vf, vf->bar0_off + off, &val, 4) == 4)
		return 0;
	printf("# BAR0 write at 0x%x failed\n", off);
	return -EIO;
}

uint32_t mvf_cfg_read32(struct vf *vf, unsigned int off)
{
	return region_read32(vf, vf->cfg_off, off, "config");
}

int mvf_cfg_write32(struct vf *vf, unsigned int off, uint32_t val)
{
	return mvf_region_write(vf, vf->cfg_off + off, &val, 4) == 4 ? 0 :
	       -EIO;
}

void *mvf_mmap_bar0(struct vf *vf, uint64_t off, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, vf->device,
		    vf->bar0_off + off);
}

int mvf_feature(struct vf *vf, uint32_t flags, void *data, size_t size)
{
	uint64_t buf[(sizeof(struct vfio_device_feature) + 256) / 8];
	struct vfio_device_feature *f = (void *)buf;

	if (size > 256)
		return -E2BIG;
	f->argsz = sizeof(*f) + size;
	f->flags = flags;
	if (size)
		memcpy(f->data, data, size);
	if (ioctl(vf->device, VFIO_DEVICE_FEATURE, f))
		return -errno;
	if (size)
		memcpy(data, f->data, size);
	return 0;
}

int mvf_mig_set(struct vf *vf, uint32_t state, int *data_fd)
{
	struct vfio_device_feature_mig_state ms = {
		.device_state = state, .data_fd = -1,
	};
	int ret;

	ret = mvf_feature(vf, VFIO_DEVICE_FEATURE_SET |
			  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));
	if (data_fd)
		*data_fd = ret ? -1 : ms.data_fd;
	else if (!ret && ms.data_fd >= 0)
		close(ms.data_fd);
	return ret;
}

int mvf_mig_get(struct vf *vf, uint32_t *state)
{
	struct vfio_device_feature_mig_state ms = {};
	int ret;

	ret = mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
			  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &ms, sizeof(ms));
	*state = ret ? ~0u : ms.device_state;
	return ret;
}

int mvf_set_irq(struct vf *vf, uint32_t index, uint32_t data_type, uint32_t count,
		int32_t data)
{
	uint64_t buf[(sizeof(struct vfio_irq_set) + 8) / 8] = {};
	struct vfio_irq_set *s = (void *)buf;

	s->argsz = sizeof(*s) + (data_type == VFIO_IRQ_SET_DATA_EVENTFD ? 4 :
				 data_type == VFIO_IRQ_SET_DATA_BOOL ? 1 : 0);
	s->flags = data_type | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = index;
	s->count = count;
	memcpy(s->data, &data, 4);
	return ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s) ? -errno : 0;
}

int mvf_eventfd_read(int efd, uint64_t *count)
{
	*count = 0;
	if (read(efd, count, sizeof(*count)) == sizeof(*count))
		return 0;
	return errno == EAGAIN ? 0 : -errno;
}
