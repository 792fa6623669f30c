// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: VFIO migration v2.
 *
 * The device state is serialised as what the PF side and the registers
 * hold (config space, the negotiated VF configuration, the mailbox, the DMA
 * engine and the completions it owes), never as a log of messages.  The
 * stream is a header and sections (include/uapi/linux/kvx_mvf.h); each
 * section is a fixed structure, taken from one consistent snapshot (the
 * DMA engine's lock, then the VF's).
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
 * version) is applied quiesced: config space only, the VF configuration
 * and the DMA engine reset, RSTI raised, so the guest driver renegotiates.
 *
 * Transitions run under state_mutex, one arc at a time as
 * vfio_mig_get_next_state() walks them, as in samples/vfio-mdev/mtty.c.
 */

#include <linux/anon_inodes.h>
#include <linux/etherdevice.h>
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
#include "migration.h"
#include "mvf.h"
#include "pf.h"

/* The device state, as the stream's sections carry it. */
struct kvx_mvf_mig_image {
	u8 pci[PCI_CFG_SPACE_SIZE];
	struct kvx_mvf_mig_vf_config cfg;
	struct kvx_mvf_mig_mcast mcast;
	struct kvx_mvf_mig_mailbox mbx;
	struct kvx_mvf_mig_dma dma;
	struct kvx_mvf_mig_dma_pending pending;
	struct kvx_mvf_mig_stats stats;
};

struct kvx_mvf_mig_section {
	u16 type;
	u16 flags;
	size_t offset;
	size_t size;
};

#define KVX_MVF_MIG_OFF(field)	offsetof(struct kvx_mvf_mig_image, field)
#define KVX_MVF_MIG_LEN(field)	sizeof_field(struct kvx_mvf_mig_image, field)
#define KVX_MVF_MIG_REQ		KVX_MVF_MIG_TLV_REQUIRED

/*
 * In stream order; STATS last.  MCAST, added after version 1 was defined,
 * is optional in the table (a stream without it has an empty list) and
 * queued as REQUIRED when its list is not empty (kvx_mvf_mig_tlv_flags()).
 */
static const struct kvx_mvf_mig_section kvx_mvf_mig_sections[] = {
	{ KVX_MVF_MIG_PCI_CONFIG, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(pci), KVX_MVF_MIG_LEN(pci) },
	{ KVX_MVF_MIG_VF_CONFIG, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(cfg), KVX_MVF_MIG_LEN(cfg) },
	{ KVX_MVF_MIG_MCAST, 0,
	  KVX_MVF_MIG_OFF(mcast), KVX_MVF_MIG_LEN(mcast) },
	{ KVX_MVF_MIG_MAILBOX, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(mbx), KVX_MVF_MIG_LEN(mbx) },
	{ KVX_MVF_MIG_DMA, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(dma), KVX_MVF_MIG_LEN(dma) },
	{ KVX_MVF_MIG_DMA_PENDING, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(pending), KVX_MVF_MIG_LEN(pending) },
	{ KVX_MVF_MIG_STATS, 0,
	  KVX_MVF_MIG_OFF(stats), KVX_MVF_MIG_LEN(stats) },
};

#define KVX_MVF_MIG_STATS_BIT	BIT(ARRAY_SIZE(kvx_mvf_mig_sections) - 1)

#define KVX_MVF_MIG_TLV_SIZE	sizeof(struct kvx_mvf_mig_tlv)
/* A whole stream without repeats: header, every section, END. */
#define KVX_MVF_MIG_FULL_SIZE						\
	(sizeof(struct kvx_mvf_mig_header) +				\
	 ARRAY_SIZE(kvx_mvf_mig_sections) * KVX_MVF_MIG_TLV_SIZE +	\
	 sizeof(struct kvx_mvf_mig_image) + KVX_MVF_MIG_TLV_SIZE)

/* Bits of VFMAILBOX that are state; REQ, ACK and PFU are never saved. */
#define KVX_MVF_MIG_MBX_BITS	(KVX_MVF_MBX_VFU | KVX_MVF_MBX_PFSTS | \
				 KVX_MVF_MBX_PFACK | KVX_MVF_MBX_RSTI | \
				 KVX_MVF_MBX_RSTD)
