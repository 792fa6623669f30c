// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_vfio_mbx_test: the mailbox, as an igbvf-style VF driver uses it through region
 * accesses (TRAPPED) and through the mapped page (DIRECT): RESET, API
 * negotiation, link, MAC, VLAN and multicast filters, malformed
 * messages, PF notices, the doorbell, refused accesses, resets, mode
 * switches under a mapping.
 *
 * See mvf_vfio_test.h.
 */
#include "mvf_vfio_test.h"

/*
 * DIRECT mode: the VF driver's side over the mapped mailbox page.  Single
 * loads and stores for VFMBMEM, atomic read-modify-writes for VFMAILBOX,
 * as mvf.rst asks.
 */

#define MBX_CTRL(m)	((m) + (KVX_MVF_REG_VFMAILBOX - KVX_MVF_MBX_PAGE) / 4)
#define MBX_MEM(m, i)	\
	((m) + (KVX_MVF_REG_VFMBMEM - KVX_MVF_MBX_PAGE) / 4 + (i))
/* The poller runs every few ms; give it 5 s at least, in 500 us steps. */
#define POLL_TRIES	10000
#define POLL_US		500

static u32 dmbx_ctrl(u32 *m)
{
	return __atomic_load_n(MBX_CTRL(m), __ATOMIC_SEQ_CST);
}

static void dmbx_set(u32 *m, u32 bits)
{
	__atomic_fetch_or(MBX_CTRL(m), bits, __ATOMIC_SEQ_CST);
}

static void dmbx_clear(u32 *m, u32 bits)
{
	__atomic_fetch_and(MBX_CTRL(m), ~bits, __ATOMIC_SEQ_CST);
}

/* Bounded wait until (VFMAILBOX & mask) == want; the last value seen. */
static bool dmbx_wait(u32 *m, u32 mask, u32 want, u32 *seen)
{
	unsigned int i;

	for (i = 0; i < POLL_TRIES; i++) {
		*seen = dmbx_ctrl(m);
		if ((*seen & mask) == want)
			return true;
		usleep(POLL_US);
	}
	return false;
}

/*
 * Take the PF's link message off the mapped page as igbvf does: read it,
 * clear PFSTS, acknowledge, and see the PF take the ACK.
 */
static void dmbx_take_link(struct __test_metadata *_metadata, u32 *m, bool up)
{
	u32 r[KVX_MVF_MBX_WORDS], ctrl;
	unsigned int i;

	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		r[i] = READ_ONCE(*MBX_MEM(m, i));
	check_link_msg(_metadata, r, up);
	dmbx_clear(m, KVX_MVF_MBX_PFSTS);
	dmbx_set(m, KVX_MVF_MBX_ACK);
	ASSERT_NE(0, dmbx_wait(m, KVX_MVF_MBX_ACK, 0, &ctrl)) {
		TH_LOG("0x%x", ctrl);
	}
}

/* Post a request in the page: take VFU, write VFMBMEM, set REQ. */
static void dmbx_post(struct __test_metadata *_metadata,
		      u32 *m, const u32 *msg, unsigned int len)
{
	unsigned int i;

	dmbx_set(m, KVX_MVF_MBX_VFU);
	ASSERT_EQ(0, dmbx_ctrl(m) & KVX_MVF_MBX_PFU) {
		TH_LOG("PF holds the buffer: 0x%x", dmbx_ctrl(m));
	}
	dmbx_clear(m, KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK);
	for (i = 0; i < len; i++)
		WRITE_ONCE(*MBX_MEM(m, i), msg[i]);
	dmbx_set(m, KVX_MVF_MBX_REQ);
}

/* Wait for the reply, read it, consume PFSTS/PFACK and ACK it. */
static void dmbx_recv(struct __test_metadata *_metadata,
		      u32 *m, u32 *reply)
{
	unsigned int i;
	u32 ctrl;

	ASSERT_NE(0,
		  dmbx_wait(m, KVX_MVF_MBX_PFSTS, KVX_MVF_MBX_PFSTS, &ctrl)) {
		TH_LOG("no reply: VFMAILBOX 0x%x", ctrl);
	}
	ASSERT_EQ(ctrl & (KVX_MVF_MBX_REQ | KVX_MVF_MBX_VFU | KVX_MVF_MBX_PFU |
			  KVX_MVF_MBX_PFACK), KVX_MVF_MBX_PFACK) {
		TH_LOG("VFMAILBOX 0x%x with the reply", ctrl);
	}
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		reply[i] = READ_ONCE(*MBX_MEM(m, i));
	dmbx_clear(m, KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK);
	dmbx_set(m, KVX_MVF_MBX_ACK);
	ASSERT_NE(0, dmbx_wait(m, KVX_MVF_MBX_ACK, 0, &ctrl)) {
		TH_LOG("ACK not taken: VFMAILBOX 0x%x", ctrl);
	}
}

static void dmbx_xfer(struct __test_metadata *_metadata,
		      u32 *m, u32 *reply, unsigned int len, ...)
{
	u32 msg[KVX_MVF_MBX_WORDS] = {};
	va_list ap;

	va_start(ap, len);
	mbx_msg_va(msg, len, ap);
	va_end(ap);

	dmbx_post(_metadata, m, msg, len);
	dmbx_recv(_metadata, m, reply);
}

/*
 * After a device reset, through the mapping: VFMAILBOX shows RSTD alone;
 * the driver clears it and sends RESET, which is ACKED.
 */
