// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the VFIO device: region access, device/region/irq info and
 * reset.
 *
 * Region file offsets carry the region index in bits 63:40, as vfio-pci
 * does.  Every access is validated against the region before anything is
 * touched: an access that does not fit returns -EINVAL and has no effect.
 * BAR0 can be mmap-ed only where its sparse mmap capability says: the
 * mailbox page, in every mode (direct.c).
 */

#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>

#include "dev.h"
#include "direct.h"
#include "dirty.h"
#include "dma.h"
#include "irq.h"
#include "ktrap.h"
#include "mbx.h"
#include "migration.h"
#include "mvf.h"
#include "vfio_dev.h"

static u64 kvx_mvf_region_size(u64 index)
{
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return PCI_CFG_SPACE_SIZE;
	case VFIO_PCI_BAR0_REGION_INDEX:
		return KVX_MVF_BAR0_SIZE;
	default:
		return 0;
	}
}

/* Split a file position into region and offset; the access must fit. */
static int kvx_mvf_decode(loff_t pos, size_t count, unsigned int *index,
			  unsigned int *off)
{
	u64 region = (u64)pos >> KVX_MVF_OFFSET_SHIFT;
	u64 offset = (u64)pos & KVX_MVF_OFFSET_MASK;
	u64 size;

	if (pos < 0 || region >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	size = kvx_mvf_region_size(region);
	if (offset >= size || count > size - offset)
		return -EINVAL;

	*index = region;
	*off = offset;
	return 0;
}

static ssize_t kvx_mvf_read(struct vfio_device *vdev, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	u8 data[PCI_CFG_SPACE_SIZE];
	unsigned int index, off;
	u32 val;
	int ret;

	ret = kvx_mvf_decode(*ppos, count, &index, &off);
	if (ret)
		return ret;

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		mutex_lock(&vf->lock);
		ret = kvx_mvf_cfg_read(vf, off, data, count);
		mutex_unlock(&vf->lock);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		if (count != sizeof(u32))
			return -EINVAL;
		ret = kvx_mvf_bar0_read(vf, off, &val);
		if (!ret)
			put_unaligned_le32(val, data);
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;

	if (copy_to_user(ubuf, data, count))
		return -EFAULT;
	*ppos += count;
	return count;
}

static ssize_t kvx_mvf_write(struct vfio_device *vdev, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	unsigned int index, off;
	u8 data[sizeof(u32)];
	int ret;

	ret = kvx_mvf_decode(*ppos, count, &index, &off);
	if (ret)
		return ret;
	/* Config space takes 1, 2 or 4 bytes, BAR0 dwords only. */
	if (count > sizeof(data) ||
	    (index == VFIO_PCI_BAR0_REGION_INDEX && count != sizeof(u32)))
		return -EINVAL;
	if (copy_from_user(data, ubuf, count))
		return -EFAULT;

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		mutex_lock(&vf->lock);
		ret = kvx_mvf_cfg_write(vf, off, data, count);
		mutex_unlock(&vf->lock);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		ret = kvx_mvf_bar0_write(vf, off, get_unaligned_le32(data));
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (ret)
		return ret;

	*ppos += count;
	return count;
}

static int kvx_mvf_ioctl_get_info(void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/* BAR0's one mmap-able area: the mailbox page. */
static int kvx_mvf_add_sparse_mmap_cap(struct vfio_info_cap *caps)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	size_t size = struct_size(sparse, areas, 1);
	int ret;

	sparse = kzalloc(size, GFP_KERNEL);
	if (!sparse)
		return -ENOMEM;
	sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	sparse->header.version = 1;
	sparse->nr_areas = 1;
	sparse->areas[0].offset = KVX_MVF_MBX_PAGE;
	sparse->areas[0].size = KVX_MVF_PAGE_SIZE;
	ret = vfio_info_add_capability(caps, &sparse->header, size);
	kfree(sparse);
	return ret;
}

static int kvx_mvf_ioctl_get_region_info(struct vfio_region_info __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_info_cap caps = { .buf = NULL, .size = 0 };
	struct vfio_region_info info;
	int ret;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;

	info.cap_offset = 0;
	info.offset = KVX_MVF_INDEX_TO_OFFSET(info.index);
	info.size = kvx_mvf_region_size(info.index);
	info.flags = info.size ?
		     VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE :
		     0;
	if (info.index != VFIO_PCI_BAR0_REGION_INDEX)
		return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;

	info.flags |= VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
	ret = kvx_mvf_add_sparse_mmap_cap(&caps);
	if (ret)
		return ret;
	if (info.argsz < sizeof(info) + caps.size) {
		info.argsz = sizeof(info) + caps.size;
	} else {
		vfio_info_cap_shift(&caps, sizeof(info));
		if (copy_to_user(arg + 1, caps.buf, caps.size)) {
			kfree(caps.buf);
			return -EFAULT;
		}
		info.cap_offset = sizeof(info);
	}
	kfree(caps.buf);

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/* One MSI vector; every other index exists and has none. */
static int kvx_mvf_ioctl_get_irq_info(void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;

	kvx_mvf_irq_info(&info);

	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

/*
 * QEMU resets the device on every system reset: the tracking of the
 * guest's mailbox page (ktrap.c) and its mapping survive it.
 */
static int kvx_mvf_reset(struct kvx_mvf_vf *vf)
{
	kvx_mvf_mig_reset(vf);
	return 0;
}

static long kvx_mvf_ioctl(struct vfio_device *vdev, unsigned int cmd,
			  unsigned long arg)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return kvx_mvf_ioctl_get_info(uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return kvx_mvf_ioctl_get_region_info(uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return kvx_mvf_ioctl_get_irq_info(uarg);
	case VFIO_DEVICE_SET_IRQS:
		return kvx_mvf_irq_set(vf, uarg);
	case VFIO_DEVICE_RESET:
		return kvx_mvf_reset(vf);
	default:
		return -ENOTTY;
	}
}

static int kvx_mvf_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	return kvx_mvf_direct_mmap(vdev_to_vf(vdev), vma);
}

/* Every user starts from a freshly reset function, as vfio-pci does. */
static int kvx_mvf_open_device(struct vfio_device *vdev)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);

	kvx_mvf_mig_reset(vf);
	mutex_lock(&vf->mig.state_mutex);
	kvx_mvf_ktrap_open(vf);
	mutex_unlock(&vf->mig.state_mutex);
	mutex_lock(&vf->lock);
	kvx_mvf_direct_open(vf);
	mutex_unlock(&vf->lock);
	return 0;
}

