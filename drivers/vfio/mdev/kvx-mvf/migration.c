// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: VFIO migration v2.
 *
 * The stream's format (sections, parsing and checks) is mig_stream.c's;
 * here are the state machine and the data files.  Each section is taken
 * from one consistent snapshot (the DMA engine's lock, then the VF's).
 *
 * States: the device runs (DMA served at once) in RUNNING and PRE_COPY and
 * is quiesced in every other state: the DMA engine remembers a doorbell
 * and touches no memory (the P2P states are quiesced too, since the engine
 * cannot tell peer memory from RAM), and the mailbox is TRAPPED, so that
 * no poller changes the state behind the migration's back.
 *
 * Saving: entering PRE_COPY queues the header and every section (the
 * initial bytes); while in PRE_COPY a read that finds the queue empty queues
 * the sections whose state changed since they were queued (the dirty
 * bytes), or fails with -ENOMSG.  STOP_COPY queues the changed sections
 * and END; the stream then ends.  Pre-copy stops re-sending when the stream
 * would not leave room for a final copy of everything within
 * KVX_MVF_MIG_MAX_SIZE.
 *
 * Resuming: writes collect the stream, checking the header as soon as it
 * is complete and refusing anything beyond KVX_MVF_MIG_MAX_SIZE.
 * RESUMING -> STOP parses and checks all of it into a staging image first
 * and changes the device only when everything is valid; any error is
 * -EINVAL with the device as it was, and the state stays RESUMING.  A
 * stream whose VF used something this VF's generation lacks (an API
 * version) is applied quiesced: config space and the PF's counters (the
 * VF's over its life, which no reset clears) only, the VF configuration
 * and the DMA engine reset, RSTI raised, so the guest driver renegotiates.
 *
 * Transitions run under state_mutex, one arc at a time as
 * vfio_mig_get_next_state() walks them, as in samples/vfio-mdev/mtty.c.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "dev.h"
#include "direct.h"
#include "dma.h"
#include "mbx.h"
#include "mig_stream.h"
#include "migration.h"
#include "mvf.h"
#include "pf.h"

/*
 * A data_fd.  Saving: the unread bytes are buf[start, end); @produced and
 * @consumed count the whole stream, @initial the bytes queued on entry.
 * Resuming: the stream received so far is buf[0, end).
 */
struct kvx_mvf_mig_file {
	struct file *filp;
	struct kvx_mvf_vf *vf;
	/* Protects the rest; taken under state_mutex. */
	struct mutex lock;
	bool disabled;
	bool final;		/* saving: END queued */
	bool broken;		/* resuming: a write was refused */
	u8 *buf;
	size_t start;
	size_t end;
	size_t produced;
	size_t consumed;
	size_t initial;
	/* Saving: what was queued last of each section. */
	struct kvx_mvf_mig_image sent;
	bool sent_valid;
};

static bool kvx_mvf_mig_running(enum vfio_device_mig_state state)
{
	return state == VFIO_DEVICE_STATE_RUNNING ||
	       state == VFIO_DEVICE_STATE_PRE_COPY;
}

/* Make the device behave as @state says (see the top of the file). */
static void kvx_mvf_mig_sync(struct kvx_mvf_vf *vf,
			     enum vfio_device_mig_state state)
{
	lockdep_assert_held(&vf->mig.state_mutex);

	if (!kvx_mvf_mig_running(state))
		kvx_mvf_dma_set_quiesced(vf, true);
	kvx_mvf_direct_set_mode(vf, state == VFIO_DEVICE_STATE_RUNNING ?
				vf->mig.mbx_mode : KVX_MVF_MBX_TRAPPED,
				kvx_mvf_mig_running(state));
	if (kvx_mvf_mig_running(state)) {
		kvx_mvf_dma_set_quiesced(vf, false);
		/* What the PF held while quiesced: a reset notice, a link change. */
		mutex_lock(&vf->lock);
		if (vf->mig.reset_notice) {
			vf->mig.reset_notice = false;
			kvx_mvf_pf_notify_reset(vf);
		}
		kvx_mvf_mbx_pf_msg_flush(vf);
		kvx_mvf_direct_sync(vf);
		mutex_unlock(&vf->lock);
	}
}

