// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf-vf: the guest driver of a kvx-mvf VF (PCI 1b36:10f0), what a
 * device vendor ships for its VF.  It runs the mailbox protocol of
 * Documentation/virt/kvx/mvf.rst like igbvf (RESET, API 1.1, MAC, VLANs,
 * multicast; PF_LINK and PF reset notices, answered by a reset that
 * restores the configuration the guest chose) and drives the DMA engine
 * (a ring of FILL and COPY descriptors into DMA buffers, polled).
 *
 * No interrupts: a work item polls VFMAILBOX for PF messages every 100 ms.
 * Tests use the device's sysfs attributes, in its kvx_mvf/ directory:
 *
 *   mac        RW  the VF's MAC; writing one sends SET_MAC
 *   vlans      RW  the VLAN ids; "+ID" adds one, "-ID" removes one
 *   mcast      RW  the multicast hashes (hex); writing a list sends SET_MCAST
 *   link       RO  "up|down SPEED" as the PF last told (PF_LINK, GET_LINK)
 *   reset      WO  any write: RESET, then the configuration again
 *   dma        RW  writing N runs N DMA rounds; reading verifies the
 *                  buffers against what the descriptors wrote
 *   loop       RW  1 starts a thread that runs DMA rounds and mailbox
 *                  requests until 0 is written
 *   stats      RO  counters
 */

#include <linux/crc32.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <linux/kvx_mvf.h>

#define VF_MBX_TIMEOUT_MS	2000
#define VF_POLL_MS		100

#define VF_RING_SIZE		16
#define VF_BUF_PAGES		32
#define VF_ROUND_DESCS		4

struct kvx_mvf_vf {
	struct pci_dev *pdev;
	void __iomem *bar;

	/* The mailbox and the configuration it sets. */
	struct mutex lock;
	u32 latched;		/* read-to-clear VFMAILBOX bits not consumed */
	u8 mac[ETH_ALEN];
	u8 want_mac[ETH_ALEN];	/* set by the guest; zero: the PF's */
	u16 vlans[KVX_MVF_MAX_VLANS];
	unsigned int nr_vlans;
	u16 mcast[KVX_MVF_MAX_MCAST];
	unsigned int nr_mcast;
	u16 api;
	bool link_up;
	u32 link_speed;
	struct delayed_work poll;

	/* The DMA engine; under dma_lock. */
	struct mutex dma_lock;
	struct kvx_mvf_dma_desc *ring;
	dma_addr_t ring_dma;
	u8 *buf;
	dma_addr_t buf_dma;
	u32 expect[VF_BUF_PAGES];	/* the dword pattern of each page */
	unsigned int tail;
	u32 seq;

	struct task_struct *loop;

	struct {
		u64 requests, nacks, pf_msgs, link_msgs, resets, errors;
		u64 dma_rounds, dma_descs, dma_errors;
		u64 loop_iters, loop_errors;
	} stats;
};

static u32 vf_rd(struct kvx_mvf_vf *vf, unsigned int reg)
{
	return readl(vf->bar + reg);
}

static void vf_wr(struct kvx_mvf_vf *vf, unsigned int reg, u32 val)
{
	writel(val, vf->bar + reg);
}

/* Read VFMAILBOX, keeping the read-to-clear bits until they are consumed. */
static u32 vf_mbx_read(struct kvx_mvf_vf *vf)
{
	u32 val = vf_rd(vf, KVX_MVF_REG_VFMAILBOX);

	lockdep_assert_held(&vf->lock);
	vf->latched |= val & KVX_MVF_MBX_R2C_BITS;
	return vf->latched | (val & ~KVX_MVF_MBX_R2C_BITS);
}

static bool vf_mbx_take(struct kvx_mvf_vf *vf)
{
	vf_wr(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_VFU);
	return vf_mbx_read(vf) & KVX_MVF_MBX_VFU;
}

