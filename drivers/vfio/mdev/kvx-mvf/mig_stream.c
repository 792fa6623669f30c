// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the migration stream format.
 *
 * The device state is serialised as what the PF side and the registers
 * hold (config space, the negotiated VF configuration, the mailbox, the DMA
 * engine and the completions it owes), never as a log of messages.  The
 * stream is a header and sections (include/uapi/linux/kvx_mvf.h); each
 * section is a fixed structure of the image, which migration.c takes from
 * one consistent snapshot of the VF and applies to it.
 *
 * Parsing checks everything a stream says before anything uses it: the
 * header, every section's framing (flags, length, padding), that each
 * required section came, and the values of each section.  A section may
 * repeat (pre-copy re-sends what changed): the last copy counts.  An
 * unknown section is skipped unless it is REQUIRED.
 */

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/etherdevice.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <asm/byteorder.h>

#include "dev.h"
#include "dma.h"
#include "mbx.h"
#include "mig_stream.h"
#include "pf.h"

#define KVX_MVF_MIG_OFF(field)	offsetof(struct kvx_mvf_mig_image, field)
#define KVX_MVF_MIG_LEN(field)	sizeof_field(struct kvx_mvf_mig_image, field)
#define KVX_MVF_MIG_REQ		KVX_MVF_MIG_TLV_REQUIRED

/*
 * In stream order; STATS last.  MCAST and PF_MSG, added after version 1
 * was defined, are optional in the table (a stream without them has an
 * empty list, no PF message waiting) and written as REQUIRED when they
 * hold something a destination must not drop (kvx_mvf_mig_tlv_flags()).
 */
const struct kvx_mvf_mig_section kvx_mvf_mig_sections[] = {
	{ KVX_MVF_MIG_PCI_CONFIG, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(pci), KVX_MVF_MIG_LEN(pci) },
	{ KVX_MVF_MIG_VF_CONFIG, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(cfg), KVX_MVF_MIG_LEN(cfg) },
	{ KVX_MVF_MIG_MCAST, 0,
	  KVX_MVF_MIG_OFF(mcast), KVX_MVF_MIG_LEN(mcast) },
	{ KVX_MVF_MIG_MAILBOX, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(mbx), KVX_MVF_MIG_LEN(mbx) },
	{ KVX_MVF_MIG_PF_MSG, 0,
	  KVX_MVF_MIG_OFF(pf_msg), KVX_MVF_MIG_LEN(pf_msg) },
	{ KVX_MVF_MIG_DMA, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(dma), KVX_MVF_MIG_LEN(dma) },
	{ KVX_MVF_MIG_DMA_PENDING, KVX_MVF_MIG_REQ,
	  KVX_MVF_MIG_OFF(pending), KVX_MVF_MIG_LEN(pending) },
	{ KVX_MVF_MIG_STATS, 0,
	  KVX_MVF_MIG_OFF(stats), KVX_MVF_MIG_LEN(stats) },
};

/* Bits of VFMAILBOX that are state; REQ, ACK and PFU are never saved. */
#define KVX_MVF_MIG_MBX_BITS	(KVX_MVF_MBX_VFU | KVX_MVF_MBX_PFSTS | \
				 KVX_MVF_MBX_PFACK | KVX_MVF_MBX_RSTI | \
				 KVX_MVF_MBX_RSTD)
#define KVX_MVF_MIG_DMA_STATUS	(KVX_MVF_DMA_STATUS_CFG_ERR |	\
				 KVX_MVF_DMA_STATUS_RING_FAULT |	\
				 KVX_MVF_DMA_STATUS_NO_MASTER)
#define KVX_MVF_MIG_VID_MAX	4094

/* The image of @parts; the caller holds the locks that make it consistent. */
void kvx_mvf_mig_image_save(struct kvx_mvf_mig_image *img,
			    const struct kvx_mvf_mig_parts *parts)
{
	const struct kvx_mvf_dma_regs *regs = parts->regs;
	const struct kvx_mvf_vf_config *cfg = parts->cfg;
	const struct kvx_mvf_mbx *mbx = parts->mbx;
	unsigned int i;

	memset(img, 0, sizeof(*img));
	memcpy(img->pci, parts->config, sizeof(img->pci));

	ether_addr_copy(img->cfg.mac, cfg->mac);
	img->cfg.api = cpu_to_le16(cfg->api);
	img->cfg.cts = cfg->cts;
	img->cfg.nr_vlans = cfg->nr_vlans;
	for (i = 0; i < cfg->nr_vlans; i++)
		img->cfg.vlans[i] = cpu_to_le16(cfg->vlans[i]);
	img->mcast.nr_hashes = cpu_to_le16(cfg->nr_mcast);
	for (i = 0; i < cfg->nr_mcast; i++)
		img->mcast.hashes[i] = cpu_to_le16(cfg->mcast[i]);

	img->mbx.vfmailbox = cpu_to_le32(atomic_read(mbx->ctrl) &
					 KVX_MVF_MIG_MBX_BITS);
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		img->mbx.vfmbmem[i] = cpu_to_le32(READ_ONCE(mbx->mem[i]));
	img->mbx.pf_msg_pending = cpu_to_le32(mbx->pf_msg_pending);
	img->mbx.db_count = cpu_to_le32(parts->doorbell->count);
	img->mbx.db_last = cpu_to_le32(parts->doorbell->last);
	img->pf_msg.link_pending = cpu_to_le32(mbx->link_msg_pending);

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

	img->stats.requests = cpu_to_le64(mbx->stats.requests);
	img->stats.nacks = cpu_to_le64(mbx->stats.nacks);
	img->stats.protocol_errors = cpu_to_le64(mbx->stats.protocol_errors);
}

