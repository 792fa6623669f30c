// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the PF side.
 *
 * The PF answers every VF request with a reply in the same buffer, the way
 * the igb PF driver answers igbvf.  What the requests negotiate is kept as
 * the VF's resulting configuration (struct kvx_mvf_vf_config), never as a
 * message log, so that it can be shown, reset and later migrated as state.
 * The PF's link and the VF's configuration are shown, and the link and
 * notices driven, through debugfs (debugfs.c).
 */

#include <linux/etherdevice.h>
#include <linux/lockdep.h>
#include <linux/string.h>

#include "mbx.h"
#include "mvf.h"
#include "pf.h"

#define KVX_MVF_LINK_SPEED	10000	/* Mb/s */
#define KVX_MVF_VID_MAX		4094

void kvx_mvf_pf_link_init(struct kvx_mvf_link *link)
{
	spin_lock_init(&link->lock);
	link->up = true;
	link->speed = KVX_MVF_LINK_SPEED;
}

void kvx_mvf_pf_link_get(struct kvx_mvf_pf *pf, bool *up, u32 *speed)
{
	spin_lock(&pf->link.lock);
	*up = pf->link.up;
	*speed = pf->link.up ? pf->link.speed : 0;
	spin_unlock(&pf->link.lock);
}

bool kvx_mvf_pf_link_up(struct kvx_mvf_pf *pf)
{
	bool up;
	u32 speed;

	kvx_mvf_pf_link_get(pf, &up, &speed);
	return up;
}

/* MACs travel as two words: bytes 0-3, then bytes 4-5 in the low half. */
static void kvx_mvf_mac_to_words(const u8 *mac, u32 *words)
{
	words[0] = mac[0] | mac[1] << 8 | mac[2] << 16 | (u32)mac[3] << 24;
	words[1] = mac[4] | mac[5] << 8;
}

static bool kvx_mvf_mac_from_words(const u32 *words, u8 *mac)
{
	if (words[1] >> 16)
		return false;
	mac[0] = words[0];
	mac[1] = words[0] >> 8;
	mac[2] = words[0] >> 16;
	mac[3] = words[0] >> 24;
	mac[4] = words[1];
	mac[5] = words[1] >> 8;
	return true;
}

/*
 * The configuration a VF has before it negotiated anything: the operator's
 * MAC, and the operator's VLAN alone if one is set.
 */
static void kvx_mvf_pf_config_defaults(struct kvx_mvf_vf_config *cfg)
{
	ether_addr_copy(cfg->mac, cfg->admin_mac);
	cfg->api = KVX_MVF_API_1_0;
	cfg->nr_vlans = 0;
	memset(cfg->vlans, 0, sizeof(cfg->vlans));
	if (cfg->admin_vlan)
		cfg->vlans[cfg->nr_vlans++] = cfg->admin_vlan;
	cfg->nr_mcast = 0;
	memset(cfg->mcast, 0, sizeof(cfg->mcast));
}

/* Called once per VF: the PF assigns a locally administered MAC. */
void kvx_mvf_pf_vf_init(struct kvx_mvf_vf *vf)
{
	static const u8 oui[3] = { 0x02, 0x4b, 0x56 };	/* 02:"KV" */
	struct kvx_mvf_vf_config *cfg = &vf->cfg;

	memcpy(cfg->admin_mac, oui, sizeof(oui));
	cfg->admin_mac[3] = 0x58;			/* "X" */
	cfg->admin_mac[4] = 0;
	cfg->admin_mac[5] = vf->index;
}

/*
 * The operator's MAC and VLAN (sysfs.c), set only while no user holds the
 * VF open: the VF takes them at once, as the next open's reset would, so
 * that no guest ever sees them change under it.
 */
int kvx_mvf_pf_set_admin_mac(struct kvx_mvf_vf *vf, const u8 *mac)
{
	lockdep_assert_held(&vf->lock);

	if (!is_valid_ether_addr(mac))
		return -EINVAL;
	ether_addr_copy(vf->cfg.admin_mac, mac);
	kvx_mvf_pf_vf_reset(vf);
	return 0;
}

