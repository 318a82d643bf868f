/*
 * test_limits: the session counts behind max_clients, max_clients_per_ip,
 * max_prelogin_per_ip and max_sessions_per_user, as the monitor keeps them
 * across workers.
 */
#include <errno.h>
#include <string.h>

#include <check.h>

#include "monitor/limits.h"
#include "suites.h"

static struct message_address
address_of(unsigned char last)
{
	struct message_address address;

	memset(&address, 0, sizeof(address));
	address.length = 4;
	address.bytes[0] = 192;
	address.bytes[1] = 0;
	address.bytes[2] = 2;
	address.bytes[3] = last;
	return address;
}

static struct config
limits_config(unsigned total, unsigned per_ip, unsigned prelogin, unsigned per_user)
{
	struct config config;

	memset(&config, 0, sizeof(config));
	config.max_clients = total;
	config.max_clients_per_ip = per_ip;
	config.max_prelogin_per_ip = prelogin;
	config.max_sessions_per_user = per_user;
	return config;
}

START_TEST(test_total_limit)
{
	struct message_address a = address_of(1), b = address_of(2);
	struct config config = limits_config(3, 0, 0, 0);
	struct limits limits;

	limits_init(&limits);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &b, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &b, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_TOO_MANY_USERS);
	ck_assert_uint_eq(limits.total, 3);
	ck_assert_int_eq(limits_remove(&limits, &b, 0, NULL), 0);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	limits_clear(&limits);
	ck_assert_uint_eq(limits.total, 0);
}
END_TEST

START_TEST(test_per_address_limit)
{
	struct message_address a = address_of(1), b = address_of(2);
	struct config config = limits_config(0, 2, 0, 0);
	struct limits limits;

	limits_init(&limits);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS);
	/* Another address is not affected. */
	ck_assert_int_eq(limits_admit(&limits, &b, &config), MESSAGE_ADMIT_OK);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 2);
	ck_assert_uint_eq(limits_sessions_from(&limits, &b), 1);
	/* Logged in or not, every connection counts against max_clients_per_ip. */
	ck_assert_int_eq(limits_login(&limits, &a, "alice", &config), MESSAGE_LOGIN_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS);
	ck_assert_int_eq(limits_remove(&limits, &a, 1, "alice"), 0);
	ck_assert_int_eq(limits_remove(&limits, &a, 0, NULL), 0);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 0);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	limits_clear(&limits);
}
END_TEST

START_TEST(test_prelogin_limit_counts_only_sessions_not_logged_in)
{
	struct message_address a = address_of(1);
	struct config config = limits_config(0, 0, 2, 0);
	struct limits limits;
	unsigned i;

	limits_init(&limits);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_TOO_MANY_NOT_LOGGED_IN);
	/* Logged-in sessions make room: an office behind NAT may have many. */
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(limits_login(&limits, &a, NULL, &config), MESSAGE_LOGIN_OK);
		ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	}
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 52);
	ck_assert_uint_eq(limits_not_logged_in_from(&limits, &a), 2);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_TOO_MANY_NOT_LOGGED_IN);
	/* A logout (USER again) makes it count as not logged in once more. */
	ck_assert_int_eq(limits_remove(&limits, &a, 0, NULL), 0);
	ck_assert_int_eq(limits_logout(&limits, &a, NULL), 0);
	ck_assert_uint_eq(limits_not_logged_in_from(&limits, &a), 2);
	limits_clear(&limits);
}
END_TEST