#define KVX_MVF_MIG_DMA_STATUS	(KVX_MVF_DMA_STATUS_CFG_ERR |	\
				 KVX_MVF_DMA_STATUS_RING_FAULT |	\
				 KVX_MVF_DMA_STATUS_NO_MASTER)
#define KVX_MVF_MIG_VID_MAX	4094

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

/* One consistent snapshot of the device. */
static void kvx_mvf_mig_snapshot(struct kvx_mvf_vf *vf,
				 struct kvx_mvf_mig_image *img)
{
	const struct kvx_mvf_dma_regs *regs = &vf->dma.regs;
	const struct kvx_mvf_vf_config *cfg = &vf->cfg;
	unsigned int i;

	memset(img, 0, sizeof(*img));
	mutex_lock(&vf->dma.lock);
	mutex_lock(&vf->lock);

	memcpy(img->pci, vf->config, sizeof(img->pci));

	ether_addr_copy(img->cfg.mac, cfg->mac);
	img->cfg.api = cpu_to_le16(cfg->api);
	img->cfg.cts = cfg->cts;
	img->cfg.nr_vlans = cfg->nr_vlans;
	for (i = 0; i < cfg->nr_vlans; i++)
		img->cfg.vlans[i] = cpu_to_le16(cfg->vlans[i]);
	img->mcast.nr_hashes = cpu_to_le16(cfg->nr_mcast);
	for (i = 0; i < cfg->nr_mcast; i++)
		img->mcast.hashes[i] = cpu_to_le16(cfg->mcast[i]);

	img->mbx.vfmailbox = cpu_to_le32(atomic_read(vf->mbx.ctrl) &
					 KVX_MVF_MIG_MBX_BITS);
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		img->mbx.vfmbmem[i] = cpu_to_le32(READ_ONCE(vf->mbx.mem[i]));
	img->mbx.pf_msg_pending = cpu_to_le32(vf->mbx.pf_msg_pending);
	img->mbx.db_count = cpu_to_le32(vf->doorbell.count);
	img->mbx.db_last = cpu_to_le32(vf->doorbell.last);

	img->dma.ctrl = cpu_to_le32(regs->ctrl);
	img->dma.status = cpu_to_le32(regs->status);
	img->dma.ring_base = cpu_to_le64(regs->ring_base);
	img->dma.ring_size = cpu_to_le32(regs->ring_size);
	img->dma.head = cpu_to_le32(regs->head);
	img->dma.tail = cpu_to_le32(regs->tail);
	img->dma.completed = cpu_to_le32(regs->completed);
	img->dma.errors = cpu_to_le32(regs->errors);
	img->pending.cpl_pending = cpu_to_le32(regs->cpl_pending);
	img->pending.kick_pending = cpu_to_le32(regs->kick_pending);

	img->stats.requests = cpu_to_le64(vf->mbx.stats.requests);
	img->stats.nacks = cpu_to_le64(vf->mbx.stats.nacks);
	img->stats.protocol_errors = cpu_to_le64(vf->mbx.stats.protocol_errors);

	mutex_unlock(&vf->lock);
	mutex_unlock(&vf->dma.lock);
}

/* Saving */

static void kvx_mvf_mig_queue(struct kvx_mvf_mig_file *migf, const void *data,
			      size_t size)
{
	memcpy(migf->buf + migf->end, data, size);
	migf->end += size;
	migf->produced += size;
}

static void kvx_mvf_mig_queue_tlv(struct kvx_mvf_mig_file *migf, u16 type,
				  u16 flags, const void *payload, size_t size)
{
	struct kvx_mvf_mig_tlv tlv = {
		.type = cpu_to_le16(type),
		.flags = cpu_to_le16(flags),
		.length = cpu_to_le32(size),
	};

	/* Every payload is a multiple of 8 bytes: no padding to write. */
	BUILD_BUG_ON(sizeof(struct kvx_mvf_mig_image) % 8);
	kvx_mvf_mig_queue(migf, &tlv, sizeof(tlv));
	kvx_mvf_mig_queue(migf, payload, size);
}

