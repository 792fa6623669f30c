/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvx-mvf: the guest- and VMM-visible ABI of the kvx mediated virtual
 * function (a VFIO mdev emulating an SR-IOV VF with an igbvf-like mailbox).
 *
 * Documentation/virt/kvx/mvf.rst describes the registers and the messages.
 * Everything here is little-endian as seen by the VF driver.
 */
#ifndef _UAPI_LINUX_KVX_MVF_H
#define _UAPI_LINUX_KVX_MVF_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on any incompatible change of this file's registers or messages. */
#define KVX_MVF_ABI_VERSION		1
/*
 * Device generation: the default one.  A VF has the generation of its mdev
 * type, kvx-mvf-vf-g1 or kvx-mvf-vf-g2, or for kvx-mvf-vf that of the
 * module parameter "generation" when it is created (1 or 2); generation 2
 * adds API 1.2.  The guest reads it in VERSION; it is not the PCI revision
 * ID, which is the same for every generation (QEMU compares config space
 * byte for byte when it migrates).  A migration stream resumes only on a VF
 * of its own generation.
 */
#define KVX_MVF_DEVICE_GENERATION	1
#define KVX_MVF_DEVICE_GENERATION_MAX	2
#define KVX_MVF_PCI_REVISION		1

/*
 * PCI identity.  The IDs are experimental placeholders (not allocated by
 * the PCI-SIG); they only need to be unique on a kvx host.
 */
#define KVX_MVF_PCI_VENDOR_ID		0x1b36
#define KVX_MVF_PCI_DEVICE_ID		0x10f0
#define KVX_MVF_PCI_SUBSYS_VENDOR_ID	KVX_MVF_PCI_VENDOR_ID
#define KVX_MVF_PCI_SUBSYS_ID		0x0001
#define KVX_MVF_PCI_CLASS		0x020000	/* Ethernet controller */

/* BAR0: 32-bit non-prefetchable memory, four 4 KiB pages. */
#define KVX_MVF_BAR0_SIZE		0x4000
#define KVX_MVF_PAGE_SIZE		0x1000

/* Page 0: identification, status and doorbell block. */
#define KVX_MVF_REG_ID			0x0000	/* RO: KVX_MVF_ID_MAGIC */
#define KVX_MVF_REG_VERSION		0x0004	/* RO: ABI << 16 | generation */
#define KVX_MVF_REG_STATUS		0x0008	/* RO: KVX_MVF_STATUS_* */
#define KVX_MVF_REG_DOORBELL		0x000c	/* WO: VF to PF kick */
#define KVX_MVF_REG_DB_COUNT		0x0010	/* RO: doorbells since reset */

#define KVX_MVF_ID_MAGIC		0x4b4d5646	/* "KMVF" */
#define KVX_MVF_VERSION_ABI_SHIFT	16
#define KVX_MVF_VERSION_GEN_MASK	0xffff

#define KVX_MVF_STATUS_LINK_UP		_BITUL(0)
#define KVX_MVF_STATUS_RESET_PENDING	_BITUL(1)	/* mirrors VFMAILBOX.RSTI */
#define KVX_MVF_STATUS_CTS		_BITUL(2)	/* PF accepts requests */

/* Page 1: the PF<->VF mailbox (the only page DIRECT mode will map). */
#define KVX_MVF_MBX_PAGE		0x1000
#define KVX_MVF_REG_VFMAILBOX		0x1000
#define KVX_MVF_REG_VFMBMEM		0x1040
#define KVX_MVF_MBX_WORDS		16	/* VFMBMEM: 16 dwords */

/*
 * Page 2: the DMA engine.  A ring of KVX_MVF_DMA_DESC_SIZE-byte descriptors
 * in IOVA (guest) memory; the VF posts descriptors by advancing RING_TAIL
 * and writing DMA_DOORBELL, the device consumes them from RING_HEAD and
 * writes each one's status back.  Page 3 is reserved and reads as zero.
 */
