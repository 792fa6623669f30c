/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the migration stream format (include/uapi/linux/kvx_mvf.h):
 * the device state as sections, writing them, checking and parsing a
 * stream.  Pure functions of their arguments, no VF and no locks, so that
 * KUnit tests them under UML (lib/kvx/mig_stream_kunit.c).
 */
#ifndef KVX_MVF_MIG_STREAM_H
#define KVX_MVF_MIG_STREAM_H

#include <linux/bits.h>
#include <linux/pci_regs.h>
#include <linux/types.h>
#include <linux/kvx_mvf.h>

struct kvx_mvf_doorbell;
struct kvx_mvf_dma_regs;
struct kvx_mvf_mbx;
struct kvx_mvf_vf_config;

/* The device state, as the stream's sections carry it. */
struct kvx_mvf_mig_image {
	u8 pci[PCI_CFG_SPACE_SIZE];
	struct kvx_mvf_mig_vf_config cfg;
	struct kvx_mvf_mig_mcast mcast;
	struct kvx_mvf_mig_mailbox mbx;
	struct kvx_mvf_mig_pf_msg pf_msg;
	struct kvx_mvf_mig_dma dma;
	struct kvx_mvf_mig_dma_pending pending;
	struct kvx_mvf_mig_stats stats;
};

/* A section type and where its payload is in the image. */
struct kvx_mvf_mig_section {
	u16 type;
	u16 flags;
	size_t offset;
	size_t size;
};

/* In stream order; STATS, optional, is the last. */
#define KVX_MVF_MIG_NR_SECTIONS	8
extern const struct kvx_mvf_mig_section
	kvx_mvf_mig_sections[KVX_MVF_MIG_NR_SECTIONS];

/* kvx_mvf_mig_parse()'s @seen: the stream had the STATS section. */
#define KVX_MVF_MIG_STATS_BIT	BIT(KVX_MVF_MIG_NR_SECTIONS - 1)

#define KVX_MVF_MIG_TLV_SIZE	sizeof(struct kvx_mvf_mig_tlv)
/* A whole stream without repeats: header, every section, END. */
#define KVX_MVF_MIG_FULL_SIZE						\
	(sizeof(struct kvx_mvf_mig_header) +				\
	 KVX_MVF_MIG_NR_SECTIONS * KVX_MVF_MIG_TLV_SIZE +		\
	 sizeof(struct kvx_mvf_mig_image) + KVX_MVF_MIG_TLV_SIZE)

/*
 * Where a VF keeps the state the sections carry, but config space, which
 * the device model restores (kvx_mvf_cfg_restore()).
 */
struct kvx_mvf_mig_parts {
	const u8 *config;
	struct kvx_mvf_vf_config *cfg;
	struct kvx_mvf_mbx *mbx;
	struct kvx_mvf_doorbell *doorbell;
	struct kvx_mvf_dma_regs *regs;
};

void kvx_mvf_mig_image_save(struct kvx_mvf_mig_image *img,
			    const struct kvx_mvf_mig_parts *parts);
void kvx_mvf_mig_image_apply(const struct kvx_mvf_mig_image *img,
			     const struct kvx_mvf_mig_parts *parts);
void kvx_mvf_mig_image_apply_stats(const struct kvx_mvf_mig_image *img,
				   struct kvx_mvf_mbx *mbx);

/* Writers: each returns the bytes it wrote at @buf. */
size_t kvx_mvf_mig_put_header(u8 *buf, unsigned int generation,
			      u32 features);
size_t kvx_mvf_mig_put_section(u8 *buf, const struct kvx_mvf_mig_image *img,
			       const struct kvx_mvf_mig_section *sec);
size_t kvx_mvf_mig_put_end(u8 *buf);

bool kvx_mvf_mig_section_changed(const struct kvx_mvf_mig_image *img,
				 const struct kvx_mvf_mig_image *old,
				 const struct kvx_mvf_mig_section *sec);

int kvx_mvf_mig_check_header(const struct kvx_mvf_mig_header *hdr);
int kvx_mvf_mig_parse(const u8 *buf, size_t size, unsigned int generation,
		      struct kvx_mvf_mig_image *img, unsigned long *seen);
bool kvx_mvf_mig_fits(const struct kvx_mvf_mig_image *img, u32 features);

#endif /* KVX_MVF_MIG_STREAM_H */
