// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for kvx-mvf's migration stream format
 * (drivers/vfio/mdev/kvx-mvf/mig_stream.c, linked here as
 * mvf_mig_stream.c).
 *
 * Each test writes a valid stream with the driver's own writers, checks
 * that it parses, then breaks it in one way: every prefix of it, every
 * section's length, a repeated section, an unknown section, a missing one,
 * the header's fields and the values each section may hold.
 */

#include <kunit/test.h>
#include <linux/etherdevice.h>
#include <linux/module.h>
#include <linux/string.h>

#include "dev.h"
#include "dma.h"
#include "mbx.h"
#include "mig_stream.h"
#include "pf.h"

#define GEN		1
#define FEATURES	(KVX_MVF_MIG_F_API_1_1 | KVX_MVF_MIG_F_DMA)
/* Room for a full stream, repeats and an unknown section. */
#define BUF_SIZE	(4 * KVX_MVF_MIG_FULL_SIZE)

/* A stream under test: its bytes and where each section's TLV is. */
struct stream {
	u8 *buf;
	size_t size;
	size_t tlv[KVX_MVF_MIG_NR_SECTIONS];
	size_t end;		/* the END TLV */
};

static const u8 test_mac[ETH_ALEN] = { 0x02, 0x6b, 0x76, 0x78, 0x00, 0x01 };

/*
 * A valid image: API 1.1, two VLANs, three hashes, a PF_LINK message
 * waiting, the DMA ring on.
 */
static void valid_image(struct kvx_mvf_mig_image *img)
{
	memset(img, 0, sizeof(*img));
	img->pci[0] = 0x42;
	ether_addr_copy(img->cfg.mac, test_mac);
	img->cfg.api = cpu_to_le16(KVX_MVF_API_1_1);
	img->cfg.cts = 1;
	img->cfg.nr_vlans = 2;
	img->cfg.vlans[0] = cpu_to_le16(10);
	img->cfg.vlans[1] = cpu_to_le16(4094);
	img->mcast.nr_hashes = cpu_to_le16(3);
	img->mcast.hashes[0] = cpu_to_le16(0);
	img->mcast.hashes[1] = cpu_to_le16(7);
	img->mcast.hashes[2] = cpu_to_le16(KVX_MVF_MCAST_HASH_MASK);
	img->mbx.vfmailbox = cpu_to_le32(KVX_MVF_MBX_VFU);
	img->mbx.vfmbmem[0] = cpu_to_le32(0xdeadbeef);
	img->mbx.pf_msg_pending = cpu_to_le32(1);
	img->mbx.db_count = cpu_to_le32(5);
	img->pf_msg.link_pending = cpu_to_le32(1);
	img->dma.ctrl = cpu_to_le32(KVX_MVF_DMA_CTRL_ENABLE);
	img->dma.ring_base = cpu_to_le64(0x100000);
	img->dma.ring_size = cpu_to_le32(16);
	img->dma.head = cpu_to_le32(3);
	img->dma.tail = cpu_to_le32(15);
	img->dma.completed = cpu_to_le32(9);
	img->dma.errors = cpu_to_le32(1);
	img->pending.cpl_pending = cpu_to_le32(2);
	img->pending.kick_pending = cpu_to_le32(1);
	img->stats.requests = cpu_to_le64(100);
}

/* Header, the sections whose bit is not in @skip, END. */
static void build(struct stream *s, const struct kvx_mvf_mig_image *img,
		  unsigned long skip)
{
	unsigned int i;
	size_t off;

	off = kvx_mvf_mig_put_header(s->buf, GEN, FEATURES);
	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++) {
		s->tlv[i] = off;
		if (skip & BIT(i))
			continue;
		off += kvx_mvf_mig_put_section(s->buf + off, img,
					       &kvx_mvf_mig_sections[i]);
	}
	s->end = off;
	off += kvx_mvf_mig_put_end(s->buf + off);
	s->size = off;
}