static void vf_mbx_read_msg(struct kvx_mvf_vf *vf, u32 *msg)
{
	unsigned int i;

	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		msg[i] = vf_rd(vf, KVX_MVF_REG_VFMBMEM + 4 * i);
}

/* A PF→VF message is in VFMBMEM (PFSTS without a request): take it. */
static void vf_mbx_pf_msg(struct kvx_mvf_vf *vf)
{
	u32 msg[KVX_MVF_MBX_WORDS];

	vf->latched &= ~KVX_MVF_MBX_PFSTS;
	if (!vf_mbx_take(vf))
		return;
	vf_mbx_read_msg(vf, msg);
	vf_wr(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_ACK);
	vf->stats.pf_msgs++;
	if ((msg[0] & KVX_MVF_MSG_ID_MASK) == KVX_MVF_MSG_PF_LINK) {
		vf->link_up = msg[1] & KVX_MVF_LINK_UP;
		vf->link_speed = msg[2];
		vf->stats.link_msgs++;
	}
}

/*
 * Send one request and wait for its reply (mvf.rst, "Mailbox protocol").
 * Returns 0 with the reply in @reply, -EIO for a NACK (error code in
 * reply[1]), -ETIMEDOUT when the PF does not answer.
 */
static int vf_mbx_request(struct kvx_mvf_vf *vf, const u32 *msg,
			  unsigned int words, u32 *reply)
{
	unsigned long end = jiffies + msecs_to_jiffies(VF_MBX_TIMEOUT_MS);
	unsigned int i;
	u32 want = KVX_MVF_MBX_PFACK | KVX_MVF_MBX_PFSTS;

	lockdep_assert_held(&vf->lock);
	/* A PF message waiting in the buffer goes first. */
	while (vf_mbx_read(vf) & KVX_MVF_MBX_PFSTS)
		vf_mbx_pf_msg(vf);
	while (!vf_mbx_take(vf)) {
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		if (vf->latched & KVX_MVF_MBX_PFSTS)
			vf_mbx_pf_msg(vf);
		usleep_range(50, 200);
	}
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		vf_wr(vf, KVX_MVF_REG_VFMBMEM + 4 * i, i < words ? msg[i] : 0);
	vf_wr(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_VFU | KVX_MVF_MBX_REQ);
	vf->stats.requests++;
	while ((vf_mbx_read(vf) & want) != want) {
		if (time_after(jiffies, end)) {
			vf->stats.errors++;
			return -ETIMEDOUT;
		}
		usleep_range(50, 200);
	}
	vf->latched &= ~want;
	if (!vf_mbx_take(vf)) {
		vf->stats.errors++;
		return -ETIMEDOUT;
	}
	vf_mbx_read_msg(vf, reply);
	vf_wr(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_ACK);
	if ((reply[0] & KVX_MVF_MSG_ID_MASK) != (msg[0] & KVX_MVF_MSG_ID_MASK)) {
		vf->stats.errors++;
		return -EPROTO;
	}
	if (reply[0] & KVX_MVF_MSG_NACK) {
		vf->stats.nacks++;
		return -EIO;
	}
	return 0;
}

static void vf_mac_to_words(const u8 *mac, u32 *w)
{
	w[0] = mac[0] | mac[1] << 8 | mac[2] << 16 | (u32)mac[3] << 24;
	w[1] = mac[4] | mac[5] << 8;
}

static void vf_words_to_mac(const u32 *w, u8 *mac)
{
	mac[0] = w[0];
	mac[1] = w[0] >> 8;
	mac[2] = w[0] >> 16;
	mac[3] = w[0] >> 24;
	mac[4] = w[1];
	mac[5] = w[1] >> 8;
}

static int vf_set_mac(struct kvx_mvf_vf *vf, const u8 *mac)
{
	u32 msg[3] = { KVX_MVF_MSG_SET_MAC }, reply[KVX_MVF_MBX_WORDS];
	int ret;

	vf_mac_to_words(mac, &msg[1]);
	ret = vf_mbx_request(vf, msg, 3, reply);
	if (!ret)
		vf_words_to_mac(&reply[1], vf->mac);
	return ret;
}

