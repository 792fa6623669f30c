/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the kvx-mvf selftests: an igbvf-style VF driver for the
 * mailbox page, which the host maps as guest memory at MBX_GPA.  Static
 * functions: the guest's code is compiled into each test binary, as all
 * KVM selftest guest code is.
 *
 * Single loads and stores (READ_ONCE/WRITE_ONCE), locked RMWs for VFMAILBOX.
 * A wait fails after GUEST_SPINS reads, with no PAUSE (which can exit: PLE).
 * A test that defines MVF_GUEST_YIELD (a ucall value) before including this
 * makes a wait yield to the host instead: GUEST_SYNC(MVF_GUEST_YIELD) every
 * MVF_GUEST_YIELD_SPINS reads, failing after MVF_GUEST_MAX_YIELDS.
 */
#ifndef SELFTEST_MVF_GUEST_H
#define SELFTEST_MVF_GUEST_H

#include <stdint.h>

#include <linux/kvx_mvf.h>

#include "kvm_util.h"
#include "ucall_common.h"

/* Where the guest sees the mailbox page, and its memslot. */
#define MBX_GPA		0xc0000000ULL
#define MBX_SLOT	10

#define MBX_CTRL_OFF	(KVX_MVF_REG_VFMAILBOX - KVX_MVF_MBX_PAGE)
#define MBX_MEM_OFF	(KVX_MVF_REG_VFMBMEM - KVX_MVF_MBX_PAGE)
/* SET_MAC: header and two MAC words. */
#define MSG_LEN		3
/* Guest stores per message: VFU, clear, MSG_LEN words, REQ, clear, ACK. */
#define WRITES_PER_MSG	(MSG_LEN + 5)
#define GUEST_SPINS	BIT_ULL(30)

#define ACKED(id)	(KVX_MVF_MSG_ACK | KVX_MVF_MSG_CTS | (id))

static uint32_t *const mbx_ctrl = (uint32_t *)(MBX_GPA + MBX_CTRL_OFF);
static uint32_t *const mbx_mem = (uint32_t *)(MBX_GPA + MBX_MEM_OFF);

static inline void guest_wait(uint32_t mask, uint32_t want)
{
	uint64_t spins;

#ifdef MVF_GUEST_YIELD
	for (spins = 1; (READ_ONCE(*mbx_ctrl) & mask) != want; spins++) {
		if (spins % MVF_GUEST_YIELD_SPINS)
			continue;
		GUEST_ASSERT(spins / MVF_GUEST_YIELD_SPINS < MVF_GUEST_MAX_YIELDS);
		GUEST_SYNC(MVF_GUEST_YIELD);
	}
#else
	for (spins = 0; (READ_ONCE(*mbx_ctrl) & mask) != want; spins++)
		GUEST_ASSERT(spins < GUEST_SPINS);
#endif
}

/* Take the mailbox (VFU), write the request and post it (REQ). */
static inline void guest_post(const uint32_t *msg, unsigned int len)
{
	unsigned int i;

	__atomic_fetch_or(mbx_ctrl, KVX_MVF_MBX_VFU, __ATOMIC_SEQ_CST);
	GUEST_ASSERT(!(READ_ONCE(*mbx_ctrl) & KVX_MVF_MBX_PFU));
	__atomic_fetch_and(mbx_ctrl, ~(KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK),
			   __ATOMIC_SEQ_CST);
	for (i = 0; i < len; i++)
		WRITE_ONCE(mbx_mem[i], msg[i]);
	__atomic_fetch_or(mbx_ctrl, KVX_MVF_MBX_REQ, __ATOMIC_SEQ_CST);
}

/* Wait for the PF's reply, read all KVX_MVF_MBX_WORDS of it, ACK it. */
static inline void guest_read_reply(uint32_t *reply)
{
	unsigned int i;

	guest_wait(KVX_MVF_MBX_PFSTS, KVX_MVF_MBX_PFSTS);
	for (i = 0; i < KVX_MVF_MBX_WORDS; i++)
		reply[i] = READ_ONCE(mbx_mem[i]);
	__atomic_fetch_and(mbx_ctrl, ~(KVX_MVF_MBX_PFSTS | KVX_MVF_MBX_PFACK),
			   __ATOMIC_SEQ_CST);
	__atomic_fetch_or(mbx_ctrl, KVX_MVF_MBX_ACK, __ATOMIC_SEQ_CST);
	guest_wait(KVX_MVF_MBX_ACK, 0);
}

static inline void guest_xfer(const uint32_t *msg, unsigned int len,
			      uint32_t *reply)
{
	guest_post(msg, len);
	guest_read_reply(reply);
}

/* Message n sets MAC 02:5a:n (little-endian n in the last four bytes). */
static inline uint32_t mac_word0(uint32_t n)
{
	return 0x5a02 | (n & 0xffff) << 16;
}

static inline uint32_t mac_word1(uint32_t n)
{
	return n >> 16;
}

static inline void mac_msg(uint32_t *msg, uint32_t n)
{
	msg[0] = KVX_MVF_MSG_SET_MAC;
	msg[1] = mac_word0(n);
	msg[2] = mac_word1(n);
}

/* SET_MAC n, its reply in @reply (KVX_MVF_MBX_WORDS), which must be ACKED. */
static inline void guest_set_mac(uint32_t n, uint32_t *reply)
{
	uint32_t msg[MSG_LEN];

	mac_msg(msg, n);
	guest_xfer(msg, MSG_LEN, reply);
	GUEST_ASSERT_EQ(reply[0], ACKED(KVX_MVF_MSG_SET_MAC));
}

/* RESET, whose reply must be ACKED. */
static inline void guest_reset(void)
{
	uint32_t msg = KVX_MVF_MSG_RESET, reply[KVX_MVF_MBX_WORDS];

	guest_xfer(&msg, 1, reply);
	GUEST_ASSERT_EQ(reply[0], ACKED(KVX_MVF_MSG_RESET));
}

/*
 * SET_MAC n for n in [@first, @first + @count).  With @check, each reply
 * must be the ACK of exactly its request: nothing lost or mixed.
 */
static inline void guest_set_mac_run(uint32_t first, uint32_t count,
				     bool check)
{
	uint32_t reply[KVX_MVF_MBX_WORDS];
	uint32_t n, i;

	for (n = first; n < first + count; n++) {
		guest_set_mac(n, reply);
		if (!check)
			continue;
		GUEST_ASSERT_EQ(reply[1], mac_word0(n));
		GUEST_ASSERT_EQ(reply[2], mac_word1(n));
		for (i = MSG_LEN; i < KVX_MVF_MBX_WORDS; i++)
			GUEST_ASSERT_EQ(reply[i], 0);
	}
}

/* The GUEST_SYNCs of guest_mac_phases(); a test's own ones follow. */
enum {
	SYNC_RESET_DONE = 1,
	SYNC_TRAPPED_DONE,
	SYNC_DIRECT_DONE,
	SYNC_PHASES_END,
};

/*
 * The phases a mailbox test or bench starts with: RESET, then SET_MAC
 * @count times, twice (the host has the mailbox TRAPPED for the first
 * run, DIRECT for the second), each phase ended by its GUEST_SYNC.
 */
static inline void guest_mac_phases(uint32_t count, bool check)
{
	guest_reset();
	GUEST_SYNC(SYNC_RESET_DONE);
	guest_set_mac_run(0, count, check);
	GUEST_SYNC(SYNC_TRAPPED_DONE);
	guest_set_mac_run(count, count, check);
	GUEST_SYNC(SYNC_DIRECT_DONE);
}

#endif /* SELFTEST_MVF_GUEST_H */