static void dmbx_reset_done(struct __test_metadata *_metadata,
			    u32 *m, u32 *reply)
{
	ASSERT_EQ(dmbx_ctrl(m), KVX_MVF_MBX_RSTD) {
		TH_LOG("0x%x", dmbx_ctrl(m));
	}
	dmbx_clear(m, KVX_MVF_MBX_RSTD);
	dmbx_xfer(_metadata, m, reply, 1, KVX_MVF_MSG_RESET);
	ASSERT_EQ(reply[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", reply[0]);
	}
}

static u32 *mbx_map(struct __test_metadata *_metadata,
		    struct vf *vf)
{
	void *p = mvf_mmap_bar0(vf, KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE,
			      MAP_SHARED);

	ASSERT_NE(p, MAP_FAILED) {
		TH_LOG("mmap of the mailbox page: %s", strerror(errno));
	}
	vf->mbx_page = p;
	return p;
}

/* A mapping holds the device open: a failed test must not leave one. */
static void mbx_unmap(struct vf *vf)
{
	if (vf->mbx_page)
		munmap(vf->mbx_page, KVX_MVF_PAGE_SIZE);
	vf->mbx_page = NULL;
}

static sigjmp_buf bus_error;

static void on_sigbus(int sig)
{
	siglongjmp(bus_error, 1);
}

/* Whether a load from @p raises SIGBUS. */
static bool load_faults(struct __test_metadata *_metadata,
			u32 *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool faulted = false;

	ASSERT_EQ(0, sigaction(SIGBUS, &sa, &old));
	if (sigsetjmp(bus_error, 1) == 0)
		(void)READ_ONCE(*p);
	else
		faulted = true;
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

TEST_F_TIMEOUT(vfio, mbx_reset_done, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 ctrl = mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);

	ASSERT_EQ(ctrl, KVX_MVF_MBX_RSTD) {
		TH_LOG("VFMAILBOX 0x%x after open", ctrl);
	}
	/* A level: a read clears nothing, the VF's store does. */
	ctrl = mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);
	ASSERT_EQ(ctrl, KVX_MVF_MBX_RSTD) {
		TH_LOG("RSTD read-to-clear: 0x%x", ctrl);
	}
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
	ctrl = mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX);
	ASSERT_EQ(ctrl, 0) {
		TH_LOG("RSTD not cleared by the VF's store: 0x%x", ctrl);
	}
}

TEST_F_TIMEOUT(vfio, mbx_not_cts, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	mac_words(_metadata, "02:aa:bb:cc:dd:ee", w);
	ASSERT_NE(0, mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]));
	ASSERT_EQ(r[0], (KVX_MVF_MSG_NACK | KVX_MVF_MSG_SET_MAC)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], KVX_MVF_ERR_NOT_CTS) {
		TH_LOG("err %u", r[1]);
	}
	ASSERT_STREQ(mvf_state(vf, "cts"), "0");
	assert_same_state(_metadata, vf, "mac", vf, "admin_mac");
	ASSERT_STREQ(mvf_state(vf, "nacks"), "1");
}

TEST_F_TIMEOUT(vfio, mbx_reset, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	mac_words(_metadata, mvf_state(vf, "admin_mac"), w);
	ASSERT_EQ(r[1], w[0]) {
		TH_LOG("mac 0x%x 0x%x", r[1], r[2]);
	}
	ASSERT_EQ(r[2], w[1]) {
		TH_LOG("mac 0x%x 0x%x", r[1], r[2]);
	}
	ASSERT_EQ(r[3], KVX_MVF_API_1_0) {
		TH_LOG("api 0x%x", r[3]);
	}
	ASSERT_STREQ(mvf_state(vf, "cts"), "1");
	ASSERT_STREQ(mvf_state(vf, "api"), "1.0");
	ASSERT_STREQ(mvf_state(vf, "pf_msg_pending"), "0") {
		TH_LOG("reply not acked");
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_STATUS),
		  (KVX_MVF_STATUS_LINK_UP | KVX_MVF_STATUS_CTS));
}

TEST_F_TIMEOUT(vfio, mbx_api, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS];

	/* GET_LINK is API 1.1. */
	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK));
	ASSERT_EQ(r[0], NACKED(KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(r[1], KVX_MVF_ERR_API) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}

	ASSERT_NE(0, mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE, 0x0200));
	ASSERT_EQ(r[0], NACKED(KVX_MVF_MSG_API_NEGOTIATE)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], KVX_MVF_ERR_API) {
		TH_LOG("%u 0x%x", r[1], r[2]);
	}
	ASSERT_EQ(r[2], KVX_MVF_API_1_1) {
		TH_LOG("%u 0x%x", r[1], r[2]);
	}
	ASSERT_STREQ(mvf_state(vf, "api"), "1.0");

	ASSERT_NE(0,
		  mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE,
			   KVX_MVF_API_1_1));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], KVX_MVF_API_1_1) {
		TH_LOG("0x%x", r[1]);
	}
	ASSERT_STREQ(mvf_state(vf, "api"), "1.1");
}

TEST_F_TIMEOUT(vfio, mbx_get_link, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS];

	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], KVX_MVF_LINK_UP) {
		TH_LOG("%u %u", r[1], r[2]);
	}
	ASSERT_EQ(r[2], 10000) {
		TH_LOG("%u %u", r[1], r[2]);
	}

	ASSERT_EQ(mvf_set_link("down"), 0);
	pf_msg_recv(_metadata, vf, r);
	check_link_msg(_metadata, r, false);
	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], 0) {
		TH_LOG("%u %u", r[1], r[2]);
	}
	ASSERT_EQ(r[2], 0) {
		TH_LOG("%u %u", r[1], r[2]);
	}
	ASSERT_EQ(0,
		  mvf_reg_read(vf, KVX_MVF_REG_STATUS) &
		  KVX_MVF_STATUS_LINK_UP);

	ASSERT_EQ(mvf_set_link("sideways"), -EINVAL);
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS);
	ASSERT_EQ(mvf_set_link("up"), 0);
	pf_msg_recv(_metadata, vf, r);
	check_link_msg(_metadata, r, true);
	ASSERT_NE(0,
		  mvf_reg_read(vf, KVX_MVF_REG_STATUS) &
		  KVX_MVF_STATUS_LINK_UP);
}

/*
 * A link change through debugfs reaches an API 1.1 VF as a PF_LINK
 * message: at once when the buffer is free, else when the VF releases it
 * or acknowledged the reply in it; changes made meanwhile make one message
 * with the latest state.
 */
