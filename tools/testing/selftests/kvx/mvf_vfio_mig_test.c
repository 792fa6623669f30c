// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_vfio_mig_test: VFIO migration v2: the states and arcs, quiescing, PRE_COPY
 * and STOP_COPY into a second VF, generations, refused streams.
 *
 * See mvf_vfio_test.h.
 */
#include "mvf_vfio_test.h"

/* Whether two keys hold the same value (mvf_state() has one buffer). */
/* Migration v2. */

#define MIG_BUF		(KVX_MVF_MIG_MAX_SIZE + 64)
#define GEN_PARAM	"/sys/module/kvx_mvf/parameters/generation"

static u32 mig_get(struct __test_metadata *_metadata,
		   struct vf *vf)
{
	u32 state;
	int ret = mvf_mig_get(vf, &state);

	ASSERT_EQ(0, ret) {
		TH_LOG("%s", strerror(-ret));
	}
	return state;
}

static int precopy_info(int fd, struct vfio_precopy_info *info)
{
	info->argsz = sizeof(*info);
	info->flags = 0;
	return ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, info) ? -errno : 0;
}

/* Read what the data_fd has now: until EOF (STOP_COPY) or ENOMSG. */
static size_t mig_read(struct __test_metadata *_metadata,
		       int fd, u8 *buf, size_t size, bool precopy)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		ASSERT_LT(len, size) {
			TH_LOG("stream too long");
		}
		n = read(fd, buf + len, 13);	/* odd chunks on purpose */
		if (n < 0 && precopy && errno == ENOMSG)
			break;
		ASSERT_GE(n, 0) {
			TH_LOG("read: %s", strerror(errno));
		}
		if (!n) {
			ASSERT_EQ(0, precopy) {
				TH_LOG("EOF in PRE_COPY");
			}
			break;
		}
		len += n;
	}
	return len;
}

/* Save @vf through STOP -> STOP_COPY; leaves it in STOP. */
static size_t mig_save_stopped(struct __test_metadata *_metadata,
			       struct vf *vf, u8 *buf)
{
	size_t len;
	int fd;

	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	ASSERT_GE(fd, 0);
	len = mig_read(_metadata, fd, buf, MIG_BUF, false);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	close(fd);
	return len;
}

/* Feed @buf to @vf: 0, or the errno of the write or of RESUMING -> STOP. */
static int mig_resume(struct __test_metadata *_metadata,
		      struct vf *vf, const u8 *buf, size_t len)
{
	size_t off, n;
	int fd, ret = 0;

	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_GE(fd, 0);
	for (off = 0; off < len && !ret; off += n) {
		n = len - off < 7 ? len - off : 7;
		if (write(fd, buf + off, n) != (ssize_t)n)
			ret = -errno;
	}
	if (!ret)
		ret = mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL);
	close(fd);
	return ret;
}

static const unsigned int dma_regs[] = {
	KVX_MVF_REG_DMA_CTRL, KVX_MVF_REG_DMA_STATUS, KVX_MVF_REG_DMA_RING_LO,
	KVX_MVF_REG_DMA_RING_HI, KVX_MVF_REG_DMA_RING_SIZE,
	KVX_MVF_REG_DMA_HEAD, KVX_MVF_REG_DMA_TAIL, KVX_MVF_REG_DMA_COMPLETED,
	KVX_MVF_REG_DMA_ERRORS, KVX_MVF_REG_DMA_CPL_PENDING,
};

static const char * const mig_keys[] = {
	"api", "cts", "mac", "vlans", "mcast", "reset_pending", "pf_msg_pending",
	"requests", "nacks", "protocol_errors", "doorbells", "doorbell_last",
};

/*
 * The state a destination must have taken from its source: the PF's view,
 * the DMA registers, VFMBMEM, config space; VFMAILBOX last (reading it
 * clears bits, on both alike).
 */
static void mig_compare(struct __test_metadata *_metadata,
			struct vf *a, struct vf *b)
{
	char va[256];
	unsigned int i;
	u32 ra, rb;

	for (i = 0; i < ARRAY_SIZE(mig_keys); i++) {
		snprintf(va, sizeof(va), "%s", mvf_state(a, mig_keys[i]));
		ASSERT_STREQ(va, mvf_state(b, mig_keys[i])) {
			TH_LOG("%s: %s vs %s", mig_keys[i], va,
			       mvf_state(b, mig_keys[i]));
		}
	}
	for (i = 0; i < ARRAY_SIZE(dma_regs); i++) {
		ra = mvf_reg_read(a, dma_regs[i]);
		rb = mvf_reg_read(b, dma_regs[i]);
		ASSERT_EQ(ra, rb) {
			TH_LOG("DMA reg 0x%x: 0x%x vs 0x%x", dma_regs[i], ra,
			       rb);
		}
	}
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++) {
		ASSERT_EQ(mvf_reg_read(a, KVX_MVF_REG_VFMBMEM + 4 * i),
			  mvf_reg_read(b, KVX_MVF_REG_VFMBMEM + 4 * i)) {
			TH_LOG("VFMBMEM %u", i);
		}
	}
	ASSERT_EQ(mvf_cfg_read32(a, PCI_COMMAND),
		  mvf_cfg_read32(b, PCI_COMMAND));
	ASSERT_EQ(mvf_cfg_read32(a, PCI_BASE_ADDRESS_0),
		  mvf_cfg_read32(b, PCI_BASE_ADDRESS_0));
	ra = mvf_reg_read(a, KVX_MVF_REG_VFMAILBOX);
	rb = mvf_reg_read(b, KVX_MVF_REG_VFMAILBOX);
	ASSERT_EQ(ra, rb) {
		TH_LOG("VFMAILBOX 0x%x vs 0x%x", ra, rb);
	}
}

/* A VF driver brings @vf up: RESET, API, MAC, VLANs, DMA ring. */
static void vf_bring_up(struct __test_metadata *_metadata,
			struct vf *vf, u32 api, const char *mac)
{
	static const u16 mcast[] = { 0x0a1, 0x3f0, 0x002 };
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_NE(0, mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE, api));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE)) {
		TH_LOG("0x%x", r[0]);
	}
	mac_words(_metadata, mac, w);
	ASSERT_NE(0, mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]));
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_ACK, 0);
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 200, KVX_MVF_MSG_ACK, 0);
	ASSERT_EQ(mcast_op(_metadata, vf, 3, mcast, 3, r),
		  ACKED(KVX_MVF_MSG_SET_MCAST));
	bus_master(_metadata, vf, true);
	ASSERT_EQ(dma_ring(vf, giova(RING_OFF), 16),
		  KVX_MVF_DMA_STATUS_ENABLED);
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 5, giova(DATA_OFF), 64),
		  DMA_OK);
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 5, giova(DATA_OFF), 64),
		  DMA_OK);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, 1);
}

