// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_vfio_dma_test: the DMA engine (its ring, copies and fills, refused
 * descriptors, halts, reset), DMA logging or the container's dirty
 * tracking, and its MSI.
 *
 * See mvf_vfio_test.h.
 */
#include "mvf_vfio_test.h"

/* START of @n ranges of @r is refused with EINVAL, no session left. */
static void assert_log_refused(struct __test_metadata *_metadata,
			       struct vf *vf, u64 *ps,
			       struct vfio_device_feature_dma_logging_range *r,
			       unsigned int n, const char *what)
{
	ASSERT_EQ(log_start(vf, ps, r, n), -EINVAL) {
		TH_LOG("%s", what);
	}
	ASSERT_STREQ(mvf_state(vf, "dma_log"), "0") {
		TH_LOG("%s: session left: %s", what, mvf_state(vf, "dma_log"));
	}
}

/* The device's START, where it offers DMA logging. */
static void dev_log_start(struct __test_metadata *_metadata,
			  struct vf *vf)
{
	struct vfio_device_feature_dma_logging_range r[2];
	u64 ps;
	int ret;

	ASSERT_STREQ(mvf_state(vf, "dma_log"), "0");

	/* Refused ranges leave no session behind. */
	ps = GPAGE;
	ASSERT_EQ(log_start(vf, &ps, r, 0), -EINVAL) {
		TH_LOG("no ranges");
	}
	r[0] = (typeof(r[0])){ GUEST_IOVA + 100, GPAGE };
	ASSERT_EQ(log_start(vf, &ps, r, 1), -EINVAL) {
		TH_LOG("unaligned");
	}
	r[0] = (typeof(r[0])){ GUEST_IOVA, 2 * GPAGE };
	r[1] = (typeof(r[1])){ GUEST_IOVA + GPAGE, 2 * GPAGE };
	ASSERT_EQ(log_start(vf, &ps, r, 2), -EINVAL) {
		TH_LOG("overlap");
	}
	r[0] = (typeof(r[0])){ ~0ULL - GPAGE + 1, 2 * GPAGE };
	ASSERT_EQ(log_start(vf, &ps, r, 1), -EOVERFLOW) {
		TH_LOG("wrap");
	}
	r[0] = (typeof(r[0])){ ~0ULL - GPAGE + 1, GPAGE };
	ASSERT_EQ(log_start(vf, &ps, r, 1), -EOVERFLOW) {
		TH_LOG("ends at 2^64");
	}
	/* Length 0: {0, 0} would be the whole 2^64, {x, 0} inverted. */
	r[0] = (typeof(r[0])){ 0, 0 };
	assert_log_refused(_metadata, vf, &ps, r, 1, "{0, 0}");
	log_stop(vf);
	r[0] = (typeof(r[0])){ 0x10000, 0 };
	assert_log_refused(_metadata, vf, &ps, r, 1, "{0x10000, 0}");
	log_stop(vf);
	r[0] = (typeof(r[0])){ GUEST_IOVA, GPAGE };
	r[1] = (typeof(r[1])){ GUEST_IOVA + 2 * GPAGE, 0 };
	assert_log_refused(_metadata, vf, &ps, r, 2, "second range empty");
	ASSERT_EQ(log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE, dirty_bm),
		  -EINVAL) {
		TH_LOG("report without a session");
	}

	/* One session at a time. */
	r[0] = (typeof(r[0])){ GUEST_IOVA, GUEST_SIZE / 2 };
	r[1] = (typeof(r[1])){ GUEST_IOVA + GUEST_SIZE / 2, GUEST_SIZE / 2 };
	ASSERT_EQ(0, log_start(vf, &ps, r, 2)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(ps, GPAGE) {
		TH_LOG("page size %llu", (unsigned long long)ps);
	}
	ASSERT_STREQ(mvf_state(vf, "dma_log"), "2");
	ret = log_start_guest(vf, GPAGE);
	ASSERT_EQ(ret, -EBUSY) {
		TH_LOG("second START: %d", ret);
	}
	ASSERT_STREQ(mvf_state(vf, "dma_log"), "2") {
		TH_LOG("second START changed it");
	}
	ASSERT_EQ(0, log_stop(vf));
	ASSERT_STREQ(mvf_state(vf, "dma_log"), "0");
	ASSERT_EQ(0, log_stop(vf)) {
		TH_LOG("STOP without a session");
	}
	ASSERT_EQ(log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE, dirty_bm),
		  -EINVAL) {
		TH_LOG("report after STOP");
	}

	/* The page size: the hint if the device can, its own choice else. */
	r[0] = (typeof(r[0])){ GUEST_IOVA, GUEST_SIZE };
	ps = 65536;
	ASSERT_EQ(0, log_start(vf, &ps, r, 1)) {
		TH_LOG("ps %llu", (unsigned long long)ps);
	}
	ASSERT_EQ(ps, 65536) {
		TH_LOG("ps %llu", (unsigned long long)ps);
	}
	ASSERT_EQ(0, log_stop(vf));
	ps = 3 * 1024;
	ASSERT_EQ(0, log_start(vf, &ps, r, 1)) {
		TH_LOG("ps %llu", (unsigned long long)ps);
	}
	ASSERT_EQ(ps, GPAGE) {
		TH_LOG("ps %llu", (unsigned long long)ps);
	}
	ASSERT_EQ(0, log_stop(vf));
	/* 256 TiB at 4 KiB is too many bits: coarser, down to 2^26 pages. */
	r[0] = (typeof(r[0])){ 0, 1ULL << 48 };
	ps = GPAGE;
	ASSERT_EQ(0, log_start(vf, &ps, r, 1)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(ps, 1ULL << 22) {
		TH_LOG("ps %llu", (unsigned long long)ps);
	}
	ASSERT_EQ(0, log_stop(vf));
}

