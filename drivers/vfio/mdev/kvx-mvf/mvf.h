/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: core objects shared by the files of the driver.
 *
 * A PF is an mdev parent; each mdev instance is a VF, a VFIO PCI device.
 * Lock order: kvx_mvf_pf.lock before kvx_mvf_mig.state_mutex (a link change
 * tells every VF) and before kvx_mvf_vf.lock; kvx_mvf_mig.state_mutex
 * before a migration file's lock before kvx_mvf_dma.lock before the
 * mmap_lock (the engine touches user memory) before kvx_mvf_vf.lock;
 * kvx_mvf_irq.lock is a leaf, taken under the DMA engine's lock.  KVM's
 * write-track notifier takes kvx_mvf_vf.lock (ktrap.c) under KVM's
 * slots_lock, so kvx write tracing, which takes slots_lock, is never
 * called under kvx_mvf_vf.lock (wtrace.c).
 */
#ifndef KVX_MVF_H
#define KVX_MVF_H

#include <linux/device.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mdev.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "dma.h"
#include "irq.h"
#include "ktrap.h"
#include "mbx.h"
#include "migration.h"
#include "pf.h"
#include "wtrace.h"

#define KVX_MVF_NAME		"kvx-mvf"
#define KVX_MVF_MAX_VFS		8

/* Region file offsets carry the region index in bits 63:40, as vfio-pci. */
#define KVX_MVF_OFFSET_SHIFT		40
#define KVX_MVF_INDEX_TO_OFFSET(index)	((u64)(index) << KVX_MVF_OFFSET_SHIFT)
#define KVX_MVF_OFFSET_MASK		(KVX_MVF_INDEX_TO_OFFSET(1) - 1)
/* The one mmap-able range: the mailbox page of BAR0. */
#define KVX_MVF_MBX_MMAP_OFFSET		\
	(KVX_MVF_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX) + KVX_MVF_MBX_PAGE)

struct dentry;

/*
 * An mdev type of the PF: kvx-mvf-vf (@generation 0: the module parameter
 * "generation"), and one per compatibility generation, kvx-mvf-vf-g<N>,
 * whose VFs all look alike to a guest whichever PF creates them.
 */
struct kvx_mvf_vf_type {
	struct mdev_type type;
	unsigned int generation;
};

#define KVX_MVF_NR_TYPES	(1 + KVX_MVF_DEVICE_GENERATION_MAX)

static inline unsigned int kvx_mvf_type_generation(struct mdev_type *type)
{
	return container_of(type, struct kvx_mvf_vf_type, type)->generation;
}

struct kvx_mvf_pf {
	struct device dev;
	struct mdev_parent parent;
	struct kvx_mvf_vf_type vf_types[KVX_MVF_NR_TYPES];
	struct mdev_type *types[KVX_MVF_NR_TYPES];
	struct dentry *debugfs;
	/* Protects vfs; vf_ida locks itself. */
	struct mutex lock;
	struct list_head vfs;
	struct ida vf_ida;
	struct kvx_mvf_link link;
};

/* The doorbell/status block of BAR0 page 0. */
struct kvx_mvf_doorbell {
	u32 count;
	u32 last;
};

struct kvx_mvf_vf {
	struct vfio_device vdev;
	struct kvx_mvf_pf *pf;
	/* Index within the PF, used for the default MAC. */
	unsigned int index;
	/* Device generation, fixed at creation. */
	unsigned int generation;
	/* On pf->vfs, under pf->lock. */
	struct list_head pf_node;
	struct dentry *debugfs;

	/* Polls the mailbox page while DIRECT and open (direct.c). */
	struct delayed_work poll_work;
	/* The DMA engine, under its own lock (dma.h). */
	struct kvx_mvf_dma dma;
	/* The MSI vector's eventfd (irq.h). */
	struct kvx_mvf_irq irq;
	/* Migration v2, under its own lock, taken first (migration.h). */
	struct kvx_mvf_mig mig;

	/*
	 * Protects everything below: one VF, one lock.  Taken under the
	 * mmap_lock by the mailbox page's fault handler, so nothing may touch
	 * user memory while holding it.
	 */
	struct mutex lock;
	/* Between open_device and close_device. */
	bool open;
	u8 config[PCI_CFG_SPACE_SIZE];
	struct kvx_mvf_doorbell doorbell;
	struct kvx_mvf_mbx mbx;
	struct kvx_mvf_vf_config cfg;
	/* TRAPPED through KVM write tracking (ktrap.h). */
	struct kvx_mvf_ktrap ktrap;
	/* DIRECT noticed through kvx write tracing (wtrace.h). */
	struct kvx_mvf_wtrace wtrace;
};

static inline struct kvx_mvf_vf *vdev_to_vf(struct vfio_device *vdev)
{
	return container_of(vdev, struct kvx_mvf_vf, vdev);
}

#endif /* KVX_MVF_H */
