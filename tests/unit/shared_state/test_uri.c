/*
 * test_uri: shared_state's redis:// URI, and the key text of an address.
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "suites.h"
#include "monitor/message.h"
#include "shared_state/shared_state.h"
#include "shared_state/uri.h"

static struct shared_state_uri
parsed(const char *text)
{
	struct shared_state_uri uri;
	char error[160];

	ck_assert_msg(shared_state_uri_parse(text, &uri, error, sizeof(error)) == 0,
	    "%s: %s", text, error);
	return uri;
}

START_TEST(forms_parse)
{
	struct shared_state_uri uri;

	uri = parsed("redis://127.0.0.1");
	ck_assert_str_eq(uri.host, "127.0.0.1");
	ck_assert_uint_eq(uri.port, 6379);
	ck_assert_str_eq(uri.password, "");
	ck_assert_uint_eq(uri.database, 0);

	uri = parsed("redis://cache.example.org:6380/2");
	ck_assert_str_eq(uri.host, "cache.example.org");
	ck_assert_uint_eq(uri.port, 6380);
	ck_assert_uint_eq(uri.database, 2);

	uri = parsed("redis://:s%40cret@[::1]:7000/");
	ck_assert_str_eq(uri.host, "::1");
	ck_assert_uint_eq(uri.port, 7000);
	ck_assert_str_eq(uri.user, "");
	ck_assert_str_eq(uri.password, "s@cret");

	uri = parsed("redis://ftpd:p%3Aw@10.0.0.5/15");
	ck_assert_str_eq(uri.user, "ftpd");
	ck_assert_str_eq(uri.password, "p:w");
	ck_assert_str_eq(uri.host, "10.0.0.5");
	ck_assert_uint_eq(uri.database, 15);
}
END_TEST

START_TEST(malformed_refused_without_the_password)
{
	static const char *const bad[] = {
		"", "redis:/x", "http://127.0.0.1", "redis://", "redis://:6379",
		"redis://host:0", "redis://host:65536", "redis://host:63a",
		"redis://host/db", "redis://host?timeout=1", "redis://host#x",
		"redis://[::1", "redis://[::1]x", "redis://user@host",
		"redis://:@host", "redis://:pw%zz@host", "redis://:pw%00@host",
		"redis://ho st", "redis://host/1/2",
	};
	struct shared_state_uri uri;
	char error[160];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(shared_state_uri_parse(bad[i], &uri, error, sizeof(error)) == -EINVAL,
		    "accepted %s", bad[i]);
		ck_assert_msg(!shared_state_uri_valid(bad[i]), "valid: %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(error, "redis://"));
	}
	ck_assert_int_eq(shared_state_uri_parse("redis://:hunter2@host:0", &uri, error,
	    sizeof(error)), -EINVAL);
	ck_assert_ptr_null(strstr(error, "hunter2"));
}
END_TEST

START_TEST(bounded)
{
	char text[600], error[160];
	struct shared_state_uri uri;

	memset(text, 'a', sizeof(text));
	memcpy(text, "redis://", 8);
	text[sizeof(text) - 1] = '\0';
	ck_assert_int_eq(shared_state_uri_parse(text, &uri, error, sizeof(error)), -EINVAL);
	memcpy(text, "redis://:", 9);
	text[300] = '@';
	strcpy(text + 301, "host");
	ck_assert_int_eq(shared_state_uri_parse(text, &uri, error, sizeof(error)), -EINVAL);
}
END_TEST

START_TEST(resolves_numeric_hosts)
{
	struct shared_state_uri uri = parsed("redis://[::1]");
	char error[160];

	ck_assert_int_eq(shared_state_uri_resolve(&uri, error, sizeof(error)), 0);
	ck_assert_str_eq(uri.address, "::1");
	uri = parsed("redis://127.0.0.1:1");
	ck_assert_int_eq(shared_state_uri_resolve(&uri, error, sizeof(error)), 0);
	ck_assert_str_eq(uri.address, "127.0.0.1");
}
END_TEST

START_TEST(address_keys)
{
	struct message_address address;
	char text[64];

	address.length = 4;
	inet_pton(AF_INET, "192.0.2.7", address.bytes);
	shared_state_address_key(&address, 1, text, sizeof(text));
	ck_assert_str_eq(text, "192.0.2.7");
	address.length = 16;
	inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", address.bytes);
	shared_state_address_key(&address, 0, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8:1:2:3:4:5:6");
	/* Bans and failures count a whole /64, as the local table does. */
	shared_state_address_key(&address, 1, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8:1:2::/64");
}
END_TEST

Suite *
shared_state_uri_suite(void)
{
	Suite *suite = suite_create("shared_state_uri");
	TCase *cases = tcase_create("uri");

	tcase_add_test(cases, forms_parse);
	tcase_add_test(cases, malformed_refused_without_the_password);
	tcase_add_test(cases, bounded);
	tcase_add_test(cases, resolves_numeric_hosts);
	tcase_add_test(cases, address_keys);
	suite_add_tcase(suite, cases);
	return suite;
}