static int vf_set_vlan(struct kvx_mvf_vf *vf, u16 id, bool add)
{
	u32 msg[2] = { KVX_MVF_MSG_SET_VLAN |
		       (add ? KVX_MVF_VLAN_ADD : KVX_MVF_VLAN_DEL) <<
		       KVX_MVF_MSG_INFO_SHIFT, id };
	u32 reply[KVX_MVF_MBX_WORDS];

	return vf_mbx_request(vf, msg, 2, reply);
}

static int vf_set_mcast(struct kvx_mvf_vf *vf)
{
	u32 msg[KVX_MVF_MBX_WORDS] = { KVX_MVF_MSG_SET_MCAST |
				  vf->nr_mcast << KVX_MVF_MSG_INFO_SHIFT };
	u32 reply[KVX_MVF_MBX_WORDS];
	unsigned int i;

	for (i = 0; i < vf->nr_mcast; i++)
		msg[1 + i / 2] |= (u32)vf->mcast[i] << (16 * (i % 2));
	return vf_mbx_request(vf, msg, KVX_MVF_MBX_WORDS, reply);
}

/*
 * RESET, API 1.1, then the configuration the guest chose: what igbvf does
 * after a PF reset notice (RSTI) and at probe.
 */
static int vf_reset(struct kvx_mvf_vf *vf)
{
	u32 msg[2] = { KVX_MVF_MSG_RESET }, reply[KVX_MVF_MBX_WORDS];
	unsigned int i;
	int ret;

	lockdep_assert_held(&vf->lock);
	vf->stats.resets++;
	vf->latched = 0;
	ret = vf_mbx_request(vf, msg, 1, reply);
	if (ret)
		return ret;
	vf_words_to_mac(&reply[1], vf->mac);
	vf->api = reply[3];

	msg[0] = KVX_MVF_MSG_API_NEGOTIATE;
	msg[1] = KVX_MVF_API_1_1;
	ret = vf_mbx_request(vf, msg, 2, reply);
	if (ret)
		return ret;
	vf->api = reply[1];

	msg[0] = KVX_MVF_MSG_GET_LINK;
	ret = vf_mbx_request(vf, msg, 1, reply);
	if (ret)
		return ret;
	vf->link_up = reply[1] & KVX_MVF_LINK_UP;
	vf->link_speed = reply[2];

	if (is_valid_ether_addr(vf->want_mac)) {
		ret = vf_set_mac(vf, vf->want_mac);
		if (ret)
			return ret;
	}
	for (i = 0; i < vf->nr_vlans; i++) {
		ret = vf_set_vlan(vf, vf->vlans[i], true);
		if (ret)
			return ret;
	}
	return vf->nr_mcast ? vf_set_mcast(vf) : 0;
}

/* PF messages and reset notices: polled, there is no mailbox interrupt. */
static void vf_poll(struct work_struct *work)
{
	struct kvx_mvf_vf *vf = container_of(to_delayed_work(work),
					     struct kvx_mvf_vf, poll);
	u32 mbx;

	mutex_lock(&vf->lock);
	mbx = vf_mbx_read(vf);
	if (mbx & KVX_MVF_MBX_RSTI) {
		if (vf_reset(vf))
			dev_warn(&vf->pdev->dev, "reset after a PF notice failed\n");
	} else if (mbx & KVX_MVF_MBX_PFSTS) {
		vf_mbx_pf_msg(vf);
	}
	mutex_unlock(&vf->lock);
	schedule_delayed_work(&vf->poll, msecs_to_jiffies(VF_POLL_MS));
}

