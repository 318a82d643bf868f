/*
 * test_limits: the session counts behind max_clients and max_clients_per_ip,
 * as the monitor keeps them across workers.
 */
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

START_TEST(test_total_limit)
{
	struct message_address a = address_of(1), b = address_of(2);
	struct limits limits;

	limits_init(&limits);
	ck_assert_int_eq(limits_admit(&limits, &a, 3, 0), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &b, 3, 0), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &b, 3, 0), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, 3, 0), MESSAGE_ADMIT_TOO_MANY_USERS);
	ck_assert_uint_eq(limits.total, 3);
	limits_remove(&limits, &b);
	ck_assert_int_eq(limits_admit(&limits, &a, 3, 0), MESSAGE_ADMIT_OK);
	limits_clear(&limits);
	ck_assert_uint_eq(limits.total, 0);
}
END_TEST

START_TEST(test_per_address_limit)
{
	struct message_address a = address_of(1), b = address_of(2);
	struct limits limits;

	limits_init(&limits);
	ck_assert_int_eq(limits_admit(&limits, &a, 0, 2), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, 0, 2), MESSAGE_ADMIT_OK);
	ck_assert_int_eq(limits_admit(&limits, &a, 0, 2), MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS);
	/* Another address is not affected. */
	ck_assert_int_eq(limits_admit(&limits, &b, 0, 2), MESSAGE_ADMIT_OK);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 2);
	ck_assert_uint_eq(limits_sessions_from(&limits, &b), 1);
	limits_remove(&limits, &a);
	limits_remove(&limits, &a);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 0);
	ck_assert_int_eq(limits_admit(&limits, &a, 0, 2), MESSAGE_ADMIT_OK);
	limits_clear(&limits);
}
END_TEST

START_TEST(test_unlimited_and_unknown_removal)
{
	struct message_address a = address_of(1), never = address_of(9);
	struct limits limits;
	unsigned i;

	limits_init(&limits);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(limits_admit(&limits, &a, 0, 0), MESSAGE_ADMIT_OK);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 1000);
	/* An address never counted changes nothing of the others. */
	limits_remove(&limits, &never);
	ck_assert_uint_eq(limits_sessions_from(&limits, &a), 1000);
	limits_clear(&limits);
}
END_TEST

static void
sum(void *arg, const struct message_address *address, unsigned sessions)
{
	unsigned *total = arg;

	ck_assert_uint_eq(address->length, 4);
	*total += sessions * address->bytes[3];
}

START_TEST(test_for_each_gives_back_a_worker)
{
	struct limits global, worker;
	unsigned weighted = 0, i;

	limits_init(&global);
	limits_init(&worker);
	/* 300 addresses: more than the buckets, so chains are walked too. */
	for (i = 0; i < 300; i++) {
		struct message_address address = address_of((unsigned char)(i % 200));

		address.bytes[2] = (unsigned char)(i / 200);
		ck_assert_int_eq(limits_admit(&global, &address, 0, 0), MESSAGE_ADMIT_OK);
		limits_add(&worker, &address);
	}
	limits_for_each(&worker, sum, &weighted);
	ck_assert_uint_gt(weighted, 0);
	ck_assert_uint_eq(worker.total, 300);
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
	tcase_add_test(tcase, test_unlimited_and_unknown_removal);
	tcase_add_test(tcase, test_for_each_gives_back_a_worker);
	suite_add_tcase(suite, tcase);
	return suite;
}