static u8 stream[MIG_BUF], stream2[MIG_BUF];

/* The offset of the first section of @type in a stream, or 0. */
static size_t tlv_find(const u8 *s, size_t len, u16 type)
{
	size_t off = sizeof(struct kvx_mvf_mig_header);
	const struct kvx_mvf_mig_tlv *t;

	while (off + sizeof(*t) <= len) {
		t = (const void *)(s + off);
		if (t->type == type)
			return off;
		off += sizeof(*t) + ((t->length + 7) & ~7u);
	}
	return 0;
}

static void *section(struct __test_metadata *_metadata,
		     u8 *s, size_t len, u16 type)
{
	size_t off = tlv_find(s, len, type);

	ASSERT_NE(0, off) {
		TH_LOG("no TLV of type %u", type);
	}
	return s + off + sizeof(struct kvx_mvf_mig_tlv);
}

/* A field of a stream and the value it must hold. */
struct field {
	const char *name;
	u64 got, want;
};

/*
 * Each of the @n fields of @what holds its value; a failure names the field
 * and shows them all.
 */
static void assert_fields(struct __test_metadata *_metadata, const char *what,
			  const struct field *f, unsigned int n)
{
	char all[256] = "";
	unsigned int i;
	size_t at = 0;

	for (i = 0; i < n && at < sizeof(all); i++)
		at += snprintf(all + at, sizeof(all) - at, " %s 0x%llx",
			       f[i].name, (unsigned long long)f[i].got);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(f[i].want, f[i].got) {
			TH_LOG("%s: %s is not 0x%llx:%s", what, f[i].name,
			       (unsigned long long)f[i].want, all);
		}
	}
}

/*
 * Save @vf's stream, stopped, into @s and run @vf again: the body of its
 * section @type, which must be there and optional.
 */
static void *saved_optional(struct __test_metadata *_metadata, struct vf *vf,
			    u8 *s, u16 type, const char *what)
{
	size_t len = mig_save_stopped(_metadata, vf, s);
	struct kvx_mvf_mig_tlv *t;

	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	t = (void *)(s + tlv_find(s, len, type));
	assert_fields(_metadata, what, (const struct field[]){
		{ "type", t->type, type },
		{ "flags", t->flags, 0 },
	}, 2);
	return t + 1;
}

/* Copy @len of @src to stream2, inserting @ins at @at. */
static size_t splice(const u8 *src, size_t len, size_t at, const void *ins,
		     size_t ins_len)
{
	memcpy(stream2, src, at);
	memcpy(stream2 + at, ins, ins_len);
	memcpy(stream2 + at + ins_len, src + at, len - at);
	return len + ins_len;
}

/* What a refused stream must not change. */
struct dest_view {
	char dbg[2048];
	u32 dma[ARRAY_SIZE(dma_regs)];
	u8 cfg[PCI_CFG_SPACE_SIZE];
};

static void dest_view(struct __test_metadata *_metadata,
		      struct vf *b, struct dest_view *v)
{
	unsigned int i;

	memset(v, 0, sizeof(*v));
	ASSERT_EQ(0, mvf_state_dump(b, v->dbg, sizeof(v->dbg)));
	for (i = 0; i < ARRAY_SIZE(dma_regs); i++)
		v->dma[i] = mvf_reg_read(b, dma_regs[i]);
	ASSERT_EQ(mvf_region_read(b, b->cfg_off, v->cfg, sizeof(v->cfg)),
		  sizeof(v->cfg));
}

/* Resume @s into @b: the errno; a refusal must have changed nothing. */
static int try_resume(struct __test_metadata *_metadata,
		      struct vf *b, const u8 *s, size_t len, const char *what)
{
	struct dest_view before, after;
	int ret;

	ASSERT_EQ(0, ioctl(b->device, VFIO_DEVICE_RESET));
	dest_view(_metadata, b, &before);
	ret = mig_resume(_metadata, b, s, len);
	if (ret) {
		ASSERT_EQ(ret, -EINVAL) {
			TH_LOG("%s: %s", what, strerror(-ret));
		}
		dest_view(_metadata, b, &after);
		ASSERT_EQ(0, memcmp(&before, &after, sizeof(before))) {
			TH_LOG("%s: refused stream changed the device:\n%s\n--\n%s",
			       what, before.dbg, after.dbg);
		}
	}
	return ret;
}

#define REFUSED(s, len, what) do {					\
	const char *what_ = (what);					\
									\
	ASSERT_EQ(-EINVAL, try_resume(_metadata, &b, s, len, what_)) {	\
		TH_LOG("%s accepted", what_);				\
	}								\
} while (0)