TEST_F_TIMEOUT(vfio, pf_link_msg, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 m[KVX_MVF_MBX_WORDS], r[KVX_MVF_MBX_WORDS];
	long msgs = atol(mvf_state(vf, "pf_msgs"));

	ASSERT_STREQ(mvf_state(vf, "api"), "1.1");
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS);

	/* A free buffer: the message is there when the write returns. */
	ASSERT_EQ(mvf_set_link("down"), 0);
	ASSERT_STREQ(mvf_state(vf, "pf_msg_pending"), "1");
	pf_msg_recv(_metadata, vf, m);
	check_link_msg(_metadata, m, false);
	ASSERT_EQ(atol(mvf_state(vf, "pf_msgs")), msgs + 1);

	/* The VF owns the buffer: held until VFU is released; coalesced. */
	ASSERT_NE(0, mbx_lock(vf));
	ASSERT_EQ(mvf_set_link("up"), 0);
	ASSERT_EQ(mvf_set_link("down"), 0);
	ASSERT_EQ(mvf_set_link("up"), 0);
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS) {
		TH_LOG("written under VFU");
	}
	ASSERT_STREQ(mvf_state(vf, "link_msg_pending"), "1");
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
	ASSERT_STREQ(mvf_state(vf, "link_msg_pending"), "0");
	pf_msg_recv(_metadata, vf, m);
	check_link_msg(_metadata, m, true);
	ASSERT_EQ(atol(mvf_state(vf, "pf_msgs")), msgs + 2) {
		TH_LOG("one message");
	}

	/* A reply waits for its ACK: the link message comes after it. */
	ASSERT_NE(0, mbx_send(vf, (u32 []){ KVX_MVF_MSG_GET_LINK }, 1));
	ASSERT_EQ(mvf_set_link("down"), 0);
	ASSERT_STREQ(mvf_state(vf, "link_msg_pending"), "1");
	ASSERT_NE(0, mbx_recv(vf, r));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("reply 0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(r[1], KVX_MVF_LINK_UP) {
		TH_LOG("reply 0x%x %u", r[0], r[1]);
	}
	pf_msg_recv(_metadata, vf, m);
	check_link_msg(_metadata, m, false);

	/* An API 1.0 VF has no link messages; STATUS still follows. */
	ASSERT_NE(0,
		  mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE,
			   KVX_MVF_API_1_0));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE));
	ASSERT_EQ(mvf_set_link("up"), 0);
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_PFSTS) {
		TH_LOG("sent to API 1.0");
	}
	ASSERT_STREQ(mvf_state(vf, "link_msg_pending"), "0");
	ASSERT_NE(0,
		  mvf_reg_read(vf, KVX_MVF_REG_STATUS) &
		  KVX_MVF_STATUS_LINK_UP);
	ASSERT_EQ(atol(mvf_state(vf, "pf_msgs")), msgs + 3);
	ASSERT_NE(0,
		  mbx_xfer(vf, r, 2, KVX_MVF_MSG_API_NEGOTIATE,
			   KVX_MVF_API_1_1));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE));
}

TEST_F_TIMEOUT(vfio, mbx_set_mac, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const char * const bad[] = {
		"03:11:22:33:44:55",	/* multicast */
		"00:00:00:00:00:00",
		"ff:ff:ff:ff:ff:ff",
	};
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	unsigned int i;

	mac_words(_metadata, "02:11:22:33:44:55", w);
	ASSERT_NE(0, mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_SET_MAC)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], w[0]);
	ASSERT_EQ(r[2], w[1]);
	ASSERT_STREQ(mvf_state(vf, "mac"), "02:11:22:33:44:55") {
		TH_LOG("%s", mvf_state(vf, "mac"));
	}

	for (i = 0; i < 3; i++) {
		mac_words(_metadata, bad[i], w);
		ASSERT_NE(0,
			  mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]));
		ASSERT_EQ(r[0], NACKED(KVX_MVF_MSG_SET_MAC)) {
			TH_LOG("%s: 0x%x %u", bad[i], r[0], r[1]);
		}
		ASSERT_EQ(r[1], KVX_MVF_ERR_INVAL) {
			TH_LOG("%s: 0x%x %u", bad[i], r[0], r[1]);
		}
	}
	/* Stray bits above the MAC in word 2. */
	mac_words(_metadata, "02:11:22:33:44:66", w);
	ASSERT_NE(0,
		  mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0],
			   w[1] | 1 << 16));
	ASSERT_EQ(r[0], NACKED(KVX_MVF_MSG_SET_MAC)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(r[1], KVX_MVF_ERR_INVAL) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_STREQ(mvf_state(vf, "mac"), "02:11:22:33:44:55") {
		TH_LOG("changed: %s", mvf_state(vf, "mac"));
	}
}

TEST_F_TIMEOUT(vfio, mbx_set_vlan, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	char full[256];
	unsigned int i;

	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 200, KVX_MVF_MSG_ACK, 0);
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_ACK, 0);
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 100, KVX_MVF_MSG_ACK, 0);
	ASSERT_STREQ(mvf_state(vf, "vlans"), "100 200") {
		TH_LOG("%s", mvf_state(vf, "vlans"));
	}

	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 0, KVX_MVF_MSG_NACK,
		KVX_MVF_ERR_INVAL);
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 4095, KVX_MVF_MSG_NACK,
		KVX_MVF_ERR_INVAL);
	vlan_op(_metadata, vf, 2, 300, KVX_MVF_MSG_NACK, KVX_MVF_ERR_INVAL);
	ASSERT_STREQ(mvf_state(vf, "vlans"), "100 200") {
		TH_LOG("%s", mvf_state(vf, "vlans"));
	}

	vlan_op(_metadata, vf, KVX_MVF_VLAN_DEL, 100, KVX_MVF_MSG_ACK, 0);
	vlan_op(_metadata, vf, KVX_MVF_VLAN_DEL, 100, KVX_MVF_MSG_ACK, 0);
	ASSERT_STREQ(mvf_state(vf, "vlans"), "200") {
		TH_LOG("%s", mvf_state(vf, "vlans"));
	}

	/* Fill the table; one more is refused and changes nothing. */
	for (i = 1; i < KVX_MVF_MAX_VLANS; i++)
		vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 1000 + i,
			KVX_MVF_MSG_ACK, 0);
	snprintf(full, sizeof(full), "%s", mvf_state(vf, "vlans"));
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 7, KVX_MVF_MSG_NACK,
		KVX_MVF_ERR_NOSPC);
	ASSERT_STREQ(mvf_state(vf, "vlans"), full) {
		TH_LOG("%s", mvf_state(vf, "vlans"));
	}
	for (i = 1; i < KVX_MVF_MAX_VLANS; i++)
		vlan_op(_metadata, vf, KVX_MVF_VLAN_DEL, 1000 + i,
			KVX_MVF_MSG_ACK, 0);
	ASSERT_STREQ(mvf_state(vf, "vlans"), "200") {
		TH_LOG("%s", mvf_state(vf, "vlans"));
	}
}

