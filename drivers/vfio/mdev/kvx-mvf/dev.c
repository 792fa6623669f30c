// SPDX-License-Identifier: GPL-2.0
/*
 * kvx-mvf: the device model: PCI config space, BAR0 decode and VF reset.
 *
 * Config space is a type 0 header with one 32-bit memory BAR and one
 * capability, MSI with a single vector and 64-bit addresses (irq.c).  Only
 * the bits a real function lets software change are writable
 * (kvx_mvf_cfg_wmask); BAR sizing works as on hardware.  BAR0 is accessed
 * as dwords only; unimplemented offsets read as zero and ignore writes, as
 * MMIO would.
 */

#include <linux/lockdep.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/unaligned.h>

#include "dev.h"
#include "dma.h"
#include "irq.h"
#include "mbx.h"
#include "mvf.h"
#include "pf.h"

static unsigned int kvx_mvf_generation = KVX_MVF_DEVICE_GENERATION;

static int kvx_mvf_generation_set(const char *val,
				  const struct kernel_param *kp)
{
	unsigned int gen;
	int ret;

	ret = kstrtouint(val, 0, &gen);
	if (ret)
		return ret;
	if (gen < 1 || gen > KVX_MVF_DEVICE_GENERATION_MAX)
		return -EINVAL;
	return param_set_uint(val, kp);
}

static const struct kernel_param_ops kvx_mvf_generation_ops = {
	.set = kvx_mvf_generation_set,
	.get = param_get_uint,
};

module_param_cb(generation, &kvx_mvf_generation_ops, &kvx_mvf_generation,
		0644);
MODULE_PARM_DESC(generation,
		 "Device generation of the VFs created from now on (1-2)");

/*
 * A VF keeps the generation it was created with: its mdev type's
 * (kvx-mvf-vf-g<N>), or the module parameter's for kvx-mvf-vf (@type_gen 0).
 */
unsigned int kvx_mvf_dev_new_generation(unsigned int type_gen)
{
	return type_gen ? type_gen : READ_ONCE(kvx_mvf_generation);
}

/* What a generation can do, as the migration stream names it. */
u32 kvx_mvf_dev_features(unsigned int generation)
{
	u32 features = KVX_MVF_MIG_F_API_1_1 | KVX_MVF_MIG_F_DMA;

	if (generation >= 2)
		features |= KVX_MVF_MIG_F_API_1_2;
	return features;
}

/* Which bits of the config byte at @off software may write. */
static u8 kvx_mvf_cfg_wmask(unsigned int off)
{
	u32 bar0_mask = ~(u32)(KVX_MVF_BAR0_SIZE - 1);

	switch (off) {
	case PCI_COMMAND:
		return PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	case PCI_COMMAND + 1:
		return PCI_COMMAND_INTX_DISABLE >> 8;
	case PCI_CACHE_LINE_SIZE:
	case PCI_LATENCY_TIMER:
	case PCI_INTERRUPT_LINE:
		return 0xff;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_0 + 3:
		return bar0_mask >> ((off - PCI_BASE_ADDRESS_0) * 8);
	case KVX_MVF_MSI_CAP + PCI_MSI_FLAGS:
		return PCI_MSI_FLAGS_ENABLE;
	case KVX_MVF_MSI_CAP + PCI_MSI_ADDRESS_LO:
		return 0xfc;
	case KVX_MVF_MSI_CAP + PCI_MSI_ADDRESS_LO + 1 ...
	     KVX_MVF_MSI_CAP + PCI_MSI_DATA_64 + 1:
		return 0xff;
	default:
		return 0;
	}
}