/*
 * A section's flags in the stream: the table's, and REQUIRED for a
 * non-empty multicast list, which a destination must not drop.
 */
static u16 kvx_mvf_mig_tlv_flags(const struct kvx_mvf_mig_image *img,
				 const struct kvx_mvf_mig_section *sec)
{
	if (sec->type == KVX_MVF_MIG_MCAST && img->mcast.nr_hashes)
		return KVX_MVF_MIG_TLV_REQUIRED;
	return sec->flags;
}

static bool kvx_mvf_mig_section_dirty(struct kvx_mvf_mig_file *migf,
				      const struct kvx_mvf_mig_image *img,
				      const struct kvx_mvf_mig_section *sec)
{
	return !migf->sent_valid ||
	       memcmp((const u8 *)img + sec->offset,
		      (const u8 *)&migf->sent + sec->offset, sec->size);
}

/* Bytes the changed sections would take; @img is the current state. */
static size_t kvx_mvf_mig_dirty_size(struct kvx_mvf_mig_file *migf,
				     const struct kvx_mvf_mig_image *img)
{
	const struct kvx_mvf_mig_section *sec;
	size_t size = 0;

	for (sec = kvx_mvf_mig_sections;
	     sec < kvx_mvf_mig_sections + ARRAY_SIZE(kvx_mvf_mig_sections);
	     sec++)
		if (kvx_mvf_mig_section_dirty(migf, img, sec))
			size += KVX_MVF_MIG_TLV_SIZE + sec->size;
	return size;
}