/* Where the VF keeps what the sections carry, but config space. */
static void kvx_mvf_mig_parts(struct kvx_mvf_vf *vf,
			      struct kvx_mvf_mig_parts *parts)
{
	parts->config = vf->config;
	parts->cfg = &vf->cfg;
	parts->mbx = &vf->mbx;
	parts->doorbell = &vf->doorbell;
	parts->regs = &vf->dma.regs;
}

/* One consistent snapshot of the device. */
static void kvx_mvf_mig_snapshot(struct kvx_mvf_vf *vf,
				 struct kvx_mvf_mig_image *img)
{
	struct kvx_mvf_mig_parts parts;

	kvx_mvf_mig_parts(vf, &parts);
	mutex_lock(&vf->dma.lock);
	mutex_lock(&vf->lock);
	kvx_mvf_mig_image_save(img, &parts);
	mutex_unlock(&vf->lock);
	mutex_unlock(&vf->dma.lock);
}

/* Saving */

/* @size bytes were written at the end of the queue. */
static void kvx_mvf_mig_queued(struct kvx_mvf_mig_file *migf, size_t size)
{
	migf->end += size;
	migf->produced += size;
}

static bool kvx_mvf_mig_section_dirty(struct kvx_mvf_mig_file *migf,
				      const struct kvx_mvf_mig_image *img,
				      const struct kvx_mvf_mig_section *sec)
{
	return !migf->sent_valid ||
	       kvx_mvf_mig_section_changed(img, &migf->sent, sec);
}

/* Bytes the changed sections would take; @img is the current state. */
static size_t kvx_mvf_mig_dirty_size(struct kvx_mvf_mig_file *migf,
				     const struct kvx_mvf_mig_image *img)
{
	const struct kvx_mvf_mig_section *sec;
	size_t size = 0;
	unsigned int i;

	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++) {
		sec = &kvx_mvf_mig_sections[i];
		if (kvx_mvf_mig_section_dirty(migf, img, sec))
			size += KVX_MVF_MIG_TLV_SIZE + sec->size;
	}
	return size;
}

static void kvx_mvf_mig_queue_dirty(struct kvx_mvf_mig_file *migf,
				    const struct kvx_mvf_mig_image *img)
{
	const struct kvx_mvf_mig_section *sec;
	unsigned int i;
	size_t size;

	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++) {
		sec = &kvx_mvf_mig_sections[i];
		if (!kvx_mvf_mig_section_dirty(migf, img, sec))
			continue;
		size = kvx_mvf_mig_put_section(migf->buf + migf->end, img, sec);
		kvx_mvf_mig_queued(migf, size);
		memcpy((u8 *)&migf->sent + sec->offset,
		       (const u8 *)img + sec->offset, sec->size);
	}
	migf->sent_valid = true;
}

/* Pre-copy may re-send while a final full copy still fits the stream. */
static bool kvx_mvf_mig_precopy_budget(struct kvx_mvf_mig_file *migf,
				       size_t size)
{
	return migf->produced + size + KVX_MVF_MIG_FULL_SIZE <=
	       KVX_MVF_MIG_MAX_SIZE;
}

static void kvx_mvf_mig_disable_file(struct kvx_mvf_mig_file *migf)
{
	mutex_lock(&migf->lock);
	migf->disabled = true;
	migf->start = 0;
	migf->end = 0;
	mutex_unlock(&migf->lock);
}

static void kvx_mvf_mig_disable_files(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mig *mig = &vf->mig;

	if (mig->saving) {
		kvx_mvf_mig_disable_file(mig->saving);
		fput(mig->saving->filp);
		mig->saving = NULL;
	}
	if (mig->resuming) {
		kvx_mvf_mig_disable_file(mig->resuming);
		fput(mig->resuming->filp);
		mig->resuming = NULL;
	}
}

static int kvx_mvf_mig_release(struct inode *inode, struct file *filp)
{
	struct kvx_mvf_mig_file *migf = filp->private_data;

	kvx_mvf_mig_disable_file(migf);
	mutex_destroy(&migf->lock);
	kvfree(migf->buf);
	kfree(migf);
	return 0;
}