TEST_F_TIMEOUT(vfio, dma_ring_config, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const struct {
		u64 base;
		u32 size;
	} bad[] = {
		{ GUEST_IOVA, 0 },
		{ GUEST_IOVA, 3 },
		{ GUEST_IOVA, 24 },
		{ GUEST_IOVA, KVX_MVF_DMA_RING_MAX * 2 },
		{ GUEST_IOVA + 8, 16 },
		{ GUEST_IOVA + 16, 16 },
	};
	unsigned int i;
	u32 status;

	/* FIXTURE_SETUP mapped the guest memory. */
	ASSERT_NE(NULL, vf->mem);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS), 0) {
		TH_LOG("engine on after reset");
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		status = dma_ring(vf, bad[i].base, bad[i].size);
		ASSERT_EQ(status, KVX_MVF_DMA_STATUS_CFG_ERR) {
			TH_LOG("base 0x%llx size %u: status 0x%x",
			       (unsigned long long)bad[i].base, bad[i].size,
			       status);
		}
		ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_CTRL), 0);
	}
	status = dma_ring(vf, giova(RING_OFF), 16);
	ASSERT_EQ(status, KVX_MVF_DMA_STATUS_ENABLED) {
		TH_LOG("status 0x%x", status);
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_LO),
		  (u32)giova(RING_OFF));
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_HI),
		  giova(RING_OFF) >> 32);

	/* Ring registers are frozen while enabled; TAIL stays in the ring. */
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_SIZE, 32);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_RING_LO, 0x1000);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_SIZE), 16) {
		TH_LOG("ring changed while enabled");
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_RING_LO),
		  (u32)giova(RING_OFF)) {
		TH_LOG("ring changed while enabled");
	}
	mvf_reg_write(vf, KVX_MVF_REG_DMA_TAIL, 16);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_TAIL), 0) {
		TH_LOG("TAIL beyond ring taken");
	}
	mvf_reg_write(vf, KVX_MVF_REG_DMA_HEAD, 5);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD), 0) {
		TH_LOG("HEAD is read-only");
	}
	/* A doorbell with nothing posted does nothing. */
	dma_kick(vf);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED), 0);
}