/*
 * SET_MCAST requests the PF refuses (ERR_INVAL): the count in INFO, the
 * hash put in slot 7 first (0: as it is), the halfwords sent (0: all).
 */
struct mcast_case {
	const char *what;
	u32 count;
	u16 hash7;
	u32 n;
};

static const struct mcast_case mcast_refused[] = {
	{ "31", KVX_MVF_MAX_MCAST + 1, 0, 0 },
	{ "255", 0xff, 0, 0 },
	{ "0x1000", 8, 0x1000, 8 },
	{ "past count", 7, 0x100, 8 },
	{ "past 0", 0, 0, 1 },
};

TEST_F_TIMEOUT(vfio, mbx_set_mcast, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const u16 list[] = { 0x7ff, 0x012, 0xabc, 0x012, 0x000 };
	u16 full[2 * (KVX_MVF_MBX_WORDS - 1)];
	char want[256], before[2048], after[2048];
	u32 r[KVX_MVF_MBX_WORDS];
	unsigned int i, n;

	assert_state_empty(_metadata, vf, "mcast");
	/* Sorted, a repeat counted once; hash 0 is a hash like any other. */
	ASSERT_EQ(mcast_op(_metadata, vf, 5, list, 5, r),
		  ACKED(KVX_MVF_MSG_SET_MCAST)) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(r[1], 4) {
		TH_LOG("kept %u", r[1]);
	}
	ASSERT_STREQ(mvf_state(vf, "mcast"), "0x000 0x012 0x7ff 0xabc") {
		TH_LOG("%s", mvf_state(vf, "mcast"));
	}

	/* The most the buffer holds, replacing the list whole. */
	for (i = 0; i < ARRAY_SIZE(full); i++)
		full[i] = 0xfff - 3 * i;
	ASSERT_EQ(mcast_op(_metadata, vf, KVX_MVF_MAX_MCAST, full,
			   ARRAY_SIZE(full), r),
		  ACKED(KVX_MVF_MSG_SET_MCAST)) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(r[1], KVX_MVF_MAX_MCAST) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	for (i = 0, n = 0; i < ARRAY_SIZE(full); i++)
		n += snprintf(want + n, sizeof(want) - n, "%s0x%03x",
			      i ? " " : "", full[ARRAY_SIZE(full) - 1 - i]);
	ASSERT_STREQ(mvf_state(vf, "mcast"), want) {
		TH_LOG("%s vs %s", mvf_state(vf, "mcast"), want);
	}

	/* Refused, changing nothing: too many, 13 bits, stray halfwords. */
	ASSERT_EQ(0, mvf_state_dump(vf, before, sizeof(before)));
	for (i = 0; i < ARRAY_SIZE(mcast_refused); i++) {
		const struct mcast_case *c = &mcast_refused[i];

		if (c->hash7)
			full[7] = c->hash7;
		ASSERT_EQ(mcast_op(_metadata, vf, c->count, full,
				   c->n ?: ARRAY_SIZE(full), r),
			  NACKED(KVX_MVF_MSG_SET_MCAST)) {
			TH_LOG("%s: 0x%x %u", c->what, r[0], r[1]);
		}
		ASSERT_EQ(r[1], KVX_MVF_ERR_INVAL) {
			TH_LOG("%s: 0x%x %u", c->what, r[0], r[1]);
		}
	}
	ASSERT_EQ(0, mvf_state_dump(vf, after, sizeof(after)));
	*strstr(before, "requests") = '\0';
	*strstr(after, "requests") = '\0';
	ASSERT_STREQ(before, after) {
		TH_LOG("state changed:\n%s\n--\n%s", before, after);
	}

	/* Count 0 empties the filter; a RESET does too. */
	ASSERT_EQ(mcast_op(_metadata, vf, 0, NULL, 0, r),
		  ACKED(KVX_MVF_MSG_SET_MCAST)) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(r[1], 0) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	assert_state_empty(_metadata, vf, "mcast");
	ASSERT_EQ(mcast_op(_metadata, vf, 2, list, 2, r),
		  ACKED(KVX_MVF_MSG_SET_MCAST));
	ASSERT_STREQ(mvf_state(vf, "mcast"), "0x012 0x7ff") {
		TH_LOG("%s", mvf_state(vf, "mcast"));
	}
}

TEST_F_TIMEOUT(vfio, mbx_malformed, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const struct {
		u32 hdr;
		u32 err;
	} bad[] = {
		{ 0x0077, KVX_MVF_ERR_UNKNOWN },
		{ 0xffff, KVX_MVF_ERR_UNKNOWN },
		{ 0x0005, KVX_MVF_ERR_UNKNOWN },
		{ KVX_MVF_MSG_PF_LINK, KVX_MVF_ERR_UNKNOWN },	/* PF to VF */
		{ KVX_MVF_MSG_RESET | 0x01000000, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_RESET | KVX_MVF_MSG_ACK, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_SET_MAC | KVX_MVF_MSG_NACK, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_GET_LINK | KVX_MVF_MSG_CTS, KVX_MVF_ERR_INVAL },
		{ KVX_MVF_MSG_SET_MAC | 1 << KVX_MVF_MSG_INFO_SHIFT,
		  KVX_MVF_ERR_INVAL },
	};
	u32 r[KVX_MVF_MBX_WORDS];
	char before[2048], after[2048];
	char nacks[32];
	unsigned int i;

	snprintf(nacks, sizeof(nacks), "%s", mvf_state(vf, "nacks"));
	ASSERT_EQ(0, mvf_state_dump(vf, before, sizeof(before)));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_NE(0,
			  mbx_xfer(vf, r, 3, bad[i].hdr, 0x11111111, 0x2222));
		ASSERT_EQ(r[0], NACKED(bad[i].hdr & KVX_MVF_MSG_ID_MASK)) {
			TH_LOG("hdr 0x%x: 0x%x %u", bad[i].hdr, r[0], r[1]);
		}
		ASSERT_EQ(r[1], bad[i].err) {
			TH_LOG("hdr 0x%x: 0x%x %u", bad[i].hdr, r[0], r[1]);
		}
	}
	ASSERT_EQ(0, mvf_state_dump(vf, after, sizeof(after)));
	/* Only the counters moved. */
	ASSERT_EQ(atol(mvf_state(vf, "nacks")), atol(nacks) + (long)i);
	*strstr(before, "requests") = '\0';
	*strstr(after, "requests") = '\0';
	ASSERT_STREQ(before, after) {
		TH_LOG("state changed:\n%s\n--\n%s", before, after);
	}
}

