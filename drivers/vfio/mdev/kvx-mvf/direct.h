/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the mailbox page's mapping, the poller and mode switches.  The
 * helpers it shares with ktrap.c and wtrace.c are in mbx.h.
 */
#ifndef KVX_MVF_DIRECT_H
#define KVX_MVF_DIRECT_H

#include "mbx.h"

struct kvx_mvf_vf;
struct vm_area_struct;

void kvx_mvf_direct_init(struct kvx_mvf_vf *vf);
void kvx_mvf_direct_open(struct kvx_mvf_vf *vf);
void kvx_mvf_direct_close(struct kvx_mvf_vf *vf);
int kvx_mvf_direct_mmap(struct kvx_mvf_vf *vf, struct vm_area_struct *vma);
void kvx_mvf_direct_set_mode(struct kvx_mvf_vf *vf,
			     enum kvx_mvf_mbx_mode mode, bool run);
void kvx_mvf_direct_sync(struct kvx_mvf_vf *vf);

#endif /* KVX_MVF_DIRECT_H */