TEST_F_TIMEOUT(vfio, mig_caps, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vfio_device_feature_migration mf = {};
	struct vfio_device_feature_mig_data_size ds = {};
	struct vfio_precopy_info info;
	char param[8];
	u8 byte;
	int fd, ret;

	/*
	 * The dirty tracking mig_precopy and mig_close use: the device's
	 * where PROBE offers it, which the dma_logging parameter decides (a
	 * broken PROBE would silently take the container's).
	 */
	ASSERT_EQ(0, mvf_read_file("/sys/module/kvx_mvf/parameters/dma_logging",
				   param, sizeof(param))) {
		TH_LOG("no dma_logging parameter");
	}
	ASSERT_EQ(mvf_shared->dev_log, (param[0] == 'Y')) {
		TH_LOG("PROBE of DMA_LOGGING_START %s, dma_logging=%c",
		       mvf_shared->dev_log ? "offers" : "refuses", param[0]);
	}

	ASSERT_EQ(0, mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIGRATION, &mf,
				 sizeof(mf))) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(mf.flags, (VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			     VFIO_MIGRATION_PRE_COPY)) {
		TH_LOG("flags 0x%llx", (unsigned long long)mf.flags);
	}
	ASSERT_EQ(mig_get(_metadata, vf), VFIO_DEVICE_STATE_RUNNING);
	ASSERT_EQ(0, mvf_feature(vf, VFIO_DEVICE_FEATURE_GET |
				 VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &ds,
				 sizeof(ds)));
	ASSERT_GT(ds.stop_copy_length, sizeof(struct kvx_mvf_mig_header)) {
		TH_LOG("%llu", (unsigned long long)ds.stop_copy_length);
	}
	ASSERT_LT(ds.stop_copy_length, KVX_MVF_MIG_MAX_SIZE) {
		TH_LOG("%llu", (unsigned long long)ds.stop_copy_length);
	}

	/* Invalid targets and arcs: -EINVAL, the state stays. */
	ASSERT_EQ(mvf_mig_set(vf, VFIO_DEVICE_STATE_ERROR, NULL), -EINVAL);
	ASSERT_EQ(mvf_mig_set(vf, 99, NULL), -EINVAL);
	ASSERT_EQ(mig_get(_metadata, vf), VFIO_DEVICE_STATE_RUNNING);
	/* PRE_COPY -> RUNNING ends the session: not in PRE_COPY any more. */
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, precopy_info(fd, &info)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	ret = precopy_info(fd, &info);
	ASSERT_EQ(ret, -EINVAL) {
		TH_LOG("PRECOPY_INFO after the session: %s", strerror(-ret));
	}
	close(fd);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(mig_get(_metadata, vf), VFIO_DEVICE_STATE_STOP_COPY);
	ASSERT_EQ(mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, NULL), -EINVAL);
	ASSERT_EQ(mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY_P2P, NULL),
		  -EINVAL);
	ASSERT_EQ(mig_get(_metadata, vf), VFIO_DEVICE_STATE_STOP_COPY);
	/* PRECOPY_INFO is for the PRE_COPY states only. */
	ASSERT_EQ(precopy_info(fd, &info), -EINVAL);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	/* The session ended with the arc: its fd is dead. */
	ASSERT_EQ(read(fd, &byte, 1), -1) {
		TH_LOG("read: %s", strerror(errno));
	}
	ASSERT_EQ(errno, ENODEV) {
		TH_LOG("read: %s", strerror(errno));
	}
	ASSERT_EQ(precopy_info(fd, &info), -EINVAL);
	close(fd);

	/* RESUMING -> STOP without a stream: -EINVAL, still RESUMING. */
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL), -EINVAL);
	ASSERT_EQ(mig_get(_metadata, vf), VFIO_DEVICE_STATE_RESUMING);
	ASSERT_EQ(mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL), -EINVAL);
	/* Reset takes the device back to RUNNING and ends the session. */
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_RESET));
	ASSERT_EQ(mig_get(_metadata, vf), VFIO_DEVICE_STATE_RUNNING);
	ASSERT_EQ(write(fd, &byte, 1), -1) {
		TH_LOG("write: %s", strerror(errno));
	}
	ASSERT_EQ(errno, ENODEV) {
		TH_LOG("write: %s", strerror(errno));
	}
	close(fd);
	vf_bring_up(_metadata, vf, KVX_MVF_API_1_1, "02:00:00:00:aa:01");
}

/* Leaving RUNNING quiesces: DMA deferred, mailbox TRAPPED. */
TEST_F_TIMEOUT(vfio, mig_quiesce, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u8 *buf = vf->mem + DATA_OFF + 0x1000;
	u32 idx;

	ASSERT_EQ(mvf_set_mode(vf, "direct"), 0);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING_P2P, NULL));
	ASSERT_STREQ(mvf_mode(vf), "trapped\n") {
		TH_LOG("mode %s", mvf_mode(vf));
	}
	memset(buf, 0, 64);
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x33333333,
		       giova(DATA_OFF + 0x1000), 64);
	assert_dma_refused(_metadata, vf, idx, buf,
			   KVX_MVF_DMA_STATUS_ENABLED |
			   KVX_MVF_DMA_STATUS_QUIESCED, "DMA while quiesced");
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	/* The PF's choice made while stopped waits for RUNNING. */
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);
	ASSERT_EQ(mvf_set_mode(vf, "direct"), 0);
	ASSERT_STREQ(mvf_mode(vf), "trapped\n") {
		TH_LOG("mode %s", mvf_mode(vf));
	}
	ASSERT_EQ(desc_status(vf, idx), 0);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(desc_status(vf, idx), DMA_OK) {
		TH_LOG("deferred doorbell not served");
	}
	ASSERT_NE(0, all_bytes(buf, 64, 0x33)) {
		TH_LOG("deferred doorbell not served");
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS),
		  KVX_MVF_DMA_STATUS_ENABLED);
	ASSERT_STREQ(mvf_mode(vf), "direct\n") {
		TH_LOG("mode %s", mvf_mode(vf));
	}
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);
}