/*
 * The DMA logging session, the migration state, the interrupt's eventfd and
 * the KVM write tracking belong to the user that opened the device.
 */
static void kvx_mvf_close_device(struct vfio_device *vdev)
{
	kvx_mvf_direct_close(vdev_to_vf(vdev));
	kvx_mvf_ktrap_release(vdev_to_vf(vdev));
	kvx_mvf_dirty_stop(vdev_to_vf(vdev));
	kvx_mvf_mig_close(vdev_to_vf(vdev));
	kvx_mvf_irq_release(vdev_to_vf(vdev));
}

/*
 * Removing the mdev while a user holds the device: ask the user to let it
 * go (QEMU unplugs it from the guest), as vfio-pci does.
 */
static void kvx_mvf_request(struct vfio_device *vdev, unsigned int count)
{
	kvx_mvf_irq_request(vdev_to_vf(vdev), count);
}

static int kvx_mvf_init_dev(struct vfio_device *vdev)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);
	struct kvx_mvf_pf *pf = container_of(mdev->type->parent,
					     struct kvx_mvf_pf, parent);
	int index, ret;

	index = ida_alloc_max(&pf->vf_ida, KVX_MVF_MAX_VFS - 1, GFP_KERNEL);
	if (index < 0)
		return index;
	ret = kvx_mvf_mbx_init(&vf->mbx);
	if (ret)
		goto err_free_index;
	ret = kvx_mvf_dma_init(vf);
	if (ret)
		goto err_destroy_mbx;

	vf->pf = pf;
	vf->index = index;
	vf->generation =
		kvx_mvf_dev_new_generation(kvx_mvf_type_generation(mdev->type));
	/* Only where the VFIO core can serve REPORT (dirty.c). */
	if (kvx_mvf_dirty_offered())
		vdev->log_ops = &kvx_mvf_log_ops;
	kvx_mvf_mig_init(vf);
	kvx_mvf_irq_init(vf);
	INIT_LIST_HEAD(&vf->pf_node);
	mutex_init(&vf->lock);
	kvx_mvf_direct_init(vf);
	kvx_mvf_dev_init(vf);
	return 0;

err_destroy_mbx:
	kvx_mvf_mbx_destroy(&vf->mbx);
err_free_index:
	ida_free(&pf->vf_ida, index);
	return ret;
}

static void kvx_mvf_release_dev(struct vfio_device *vdev)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);

	mutex_destroy(&vf->lock);
	kvx_mvf_irq_destroy(vf);
	kvx_mvf_mig_destroy(vf);
	kvx_mvf_dma_destroy(vf);
	kvx_mvf_mbx_destroy(&vf->mbx);
	ida_free(&vf->pf->vf_ida, vf->index);
}

const struct vfio_device_ops kvx_mvf_vfio_ops = {
	.name = "kvx-mvf",
	.init = kvx_mvf_init_dev,
	.release = kvx_mvf_release_dev,
	.open_device = kvx_mvf_open_device,
	.close_device = kvx_mvf_close_device,
	.read = kvx_mvf_read,
	.write = kvx_mvf_write,
	.ioctl = kvx_mvf_ioctl,
	.mmap = kvx_mvf_mmap,
	.request = kvx_mvf_request,
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
};