static int vf_dma_enable(struct kvx_mvf_vf *vf)
{
	vf_wr(vf, KVX_MVF_REG_DMA_CTRL, 0);
	vf_wr(vf, KVX_MVF_REG_DMA_RING_LO, lower_32_bits(vf->ring_dma));
	vf_wr(vf, KVX_MVF_REG_DMA_RING_HI, upper_32_bits(vf->ring_dma));
	vf_wr(vf, KVX_MVF_REG_DMA_RING_SIZE, VF_RING_SIZE);
	vf_wr(vf, KVX_MVF_REG_DMA_CTRL, KVX_MVF_DMA_CTRL_ENABLE);
	vf->tail = 0;
	if (!(vf_rd(vf, KVX_MVF_REG_DMA_STATUS) & KVX_MVF_DMA_STATUS_ENABLED))
		return -EIO;
	return 0;
}

/*
 * One round: VF_ROUND_DESCS descriptors, FILLs of the next pages with a
 * new pattern and a COPY of one page onto another, then one doorbell.
 * vf->expect follows what each descriptor writes, so that reading `dma`
 * can check every page against it.  Descriptors are struct
 * kvx_mvf_dma_desc as the device reads it, little-endian like the x86
 * guests this driver is for.
 */
static int vf_dma_round(struct kvx_mvf_vf *vf)
{
	u32 expect[VF_BUF_PAGES];
	unsigned int i, first = vf->tail, slot;
	int ret = 0;

	lockdep_assert_held(&vf->dma_lock);
	memcpy(expect, vf->expect, sizeof(expect));
	for (i = 0; i < VF_ROUND_DESCS; i++) {
		struct kvx_mvf_dma_desc *d = &vf->ring[(first + i) % VF_RING_SIZE];
		unsigned int page = (vf->seq + i) % VF_BUF_PAGES;

		memset(d, 0, sizeof(*d));
		d->len = PAGE_SIZE;
		d->dst = vf->buf_dma + page * PAGE_SIZE;
		if (i == VF_ROUND_DESCS - 1) {
			unsigned int from = (vf->seq + VF_BUF_PAGES / 2) % VF_BUF_PAGES;

			d->op = KVX_MVF_DMA_OP_COPY;
			d->src = vf->buf_dma + from * PAGE_SIZE;
			expect[page] = expect[from];
		} else {
			u32 n = vf->seq + i;
			u32 pattern = crc32_le(~0U, (u8 *)&n, sizeof(n));

			d->op = KVX_MVF_DMA_OP_FILL;
			d->src = pattern;
			expect[page] = pattern;
		}
	}
	/* The descriptors are in memory before the device reads them. */
	wmb();
	vf->tail = (first + VF_ROUND_DESCS) % VF_RING_SIZE;
	vf_wr(vf, KVX_MVF_REG_DMA_TAIL, vf->tail);
	vf_wr(vf, KVX_MVF_REG_DMA_DOORBELL, 1);
	if (vf_rd(vf, KVX_MVF_REG_DMA_HEAD) != vf->tail)
		ret = -EIO;
	/* HEAD read back: the status dwords are written. */
	rmb();
	for (i = 0; i < VF_ROUND_DESCS; i++) {
		slot = (first + i) % VF_RING_SIZE;
		if (READ_ONCE(vf->ring[slot].status) !=
		    KVX_MVF_DMA_STS_DONE)
			ret = -EIO;
	}
	vf_wr(vf, KVX_MVF_REG_DMA_CPL_PENDING, VF_ROUND_DESCS);
	vf->stats.dma_rounds++;
	vf->stats.dma_descs += VF_ROUND_DESCS;
	if (ret) {
		vf->stats.dma_errors++;
		/* Start over from a clean ring; the data is unknown now. */
		memset(vf->expect, 0xff, sizeof(vf->expect));
		vf_dma_enable(vf);
		return ret;
	}
	memcpy(vf->expect, expect, sizeof(expect));
	vf->seq += VF_ROUND_DESCS - 1;
	return 0;
}