static ssize_t kvx_mvf_mig_save_read(struct file *filp, char __user *ubuf,
				     size_t len, loff_t *pos)
{
	struct kvx_mvf_mig_file *migf = filp->private_data;
	struct kvx_mvf_mig_image *img = NULL;
	size_t dirty;
	ssize_t ret;

	if (pos)
		return -ESPIPE;

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (migf->start == migf->end && !migf->final) {
		img = kmalloc(sizeof(*img), GFP_KERNEL);
		if (!img) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		kvx_mvf_mig_snapshot(migf->vf, img);
		dirty = kvx_mvf_mig_dirty_size(migf, img);
		if (dirty && kvx_mvf_mig_precopy_budget(migf, dirty)) {
			migf->start = 0;
			migf->end = 0;
			kvx_mvf_mig_queue_dirty(migf, img);
		}
		if (migf->start == migf->end) {
			ret = -ENOMSG;
			goto out_unlock;
		}
	}

	len = min(len, migf->end - migf->start);
	if (copy_to_user(ubuf, migf->buf + migf->start, len)) {
		ret = -EFAULT;
		goto out_unlock;
	}
	migf->start += len;
	migf->consumed += len;
	if (migf->start == migf->end) {
		migf->start = 0;
		migf->end = 0;
	}
	ret = len;
out_unlock:
	mutex_unlock(&migf->lock);
	kfree(img);
	return ret;
}

/*
 * initial_bytes: what is left of the bytes queued on entering PRE_COPY;
 * dirty_bytes: the rest of the queue and the sections changed since.
 * A saving session is in the PRE_COPY states until END is queued; after
 * that, and once the session ended (disabled), the device is not in
 * PRE_COPY for this file: -EINVAL, as the uAPI says.  Like
 * read, this touches the VF only while the file is enabled, under the
 * file's lock: closing the device disables the file under that lock first,
 * so a data_fd that outlives its VF never reaches it.
 */
static long kvx_mvf_mig_precopy_ioctl(struct file *filp, unsigned int cmd,
				      unsigned long arg)
{
	struct kvx_mvf_mig_file *migf = filp->private_data;
	unsigned long minsz = offsetofend(struct vfio_precopy_info,
					  dirty_bytes);
	struct vfio_precopy_info info;
	struct kvx_mvf_mig_image *img;
	size_t unread, dirty;
	long ret = 0;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	img = kmalloc(sizeof(*img), GFP_KERNEL);
	if (!img)
		return -ENOMEM;

	mutex_lock(&migf->lock);
	if (migf->disabled || migf->final) {
		ret = -EINVAL;
		goto out_unlock;
	}
	kvx_mvf_mig_snapshot(migf->vf, img);
	unread = migf->end - migf->start;
	info.flags = 0;
	info.initial_bytes = migf->consumed < migf->initial ?
			     migf->initial - migf->consumed : 0;
	dirty = kvx_mvf_mig_dirty_size(migf, img);
	if (!kvx_mvf_mig_precopy_budget(migf, dirty))
		dirty = 0;
	info.dirty_bytes = unread - info.initial_bytes + dirty;
out_unlock:
	mutex_unlock(&migf->lock);
	kfree(img);
	if (ret)
		return ret;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}

static const struct file_operations kvx_mvf_mig_save_fops = {
	.owner = THIS_MODULE,
	.read = kvx_mvf_mig_save_read,
	.unlocked_ioctl = kvx_mvf_mig_precopy_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = kvx_mvf_mig_release,
};

static ssize_t kvx_mvf_mig_resume_write(struct file *filp,
					const char __user *ubuf, size_t len,
					loff_t *pos);

static const struct file_operations kvx_mvf_mig_resume_fops = {
	.owner = THIS_MODULE,
	.write = kvx_mvf_mig_resume_write,
	.release = kvx_mvf_mig_release,
};

