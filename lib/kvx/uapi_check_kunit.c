// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the kvx ioctl argument checks.
 *
 * The interesting inputs are the edges: sums that wrap at U64_MAX or at
 * U16_MAX, ranges that end exactly at a limit or one past it, ranges that
 * touch or overlap by a single byte.
 */

#include <kunit/test.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/string.h>

#include "uapi_check.h"

static void kvx_mem_is_zero_test(struct kunit *test)
{
	u8 buf[67] = {};
	size_t i;

	KUNIT_EXPECT_TRUE(test, kvx_mem_is_zero(buf, sizeof(buf)));
	/* Unaligned start and odd length take memchr_inv's byte paths. */
	KUNIT_EXPECT_TRUE(test, kvx_mem_is_zero(buf + 1, sizeof(buf) - 2));

	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = 0x80;
		KUNIT_EXPECT_FALSE_MSG(test, kvx_mem_is_zero(buf, sizeof(buf)),
				       "non-zero byte at %zu not found", i);
		/* A non-zero byte just past the field is not part of it. */
		KUNIT_EXPECT_TRUE_MSG(test, kvx_mem_is_zero(buf, i),
				      "byte %zu is outside a %zu-byte field", i, i);
		buf[i] = 0;
	}

	buf[0] = 1;
	KUNIT_EXPECT_TRUE(test, kvx_mem_is_zero(buf, 0));
}

static void kvx_check_flags_test(struct kunit *test)
{
	const u64 valid = BIT_ULL(0) | BIT_ULL(5) | BIT_ULL(63);

	KUNIT_EXPECT_EQ(test, kvx_check_flags(0, valid), 0);
	KUNIT_EXPECT_EQ(test, kvx_check_flags(0, 0), 0);
	KUNIT_EXPECT_EQ(test, kvx_check_flags(BIT_ULL(5), valid), 0);
	KUNIT_EXPECT_EQ(test, kvx_check_flags(valid, valid), 0);
	KUNIT_EXPECT_EQ(test, kvx_check_flags(U64_MAX, U64_MAX), 0);

	KUNIT_EXPECT_EQ(test, kvx_check_flags(BIT_ULL(1), valid), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvx_check_flags(valid | BIT_ULL(62), valid),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, kvx_check_flags(BIT_ULL(0), 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kvx_check_flags(U64_MAX, valid), -EINVAL);
}

struct kvx_gfn_range_case {
	const char *name;
	u64 gfn;
	u64 npages;
	u64 max_gfn;
	int expected;
};

static const struct kvx_gfn_range_case kvx_gfn_range_cases[] = {
	{ "one page at zero", 0, 1, 1, 0 },
	{ "ends exactly at max", 99, 1, 100, 0 },
	{ "whole space", 0, 100, 100, 0 },
	{ "ends one past max", 99, 2, 100, -EINVAL },
	{ "starts at max", 100, 1, 100, -EINVAL },
	{ "empty range", 5, 0, 100, -EINVAL },
	{ "empty range at zero", 0, 0, 0, -EINVAL },
	{ "max of zero", 0, 1, 0, -EINVAL },
	{ "ends exactly at U64_MAX", U64_MAX - 1, 1, U64_MAX, 0 },
	{ "all but the last gfn", 0, U64_MAX, U64_MAX, 0 },
	{ "gfn + npages wraps to 0", U64_MAX, 1, U64_MAX, -EINVAL },
	{ "npages wraps to 0", 1, U64_MAX, U64_MAX, -EINVAL },
	{ "both U64_MAX", U64_MAX, U64_MAX, U64_MAX, -EINVAL },
	{ "wraps below max", 2, U64_MAX - 1, 10, -EINVAL },
};

KUNIT_ARRAY_PARAM_DESC(kvx_gfn_range, kvx_gfn_range_cases, name);

static void kvx_check_gfn_range_test(struct kunit *test)
{
	const struct kvx_gfn_range_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, kvx_check_gfn_range(c->gfn, c->npages, c->max_gfn),
			c->expected);
}