int kvx_mvf_pf_set_admin_vlan(struct kvx_mvf_vf *vf, u16 vid)
{
	lockdep_assert_held(&vf->lock);

	if (vid > KVX_MVF_VID_MAX)
		return -EINVAL;
	vf->cfg.admin_vlan = vid;
	kvx_mvf_pf_vf_reset(vf);
	return 0;
}

/* A VF reset (FLR) forgets the negotiation; the VF must send RESET again. */
void kvx_mvf_pf_vf_reset(struct kvx_mvf_vf *vf)
{
	kvx_mvf_pf_config_defaults(&vf->cfg);
	vf->cfg.cts = false;
}

/*
 * Message handlers.  Each validates everything before it changes anything,
 * returns 0 or a KVX_MVF_ERR_* code, and fills the reply's payload
 * (reply[1] onwards; a NACK's reply[1] is overwritten with the code).
 */
static int kvx_mvf_msg_reset(struct kvx_mvf_vf *vf, const u32 *req,
			     u32 *reply)
{
	kvx_mvf_pf_config_defaults(&vf->cfg);
	vf->cfg.cts = true;
	vf->mbx.link_msg_pending = false;	/* API 1.0 has none */
	kvx_mvf_mbx_set_reset_pending(&vf->mbx, false);

	kvx_mvf_mac_to_words(vf->cfg.mac, &reply[1]);
	reply[3] = vf->cfg.api;
	return 0;
}

static int kvx_mvf_msg_set_mac(struct kvx_mvf_vf *vf, const u32 *req,
			       u32 *reply)
{
	u8 mac[ETH_ALEN];

	if (!kvx_mvf_mac_from_words(&req[1], mac) ||
	    !is_valid_ether_addr(mac))
		return KVX_MVF_ERR_INVAL;

	ether_addr_copy(vf->cfg.mac, mac);
	kvx_mvf_mac_to_words(vf->cfg.mac, &reply[1]);
	return 0;
}

static int kvx_mvf_vlan_find(const struct kvx_mvf_vf_config *cfg, u16 vid)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_vlans && cfg->vlans[i] <= vid; i++)
		if (cfg->vlans[i] == vid)
			return i;
	return -1;
}

static int kvx_mvf_msg_set_vlan(struct kvx_mvf_vf *vf, const u32 *req,
				u32 *reply)
{
	struct kvx_mvf_vf_config *cfg = &vf->cfg;
	u32 op = (req[0] & KVX_MVF_MSG_INFO_MASK) >> KVX_MVF_MSG_INFO_SHIFT;
	u32 vid = req[1];
	unsigned int i;
	int pos;

	if ((op != KVX_MVF_VLAN_ADD && op != KVX_MVF_VLAN_DEL) ||
	    vid == 0 || vid > KVX_MVF_VID_MAX)
		return KVX_MVF_ERR_INVAL;
	/* A port VLAN is the operator's: the VF may not change its filter. */
	if (cfg->admin_vlan)
		return KVX_MVF_ERR_PERM;

	reply[1] = vid;
	pos = kvx_mvf_vlan_find(cfg, vid);
	if (op == KVX_MVF_VLAN_DEL) {
		if (pos >= 0) {
			cfg->nr_vlans--;
			memmove(&cfg->vlans[pos], &cfg->vlans[pos + 1],
				(cfg->nr_vlans - pos) * sizeof(cfg->vlans[0]));
			cfg->vlans[cfg->nr_vlans] = 0;
		}
		return 0;
	}

	if (pos >= 0)
		return 0;
	if (cfg->nr_vlans == KVX_MVF_MAX_VLANS)
		return KVX_MVF_ERR_NOSPC;

	for (i = cfg->nr_vlans; i > 0 && cfg->vlans[i - 1] > vid; i--)
		cfg->vlans[i] = cfg->vlans[i - 1];
	cfg->vlans[i] = vid;
	cfg->nr_vlans++;
	return 0;
}