static struct kvx_mvf_mig_file *
kvx_mvf_mig_file_create(struct kvx_mvf_vf *vf, bool saving)
{
	struct kvx_mvf_mig_file *migf;
	int ret;

	migf = kzalloc(sizeof(*migf), GFP_KERNEL_ACCOUNT);
	if (!migf)
		return ERR_PTR(-ENOMEM);
	migf->buf = kvzalloc(KVX_MVF_MIG_MAX_SIZE, GFP_KERNEL_ACCOUNT);
	if (!migf->buf) {
		ret = -ENOMEM;
		goto err_free_migf;
	}
	migf->filp = anon_inode_getfile("kvx_mvf_mig",
					saving ? &kvx_mvf_mig_save_fops :
						 &kvx_mvf_mig_resume_fops,
					migf, saving ? O_RDONLY : O_WRONLY);
	if (IS_ERR(migf->filp)) {
		ret = PTR_ERR(migf->filp);
		goto err_free_buf;
	}
	stream_open(migf->filp->f_inode, migf->filp);
	mutex_init(&migf->lock);
	migf->vf = vf;
	return migf;

err_free_buf:
	kvfree(migf->buf);
err_free_migf:
	kfree(migf);
	return ERR_PTR(ret);
}

/* Entering PRE_COPY or STOP_COPY: the header and every section. */
static struct file *kvx_mvf_mig_save_start(struct kvx_mvf_vf *vf, bool final)
{
	struct kvx_mvf_mig_file *migf;
	struct kvx_mvf_mig_image *img;
	size_t size;

	img = kmalloc(sizeof(*img), GFP_KERNEL);
	if (!img)
		return ERR_PTR(-ENOMEM);
	migf = kvx_mvf_mig_file_create(vf, true);
	if (IS_ERR(migf)) {
		kfree(img);
		return ERR_CAST(migf);
	}

	kvx_mvf_mig_snapshot(vf, img);
	size = kvx_mvf_mig_put_header(migf->buf, vf->generation,
				      kvx_mvf_dev_features(vf->generation));
	kvx_mvf_mig_queued(migf, size);
	kvx_mvf_mig_queue_dirty(migf, img);
	if (final) {
		kvx_mvf_mig_queued(migf,
				   kvx_mvf_mig_put_end(migf->buf + migf->end));
		migf->final = true;
	}
	migf->initial = migf->produced;
	kfree(img);

	vf->mig.saving = migf;
	get_file(migf->filp);
	return migf->filp;
}

/* PRE_COPY_P2P -> STOP_COPY: what changed, then END. */
static int kvx_mvf_mig_save_finish(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mig_file *migf = vf->mig.saving;
	struct kvx_mvf_mig_image *img;

	img = kmalloc(sizeof(*img), GFP_KERNEL);
	if (!img)
		return -ENOMEM;

	mutex_lock(&migf->lock);
	kvx_mvf_mig_snapshot(vf, img);
	/* Unread bytes move to the front: room for a full copy is kept. */
	memmove(migf->buf, migf->buf + migf->start, migf->end - migf->start);
	migf->end -= migf->start;
	migf->start = 0;
	kvx_mvf_mig_queue_dirty(migf, img);
	kvx_mvf_mig_queued(migf, kvx_mvf_mig_put_end(migf->buf + migf->end));
	migf->final = true;
	mutex_unlock(&migf->lock);

	kfree(img);
	return 0;
}

/* Resuming */

/*
 * A stream resumes only on a VF of its own generation, so that nothing the
 * guest reads (VERSION, the APIs it may negotiate) changes under it; the
 * operator creates the destination VF from the mdev type of the source's
 * generation (kvx-mvf-vf-g<N>, main.c).  Checked as soon as the header is
 * written: QEMU writes pre-copy data as it arrives, so a VF of another
 * generation fails the migration before the switchover.
 */
static int kvx_mvf_mig_check_stream(struct kvx_mvf_vf *vf,
				    const struct kvx_mvf_mig_header *hdr)
{
	unsigned int gen = le16_to_cpu(hdr->generation);

	if (kvx_mvf_mig_check_header(hdr))
		return -EINVAL;
	if (gen != vf->generation) {
		dev_warn_ratelimited(vf->vdev.dev,
				     "migration stream of device generation %u, this VF is generation %u: create the destination from mdev type kvx-mvf-vf-g%u\n",
				     gen, vf->generation, gen);
		return -EINVAL;
	}
	return 0;
}

