/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the device model (config space, BAR0, reset).
 */
#ifndef KVX_MVF_DEV_H
#define KVX_MVF_DEV_H

#include <linux/types.h>

struct kvx_mvf_vf;

void kvx_mvf_dev_init(struct kvx_mvf_vf *vf);
void kvx_mvf_dev_flr(struct kvx_mvf_vf *vf);
void kvx_mvf_dev_reset(struct kvx_mvf_vf *vf);
unsigned int kvx_mvf_dev_new_generation(unsigned int type_gen);
u32 kvx_mvf_dev_features(unsigned int generation);
int kvx_mvf_cfg_check_saved(struct kvx_mvf_vf *vf, const u8 *saved);
void kvx_mvf_cfg_restore(struct kvx_mvf_vf *vf, const u8 *saved);
int kvx_mvf_cfg_read(struct kvx_mvf_vf *vf, unsigned int off, void *buf,
		     size_t count);
int kvx_mvf_cfg_write(struct kvx_mvf_vf *vf, unsigned int off,
		      const void *buf, size_t count);
int kvx_mvf_bar0_read(struct kvx_mvf_vf *vf, unsigned int off, u32 *val);
int kvx_mvf_bar0_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val);

#endif /* KVX_MVF_DEV_H */