static int parse(const struct stream *s, struct kvx_mvf_mig_image *img,
		 unsigned long *seen)
{
	memset(img, 0, sizeof(*img));
	*seen = 0;
	return kvx_mvf_mig_parse(s->buf, s->size, GEN, img, seen);
}

/* Insert @len bytes at @off (the stream grows). */
static void insert(struct stream *s, size_t off, const void *data,
		   size_t len)
{
	memmove(s->buf + off + len, s->buf + off, s->size - off);
	memcpy(s->buf + off, data, len);
	s->size += len;
}

static struct kvx_mvf_mig_tlv *tlv_at(struct stream *s, size_t off)
{
	return (struct kvx_mvf_mig_tlv *)(s->buf + off);
}

struct fixture {
	struct stream s;
	struct kvx_mvf_mig_image img, out;
	unsigned long seen;
};

static struct fixture *setup(struct kunit *test)
{
	struct fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->s.buf = kunit_kzalloc(test, BUF_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f->s.buf);
	valid_image(&f->img);
	build(&f->s, &f->img, 0);
	return f;
}

static void mig_valid_stream_test(struct kunit *test)
{
	struct fixture *f = setup(test);

	KUNIT_EXPECT_EQ(test, f->s.size, KVX_MVF_MIG_FULL_SIZE);
	KUNIT_ASSERT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	KUNIT_EXPECT_EQ(test, f->seen, BIT(KVX_MVF_MIG_NR_SECTIONS) - 1);
	KUNIT_EXPECT_MEMEQ(test, &f->out, &f->img, sizeof(f->img));
	KUNIT_EXPECT_TRUE(test, kvx_mvf_mig_fits(&f->out, FEATURES));
}

/* An optional section unknown to kvx-mvf: 5 bytes and 3 of padding. */
static const struct {
	struct kvx_mvf_mig_tlv tlv;
	u8 payload[8];
} unknown = {
	.tlv = { .type = cpu_to_le16(0x7fff), .length = cpu_to_le32(5) },
	.payload = { 1, 2, 3, 4, 5 },
};

static void expect_prefixes_refused(struct kunit *test, struct fixture *f)
{
	size_t full = f->s.size;

	for (f->s.size = 0; f->s.size < full; f->s.size++)
		KUNIT_EXPECT_EQ_MSG(test, parse(&f->s, &f->out, &f->seen),
				    -EINVAL, "%zu of %zu bytes", f->s.size,
				    full);
	f->s.size = full;
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
}

/* Every prefix of a stream is refused, down to the empty one. */
static void mig_truncated_test(struct kunit *test)
{
	struct fixture *f = setup(test);

	expect_prefixes_refused(test, f);
	/* Prefixes that end in a payload's padding too. */
	insert(&f->s, f->s.tlv[3], &unknown, sizeof(unknown));
	expect_prefixes_refused(test, f);
}

/* Trailing bytes after END, END with a payload. */
static void mig_end_test(struct kunit *test)
{
	struct fixture *f = setup(test);
	static const u8 zeros[8];

	f->s.size++;
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
	f->s.size--;
	/* A second END. */
	insert(&f->s, f->s.size, f->s.buf + f->s.end, KVX_MVF_MIG_TLV_SIZE);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
	f->s.size -= KVX_MVF_MIG_TLV_SIZE;

	tlv_at(&f->s, f->s.end)->length = cpu_to_le32(8);
	insert(&f->s, f->s.size, zeros, sizeof(zeros));
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
}