static ssize_t kvx_mvf_mig_resume_write(struct file *filp,
					const char __user *ubuf, size_t len,
					loff_t *pos)
{
	struct kvx_mvf_mig_file *migf = filp->private_data;
	size_t hdr_size = sizeof(struct kvx_mvf_mig_header);
	ssize_t ret = len;

	if (pos)
		return -ESPIPE;

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (migf->broken || len > KVX_MVF_MIG_MAX_SIZE - migf->end) {
		ret = -EINVAL;
		goto out_broken;
	}
	if (copy_from_user(migf->buf + migf->end, ubuf, len)) {
		ret = -EFAULT;
		goto out_broken;
	}
	if (migf->end < hdr_size && migf->end + len >= hdr_size &&
	    kvx_mvf_mig_check_stream(migf->vf, (void *)migf->buf)) {
		ret = -EINVAL;
		goto out_broken;
	}
	migf->end += len;
	goto out_unlock;

out_broken:
	migf->broken = true;
out_unlock:
	mutex_unlock(&migf->lock);
	return ret;
}

/*
 * The stream, parsed into @img: -EINVAL for anything malformed or not for
 * this VF, else whether this VF can honour it.
 */
static int kvx_mvf_mig_parse_for(struct kvx_mvf_vf *vf, const u8 *buf,
				 size_t size, struct kvx_mvf_mig_image *img,
				 unsigned long *seen)
{
	if (kvx_mvf_mig_parse(buf, size, vf->generation, img, seen) ||
	    kvx_mvf_cfg_check_saved(vf, img->pci))
		return -EINVAL;
	return kvx_mvf_mig_fits(img, kvx_mvf_dev_features(vf->generation)) &&
	       kvx_mvf_pf_api_supported(vf, le16_to_cpu(img->cfg.api));
}

/* @stats: the stream had the optional STATS section. */
static void kvx_mvf_mig_apply(struct kvx_mvf_vf *vf,
			      const struct kvx_mvf_mig_image *img,
			      bool compatible, bool stats)
{
	struct kvx_mvf_mig_parts parts;

	kvx_mvf_mig_parts(vf, &parts);
	mutex_lock(&vf->dma.lock);
	mutex_lock(&vf->lock);

	kvx_mvf_cfg_restore(vf, img->pci);
	if (stats)
		kvx_mvf_mig_image_apply_stats(img, &vf->mbx);

	if (compatible) {
		kvx_mvf_mig_image_apply(img, &parts);
	} else {
		/* Quiesced: the guest driver starts over from RSTI. */
		kvx_mvf_pf_vf_reset(vf);
		kvx_mvf_mbx_reset(&vf->mbx);
		atomic_set(vf->mbx.ctrl, KVX_MVF_MBX_RSTI);
		memset(&vf->doorbell, 0, sizeof(vf->doorbell));
		memset(&vf->dma.regs, 0, sizeof(vf->dma.regs));
		vf->mig.quiesced_resumes++;
	}

	mutex_unlock(&vf->lock);
	mutex_unlock(&vf->dma.lock);
}

/* RESUMING -> STOP: all checked before anything changes. */
static int kvx_mvf_mig_load(struct kvx_mvf_vf *vf)
{
	struct kvx_mvf_mig_file *migf = vf->mig.resuming;
	struct kvx_mvf_mig_image *img;
	unsigned long seen = 0;
	int ret;

	img = kzalloc(sizeof(*img), GFP_KERNEL);
	if (!img)
		return -ENOMEM;

	mutex_lock(&migf->lock);
	ret = migf->broken ? -EINVAL :
	      kvx_mvf_mig_parse_for(vf, migf->buf, migf->end, img, &seen);
	mutex_unlock(&migf->lock);
	if (ret >= 0)
		kvx_mvf_mig_apply(vf, img, ret, seen & KVX_MVF_MIG_STATS_BIT);

	kfree(img);
	return ret < 0 ? ret : 0;
}

/* State machine */

static struct file *kvx_mvf_mig_step(struct kvx_mvf_vf *vf,
				     enum vfio_device_mig_state next)
{
	enum vfio_device_mig_state cur = vf->mig.state;
	struct kvx_mvf_mig_file *migf;
	int ret;

