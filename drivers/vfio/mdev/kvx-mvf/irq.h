/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the VF's interrupts, eventfds: one MSI vector and the device
 * request (VFIO_PCI_REQ_IRQ_INDEX).
 */
#ifndef KVX_MVF_IRQ_H
#define KVX_MVF_IRQ_H

#include <linux/mutex.h>
#include <linux/types.h>

struct eventfd_ctx;
struct kvx_mvf_vf;
struct vfio_irq_info;

/* Config space offset of the MSI capability (the only capability). */
#define KVX_MVF_MSI_CAP		0x40

struct kvx_mvf_irq {
	/* Protects the eventfds; taken under the DMA engine's lock. */
	struct mutex lock;
	/* The user's eventfd for the MSI vector, or NULL. */
	struct eventfd_ctx *trigger;
	/* The user's eventfd for device requests (removal), or NULL. */
	struct eventfd_ctx *req_trigger;
};

void kvx_mvf_irq_init(struct kvx_mvf_vf *vf);
void kvx_mvf_irq_destroy(struct kvx_mvf_vf *vf);
void kvx_mvf_irq_release(struct kvx_mvf_vf *vf);
void kvx_mvf_irq_info(struct vfio_irq_info *info);
int kvx_mvf_irq_set(struct kvx_mvf_vf *vf, void __user *arg);
void kvx_mvf_irq_signal(struct kvx_mvf_vf *vf);
void kvx_mvf_irq_request(struct kvx_mvf_vf *vf, unsigned int count);

#endif /* KVX_MVF_IRQ_H */