/* Each known section's length, off by one, by a padding unit, or absurd. */
static void mig_bad_length_test(struct kunit *test)
{
	static const s64 deltas[] = { -8, -1, 1, 7, 8 };
	struct fixture *f = setup(test);
	const struct kvx_mvf_mig_section *sec;
	struct kvx_mvf_mig_tlv *tlv;
	unsigned int i, j;

	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++) {
		sec = &kvx_mvf_mig_sections[i];
		tlv = tlv_at(&f->s, f->s.tlv[i]);
		KUNIT_ASSERT_EQ(test, le16_to_cpu(tlv->type), sec->type);
		for (j = 0; j < ARRAY_SIZE(deltas); j++) {
			tlv->length = cpu_to_le32(sec->size + deltas[j]);
			KUNIT_EXPECT_EQ_MSG(test,
					    parse(&f->s, &f->out, &f->seen),
					    -EINVAL, "section %u, length %zu%+lld",
					    sec->type, sec->size, deltas[j]);
		}
		tlv->length = cpu_to_le32(0);
		KUNIT_EXPECT_EQ_MSG(test, parse(&f->s, &f->out, &f->seen),
				    -EINVAL, "section %u, length 0", sec->type);
		tlv->length = cpu_to_le32(U32_MAX);
		KUNIT_EXPECT_EQ_MSG(test, parse(&f->s, &f->out, &f->seen),
				    -EINVAL, "section %u, length U32_MAX",
				    sec->type);
		tlv->length = cpu_to_le32(sec->size);
	}
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
}

/* A repeated section: the last copy counts, and is the one checked. */
static void mig_duplicate_test(struct kunit *test)
{
	struct fixture *f = setup(test);
	const struct kvx_mvf_mig_section *sec;
	struct kvx_mvf_mig_image second = f->img;
	unsigned int i;
	size_t len;
	u8 *tlv;

	tlv = kunit_kzalloc(test, KVX_MVF_MIG_FULL_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tlv);

	/* Each section again, changed, before END. */
	second.pci[0] = 0x43;
	second.cfg.nr_vlans = 1;
	second.cfg.vlans[1] = 0;
	second.mcast.nr_hashes = cpu_to_le16(0);
	memset(second.mcast.hashes, 0, sizeof(second.mcast.hashes));
	second.mbx.db_count = cpu_to_le32(6);
	second.pf_msg.link_pending = cpu_to_le32(0);
	second.dma.head = cpu_to_le32(4);
	second.pending.cpl_pending = cpu_to_le32(0);
	second.stats.nacks = cpu_to_le64(1);
	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++) {
		len = kvx_mvf_mig_put_section(tlv, &second,
					      &kvx_mvf_mig_sections[i]);
		insert(&f->s, f->s.size - KVX_MVF_MIG_TLV_SIZE, tlv, len);
	}
	KUNIT_ASSERT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	KUNIT_EXPECT_MEMEQ(test, &f->out, &second, sizeof(second));

	/* A valid section, then a copy of it that is not. */
	build(&f->s, &f->img, 0);
	second = f->img;
	second.dma.head = cpu_to_le32(16);	/* past the ring's end */
	sec = &kvx_mvf_mig_sections[5];
	KUNIT_ASSERT_EQ(test, sec->type, KVX_MVF_MIG_DMA);
	len = kvx_mvf_mig_put_section(tlv, &second, sec);
	insert(&f->s, f->s.end, tlv, len);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);

	/* And the other way round: the invalid one is overwritten. */
	build(&f->s, &f->img, 0);
	insert(&f->s, f->s.tlv[5], tlv, len);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(f->out.dma.head), 3);
}

/* An unknown section: skipped when optional, refused when REQUIRED. */
static void mig_unknown_section_test(struct kunit *test)
{
	struct fixture *f = setup(test);
	size_t pad = f->s.tlv[0] + sizeof(unknown.tlv) + 7;

	/* In front of the first section. */
	insert(&f->s, f->s.tlv[0], &unknown, sizeof(unknown));
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	KUNIT_EXPECT_MEMEQ(test, &f->out, &f->img, sizeof(f->img));

	/* The padding must be zero. */
	f->s.buf[pad] = 1;
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
	f->s.buf[pad] = 0;

	tlv_at(&f->s, f->s.tlv[0])->flags =
		cpu_to_le16(KVX_MVF_MIG_TLV_REQUIRED);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);

	/* A flag that is not defined, on an unknown or a known section. */
	tlv_at(&f->s, f->s.tlv[0])->flags = cpu_to_le16(2);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
	build(&f->s, &f->img, 0);
	tlv_at(&f->s, f->s.tlv[1])->flags =
		cpu_to_le16(KVX_MVF_MIG_TLV_REQUIRED | 0x8000);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
}

