/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvx-mvf: the PF side: mailbox message handling and the resulting VF
 * configuration.
 */
#ifndef KVX_MVF_PF_H
#define KVX_MVF_PF_H

#include <linux/if_ether.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/kvx_mvf.h>

struct kvx_mvf_pf;
struct kvx_mvf_vf;

/*
 * What the VF negotiated, kept as resulting state rather than as a log of
 * messages: this is what a migration stream will carry.
 */
struct kvx_mvf_vf_config {
	u8 mac[ETH_ALEN];
	/* Assigned by the PF (sysfs.c); a RESET message restores it. */
	u8 admin_mac[ETH_ALEN];
	/* The port VLAN the PF's operator set (sysfs.c), 0: none. */
	u16 admin_vlan;
	u16 api;
	/* The VF completed a RESET handshake; other requests are accepted. */
	bool cts;
	unsigned int nr_vlans;
	u16 vlans[KVX_MVF_MAX_VLANS];	/* sorted */
	/* The multicast filter: distinct 12-bit hashes (SET_MCAST). */
	unsigned int nr_mcast;
	u16 mcast[KVX_MVF_MAX_MCAST];	/* sorted */
};

/* The PF's uplink, shared by its VFs. */
struct kvx_mvf_link {
	/* Leaf lock: taken under a VF's lock. */
	spinlock_t lock;
	bool up;
	u32 speed;	/* Mb/s */
};

void kvx_mvf_pf_link_init(struct kvx_mvf_link *link);
void kvx_mvf_pf_link_get(struct kvx_mvf_pf *pf, bool *up, u32 *speed);
bool kvx_mvf_pf_link_up(struct kvx_mvf_pf *pf);
void kvx_mvf_pf_vf_init(struct kvx_mvf_vf *vf);
void kvx_mvf_pf_vf_reset(struct kvx_mvf_vf *vf);
void kvx_mvf_pf_link_msg(struct kvx_mvf_vf *vf, u32 *msg);
void kvx_mvf_pf_queue_link_msg(struct kvx_mvf_vf *vf);
void kvx_mvf_pf_notify_reset(struct kvx_mvf_vf *vf);
void kvx_mvf_pf_handle_msg(struct kvx_mvf_vf *vf, const u32 *req, u32 *reply);
bool kvx_mvf_pf_api_supported(struct kvx_mvf_vf *vf, u32 api);
int kvx_mvf_pf_set_admin_mac(struct kvx_mvf_vf *vf, const u8 *mac);
int kvx_mvf_pf_set_admin_vlan(struct kvx_mvf_vf *vf, u16 vid);

#endif /* KVX_MVF_PF_H */