TEST_F_TIMEOUT(vfio, mig_precopy, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vfio_precopy_info info;
	const unsigned long x = DATA_OFF + 0x2000, y = DATA_OFF + 0x3000;
	const u16 mc = 0x5a5;
	size_t len, n;
	struct vf b;
	u32 r[KVX_MVF_MBX_WORDS], idx;
	int fd;

	vf_add(_metadata, &b, vf);
	log_stop(vf);
	ASSERT_EQ(0, log_start_guest(vf, GPAGE)) {
		TH_LOG("%s", strerror(errno));
	}
	memset(dirty_want, 0, sizeof(dirty_want));

	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, precopy_info(fd, &info)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_GT(info.initial_bytes, sizeof(struct kvx_mvf_mig_header)) {
		TH_LOG("initial %llu dirty %llu",
		       (unsigned long long)info.initial_bytes,
		       (unsigned long long)info.dirty_bytes);
	}
	ASSERT_EQ(info.dirty_bytes, 0) {
		TH_LOG("initial %llu dirty %llu",
		       (unsigned long long)info.initial_bytes,
		       (unsigned long long)info.dirty_bytes);
	}
	len = mig_read(_metadata, fd, stream, MIG_BUF, true);
	ASSERT_EQ(len, info.initial_bytes) {
		TH_LOG("read %zu of %llu", len,
		       (unsigned long long)info.initial_bytes);
	}
	ASSERT_EQ(0, precopy_info(fd, &info));
	ASSERT_EQ(0, info.initial_bytes);
	ASSERT_EQ(0, info.dirty_bytes);

	/* The VF keeps running: its mailbox and DMA change the state. */
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 300, KVX_MVF_MSG_ACK, 0);
	ASSERT_EQ(mcast_op(_metadata, vf, 1, &mc, 1, r),
		  ACKED(KVX_MVF_MSG_SET_MCAST));
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 0x44444444, giova(x), 64),
		  DMA_OK);
	want_range(x, 64);
	want_range(RING_OFF, 64);
	ASSERT_EQ(0, precopy_info(fd, &info));
	ASSERT_EQ(0, info.initial_bytes) {
		TH_LOG("dirty %llu", (unsigned long long)info.dirty_bytes);
	}
	ASSERT_NE(0, info.dirty_bytes) {
		TH_LOG("dirty %llu", (unsigned long long)info.dirty_bytes);
	}
	n = mig_read(_metadata, fd, stream + len, MIG_BUF - len, true);
	ASSERT_EQ(n, info.dirty_bytes) {
		TH_LOG("read %zu of %llu dirty", n,
		       (unsigned long long)info.dirty_bytes);
	}
	len += n;
	ksft_print_msg("pre-copy: %zu initial bytes, %zu dirty\n", len - n, n);
	ASSERT_EQ(0, precopy_info(fd, &info));
	ASSERT_EQ(0, info.dirty_bytes);
	check_dirty(_metadata, vf, "pre-copy");

	/* P2P: a doorbell waits, nothing is written. */
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY_P2P, NULL));
	memset(vf->mem + y, 0, 64);
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x55555555, giova(y), 64);
	dma_kick(vf);
	ASSERT_NE(0,
		  mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS) &
		  KVX_MVF_DMA_STATUS_QUIESCED);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP_COPY, NULL));
	n = mig_read(_metadata, fd, stream + len, MIG_BUF - len, false);
	ksft_print_msg("stop-copy: %zu bytes, stream %zu\n", n, len + n);
	len += n;
	close(fd);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	check_dirty(_metadata, vf, "stopped");
	ASSERT_EQ(desc_status(vf, idx), 0);
	ASSERT_NE(0, all_bytes(vf->mem + y, 64, 0));

	ASSERT_EQ(mig_resume(_metadata, &b, stream, len), 0) {
		TH_LOG("resume: %s", strerror(errno));
	}
	ASSERT_EQ(mig_get(_metadata, &b), VFIO_DEVICE_STATE_STOP);
	mig_compare(_metadata, vf, &b);
	ASSERT_STREQ(mvf_state(&b, "vlans"), "100 200 300");

	/* Running, the destination serves the doorbell the source deferred. */
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(desc_status(vf, idx), DMA_OK) {
		TH_LOG("deferred doorbell lost");
	}
	ASSERT_NE(0, all_bytes(vf->mem + y, 64, 0x55)) {
		TH_LOG("deferred doorbell lost");
	}
	ASSERT_EQ(mvf_reg_read(&b, KVX_MVF_REG_DMA_HEAD), (idx + 1) % 16);
	ASSERT_EQ(dma_run(&b, KVX_MVF_DMA_OP_FILL, 0x66666666, giova(y), 64),
		  DMA_OK);
	ASSERT_NE(0, all_bytes(vf->mem + y, 64, 0x66));
	ASSERT_NE(0, mbx_xfer(&b, r, 1, KVX_MVF_MSG_GET_LINK));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(0, log_stop(vf));
	vf_del(&b);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
}

/*
 * A PF reset notice while the device is stopped waits for it to run:
 * sent then it would come after a source's last snapshot, or be
 * overwritten by the stream on a destination.
 */
TEST_F_TIMEOUT(vfio, mig_reset_notice, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS];
	struct vf b;
	size_t len;
	int fd;

	ASSERT_STREQ(mvf_state(vf, "cts"), "1") {
		TH_LOG("VF not set up");
	}
	len = mig_save_stopped(_metadata, vf, stream);
	ASSERT_EQ(mvf_event(vf, "reset"), 0);
	ASSERT_STREQ(mvf_state(vf, "reset_pending"), "0") {
		TH_LOG("notice delivered in STOP");
	}
	ASSERT_STREQ(mvf_state(vf, "cts"), "1") {
		TH_LOG("notice delivered in STOP");
	}

	/* The destination gets one while RESUMING: the stream is applied. */
	vf_add(_metadata, &b, vf);
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(mvf_event(&b, "reset"), 0);
	ASSERT_EQ(write(fd, stream, len), (ssize_t)len) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_STOP, NULL)) {
		TH_LOG("%s", strerror(errno));
	}
	close(fd);
	mig_compare(_metadata, vf, &b);
	/* ... and sees it when it runs. */
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_NE(0, mbx_read_ctrl(&b) & KVX_MVF_MBX_RSTI) {
		TH_LOG("notice lost in RESUMING");
	}
	ASSERT_STREQ(mvf_state(&b, "cts"), "0");
	ASSERT_NE(0, mbx_xfer(&b, r, 1, KVX_MVF_MSG_RESET));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	vf_del(&b);

	/* The source runs again, as after a failed migration: its notice. */
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_NE(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_RSTI) {
		TH_LOG("notice lost in STOP");
	}
	ASSERT_STREQ(mvf_state(vf, "cts"), "0");
	ASSERT_STREQ(mvf_state(vf, "reset_pending"), "1");
	vf_bring_up(_metadata, vf, KVX_MVF_API_1_1, "02:00:00:00:aa:01");
	ASSERT_STREQ(mvf_state(vf, "reset_pending"), "0");
}

/* The sysfs description of the mdev type @type says @a and @b. */
static void assert_type_says(struct __test_metadata *_metadata,
			     const char *type, const char *a, const char *b)
{
	char path[256], buf[256] = "";

	snprintf(path, sizeof(path), MVF_TYPES_DIR "/%s/description", type);
	ASSERT_EQ(0, mvf_read_file(path, buf, sizeof(buf))) {
		TH_LOG("%s: %s", type, buf);
	}
	ASSERT_NE(NULL, strstr(buf, a)) {
		TH_LOG("%s: %s", type, buf);
	}
	ASSERT_NE(NULL, strstr(buf, b)) {
		TH_LOG("%s: %s", type, buf);
	}
}