/* A parsed image into @parts, config space and statistics aside. */
void kvx_mvf_mig_image_apply(const struct kvx_mvf_mig_image *img,
			     const struct kvx_mvf_mig_parts *parts)
{
	struct kvx_mvf_dma_regs *regs = parts->regs;
	struct kvx_mvf_vf_config *cfg = parts->cfg;
	struct kvx_mvf_mbx *mbx = parts->mbx;
	unsigned int i;

	ether_addr_copy(cfg->mac, img->cfg.mac);
	cfg->api = le16_to_cpu(img->cfg.api);
	cfg->cts = img->cfg.cts;
	cfg->nr_vlans = img->cfg.nr_vlans;
	for (i = 0; i < KVX_MVF_MAX_VLANS; i++)
		cfg->vlans[i] = le16_to_cpu(img->cfg.vlans[i]);
	cfg->nr_mcast = le16_to_cpu(img->mcast.nr_hashes);
	for (i = 0; i < KVX_MVF_MAX_MCAST; i++)
		cfg->mcast[i] = le16_to_cpu(img->mcast.hashes[i]);

	atomic_set(mbx->ctrl, le32_to_cpu(img->mbx.vfmailbox));
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		WRITE_ONCE(mbx->mem[i], le32_to_cpu(img->mbx.vfmbmem[i]));
	mbx->pf_msg_pending = le32_to_cpu(img->mbx.pf_msg_pending);
	parts->doorbell->count = le32_to_cpu(img->mbx.db_count);
	parts->doorbell->last = le32_to_cpu(img->mbx.db_last);
	/* Written when the device runs and the buffer is free (mbx.c). */
	mbx->link_msg_pending = le32_to_cpu(img->pf_msg.link_pending);
	if (mbx->link_msg_pending)
		kvx_mvf_mbx_request_trap(mbx);

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
}

/* The optional STATS section, for a stream that had it. */
void kvx_mvf_mig_image_apply_stats(const struct kvx_mvf_mig_image *img,
				   struct kvx_mvf_mbx *mbx)
{
	mbx->stats.requests = le64_to_cpu(img->stats.requests);
	mbx->stats.nacks = le64_to_cpu(img->stats.nacks);
	mbx->stats.protocol_errors = le64_to_cpu(img->stats.protocol_errors);
}

/* Writing */

size_t kvx_mvf_mig_put_header(u8 *buf, unsigned int generation,
			      u32 features)
{
	struct kvx_mvf_mig_header hdr = {
		.magic = cpu_to_le32(KVX_MVF_MIG_MAGIC),
		.version = cpu_to_le16(KVX_MVF_MIG_VERSION),
		.generation = cpu_to_le16(generation),
		.features = cpu_to_le32(features),
	};

	memcpy(buf, &hdr, sizeof(hdr));
	return sizeof(hdr);
}

static size_t kvx_mvf_mig_put_tlv(u8 *buf, u16 type, u16 flags,
				  const void *payload, size_t size)
{
	struct kvx_mvf_mig_tlv tlv = {
		.type = cpu_to_le16(type),
		.flags = cpu_to_le16(flags),
		.length = cpu_to_le32(size),
	};

	/* Every payload is a multiple of 8 bytes: no padding to write. */
	BUILD_BUG_ON(sizeof(struct kvx_mvf_mig_image) % 8);
	memcpy(buf, &tlv, sizeof(tlv));
	if (size)
		memcpy(buf + sizeof(tlv), payload, size);
	return sizeof(tlv) + size;
}

/*
 * A section's flags in the stream: the table's, and REQUIRED for a
 * non-empty multicast list and for a PF message that waits, which a
 * destination must not drop.
 */
