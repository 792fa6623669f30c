// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the VF's interrupts.
 *
 * The VF has one MSI vector (config space carries the MSI capability, which
 * a VMM such as QEMU's vfio-pci virtualises) and no INTx or MSI-X.  The DMA
 * engine raises it when a doorbell completed descriptors and DMA_CTRL.IRQ
 * is set (dma.c).  The VMM attaches an eventfd with VFIO_DEVICE_SET_IRQS,
 * VFIO_PCI_MSI_IRQ_INDEX, ACTION_TRIGGER: DATA_EVENTFD attaches (fd -1
 * detaches), DATA_NONE with count 0 detaches, DATA_NONE with count 1 and
 * DATA_BOOL true fire the vector as a test.  Closing the device detaches.
 *
 * The device request index (VFIO_PCI_REQ_IRQ_INDEX) takes an eventfd the
 * same way, as vfio-pci's does: removing the mdev while a user holds it
 * open signals it (kvx_mvf_irq_request(), the vfio_device_ops' .request),
 * at once and again every 10 s until the user closes the device.  QEMU
 * then unplugs the device from its guest and closes it.
 */

#include <linux/eventfd.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "irq.h"
#include "mvf.h"

void kvx_mvf_irq_init(struct kvx_mvf_vf *vf)
{
	mutex_init(&vf->irq.lock);
	vf->irq.trigger = NULL;
	vf->irq.req_trigger = NULL;
}

void kvx_mvf_irq_destroy(struct kvx_mvf_vf *vf)
{
	mutex_destroy(&vf->irq.lock);
}

/* Where the eventfd of @index (MSI or REQ) is kept. */
static struct eventfd_ctx **kvx_mvf_irq_slot(struct kvx_mvf_vf *vf,
					     unsigned int index)
{
	return index == VFIO_PCI_REQ_IRQ_INDEX ? &vf->irq.req_trigger :
						 &vf->irq.trigger;
}

static void kvx_mvf_irq_attach(struct kvx_mvf_vf *vf, unsigned int index,
			       struct eventfd_ctx *trigger)
{
	struct eventfd_ctx **slot = kvx_mvf_irq_slot(vf, index);
	struct eventfd_ctx *old;

	mutex_lock(&vf->irq.lock);
	old = *slot;
	*slot = trigger;
	mutex_unlock(&vf->irq.lock);
	if (old)
		eventfd_ctx_put(old);
}

void kvx_mvf_irq_release(struct kvx_mvf_vf *vf)
{
	kvx_mvf_irq_attach(vf, VFIO_PCI_MSI_IRQ_INDEX, NULL);
	kvx_mvf_irq_attach(vf, VFIO_PCI_REQ_IRQ_INDEX, NULL);
}

static void kvx_mvf_irq_fire(struct kvx_mvf_vf *vf, unsigned int index)
{
	struct eventfd_ctx **slot = kvx_mvf_irq_slot(vf, index);

	mutex_lock(&vf->irq.lock);
	if (*slot)
		eventfd_signal(*slot);
	mutex_unlock(&vf->irq.lock);
}

void kvx_mvf_irq_signal(struct kvx_mvf_vf *vf)
{
	kvx_mvf_irq_fire(vf, VFIO_PCI_MSI_IRQ_INDEX);
}

/*
 * vfio_unregister_group_dev() asks the user to release the device: @count
 * is 0 at once, then counts the 10 s waits.  As vfio_pci_core_request().
 */
void kvx_mvf_irq_request(struct kvx_mvf_vf *vf, unsigned int count)
{
	mutex_lock(&vf->irq.lock);
	if (vf->irq.req_trigger) {
		if (!(count % 10))
			dev_notice_ratelimited(vf->vdev.dev,
					       "Relaying device request to user (#%u)\n",
					       count);
		eventfd_signal(vf->irq.req_trigger);
	} else if (count == 0) {
		dev_warn(vf->vdev.dev,
			 "No device request channel registered, blocked until released by user\n");
	}
	mutex_unlock(&vf->irq.lock);
}

static unsigned int kvx_mvf_irq_count(unsigned int index)
{
	return index == VFIO_PCI_MSI_IRQ_INDEX ||
	       index == VFIO_PCI_REQ_IRQ_INDEX ? 1 : 0;
}

void kvx_mvf_irq_info(struct vfio_irq_info *info)
{
	info->count = kvx_mvf_irq_count(info->index);
	info->flags = info->count ? VFIO_IRQ_INFO_EVENTFD |
				    VFIO_IRQ_INFO_NORESIZE : 0;
}

int kvx_mvf_irq_set(struct kvx_mvf_vf *vf, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct eventfd_ctx *trigger;
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	s32 fd;
	u8 val;
	int ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	ret = vfio_set_irqs_validate_and_prepare(&hdr,
						 kvx_mvf_irq_count(hdr.index),
						 VFIO_PCI_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	if ((hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;

	switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (hdr.count)
			kvx_mvf_irq_fire(vf, hdr.index);
		else
			kvx_mvf_irq_attach(vf, hdr.index, NULL);
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (copy_from_user(&val, arg + minsz, sizeof(val)))
			return -EFAULT;
		if (val)
			kvx_mvf_irq_fire(vf, hdr.index);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (copy_from_user(&fd, arg + minsz, sizeof(fd)))
			return -EFAULT;
		if (fd == -1) {
			kvx_mvf_irq_attach(vf, hdr.index, NULL);
			return 0;
		}
		trigger = eventfd_ctx_fdget(fd);
		if (IS_ERR(trigger))
			return PTR_ERR(trigger);
		kvx_mvf_irq_attach(vf, hdr.index, trigger);
		return 0;
	default:
		return -EINVAL;
	}
}