/*
 * One mdev type per compatibility generation (issue 11, item 4).  VFs of
 * kvx-mvf-vf-g1 and kvx-mvf-vf-g2 have the same config space byte for byte
 * (QEMU compares it; on baf10d6 the generation was the revision ID and
 * QEMU failed with "Bad config data: i=0x8 read: 1 device: 2"); the guest
 * reads the generation in VERSION, so a stream resumes only on a VF of its
 * own generation and is refused at its header otherwise (QEMU writes
 * pre-copy data as it comes: before the switchover), the destination
 * unchanged.  Each type tells its compatibility in sysfs.
 */
TEST_F_TIMEOUT(vfio, mig_generation, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u8 c1[PCI_CFG_SPACE_SIZE], c2[PCI_CFG_SPACE_SIZE];
	struct vf b1 = {}, b2 = {}, b3 = {};
	u32 r[KVX_MVF_MBX_WORDS];
	char buf[256];
	unsigned int i;
	size_t len;

	ASSERT_EQ(mvf_read_file(GEN_PARAM, buf, sizeof(buf)), 0) {
		TH_LOG("generation %s", buf);
	}
	ASSERT_STREQ(buf, "1\n") {
		TH_LOG("generation %s", buf);
	}
	ASSERT_EQ(mvf_write_file(GEN_PARAM, "0"), -EINVAL);
	ASSERT_EQ(mvf_write_file(GEN_PARAM, "3"), -EINVAL);
	ASSERT_EQ(mvf_write_file(GEN_PARAM, "two"), -EINVAL);

	/* The types and what they tell. */
	assert_type_says(_metadata, "kvx-mvf-vf-g1", "generation 1:",
			 "generation 1 only");
	assert_type_says(_metadata, "kvx-mvf-vf-g2", "generation 2:",
			 "API 1.0-1.2");
	vf_add_type(_metadata, &b1, vf, "kvx-mvf-vf-g1");
	vf_add_type(_metadata, &b2, vf, "kvx-mvf-vf-g2");
	ASSERT_STREQ(mvf_state(&b1, "generation"), "1");
	ASSERT_STREQ(mvf_state(&b2, "generation"), "2");
	ASSERT_EQ((mvf_reg_read(&b1, KVX_MVF_REG_VERSION) &
		   KVX_MVF_VERSION_GEN_MASK), 1) {
		TH_LOG("VERSION");
	}
	ASSERT_EQ((mvf_reg_read(&b2, KVX_MVF_REG_VERSION) &
		   KVX_MVF_VERSION_GEN_MASK), 2) {
		TH_LOG("VERSION");
	}
	ASSERT_EQ(mvf_region_read(&b1, b1.cfg_off, c1, sizeof(c1)), sizeof(c1));
	ASSERT_EQ(mvf_region_read(&b2, b2.cfg_off, c2, sizeof(c2)), sizeof(c2));
	for (i = 0; i < sizeof(c1); i++) {
		ASSERT_EQ(c1[i], c2[i]) {
			TH_LOG("config byte 0x%x: generation 1 0x%02x, 2 0x%02x",
			       i, c1[i], c2[i]);
		}
	}
	ASSERT_EQ(c1[PCI_REVISION_ID], KVX_MVF_PCI_REVISION);

	/* 1 -> 2: refused at the header, the destination unchanged. */
	len = mig_save_stopped(_metadata, vf, stream);
	ASSERT_EQ(mig_resume(_metadata, &b2, stream, len), -EINVAL) {
		TH_LOG("a generation 1 stream resumed on generation 2");
	}
	ASSERT_STREQ(mvf_state(&b2, "cts"), "0") {
		TH_LOG("destination changed");
	}
	ASSERT_STREQ(mvf_state(&b2, "requests"), "0") {
		TH_LOG("destination changed");
	}
	ASSERT_EQ(0, ioctl(b2.device, VFIO_DEVICE_RESET)) {
		TH_LOG("%s", strerror(errno));
	}
	/* 1 -> 1, from kvx-mvf-vf to kvx-mvf-vf-g1: as is. */
	ASSERT_EQ(mig_resume(_metadata, &b1, stream, len), 0) {
		TH_LOG("%s", strerror(errno));
	}
	mig_compare(_metadata, vf, &b1);
	ASSERT_STREQ(mvf_state(&b1, "quiesced_resumes"), "0");
	ASSERT_EQ(0, mvf_mig_set(&b1, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));

	/* 2 -> 2 with API 1.2, which only generation 2 has. */
	ASSERT_NE(0, mbx_xfer(&b2, r, 1, KVX_MVF_MSG_RESET));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET));
	ASSERT_NE(0,
		  mbx_xfer(&b2, r, 2, KVX_MVF_MSG_API_NEGOTIATE,
			   KVX_MVF_API_1_2)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE)) {
		TH_LOG("0x%x", r[0]);
	}
	len = mig_save_stopped(_metadata, &b2, stream);
	vf_add_type(_metadata, &b3, vf, "kvx-mvf-vf-g2");
	ASSERT_EQ(mig_resume(_metadata, &b3, stream, len), 0) {
		TH_LOG("%s", strerror(errno));
	}
	mig_compare(_metadata, &b2, &b3);
	ASSERT_STREQ(mvf_state(&b3, "api"), "1.2") {
		TH_LOG("%s", mvf_state(&b3, "api"));
	}
	/* 2 -> 1: refused too, never resumed quiesced behind the guest. */
	ASSERT_EQ(0, ioctl(b1.device, VFIO_DEVICE_RESET));
	ASSERT_EQ(mig_resume(_metadata, &b1, stream, len), -EINVAL) {
		TH_LOG("a generation 2 stream resumed on generation 1");
	}
	ASSERT_STREQ(mvf_state(&b1, "quiesced_resumes"), "0");
	vf_del(&b3);
	vf_del(&b2);
	vf_del(&b1);
}