static void kvx_mvf_mig_queue_dirty(struct kvx_mvf_mig_file *migf,
				    const struct kvx_mvf_mig_image *img)
{
	const struct kvx_mvf_mig_section *sec;

	for (sec = kvx_mvf_mig_sections;
	     sec < kvx_mvf_mig_sections + ARRAY_SIZE(kvx_mvf_mig_sections);
	     sec++) {
		if (!kvx_mvf_mig_section_dirty(migf, img, sec))
			continue;
		kvx_mvf_mig_queue_tlv(migf, sec->type,
				      kvx_mvf_mig_tlv_flags(img, sec),
				      (const u8 *)img + sec->offset, sec->size);
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
	struct kvx_mvf_mig_header hdr = {
		.magic = cpu_to_le32(KVX_MVF_MIG_MAGIC),
		.version = cpu_to_le16(KVX_MVF_MIG_VERSION),
		.generation = cpu_to_le16(vf->generation),
		.features = cpu_to_le32(kvx_mvf_dev_features(vf->generation)),
	};
	struct kvx_mvf_mig_file *migf;
	struct kvx_mvf_mig_image *img;

	img = kmalloc(sizeof(*img), GFP_KERNEL);
	if (!img)
		return ERR_PTR(-ENOMEM);
	migf = kvx_mvf_mig_file_create(vf, true);
	if (IS_ERR(migf)) {
		kfree(img);
		return ERR_CAST(migf);
	}

	kvx_mvf_mig_snapshot(vf, img);
	kvx_mvf_mig_queue(migf, &hdr, sizeof(hdr));
	kvx_mvf_mig_queue_dirty(migf, img);
	if (final) {
		kvx_mvf_mig_queue_tlv(migf, KVX_MVF_MIG_END,
				      KVX_MVF_MIG_TLV_REQUIRED, NULL, 0);
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
	kvx_mvf_mig_queue_tlv(migf, KVX_MVF_MIG_END, KVX_MVF_MIG_TLV_REQUIRED,
			      NULL, 0);
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
static int kvx_mvf_mig_check_header(struct kvx_mvf_vf *vf,
				    const struct kvx_mvf_mig_header *hdr)
{
	unsigned int gen = le16_to_cpu(hdr->generation);

	if (le32_to_cpu(hdr->magic) != KVX_MVF_MIG_MAGIC ||
	    le16_to_cpu(hdr->version) != KVX_MVF_MIG_VERSION || !gen ||
	    hdr->flags)
		return -EINVAL;
	if (gen > KVX_MVF_DEVICE_GENERATION_MAX)
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
	    kvx_mvf_mig_check_header(migf->vf, (void *)migf->buf)) {
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

static int kvx_mvf_mig_check_cfg(const struct kvx_mvf_mig_vf_config *cfg)
{
	unsigned int i, prev = 0, vid;

	if (!is_valid_ether_addr(cfg->mac) ||
	    le16_to_cpu(cfg->api) >> 8 != 1 || cfg->cts > 1 ||
	    cfg->nr_vlans > KVX_MVF_MAX_VLANS ||
	    memchr_inv(cfg->rsvd, 0, sizeof(cfg->rsvd)))
		return -EINVAL;
	for (i = 0; i < KVX_MVF_MAX_VLANS; i++) {
		vid = le16_to_cpu(cfg->vlans[i]);
		if (i >= cfg->nr_vlans) {
			if (vid)
				return -EINVAL;
			continue;
		}
		if (vid <= prev || vid > KVX_MVF_MIG_VID_MAX)
			return -EINVAL;
		prev = vid;
	}
	return 0;
}

static int kvx_mvf_mig_check_mcast(const struct kvx_mvf_mig_mcast *mcast)
{
	unsigned int i, nr = le16_to_cpu(mcast->nr_hashes), hash;
	int prev = -1;

	if (nr > KVX_MVF_MAX_MCAST || mcast->rsvd)
		return -EINVAL;
	for (i = 0; i < KVX_MVF_MAX_MCAST; i++) {
		hash = le16_to_cpu(mcast->hashes[i]);
		if (i >= nr) {
			if (hash)
				return -EINVAL;
			continue;
		}
		if ((int)hash <= prev || hash > KVX_MVF_MCAST_HASH_MASK)
			return -EINVAL;
		prev = hash;
	}
	return 0;
}

static int kvx_mvf_mig_check_mbx(const struct kvx_mvf_mig_mailbox *mbx)
{
	if (le32_to_cpu(mbx->vfmailbox) & ~KVX_MVF_MIG_MBX_BITS ||
	    le32_to_cpu(mbx->pf_msg_pending) > 1)
		return -EINVAL;
	return 0;
}

static int kvx_mvf_mig_check_dma(const struct kvx_mvf_mig_dma *dma,
				 const struct kvx_mvf_mig_dma_pending *pending)
{
	u32 size = le32_to_cpu(dma->ring_size);
	u32 head = le32_to_cpu(dma->head);
	u32 tail = le32_to_cpu(dma->tail);
	u32 ctrl = le32_to_cpu(dma->ctrl);

	if (ctrl & ~(KVX_MVF_DMA_CTRL_ENABLE | KVX_MVF_DMA_CTRL_IRQ) ||
	    le32_to_cpu(dma->status) & ~KVX_MVF_MIG_DMA_STATUS || dma->rsvd ||
	    le32_to_cpu(dma->errors) > le32_to_cpu(dma->completed) ||
	    le32_to_cpu(pending->kick_pending) > 1)
		return -EINVAL;
	if (!(ctrl & KVX_MVF_DMA_CTRL_ENABLE))
		return head || tail || pending->kick_pending ? -EINVAL : 0;
	if (!size || size > KVX_MVF_DMA_RING_MAX || !is_power_of_2(size) ||
	    !IS_ALIGNED(le64_to_cpu(dma->ring_base), KVX_MVF_DMA_DESC_SIZE) ||
	    head >= size || tail >= size)
		return -EINVAL;
	return 0;
}

/* The features the saved state uses; an API we do not know uses ~0. */
static u32 kvx_mvf_mig_used_features(const struct kvx_mvf_mig_image *img)
{
	u32 used = 0;

	switch (le16_to_cpu(img->cfg.api)) {
	case KVX_MVF_API_1_0:
		break;
	case KVX_MVF_API_1_1:
		used |= KVX_MVF_MIG_F_API_1_1;
		break;
	case KVX_MVF_API_1_2:
		used |= KVX_MVF_MIG_F_API_1_1 | KVX_MVF_MIG_F_API_1_2;
		break;
	default:
		return ~0U;
	}
	if (le32_to_cpu(img->dma.ctrl) & KVX_MVF_DMA_CTRL_ENABLE)
		used |= KVX_MVF_MIG_F_DMA;
	return used;
}

/*
 * Walk the stream into @img; the last copy of a section counts.  Returns
 * -EINVAL for anything malformed, else whether this VF can honour it.
 */
static int kvx_mvf_mig_parse(struct kvx_mvf_vf *vf, const u8 *buf,
			     size_t size, struct kvx_mvf_mig_image *img,
			     unsigned long *seen)
{
	const struct kvx_mvf_mig_header *hdr = (const void *)buf;
	const struct kvx_mvf_mig_section *sec;
	const struct kvx_mvf_mig_tlv *tlv;
	size_t off = sizeof(*hdr), len, padded;
	u16 type, flags;
	unsigned int i;
	u32 used;

	if (size < sizeof(*hdr) || kvx_mvf_mig_check_header(vf, hdr))
		return -EINVAL;

	for (;;) {
		if (size - off < sizeof(*tlv))
			return -EINVAL;		/* truncated: no END */
		tlv = (const void *)(buf + off);
		type = le16_to_cpu(tlv->type);
		flags = le16_to_cpu(tlv->flags);
		len = le32_to_cpu(tlv->length);
		off += sizeof(*tlv);
		if (flags & ~KVX_MVF_MIG_TLV_REQUIRED)
			return -EINVAL;
		if (type == KVX_MVF_MIG_END) {
			if (len || off != size)
				return -EINVAL;	/* trailing bytes */
			break;
		}
		padded = ALIGN(len, 8);
		if (len > size - off || padded > size - off ||
		    memchr_inv(buf + off + len, 0, padded - len))
			return -EINVAL;

		sec = NULL;
		for (i = 0; i < ARRAY_SIZE(kvx_mvf_mig_sections); i++)
			if (kvx_mvf_mig_sections[i].type == type)
				sec = &kvx_mvf_mig_sections[i];
		if (!sec) {
			if (flags & KVX_MVF_MIG_TLV_REQUIRED)
				return -EINVAL;
			off += padded;		/* unknown, optional: skip */
			continue;
		}
		if (len != sec->size)
			return -EINVAL;
		memcpy((u8 *)img + sec->offset, buf + off, len);
		*seen |= BIT(sec - kvx_mvf_mig_sections);
		off += padded;
	}

	for (i = 0; i < ARRAY_SIZE(kvx_mvf_mig_sections); i++)
		if ((kvx_mvf_mig_sections[i].flags &
		     KVX_MVF_MIG_TLV_REQUIRED) && !(*seen & BIT(i)))
			return -EINVAL;

	if (kvx_mvf_cfg_check_saved(vf, img->pci) ||
	    kvx_mvf_mig_check_cfg(&img->cfg) ||
	    kvx_mvf_mig_check_mcast(&img->mcast) ||
	    kvx_mvf_mig_check_mbx(&img->mbx) ||
	    kvx_mvf_mig_check_dma(&img->dma, &img->pending))
		return -EINVAL;

	/* What the state uses, the source must have had. */
	used = kvx_mvf_mig_used_features(img);
	if (used != ~0U && used & ~le32_to_cpu(hdr->features))
		return -EINVAL;
	return used != ~0U && !(used & ~kvx_mvf_dev_features(vf->generation)) &&
	       kvx_mvf_pf_api_supported(vf, le16_to_cpu(img->cfg.api));
}

/* @stats: the stream had the optional STATS section. */
static void kvx_mvf_mig_apply(struct kvx_mvf_vf *vf,
			      const struct kvx_mvf_mig_image *img,
			      bool compatible, bool stats)
{
	struct kvx_mvf_dma_regs *regs = &vf->dma.regs;
	struct kvx_mvf_vf_config *cfg = &vf->cfg;
	unsigned int i;

	mutex_lock(&vf->dma.lock);
	mutex_lock(&vf->lock);

	kvx_mvf_cfg_restore(vf, img->pci);
	if (stats) {
		vf->mbx.stats.requests = le64_to_cpu(img->stats.requests);
		vf->mbx.stats.nacks = le64_to_cpu(img->stats.nacks);
		vf->mbx.stats.protocol_errors =
			le64_to_cpu(img->stats.protocol_errors);
	}

	if (!compatible) {
		/* Quiesced: the guest driver starts over from RSTI. */
		kvx_mvf_pf_vf_reset(vf);
		kvx_mvf_mbx_reset(&vf->mbx);
		atomic_set(vf->mbx.ctrl, KVX_MVF_MBX_RSTI);
		memset(&vf->doorbell, 0, sizeof(vf->doorbell));
		memset(regs, 0, sizeof(*regs));
		vf->mig.quiesced_resumes++;
		goto out_unlock;
	}

	ether_addr_copy(cfg->mac, img->cfg.mac);
	cfg->api = le16_to_cpu(img->cfg.api);
	cfg->cts = img->cfg.cts;
	cfg->nr_vlans = img->cfg.nr_vlans;
	for (i = 0; i < KVX_MVF_MAX_VLANS; i++)
		cfg->vlans[i] = le16_to_cpu(img->cfg.vlans[i]);
	cfg->nr_mcast = le16_to_cpu(img->mcast.nr_hashes);
	for (i = 0; i < KVX_MVF_MAX_MCAST; i++)
		cfg->mcast[i] = le16_to_cpu(img->mcast.hashes[i]);

	atomic_set(vf->mbx.ctrl, le32_to_cpu(img->mbx.vfmailbox));
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		WRITE_ONCE(vf->mbx.mem[i], le32_to_cpu(img->mbx.vfmbmem[i]));
	vf->mbx.pf_msg_pending = le32_to_cpu(img->mbx.pf_msg_pending);
	vf->doorbell.count = le32_to_cpu(img->mbx.db_count);
	vf->doorbell.last = le32_to_cpu(img->mbx.db_last);

	regs->ctrl = le32_to_cpu(img->dma.ctrl);
	regs->status = le32_to_cpu(img->dma.status);
	regs->ring_base = le64_to_cpu(img->dma.ring_base);
	regs->ring_size = le32_to_cpu(img->dma.ring_size);
	regs->head = le32_to_cpu(img->dma.head);
	regs->tail = le32_to_cpu(img->dma.tail);
	regs->completed = le32_to_cpu(img->dma.completed);
	regs->errors = le32_to_cpu(img->dma.errors);
	regs->cpl_pending = le32_to_cpu(img->pending.cpl_pending);
	regs->kick_pending = le32_to_cpu(img->pending.kick_pending);

out_unlock:
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
	      kvx_mvf_mig_parse(vf, migf->buf, migf->end, img, &seen);
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
 * Open and VFIO_DEVICE_RESET: a function level reset, back to RUNNING.  A
 * reset notice still held goes with it: the reset clears RSTI anyway.
 */
void kvx_mvf_mig_reset(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->mig.state_mutex);
	kvx_mvf_mig_disable_files(vf);
	vf->mig.state = VFIO_DEVICE_STATE_RUNNING;
	vf->mig.reset_notice = false;
	kvx_mvf_dev_flr(vf);
	kvx_mvf_mig_sync(vf, vf->mig.state);
	mutex_unlock(&vf->mig.state_mutex);
}

/*
 * Close: the next open resets the device anyway.  The DMA engine is reset
 * first so that leaving a quiesced state serves no deferred doorbell: the
 * user, and the memory it mapped, may be gone.
 */
void kvx_mvf_mig_close(struct kvx_mvf_vf *vf)
{
	mutex_lock(&vf->mig.state_mutex);
	kvx_mvf_mig_disable_files(vf);
	vf->mig.state = VFIO_DEVICE_STATE_RUNNING;
	kvx_mvf_dma_reset(vf);
	kvx_mvf_mig_sync(vf, vf->mig.state);
	mutex_unlock(&vf->mig.state_mutex);
}

/* The PF's choice of mailbox mode takes effect when the VF runs. */
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

void kvx_mvf_mig_set_mbx_mode(struct kvx_mvf_vf *vf,
			      enum kvx_mvf_mbx_mode mode)
{
	mutex_lock(&vf->mig.state_mutex);
	vf->mig.mbx_mode = mode;
	kvx_mvf_mig_sync(vf, vf->mig.state);
	mutex_unlock(&vf->mig.state_mutex);
}
