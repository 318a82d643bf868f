/*
 * test_data_address: the data_address part: PORT/EPRT parsing, PASV
 * formatting, EPSV and REST arguments, and the peer comparisons.
 */
#include <arpa/inet.h>
#include <check.h>

#include "suites.h"
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "dtp/data_address.h"


/* An AF_INET or AF_INET6 address from its text (whichever parses) and a port. */
static socklen_t
make_address(const char *text, unsigned port, struct sockaddr_storage *out)
{
	struct sockaddr_in *ipv4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &ipv4->sin_addr) == 1) {
		ipv4->sin_family = AF_INET;
		ipv4->sin_port = htons((uint16_t)port);
		return sizeof(*ipv4);
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, &ipv6->sin6_addr), 1);
	ipv6->sin6_family = AF_INET6;
	ipv6->sin6_port = htons((uint16_t)port);
	return sizeof(*ipv6);
}

/* The text of a parsed address, to compare with what a case expects. */
static void
address_text(const struct sockaddr_storage *address, char *out, size_t size)
{
	const void *bytes = address->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)address)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)address)->sin6_addr;

	ck_assert_ptr_nonnull(inet_ntop(address->ss_family, bytes, out, (socklen_t)size));
}

struct parse_case {
	const char *argument;
	int error;
	int family;		/* expected when error is 0 */
	const char *address;
	unsigned port;
};

static void
assert_parsed(const struct parse_case *c, int error, const struct sockaddr_storage *out,
    socklen_t length)
{
	char text[INET6_ADDRSTRLEN];

	ck_assert_msg(error == c->error, "'%s': %d, expected %d", c->argument, error, c->error);
	if (c->error != 0)
		return;
	ck_assert_int_eq(out->ss_family, c->family);
	ck_assert_uint_eq(length, (c->family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)));
	address_text(out, text, sizeof(text));
	ck_assert_str_eq(text, c->address);
	ck_assert_uint_eq(data_address_port((const struct sockaddr *)out), c->port);
}

/* --- PORT --------------------------------------------------------------- */