/* Pages whose content is not what the descriptors that wrote them said. */
static unsigned int vf_dma_verify(struct kvx_mvf_vf *vf, u32 *csum)
{
	unsigned int page, i, bad = 0;
	u32 *p;

	lockdep_assert_held(&vf->dma_lock);
	*csum = 0;
	for (page = 0; page < VF_BUF_PAGES; page++) {
		p = (u32 *)(vf->buf + page * PAGE_SIZE);
		*csum = crc32_le(*csum, (u8 *)p, PAGE_SIZE);
		for (i = 0; i < PAGE_SIZE / 4; i++) {
			if (p[i] != vf->expect[page]) {
				bad++;
				break;
			}
		}
	}
	return bad;
}

static int vf_loop(void *data)
{
	struct kvx_mvf_vf *vf = data;
	u16 vlan;
	int ret;

	while (!kthread_should_stop()) {
		mutex_lock(&vf->dma_lock);
		ret = vf_dma_round(vf);
		mutex_unlock(&vf->dma_lock);

		/* A VLAN added and removed: the config is the same after. */
		vlan = 4000 + vf->stats.loop_iters % 64;
		mutex_lock(&vf->lock);
		ret = ret ?: vf_set_vlan(vf, vlan, true);
		ret = ret ?: vf_set_vlan(vf, vlan, false);
		mutex_unlock(&vf->lock);

		vf->stats.loop_iters++;
		if (ret)
			vf->stats.loop_errors++;
		usleep_range(1000, 2000);
	}
	return 0;
}

static struct kvx_mvf_vf *vf_of(struct device *dev)
{
	return pci_get_drvdata(to_pci_dev(dev));
}

static ssize_t mac_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	ssize_t n;

	mutex_lock(&vf->lock);
	n = sysfs_emit(buf, "%pM\n", vf->mac);
	mutex_unlock(&vf->lock);
	return n;
}

static ssize_t mac_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	u8 mac[ETH_ALEN];
	int ret;

	if (!mac_pton(buf, mac) || !is_valid_ether_addr(mac))
		return -EINVAL;
	mutex_lock(&vf->lock);
	ret = vf_set_mac(vf, mac);
	if (!ret)
		ether_addr_copy(vf->want_mac, mac);
	mutex_unlock(&vf->lock);
	return ret ?: count;
}
static DEVICE_ATTR_RW(mac);

/* A space-separated list of u16 values (VLAN ids, or hashes in hex). */
static ssize_t vf_show_u16s(struct kvx_mvf_vf *vf, char *buf, const u16 *val,
			    const unsigned int *nr, bool hex)
{
	unsigned int i;
	ssize_t n = 0;

	mutex_lock(&vf->lock);
	for (i = 0; i < *nr; i++)
		n += sysfs_emit_at(buf, n, hex ? "%s0x%03x" : "%s%u",
				   i ? " " : "", val[i]);
	n += sysfs_emit_at(buf, n, "\n");
	mutex_unlock(&vf->lock);
	return n;
}

static ssize_t vlans_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct kvx_mvf_vf *vf = vf_of(dev);

	return vf_show_u16s(vf, buf, vf->vlans, &vf->nr_vlans, false);
}

static ssize_t vlans_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	bool add = buf[0] == '+';
	unsigned int i;
	u16 id;
	int ret;

	if ((buf[0] != '+' && buf[0] != '-') || kstrtou16(buf + 1, 0, &id))
		return -EINVAL;
	mutex_lock(&vf->lock);
	for (i = 0; i < vf->nr_vlans && vf->vlans[i] != id; i++)
		;
	ret = vf_set_vlan(vf, id, add);
	if (!ret && add && i == vf->nr_vlans)
		vf->vlans[vf->nr_vlans++] = id;
	if (!ret && !add && i < vf->nr_vlans)
		vf->vlans[i] = vf->vlans[--vf->nr_vlans];
	mutex_unlock(&vf->lock);
	return ret ?: count;
}
static DEVICE_ATTR_RW(vlans);

static ssize_t mcast_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct kvx_mvf_vf *vf = vf_of(dev);

	return vf_show_u16s(vf, buf, vf->mcast, &vf->nr_mcast, true);
}