static void kvx_mvf_cfg_init(u8 *cfg, unsigned int generation)
{
	memset(cfg, 0, PCI_CFG_SPACE_SIZE);
	put_unaligned_le16(KVX_MVF_PCI_VENDOR_ID, &cfg[PCI_VENDOR_ID]);
	put_unaligned_le16(KVX_MVF_PCI_DEVICE_ID, &cfg[PCI_DEVICE_ID]);
	/*
	 * Not the generation: QEMU compares config space byte for byte on
	 * migration, and a read-only register must not change under a guest.
	 */
	cfg[PCI_REVISION_ID] = KVX_MVF_PCI_REVISION;
	cfg[PCI_CLASS_PROG] = KVX_MVF_PCI_CLASS & 0xff;
	put_unaligned_le16(KVX_MVF_PCI_CLASS >> 8, &cfg[PCI_CLASS_DEVICE]);
	cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	put_unaligned_le32(PCI_BASE_ADDRESS_SPACE_MEMORY |
			   PCI_BASE_ADDRESS_MEM_TYPE_32,
			   &cfg[PCI_BASE_ADDRESS_0]);
	put_unaligned_le16(KVX_MVF_PCI_SUBSYS_VENDOR_ID,
			   &cfg[PCI_SUBSYSTEM_VENDOR_ID]);
	put_unaligned_le16(KVX_MVF_PCI_SUBSYS_ID, &cfg[PCI_SUBSYSTEM_ID]);
	put_unaligned_le16(PCI_STATUS_CAP_LIST, &cfg[PCI_STATUS]);
	cfg[PCI_CAPABILITY_LIST] = KVX_MVF_MSI_CAP;
	cfg[KVX_MVF_MSI_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSI;
	put_unaligned_le16(PCI_MSI_FLAGS_64BIT,
			   &cfg[KVX_MVF_MSI_CAP + PCI_MSI_FLAGS]);
}

/*
 * A saved config space (migration) fits this VF if every bit software
 * cannot write is what this VF has.
 */
int kvx_mvf_cfg_check_saved(struct kvx_mvf_vf *vf, const u8 *saved)
{
	u8 fresh[PCI_CFG_SPACE_SIZE];
	unsigned int off;

	kvx_mvf_cfg_init(fresh, vf->generation);
	for (off = 0; off < PCI_CFG_SPACE_SIZE; off++)
		if ((saved[off] ^ fresh[off]) & ~kvx_mvf_cfg_wmask(off))
			return -EINVAL;
	return 0;
}

/* Take the writable bits of a checked saved config space. */
void kvx_mvf_cfg_restore(struct kvx_mvf_vf *vf, const u8 *saved)
{
	unsigned int off;
	u8 wmask;

	lockdep_assert_held(&vf->lock);

	for (off = 0; off < PCI_CFG_SPACE_SIZE; off++) {
		wmask = kvx_mvf_cfg_wmask(off);
		vf->config[off] = (vf->config[off] & ~wmask) |
				  (saved[off] & wmask);
	}
}

/* Any length within config space; the caller checked the range. */
int kvx_mvf_cfg_read(struct kvx_mvf_vf *vf, unsigned int off, void *buf,
		     size_t count)
{
	lockdep_assert_held(&vf->lock);

	memcpy(buf, &vf->config[off], count);
	return 0;
}

/* One naturally aligned access of 1, 2 or 4 bytes, as a CPU would do. */
int kvx_mvf_cfg_write(struct kvx_mvf_vf *vf, unsigned int off,
		      const void *buf, size_t count)
{
	const u8 *val = buf;
	unsigned int i;
	u8 wmask;

	lockdep_assert_held(&vf->lock);

	if ((count != 1 && count != 2 && count != 4) || off % count)
		return -EINVAL;

	for (i = 0; i < count; i++) {
		wmask = kvx_mvf_cfg_wmask(off + i);
		vf->config[off + i] = (vf->config[off + i] & ~wmask) |
				      (val[i] & wmask);
	}
	return 0;
}

static u32 kvx_mvf_status(struct kvx_mvf_vf *vf)
{
	u32 status = 0;

	if (kvx_mvf_pf_link_up(vf->pf))
		status |= KVX_MVF_STATUS_LINK_UP;
	if (kvx_mvf_mbx_reset_pending(&vf->mbx))
		status |= KVX_MVF_STATUS_RESET_PENDING;
	if (vf->cfg.cts)
		status |= KVX_MVF_STATUS_CTS;
	return status;
}

static bool kvx_mvf_bar0_access_ok(unsigned int off)
{
	return off < KVX_MVF_BAR0_SIZE && IS_ALIGNED(off, sizeof(u32));
}

static bool kvx_mvf_is_mbx(unsigned int off)
{
	return off >= KVX_MVF_MBX_PAGE &&
	       off < KVX_MVF_MBX_PAGE + KVX_MVF_PAGE_SIZE;
}

static void kvx_mvf_bar0_read_locked(struct kvx_mvf_vf *vf, unsigned int off,
				     u32 *val)
{
	lockdep_assert_held(&vf->lock);

	if (kvx_mvf_is_mbx(off)) {
		*val = kvx_mvf_mbx_read(vf, off - KVX_MVF_MBX_PAGE);
		return;
	}

	switch (off) {
	case KVX_MVF_REG_ID:
		*val = KVX_MVF_ID_MAGIC;
		break;
	case KVX_MVF_REG_VERSION:
		*val = KVX_MVF_ABI_VERSION << KVX_MVF_VERSION_ABI_SHIFT |
		       vf->generation;
		break;
	case KVX_MVF_REG_STATUS:
		*val = kvx_mvf_status(vf);
		break;
	case KVX_MVF_REG_DB_COUNT:
		*val = vf->doorbell.count;
		break;
	default:
		*val = 0;
		break;
	}
}

static void kvx_mvf_bar0_write_locked(struct kvx_mvf_vf *vf, unsigned int off,
				      u32 val)
{
	lockdep_assert_held(&vf->lock);

	if (kvx_mvf_is_mbx(off)) {
		kvx_mvf_mbx_write(vf, off - KVX_MVF_MBX_PAGE, val);
		return;
	}

	if (off == KVX_MVF_REG_DOORBELL) {
		vf->doorbell.count++;
		vf->doorbell.last = val;
	}
}

/*
 * The DMA engine's page has its own lock, which must not be taken under
 * the VF's (dma.h); everything else is under the VF's lock.
 */
int kvx_mvf_bar0_read(struct kvx_mvf_vf *vf, unsigned int off, u32 *val)
{
	if (!kvx_mvf_bar0_access_ok(off))
		return -EINVAL;

	if (kvx_mvf_dma_is_reg(off)) {
		*val = kvx_mvf_dma_read(vf, off);
		return 0;
	}
	mutex_lock(&vf->lock);
	kvx_mvf_bar0_read_locked(vf, off, val);
	mutex_unlock(&vf->lock);
	return 0;
}

int kvx_mvf_bar0_write(struct kvx_mvf_vf *vf, unsigned int off, u32 val)
{
	if (!kvx_mvf_bar0_access_ok(off))
		return -EINVAL;

	if (kvx_mvf_dma_is_reg(off)) {
		kvx_mvf_dma_write(vf, off, val);
		return 0;
	}
	mutex_lock(&vf->lock);
	kvx_mvf_bar0_write_locked(vf, off, val);
	mutex_unlock(&vf->lock);
	return 0;
}

/*
 * Function level reset: config space, registers and mailbox return to their
 * power-on values, RSTD tells the VF driver the reset is done, and the PF
 * forgets what the VF negotiated (it keeps the MAC it assigned).  A mapping
 * of the mailbox page stays (it sees the reset page); the mailbox mode is
 * the PF's choice and stays.  The DMA engine, which has its own lock, is reset by the
 * caller (kvx_mvf_dev_flr()).
 */
void kvx_mvf_dev_reset(struct kvx_mvf_vf *vf)
{
	lockdep_assert_held(&vf->lock);

	kvx_mvf_cfg_init(vf->config, vf->generation);
	memset(&vf->doorbell, 0, sizeof(vf->doorbell));
	kvx_mvf_mbx_reset(&vf->mbx);
	kvx_mvf_pf_vf_reset(vf);
}

/* The whole function level reset: the DMA engine, then the rest. */
void kvx_mvf_dev_flr(struct kvx_mvf_vf *vf)
{
	kvx_mvf_dma_reset(vf);
	mutex_lock(&vf->lock);
	kvx_mvf_dev_reset(vf);
	mutex_unlock(&vf->lock);
}

void kvx_mvf_dev_init(struct kvx_mvf_vf *vf)
{
	kvx_mvf_dma_reset(vf);
	mutex_lock(&vf->lock);
	kvx_mvf_pf_vf_init(vf);
	kvx_mvf_dev_reset(vf);
	mutex_unlock(&vf->lock);
}