static const struct parse_case port_cases[] = {
	{ "127,0,0,1,4,1", 0, AF_INET, "127.0.0.1", 1025 },
	{ "192,168,1,2,0,21", 0, AF_INET, "192.168.1.2", 21 },
	{ "255,255,255,255,255,255", 0, AF_INET, "255.255.255.255", 65535 },
	{ "0,0,0,0,0,0", 0, AF_INET, "0.0.0.0", 0 },
	/* port 0 parses: refusing it (and privileged ports) is the caller's job */
	{ "10,0,0,1,0,0", 0, AF_INET, "10.0.0.1", 0 },
	{ "10, 0 ,0 , 1,  0,21", 0, AF_INET, "10.0.0.1", 21 },
	{ "001,002,003,004,000,255", 0, AF_INET, "1.2.3.4", 255 },
	{ "1,2,3,4,5,6,7", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,5", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,256,0,21", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,0,256", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,1000,1", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,5,99999999999999999999999", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,-1,21", -EINVAL, 0, NULL, 0 },
	{ "-1,2,3,4,5,6", -EINVAL, 0, NULL, 0 },
	{ "+1,2,3,4,5,6", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,5,x", -EINVAL, 0, NULL, 0 },
	{ "1,,3,4,5,6", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,5,", -EINVAL, 0, NULL, 0 },
	{ ",1,2,3,4,5", -EINVAL, 0, NULL, 0 },
	{ ",,,,,", -EINVAL, 0, NULL, 0 },
	{ "", -EINVAL, 0, NULL, 0 },
	{ "x1,2,3,4,5,6", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,5,6x", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,5,6,", -EINVAL, 0, NULL, 0 },
	{ " 1,2,3,4,5,6", -EINVAL, 0, NULL, 0 },
	{ "1,2,3,4,5,6 ", -EINVAL, 0, NULL, 0 },
	{ "1.2.3.4,5,6", -EINVAL, 0, NULL, 0 },
	{ "1;2;3;4;5;6", -EINVAL, 0, NULL, 0 },
	{ "0x1,2,3,4,5,6", -EINVAL, 0, NULL, 0 },
};

START_TEST(test_parse_port)
{
	const struct parse_case *c = &port_cases[_i];
	struct sockaddr_storage out;
	socklen_t length = 0;
	int error = data_address_parse_port(c->argument, &out, &length);

	assert_parsed(c, error, &out, length);
}
END_TEST

/* --- EPRT --------------------------------------------------------------- */

static const struct parse_case eprt_cases[] = {
	{ "|1|127.0.0.1|2121|", 0, AF_INET, "127.0.0.1", 2121 },
	{ "|2|::1|2121|", 0, AF_INET6, "::1", 2121 },
	{ "|1|132.235.1.2|6275|", 0, AF_INET, "132.235.1.2", 6275 },
	{ "|2|1080::8:800:200C:417A|5282|", 0, AF_INET6, "1080::8:800:200c:417a", 5282 },
	{ "|2|2001:db8::7|65535|", 0, AF_INET6, "2001:db8::7", 65535 },
	{ "|1|1.2.3.4|1|", 0, AF_INET, "1.2.3.4", 1 },
	{ "|1|1.2.3.4|00021|", 0, AF_INET, "1.2.3.4", 21 },
	/* any printable delimiter */
	{ "!1!1.2.3.4!21!", 0, AF_INET, "1.2.3.4", 21 },
	{ "#2#fe80::1#1024#", 0, AF_INET6, "fe80::1", 1024 },
	{ "~1~10.0.0.1~4000~", 0, AF_INET, "10.0.0.1", 4000 },
	/* IPv4-mapped comes back as the IPv4 address it is */
	{ "|2|::ffff:127.0.0.1|2121|", 0, AF_INET, "127.0.0.1", 2121 },
	{ "|2|::FFFF:192.168.0.9|50000|", 0, AF_INET, "192.168.0.9", 50000 },
	/* unknown network protocols: 522 */
	{ "|3|1.2.3.4|21|", -EAFNOSUPPORT, 0, NULL, 0 },
	{ "|0|1.2.3.4|21|", -EAFNOSUPPORT, 0, NULL, 0 },
	{ "|99999999999999999999|1.2.3.4|21|", -EAFNOSUPPORT, 0, NULL, 0 },
	/* address not of the family named */
	{ "|1|::1|21|", -EINVAL, 0, NULL, 0 },
	{ "|2|127.0.0.1|21|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3|21|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.256|21|", -EINVAL, 0, NULL, 0 },
	{ "|1| 1.2.3.4|21|", -EINVAL, 0, NULL, 0 },
	{ "|1|localhost|21|", -EINVAL, 0, NULL, 0 },
	{ "|2|fe80::1%eth0|21|", -EINVAL, 0, NULL, 0 },
	{ "|2|0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000|21|",
	  -EINVAL, 0, NULL, 0 },
	{ "|1||21|", -EINVAL, 0, NULL, 0 },
	/* bad ports */
	{ "|1|1.2.3.4|0|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|65536|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|99999999999999999999|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|http|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|21x|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|-21|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|+21|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4||", -EINVAL, 0, NULL, 0 },
	/* the shape */
	{ "", -EINVAL, 0, NULL, 0 },
	{ "|", -EINVAL, 0, NULL, 0 },
	{ "||||", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|21", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4", -EINVAL, 0, NULL, 0 },
	{ "1|1.2.3.4|21|", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|21||", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4|21| ", -EINVAL, 0, NULL, 0 },
	{ "|1|1.2.3.4!21!", -EINVAL, 0, NULL, 0 },
	{ "||1.2.3.4|21|", -EINVAL, 0, NULL, 0 },
	{ "|x|1.2.3.4|21|", -EINVAL, 0, NULL, 0 },
	{ "|1x|1.2.3.4|21|", -EINVAL, 0, NULL, 0 },
	{ " 1 1.2.3.4 21 ", -EINVAL, 0, NULL, 0 },
	{ "\x7f" "1\x7f" "1.2.3.4\x7f" "21\x7f", -EINVAL, 0, NULL, 0 },
};

START_TEST(test_parse_eprt)
{
	const struct parse_case *c = &eprt_cases[_i];
	struct sockaddr_storage out;
	socklen_t length = 0;
	int error = data_address_parse_eprt(c->argument, &out, &length);

	assert_parsed(c, error, &out, length);
}
END_TEST

/* --- PASV --------------------------------------------------------------- */

struct pasv_case {
	const char *address;
	unsigned port;
	int error;
	const char *expected;
};

static const struct pasv_case pasv_cases[] = {
	{ "127.0.0.1", 2121, 0, "127,0,0,1,8,73" },
	{ "10.0.0.255", 65535, 0, "10,0,0,255,255,255" },
	{ "192.168.1.20", 50000, 0, "192,168,1,20,195,80" },
	{ "0.0.0.0", 0, 0, "0,0,0,0,0,0" },
	{ "::ffff:192.168.1.20", 50000, 0, "192,168,1,20,195,80" },
	{ "::ffff:127.0.0.1", 256, 0, "127,0,0,1,1,0" },
	{ "::1", 2121, -EAFNOSUPPORT, NULL },
	{ "2001:db8::1", 2121, -EAFNOSUPPORT, NULL },
	/* IPv4-compatible (deprecated) is not IPv4-mapped */
	{ "::127.0.0.1", 2121, -EAFNOSUPPORT, NULL },
};

START_TEST(test_format_pasv)
{
	const struct pasv_case *c = &pasv_cases[_i];
	struct sockaddr_storage address;
	char out[64];

	make_address(c->address, c->port, &address);
	ck_assert_int_eq(data_address_format_pasv((const struct sockaddr *)&address, out,
	    sizeof(out)), c->error);
	if (c->error == 0)
		ck_assert_str_eq(out, c->expected);
}
END_TEST

/* The PASV text parses back, as PORT, to the address it came from. */
START_TEST(test_pasv_port_round_trip)
{
	struct sockaddr_storage address, parsed;
	socklen_t length;
	char out[64];
	unsigned port;

	for (port = 0; port <= 65535; port += 257) {
		make_address("172.16.254.3", port, &address);
		ck_assert_int_eq(data_address_format_pasv((const struct sockaddr *)&address,
		    out, sizeof(out)), 0);
		ck_assert_int_eq(data_address_parse_port(out, &parsed, &length), 0);
		ck_assert_uint_eq(data_address_port((const struct sockaddr *)&parsed), port);
		ck_assert(data_address_same_host((const struct sockaddr *)&address,
		    (const struct sockaddr *)&parsed));
	}
}
END_TEST

START_TEST(test_format_pasv_small_buffer)
{
	struct sockaddr_storage address;
	char out[32];
	const char *expected = "255,255,255,255,255,255";
	size_t size;

	make_address("255.255.255.255", 65535, &address);
	for (size = 1; size <= strlen(expected); size++) {
		memset(out, 'X', sizeof(out));
		ck_assert_int_eq(data_address_format_pasv((const struct sockaddr *)&address,
		    out, size), -ENOSPC);
		ck_assert_int_eq(out[size], 'X');
	}
	ck_assert_int_eq(data_address_format_pasv((const struct sockaddr *)&address, out,
	    strlen(expected) + 1), 0);
	ck_assert_str_eq(out, expected);
}
END_TEST

START_TEST(test_format_pasv_other_family)
{
	struct sockaddr_un local;
	char out[64];

	memset(&local, 0, sizeof(local));
	local.sun_family = AF_UNIX;
	ck_assert_int_eq(data_address_format_pasv((const struct sockaddr *)&local, out,
	    sizeof(out)), -EAFNOSUPPORT);
}
END_TEST

/* --- EPSV --------------------------------------------------------------- */

struct epsv_case {
	const char *argument;
	int error;
	enum epsv_request expected;
};

static const struct epsv_case epsv_cases[] = {
	{ "", 0, EPSV_ANY },
	{ "1", 0, EPSV_IPV4 },
	{ "2", 0, EPSV_IPV6 },
	{ "ALL", 0, EPSV_ALL },
	{ "all", 0, EPSV_ALL },
	{ "All", 0, EPSV_ALL },
	{ "3", -EAFNOSUPPORT, 0 },
	{ "0", -EAFNOSUPPORT, 0 },
	{ "99999999999999999999", -EAFNOSUPPORT, 0 },
	{ "x", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "ALLX", -EINVAL, 0 },
	{ "AL", -EINVAL, 0 },
	{ "ALL ", -EINVAL, 0 },
	{ "1,2", -EINVAL, 0 },
};

START_TEST(test_parse_epsv)
{
	const struct epsv_case *c = &epsv_cases[_i];
	enum epsv_request request = EPSV_ANY;
	int error = data_address_parse_epsv(c->argument, &request);

	ck_assert_msg(error == c->error, "'%s': %d, expected %d", c->argument, error, c->error);
	if (c->error == 0)
		ck_assert_int_eq(request, c->expected);
}
END_TEST

START_TEST(test_parse_epsv_no_argument)
{
	enum epsv_request request = EPSV_ALL;

	ck_assert_int_eq(data_address_parse_epsv(NULL, &request), 0);
	ck_assert_int_eq(request, EPSV_ANY);
}
END_TEST

/* --- REST --------------------------------------------------------------- */

struct rest_case {
	const char *argument;
	int error;
	uint64_t expected;
};

static const struct rest_case rest_cases[] = {
	{ "0", 0, 0 },
	{ "1", 0, 1 },
	{ "00012", 0, 12 },
	{ "4294967295", 0, 4294967295ULL },
	{ "4294967296", 0, 4294967296ULL },
	{ "9223372036854775807", 0, 9223372036854775807ULL },
	{ "09223372036854775807", 0, 9223372036854775807ULL },
	{ "9223372036854775808", -EINVAL, 0 },
	{ "18446744073709551615", -EINVAL, 0 },
	{ "18446744073709551616", -EINVAL, 0 },
	{ "99999999999999999999999999", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ "1a", -EINVAL, 0 },
	{ "a1", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1e3", -EINVAL, 0 },
	{ "1.5", -EINVAL, 0 },
};

START_TEST(test_parse_rest)
{
	const struct rest_case *c = &rest_cases[_i];
	uint64_t offset = 12345;
	int error = data_address_parse_rest(c->argument, &offset);

	ck_assert_msg(error == c->error, "'%s': %d, expected %d", c->argument, error, c->error);
	if (c->error == 0)
		ck_assert_msg(offset == c->expected, "'%s': %llu", c->argument,
		    (unsigned long long)offset);
	else
		ck_assert_msg(offset == 12345, "'%s': offset changed on error", c->argument);
}
END_TEST

/* --- same_host and port ---------------------------------------------- */

struct same_host_case {
	const char *a;
	const char *b;
	int expected;
};

static const struct same_host_case same_host_cases[] = {
	{ "127.0.0.1", "127.0.0.1", 1 },
	{ "127.0.0.1", "::ffff:127.0.0.1", 1 },
	{ "::ffff:127.0.0.1", "127.0.0.1", 1 },
	{ "::ffff:10.1.2.3", "::ffff:10.1.2.3", 1 },
	{ "::1", "::1", 1 },
	{ "2001:db8::1", "2001:db8:0::1", 1 },
	{ "127.0.0.1", "127.0.0.2", 0 },
	{ "10.0.0.1", "::ffff:10.0.0.2", 0 },
	{ "::1", "::2", 0 },
	{ "::1", "127.0.0.1", 0 },
	{ "127.0.0.1", "::1", 0 },
	{ "::127.0.0.1", "127.0.0.1", 0 },
	{ "0.0.0.0", "::", 0 },
	{ "2001:db8::1", "2001:db8::1:0", 0 },
};

START_TEST(test_same_host)
{
	const struct same_host_case *c = &same_host_cases[_i];
	struct sockaddr_storage a, b;

	/* Different ports: only the host counts. */
	make_address(c->a, 21, &a);
	make_address(c->b, 50000, &b);
	ck_assert_msg(data_address_same_host((const struct sockaddr *)&a,
	    (const struct sockaddr *)&b) == c->expected, "%s vs %s", c->a, c->b);
}
END_TEST

START_TEST(test_same_host_other_family)
{
	struct sockaddr_un local;
	struct sockaddr_storage ipv4;

	memset(&local, 0, sizeof(local));
	local.sun_family = AF_UNIX;
	make_address("127.0.0.1", 21, &ipv4);
	ck_assert_int_eq(data_address_same_host((const struct sockaddr *)&local,
	    (const struct sockaddr *)&local), 0);
	ck_assert_int_eq(data_address_same_host((const struct sockaddr *)&local,
	    (const struct sockaddr *)&ipv4), 0);
	ck_assert_int_eq(data_address_same_host((const struct sockaddr *)&ipv4,
	    (const struct sockaddr *)&local), 0);
}
END_TEST

START_TEST(test_port)
{
	struct sockaddr_storage address;
	struct sockaddr_un local;

	make_address("127.0.0.1", 2121, &address);
	ck_assert_uint_eq(data_address_port((const struct sockaddr *)&address), 2121);
	make_address("::1", 65535, &address);
	ck_assert_uint_eq(data_address_port((const struct sockaddr *)&address), 65535);
	make_address("::ffff:1.2.3.4", 0, &address);
	ck_assert_uint_eq(data_address_port((const struct sockaddr *)&address), 0);
	make_address("10.0.0.1", 258, &address);
	ck_assert_uint_eq(data_address_port((const struct sockaddr *)&address), 258);
	memset(&local, 0, sizeof(local));
	local.sun_family = AF_UNIX;
	ck_assert_uint_eq(data_address_port((const struct sockaddr *)&local), 0);
}
END_TEST

#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

Suite *
data_address_suite(void)
{
	Suite *suite = suite_create("data_address");
	TCase *tcase;

	tcase = tcase_create("port");
	tcase_add_loop_test(tcase, test_parse_port, 0, COUNT(port_cases));
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("eprt");
	tcase_add_loop_test(tcase, test_parse_eprt, 0, COUNT(eprt_cases));
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("pasv");
	tcase_add_loop_test(tcase, test_format_pasv, 0, COUNT(pasv_cases));
	tcase_add_test(tcase, test_pasv_port_round_trip);
	tcase_add_test(tcase, test_format_pasv_small_buffer);
	tcase_add_test(tcase, test_format_pasv_other_family);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("epsv");
	tcase_add_loop_test(tcase, test_parse_epsv, 0, COUNT(epsv_cases));
	tcase_add_test(tcase, test_parse_epsv_no_argument);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("rest");
	tcase_add_loop_test(tcase, test_parse_rest, 0, COUNT(rest_cases));
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("peer");
	tcase_add_loop_test(tcase, test_same_host, 0, COUNT(same_host_cases));
	tcase_add_test(tcase, test_same_host_other_family);
	tcase_add_test(tcase, test_port);
	suite_add_tcase(suite, tcase);

	return suite;
}
