/*
 * test_trusted: proxy_trusted's networks, parsed and matched.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "proxy/trusted.h"

static int
contains(const struct proxy_trusted *trusted, const char *text)
{
	struct sockaddr_storage address;
	struct sockaddr_in *ipv4 = (struct sockaddr_in *)&address;
	struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)&address;

	memset(&address, 0, sizeof(address));
	if (inet_pton(AF_INET, text, &ipv4->sin_addr) == 1) {
		ipv4->sin_family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &ipv6->sin6_addr), 1);
		ipv6->sin6_family = AF_INET6;
	}
	return proxy_trusted_contains(trusted, (struct sockaddr *)&address);
}

START_TEST(networks_match)
{
	struct proxy_trusted trusted;
	char word[64];

	ck_assert_int_eq(proxy_trusted_parse(" 10.0.0.0/8, 192.168.1.7\tfd00::/8,172.16.0.0/12 ",
	    &trusted, word, sizeof(word)), 0);
	ck_assert_uint_eq(trusted.count, 4);
	ck_assert(contains(&trusted, "10.255.1.2"));
	ck_assert(!contains(&trusted, "11.0.0.1"));
	ck_assert(contains(&trusted, "192.168.1.7"));
	ck_assert(!contains(&trusted, "192.168.1.8"));
	ck_assert(contains(&trusted, "172.31.255.255"));
	ck_assert(!contains(&trusted, "172.32.0.0"));
	ck_assert(contains(&trusted, "fd12::1"));
	ck_assert(!contains(&trusted, "fe80::1"));
	/* An IPv4-mapped address is its IPv4 one (a dual-stack listener). */
	ck_assert(contains(&trusted, "::ffff:10.1.2.3"));
	ck_assert(!contains(&trusted, "::ffff:11.1.2.3"));
}
END_TEST

START_TEST(odd_prefixes)
{
	struct proxy_trusted trusted;
	char word[64];

	ck_assert_int_eq(proxy_trusted_parse("0.0.0.0/0", &trusted, word, sizeof(word)), 0);
	ck_assert(contains(&trusted, "203.0.113.9"));
	ck_assert(!contains(&trusted, "2001:db8::1"));
	ck_assert_int_eq(proxy_trusted_parse("198.51.100.0/25", &trusted, word, sizeof(word)), 0);
	ck_assert(contains(&trusted, "198.51.100.127"));
	ck_assert(!contains(&trusted, "198.51.100.128"));
	ck_assert_int_eq(proxy_trusted_parse("2001:db8::/33", &trusted, word, sizeof(word)), 0);
	ck_assert(contains(&trusted, "2001:db8:7fff::1"));
	ck_assert(!contains(&trusted, "2001:db8:8000::1"));
}
END_TEST

START_TEST(bad_words_named)
{
	static const char *const cases[][2] = {
		{ "10.0.0.1/8", "10.0.0.1/8" },		/* host bits set */
		{ "10.0.0.0/33", "10.0.0.0/33" },
		{ "10.0.0.0/08", "10.0.0.0/08" },
		{ "10.0.0.0/", "10.0.0.0/" },
		{ "10.0.0.0/-1", "10.0.0.0/-1" },
		{ "127.0.0.1 balancer.example", "balancer.example" },
		{ "127.1", "127.1" },
		{ "fd00::/129", "fd00::/129" },
		{ "/8", "/8" },
	};
	struct proxy_trusted trusted;
	char word[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(proxy_trusted_parse(cases[i][0], &trusted, word, sizeof(word)) < 0,
		    "%s", cases[i][0]);
		ck_assert_str_eq(word, cases[i][1]);
	}
	ck_assert_int_eq(proxy_trusted_parse("", &trusted, word, sizeof(word)), 0);
	ck_assert_uint_eq(trusted.count, 0);
}
END_TEST

START_TEST(bounded)
{
	char text[40 * 12 + 1] = "";
	struct proxy_trusted trusted;
	char word[64];
	unsigned i;

	for (i = 0; i < PROXY_TRUSTED_MAX; i++)
		sprintf(text + strlen(text), "10.0.%u.0/24 ", i);
	ck_assert_int_eq(proxy_trusted_parse(text, &trusted, word, sizeof(word)), 0);
	ck_assert_uint_eq(trusted.count, PROXY_TRUSTED_MAX);
	strcat(text, "10.1.0.0/16");
	ck_assert_int_lt(proxy_trusted_parse(text, &trusted, word, sizeof(word)), 0);
}
END_TEST

Suite *
proxy_trusted_suite(void)
{
	Suite *suite = suite_create("proxy_trusted");
	TCase *cases = tcase_create("networks");

	tcase_add_test(cases, networks_match);
	tcase_add_test(cases, odd_prefixes);
	tcase_add_test(cases, bad_words_named);
	tcase_add_test(cases, bounded);
	suite_add_tcase(suite, cases);
	return suite;
}