TEST_F_TIMEOUT(vfio, dma_copy_fill, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u8 *src = vf->mem + DATA_OFF, *dst = src + 0x40000;
	u32 pattern = 0xa1b2c3d4, i, n;

	bus_master(_metadata, vf, true);
	ASSERT_EQ(dma_ring(vf, giova(RING_OFF), 16),
		  KVX_MVF_DMA_STATUS_ENABLED);
	for (i = 0; i < 3 * GPAGE + 100; i++)
		src[i] = i * 7 + 3;
	memset(dst, 0, 4 * GPAGE);

	/* A copy across pages, from an odd offset to another. */
	n = dma_run(vf, KVX_MVF_DMA_OP_COPY, giova(DATA_OFF + 1),
		    giova(DATA_OFF + 0x40000 + 3), 3 * GPAGE);
	ASSERT_EQ(n, DMA_OK) {
		TH_LOG("copy status 0x%x", n);
	}
	ASSERT_EQ(0, memcmp(dst + 3, src + 1, 3 * GPAGE)) {
		TH_LOG("copied data differ");
	}
	ASSERT_NE(0, all_bytes(dst, 3, 0)) {
		TH_LOG("copy wrote outside its destination");
	}
	ASSERT_EQ(dst[3 * GPAGE + 3], 0) {
		TH_LOG("copy wrote outside its destination");
	}

	/* A fill of an unaligned length; byte i takes pattern byte i % 4. */
	n = dma_run(vf, KVX_MVF_DMA_OP_FILL, pattern, giova(DATA_OFF + 0x40000),
		    GPAGE + 5);
	ASSERT_EQ(n, DMA_OK) {
		TH_LOG("fill status 0x%x", n);
	}
	for (i = 0; i < GPAGE + 5; i++) {
		ASSERT_EQ(dst[i], (u8)(pattern >> (8 * (i % 4)))) {
			TH_LOG("byte %u: 0x%x", i, dst[i]);
		}
	}
	ASSERT_EQ(dst[GPAGE + 5], src[GPAGE + 3]) {
		TH_LOG("fill went past its length");
	}

	/* A batch: several descriptors, one doorbell, wrapping the ring. */
	for (i = 0; i < 20; i++) {
		u32 idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x01010101 * i,
				   giova(DATA_OFF + 0x80000 + i * 64), 64);

		if (i % 10 == 9)
			dma_kick(vf);
		(void)idx;
	}
	for (i = 0; i < 20; i++) {
		ASSERT_NE(0,
			  all_bytes(vf->mem + DATA_OFF + 0x80000 + i * 64, 64,
				    i)) {
			TH_LOG("batch buffer %u", i);
		}
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD), 22 % 16) {
		TH_LOG("head %u", mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD));
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD),
		  mvf_reg_read(vf, KVX_MVF_REG_DMA_TAIL));
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED), 22) {
		TH_LOG("completed %u",
		       mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED));
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS), 0);

	/* Completions are acknowledged by count, never below zero. */
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING), 22);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, 20);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING), 2);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, 100);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING), 0);
}

