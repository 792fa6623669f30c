/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf VFs through sysfs, debugfs and VFIO, for kvx selftests; no KVM
 * (mvf_util.h adds the KVM side).  Functions return 0 or a negative errno
 * and assert nothing: the caller checks, with its own harness.
 */
#ifndef SELFTEST_MVF_VFIO_H
#define SELFTEST_MVF_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#define MVF_PF_NAME	"kvx-mvf-pf0"
#define MVF_PARENT_DIR	"/sys/class/mdev_bus/" MVF_PF_NAME
#define MVF_TYPES_DIR	MVF_PARENT_DIR "/mdev_supported_types"
#define MVF_TYPE	"kvx-mvf-vf"
#define MVF_TYPE_DIR	MVF_TYPES_DIR "/" MVF_TYPE
#define MVF_MDEV_DIR	"/sys/bus/mdev/devices"
#define MVF_DEBUGFS_DIR	"/sys/kernel/debug/kvx-mvf/" MVF_PF_NAME

struct vf {
	const char *name;	/* for messages, or NULL */
	char uuid[40];
	int container;
	int group;
	int device;
	uint64_t cfg_off;		/* config space's offset in the device file */
	uint64_t bar0_off;		/* BAR0's offset in the device file */
	void *mbx_page;		/* the mailbox page's mapping, or NULL */
	uint8_t *mem;		/* memory mapped for DMA, or NULL */
};

/* A VF with nothing open. */
#define MVF_VF_INIT	{ .container = -1, .group = -1, .device = -1 }

/* sysfs and debugfs files */
int mvf_write_file(const char *path, const char *val);
int mvf_read_file(const char *path, char *buf, size_t size);
/* The number in @path, or -1 if it cannot be read. */
long mvf_read_long(const char *path);
bool mvf_exists(const char *path);
/* A fresh UUID in @uuid (40 bytes). */
int mvf_new_uuid(char *uuid);

/* mdev life cycle: a new VF of @type (MVF_TYPE, ...) with a new UUID. */
int mvf_mdev_create(struct vf *vf, const char *type);
int mvf_mdev_remove(const char *uuid);
/* Whether the mdev and the PF's debugfs view of it exist. */
bool mvf_mdev_exists(const char *uuid);
bool mvf_debugfs_exists(const char *uuid);

/* <mdev>/kvx_mvf/@attr, the operator's interface; "" if unreadable. */
int mvf_attr_write(struct vf *vf, const char *attr, const char *val);
const char *mvf_attr(struct vf *vf, const char *attr);

/*
 * The PF's view (debugfs <uuid>/config): "key value" lines.  The value of
 * @key in @buf; -ENODATA if the file has no @key, the -errno of reading
 * it (-ENOENT: no such file) otherwise; @buf is "" then.
 */
int mvf_state_get(struct vf *vf, const char *key, char *buf, size_t size);
/* The value of @key, "" if absent or unreadable (thread-local buffer). */
const char *mvf_state(struct vf *vf, const char *key);
/* The whole view in @buf. */
int mvf_state_dump(struct vf *vf, char *buf, size_t size);
/* debugfs <uuid>/event ("reset"), <uuid>/mode, the PF's link. */
int mvf_event(struct vf *vf, const char *event);
int mvf_set_mode(struct vf *vf, const char *mode);
/* "trapped\n" or "direct\n", "" if unreadable. */
const char *mvf_mode(struct vf *vf);
int mvf_set_link(const char *state);

/*
 * VFIO: a type1 container; the VF's group (found through sysfs); the
 * group in a container; the IOMMU model (type1 v2, as QEMU: v1 has no
 * dirty tracking); the device; the config and BAR0 regions' offsets.
 */
int mvf_open_container(void);
int mvf_open_group(struct vf *vf);
int mvf_set_container(struct vf *vf, int container);
int mvf_set_iommu(int container);
int mvf_open_device(struct vf *vf);
int mvf_region_info(struct vf *vf, uint32_t index, uint64_t *offset, uint64_t *size);
int mvf_find_regions(struct vf *vf);
/* Group in @container (which has its IOMMU set), device, regions. */
int mvf_open_in(struct vf *vf, int container);
/* Unmap the mailbox page, close what is open (-1 after). */
void mvf_close(struct vf *vf);

/* Region accesses: bytes done or -errno. */
ssize_t mvf_region_read(struct vf *vf, uint64_t pos, void *buf, size_t n);
ssize_t mvf_region_write(struct vf *vf, uint64_t pos, const void *buf, size_t n);
/* 32-bit BAR0 and config accesses; a failed read is 0xdeadbeef. */
uint32_t mvf_reg_read(struct vf *vf, unsigned int off);
int mvf_reg_write(struct vf *vf, unsigned int off, uint32_t val);
uint32_t mvf_cfg_read32(struct vf *vf, unsigned int off);
int mvf_cfg_write32(struct vf *vf, unsigned int off, uint32_t val);
/* BAR0's mailbox page, mapped (MAP_SHARED); MAP_FAILED on error. */
void *mvf_mmap_bar0(struct vf *vf, uint64_t off, size_t len, int flags);

/* VFIO_DEVICE_FEATURE with @size bytes of data (at most 256). */
int mvf_feature(struct vf *vf, uint32_t flags, void *data, size_t size);
/* Migration: set the state (the data_fd in @data_fd, or closed). */
int mvf_mig_set(struct vf *vf, uint32_t state, int *data_fd);
int mvf_mig_get(struct vf *vf, uint32_t *state);

/* VFIO_DEVICE_SET_IRQS ACTION_TRIGGER of @index with @data_type. */
int mvf_set_irq(struct vf *vf, uint32_t index, uint32_t data_type, uint32_t count,
		int32_t data);
/* An eventfd's counter (read and reset), 0 if not signalled. */
int mvf_eventfd_read(int efd, uint64_t *count);

#endif /* SELFTEST_MVF_VFIO_H */