/* Every REQUIRED section must come; MCAST, PF_MSG and STATS need not. */
static void mig_missing_section_test(struct kunit *test)
{
	struct fixture *f = setup(test);
	const struct kvx_mvf_mig_section *sec;
	unsigned long bit;
	unsigned int i;

	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++) {
		sec = &kvx_mvf_mig_sections[i];
		bit = BIT(i);
		build(&f->s, &f->img, bit);
		if (sec->flags & KVX_MVF_MIG_TLV_REQUIRED) {
			KUNIT_EXPECT_EQ_MSG(test,
					    parse(&f->s, &f->out, &f->seen),
					    -EINVAL, "without section %u",
					    sec->type);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, parse(&f->s, &f->out, &f->seen), 0,
				    "without section %u", sec->type);
		KUNIT_EXPECT_EQ(test, f->seen,
				(BIT(KVX_MVF_MIG_NR_SECTIONS) - 1) & ~bit);
	}

	/* A stream without MCAST has an empty list. */
	build(&f->s, &f->img, BIT(2));
	KUNIT_ASSERT_EQ(test, kvx_mvf_mig_sections[2].type, KVX_MVF_MIG_MCAST);
	KUNIT_ASSERT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(f->out.mcast.nr_hashes), 0);

	/* A stream without PF_MSG has no PF message waiting. */
	build(&f->s, &f->img, BIT(4));
	KUNIT_ASSERT_EQ(test, kvx_mvf_mig_sections[4].type, KVX_MVF_MIG_PF_MSG);
	KUNIT_ASSERT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(f->out.pf_msg.link_pending), 0);
}

/*
 * MCAST is written REQUIRED when its list is not empty, PF_MSG when a
 * message waits; STATS is never.
 */
static void mig_mcast_flags_test(struct kunit *test)
{
	struct fixture *f = setup(test);

	KUNIT_ASSERT_EQ(test, kvx_mvf_mig_sections[4].type, KVX_MVF_MIG_PF_MSG);
	KUNIT_ASSERT_EQ(test, kvx_mvf_mig_sections[7].type, KVX_MVF_MIG_STATS);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(tlv_at(&f->s, f->s.tlv[2])->flags),
			KVX_MVF_MIG_TLV_REQUIRED);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(tlv_at(&f->s, f->s.tlv[4])->flags),
			KVX_MVF_MIG_TLV_REQUIRED);
	f->img.mcast.nr_hashes = 0;
	memset(f->img.mcast.hashes, 0, sizeof(f->img.mcast.hashes));
	f->img.pf_msg.link_pending = 0;
	build(&f->s, &f->img, 0);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(tlv_at(&f->s, f->s.tlv[2])->flags),
			0);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(tlv_at(&f->s, f->s.tlv[4])->flags),
			0);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(tlv_at(&f->s, f->s.tlv[7])->flags),
			0);
}

struct header_case {
	const char *name;
	size_t offset;		/* of the field in the header */
	size_t size;
	u32 value;
};

#define HDR_OFF(field)	offsetof(struct kvx_mvf_mig_header, field)
#define HDR_LEN(field)	sizeof_field(struct kvx_mvf_mig_header, field)