TEST_F_TIMEOUT(vfio, mig_bad_streams, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const struct kvx_mvf_mig_tlv opt = { 0x7f01, 0, 12 };
	static const struct kvx_mvf_mig_tlv req = {
		0x7f02, KVX_MVF_MIG_TLV_REQUIRED, 8
	};
	static const u16 hashes[] = { 0x100, 0x200, 0x300 };
	u32 payload32[KVX_MVF_MBX_WORDS];
	u8 payload[32] = {};
	struct kvx_mvf_mig_header *hdr = (void *)stream2;
	struct kvx_mvf_mig_vf_config *cfg;
	struct kvx_mvf_mig_mcast *mc;
	struct kvx_mvf_mig_mailbox *mbx;
	struct kvx_mvf_mig_dma *dma;
	struct kvx_mvf_mig_tlv *t;
	unsigned int i, accepted = 0, refused = 0;
	size_t len, at, n;
	struct vf b;

	vf_add(_metadata, &b, vf);
	ASSERT_EQ(mcast_op(_metadata, vf, 3, hashes, 3, payload32),
		  ACKED(KVX_MVF_MSG_SET_MCAST)) {
		TH_LOG("0x%x", payload32[0]);
	}
	len = mig_save_stopped(_metadata, vf, stream);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(try_resume(_metadata, &b, stream, len, "valid"), 0) {
		TH_LOG("valid stream");
	}

	for (n = 0; n < len; n++)
		REFUSED(stream, n, "truncated");
	memcpy(stream2, stream, len);
	stream2[len] = 0;
	REFUSED(stream2, len + 1, "trailing byte");
	memset(stream2 + len, 0, 8);
	REFUSED(stream2, len + 8, "trailing END-sized zeros");

#define MUTATE(what, change) do {				\
	memcpy(stream2, stream, len);				\
	change;							\
	REFUSED(stream2, len, what);				\
} while (0)
	MUTATE("magic", hdr->magic ^= 1);
	MUTATE("version 2", hdr->version = 2);
	MUTATE("version 0", hdr->version = 0);
	MUTATE("generation 0", hdr->generation = 0);
	MUTATE("header flags", hdr->flags = 1);
	MUTATE("features without API 1.1",
	       hdr->features &= ~KVX_MVF_MIG_F_API_1_1);
	MUTATE("TLV flag", ((struct kvx_mvf_mig_tlv *)(stream2 +
		tlv_find(stream2, len, KVX_MVF_MIG_MAILBOX)))->flags |= 2);
	MUTATE("VF_CONFIG length", ((struct kvx_mvf_mig_tlv *)(stream2 +
		tlv_find(stream2, len, KVX_MVF_MIG_VF_CONFIG)))->length = 40);
	MUTATE("END length", ((struct kvx_mvf_mig_tlv *)(stream2 + len -
		8))->length = 8);
	MUTATE("vendor ID", ((u8 *)section(_metadata, stream2, len,
					   KVX_MVF_MIG_PCI_CONFIG))[0] ^= 1);

	cfg = section(_metadata, stream2, len, KVX_MVF_MIG_VF_CONFIG);
	MUTATE("multicast MAC", cfg->mac[0] |= 1);
	MUTATE("API 2.0", cfg->api = 0x0200);
	MUTATE("cts 2", cfg->cts = 2);
	MUTATE("17 VLANs", cfg->nr_vlans = 17);
	MUTATE("unsorted VLANs", cfg->vlans[0] = 300);
	MUTATE("stray VLAN", cfg->vlans[10] = 5);
	MUTATE("VLAN 4095", cfg->vlans[1] = 4095);
	MUTATE("cfg rsvd", cfg->rsvd[5] = 1);
	mc = section(_metadata, stream2, len, KVX_MVF_MIG_MCAST);
	ASSERT_NE(0, mc->nr_hashes) {
		TH_LOG("the source has a multicast list");
	}
	MUTATE("31 hashes", mc->nr_hashes = KVX_MVF_MAX_MCAST + 1);
	MUTATE("unsorted hashes", mc->hashes[0] = 0xfff);
	MUTATE("repeated hash", mc->hashes[1] = mc->hashes[0]);
	MUTATE("13-bit hash", mc->hashes[mc->nr_hashes - 1] |= 0x1000);
	MUTATE("stray hash", mc->hashes[KVX_MVF_MAX_MCAST - 1] = 0xfff);
	MUTATE("mcast rsvd", mc->rsvd = 1);
	mbx = section(_metadata, stream2, len, KVX_MVF_MIG_MAILBOX);
	MUTATE("VFMAILBOX REQ", mbx->vfmailbox |= KVX_MVF_MBX_REQ);
	MUTATE("VFMAILBOX PFU", mbx->vfmailbox |= KVX_MVF_MBX_PFU);
	MUTATE("pf_msg_pending 2", mbx->pf_msg_pending = 2);
	dma = section(_metadata, stream2, len, KVX_MVF_MIG_DMA);
	MUTATE("DMA ctrl", dma->ctrl = 5);
	MUTATE("DMA status ENABLED", dma->status |= KVX_MVF_DMA_STATUS_ENABLED);
	MUTATE("ring size 3", dma->ring_size = 3);
	MUTATE("ring base", dma->ring_base += 8);
	MUTATE("head", dma->head = dma->ring_size);
	MUTATE("errors", dma->errors = dma->completed + 1);
	MUTATE("DMA rsvd", dma->rsvd = 1);
	MUTATE("kick_pending 2",
	       ((struct kvx_mvf_mig_dma_pending *)section(_metadata, stream2, len,
		KVX_MVF_MIG_DMA_PENDING))->kick_pending = 2);

	/* Sections: unknown required ones refused, optional ones skipped. */
	at = tlv_find(stream, len, KVX_MVF_MIG_DMA);
	memcpy(payload, &req, sizeof(req));
	REFUSED(stream2, splice(stream, len, at, payload, 16),
		"unknown required section");
	memcpy(payload, &opt, sizeof(opt));
	n = splice(stream, len, at, payload, 16 + 8);
	stream2[at + 8 + 12] = 1;
	REFUSED(stream2, n, "non-zero padding");
	stream2[at + 8 + 12] = 0;
	ASSERT_EQ(try_resume(_metadata, &b, stream2, n, "optional"), 0) {
		TH_LOG("unknown optional section refused");
	}
	mig_compare(_metadata, vf, &b);
	/* A missing required section. */
	at = tlv_find(stream, len, KVX_MVF_MIG_DMA_PENDING);
	t = (void *)(stream + at);
	memcpy(stream2, stream, at);
	memcpy(stream2 + at, stream + at + 8 + t->length,
	       len - at - 8 - t->length);
	REFUSED(stream2, len - 8 - t->length, "no DMA_PENDING");
	/*
	 * MCAST came after version 1: REQUIRED while the list is not empty
	 * (a destination that does not know it must refuse), and a stream
	 * without it (an older source) resumes with an empty list.
	 */
	at = tlv_find(stream, len, KVX_MVF_MIG_MCAST);
	t = (void *)(stream + at);
	assert_fields(_metadata, "MCAST", (const struct field[]){
		{ "flags", t->flags, KVX_MVF_MIG_TLV_REQUIRED },
		{ "length", t->length, sizeof(*mc) },
	}, 2);
	memcpy(stream2, stream, at);
	memcpy(stream2 + at, stream + at + 8 + t->length,
	       len - at - 8 - t->length);
	ASSERT_EQ(try_resume(_metadata, &b, stream2, len - 8 - t->length,
			     "no MCAST"), 0) {
		TH_LOG("stream without MCAST refused");
	}
	assert_state_empty(_metadata, &b, "mcast");
	assert_same_state(_metadata, &b, "vlans", vf, "vlans");
	/* An empty list is optional: an older destination skips it. */
	mc = saved_optional(_metadata, &b, stream2, KVX_MVF_MIG_MCAST,
			    "empty MCAST");
	ASSERT_EQ(0, mc->nr_hashes);
	/* A repeated section: the last copy counts. */
	at = tlv_find(stream, len, KVX_MVF_MIG_VF_CONFIG);
	t = (void *)(stream + at);
	n = splice(stream, len, len - 8, stream + at, 8 + t->length);
	cfg = (void *)(stream2 + len - 8 + 8);
	cfg->mac[5] ^= 0x10;
	ASSERT_EQ(try_resume(_metadata, &b, stream2, n, "repeat"), 0) {
		TH_LOG("repeated section");
	}
	assert_other_state(_metadata, &b, "mac", vf, "mac");

	/* Oversized: the write that passes the limit is refused. */
	memset(stream2, 0, MIG_BUF);
	memcpy(stream2, stream, sizeof(struct kvx_mvf_mig_header));
	REFUSED(stream2, KVX_MVF_MIG_MAX_SIZE + 1, "oversized");

	/* Bit flips: refused with nothing changed, or a valid stream. */
	srand(1);
	for (i = 0; i < 300; i++) {
		memcpy(stream2, stream, len);
		for (n = 0; n <= (unsigned int)rand() % 3; n++) {
			at = rand() % len;
			stream2[at] ^= 1 << (rand() % 8);
		}
		if (try_resume(_metadata, &b, stream2, len, "bit flip"))
			refused++;
		else
			accepted++;
	}
	ksft_print_msg("bit flips: %u refused, %u valid\n", refused, accepted);
	ASSERT_GT(refused, 0);
	vf_del(&b);
}