/* Hash @i of a SET_MCAST request: two per word, from word 1. */
static u32 kvx_mvf_mcast_hash(const u32 *req, unsigned int i)
{
	return (req[1 + i / 2] >> (i % 2 * 16)) & 0xffff;
}

/*
 * The new list replaces the old one whole, as igbvf's multicast update
 * does; it is kept as a sorted set, so repeats count once.  A count that
 * the buffer cannot hold, a hash above 12 bits or a non-zero halfword past
 * the count is malformed.
 */
static int kvx_mvf_msg_set_mcast(struct kvx_mvf_vf *vf, const u32 *req,
				 u32 *reply)
{
	struct kvx_mvf_vf_config *cfg = &vf->cfg;
	u32 nr = (req[0] & KVX_MVF_MSG_INFO_MASK) >> KVX_MVF_MSG_INFO_SHIFT;
	u16 set[KVX_MVF_MAX_MCAST];
	unsigned int i, j, n = 0;
	u32 hash;

	if (nr > KVX_MVF_MAX_MCAST)
		return KVX_MVF_ERR_INVAL;
	for (i = nr; i < 2 * (KVX_MVF_MBX_WORDS - 1); i++)
		if (kvx_mvf_mcast_hash(req, i))
			return KVX_MVF_ERR_INVAL;

	for (i = 0; i < nr; i++) {
		hash = kvx_mvf_mcast_hash(req, i);
		if (hash & ~KVX_MVF_MCAST_HASH_MASK)
			return KVX_MVF_ERR_INVAL;
		for (j = n; j > 0 && set[j - 1] > hash; j--)
			;
		if (j > 0 && set[j - 1] == hash)
			continue;
		memmove(&set[j + 1], &set[j], (n - j) * sizeof(set[0]));
		set[j] = hash;
		n++;
	}

	memset(cfg->mcast, 0, sizeof(cfg->mcast));
	memcpy(cfg->mcast, set, n * sizeof(set[0]));
	cfg->nr_mcast = n;
	reply[1] = n;
	return 0;
}

/* API 1.2 came with generation 2. */
bool kvx_mvf_pf_api_supported(struct kvx_mvf_vf *vf, u32 api)
{
	switch (api) {
	case KVX_MVF_API_1_0:
	case KVX_MVF_API_1_1:
		return true;
	case KVX_MVF_API_1_2:
		return vf->generation >= 2;
	default:
		return false;
	}
}

static int kvx_mvf_msg_api_negotiate(struct kvx_mvf_vf *vf, const u32 *req,
				     u32 *reply)
{
	if (!kvx_mvf_pf_api_supported(vf, req[1])) {
		reply[2] = vf->generation >= 2 ? KVX_MVF_API_1_2 :
						 KVX_MVF_API_1_1;
		return KVX_MVF_ERR_API;
	}
	vf->cfg.api = req[1];
	if (vf->cfg.api < KVX_MVF_API_1_1)
		vf->mbx.link_msg_pending = false;
	reply[1] = vf->cfg.api;
	return 0;
}

static int kvx_mvf_msg_get_link(struct kvx_mvf_vf *vf, const u32 *req,
				u32 *reply)
{
	bool up;
	u32 speed;

	kvx_mvf_pf_link_get(vf->pf, &up, &speed);
	reply[1] = up ? KVX_MVF_LINK_UP : 0;
	reply[2] = speed;
	return 0;
}

struct kvx_mvf_msg_handler {
	int (*handle)(struct kvx_mvf_vf *vf, const u32 *req, u32 *reply);
	u16 min_api;		/* first API version that has the message */
	bool takes_info;	/* header bits 23:16 are an argument */
};