static ssize_t mcast_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	u16 hashes[KVX_MVF_MAX_MCAST], old[KVX_MVF_MAX_MCAST];
	unsigned int n = 0, old_n;
	char *copy, *p, *tok;
	int ret = 0;

	copy = kstrndup(buf, count, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	p = strim(copy);
	while ((tok = strsep(&p, " \t\n")) && !ret) {
		if (!*tok)
			continue;
		if (n == KVX_MVF_MAX_MCAST || kstrtou16(tok, 16, &hashes[n]) ||
		    hashes[n] > KVX_MVF_MCAST_HASH_MASK)
			ret = -EINVAL;
		n++;
	}
	kfree(copy);
	if (ret)
		return ret;
	mutex_lock(&vf->lock);
	/* On a refusal the PF keeps the old list: so does the driver. */
	old_n = vf->nr_mcast;
	memcpy(old, vf->mcast, sizeof(old));
	memcpy(vf->mcast, hashes, n * sizeof(hashes[0]));
	vf->nr_mcast = n;
	ret = vf_set_mcast(vf);
	if (ret) {
		memcpy(vf->mcast, old, sizeof(old));
		vf->nr_mcast = old_n;
	}
	mutex_unlock(&vf->lock);
	return ret ?: count;
}
static DEVICE_ATTR_RW(mcast);

static ssize_t link_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct kvx_mvf_vf *vf = vf_of(dev);

	return sysfs_emit(buf, "%s %u\n", vf->link_up ? "up" : "down",
			  vf->link_speed);
}
static DEVICE_ATTR_RO(link);

static ssize_t reset_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	int ret;

	mutex_lock(&vf->lock);
	ret = vf_reset(vf);
	mutex_unlock(&vf->lock);
	return ret ?: count;
}
static DEVICE_ATTR_WO(reset);

static ssize_t dma_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	unsigned int bad;
	u32 csum;

	mutex_lock(&vf->dma_lock);
	bad = vf_dma_verify(vf, &csum);
	mutex_unlock(&vf->dma_lock);
	return sysfs_emit(buf, "pages %u bad %u crc 0x%08x\n", VF_BUF_PAGES,
			  bad, csum);
}

static ssize_t dma_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	unsigned int rounds;
	int ret = 0;

	if (kstrtouint(buf, 0, &rounds))
		return -EINVAL;
	mutex_lock(&vf->dma_lock);
	while (rounds-- && !ret)
		ret = vf_dma_round(vf);
	mutex_unlock(&vf->dma_lock);
	return ret ?: count;
}
static DEVICE_ATTR_RW(dma);

static ssize_t loop_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%d\n", !!vf_of(dev)->loop);
}

static ssize_t loop_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct kvx_mvf_vf *vf = vf_of(dev);
	struct task_struct *t;
	bool on;

	if (kstrtobool(buf, &on))
		return -EINVAL;
	device_lock(dev);
	if (on && !vf->loop) {
		t = kthread_run(vf_loop, vf, "kvx-mvf-vf-loop");
		if (IS_ERR(t)) {
			device_unlock(dev);
			return PTR_ERR(t);
		}
		vf->loop = t;
	} else if (!on && vf->loop) {
		kthread_stop(vf->loop);
		vf->loop = NULL;
	}
	device_unlock(dev);
	return count;
}
static DEVICE_ATTR_RW(loop);

static ssize_t stats_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct kvx_mvf_vf *vf = vf_of(dev);

	return sysfs_emit(buf,
			  "api 0x%x\nrequests %llu\nnacks %llu\nmbx_errors %llu\n"
			  "pf_msgs %llu\nlink_msgs %llu\nresets %llu\n"
			  "dma_rounds %llu\ndma_descs %llu\ndma_errors %llu\n"
			  "loop_iters %llu\nloop_errors %llu\n",
			  vf->api, vf->stats.requests, vf->stats.nacks,
			  vf->stats.errors, vf->stats.pf_msgs,
			  vf->stats.link_msgs, vf->stats.resets,
			  vf->stats.dma_rounds, vf->stats.dma_descs,
			  vf->stats.dma_errors, vf->stats.loop_iters,
			  vf->stats.loop_errors);
}
static DEVICE_ATTR_RO(stats);