/* Each bad descriptor completes with its error and writes no data. */
TEST_F_TIMEOUT(vfio, dma_bad_desc, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	const u64 d = giova(DATA_OFF + 0x100000), s = giova(DATA_OFF);
	const struct {
		u16 op, flags;
		u32 len, rsvd;
		u64 src, dst;
		u32 err;
	} bad[] = {
		{ 0, 0, 64, 0, s, d, KVX_MVF_DMA_ERR_OP },
		{ 3, 0, 64, 0, s, d, KVX_MVF_DMA_ERR_OP },
		{ 0xffff, 0, 64, 0, s, d, KVX_MVF_DMA_ERR_OP },
		{ KVX_MVF_DMA_OP_COPY, 1, 64, 0, s, d, KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 1, s, d, KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, 0, 0, s, d, KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, KVX_MVF_DMA_MAX_LEN + 1, 0, s, d,
		  KVX_MVF_DMA_ERR_INVAL },
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, d + 32, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* overlap */
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, d - 32, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* overlap */
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, ~0ULL - 10, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* wraps */
		{ KVX_MVF_DMA_OP_FILL, 0, 64, 0, 0, ~0ULL - 10,
		  KVX_MVF_DMA_ERR_INVAL },		/* wraps */
		{ KVX_MVF_DMA_OP_FILL, 0, 64, 0, 1ULL << 32, d,
		  KVX_MVF_DMA_ERR_INVAL },		/* pattern */
		{ KVX_MVF_DMA_OP_COPY, 0, 64, 0, BAD_IOVA, d,
		  KVX_MVF_DMA_ERR_FAULT },		/* unmapped source */
		{ KVX_MVF_DMA_OP_FILL, 0, 64, 0, 0x55, BAD_IOVA,
		  KVX_MVF_DMA_ERR_FAULT },		/* unmapped target */
	};
	u32 errors = mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS);
	u32 done = mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED);
	struct kvx_mvf_dma_desc *desc;
	unsigned int i;
	u32 idx, st;

	memset(vf->mem + DATA_OFF + 0x100000 - GPAGE, 0xee, 3 * GPAGE);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		idx = dma_post(vf, bad[i].op, bad[i].src, bad[i].dst,
			       bad[i].len);
		desc = ring_desc(vf, idx);
		desc->flags = bad[i].flags;
		desc->rsvd = bad[i].rsvd;
		dma_kick(vf);
		st = desc_status(vf, idx);
		ASSERT_EQ(st, (KVX_MVF_DMA_STS_DONE | bad[i].err)) {
			TH_LOG("case %u: status 0x%x, want error %u", i, st,
			       bad[i].err);
		}
		ASSERT_EQ(desc->op, bad[i].op) {
			TH_LOG("case %u: descriptor rewritten", i);
		}
		ASSERT_EQ(desc->len, bad[i].len) {
			TH_LOG("case %u: descriptor rewritten", i);
		}
		ASSERT_EQ(desc->src, bad[i].src) {
			TH_LOG("case %u: descriptor rewritten", i);
		}
		ASSERT_EQ(desc->dst, bad[i].dst) {
			TH_LOG("case %u: descriptor rewritten", i);
		}
	}
	ASSERT_NE(0,
		  all_bytes(vf->mem + DATA_OFF + 0x100000 - GPAGE, 3 * GPAGE,
			    0xee)) {
		TH_LOG("a refused descriptor wrote data");
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS), errors + i) {
		TH_LOG("errors %u", mvf_reg_read(vf, KVX_MVF_REG_DMA_ERRORS));
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED), done + i);
	/* The engine carries on. */
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 0x42424242, d, 8), DMA_OK);
	ASSERT_NE(0, all_bytes(vf->mem + DATA_OFF + 0x100000, 8, 0x42));
}

/* Without bus mastering, or with the ring unmapped, nothing moves. */
TEST_F_TIMEOUT(vfio, dma_halt, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u8 *buf = vf->mem + DATA_OFF + 0x120000;
	u32 done = mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED), idx, status;

	memset(buf, 0, 64);
	bus_master(_metadata, vf, false);
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 0x11111111,
		       giova(DATA_OFF + 0x120000), 64);
	assert_dma_refused(_metadata, vf, idx, buf,
			   KVX_MVF_DMA_STATUS_ENABLED |
			   KVX_MVF_DMA_STATUS_NO_MASTER,
			   "DMA without bus mastering");
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED), done);
	/* Bus mastering back on: the next doorbell serves the descriptor. */
	bus_master(_metadata, vf, true);
	dma_kick(vf);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS),
		  KVX_MVF_DMA_STATUS_ENABLED);
	ASSERT_EQ(desc_status(vf, idx), DMA_OK);
	ASSERT_NE(0, all_bytes(buf, 64, 0x11));

	/* A ring the device cannot read halts the engine until disabled. */
	ASSERT_EQ(dma_ring(vf, BAD_IOVA, 4), KVX_MVF_DMA_STATUS_ENABLED);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_TAIL, 1);
	dma_kick(vf);
	status = mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS);
	ASSERT_EQ(status,
		  (KVX_MVF_DMA_STATUS_ENABLED |
		   KVX_MVF_DMA_STATUS_RING_FAULT)) {
		TH_LOG("status 0x%x", status);
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_HEAD), 0);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, 0);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_STATUS), 0);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_TAIL), 0);
	ASSERT_EQ(dma_ring(vf, giova(RING_OFF), 16),
		  KVX_MVF_DMA_STATUS_ENABLED);
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 0x22222222,
			  giova(DATA_OFF + 0x120000), 64), DMA_OK);
	ASSERT_NE(0, all_bytes(buf, 64, 0x22));
}