START_TEST(test_per_user_limit)
{
	struct message_address a = address_of(1), b = address_of(2);
	struct config config = limits_config(0, 0, 0, 2);
	struct limits limits;

	limits_init(&limits);
	ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &b, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &b, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &b, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_login(&limits, &a, "alice", &config), MESSAGE_LOGIN_OK);
	ck_assert_int_eq(limits_login(&limits, &b, "alice", &config), MESSAGE_LOGIN_OK);
	/* From any address: the limit is the user's. */
	ck_assert_int_eq(limits_login(&limits, &b, "alice", &config),
	    MESSAGE_LOGIN_TOO_MANY_FOR_USER);
	ck_assert_uint_eq(limits_sessions_of(&limits, "alice"), 2);
	/* Refused, it still counts as not logged in; another user is not affected. */
	ck_assert_uint_eq(limits_not_logged_in_from(&limits, &b), 2);
	ck_assert_int_eq(limits_login(&limits, &b, "bob", &config), MESSAGE_LOGIN_OK);
	/* Anonymous sessions are never counted per user. */
	ck_assert_int_eq(limits_login(&limits, &b, NULL, &config), MESSAGE_LOGIN_OK);
	ck_assert_uint_eq(limits_sessions_of(&limits, "anonymous"), 0);
	ck_assert_int_eq(limits_remove(&limits, &a, 1, "alice"), 0);
	ck_assert_uint_eq(limits_sessions_of(&limits, "alice"), 1);
	limits_clear(&limits);
}
END_TEST

START_TEST(test_removal_of_what_was_never_counted)
{
	struct message_address a = address_of(1), never = address_of(9);
	struct config config = limits_config(0, 0, 0, 0);
	struct limits limits;
	unsigned i;

	limits_init(&limits);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(limits_admit(&limits, &a, &config), MESSAGE_ADMIT_OK);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 1000);
	/* Nothing counted so changes nothing: the monitor refuses such a worker. */
	ck_assert_int_eq(limits_remove(&limits, &never, 0, NULL), -ENOENT);
	ck_assert_int_eq(limits_remove(&limits, &a, 1, NULL), -ENOENT);
	ck_assert_int_eq(limits_remove(&limits, &a, 1, "alice"), -ENOENT);
	ck_assert_int_eq(limits_logout(&limits, &a, NULL), -ENOENT);
	ck_assert_int_eq(limits_login(&limits, &a, "bob", &config), MESSAGE_LOGIN_OK);
	ck_assert_int_eq(limits_remove(&limits, &a, 1, "alice"), -ENOENT);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 1000);
	ck_assert_uint_eq(limits.total, 1000);
	limits_clear(&limits);
}
END_TEST

START_TEST(test_subtract_gives_back_a_worker)
{
	struct config config = limits_config(0, 0, 0, 0);
	struct limits global, worker;
	struct message_address kept = address_of(250);
	unsigned i;

	limits_init(&global);
	limits_init(&worker);
	ck_assert_int_eq(limits_admit(&global, &kept, &config), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_login(&global, &kept, "alice", &config), MESSAGE_LOGIN_OK);
	/* 300 addresses: more than the buckets, so chains are walked too. */
	for (i = 0; i < 300; i++) {
		struct message_address address = address_of((unsigned char)(i % 200));

		address.bytes[2] = (unsigned char)(i / 200);
		ck_assert_int_eq(limits_admit(&global, &address, &config), MESSAGE_ADMIT_OK);
		limits_add(&worker, &address, 0, NULL);
		if (i % 3 == 0) {
			ck_assert_int_eq(limits_login(&global, &address, "alice", &config),
			    MESSAGE_LOGIN_OK);
			ck_assert_int_eq(limits_login(&worker, &address, "alice", &config),
			    MESSAGE_LOGIN_OK);
		}
	}
	ck_assert_uint_eq(limits_sessions_of(&global, "alice"), 101);
	limits_subtract(&global, &worker);
	ck_assert_uint_eq(global.total, 1);
	ck_assert_uint_eq(limits_sessions_of(&global, "alice"), 1);
	ck_assert_uint_eq(limits_sessions_from(&global, &kept), 1);
	ck_assert_uint_eq(limits_not_logged_in_from(&global, &kept), 0);
	limits_clear(&worker);
	limits_clear(&global);
}
END_TEST

Suite *
limits_suite(void)
{
	Suite *suite = suite_create("limits");
	TCase *tcase = tcase_create("counts");

	tcase_add_test(tcase, test_total_limit);
	tcase_add_test(tcase, test_per_address_limit);
	tcase_add_test(tcase, test_prelogin_limit_counts_only_sessions_not_logged_in);
	tcase_add_test(tcase, test_per_user_limit);
	tcase_add_test(tcase, test_removal_of_what_was_never_counted);
	tcase_add_test(tcase, test_subtract_gives_back_a_worker);
	suite_add_tcase(suite, tcase);
	return suite;
}
