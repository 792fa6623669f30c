/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the VF as a VFIO device.
 */
#ifndef KVX_MVF_VFIO_DEV_H
#define KVX_MVF_VFIO_DEV_H

struct vfio_device_ops;

extern const struct vfio_device_ops kvx_mvf_vfio_ops;

#endif /* KVX_MVF_VFIO_DEV_H */