TEST_F_TIMEOUT(vfio, mbx_ownership, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	long errors = atol(mvf_state(vf, "protocol_errors"));
	long requests = atol(mvf_state(vf, "requests"));
	u32 word;

	/*
	 * Release VFU, then write the buffer (memory: it lands, as through
	 * the mapping) and post it without VFU: dropped, a protocol error.
	 */
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_VFU);
	word = KVX_MVF_MSG_RESET;
	mvf_reg_write(vf, KVX_MVF_REG_VFMBMEM, word);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_VFMBMEM), word) {
		TH_LOG("VFMBMEM not memory");
	}
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, KVX_MVF_MBX_REQ);
	ASSERT_EQ(0, mbx_check_bit(vf, KVX_MVF_MBX_PFACK | KVX_MVF_MBX_REQ)) {
		TH_LOG("REQ without VFU taken or left: 0x%x",
		       mbx_read_ctrl(vf));
	}
	ASSERT_EQ(atol(mvf_state(vf, "requests")), requests);
	ASSERT_EQ(atol(mvf_state(vf, "protocol_errors")), errors + 1);
	/* REQ/ACK are actions, RO bits ignore writes. */
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, (u32)~KVX_MVF_MBX_REQ);
	ASSERT_EQ((mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX) & ~KVX_MVF_MBX_VFU),
		  0);
	mvf_reg_write(vf, KVX_MVF_REG_VFMAILBOX, 0);
}

TEST_F_TIMEOUT(vfio, pf_reset_notice, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS];

	ASSERT_EQ(mvf_event(vf, "bogus"), -EINVAL);
	ASSERT_EQ(mvf_event(vf, "reset"), 0);
	ASSERT_NE(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_RSTI);
	ASSERT_NE(0,
		  mvf_reg_read(vf, KVX_MVF_REG_STATUS) &
		  KVX_MVF_STATUS_RESET_PENDING);
	ASSERT_STREQ(mvf_state(vf, "cts"), "0");

	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK));
	ASSERT_EQ(r[0], (KVX_MVF_MSG_NACK | KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(r[1], KVX_MVF_ERR_NOT_CTS) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}

	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(0, mbx_read_ctrl(vf) & KVX_MVF_MBX_RSTI);
	ASSERT_STREQ(mvf_state(vf, "reset_pending"), "0");
	ASSERT_STREQ(mvf_state(vf, "api"), "1.0");
	assert_state_empty(_metadata, vf, "vlans");
	assert_state_empty(_metadata, vf, "mcast");
	assert_same_state(_metadata, vf, "mac", vf, "admin_mac");
}

TEST_F_TIMEOUT(vfio, doorbell, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;

	mvf_reg_write(vf, KVX_MVF_REG_DOORBELL, 1);
	mvf_reg_write(vf, KVX_MVF_REG_DOORBELL, 2);
	mvf_reg_write(vf, KVX_MVF_REG_DOORBELL, 0xcafe);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DB_COUNT), 3);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DOORBELL), 0);
	ASSERT_STREQ(mvf_state(vf, "doorbells"), "3");
	ASSERT_STREQ(mvf_state(vf, "doorbell_last"), "0x0000cafe");
	/* Read-only registers ignore writes. */
	mvf_reg_write(vf, KVX_MVF_REG_DB_COUNT, 0);
	mvf_reg_write(vf, KVX_MVF_REG_ID, 0);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DB_COUNT), 3);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_ID), KVX_MVF_ID_MAGIC);
}

TEST_F_TIMEOUT(vfio, bad_access, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	const u64 cfg = vf->cfg_off, bar0 = vf->bar0_off;
	const struct {
		u64 pos;
		size_t len;
		bool write;
	} bad[] = {
		{ bar0 + KVX_MVF_BAR0_SIZE, 4, false },
		{ bar0 + KVX_MVF_BAR0_SIZE, 4, true },
		{ bar0 + KVX_MVF_BAR0_SIZE - 2, 4, false },
		{ bar0 + KVX_MVF_REG_VFMAILBOX + 2, 4, true },
		{ bar0 + KVX_MVF_REG_VFMBMEM + 1, 4, false },
		{ bar0 + KVX_MVF_REG_VFMAILBOX, 2, true },
		{ bar0 + KVX_MVF_REG_VFMAILBOX, 1, false },
		{ bar0 + KVX_MVF_REG_VFMBMEM, 8, true },
		{ bar0 + KVX_MVF_REG_VFMBMEM, 64, false },
		{ bar0 + (1ULL << 39), 4, false },
		{ cfg + PCI_CFG_SPACE_SIZE, 1, false },
		{ cfg + PCI_CFG_SPACE_SIZE - 1, 2, false },
		{ cfg + PCI_CFG_SPACE_SIZE, 4, true },
		{ cfg + PCI_COMMAND, 3, true },
		{ cfg + PCI_COMMAND + 1, 2, true },
		{ cfg + PCI_COMMAND, 8, true },
		{ cfg + 0, PCI_CFG_SPACE_SIZE + 1, false },
		{ (u64)VFIO_PCI_BAR1_REGION_INDEX << 40, 4, false },
		{ (u64)VFIO_PCI_ROM_REGION_INDEX << 40, 4, true },
		{ (u64)VFIO_PCI_NUM_REGIONS << 40, 4, false },
		{ (u64)0xff << 40, 4, true },
	};
	char before[2048], after[2048];
	u8 cfg_before[PCI_CFG_SPACE_SIZE], cfg_after[PCI_CFG_SPACE_SIZE];
	u8 buf[PCI_CFG_SPACE_SIZE + 8];
	unsigned int i;
	ssize_t ret;

	ASSERT_EQ(0, mvf_state_dump(vf, before, sizeof(before)));
	ASSERT_EQ(mvf_region_read(vf, cfg, cfg_before, sizeof(cfg_before)),
		  sizeof(cfg_before));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, 0xff, sizeof(buf));
		if (bad[i].write)
			ret = mvf_region_write(vf, bad[i].pos, buf, bad[i].len);
		else
			ret = mvf_region_read(vf, bad[i].pos, buf, bad[i].len);
		ASSERT_EQ(ret, -EINVAL) {
			TH_LOG("%s pos 0x%llx len %zu: %zd",
			       bad[i].write ? "write" : "read",
			       (unsigned long long)bad[i].pos, bad[i].len, ret);
		}
	}
	ASSERT_EQ(mvf_region_read(vf, cfg, cfg_after, sizeof(cfg_after)),
		  sizeof(cfg_after));
	ASSERT_EQ(0, memcmp(cfg_before, cfg_after, sizeof(cfg_before))) {
		TH_LOG("config space changed");
	}
	ASSERT_EQ(0, mvf_state_dump(vf, after, sizeof(after)));
	ASSERT_STREQ(before, after) {
		TH_LOG("state changed:\n%s\n--\n%s", before, after);
	}
	ASSERT_EQ(ioctl(vf->device, _IO(VFIO_TYPE, VFIO_BASE + 60)), -1) {
		TH_LOG("unknown ioctl");
	}
	ASSERT_EQ(errno, ENOTTY) {
		TH_LOG("unknown ioctl");
	}
}