	/* Arcs that only change how the device runs (kvx_mvf_mig_sync()). */
	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     (next == VFIO_DEVICE_STATE_RUNNING ||
	      next == VFIO_DEVICE_STATE_STOP)) ||
	    (cur == VFIO_DEVICE_STATE_STOP &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     next == VFIO_DEVICE_STATE_PRE_COPY_P2P) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     next == VFIO_DEVICE_STATE_PRE_COPY))
		return NULL;

	/* Arcs that end a data transfer session. */
	if ((cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     next == VFIO_DEVICE_STATE_RUNNING) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P) ||
	    (cur == VFIO_DEVICE_STATE_STOP_COPY &&
	     next == VFIO_DEVICE_STATE_STOP)) {
		kvx_mvf_mig_disable_files(vf);
		return NULL;
	}

	if (cur == VFIO_DEVICE_STATE_RESUMING &&
	    next == VFIO_DEVICE_STATE_STOP) {
		ret = kvx_mvf_mig_load(vf);
		if (ret)
			return ERR_PTR(ret);
		kvx_mvf_mig_disable_files(vf);
		return NULL;
	}

	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     next == VFIO_DEVICE_STATE_PRE_COPY) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     next == VFIO_DEVICE_STATE_PRE_COPY_P2P))
		return kvx_mvf_mig_save_start(vf, false);

	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_STOP_COPY)
		return kvx_mvf_mig_save_start(vf, true);

	if (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	    next == VFIO_DEVICE_STATE_STOP_COPY) {
		ret = kvx_mvf_mig_save_finish(vf);
		return ret ? ERR_PTR(ret) : NULL;
	}

	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_RESUMING) {
		migf = kvx_mvf_mig_file_create(vf, false);
		if (IS_ERR(migf))
			return ERR_CAST(migf);
		vf->mig.resuming = migf;
		get_file(migf->filp);
		return migf->filp;
	}

	/* vfio_mig_get_next_state() uses no other arc. */
	WARN_ON_ONCE(true);
	return ERR_PTR(-EINVAL);
}

/*
 * The device takes the behaviour of the next state before the arc's action
 * (a snapshot on entering PRE_COPY sees the mailbox TRAPPED) and goes back
 * if the action fails.
 */
static struct file *kvx_mvf_mig_set_state(struct vfio_device *vdev,
					  enum vfio_device_mig_state new_state)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);
	struct kvx_mvf_mig *mig = &vf->mig;
	enum vfio_device_mig_state next;
	struct file *ret = NULL;
	int rc;

	mutex_lock(&mig->state_mutex);
	while (mig->state != new_state) {
		rc = vfio_mig_get_next_state(vdev, mig->state, new_state,
					     &next);
		if (rc) {
			ret = ERR_PTR(rc);
			break;
		}
		kvx_mvf_mig_sync(vf, next);
		ret = kvx_mvf_mig_step(vf, next);
		if (IS_ERR(ret)) {
			kvx_mvf_mig_sync(vf, mig->state);
			break;
		}
		mig->state = next;
		if (WARN_ON_ONCE(ret && new_state != next)) {
			fput(ret);
			ret = ERR_PTR(-EINVAL);
			break;
		}
	}
	mutex_unlock(&mig->state_mutex);
	return ret;
}

static int kvx_mvf_mig_get_state(struct vfio_device *vdev,
				 enum vfio_device_mig_state *state)
{
	struct kvx_mvf_vf *vf = vdev_to_vf(vdev);

	mutex_lock(&vf->mig.state_mutex);
	*state = vf->mig.state;
	mutex_unlock(&vf->mig.state_mutex);
	return 0;
}

static int kvx_mvf_mig_get_data_size(struct vfio_device *vdev,
				     unsigned long *stop_copy_length)
{
	*stop_copy_length = KVX_MVF_MIG_FULL_SIZE;
	return 0;
}

const struct vfio_migration_ops kvx_mvf_mig_ops = {
	.migration_set_state = kvx_mvf_mig_set_state,
	.migration_get_state = kvx_mvf_mig_get_state,
	.migration_get_data_size = kvx_mvf_mig_get_data_size,
};