/*
 * A PF_LINK message still waiting when the source stops travels in the
 * stream's PF_MSG section (REQUIRED while one waits, so that a destination
 * that does not know the section refuses the stream rather than drop the
 * message), and the destination writes it once it runs, with its own PF's
 * link.  On d073233 the stream dropped it: the destination's VF driver
 * never heard of the change.
 */
TEST_F_TIMEOUT(vfio, mig_pf_link, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct kvx_mvf_mig_vf_config *cfg;
	struct kvx_mvf_mig_pf_msg *pm;
	u32 m[KVX_MVF_MBX_WORDS];
	struct kvx_mvf_mig_tlv *t;
	size_t len, at;
	struct vf b;

	ASSERT_STREQ(mvf_state(vf, "api"), "1.1") {
		TH_LOG("VF not set up");
	}
	ASSERT_STREQ(mvf_state(vf, "cts"), "1") {
		TH_LOG("VF not set up");
	}
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS);
	vf_add(_metadata, &b, vf);
	/* Stopped, the source holds the message: it waits in the stream. */
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(mvf_set_link("down"), 0);
	ASSERT_STREQ(mvf_state(vf, "link_msg_pending"), "1");
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS) {
		TH_LOG("written while stopped");
	}
	len = mig_save_stopped(_metadata, vf, stream);
	ASSERT_EQ(mig_resume(_metadata, &b, stream, len), 0) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(0, mbx_read_ctrl(&b) & KVX_MVF_MBX_PFSTS) {
		TH_LOG("written in STOP");
	}
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_NE(0, mbx_read_ctrl(&b) & KVX_MVF_MBX_PFSTS) {
		TH_LOG("the PF_LINK message waiting on the source was lost");
	}
	pf_msg_recv(_metadata, &b, m);
	check_link_msg(_metadata, m, false);
	ASSERT_STREQ(mvf_state(&b, "link_msg_pending"), "0");

	at = tlv_find(stream, len, KVX_MVF_MIG_PF_MSG);
	ASSERT_NE(0, at) {
		TH_LOG("no PF_MSG section");
	}
	t = (void *)(stream + at);
	pm = (void *)(t + 1);
	assert_fields(_metadata, "PF_MSG", (const struct field[]){
		{ "flags", t->flags, KVX_MVF_MIG_TLV_REQUIRED },
		{ "length", t->length, sizeof(*pm) },
		{ "link_pending", pm->link_pending, 1 },
		{ "rsvd", pm->rsvd, 0 },
	}, 4);
	/* What a PF_MSG section may not hold. */
	pm = (void *)(stream2 + at + sizeof(*t));
	MUTATE("link_pending 2", pm->link_pending = 2);
	MUTATE("PF_MSG rsvd", pm->rsvd = 1);
	cfg = section(_metadata, stream2, len, KVX_MVF_MIG_VF_CONFIG);
	MUTATE("PF_LINK waiting for API 1.0", cfg->api = KVX_MVF_API_1_0);
	MUTATE("PF_LINK waiting without CTS", cfg->cts = 0);

	/* The source, running again (a failed migration), has its own. */
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	pf_msg_recv(_metadata, vf, m);
	check_link_msg(_metadata, m, false);
	ASSERT_EQ(mvf_set_link("up"), 0);
	pf_msg_recv(_metadata, vf, m);
	check_link_msg(_metadata, m, true);
	/* Nothing waiting: the section is optional and says so. */
	pm = saved_optional(_metadata, vf, stream, KVX_MVF_MIG_PF_MSG,
			    "empty PF_MSG");
	ASSERT_EQ(0, pm->link_pending);
	vf_del(&b);
}