TEST_F_TIMEOUT(vfio, device_reset, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS], w[2];

	mac_words(_metadata, "02:00:00:00:00:42", w);
	ASSERT_NE(0, mbx_xfer(vf, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]));
	vlan_op(_metadata, vf, KVX_MVF_VLAN_ADD, 42, KVX_MVF_MSG_ACK, 0);
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_RESET)) {
		TH_LOG("%s", strerror(errno));
	}

	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX), KVX_MVF_MBX_RSTD);
	ASSERT_STREQ(mvf_state(vf, "cts"), "0");
	assert_state_empty(_metadata, vf, "vlans");
	ASSERT_STREQ(mvf_state(vf, "api"), "1.0");
	assert_same_state(_metadata, vf, "mac", vf, "admin_mac");
	ASSERT_EQ((mvf_cfg_read32(vf, PCI_COMMAND) & 0xffff), 0);
	ASSERT_EQ(mvf_cfg_read32(vf, PCI_BASE_ADDRESS_0),
		  PCI_BASE_ADDRESS_SPACE_MEMORY);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_DB_COUNT), 0);
	/* And the VF driver can start over. */
	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_RESET));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
}

TEST_F_TIMEOUT(vfio, mode_trapped, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const char * const bad[] = {
		"", "Direct", "DIRECT", "directx", "trap", "direct trapped",
		"1",
	};
	void *p;
	unsigned int i;

	ASSERT_STREQ(mvf_mode(vf), "trapped\n") {
		TH_LOG("default mode %s", mvf_mode(vf));
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(mvf_set_mode(vf, bad[i]), -EINVAL) {
			TH_LOG("'%s' accepted", bad[i]);
		}
	}
	ASSERT_STREQ(mvf_mode(vf), "trapped\n") {
		TH_LOG("mode %s", mvf_mode(vf));
	}
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);

	/* QEMU maps every sparse mmap area, whatever the PF chose. */
	p = mvf_mmap_bar0(vf, KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE, MAP_SHARED);
	ASSERT_NE(p, MAP_FAILED) {
		TH_LOG("mmap while TRAPPED: %s", strerror(errno));
	}
	ASSERT_EQ(0, load_faults(_metadata, p)) {
		TH_LOG("load from the page mapped while TRAPPED");
	}
	ASSERT_STREQ(mvf_state(vf, "mappings"), "1");
	ASSERT_STREQ(mvf_state(vf, "polled"), "1") {
		TH_LOG("mapped, not polled");
	}
	munmap(p, KVX_MVF_PAGE_SIZE);
	ASSERT_STREQ(mvf_state(vf, "mappings"), "0");
	ASSERT_STREQ(mvf_state(vf, "polled"), "0") {
		TH_LOG("unmapped, polled");
	}
}

TEST_F_TIMEOUT(vfio, mmap_bad, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	static const struct {
		s64 off;
		size_t len;
		int flags;
	} bad[] = {
		{ 0, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ 0, KVX_MVF_BAR0_SIZE, MAP_SHARED },
		{ 0, 2 * KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ KVX_MVF_MBX_PAGE, 2 * KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ 2 * KVX_MVF_PAGE_SIZE, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ 3 * KVX_MVF_PAGE_SIZE, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		{ KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE, MAP_PRIVATE },
		{ KVX_MVF_BAR0_SIZE, KVX_MVF_PAGE_SIZE, MAP_SHARED },
		/* The config region. */
		{ (s64)(VFIO_PCI_CONFIG_REGION_INDEX -
			VFIO_PCI_BAR0_REGION_INDEX) << 40, KVX_MVF_PAGE_SIZE,
		  MAP_SHARED },
		/* The mailbox page's offset in another region. */
		{ (1LL << 40) + KVX_MVF_MBX_PAGE, KVX_MVF_PAGE_SIZE,
		  MAP_SHARED },
	};
	unsigned int i;
	void *p;

	ASSERT_EQ(mvf_set_mode(vf, "direct"), 0);
	ASSERT_STREQ(mvf_mode(vf), "direct\n") {
		TH_LOG("mode %s", mvf_mode(vf));
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		p = mvf_mmap_bar0(vf, bad[i].off, bad[i].len, bad[i].flags);
		if (p != MAP_FAILED)
			munmap(p, bad[i].len);
		ASSERT_EQ(p, MAP_FAILED) {
			TH_LOG("mmap 0x%llx+0x%zx flags %x: %s",
			       (long long)bad[i].off, bad[i].len, bad[i].flags,
			       p == MAP_FAILED ? strerror(errno) : "mapped");
		}
		ASSERT_EQ(errno, EINVAL) {
			TH_LOG("mmap 0x%llx+0x%zx flags %x: %s",
			       (long long)bad[i].off, bad[i].len, bad[i].flags,
			       p == MAP_FAILED ? strerror(errno) : "mapped");
		}
	}
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);
}

/*
 * A VF driver over the mapped page negotiates API 1.1, sets a MAC and
 * reads the link; only the poller sees the requests.
 */