/* A function level reset disables the engine and clears its registers. */
TEST_F_TIMEOUT(vfio, dma_reset, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const unsigned int regs[] = {
		KVX_MVF_REG_DMA_CTRL, KVX_MVF_REG_DMA_STATUS,
		KVX_MVF_REG_DMA_RING_LO, KVX_MVF_REG_DMA_RING_HI,
		KVX_MVF_REG_DMA_RING_SIZE, KVX_MVF_REG_DMA_HEAD,
		KVX_MVF_REG_DMA_TAIL, KVX_MVF_REG_DMA_COMPLETED,
		KVX_MVF_REG_DMA_ERRORS, KVX_MVF_REG_DMA_CPL_PENDING,
	};
	u32 r[KVX_MVF_MBX_WORDS];
	unsigned int i;

	ASSERT_NE(mvf_reg_read(vf, KVX_MVF_REG_DMA_COMPLETED), 0) {
		TH_LOG("no DMA so far?");
	}
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_RESET)) {
		TH_LOG("%s", strerror(errno));
	}
	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		ASSERT_EQ(mvf_reg_read(vf, regs[i]), 0) {
			TH_LOG("reg 0x%x: 0x%x", regs[i],
			       mvf_reg_read(vf, regs[i]));
		}
	}
	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
}

/*
 * DMA logging is offered only where the VFIO core serves REPORT (the
 * kernel has CONFIG_IOMMUFD_DRIVER, the read-only module parameter
 * dma_logging says so): QEMU probes it and, finding it missing, uses the
 * container's dirty tracking.  On baf10d6 the device offered it on every
 * kernel and every core REPORT failed with EOPNOTSUPP, which failed QEMU's
 * migration at its first dirty sync.  The private REPORT is gone.
 */
