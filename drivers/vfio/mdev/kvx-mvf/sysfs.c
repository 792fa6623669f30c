// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the operator's interface in sysfs.
 *
 * What an operator sets for a VF lives in the group "kvx_mvf" of its mdev
 * device, /sys/bus/mdev/devices/<uuid>/kvx_mvf/, which the driver core
 * adds once the VF is bound and removes before it is removed:
 *
 *   admin_mac   the MAC the PF assigns, which the VF gets at every reset
 *               (RESET message, function level reset); a unicast, non-zero
 *               MAC as xx:xx:xx:xx:xx:xx
 *   admin_vlan  the port VLAN, 1-4094, or 0 for none: with one set, the
 *               VF's VLAN filter is that VLAN alone and SET_VLAN is refused
 *   generation  read-only: the VF's device generation, the mdev type
 *               kvx-mvf-vf-g<N> a migration destination must be made from
 *
 * A write that does not parse, or a value out of range, fails with -EINVAL;
 * one while a user holds the VF open (a VM runs on it, or is migrating it)
 * with -EBUSY, so that no guest sees its PF's policy change under it.
 * Either way nothing changes.  The VFIO core holds the device set's lock
 * around open_device() and close_device(), so holding it here orders a
 * write with any open.  The PF's debugfs view stays for what developers
 * look at and drive (debugfs.c).
 */

#include <linux/ctype.h>
#include <linux/etherdevice.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "mvf.h"
#include "pf.h"
#include "sysfs.h"

static struct kvx_mvf_vf *kvx_mvf_dev_to_vf(struct device *dev)
{
	return dev_get_drvdata(dev);
}

/*
 * Run @set under the VF's lock if no user holds it open: 0, -EBUSY, or
 * what @set returned.
 */
static int kvx_mvf_sysfs_set(struct kvx_mvf_vf *vf,
			     int (*set)(struct kvx_mvf_vf *vf,
					const void *arg),
			     const void *arg)
{
	struct vfio_device_set *dev_set = vf->vdev.dev_set;
	int ret = -EBUSY;

	mutex_lock(&dev_set->lock);
	if (!vfio_device_set_open_count(dev_set)) {
		mutex_lock(&vf->lock);
		ret = set(vf, arg);
		mutex_unlock(&vf->lock);
	}
	mutex_unlock(&dev_set->lock);
	return ret;
}

static ssize_t admin_mac_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct kvx_mvf_vf *vf = kvx_mvf_dev_to_vf(dev);
	u8 mac[ETH_ALEN];

	mutex_lock(&vf->lock);
	ether_addr_copy(mac, vf->cfg.admin_mac);
	mutex_unlock(&vf->lock);
	return sysfs_emit(buf, "%pM\n", mac);
}

static int kvx_mvf_set_admin_mac(struct kvx_mvf_vf *vf, const void *mac)
{
	return kvx_mvf_pf_set_admin_mac(vf, mac);
}

static ssize_t admin_mac_store(struct device *dev,
			       struct device_attribute *attr, const char *buf,
			       size_t count)
{
	struct kvx_mvf_vf *vf = kvx_mvf_dev_to_vf(dev);
	u8 mac[ETH_ALEN];
	size_t len = count;
	int ret;

	/* Exactly xx:xx:xx:xx:xx:xx, with an optional newline. */
	if (len && buf[len - 1] == '\n')
		len--;
	if (len != 3 * ETH_ALEN - 1 || !mac_pton(buf, mac))
		return -EINVAL;
	ret = kvx_mvf_sysfs_set(vf, kvx_mvf_set_admin_mac, mac);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(admin_mac);

static ssize_t admin_vlan_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct kvx_mvf_vf *vf = kvx_mvf_dev_to_vf(dev);
	u16 vid;

	mutex_lock(&vf->lock);
	vid = vf->cfg.admin_vlan;
	mutex_unlock(&vf->lock);
	return sysfs_emit(buf, "%u\n", vid);
}

static int kvx_mvf_set_admin_vlan(struct kvx_mvf_vf *vf, const void *vid)
{
	return kvx_mvf_pf_set_admin_vlan(vf, *(const u16 *)vid);
}

static ssize_t admin_vlan_store(struct device *dev,
				struct device_attribute *attr, const char *buf,
				size_t count)
{
	struct kvx_mvf_vf *vf = kvx_mvf_dev_to_vf(dev);
	u16 vid;
	int ret;

	/* Decimal only: "0100" is not VLAN 64. */
	if (!count || !isdigit(buf[0]) || (buf[0] == '0' && isdigit(buf[1])))
		return -EINVAL;
	ret = kstrtou16(buf, 10, &vid);
	if (ret)
		return -EINVAL;
	ret = kvx_mvf_sysfs_set(vf, kvx_mvf_set_admin_vlan, &vid);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(admin_vlan);

static ssize_t generation_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", kvx_mvf_dev_to_vf(dev)->generation);
}
static DEVICE_ATTR_RO(generation);

static struct attribute *kvx_mvf_vf_attrs[] = {
	&dev_attr_admin_mac.attr,
	&dev_attr_admin_vlan.attr,
	&dev_attr_generation.attr,
	NULL,
};

static const struct attribute_group kvx_mvf_vf_group = {
	.name = "kvx_mvf",
	.attrs = kvx_mvf_vf_attrs,
};

const struct attribute_group *kvx_mvf_vf_groups[] = {
	&kvx_mvf_vf_group,
	NULL,
};