TEST_F_TIMEOUT(vfio, direct_mbx, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	long requests = atol(mvf_state(vf, "requests"));
	long errors = atol(mvf_state(vf, "protocol_errors"));
	u32 r[KVX_MVF_MBX_WORDS], w[2], ctrl;
	u32 *m;

	ASSERT_STREQ(mvf_state(vf, "cts"), "1") {
		TH_LOG("VF not set up");
	}
	ASSERT_EQ(mvf_set_mode(vf, "direct"), 0);
	m = mbx_map(_metadata, vf);
	/* The page is the mailbox the trapped path left behind. */
	ASSERT_EQ(0,
		  dmbx_ctrl(m) &
		  (KVX_MVF_MBX_REQ | KVX_MVF_MBX_ACK | KVX_MVF_MBX_PFU)) {
		TH_LOG("VFMAILBOX 0x%x", dmbx_ctrl(m));
	}

	dmbx_xfer(_metadata, m, r, 2, KVX_MVF_MSG_API_NEGOTIATE,
		  KVX_MVF_API_1_1);
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE)) {
		TH_LOG("0x%x 0x%x", r[0], r[1]);
	}
	ASSERT_EQ(r[1], KVX_MVF_API_1_1) {
		TH_LOG("0x%x 0x%x", r[0], r[1]);
	}
	ASSERT_STREQ(mvf_state(vf, "api"), "1.1") {
		TH_LOG("%s", mvf_state(vf, "api"));
	}

	mac_words(_metadata, "02:de:ad:be:ef:01", w);
	dmbx_xfer(_metadata, m, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]);
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_SET_MAC)) {
		TH_LOG("0x%x 0x%x 0x%x", r[0], r[1], r[2]);
	}
	ASSERT_EQ(r[1], w[0]) {
		TH_LOG("0x%x 0x%x 0x%x", r[0], r[1], r[2]);
	}
	ASSERT_EQ(r[2], w[1]) {
		TH_LOG("0x%x 0x%x 0x%x", r[0], r[1], r[2]);
	}
	ASSERT_STREQ(mvf_state(vf, "mac"), "02:de:ad:be:ef:01") {
		TH_LOG("%s", mvf_state(vf, "mac"));
	}

	dmbx_xfer(_metadata, m, r, 1, KVX_MVF_MSG_GET_LINK);
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(r[1], KVX_MVF_LINK_UP) {
		TH_LOG("0x%x %u", r[0], r[1]);
	}
	ASSERT_EQ(atol(mvf_state(vf, "requests")), requests + 3) {
		TH_LOG("requests %s", mvf_state(vf, "requests"));
	}
	ASSERT_STREQ(mvf_state(vf, "pf_msg_pending"), "0");

	/*
	 * A link change while the VF holds VFU waits; the poller delivers
	 * it once VFU is released.  With the buffer free it is at once.
	 */
	dmbx_set(m, KVX_MVF_MBX_VFU);
	ASSERT_EQ(mvf_set_link("down"), 0);
	usleep(20 * 1000);
	ASSERT_EQ(0, dmbx_ctrl(m) & (KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFU)) {
		TH_LOG("written under VFU: 0x%x", dmbx_ctrl(m));
	}
	dmbx_clear(m, KVX_MVF_MBX_VFU);
	ASSERT_NE(0,
		  dmbx_wait(m, KVX_MVF_MBX_PFSTS, KVX_MVF_MBX_PFSTS, &ctrl)) {
		TH_LOG("no link message: 0x%x", ctrl);
	}
	ASSERT_EQ(0, ctrl & (KVX_MVF_MBX_PFACK | KVX_MVF_MBX_PFU)) {
		TH_LOG("0x%x", ctrl);
	}
	dmbx_take_link(_metadata, m, false);
	ASSERT_EQ(mvf_set_link("up"), 0);
	ASSERT_NE(0, dmbx_ctrl(m) & KVX_MVF_MBX_PFSTS) {
		TH_LOG("0x%x", dmbx_ctrl(m));
	}
	dmbx_take_link(_metadata, m, true);
	ASSERT_STREQ(mvf_state(vf, "pf_msg_pending"), "0");

	/* REQ without VFU is dropped and counted, as when trapped. */
	dmbx_clear(m, KVX_MVF_MBX_VFU);
	dmbx_set(m, KVX_MVF_MBX_REQ);
	ASSERT_NE(0, dmbx_wait(m, KVX_MVF_MBX_REQ, 0, &ctrl)) {
		TH_LOG("REQ stuck: 0x%x", ctrl);
	}
	ASSERT_EQ(0, ctrl & (KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK)) {
		TH_LOG("REQ without VFU answered: 0x%x", ctrl);
	}
	ASSERT_EQ(atol(mvf_state(vf, "protocol_errors")), errors + 1);
	ASSERT_EQ(atol(mvf_state(vf, "requests")), requests + 3);

	/* A region read while DIRECT is a load: nothing read-to-clear. */
	dmbx_set(m, KVX_MVF_MBX_VFU);
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX), dmbx_ctrl(m));
	dmbx_clear(m, KVX_MVF_MBX_VFU);

	/* A reset keeps the mapping, which shows the reset page. */
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_RESET)) {
		TH_LOG("%s", strerror(errno));
	}
	dmbx_reset_done(_metadata, m, r);
	ASSERT_STREQ(mvf_state(vf, "cts"), "1");

	mbx_unmap(vf);
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);
}

/*
 * What QEMU does: it maps the mailbox page whatever the mode and never
 * expects it to go away.  A VF driver loops over the mapping while the PF
 * switches the mode under it: no access faults (SIGBUS on main), every
 * request is answered once, a request posted just before a switch too,
 * and region accesses see the same registers as the mapping (one
 * semantics, nothing read-to-clear).  A TRAPPED VF mapped by a user it
 * cannot trap is polled.
 */