/*
 * A valid stream whose VF negotiated an API this driver does not know
 * resumes quiesced: config space and the PF's counters (STATS) are taken,
 * the VF configuration, the mailbox and the DMA engine start over with
 * RSTI raised, and the guest driver renegotiates.  The counters are the
 * VF's over its life, which no reset clears (mvf.rst, "Resuming").  A
 * stream without STATS leaves the destination's counters.
 */
TEST_F_TIMEOUT(vfio, mig_quiesced, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct kvx_mvf_mig_vf_config *cfg;
	u32 r[KVX_MVF_MBX_WORDS];
	char requests[32];
	size_t len, at, n;
	struct kvx_mvf_mig_tlv *t;
	struct vf b;

	/*
	 * Counters to carry over: where the mailbox tests ran before on the
	 * same VF they left NACKs; here, one unknown message of its own.
	 */
	ASSERT_NE(0, mbx_xfer(vf, r, 1, 0x0077));
	ASSERT_NE(0, r[0] & KVX_MVF_MSG_NACK) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], KVX_MVF_ERR_UNKNOWN);
	ASSERT_GT(atol(mvf_state(vf, "requests")), 0) {
		TH_LOG("VF not used");
	}
	ASSERT_GT(atol(mvf_state(vf, "nacks")), 0) {
		TH_LOG("VF not used");
	}
	vf_add(_metadata, &b, vf);
	len = mig_save_stopped(_metadata, vf, stream);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	memcpy(stream2, stream, len);
	cfg = section(_metadata, stream2, len, KVX_MVF_MIG_VF_CONFIG);
	cfg->api = 0x0103;	/* API 1.3: unknown here */
	ASSERT_EQ(mig_resume(_metadata, &b, stream2, len), 0) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_STREQ(mvf_state(&b, "quiesced_resumes"), "1") {
		TH_LOG("%s", mvf_state(&b, "quiesced_resumes"));
	}
	assert_same_state(_metadata, &b, "requests", vf, "requests");
	assert_same_state(_metadata, &b, "nacks", vf, "nacks");
	assert_same_state(_metadata, &b, "protocol_errors", vf,
			  "protocol_errors");
	ASSERT_EQ(mvf_cfg_read32(&b, PCI_COMMAND),
		  mvf_cfg_read32(vf, PCI_COMMAND)) {
		TH_LOG("config space not taken");
	}
	ASSERT_EQ(mvf_cfg_read32(&b, PCI_BASE_ADDRESS_0),
		  mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0)) {
		TH_LOG("config space not taken");
	}
	ASSERT_STREQ(mvf_state(&b, "api"), "1.0") {
		TH_LOG("VF configuration taken");
	}
	ASSERT_STREQ(mvf_state(&b, "cts"), "0") {
		TH_LOG("VF configuration taken");
	}
	assert_same_state(_metadata, &b, "mac", &b, "admin_mac");
	assert_state_empty(_metadata, &b, "vlans");
	assert_state_empty(_metadata, &b, "mcast");
	ASSERT_EQ(0, mvf_reg_read(&b, KVX_MVF_REG_DMA_CTRL)) {
		TH_LOG("DMA engine taken");
	}
	ASSERT_EQ(0, mvf_reg_read(&b, KVX_MVF_REG_DMA_COMPLETED)) {
		TH_LOG("DMA engine taken");
	}
	ASSERT_EQ(0, mvf_reg_read(&b, KVX_MVF_REG_DB_COUNT)) {
		TH_LOG("DMA engine taken");
	}
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(mbx_read_ctrl(&b), KVX_MVF_MBX_RSTI) {
		TH_LOG("VFMAILBOX 0x%x", mbx_read_ctrl(&b));
	}
	ASSERT_NE(0, mbx_xfer(&b, r, 1, KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}

	/* Without STATS: the destination's own counters stay. */
	at = tlv_find(stream2, len, KVX_MVF_MIG_STATS);
	ASSERT_NE(0, at) {
		TH_LOG("no STATS section");
	}
	t = (void *)(stream2 + at);
	n = sizeof(*t) + t->length;
	memmove(stream2 + at, stream2 + at + n, len - at - n);
	snprintf(requests, sizeof(requests), "%s", mvf_state(&b, "requests"));
	ASSERT_EQ(mig_resume(_metadata, &b, stream2, len - n), 0) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_STREQ(mvf_state(&b, "quiesced_resumes"), "2");
	ASSERT_STREQ(mvf_state(&b, "requests"), requests) {
		TH_LOG("requests %s, had %s", mvf_state(&b, "requests"),
		       requests);
	}
	vf_del(&b);
}

/*
 * Closing the device ends its DMA logging session and its migration data
 * transfer session; a data_fd that outlives the VF only says -ENODEV.
 */
TEST_F_TIMEOUT(vfio, mig_close, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vfio_precopy_info info;
	struct vf b;
	u8 byte;
	int fd, ret;

	vf_add(_metadata, &b, vf);
	if (mvf_shared->dev_log) {
		ASSERT_EQ(0, log_start_guest(&b, GPAGE)) {
			TH_LOG("%s", strerror(errno));
		}
	}
	ASSERT_STREQ(mvf_state(&b, "dma_log"), mvf_shared->dev_log ? "1" : "0");
	ASSERT_EQ(0, mvf_mig_set(&b, VFIO_DEVICE_STATE_PRE_COPY, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, precopy_info(fd, &info));
	ASSERT_NE(0, info.initial_bytes);
	close(b.device);
	b.device = -1;
	ASSERT_STREQ(mvf_state(&b, "dma_log"), "0") {
		TH_LOG("logging survived close");
	}
	ASSERT_EQ(read(fd, &byte, 1), -1) {
		TH_LOG("read: %s", strerror(errno));
	}
	ASSERT_EQ(errno, ENODEV) {
		TH_LOG("read: %s", strerror(errno));
	}
	vf_del(&b);
	ASSERT_EQ(0, mvf_mdev_exists(b.uuid)) {
		TH_LOG("VF not removed");
	}
	ret = precopy_info(fd, &info);
	ASSERT_EQ(ret, -EINVAL) {
		TH_LOG("PRECOPY_INFO: %s", strerror(-ret));
	}
	ASSERT_EQ(read(fd, &byte, 1), -1);
	ASSERT_EQ(errno, ENODEV);
	close(fd);
}

MVF_HARNESS_MAIN
