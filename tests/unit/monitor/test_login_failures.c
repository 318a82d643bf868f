/*
 * test_login_failures: failed logins per address across connections, the
 * growing delay, bans and their end, IPv6 /64 grouping, and the bound on
 * the table.
 */
#include <string.h>

#include <check.h>

#include "monitor/login_failures.h"
#include "suites.h"

static struct message_address
ipv4(unsigned char a, unsigned char b, unsigned char c, unsigned char d)
{
	struct message_address address;

	memset(&address, 0, sizeof(address));
	address.length = 4;
	address.bytes[0] = a;
	address.bytes[1] = b;
	address.bytes[2] = c;
	address.bytes[3] = d;
	return address;
}

static struct message_address
ipv6(unsigned char network, unsigned char host)
{
	struct message_address address;

	memset(&address, 0, sizeof(address));
	address.length = 16;
	address.bytes[0] = 0x20;
	address.bytes[1] = 0x01;
	address.bytes[2] = 0x0d;
	address.bytes[3] = 0xb8;
	address.bytes[7] = network;
	address.bytes[15] = host;
	return address;
}

static const struct login_failure_policy policy = {
	.ban_after_failures = 5, .ban_time = 600, .base_delay_ms = 100,
};

START_TEST(test_delay_grows_then_ban)
{
	struct login_failures *failures = login_failures_new(16);
	struct message_address a = ipv4(192, 0, 2, 1);
	static const unsigned expected[] = { 0, 100, 300, 700 };
	unsigned banned_for, i;

	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(login_failures_record(failures, &a, 1000, &policy, &banned_for),
		    expected[i]);
		ck_assert_uint_eq(banned_for, 0);
		ck_assert_uint_eq(login_failures_banned(failures, &a, 1000), 0);
	}
	login_failures_record(failures, &a, 1000, &policy, &banned_for);
	ck_assert_uint_eq(banned_for, 600);
	ck_assert_uint_eq(login_failures_banned(failures, &a, 1000), 600);
	ck_assert_uint_eq(login_failures_banned(failures, &a, 1599), 1);
	/* Another address is not banned. */
	{
		struct message_address b = ipv4(192, 0, 2, 2);

		ck_assert_uint_eq(login_failures_banned(failures, &b, 1000), 0);
	}
	/* The ban ends, and the address starts afresh. */
	ck_assert_uint_eq(login_failures_banned(failures, &a, 1600), 0);
	ck_assert_uint_eq(login_failures_count(failures), 0);
	ck_assert_uint_eq(login_failures_record(failures, &a, 1601, &policy, &banned_for), 0);
	login_failures_free(failures);
}
END_TEST

START_TEST(test_failures_are_forgotten_after_ban_time)
{
	struct login_failures *failures = login_failures_new(16);
	struct message_address a = ipv4(192, 0, 2, 1);
	unsigned banned_for, i;

	for (i = 0; i < 4; i++)
		login_failures_record(failures, &a, 1000, &policy, &banned_for);
	/* Quiet for ban_time: the next failure is a first one again. */
	ck_assert_uint_eq(login_failures_record(failures, &a, 1600, &policy, &banned_for), 0);
	ck_assert_uint_eq(banned_for, 0);
	login_failures_free(failures);
}
END_TEST

START_TEST(test_ipv6_counts_per_64)
{
	struct login_failures *failures = login_failures_new(16);
	struct message_address other_network = ipv6(2, 1);
	unsigned banned_for, i;

	/* Five hosts of one /64, one failure each: one client, banned. */
	for (i = 1; i <= 5; i++) {
		struct message_address host = ipv6(1, (unsigned char)i);

		login_failures_record(failures, &host, 50, &policy, &banned_for);
	}
	ck_assert_uint_eq(banned_for, 600);
	{
		struct message_address new_host = ipv6(1, 200);

		ck_assert_uint_gt(login_failures_banned(failures, &new_host, 51), 0);
	}
	ck_assert_uint_eq(login_failures_banned(failures, &other_network, 51), 0);
	login_failures_free(failures);
}
END_TEST

START_TEST(test_no_ban_when_disabled_and_delay_is_capped)
{
	static const struct login_failure_policy no_bans = {
		.ban_after_failures = 0, .ban_time = 600, .base_delay_ms = 1000,
	};
	struct login_failures *failures = login_failures_new(16);
	struct message_address a = ipv4(192, 0, 2, 1);
	unsigned banned_for, delay = 0, i;

	for (i = 0; i < 100; i++) {
		delay = login_failures_record(failures, &a, 10, &no_bans, &banned_for);
		ck_assert_uint_eq(banned_for, 0);
	}
	ck_assert_uint_eq(delay, LOGIN_FAILURES_MAX_DELAY_MS);
	ck_assert_uint_eq(login_failures_banned(failures, &a, 10), 0);
	login_failures_free(failures);
}
END_TEST

START_TEST(test_table_is_bounded_and_keeps_bans)
{
	struct login_failures *failures = login_failures_new(8);
	struct message_address banned = ipv4(198, 51, 100, 1);
	unsigned banned_for, i;

	for (i = 0; i < 5; i++)
		login_failures_record(failures, &banned, 100, &policy, &banned_for);
	ck_assert_uint_eq(banned_for, 600);
	/* A flood of addresses with one failure each: the table stays at 8, the ban stays. */
	for (i = 0; i < 5000; i++) {
		struct message_address address = ipv4(10, (unsigned char)(i >> 16),
		    (unsigned char)(i >> 8), (unsigned char)i);

		login_failures_record(failures, &address, 100 + i / 1000, &policy, &banned_for);
		ck_assert_uint_le(login_failures_count(failures), 8);
	}
	ck_assert_uint_gt(login_failures_banned(failures, &banned, 110), 0);
	login_failures_free(failures);
}
END_TEST

Suite *
login_failures_suite(void)
{
	Suite *suite = suite_create("login_failures");
	TCase *tcase = tcase_create("per address");

	tcase_add_test(tcase, test_delay_grows_then_ban);
	tcase_add_test(tcase, test_failures_are_forgotten_after_ban_time);
	tcase_add_test(tcase, test_ipv6_counts_per_64);
	tcase_add_test(tcase, test_no_ban_when_disabled_and_delay_is_capped);
	tcase_add_test(tcase, test_table_is_bounded_and_keeps_bans);
	suite_add_tcase(suite, tcase);
	return suite;
}
