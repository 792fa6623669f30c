// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the PF's debugfs view.
 *
 * debugfs (kvx-mvf/<pf>/) shows the PF's link, and a change of it queues a
 * PF_LINK message for each VF of API 1.1 (written by kvx_mvf_mbx_pf_msg_flush()
 * once the VF's buffer is free); per VF (<uuid>/) it shows the
 * configuration; writing "reset" to a VF's "event" file is a PF reset notice
 * (RSTI) the VF driver must answer with a RESET request.  A VF's "mode"
 * file shows and sets its mailbox mode, "trapped" or "direct".  "config"
 * also shows the DMA logging session (its number of ranges, 0 without one),
 * the bytes the device wrote outside its ranges, the device generation and
 * how many resumes could not honour their stream (migration.c).
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "debugfs.h"
#include "mbx.h"
#include "migration.h"
#include "mvf.h"
#include "pf.h"

static struct dentry *kvx_mvf_debugfs_root;

static int kvx_mvf_vf_config_show(struct seq_file *s, void *unused)
{
	struct kvx_mvf_vf *vf = s->private;
	const struct kvx_mvf_vf_config *cfg = &vf->cfg;
	unsigned int i;

	/* The lock order of mvf.h. */
	mutex_lock(&vf->mig.state_mutex);
	mutex_lock(&vf->dma.lock);
	mutex_lock(&vf->lock);
	seq_printf(s, "api %u.%u\n", cfg->api >> 8, cfg->api & 0xff);
	seq_printf(s, "cts %d\n", cfg->cts);
	seq_printf(s, "mac %pM\n", cfg->mac);
	seq_printf(s, "admin_mac %pM\n", cfg->admin_mac);
	seq_printf(s, "admin_vlan %u\n", cfg->admin_vlan);
	seq_puts(s, "vlans");
	for (i = 0; i < cfg->nr_vlans; i++)
		seq_printf(s, " %u", cfg->vlans[i]);
	seq_puts(s, "\n");
	seq_puts(s, "mcast");
	for (i = 0; i < cfg->nr_mcast; i++)
		seq_printf(s, " 0x%03x", cfg->mcast[i]);
	seq_puts(s, "\n");
	seq_printf(s, "reset_pending %d\n",
		   kvx_mvf_mbx_reset_pending(&vf->mbx));
	seq_printf(s, "pf_msg_pending %d\n", vf->mbx.pf_msg_pending);
	seq_printf(s, "link_msg_pending %d\n", vf->mbx.link_msg_pending);
	seq_printf(s, "pf_msgs %llu\n", vf->mbx.stats.pf_msgs);
	seq_printf(s, "requests %llu\n", vf->mbx.stats.requests);
	seq_printf(s, "nacks %llu\n", vf->mbx.stats.nacks);
	seq_printf(s, "protocol_errors %llu\n", vf->mbx.stats.protocol_errors);
	seq_printf(s, "trapped_writes %llu\n", vf->ktrap.writes);
	seq_printf(s, "write_tracked %d\n", vf->ktrap.tracked);
	seq_printf(s, "pf_trap %d\n", vf->mbx.pf_trap);
	seq_printf(s, "pf_traps %llu\n", vf->mbx.stats.pf_traps);
	seq_printf(s, "memslot %d\n", vf->ktrap.armed);
	seq_printf(s, "memslot_gfn 0x%llx\n",
		   vf->ktrap.armed ? (u64)vf->ktrap.gfn : 0);
	seq_printf(s, "memslot_finds %llu\n", vf->ktrap.arms);
	seq_printf(s, "mappings %u\n", vf->mbx.nr_maps);
	seq_printf(s, "polled %d\n", kvx_mvf_mbx_polled(vf));
	seq_printf(s, "wtrace %d\n", vf->wtrace.on);
	seq_printf(s, "wtrace_syncs %llu\n", vf->wtrace.syncs);
	seq_printf(s, "wtrace_noticed %llu\n", vf->wtrace.noticed);
	seq_printf(s, "doorbells %u\n", vf->doorbell.count);
	seq_printf(s, "doorbell_last 0x%08x\n", vf->doorbell.last);
	seq_printf(s, "dma_log %u\n", vf->dma.dirty.nr_ranges);
	seq_printf(s, "dma_untracked %llu\n", vf->dma.dirty.untracked);
	seq_printf(s, "generation %u\n", vf->generation);
	seq_printf(s, "quiesced_resumes %llu\n", vf->mig.quiesced_resumes);
	mutex_unlock(&vf->lock);
	mutex_unlock(&vf->dma.lock);
	mutex_unlock(&vf->mig.state_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvx_mvf_vf_config);

/* Copy a short debugfs command from userspace, NUL-terminated. */
static int kvx_mvf_debugfs_cmd(const char __user *ubuf, size_t count,
			       char *buf, size_t size)
{
	if (count >= size)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	return 0;
}

static ssize_t kvx_mvf_vf_event_write(struct file *file,
				      const char __user *ubuf, size_t count,
				      loff_t *ppos)
{
	struct kvx_mvf_vf *vf = file->private_data;
	char buf[16];
	int ret;

	ret = kvx_mvf_debugfs_cmd(ubuf, count, buf, sizeof(buf));
	if (ret)
		return ret;

	if (sysfs_streq(buf, "reset"))
		kvx_mvf_mig_reset_notice(vf);
	else
		return -EINVAL;
	return count;
}

static const struct file_operations kvx_mvf_vf_event_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = kvx_mvf_vf_event_write,
	.llseek = noop_llseek,
};

static const char * const kvx_mvf_mbx_mode_names[] = {
	[KVX_MVF_MBX_TRAPPED] = "trapped",
	[KVX_MVF_MBX_DIRECT] = "direct",
};

static int kvx_mvf_vf_mode_show(struct seq_file *s, void *unused)
{
	struct kvx_mvf_vf *vf = s->private;
	enum kvx_mvf_mbx_mode mode;

	mutex_lock(&vf->lock);
	mode = vf->mbx.mode;
	mutex_unlock(&vf->lock);
	seq_printf(s, "%s\n", kvx_mvf_mbx_mode_names[mode]);
	return 0;
}

static int kvx_mvf_vf_mode_open(struct inode *inode, struct file *file)
{
	return single_open(file, kvx_mvf_vf_mode_show, inode->i_private);
}

static ssize_t kvx_mvf_vf_mode_write(struct file *file,
				     const char __user *ubuf, size_t count,
				     loff_t *ppos)
{
	struct kvx_mvf_vf *vf = ((struct seq_file *)file->private_data)->private;
	char buf[16];
	int mode, ret;

	ret = kvx_mvf_debugfs_cmd(ubuf, count, buf, sizeof(buf));
	if (ret)
		return ret;

	mode = sysfs_match_string(kvx_mvf_mbx_mode_names, buf);
	if (mode < 0)
		return mode;
	kvx_mvf_mig_set_mbx_mode(vf, mode);
	return count;
}

static const struct file_operations kvx_mvf_vf_mode_fops = {
	.owner = THIS_MODULE,
	.open = kvx_mvf_vf_mode_open,
	.read = seq_read,
	.write = kvx_mvf_vf_mode_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int kvx_mvf_pf_link_show(struct seq_file *s, void *unused)
{
	struct kvx_mvf_pf *pf = s->private;
	bool up;
	u32 speed;

	kvx_mvf_pf_link_get(pf, &up, &speed);
	if (up)
		seq_printf(s, "up %u\n", speed);
	else
		seq_puts(s, "down\n");
	return 0;
}

static int kvx_mvf_pf_link_open(struct inode *inode, struct file *file)
{
	return single_open(file, kvx_mvf_pf_link_show, inode->i_private);
}

static ssize_t kvx_mvf_pf_link_write(struct file *file,
				     const char __user *ubuf, size_t count,
				     loff_t *ppos)
{
	struct kvx_mvf_pf *pf = ((struct seq_file *)file->private_data)->private;
	struct kvx_mvf_vf *vf;
	char buf[8];
	bool up;
	int ret;

	ret = kvx_mvf_debugfs_cmd(ubuf, count, buf, sizeof(buf));
	if (ret)
		return ret;

	if (sysfs_streq(buf, "up"))
		up = true;
	else if (sysfs_streq(buf, "down"))
		up = false;
	else
		return -EINVAL;

	/* pf->lock keeps the list of VFs stable; each VF is told (pf.h). */
	mutex_lock(&pf->lock);
	spin_lock(&pf->link.lock);
	pf->link.up = up;
	spin_unlock(&pf->link.lock);
	list_for_each_entry(vf, &pf->vfs, pf_node)
		kvx_mvf_mig_link_changed(vf);
	mutex_unlock(&pf->lock);
	return count;
}

static const struct file_operations kvx_mvf_pf_link_fops = {
	.owner = THIS_MODULE,
	.open = kvx_mvf_pf_link_open,
	.read = seq_read,
	.write = kvx_mvf_pf_link_write,
	.llseek = seq_lseek,
	.release = single_release,
};

void kvx_mvf_pf_debugfs_init(void)
{
	kvx_mvf_debugfs_root = debugfs_create_dir(KVX_MVF_NAME, NULL);
}

void kvx_mvf_pf_debugfs_exit(void)
{
	debugfs_remove(kvx_mvf_debugfs_root);
}

void kvx_mvf_pf_debugfs_add_pf(struct kvx_mvf_pf *pf)
{
	pf->debugfs = debugfs_create_dir(dev_name(&pf->dev),
					 kvx_mvf_debugfs_root);
	debugfs_create_file("link", 0600, pf->debugfs, pf,
			    &kvx_mvf_pf_link_fops);
}

void kvx_mvf_pf_debugfs_remove_pf(struct kvx_mvf_pf *pf)
{
	debugfs_remove(pf->debugfs);
	pf->debugfs = NULL;
}

void kvx_mvf_pf_debugfs_add_vf(struct kvx_mvf_vf *vf)
{
	vf->debugfs = debugfs_create_dir(dev_name(vf->vdev.dev),
					 vf->pf->debugfs);
	debugfs_create_file("config", 0400, vf->debugfs, vf,
			    &kvx_mvf_vf_config_fops);
	debugfs_create_file("event", 0200, vf->debugfs, vf,
			    &kvx_mvf_vf_event_fops);
	debugfs_create_file("mode", 0600, vf->debugfs, vf,
			    &kvx_mvf_vf_mode_fops);
}

/* Waits for readers and writers in flight: the VF may go away after. */
void kvx_mvf_pf_debugfs_remove_vf(struct kvx_mvf_vf *vf)
{
	debugfs_remove(vf->debugfs);
	vf->debugfs = NULL;
}
