/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: VFIO migration v2 (STOP_COPY, P2P, PRE_COPY).
 */
#ifndef KVX_MVF_MIGRATION_H
#define KVX_MVF_MIGRATION_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "mbx.h"

struct kvx_mvf_vf;
struct kvx_mvf_mig_file;

/*
 * @mbx_mode is the mailbox mode the PF chose: the VF has it while RUNNING
 * and is TRAPPED in every other state.
 */
struct kvx_mvf_mig {
	/* Protects the rest; serialises state changes, reset and close. */
	struct mutex state_mutex;
	enum vfio_device_mig_state state;
	struct kvx_mvf_mig_file *saving;
	struct kvx_mvf_mig_file *resuming;
	enum kvx_mvf_mbx_mode mbx_mode;
	/* A PF reset notice waits for the device to run. */
	bool reset_notice;
	/* Resumes that could not honour the stream and raised RSTI. */
	u64 quiesced_resumes;
};

extern const struct vfio_migration_ops kvx_mvf_mig_ops;

void kvx_mvf_mig_init(struct kvx_mvf_vf *vf);
void kvx_mvf_mig_destroy(struct kvx_mvf_vf *vf);
void kvx_mvf_mig_reset(struct kvx_mvf_vf *vf);
void kvx_mvf_mig_close(struct kvx_mvf_vf *vf);
void kvx_mvf_mig_set_mbx_mode(struct kvx_mvf_vf *vf,
			      enum kvx_mvf_mbx_mode mode);
void kvx_mvf_mig_link_changed(struct kvx_mvf_vf *vf);
void kvx_mvf_mig_reset_notice(struct kvx_mvf_vf *vf);

#endif /* KVX_MVF_MIGRATION_H */