#define KVX_MVF_DMA_PAGE		0x2000
#define KVX_MVF_REG_DMA_CTRL		0x2000	/* RW: KVX_MVF_DMA_CTRL_* */
#define KVX_MVF_REG_DMA_STATUS		0x2004	/* RO: KVX_MVF_DMA_STATUS_* */
#define KVX_MVF_REG_DMA_RING_LO		0x2008	/* RW while disabled */
#define KVX_MVF_REG_DMA_RING_HI		0x200c	/* RW while disabled */
#define KVX_MVF_REG_DMA_RING_SIZE	0x2010	/* RW while disabled */
#define KVX_MVF_REG_DMA_HEAD		0x2014	/* RO: next to process */
#define KVX_MVF_REG_DMA_TAIL		0x2018	/* RW: one past last posted */
#define KVX_MVF_REG_DMA_DOORBELL	0x201c	/* WO: process the ring */
#define KVX_MVF_REG_DMA_COMPLETED	0x2020	/* RO: descriptors completed */
#define KVX_MVF_REG_DMA_ERRORS		0x2024	/* RO: of which failed */
#define KVX_MVF_REG_DMA_CPL_PENDING	0x2028	/* RW: write n to ack n */

#define KVX_MVF_DMA_CTRL_ENABLE		_BITUL(0)
#define KVX_MVF_DMA_CTRL_IRQ		_BITUL(1)	/* MSI on completion */

#define KVX_MVF_DMA_STATUS_ENABLED	_BITUL(0)
#define KVX_MVF_DMA_STATUS_CFG_ERR	_BITUL(1)	/* enable refused */
#define KVX_MVF_DMA_STATUS_RING_FAULT	_BITUL(2)	/* halted */
#define KVX_MVF_DMA_STATUS_NO_MASTER	_BITUL(3)	/* bus master off */
#define KVX_MVF_DMA_STATUS_QUIESCED	_BITUL(4)	/* kick deferred */

#define KVX_MVF_DMA_RING_MAX		256	/* descriptors, power of 2 */
#define KVX_MVF_DMA_DESC_SIZE		32
#define KVX_MVF_DMA_MAX_LEN		0x100000	/* bytes per descriptor */

/*
 * A descriptor, little-endian.  COPY moves @len bytes from IOVA @src to
 * IOVA @dst (the ranges must not overlap); FILL writes @len bytes at @dst,
 * byte i taking byte (i % 4) of the 32-bit pattern in @src (bits 63:32 of
 * @src must be 0).  @flags and @rsvd must be 0.  The device writes @status
 * (and only @status) back: DONE with an error code in bits 7:0.
 */
struct kvx_mvf_dma_desc {
	__u16 op;
	__u16 flags;
	__u32 len;
	__u64 src;
	__u64 dst;
	__u32 status;
	__u32 rsvd;
};

#define KVX_MVF_DMA_OP_COPY		1
#define KVX_MVF_DMA_OP_FILL		2

#define KVX_MVF_DMA_STS_DONE		0x80000000
#define KVX_MVF_DMA_STS_ERR_MASK	0x000000ff
#define KVX_MVF_DMA_ERR_OK		0
#define KVX_MVF_DMA_ERR_OP		1	/* unknown op */
#define KVX_MVF_DMA_ERR_INVAL		2	/* bad field, length, overlap */
#define KVX_MVF_DMA_ERR_FAULT		3	/* IOVA not mapped */

/*
 * VFMAILBOX bits, with the meaning igbvf gives them, as levels in every
 * mode (mvf.rst, "The mailbox protocol"): REQ, ACK and VFU are the VF's
 * (the PF clears them when it takes them), the others the PF's.
 */
#define KVX_MVF_MBX_REQ		_BITUL(0)	/* VF posts a request (| VFU) */
#define KVX_MVF_MBX_ACK		_BITUL(1)	/* VF consumed a PF message */
#define KVX_MVF_MBX_VFU		_BITUL(2)	/* VF owns VFMBMEM */
#define KVX_MVF_MBX_PFU		_BITUL(3)	/* PF owns VFMBMEM */
#define KVX_MVF_MBX_PFSTS	_BITUL(4)	/* PF wrote a message; VF clears */
#define KVX_MVF_MBX_PFACK	_BITUL(5)	/* PF took the request; VF clears */
#define KVX_MVF_MBX_RSTI	_BITUL(6)	/* PF asks the VF to reset */
#define KVX_MVF_MBX_RSTD	_BITUL(7)	/* reset done; VF clears */
/* The PF sets them, the VF clears them (nothing is read-to-clear). */
#define KVX_MVF_MBX_R2C_BITS	(KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK | \
				 KVX_MVF_MBX_RSTD)

/*
 * Messages: word 0 is the header, words 1..15 the payload.  A reply carries
 * the request's id with ACK or NACK set, and CTS when the PF accepts further
 * requests.  A NACK carries a KVX_MVF_ERR_* code in word 1.
 */
