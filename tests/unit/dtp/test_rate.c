/*
 * test_rate: the rate part: bytes per tick, libevent's bucket, and the
 * pacer of raw uploads driven by a clock the test moves.
 */
#include <check.h>
#include <stdint.h>

#include <event2/bufferevent.h>

#include "dtp/rate.h"
#include "suites.h"

#define MEBIBYTE 1048576
#define SECOND 1000000

START_TEST(test_bytes_per_tick)
{
	ck_assert_uint_eq(rate_bytes_per_tick(MEBIBYTE), MEBIBYTE / 10);
	ck_assert_uint_eq(rate_bytes_per_tick(1000), 100);
	/* Never 0: libevent refuses an empty bucket, and a pacer would never move. */
	ck_assert_uint_eq(rate_bytes_per_tick(5), 1);
	ck_assert_uint_eq(rate_bytes_per_tick((uint64_t)1 << 50), ((uint64_t)1 << 50) / 10);
}
END_TEST

START_TEST(test_bucket)
{
	struct ev_token_bucket_cfg *bucket = rate_bucket_new(MEBIBYTE);

	ck_assert_ptr_nonnull(bucket);
	ev_token_bucket_cfg_free(bucket);
	bucket = rate_bucket_new(1);
	ck_assert_ptr_nonnull(bucket);
	ev_token_bucket_cfg_free(bucket);
}
END_TEST

START_TEST(test_pacer_starts_with_one_tick)
{
	struct rate_pacer pacer;

	rate_pacer_init(&pacer, MEBIBYTE, 1000);
	ck_assert_uint_eq(rate_pacer_allowance(&pacer, 1000), MEBIBYTE / 10);
	/* Waiting longer never saves up more than one tick. */
	ck_assert_uint_eq(rate_pacer_allowance(&pacer, 1000 + 60 * SECOND), MEBIBYTE / 10);
}
END_TEST

START_TEST(test_pacer_refills_at_its_rate)
{
	struct rate_pacer pacer;
	uint64_t now = 0;

	rate_pacer_init(&pacer, MEBIBYTE, now);
	rate_pacer_spend(&pacer, rate_pacer_allowance(&pacer, now));
	ck_assert_uint_eq(rate_pacer_allowance(&pacer, now), 0);
	/* A quarter of a tick: a quarter of its bytes. */
	now += SECOND / 40;
	ck_assert_uint_eq(rate_pacer_allowance(&pacer, now), MEBIBYTE / 40);
	/* The pause ends when the bucket is full again, not before. */
	now += rate_pacer_pause(&pacer);
	ck_assert_uint_eq(rate_pacer_allowance(&pacer, now), MEBIBYTE / 10);
	ck_assert_uint_eq(rate_pacer_pause(&pacer), 0);
}
END_TEST

/* Ten seconds of reads as the upload path does them move ten seconds' worth. */
START_TEST(test_pacer_holds_the_rate_over_time)
{
	struct rate_pacer pacer;
	uint64_t now = 0, moved = 0;
	const uint64_t rate = 3 * MEBIBYTE / 2;

	rate_pacer_init(&pacer, rate, now);
	while (now < 10 * SECOND) {
		size_t allowed = rate_pacer_allowance(&pacer, now);

		/* Reads of at most 64 KiB, as a socket might give them. */
		if (allowed > 65536)
			allowed = 65536;
		if (allowed == 0) {
			now += rate_pacer_pause(&pacer);
			continue;
		}
		rate_pacer_spend(&pacer, allowed);
		moved += allowed;
	}
	/* The rate, plus the tick it starts with. */
	ck_assert_uint_le(moved, 10 * rate + rate / 10 + 65536);
	ck_assert_uint_ge(moved, 10 * rate - 65536);
}
END_TEST

START_TEST(test_pacer_clock_never_runs_back)
{
	struct rate_pacer pacer;

	rate_pacer_init(&pacer, 1000, 5 * SECOND);
	rate_pacer_spend(&pacer, rate_pacer_allowance(&pacer, 5 * SECOND));
	ck_assert_uint_eq(rate_pacer_allowance(&pacer, 4 * SECOND), 0);
	ck_assert_uint_eq(rate_pacer_allowance(&pacer, 5 * SECOND + SECOND / 20), 50);
}
END_TEST

Suite *
rate_suite(void)
{
	Suite *suite = suite_create("rate");
	TCase *tcase = tcase_create("pacing");

	tcase_add_test(tcase, test_bytes_per_tick);
	tcase_add_test(tcase, test_bucket);
	tcase_add_test(tcase, test_pacer_starts_with_one_tick);
	tcase_add_test(tcase, test_pacer_refills_at_its_rate);
	tcase_add_test(tcase, test_pacer_holds_the_rate_over_time);
	tcase_add_test(tcase, test_pacer_clock_never_runs_back);
	suite_add_tcase(suite, tcase);
	return suite;
}