static struct attribute *vf_attrs[] = {
	&dev_attr_mac.attr,
	&dev_attr_vlans.attr,
	&dev_attr_mcast.attr,
	&dev_attr_link.attr,
	&dev_attr_reset.attr,
	&dev_attr_dma.attr,
	&dev_attr_loop.attr,
	&dev_attr_stats.attr,
	NULL,
};

/* In a directory of their own: "link" and "reset" are PCI core names. */
static const struct attribute_group vf_group = {
	.name = "kvx_mvf",
	.attrs = vf_attrs,
};

static const struct attribute_group *vf_groups[] = {
	&vf_group,
	NULL,
};

static int vf_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct kvx_mvf_vf *vf;
	int ret;

	vf = devm_kzalloc(dev, sizeof(*vf), GFP_KERNEL);
	if (!vf)
		return -ENOMEM;
	vf->pdev = pdev;
	mutex_init(&vf->lock);
	mutex_init(&vf->dma_lock);
	INIT_DELAYED_WORK(&vf->poll, vf_poll);
	memset(vf->expect, 0xff, sizeof(vf->expect));
	pci_set_drvdata(pdev, vf);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	vf->bar = pcim_iomap_region(pdev, 0, "kvx-mvf-vf");
	if (IS_ERR(vf->bar))
		return PTR_ERR(vf->bar);
	if (vf_rd(vf, KVX_MVF_REG_ID) != KVX_MVF_ID_MAGIC)
		return dev_err_probe(dev, -ENODEV, "ID 0x%08x is not kvx-mvf's\n",
				     vf_rd(vf, KVX_MVF_REG_ID));
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	pci_set_master(pdev);
	vf->ring = dmam_alloc_coherent(dev, VF_RING_SIZE * sizeof(*vf->ring),
				       &vf->ring_dma, GFP_KERNEL);
	vf->buf = dmam_alloc_coherent(dev, VF_BUF_PAGES * PAGE_SIZE,
				      &vf->buf_dma, GFP_KERNEL);
	if (!vf->ring || !vf->buf)
		return -ENOMEM;
	memset(vf->buf, 0xff, VF_BUF_PAGES * PAGE_SIZE);

	mutex_lock(&vf->lock);
	ret = vf_reset(vf);
	mutex_unlock(&vf->lock);
	if (ret)
		return dev_err_probe(dev, ret, "mailbox RESET failed\n");
	ret = vf_dma_enable(vf);
	if (ret)
		return dev_err_probe(dev, ret, "DMA engine refused the ring\n");
	schedule_delayed_work(&vf->poll, msecs_to_jiffies(VF_POLL_MS));
	dev_info(dev, "kvx-mvf VF, MAC %pM, API %u.%u, link %s\n", vf->mac,
		 vf->api >> 8, vf->api & 0xff, vf->link_up ? "up" : "down");
	return 0;
}

static void vf_remove(struct pci_dev *pdev)
{
	struct kvx_mvf_vf *vf = pci_get_drvdata(pdev);

	if (vf->loop)
		kthread_stop(vf->loop);
	cancel_delayed_work_sync(&vf->poll);
	vf_wr(vf, KVX_MVF_REG_DMA_CTRL, 0);
}

static const struct pci_device_id vf_ids[] = {
	{ PCI_DEVICE(KVX_MVF_PCI_VENDOR_ID, KVX_MVF_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vf_ids);

static struct pci_driver vf_driver = {
	.name = "kvx-mvf-vf",
	.id_table = vf_ids,
	.probe = vf_probe,
	.remove = vf_remove,
	.dev_groups = vf_groups,
};
module_pci_driver(vf_driver);

MODULE_DESCRIPTION("kvx-mvf VF guest driver: mailbox and DMA engine");
MODULE_LICENSE("GPL");
