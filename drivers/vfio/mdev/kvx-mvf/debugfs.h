/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the PF's debugfs view (kvx-mvf/<pf>/, and <uuid>/ per VF).
 */
#ifndef KVX_MVF_DEBUGFS_H
#define KVX_MVF_DEBUGFS_H

struct kvx_mvf_pf;
struct kvx_mvf_vf;

void kvx_mvf_pf_debugfs_init(void);
void kvx_mvf_pf_debugfs_exit(void);
void kvx_mvf_pf_debugfs_add_pf(struct kvx_mvf_pf *pf);
void kvx_mvf_pf_debugfs_remove_pf(struct kvx_mvf_pf *pf);
void kvx_mvf_pf_debugfs_add_vf(struct kvx_mvf_vf *vf);
void kvx_mvf_pf_debugfs_remove_vf(struct kvx_mvf_vf *vf);

#endif /* KVX_MVF_DEBUGFS_H */