#define KVX_MVF_MSG_ID_MASK		0x0000ffff
#define KVX_MVF_MSG_INFO_SHIFT		16
#define KVX_MVF_MSG_INFO_MASK		0x00ff0000
#define KVX_MVF_MSG_RSVD_MASK		0x1f000000	/* must be zero */
#define KVX_MVF_MSG_CTS			0x20000000
#define KVX_MVF_MSG_NACK		0x40000000
#define KVX_MVF_MSG_ACK			0x80000000

/* VF to PF requests (ids), and the API version that introduced them. */
#define KVX_MVF_MSG_RESET		0x0001	/* 1.0 */
#define KVX_MVF_MSG_SET_MAC		0x0002	/* 1.0 */
#define KVX_MVF_MSG_SET_MCAST		0x0003	/* 1.0, info: hash count */
#define KVX_MVF_MSG_SET_VLAN		0x0004	/* 1.0, info: 1 add, 0 del */
#define KVX_MVF_MSG_API_NEGOTIATE	0x0008	/* 1.0 */
#define KVX_MVF_MSG_GET_LINK		0x0009	/* 1.1 */

#define KVX_MVF_VLAN_ADD		1
#define KVX_MVF_VLAN_DEL		0
#define KVX_MVF_MAX_VLANS		16

/*
 * SET_MCAST replaces the VF's multicast filter with the message's list of
 * 12-bit hashes (igbvf's e1000_hash_mc_addr_vf()), two per payload word,
 * the first in bits 15:0 of word 1.  The header's info field is the count.
 */
#define KVX_MVF_MAX_MCAST		30	/* 15 words of two hashes */
#define KVX_MVF_MCAST_HASH_MASK		0x0fff

/*
 * PF to VF messages: sent by the PF unsolicited, with neither ACK nor NACK
 * in the header (CTS as in replies); the VF driver acknowledges them with
 * VFMAILBOX.ACK like a reply.  Ids 0x0100 and up; a VF request with such an
 * id is unknown.
 */
#define KVX_MVF_MSG_PF_LINK		0x0100	/* 1.1: w1 link, w2 speed */

/* API versions, major << 8 | minor. */
#define KVX_MVF_API_1_0			0x0100
#define KVX_MVF_API_1_1			0x0101
#define KVX_MVF_API_1_2			0x0102	/* generation 2 */

/* NACK error codes (reply word 1). */
#define KVX_MVF_ERR_UNKNOWN		1	/* unknown message id */
#define KVX_MVF_ERR_INVAL		2	/* malformed or invalid argument */
#define KVX_MVF_ERR_NOT_CTS		3	/* VF must send RESET first */
#define KVX_MVF_ERR_API			4	/* not in the negotiated API */
#define KVX_MVF_ERR_NOSPC		5	/* filter table full */
#define KVX_MVF_ERR_PERM		6	/* set by the PF's operator */

#define KVX_MVF_LINK_UP			_BITUL(0)	/* GET_LINK word 1 */

/*
 * The device has no ioctls of its own.  Two private ones, in VFIO's ioctl
 * space (VFIO_TYPE), were removed; both fail with ENOTTY and the numbers
 * are not reused:
 *
 * - KVX_MVF_DMA_LOGGING_REPORT (_IO(VFIO_TYPE, 0xf0), struct
 *   kvx_mvf_dma_logging_report): VFIO_DEVICE_FEATURE_DMA_LOGGING is
 *   offered only where the VFIO core serves REPORT; elsewhere a VMM uses
 *   the container's dirty tracking (mvf.rst, "DMA logging").
 * - KVX_MVF_SET_MBX_GPA (_IO(VFIO_TYPE, 0xf1), struct kvx_mvf_mbx_gpa): a
 *   VF opened with a KVM attached finds the memslot that holds the VMM's
 *   mapping of its mailbox page by itself (mvf.rst, "TRAPPED through KVM
 *   write tracking").
 */

/*
 * The VFIO migration stream (migration v2 data_fd), little-endian: a
 * header, then sections, each a struct kvx_mvf_mig_tlv followed by @length
 * bytes of payload and zero padding to a multiple of 8.  The last section
 * is END; nothing may follow it.  A section type may repeat (pre-copy sends
 * a section again when its state changed): the last one counts.  A
 * destination skips an unknown section unless it is REQUIRED, and rejects
 * the stream then.  Documentation/virt/kvx/mvf.rst has the rules.
 */