TEST_F_TIMEOUT(vfio, dma_log_offer, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	struct vfio_device_feature_dma_logging_report rep = {
		GUEST_IOVA, GUEST_SIZE, GPAGE, (u64)(unsigned long)dirty_bm
	};
	char param[8] = "";
	int probe, ret;

	probe = mvf_feature(vf, VFIO_DEVICE_FEATURE_PROBE |
			VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0);
	mvf_shared->dev_log = !probe;
	if (mvf_shared->dev_log) {
		/* What QEMU does at its first dirty sync. */
		ASSERT_EQ(0, log_start_guest(vf, GPAGE)) {
			TH_LOG("%s", strerror(errno));
		}
		ret = log_report(vf, GUEST_IOVA, GUEST_SIZE, GPAGE, dirty_bm);
		log_stop(vf);
		ASSERT_EQ(0, ret) {
			TH_LOG("DMA logging offered, the core's REPORT fails: %s",
			       strerror(-ret));
		}
	}
	ASSERT_EQ(0, mvf_read_file("/sys/module/kvx_mvf/parameters/dma_logging",
				   param, sizeof(param))) {
		TH_LOG("no dma_logging parameter");
	}
	ksft_print_msg("DMA logging %s (dma_logging=%c): dirty tracking by the %s\n",
		       mvf_shared->dev_log ? "offered" : "not offered", param[0],
		       mvf_shared->dev_log ? "device" : "type1 container");
	ASSERT_EQ(mvf_shared->dev_log, (param[0] == 'Y')) {
		TH_LOG("PROBE %d, dma_logging %s", probe, param);
	}
	ASSERT_EQ(ioctl(vf->device, _IO(VFIO_TYPE, 0xf0), &rep), -1) {
		TH_LOG("private REPORT (0xf0) still there");
	}
	ASSERT_EQ(errno, ENOTTY) {
		TH_LOG("private REPORT (0xf0) still there");
	}
	if (mvf_shared->dev_log) {
		dev_log_start(_metadata, vf);
		return;
	}
	ASSERT_EQ(probe, -ENOTTY) {
		TH_LOG("PROBE: %s", strerror(-probe));
	}
	ret = mvf_feature(vf,
			  VFIO_DEVICE_FEATURE_GET |
			  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep,
			  sizeof(rep));
	ASSERT_EQ(ret, -ENOTTY) {
		TH_LOG("REPORT: %s", strerror(-ret));
	}
	/* What QEMU falls back to: the container can track. */
	ASSERT_EQ(0, container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_START)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(0, container_dirty(vf, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
}

TEST_F_TIMEOUT(vfio, dma_log_report, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	const unsigned long a = DATA_OFF + 0x200000;
	u32 idx, st;

	bus_master(_metadata, vf, true);
	ASSERT_EQ(dma_ring(vf, giova(RING_OFF), 16),
		  KVX_MVF_DMA_STATUS_ENABLED);
	log_stop(vf);	/* whatever a failed test left */
	/* Writes before the session are not reported. */
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, giova(a), 64), DMA_OK);
	ASSERT_EQ(0, log_start_guest(vf, GPAGE)) {
		TH_LOG("%s", strerror(errno));
	}
	memset(dirty_want, 0, sizeof(dirty_want));
	check_dirty(_metadata, vf, "fresh session");

	/* Each kind of write: data pages and the status dwords. */
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a), GPAGE), DMA_OK);
	want_range(a, GPAGE);
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_COPY, giova(DATA_OFF),
			  giova(a + 0x40000 + 100), 3 * GPAGE), DMA_OK);
	want_range(a + 0x40000 + 100, 3 * GPAGE);
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7,
			  giova(a + 0x80000 + GPAGE - 1), 1), DMA_OK);
	want_range(a + 0x80000 + GPAGE - 1, 1);
	/* A refused descriptor writes its status only. */
	idx = dma_post(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a + 0xc0000), 64);
	ring_desc(vf, idx)->flags = 1;
	dma_kick(vf);
	ASSERT_EQ(desc_status(vf, idx),
		  (KVX_MVF_DMA_STS_DONE | KVX_MVF_DMA_ERR_INVAL));
	/* A write outside the session's ranges is counted, not reported. */
	st = dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, BAD_IOVA, 64);
	ASSERT_EQ(st, (KVX_MVF_DMA_STS_DONE | KVX_MVF_DMA_ERR_FAULT)) {
		TH_LOG("0x%x", st);
	}
	if (mvf_shared->dev_log) {
		ASSERT_STREQ(mvf_state(vf, "dma_untracked"), "64") {
			TH_LOG("untracked %s", mvf_state(vf, "dma_untracked"));
		}
	}
	want_range(RING_OFF, 16 * KVX_MVF_DMA_DESC_SIZE);
	check_dirty(_metadata, vf, "writes");
	/* Read and clear: nothing new since. */
	check_dirty(_metadata, vf, "second report");
	if (!mvf_shared->dev_log) {
		unsigned long off, len;

		/* Every data page of the guest, 1 MiB per descriptor. */
		for (off = DATA_OFF; off < GUEST_SIZE; off += len) {
			len = GUEST_SIZE - off < KVX_MVF_DMA_MAX_LEN ?
			      GUEST_SIZE - off : KVX_MVF_DMA_MAX_LEN;
			ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 3,
					  giova(off), len),
				  DMA_OK);
		}
		want_range(DATA_OFF, GUEST_SIZE - DATA_OFF);
		want_range(RING_OFF, 16 * KVX_MVF_DMA_DESC_SIZE);
		check_dirty(_metadata, vf, "whole guest");
		ASSERT_EQ(0, log_stop(vf));
		return;
	}

	/* A coarser report page sets the bit of each 64 KiB holding a write. */
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a + 0x100000), 8),
		  DMA_OK);
	memset(dirty_bm, 0, sizeof(dirty_bm));
	dirty_bm[1] = 0xf0f0;	/* bits are set, never cleared */
	ASSERT_EQ(0, log_report(vf, GUEST_IOVA, GUEST_SIZE, 65536, dirty_bm)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(dirty_bm[0],
		  (1ULL << (RING_OFF / 65536) |
		   1ULL << ((a + 0x100000) / 65536))) {
		TH_LOG("0x%llx 0x%llx", (unsigned long long)dirty_bm[0],
		       (unsigned long long)dirty_bm[1]);
	}
	ASSERT_EQ(dirty_bm[1], 0xf0f0) {
		TH_LOG("0x%llx 0x%llx", (unsigned long long)dirty_bm[0],
		       (unsigned long long)dirty_bm[1]);
	}

	/* A report of part of the range leaves the rest in the log. */
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 7, giova(a + 0x140000),
			  2 * GPAGE), DMA_OK);
	memset(dirty_bm, 0, sizeof(dirty_bm));
	ASSERT_EQ(0,
		  log_report(vf, giova(a + 0x140000), GPAGE, GPAGE, dirty_bm));
	ASSERT_EQ(dirty_bm[0], 1) {
		TH_LOG("0x%llx", (unsigned long long)dirty_bm[0]);
	}
	want_range(a + 0x140000 + GPAGE, GPAGE);
	want_range(RING_OFF, 64);
	check_dirty(_metadata, vf, "rest");
	ASSERT_EQ(0, log_stop(vf));
}