static u16 kvx_mvf_mig_tlv_flags(const struct kvx_mvf_mig_image *img,
				 const struct kvx_mvf_mig_section *sec)
{
	if (sec->type == KVX_MVF_MIG_MCAST && img->mcast.nr_hashes)
		return KVX_MVF_MIG_TLV_REQUIRED;
	if (sec->type == KVX_MVF_MIG_PF_MSG && img->pf_msg.link_pending)
		return KVX_MVF_MIG_TLV_REQUIRED;
	return sec->flags;
}

size_t kvx_mvf_mig_put_section(u8 *buf, const struct kvx_mvf_mig_image *img,
			       const struct kvx_mvf_mig_section *sec)
{
	return kvx_mvf_mig_put_tlv(buf, sec->type,
				   kvx_mvf_mig_tlv_flags(img, sec),
				   (const u8 *)img + sec->offset, sec->size);
}

size_t kvx_mvf_mig_put_end(u8 *buf)
{
	return kvx_mvf_mig_put_tlv(buf, KVX_MVF_MIG_END,
				   KVX_MVF_MIG_TLV_REQUIRED, NULL, 0);
}

/* Whether @sec differs between @img and @old. */
bool kvx_mvf_mig_section_changed(const struct kvx_mvf_mig_image *img,
				 const struct kvx_mvf_mig_image *old,
				 const struct kvx_mvf_mig_section *sec)
{
	return memcmp((const u8 *)img + sec->offset,
		      (const u8 *)old + sec->offset, sec->size);
}

/* Checking and parsing */

/* The header alone; whether its generation is the VF's is the caller's. */
int kvx_mvf_mig_check_header(const struct kvx_mvf_mig_header *hdr)
{
	unsigned int gen = le16_to_cpu(hdr->generation);

	if (le32_to_cpu(hdr->magic) != KVX_MVF_MIG_MAGIC ||
	    le16_to_cpu(hdr->version) != KVX_MVF_MIG_VERSION || !gen ||
	    hdr->flags || gen > KVX_MVF_DEVICE_GENERATION_MAX)
		return -EINVAL;
	return 0;
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

/*
 * A PF_LINK message waits only for a VF that takes them: clear to send,
 * API 1.1 or later (pf.c), as RESET, a reset notice and a negotiation
 * back to 1.0 drop it.
 */
static int kvx_mvf_mig_check_pf_msg(const struct kvx_mvf_mig_pf_msg *msg,
				    const struct kvx_mvf_mig_vf_config *cfg)
{
	u32 pending = le32_to_cpu(msg->link_pending);

	if (pending > 1 || msg->rsvd)
		return -EINVAL;
	if (pending && (!cfg->cts || le16_to_cpu(cfg->api) < KVX_MVF_API_1_1))
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
 * Walk the stream of a VF of @generation into @img, and set in @seen the
 * bit of each section's index in kvx_mvf_mig_sections[].  Returns 0, or
 * -EINVAL for anything malformed: the caller checks config space against
 * the VF's (kvx_mvf_cfg_check_saved()).
 */
int kvx_mvf_mig_parse(const u8 *buf, size_t size, unsigned int generation,
		      struct kvx_mvf_mig_image *img, unsigned long *seen)
{
	const struct kvx_mvf_mig_header *hdr = (const void *)buf;
	const struct kvx_mvf_mig_section *sec;
	const struct kvx_mvf_mig_tlv *tlv;
	size_t off = sizeof(*hdr), len, padded;
	u16 type, flags;
	unsigned int i;
	u32 used;

	BUILD_BUG_ON(ARRAY_SIZE(kvx_mvf_mig_sections) !=
		     KVX_MVF_MIG_NR_SECTIONS);

	if (size < sizeof(*hdr) || kvx_mvf_mig_check_header(hdr) ||
	    le16_to_cpu(hdr->generation) != generation)
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
		for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++)
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

	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++)
		if ((kvx_mvf_mig_sections[i].flags &
		     KVX_MVF_MIG_TLV_REQUIRED) && !(*seen & BIT(i)))
			return -EINVAL;

	if (kvx_mvf_mig_check_cfg(&img->cfg) ||
	    kvx_mvf_mig_check_mcast(&img->mcast) ||
	    kvx_mvf_mig_check_mbx(&img->mbx) ||
	    kvx_mvf_mig_check_pf_msg(&img->pf_msg, &img->cfg) ||
	    kvx_mvf_mig_check_dma(&img->dma, &img->pending))
		return -EINVAL;

	/* What the state uses, the source must have had. */
	used = kvx_mvf_mig_used_features(img);
	if (used != ~0U && used & ~le32_to_cpu(hdr->features))
		return -EINVAL;
	return 0;
}

/*
 * Whether a VF with @features can honour a parsed image as it is: else it
 * resumes quiesced (migration.c).
 */
bool kvx_mvf_mig_fits(const struct kvx_mvf_mig_image *img, u32 features)
{
	u32 used = kvx_mvf_mig_used_features(img);

	return used != ~0U && !(used & ~features);
}
