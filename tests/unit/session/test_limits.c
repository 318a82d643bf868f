/*
 * test_limits: the session/limits part: a user's limits from the config,
 * anonymous_max_rate_down for guests only, no quota for guests, and the
 * user store's values over the config's where it sets them.
 */
#include <check.h>
#include <stdint.h>

#include "config/config.h"
#include "portal/checkers/checkers.h"
#include "session/limits.h"
#include "suites.h"

static struct config config;

static void
set(const char *assignment)
{
	char error[CONFIG_ERROR_SIZE];

	ck_assert_msg(config_apply_override(&config, assignment, error) == 0, "%s", error);
}

static void
setup(void)
{
	ck_assert_int_eq(config_init(&config), 0);
}

static void
teardown(void)
{
	config_free(&config);
}

START_TEST(test_defaults_limit_nothing)
{
	struct session_limits limits;

	session_limits_from_config(&limits, &config, 0, NULL);
	ck_assert_uint_eq(limits.max_rate_down, 0);
	ck_assert_uint_eq(limits.max_rate_up, 0);
	session_limits_from_config(&limits, &config, 1, NULL);
	ck_assert_uint_eq(limits.max_rate_down, 0);
}
END_TEST

START_TEST(test_rates_apply_to_everyone)
{
	struct session_limits limits;

	set("max_rate_down=1M");
	set("max_rate_up=512K");
	session_limits_from_config(&limits, &config, 0, NULL);
	ck_assert_uint_eq(limits.max_rate_down, 1048576);
	ck_assert_uint_eq(limits.max_rate_up, 524288);
	session_limits_from_config(&limits, &config, 1, NULL);
	ck_assert_uint_eq(limits.max_rate_down, 1048576);
}
END_TEST

START_TEST(test_anonymous_rate_overrides_for_guests_only)
{
	struct session_limits limits;

	set("max_rate_down=1M");
	set("anonymous_max_rate_down=64K");
	session_limits_from_config(&limits, &config, 1, NULL);
	ck_assert_uint_eq(limits.max_rate_down, 65536);
	session_limits_from_config(&limits, &config, 0, NULL);
	ck_assert_uint_eq(limits.max_rate_down, 1048576);
	/* 0 is a value of its own: guests unlimited while users are not. */
	set("anonymous_max_rate_down=0");
	session_limits_from_config(&limits, &config, 1, NULL);
	ck_assert_uint_eq(limits.max_rate_down, 0);
}
END_TEST

START_TEST(test_quotas_for_users_only)
{
	struct session_limits limits;

	set("quota_bytes=2G");
	set("quota_files=500");
	session_limits_from_config(&limits, &config, 0, NULL);
	ck_assert_uint_eq(limits.quota_bytes, (uint64_t)2 << 30);
	ck_assert_uint_eq(limits.quota_files, 500);
	/* Guests cannot write: nothing to count for them. */
	session_limits_from_config(&limits, &config, 1, NULL);
	ck_assert_uint_eq(limits.quota_bytes, 0);
	ck_assert_uint_eq(limits.quota_files, 0);
}
END_TEST

START_TEST(test_user_store_values_replace_the_config_where_set)
{
	struct session_limits limits;
	struct user_settings settings;

	set("quota_bytes=2G");
	set("quota_files=500");
	set("max_rate_down=1M");
	set("max_rate_up=512K");
	user_settings_init(&settings);
	session_limits_from_config(&limits, &config, 0, &settings);
	ck_assert_uint_eq(limits.quota_bytes, (uint64_t)2 << 30);
	ck_assert_uint_eq(limits.max_rate_up, 524288);

	settings.quota_bytes = 4096;
	settings.max_rate_down = 0;	/* this user downloads unlimited */
	session_limits_from_config(&limits, &config, 0, &settings);
	ck_assert_uint_eq(limits.quota_bytes, 4096);
	ck_assert_uint_eq(limits.quota_files, 500);
	ck_assert_uint_eq(limits.max_rate_down, 0);
	ck_assert_uint_eq(limits.max_rate_up, 524288);

	/* A guest's limits never come from a user store. */
	session_limits_from_config(&limits, &config, 1, &settings);
	ck_assert_uint_eq(limits.quota_bytes, 0);
	ck_assert_uint_eq(limits.max_rate_down, 1048576);
}
END_TEST

Suite *
session_limits_suite(void)
{
	Suite *suite = suite_create("session_limits");
	TCase *tcase = tcase_create("from_config");

	tcase_add_checked_fixture(tcase, setup, teardown);
	tcase_add_test(tcase, test_defaults_limit_nothing);
	tcase_add_test(tcase, test_rates_apply_to_everyone);
	tcase_add_test(tcase, test_anonymous_rate_overrides_for_guests_only);
	tcase_add_test(tcase, test_quotas_for_users_only);
	tcase_add_test(tcase, test_user_store_values_replace_the_config_where_set);
	suite_add_tcase(suite, tcase);
	return suite;
}