/* Refused reports leave the log as it was. */
TEST_F_TIMEOUT(vfio, dma_log_bad_report, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	const unsigned long c = DATA_OFF + 0x380000;
	u64 bm[4];

	log_stop(vf);	/* whatever a failed test left */
	ASSERT_EQ(0, log_start_guest(vf, GPAGE)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 9, giova(c), GPAGE), DMA_OK);
	want_range(c, GPAGE);
	want_range(RING_OFF, 64);

	if (mvf_shared->dev_log) {
		ASSERT_EQ(log_report(vf, GUEST_IOVA, GUEST_SIZE, 2048,
				     dirty_bm), -EINVAL) {
			TH_LOG("page size 2048");
		}
		ASSERT_EQ(log_report(vf, GUEST_IOVA, GUEST_SIZE, 3 * GPAGE,
				     dirty_bm), -EINVAL) {
			TH_LOG("page size 12 KiB");
		}
		ASSERT_EQ(log_report(vf, ~0ULL - GPAGE + 1, 2 * GPAGE, GPAGE,
				     bm), -EOVERFLOW) {
			TH_LOG("wrap");
		}
		/* Length 0 (the core passes it on): not [0, 2^64). */
		ASSERT_EQ(log_report(vf, 0, 0, GPAGE, bm), -EINVAL) {
			TH_LOG("iova 0 length 0");
		}
		ASSERT_EQ(log_report(vf, GUEST_IOVA, 0, GPAGE, bm), -EINVAL) {
			TH_LOG("length 0");
		}
	} else {
		/* type1 wants whole mappings: part of one is refused. */
		ASSERT_EQ(container_report(vf, GUEST_IOVA, GPAGE, bm),
			  -EINVAL) {
			TH_LOG("part of a mapping");
		}
	}

	/* Nothing was cleared: the write is still reported, and only it. */
	check_dirty(_metadata, vf, "after refused reports");
	ASSERT_EQ(0, log_stop(vf));
}