static const struct kvx_mvf_msg_handler kvx_mvf_msg_handlers[] = {
	[KVX_MVF_MSG_RESET] = {
		kvx_mvf_msg_reset, KVX_MVF_API_1_0, false },
	[KVX_MVF_MSG_SET_MAC] = {
		kvx_mvf_msg_set_mac, KVX_MVF_API_1_0, false },
	[KVX_MVF_MSG_SET_MCAST] = {
		kvx_mvf_msg_set_mcast, KVX_MVF_API_1_0, true },
	[KVX_MVF_MSG_SET_VLAN] = {
		kvx_mvf_msg_set_vlan, KVX_MVF_API_1_0, true },
	[KVX_MVF_MSG_API_NEGOTIATE] = {
		kvx_mvf_msg_api_negotiate, KVX_MVF_API_1_0, false },
	[KVX_MVF_MSG_GET_LINK] = {
		kvx_mvf_msg_get_link, KVX_MVF_API_1_1, false },
};

/*
 * Answer one VF request.  Whatever the request holds, the reply says ACK or
 * NACK; a NACK changes no state.  Only RESET is accepted from a VF that is
 * not clear to send (after creation, FLR or a PF reset notice).
 */
void kvx_mvf_pf_handle_msg(struct kvx_mvf_vf *vf, const u32 *req, u32 *reply)
{
	const struct kvx_mvf_msg_handler *h = NULL;
	u32 id = req[0] & KVX_MVF_MSG_ID_MASK;
	u32 bad_bits = KVX_MVF_MSG_RSVD_MASK | KVX_MVF_MSG_CTS |
		       KVX_MVF_MSG_NACK | KVX_MVF_MSG_ACK;
	int err;

	lockdep_assert_held(&vf->lock);

	if (id < ARRAY_SIZE(kvx_mvf_msg_handlers) &&
	    kvx_mvf_msg_handlers[id].handle)
		h = &kvx_mvf_msg_handlers[id];

	if (h && !h->takes_info)
		bad_bits |= KVX_MVF_MSG_INFO_MASK;

	if (!h)
		err = KVX_MVF_ERR_UNKNOWN;
	else if (req[0] & bad_bits)
		err = KVX_MVF_ERR_INVAL;
	else if (id != KVX_MVF_MSG_RESET && !vf->cfg.cts)
		err = KVX_MVF_ERR_NOT_CTS;
	else if (vf->cfg.api < h->min_api)
		err = KVX_MVF_ERR_API;
	else
		err = h->handle(vf, req, reply);

	reply[0] = id | (err ? KVX_MVF_MSG_NACK : KVX_MVF_MSG_ACK) |
		   (vf->cfg.cts ? KVX_MVF_MSG_CTS : 0);
	if (err)
		reply[1] = err;
}

/* The PF_LINK message: the link as it is when the message is written. */
void kvx_mvf_pf_link_msg(struct kvx_mvf_vf *vf, u32 *msg)
{
	bool up;
	u32 speed;

	kvx_mvf_pf_link_get(vf->pf, &up, &speed);
	msg[0] = KVX_MVF_MSG_PF_LINK | (vf->cfg.cts ? KVX_MVF_MSG_CTS : 0);
	msg[1] = up ? KVX_MVF_LINK_UP : 0;
	msg[2] = speed;
}

/*
 * Only a VF that completed RESET and negotiated API 1.1 (which has link
 * messages) is told; one message carries the latest state, however many
 * changes it stands for.
 */
void kvx_mvf_pf_queue_link_msg(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	if (vf->cfg.cts && vf->cfg.api >= KVX_MVF_API_1_1)
		vf->mbx.link_msg_pending = true;
	if (vf->mbx.link_msg_pending)
		kvx_mvf_mbx_request_trap(&vf->mbx);
}

/*
 * A PF reset notice: the VF loses CTS and sees RSTI until it sends RESET.
 * Migration delivers it only into a running device (kvx_mvf_mig_sync()).
 */
void kvx_mvf_pf_notify_reset(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	vf->cfg.cts = false;
	vf->mbx.link_msg_pending = false;
	kvx_mvf_mbx_set_reset_pending(&vf->mbx, true);
	kvx_mvf_mbx_request_trap(&vf->mbx);
}