static const struct header_case header_cases[] = {
	{ "magic", HDR_OFF(magic), HDR_LEN(magic), KVX_MVF_MIG_MAGIC + 1 },
	{ "version 0", HDR_OFF(version), HDR_LEN(version), 0 },
	{ "version 2", HDR_OFF(version), HDR_LEN(version), KVX_MVF_MIG_VERSION + 1 },
	{ "generation 0", HDR_OFF(generation), HDR_LEN(generation), 0 },
	{ "generation past the last", HDR_OFF(generation), HDR_LEN(generation),
	  KVX_MVF_DEVICE_GENERATION_MAX + 1 },
	{ "another generation", HDR_OFF(generation), HDR_LEN(generation), GEN + 1 },
	{ "flags", HDR_OFF(flags), HDR_LEN(flags), 1 },
	/* The state uses DMA and API 1.1: the source must have had them. */
	{ "features without DMA", HDR_OFF(features), HDR_LEN(features), KVX_MVF_MIG_F_API_1_1 },
	{ "features without API 1.1", HDR_OFF(features), HDR_LEN(features), KVX_MVF_MIG_F_DMA },
};

static void header_case_desc(const struct header_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(header, header_cases, header_case_desc);

static void mig_bad_header_test(struct kunit *test)
{
	const struct header_case *c = test->param_value;
	struct fixture *f = setup(test);
	__le32 v32 = cpu_to_le32(c->value);
	__le16 v16 = cpu_to_le16(c->value);

	memcpy(f->s.buf + c->offset, c->size == 4 ? (void *)&v32 : &v16,
	       c->size);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
}

/*
 * A value a section may not hold: @size bytes at @offset of a valid image
 * (with the DMA ring off first when @ring_off) become @value.
 */
struct value_case {
	const char *name;
	size_t offset;
	size_t size;
	u64 value;
	bool ring_off;
};

#define IMG_OFF(field)	offsetof(struct kvx_mvf_mig_image, field)
#define IMG_LEN(field)	sizeof_field(struct kvx_mvf_mig_image, field)

static const struct value_case value_cases[] = {
	{ "MAC multicast", IMG_OFF(cfg.mac[0]), IMG_LEN(cfg.mac[0]), 0x03 },
	{ "MAC zero", IMG_OFF(cfg.mac), IMG_LEN(cfg.mac), 0 },
	{ "API major 2", IMG_OFF(cfg.api), IMG_LEN(cfg.api), 0x0201 },
	{ "CTS 2", IMG_OFF(cfg.cts), IMG_LEN(cfg.cts), 2 },
	{ "VF_CONFIG rsvd", IMG_OFF(cfg.rsvd[5]), IMG_LEN(cfg.rsvd[5]), 1 },
	{ "too many VLANs", IMG_OFF(cfg.nr_vlans), IMG_LEN(cfg.nr_vlans),
	  KVX_MVF_MAX_VLANS + 1 },
	{ "VLAN 0", IMG_OFF(cfg.vlans[0]), IMG_LEN(cfg.vlans[0]), 0 },
	{ "VLAN 4095", IMG_OFF(cfg.vlans[1]), IMG_LEN(cfg.vlans[1]), 4095 },
	{ "VLANs unsorted", IMG_OFF(cfg.vlans[1]), IMG_LEN(cfg.vlans[1]), 9 },
	{ "VLAN repeated", IMG_OFF(cfg.vlans[1]), IMG_LEN(cfg.vlans[1]), 10 },
	{ "unused VLAN not 0", IMG_OFF(cfg.vlans[2]), IMG_LEN(cfg.vlans[2]),
	  5 },
	{ "too many hashes", IMG_OFF(mcast.nr_hashes), IMG_LEN(mcast.nr_hashes),
	  KVX_MVF_MAX_MCAST + 1 },
	{ "MCAST rsvd", IMG_OFF(mcast.rsvd), IMG_LEN(mcast.rsvd), 1 },
	{ "hash repeated", IMG_OFF(mcast.hashes[1]), IMG_LEN(mcast.hashes[1]),
	  0 },
	{ "hash past the mask", IMG_OFF(mcast.hashes[2]), IMG_LEN(mcast.hashes[2]),

	  KVX_MVF_MCAST_HASH_MASK + 1 },
	{ "unused hash not 0", IMG_OFF(mcast.hashes[3]), IMG_LEN(mcast.hashes[3]),
	  9 },
	{ "VFMAILBOX REQ saved", IMG_OFF(mbx.vfmailbox), IMG_LEN(mbx.vfmailbox),
	  KVX_MVF_MBX_VFU | KVX_MVF_MBX_REQ },
	{ "pf_msg_pending 2", IMG_OFF(mbx.pf_msg_pending), IMG_LEN(mbx.pf_msg_pending),
	  2 },
	{ "link_pending 2", IMG_OFF(pf_msg.link_pending),
	  IMG_LEN(pf_msg.link_pending), 2 },
	{ "PF_MSG rsvd", IMG_OFF(pf_msg.rsvd), IMG_LEN(pf_msg.rsvd), 1 },
	{ "PF_LINK waiting without CTS", IMG_OFF(cfg.cts), IMG_LEN(cfg.cts), 0 },
	{ "PF_LINK waiting for API 1.0", IMG_OFF(cfg.api), IMG_LEN(cfg.api),
	  KVX_MVF_API_1_0 },
	{ "DMA ctrl bit 31", IMG_OFF(dma.ctrl), IMG_LEN(dma.ctrl),
	  KVX_MVF_DMA_CTRL_ENABLE | BIT(31) },
	{ "DMA status bit 31", IMG_OFF(dma.status), IMG_LEN(dma.status),
	  BIT(31) },
	{ "DMA rsvd", IMG_OFF(dma.rsvd), IMG_LEN(dma.rsvd), 1 },
	{ "more errors than completions", IMG_OFF(dma.errors), IMG_LEN(dma.errors),
	  10 },
	{ "kick_pending 2", IMG_OFF(pending.kick_pending), IMG_LEN(pending.kick_pending),
	  2 },
	{ "ring size 0", IMG_OFF(dma.ring_size), IMG_LEN(dma.ring_size), 0 },
	{ "ring size not a power of 2", IMG_OFF(dma.ring_size), IMG_LEN(dma.ring_size),
	  24 },
	{ "ring size past the max", IMG_OFF(dma.ring_size), IMG_LEN(dma.ring_size),

	  KVX_MVF_DMA_RING_MAX * 2 },
	{ "ring base unaligned", IMG_OFF(dma.ring_base), IMG_LEN(dma.ring_base),
	  0x100000 + KVX_MVF_DMA_DESC_SIZE / 2 },
	{ "head past the ring", IMG_OFF(dma.head), IMG_LEN(dma.head), 16 },
	{ "tail past the ring", IMG_OFF(dma.tail), IMG_LEN(dma.tail), 16 },
	{ "ring off, head", IMG_OFF(dma.head), IMG_LEN(dma.head), 1, true },
	{ "ring off, tail", IMG_OFF(dma.tail), IMG_LEN(dma.tail), 1, true },
	{ "ring off, kick_pending", IMG_OFF(pending.kick_pending), IMG_LEN(pending.kick_pending),
	  1, true },
};

static void value_case_desc(const struct value_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(value, value_cases, value_case_desc);

static void ring_off(struct kvx_mvf_mig_image *img)
{
	img->dma.ctrl = 0;
	img->dma.head = 0;
	img->dma.tail = 0;
	img->pending.kick_pending = 0;
}

static void mig_bad_value_test(struct kunit *test)
{
	const struct value_case *c = test->param_value;
	struct fixture *f = setup(test);
	__le64 value = cpu_to_le64(c->value);

	if (c->ring_off) {
		ring_off(&f->img);
		build(&f->s, &f->img, 0);
		KUNIT_ASSERT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	}
	KUNIT_ASSERT_LE(test, c->size, sizeof(value));
	memcpy((u8 *)&f->img + c->offset, &value, c->size);
	build(&f->s, &f->img, 0);
	KUNIT_EXPECT_EQ(test, parse(&f->s, &f->out, &f->seen), -EINVAL);
}

/* Parsed, but only a VF with the features the state uses honours it. */
static void mig_fits_test(struct kunit *test)
{
	struct kvx_mvf_mig_image img;

	valid_image(&img);
	KUNIT_EXPECT_TRUE(test, kvx_mvf_mig_fits(&img, FEATURES));
	KUNIT_EXPECT_FALSE(test, kvx_mvf_mig_fits(&img, KVX_MVF_MIG_F_DMA));
	KUNIT_EXPECT_FALSE(test,
			   kvx_mvf_mig_fits(&img, KVX_MVF_MIG_F_API_1_1));
	img.dma.ctrl = 0;
	KUNIT_EXPECT_TRUE(test,
			  kvx_mvf_mig_fits(&img, KVX_MVF_MIG_F_API_1_1));
	img.cfg.api = cpu_to_le16(KVX_MVF_API_1_2);
	KUNIT_EXPECT_FALSE(test,
			   kvx_mvf_mig_fits(&img, KVX_MVF_MIG_F_API_1_1));
	/* An API no generation knows fits no VF. */
	img.cfg.api = cpu_to_le16(0x01ff);
	KUNIT_EXPECT_FALSE(test, kvx_mvf_mig_fits(&img, U32_MAX));
}

/* A VF's state through an image and back: nothing lost, nothing added. */
static void mig_image_round_trip_test(struct kunit *test)
{
	struct kvx_mvf_vf_config cfg, cfg2;
	struct kvx_mvf_dma_regs regs, regs2;
	struct kvx_mvf_doorbell db = { .count = 7, .last = 0x1234 }, db2 = {};
	u32 mem[KVX_MVF_MBX_WORDS], mem2[KVX_MVF_MBX_WORDS] = {};
	struct kvx_mvf_mbx mbx = {}, mbx2 = {};
	atomic_t ctrl, ctrl2 = ATOMIC_INIT(0);
	u8 config[PCI_CFG_SPACE_SIZE];
	struct kvx_mvf_mig_parts parts = {
		.config = config, .cfg = &cfg, .mbx = &mbx, .doorbell = &db,
		.regs = &regs,
	};
	struct kvx_mvf_mig_parts parts2 = {
		.cfg = &cfg2, .mbx = &mbx2, .doorbell = &db2, .regs = &regs2,
	};
	struct fixture *f = setup(test);
	unsigned int i;

	/* Compared with memcmp(): padding too. */
	memset(&cfg, 0, sizeof(cfg));
	memset(&cfg2, 0, sizeof(cfg2));
	memset(&regs, 0, sizeof(regs));
	memset(&regs2, 0, sizeof(regs2));
	for (i = 0; i < sizeof(config); i++)
		config[i] = i;
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		mem[i] = 0x01010101 * i;
	ether_addr_copy(cfg.mac, test_mac);
	cfg.api = KVX_MVF_API_1_1;
	cfg.cts = true;
	cfg.nr_vlans = 1;
	cfg.vlans[0] = 100;
	cfg.nr_mcast = 2;
	cfg.mcast[0] = 1;
	cfg.mcast[1] = 2;
	/* REQ is never saved: the VF posts it again. */
	atomic_set(&ctrl, KVX_MVF_MBX_VFU | KVX_MVF_MBX_RSTI |
			  KVX_MVF_MBX_REQ);
	mbx.ctrl = &ctrl;
	mbx.mem = mem;
	mbx.pf_msg_pending = true;
	mbx.link_msg_pending = true;
	mbx.stats.requests = 11;
	mbx.stats.nacks = 3;
	mbx.stats.protocol_errors = 1;
	mbx.stats.pf_msgs = 99;		/* not in the stream */
	mbx2.ctrl = &ctrl2;
	mbx2.mem = mem2;
	regs.ctrl = KVX_MVF_DMA_CTRL_ENABLE | KVX_MVF_DMA_CTRL_IRQ;
	regs.ring_base = 0x200000;
	regs.ring_size = 8;
	regs.head = 1;
	regs.tail = 2;
	regs.completed = 4;
	regs.errors = 1;
	regs.cpl_pending = 2;
	regs.kick_pending = true;

	kvx_mvf_mig_image_save(&f->img, &parts);
	KUNIT_EXPECT_MEMEQ(test, f->img.pci, config, sizeof(config));
	build(&f->s, &f->img, 0);
	KUNIT_ASSERT_EQ(test, parse(&f->s, &f->out, &f->seen), 0);
	kvx_mvf_mig_image_apply(&f->out, &parts2);
	kvx_mvf_mig_image_apply_stats(&f->out, &mbx2);

	KUNIT_EXPECT_MEMEQ(test, &cfg2, &cfg, sizeof(cfg));
	KUNIT_EXPECT_MEMEQ(test, &regs2, &regs, sizeof(regs));
	KUNIT_EXPECT_MEMEQ(test, &db2, &db, sizeof(db));
	KUNIT_EXPECT_MEMEQ(test, mem2, mem, sizeof(mem));
	KUNIT_EXPECT_EQ(test, atomic_read(&ctrl2),
			KVX_MVF_MBX_VFU | KVX_MVF_MBX_RSTI);
	KUNIT_EXPECT_TRUE(test, mbx2.pf_msg_pending);
	/* The message waits, and the PF asks for the trap to write it. */
	KUNIT_EXPECT_TRUE(test, mbx2.link_msg_pending);
	KUNIT_EXPECT_TRUE(test, mbx2.pf_trap);
	KUNIT_EXPECT_EQ(test, mbx2.stats.requests, 11);
	KUNIT_EXPECT_EQ(test, mbx2.stats.nacks, 3);
	KUNIT_EXPECT_EQ(test, mbx2.stats.protocol_errors, 1);
	KUNIT_EXPECT_EQ(test, mbx2.stats.pf_msgs, 0);
}

/* Pre-copy re-sends a section exactly when its bytes changed. */
static void mig_section_changed_test(struct kunit *test)
{
	const struct kvx_mvf_mig_section *sec;
	struct kvx_mvf_mig_image a, b;
	unsigned int i;

	valid_image(&a);
	for (i = 0; i < KVX_MVF_MIG_NR_SECTIONS; i++) {
		sec = &kvx_mvf_mig_sections[i];
		b = a;
		KUNIT_EXPECT_FALSE_MSG(test,
				       kvx_mvf_mig_section_changed(&a, &b, sec),
				       "section %u", sec->type);
		/* The last byte of the section, and no other. */
		((u8 *)&b)[sec->offset + sec->size - 1] ^= 1;
		KUNIT_EXPECT_TRUE_MSG(test,
				      kvx_mvf_mig_section_changed(&a, &b, sec),
				      "section %u", sec->type);
	}
}

static struct kunit_case kvx_mvf_mig_stream_cases[] = {
	KUNIT_CASE(mig_valid_stream_test),
	KUNIT_CASE(mig_truncated_test),
	KUNIT_CASE(mig_end_test),
	KUNIT_CASE(mig_bad_length_test),
	KUNIT_CASE(mig_duplicate_test),
	KUNIT_CASE(mig_unknown_section_test),
	KUNIT_CASE(mig_missing_section_test),
	KUNIT_CASE(mig_mcast_flags_test),
	KUNIT_CASE_PARAM(mig_bad_header_test, header_gen_params),
	KUNIT_CASE_PARAM(mig_bad_value_test, value_gen_params),
	KUNIT_CASE(mig_fits_test),
	KUNIT_CASE(mig_image_round_trip_test),
	KUNIT_CASE(mig_section_changed_test),
	{}
};

static struct kunit_suite kvx_mvf_mig_stream_suite = {
	.name = "kvx_mvf_mig_stream",
	.test_cases = kvx_mvf_mig_stream_cases,
};

kunit_test_suite(kvx_mvf_mig_stream_suite);

MODULE_DESCRIPTION("KUnit tests for kvx-mvf's migration stream format");
MODULE_LICENSE("GPL");