/* The MSI vector: SET_IRQS, DMA completions, re-raise after quiesce. */
TEST_F_TIMEOUT(vfio, dma_irq, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u64 buf[(sizeof(struct vfio_irq_set) + 8) / 8] = {};
	struct vfio_irq_set *s = (void *)buf;
	const u64 dst = giova(DATA_OFF + 0x4000);
	int efd, efd2;
	u32 ctrl;

	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_GE(efd, 0);
	/* Refused: other indices, actions, counts, a bad fd. */
	*s = (struct vfio_irq_set){ .argsz = sizeof(*s) + 4, .index =
		VFIO_PCI_INTX_IRQ_INDEX, .count = 1, .flags =
		VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER };
	memcpy(s->data, &efd, 4);
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s), -1) {
		TH_LOG("INTx");
	}
	ASSERT_EQ(errno, EINVAL) {
		TH_LOG("INTx");
	}
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s), -1) {
		TH_LOG("MSI-X");
	}
	ASSERT_EQ(errno, EINVAL) {
		TH_LOG("MSI-X");
	}
	s->index = VFIO_PCI_MSI_IRQ_INDEX;
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK;
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s), -1) {
		TH_LOG("mask");
	}
	ASSERT_EQ(errno, EINVAL) {
		TH_LOG("mask");
	}
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->count = 2;
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s), -1) {
		TH_LOG("count 2");
	}
	ASSERT_EQ(errno, EINVAL) {
		TH_LOG("count 2");
	}
	s->count = 1;
	s->argsz = sizeof(*s);
	ASSERT_EQ(ioctl(vf->device, VFIO_DEVICE_SET_IRQS, s), -1) {
		TH_LOG("short argsz");
	}
	ASSERT_EQ(errno, EINVAL) {
		TH_LOG("short argsz");
	}
	ASSERT_EQ(set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, 12345), -EBADF);

	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, efd)) {
		TH_LOG("%s", strerror(errno));
	}
	ctrl = mvf_reg_read(vf, KVX_MVF_REG_DMA_CTRL);
	ASSERT_EQ(ctrl, KVX_MVF_DMA_CTRL_ENABLE) {
		TH_LOG("ctrl 0x%x", ctrl);
	}
	/* Without DMA_CTRL.IRQ, completions are silent. */
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64), DMA_OK);
	ASSERT_EQ(irqs(_metadata, efd), 0) {
		TH_LOG("interrupt without DMA_CTRL.IRQ");
	}
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CTRL, ctrl | KVX_MVF_DMA_CTRL_IRQ);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DMA_CTRL),
		  (ctrl | KVX_MVF_DMA_CTRL_IRQ));
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64), DMA_OK);
	ASSERT_EQ(irqs(_metadata, efd), 1) {
		TH_LOG("no interrupt");
	}
	/* One per doorbell that completed something. */
	dma_post(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64);
	dma_post(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64);
	dma_kick(vf);
	dma_kick(vf);
	ASSERT_EQ(irqs(_metadata, efd), 1);
	/* DATA_BOOL and DATA_NONE fire it by hand. */
	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_BOOL, 1, 1));
	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_BOOL, 1, 0));
	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_NONE, 1, 0));
	ASSERT_EQ(irqs(_metadata, efd), 2);

	/* Leaving a quiesced state raises it again for pending completions. */
	ASSERT_NE(0, mvf_reg_read(vf, KVX_MVF_REG_DMA_CPL_PENDING));
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(irqs(_metadata, efd), 1) {
		TH_LOG("not raised again");
	}
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, ~0u);
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(irqs(_metadata, efd), 0) {
		TH_LOG("raised with nothing pending");
	}

	/* Another eventfd replaces the first; -1 and count 0 detach. */
	efd2 = eventfd(0, EFD_NONBLOCK);
	ASSERT_GE(efd2, 0);
	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, efd2));
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64), DMA_OK);
	ASSERT_EQ(irqs(_metadata, efd), 0);
	ASSERT_EQ(irqs(_metadata, efd2), 1);
	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, -1));
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64), DMA_OK);
	ASSERT_EQ(irqs(_metadata, efd2), 0) {
		TH_LOG("detached eventfd signalled");
	}
	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_EVENTFD, 1, efd));
	ASSERT_EQ(0, set_msi(vf, VFIO_IRQ_SET_DATA_NONE, 0, 0));
	ASSERT_EQ(dma_run(vf, KVX_MVF_DMA_OP_FILL, 1, dst, 64), DMA_OK);
	ASSERT_EQ(irqs(_metadata, efd), 0) {
		TH_LOG("detached eventfd signalled");
	}
	close(efd);
	close(efd2);
	mvf_reg_write(vf, KVX_MVF_REG_DMA_CPL_PENDING, ~0u);
}

MVF_HARNESS_MAIN