TEST_F_TIMEOUT(vfio, mapped_mode_switch, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 msg[2] = { KVX_MVF_MSG_API_NEGOTIATE, KVX_MVF_API_1_1 };
	long requests = atol(mvf_state(vf, "requests"));
	long errors = atol(mvf_state(vf, "protocol_errors"));
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	u32 *m;
	unsigned int i;

	ASSERT_EQ(mvf_set_mode(vf, "direct"), 0);
	m = mbx_map(_metadata, vf);
	ASSERT_EQ(0, load_faults(_metadata, m)) {
		TH_LOG("mapping does not work");
	}

	/* Post a request and switch at once: it must be answered once. */
	dmbx_post(_metadata, m, msg, 2);
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);
	ASSERT_STREQ(mvf_mode(vf), "trapped\n") {
		TH_LOG("mode %s", mvf_mode(vf));
	}
	ASSERT_EQ(0, load_faults(_metadata, m)) {
		TH_LOG("TRAPPED revoked the mapping (SIGBUS)");
	}
	ASSERT_EQ(0, load_faults(_metadata, MBX_MEM(m, 0)));
	ASSERT_EQ(atol(mvf_state(vf, "requests")), requests + 1) {
		TH_LOG("requests %s", mvf_state(vf, "requests"));
	}
	ASSERT_STREQ(mvf_state(vf, "polled"), "1") {
		TH_LOG("mapped TRAPPED VF not polled");
	}
	/* The region sees what the mapping sees: no read-to-clear. */
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX), dmbx_ctrl(m)) {
		TH_LOG("VFMAILBOX 0x%x through the region, 0x%x mapped",
		       mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX), dmbx_ctrl(m));
	}
	ASSERT_EQ(mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX), dmbx_ctrl(m)) {
		TH_LOG("VFMAILBOX 0x%x through the region, 0x%x mapped",
		       mvf_reg_read(vf, KVX_MVF_REG_VFMAILBOX), dmbx_ctrl(m));
	}
	dmbx_recv(_metadata, m, r);
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE)) {
		TH_LOG("0x%x 0x%x", r[0], r[1]);
	}
	ASSERT_EQ(r[1], KVX_MVF_API_1_1) {
		TH_LOG("0x%x 0x%x", r[0], r[1]);
	}
	ASSERT_STREQ(mvf_state(vf, "pf_msg_pending"), "0");

	/* The same driver carries on over the mapping while TRAPPED. */
	mac_words(_metadata, "02:de:ad:be:ef:02", w);
	dmbx_xfer(_metadata, m, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]);
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_SET_MAC)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_STREQ(mvf_state(vf, "mac"), "02:de:ad:be:ef:02") {
		TH_LOG("%s", mvf_state(vf, "mac"));
	}
	/* And through the region, with the same protocol. */
	ASSERT_NE(0, mbx_xfer(vf, r, 1, KVX_MVF_MSG_GET_LINK));
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_GET_LINK)) {
		TH_LOG("0x%x", r[0]);
	}

	/* Switch every round, mid-message too; nothing faults or is lost. */
	for (i = 0; i < 8; i++) {
		mac_words(_metadata,
			  i % 2 ? "02:de:ad:be:ef:03" : "02:de:ad:be:ef:04", w);
		dmbx_post(_metadata, m,
			  (u32 []){ KVX_MVF_MSG_SET_MAC, w[0], w[1] }, 3);
		ASSERT_EQ(mvf_set_mode(vf, i % 2 ? "trapped" : "direct"), 0);
		dmbx_recv(_metadata, m, r);
		ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_SET_MAC)) {
			TH_LOG("round %u: 0x%x", i, r[0]);
		}
		ASSERT_STREQ(mvf_state(vf, "mac"),
			     i % 2 ? "02:de:ad:be:ef:03" : "02:de:ad:be:ef:04") {
			TH_LOG("round %u: %s", i, mvf_state(vf, "mac"));
		}
	}
	ASSERT_EQ(atol(mvf_state(vf, "requests")), requests + 11) {
		TH_LOG("requests %s", mvf_state(vf, "requests"));
	}
	ASSERT_EQ(atol(mvf_state(vf, "protocol_errors")), errors) {
		TH_LOG("%s", mvf_state(vf, "protocol_errors"));
	}

	/* A reset keeps the mapping: it sees the reset page. */
	ASSERT_EQ(0, ioctl(vf->device, VFIO_DEVICE_RESET)) {
		TH_LOG("%s", strerror(errno));
	}
	ASSERT_EQ(0, load_faults(_metadata, m)) {
		TH_LOG("reset revoked the mapping");
	}
	dmbx_reset_done(_metadata, m, r);
	mbx_unmap(vf);
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);
	ASSERT_STREQ(mvf_state(vf, "polled"), "0");
}

/*
 * PRE_COPY, then STOP_COPY, into a second VF: its state equals the
 * source's, a doorbell deferred on the source is served on the
 * destination, and DMA logging saw every page the DMA wrote meanwhile.
 */
/*
 * QEMU >= 8.1 moves a running VF to PRE_COPY while the guest uses it; the
 * uAPI promises that this changes nothing for the device's operation.  A
 * driver over the mapped page of a DIRECT VF keeps working in PRE_COPY
 * and after it (on main the switch to TRAPPED revoked the mapping: SIGBUS).
 */
TEST_F_TIMEOUT(vfio, mig_precopy_mapped, MVF_TIMEOUT)
{
	struct vf *vf = &self->vf;
	u32 r[KVX_MVF_MBX_WORDS], w[2];
	unsigned int i;
	u32 *m;
	int fd;

	ASSERT_EQ(mvf_set_mode(vf, "direct"), 0);
	m = mbx_map(_metadata, vf);
	dmbx_xfer(_metadata, m, r, 1, KVX_MVF_MSG_RESET);
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_RESET)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_PRE_COPY, &fd));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, load_faults(_metadata, m)) {
		TH_LOG("PRE_COPY revoked the mapping (SIGBUS)");
	}
	for (i = 0; i < 4; i++) {
		mac_words(_metadata,
			  i % 2 ? "02:de:ad:be:ef:05" : "02:de:ad:be:ef:06", w);
		dmbx_xfer(_metadata, m, r, 3, KVX_MVF_MSG_SET_MAC, w[0], w[1]);
		ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_SET_MAC)) {
			TH_LOG("PRE_COPY: 0x%x", r[0]);
		}
	}
	ASSERT_EQ(0, mvf_mig_set(vf, VFIO_DEVICE_STATE_RUNNING, NULL));
	close(fd);
	dmbx_xfer(_metadata, m, r, 2, KVX_MVF_MSG_API_NEGOTIATE,
		  KVX_MVF_API_1_1);
	ASSERT_EQ(r[0], ACKED(KVX_MVF_MSG_API_NEGOTIATE)) {
		TH_LOG("0x%x", r[0]);
	}
	ASSERT_STREQ(mvf_state(vf, "mac"), "02:de:ad:be:ef:05") {
		TH_LOG("%s", mvf_state(vf, "mac"));
	}
	mbx_unmap(vf);
	ASSERT_EQ(mvf_set_mode(vf, "trapped"), 0);
}

MVF_HARNESS_MAIN