struct kvx_view_access_case {
	const char *name;
	u32 access;
	int expected;
};

#define R KVX_VIEW_ACCESS_READ
#define W KVX_VIEW_ACCESS_WRITE
#define X KVX_VIEW_ACCESS_EXEC

static const struct kvx_view_access_case kvx_view_access_cases[] = {
	{ "none", 0, 0 },
	{ "R", R, 0 },
	{ "W", W, -EINVAL },
	{ "RW", R | W, 0 },
	{ "X", X, 0 },
	{ "RX", R | X, 0 },
	{ "WX", W | X, -EINVAL },
	{ "RWX", R | W | X, 0 },
	{ "INHERIT", KVX_VIEW_ACCESS_INHERIT, 0 },
	{ "INHERIT|R", KVX_VIEW_ACCESS_INHERIT | R, -EINVAL },
	{ "INHERIT|RWX", KVX_VIEW_ACCESS_INHERIT | R | W | X, -EINVAL },
	{ "bit 3", BIT(3), -EINVAL },
	{ "RWX|bit 3", R | W | X | BIT(3), -EINVAL },
	{ "bit 30", BIT(30), -EINVAL },
	{ "all bits", U32_MAX, -EINVAL },
};

#undef R
#undef W
#undef X

KUNIT_ARRAY_PARAM_DESC(kvx_view_access, kvx_view_access_cases, name);

static void kvx_check_view_access_test(struct kunit *test)
{
	const struct kvx_view_access_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, kvx_check_view_access(c->access), c->expected);
}

static void kvx_check_view_access_unknown_bits_test(struct kunit *test)
{
	unsigned int bit;

	for (bit = 3; bit < 31; bit++) {
		KUNIT_EXPECT_EQ_MSG(test, kvx_check_view_access(BIT(bit)), -EINVAL,
				    "bit %u accepted alone", bit);
		KUNIT_EXPECT_EQ_MSG(test,
				    kvx_check_view_access(KVX_VIEW_ACCESS_READ |
							  BIT(bit)),
				    -EINVAL, "bit %u accepted with READ", bit);
	}
}

struct kvx_subpage_case {
	const char *name;
	struct kvx_subpage_range ranges[3];
	unsigned int n;
	unsigned int max_n;
	int expected;
};

#define RD KVX_WINDOW_READ
#define WR KVX_WINDOW_WRITE

static const struct kvx_subpage_case kvx_subpage_cases[] = {
	{ "whole page", { { 0, 4096, RD | WR } }, 1, 1, 0 },
	{ "last byte", { { 4095, 1, RD } }, 1, 1, 0 },
	{ "write only", { { 8, 4, WR } }, 1, 1, 0 },
	{ "crosses page end", { { 4095, 2, RD } }, 1, 1, -EINVAL },
	{ "starts at page end", { { 4096, 1, RD } }, 1, 1, -EINVAL },
	{ "u16 sum wraps to 0", { { 0xffff, 1, RD } }, 1, 1, -EINVAL },
	{ "u16 maxima", { { 0xffff, 0xffff, RD } }, 1, 1, -EINVAL },
	{ "larger than page", { { 0, 4097, RD } }, 1, 1, -EINVAL },
	{ "empty range", { { 16, 0, RD } }, 1, 1, -EINVAL },
	{ "no access", { { 16, 4, 0 } }, 1, 1, -EINVAL },
	{ "unknown flag", { { 16, 4, RD | BIT(2) } }, 1, 1, -EINVAL },
	{ "flag bit 31", { { 16, 4, WR | BIT(31) } }, 1, 1, -EINVAL },
	{ "adjacent", { { 0, 8, RD }, { 8, 8, WR } }, 2, 2, 0 },
	{ "adjacent unsorted", { { 8, 8, RD }, { 0, 8, RD } }, 2, 2, 0 },
	{ "overlap by one byte", { { 0, 9, RD }, { 8, 8, RD } }, 2, 2, -EINVAL },
	{ "overlap by one byte unsorted",
	  { { 8, 8, RD }, { 0, 9, RD } }, 2, 2, -EINVAL },
	{ "contained", { { 0, 4096, RD }, { 100, 4, WR } }, 2, 2, -EINVAL },
	{ "duplicate", { { 64, 4, RD }, { 64, 4, RD } }, 2, 2, -EINVAL },
	{ "first and last overlap",
	  { { 0, 4, RD }, { 100, 4, RD }, { 3, 1, RD } }, 3, 3, -EINVAL },
	{ "bad range after good ones",
	  { { 0, 4, RD }, { 100, 4, RD }, { 200, 0, RD } }, 3, 3, -EINVAL },
	{ "no ranges", { }, 0, 3, -EINVAL },
	{ "n equals max_n", { { 0, 4, RD }, { 4, 4, RD } }, 2, 2, 0 },
	{ "n below max_n", { { 0, 4, RD } }, 1, KVX_CHECK_SUBPAGE_MAX_RANGES, 0 },
	{ "n above max_n", { { 0, 4, RD }, { 4, 4, RD } }, 2, 1, -E2BIG },
	{ "too many beats malformed",
	  { { 0, 0, 0 }, { 0, 0, 0 } }, 2, 1, -E2BIG },
};