#define KVX_MVF_MIG_MAGIC		0x474d564b	/* "KVMG" */
#define KVX_MVF_MIG_VERSION		1
#define KVX_MVF_MIG_MAX_SIZE		0x10000	/* a whole stream */

/* What the source VF's generation can do (struct kvx_mvf_mig_header). */
#define KVX_MVF_MIG_F_API_1_1		_BITUL(0)
#define KVX_MVF_MIG_F_API_1_2		_BITUL(1)
#define KVX_MVF_MIG_F_DMA		_BITUL(2)

struct kvx_mvf_mig_header {
	__le32 magic;
	__le16 version;
	__le16 generation;	/* of the source VF, non-zero */
	__le32 features;	/* KVX_MVF_MIG_F_* */
	__le32 flags;		/* must be 0 */
};

#define KVX_MVF_MIG_TLV_REQUIRED	0x0001	/* the only flag */

struct kvx_mvf_mig_tlv {
	__le16 type;
	__le16 flags;
	__le32 length;
};

/*
 * Section types; all but STATS, MCAST and PF_MSG are REQUIRED.  MCAST is
 * REQUIRED when its list is not empty, PF_MSG when a PF to VF message
 * waits, so that a destination that does not know them refuses a stream
 * it cannot honour, and takes one that holds nothing for them; a stream
 * without MCAST has an empty list, one without PF_MSG no message waiting.
 */
#define KVX_MVF_MIG_END			0	/* no payload, last */
#define KVX_MVF_MIG_PCI_CONFIG		1	/* 256 bytes of config space */
#define KVX_MVF_MIG_VF_CONFIG		2	/* struct kvx_mvf_mig_vf_config */
#define KVX_MVF_MIG_MAILBOX		3	/* struct kvx_mvf_mig_mailbox */
#define KVX_MVF_MIG_DMA			4	/* struct kvx_mvf_mig_dma */
#define KVX_MVF_MIG_DMA_PENDING		5	/* struct kvx_mvf_mig_dma_pending */
#define KVX_MVF_MIG_STATS		6	/* struct kvx_mvf_mig_stats */
#define KVX_MVF_MIG_MCAST		7	/* struct kvx_mvf_mig_mcast */
#define KVX_MVF_MIG_PF_MSG		8	/* struct kvx_mvf_mig_pf_msg */

/* What the VF negotiated with the PF. */
struct kvx_mvf_mig_vf_config {
	__u8 mac[6];
	__le16 api;
	__u8 cts;
	__u8 nr_vlans;
	__le16 vlans[KVX_MVF_MAX_VLANS];	/* sorted, unused ones 0 */
	__u8 rsvd[6];				/* 0 */
};

/* The VF's multicast filter (SET_MCAST). */
struct kvx_mvf_mig_mcast {
	__le16 nr_hashes;
	__le16 rsvd;				/* 0 */
	__le16 hashes[KVX_MVF_MAX_MCAST];	/* sorted, unused ones 0 */
};

/* BAR0 pages 0 and 1: the mailbox and the doorbell block. */
struct kvx_mvf_mig_mailbox {
	__le32 vfmailbox;	/* latched bits: no REQ, ACK or PFU */
	__le32 vfmbmem[KVX_MVF_MBX_WORDS];
	__le32 pf_msg_pending;	/* 0 or 1 */
	__le32 db_count;
	__le32 db_last;
};

/*
 * PF to VF messages queued and not yet written into VFMBMEM: the
 * destination writes them when the buffer is free, with its own PF's
 * state (a PF_LINK message carries the link as it is when written).
 */
struct kvx_mvf_mig_pf_msg {
	__le32 link_pending;	/* 0 or 1: a PF_LINK message waits */
	__le32 rsvd;		/* 0 */
};

/* The DMA engine's registers. */
struct kvx_mvf_mig_dma {
	__le32 ctrl;
	__le32 status;		/* but ENABLED and QUIESCED */
	__le64 ring_base;
	__le32 ring_size;
	__le32 head;
	__le32 tail;
	__le32 completed;
	__le32 errors;
	__le32 rsvd;		/* 0 */
};

/* Completions owed to the VF: unacknowledged ones, a deferred doorbell. */
struct kvx_mvf_mig_dma_pending {
	__le32 cpl_pending;
	__le32 kick_pending;	/* 0 or 1 */
};

/* The PF's mailbox counters (debugfs); optional. */
struct kvx_mvf_mig_stats {
	__le64 requests;
	__le64 nacks;
	__le64 protocol_errors;
};

#endif /* _UAPI_LINUX_KVX_MVF_H */
