/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the operator's interface in sysfs (<mdev>/kvx_mvf/).
 */
#ifndef KVX_MVF_SYSFS_H
#define KVX_MVF_SYSFS_H

struct attribute_group;

/* The driver core adds them to each bound VF (kvx_mvf_driver). */
extern const struct attribute_group *kvx_mvf_vf_groups[];

#endif /* KVX_MVF_SYSFS_H */