#undef RD
#undef WR

KUNIT_ARRAY_PARAM_DESC(kvx_subpage, kvx_subpage_cases, name);

static void kvx_check_subpage_ranges_test(struct kunit *test)
{
	const struct kvx_subpage_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test,
			kvx_check_subpage_ranges(c->ranges, c->n, c->max_n),
			c->expected);
}

/* A page tiled by the most ranges a caller may accept. */
static void kvx_check_subpage_ranges_full_test(struct kunit *test)
{
	const unsigned int n = KVX_CHECK_SUBPAGE_MAX_RANGES;
	const u16 size = KVX_SUBPAGE_SIZE / KVX_CHECK_SUBPAGE_MAX_RANGES;
	struct kvx_subpage_range *ranges;
	unsigned int i;

	ranges = kunit_kcalloc(test, n, sizeof(*ranges), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ranges);

	/* Fill in reverse order so the list is not sorted. */
	for (i = 0; i < n; i++) {
		ranges[i].offset = (n - 1 - i) * size;
		ranges[i].size = size;
		ranges[i].flags = KVX_WINDOW_READ;
	}
	KUNIT_EXPECT_EQ(test, kvx_check_subpage_ranges(ranges, n, n), 0);
	KUNIT_EXPECT_EQ(test, kvx_check_subpage_ranges(ranges, n, n - 1),
			-E2BIG);

	/* The range at offset 0 reaches one byte into its neighbour. */
	ranges[n - 1].size = size + 1;
	KUNIT_EXPECT_EQ(test, kvx_check_subpage_ranges(ranges, n, n), -EINVAL);
	ranges[n - 1].size = size;

	/* The first range spills one byte past the end of the page. */
	ranges[0].size = size + 1;
	KUNIT_EXPECT_EQ(test, kvx_check_subpage_ranges(ranges, n, n), -EINVAL);
}

static struct kunit_case kvx_uapi_check_cases[] = {
	KUNIT_CASE(kvx_mem_is_zero_test),
	KUNIT_CASE(kvx_check_flags_test),
	KUNIT_CASE_PARAM(kvx_check_gfn_range_test, kvx_gfn_range_gen_params),
	KUNIT_CASE_PARAM(kvx_check_view_access_test,
			 kvx_view_access_gen_params),
	KUNIT_CASE(kvx_check_view_access_unknown_bits_test),
	KUNIT_CASE_PARAM(kvx_check_subpage_ranges_test, kvx_subpage_gen_params),
	KUNIT_CASE(kvx_check_subpage_ranges_full_test),
	{}
};

static struct kunit_suite kvx_uapi_check_suite = {
	.name = "kvx_uapi_check",
	.test_cases = kvx_uapi_check_cases,
};

kunit_test_suite(kvx_uapi_check_suite);

MODULE_DESCRIPTION("KUnit tests for kvx ioctl argument checks");
MODULE_LICENSE("GPL");