void kvx_mvf_mig_init(struct kvx_mvf_vf *vf)
{
	BUILD_BUG_ON(KVX_MVF_MIG_FULL_SIZE * 2 > KVX_MVF_MIG_MAX_SIZE);
	mutex_init(&vf->mig.state_mutex);
	vf->mig.state = VFIO_DEVICE_STATE_RUNNING;
	vf->mig.mbx_mode = KVX_MVF_MBX_TRAPPED;
	vf->vdev.mig_ops = &kvx_mvf_mig_ops;
	vf->vdev.migration_flags = VFIO_MIGRATION_STOP_COPY |
				   VFIO_MIGRATION_P2P |
				   VFIO_MIGRATION_PRE_COPY;
}

void kvx_mvf_mig_destroy(struct kvx_mvf_vf *vf)
{
	mutex_destroy(&vf->mig.state_mutex);
}

/*
 * Back to RUNNING, the data files gone.  Open and VFIO_DEVICE_RESET (@flr):
 * a function level reset; a reset notice still held goes with it, the
 * reset clears RSTI anyway.  Close: the next open resets the device anyway,
 * but the DMA engine is reset first so that leaving a quiesced state
 * serves no deferred doorbell: the user, and the memory it mapped, may be
 * gone.
 */
static void kvx_mvf_mig_restart(struct kvx_mvf_vf *vf, bool flr)
{
	mutex_lock(&vf->mig.state_mutex);
	kvx_mvf_mig_disable_files(vf);
	vf->mig.state = VFIO_DEVICE_STATE_RUNNING;
	if (flr) {
		vf->mig.reset_notice = false;
		kvx_mvf_dev_flr(vf);
	} else {
		kvx_mvf_dma_reset(vf);
	}
	kvx_mvf_mig_sync(vf, vf->mig.state);
	mutex_unlock(&vf->mig.state_mutex);
}

void kvx_mvf_mig_reset(struct kvx_mvf_vf *vf)
{
	kvx_mvf_mig_restart(vf, true);
}

void kvx_mvf_mig_close(struct kvx_mvf_vf *vf)
{
	kvx_mvf_mig_restart(vf, false);
}

/*
 * The PF's link changed: queue a PF_LINK message for the VF, delivered at
 * once while the device runs, else when it runs again (kvx_mvf_mig_sync()),
 * so that nothing changes the mailbox behind a snapshot.
 */
void kvx_mvf_mig_link_changed(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->mig.state_mutex);
	mutex_lock(&vf->lock);
	kvx_mvf_pf_queue_link_msg(vf);
	if (kvx_mvf_mig_running(vf->mig.state))
		kvx_mvf_mbx_pf_msg_flush(vf);
	kvx_mvf_direct_sync(vf);
	mutex_unlock(&vf->lock);
	mutex_unlock(&vf->mig.state_mutex);
}

/*
 * A PF reset notice (debugfs), delivered at once while the device runs,
 * else held and delivered when it runs again (kvx_mvf_mig_sync()): in
 * STOP_COPY it would come after the stream's last snapshot, in RESUMING
 * the stream would overwrite it, and in the other stopped states it would
 * change the mailbox behind a migration.
 */
void kvx_mvf_mig_reset_notice(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->mig.state_mutex);
	mutex_lock(&vf->lock);
	if (kvx_mvf_mig_running(vf->mig.state))
		kvx_mvf_pf_notify_reset(vf);
	else
		vf->mig.reset_notice = true;
	kvx_mvf_direct_sync(vf);
	mutex_unlock(&vf->lock);
	mutex_unlock(&vf->mig.state_mutex);
}

/* The PF's choice of mailbox mode takes effect when the VF runs. */
void kvx_mvf_mig_set_mbx_mode(struct kvx_mvf_vf *vf,
			      enum kvx_mvf_mbx_mode mode)
{
	mutex_lock(&vf->mig.state_mutex);
	vf->mig.mbx_mode = mode;
	kvx_mvf_mig_sync(vf, vf->mig.state);
	mutex_unlock(&vf->mig.state_mutex);
}
