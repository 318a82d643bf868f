/*
 * test_header: the PROXY protocol parser, v1 and v2, every malformed case of
 * HAProxy's specification, every prefix of a valid header, and what follows
 * a header left alone.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "suites.h"
#include "proxy/crc32c.h"
#include "proxy/header.h"

static const unsigned char v2_signature[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

static int
parse_text(const char *text, struct proxy_header *header, const char **why)
{
	return proxy_header_parse((const unsigned char *)text, strlen(text), header, why);
}

static void
address_text(const struct sockaddr_storage *address, char *text, size_t size, unsigned *port)
{
	if (address->ss_family == AF_INET) {
		const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)address;

		inet_ntop(AF_INET, &ipv4->sin_addr, text, (socklen_t)size);
		*port = ntohs(ipv4->sin_port);
	} else {
		const struct sockaddr_in6 *ipv6 = (const struct sockaddr_in6 *)address;

		ck_assert_int_eq(address->ss_family, AF_INET6);
		inet_ntop(AF_INET6, &ipv6->sin6_addr, text, (socklen_t)size);
		*port = ntohs(ipv6->sin6_port);
	}
}

static void
assert_addresses(const struct proxy_header *header, const char *source, unsigned source_port,
    const char *destination, unsigned destination_port)
{
	char text[INET6_ADDRSTRLEN];
	unsigned port;

	address_text(&header->source, text, sizeof(text), &port);
	ck_assert_str_eq(text, source);
	ck_assert_uint_eq(port, source_port);
	address_text(&header->destination, text, sizeof(text), &port);
	ck_assert_str_eq(text, destination);
	ck_assert_uint_eq(port, destination_port);
}

/* A v2 header: command, family byte, address block and TLVs. Its length. */
static size_t
make_v2(unsigned char *out, unsigned command, unsigned family, const void *block,
    size_t block_length, const void *tlvs, size_t tlv_length)
{
	size_t length = block_length + tlv_length;

	memcpy(out, v2_signature, 12);
	out[12] = (unsigned char)(0x20 | command);
	out[13] = (unsigned char)family;
	out[14] = (unsigned char)(length >> 8);
	out[15] = (unsigned char)length;
	if (block_length > 0)
		memcpy(out + 16, block, block_length);
	if (tlv_length > 0)
		memcpy(out + 16 + block_length, tlvs, tlv_length);
	return 16 + length;
}

static const unsigned char inet_block[12] = {
	198, 51, 100, 7,  10, 0, 0, 1,  0x9c, 0x40,  0x00, 0x15	/* :40000 -> :21 */
};

START_TEST(v1_tcp4)
{
	struct proxy_header header;
	const char *why;
	const char *text = "PROXY TCP4 198.51.100.7 10.0.0.1 40000 21\r\nUSER x\r\n";

	ck_assert_int_eq(parse_text(text, &header, &why), PROXY_DONE);
	ck_assert_int_eq(header.version, 1);
	ck_assert_int_eq(header.command, PROXY_COMMAND_PROXY);
	ck_assert_uint_eq(header.length, strlen(text) - strlen("USER x\r\n"));
	ck_assert_uint_eq(header.address_length, sizeof(struct sockaddr_in));
	assert_addresses(&header, "198.51.100.7", 40000, "10.0.0.1", 21);
}
END_TEST

START_TEST(v1_tcp6)
{
	struct proxy_header header;
	const char *why;

	ck_assert_int_eq(parse_text("PROXY TCP6 2001:db8::7 ::1 0 65535\r\n", &header, &why),
	    PROXY_DONE);
	ck_assert_uint_eq(header.address_length, sizeof(struct sockaddr_in6));
	assert_addresses(&header, "2001:db8::7", 0, "::1", 65535);
}
END_TEST

START_TEST(v1_unknown)
{
	struct proxy_header header;
	const char *why;

	ck_assert_int_eq(parse_text("PROXY UNKNOWN\r\n", &header, &why), PROXY_DONE);
	ck_assert_int_eq(header.command, PROXY_COMMAND_LOCAL);
	ck_assert_uint_eq(header.address_length, 0);
	ck_assert_uint_eq(header.length, 15);
	ck_assert_int_eq(parse_text("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
	    &header, &why), PROXY_DONE);
	ck_assert_uint_eq(header.address_length, 0);
}
END_TEST

/* The longest v1 header the specification shows is exactly 107 bytes. */
START_TEST(v1_longest)
{
	struct proxy_header header;
	const char *why;
	const char *longest = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	char too_long[200];

	ck_assert_uint_eq(strlen(longest), 104);
	ck_assert_int_eq(parse_text(longest, &header, &why), PROXY_DONE);
	memset(too_long, 0, sizeof(too_long));
	memcpy(too_long, "PROXY UNKNOWN ", 14);
	memset(too_long + 14, 'a', 120);
	ck_assert_int_eq(parse_text(too_long, &header, &why), -EPROTO);
	ck_assert_str_eq(why, "v1 header longer than 107 bytes");
	/* 105 bytes of line and its CRLF: 107, the most allowed. */
	memset(too_long + 14, 'a', 91);
	strcpy(too_long + 105, "\r\n");
	ck_assert_int_eq(parse_text(too_long, &header, &why), PROXY_DONE);
	ck_assert_uint_eq(header.length, 107);
	memset(too_long + 14, 'a', 92);
	strcpy(too_long + 106, "\r\n");
	ck_assert_int_lt(parse_text(too_long, &header, &why), 0);
}
END_TEST

START_TEST(v1_malformed)
{
	static const char *const cases[] = {
		"PROXY TCP4 198.51.100.7 10.0.0.1 40000 21\n",		/* bare LF */
		"PROXY TCP4 198.51.100.7 10.0.0.1 40000 21\rX",		/* CR without LF */
		"PROXY  TCP4 198.51.100.7 10.0.0.1 40000 21\r\n",	/* two spaces */
		"PROXY TCP4 198.51.100.7  10.0.0.1 40000 21\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.1 40000 21 \r\n",	/* trailing space */
		"PROXY TCP4 198.51.100.7 10.0.0.1 40000\r\n",		/* a field short */
		"PROXY TCP4 198.51.100.7 10.0.0.1 40000 21 9\r\n",	/* a field more */
		"PROXY TCP4 198.51.100.7 10.0.0.1 040000 21\r\n",	/* leading zero */
		"PROXY TCP4 198.51.100.7 10.0.0.1 00 21\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.1 65536 21\r\n",	/* out of range */
		"PROXY TCP4 198.51.100.7 10.0.0.1 99999999999 21\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.1 +4000 21\r\n",	/* sign */
		"PROXY TCP4 198.51.100.7 10.0.0.1 -1 21\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.1 4a 21\r\n",
		"PROXY TCP4 2001:db8::1 10.0.0.1 40000 21\r\n",		/* IPv6 in TCP4 */
		"PROXY TCP6 198.51.100.7 ::1 40000 21\r\n",		/* IPv4 in TCP6 */
		"PROXY TCP4 198.51.100.256 10.0.0.1 40000 21\r\n",
		"PROXY TCP4 127.1 10.0.0.1 40000 21\r\n",		/* not dotted quad */
		"PROXY TCP5 198.51.100.7 10.0.0.1 40000 21\r\n",	/* protocol */
		"PROXY tcp4 198.51.100.7 10.0.0.1 40000 21\r\n",
		"PROXY UDP4 198.51.100.7 10.0.0.1 40000 21\r\n",
		"PROXY \r\n",
		"PROXY TCP4\r\n",
		"PROXY TCP4 198.51.100.7\t10.0.0.1 40000 21\r\n",	/* tab */
		"proxy TCP4 198.51.100.7 10.0.0.1 40000 21\r\n",	/* signature case */
		"PROXYTCP4 198.51.100.7 10.0.0.1 40000 21\r\n",
		"USER anonymous\r\n",					/* no header at all */
		"\x16\x03\x01\x02\x00",					/* a TLS ClientHello */
	};
	struct proxy_header header;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		ck_assert_msg(parse_text(cases[i], &header, &why) == -EPROTO, "case %zu: %s", i,
		    cases[i]);
		ck_assert_msg(why != NULL && why[0] != '\0', "case %zu has a reason", i);
	}
}
END_TEST

/* Every proper prefix of a valid header asks for more, never decides too early. */
START_TEST(every_prefix_needs_more)
{
	unsigned char v2[256];
	const char *v1 = "PROXY TCP4 198.51.100.7 10.0.0.1 40000 21\r\n";
	struct proxy_header header;
	const char *why;
	size_t i, length;
	unsigned char tlv[] = { 0x05, 0x00, 0x03, 'a', 'b', 'c' };

	for (i = 0; i < strlen(v1); i++)
		ck_assert_msg(proxy_header_parse((const unsigned char *)v1, i, &header, &why) ==
		    PROXY_NEED_MORE, "v1 prefix of %zu", i);
	length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), tlv, sizeof(tlv));
	for (i = 0; i < length; i++)
		ck_assert_msg(proxy_header_parse(v2, i, &header, &why) == PROXY_NEED_MORE,
		    "v2 prefix of %zu", i);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), PROXY_DONE);
	ck_assert_uint_eq(header.length, length);
}
END_TEST

START_TEST(v2_inet_and_trailing_bytes)
{
	unsigned char v2[256];
	struct proxy_header header;
	const char *why;
	size_t length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), NULL, 0);

	memcpy(v2 + length, "\x16\x03\x01", 3);		/* a ClientHello right behind */
	ck_assert_int_eq(proxy_header_parse(v2, length + 3, &header, &why), PROXY_DONE);
	ck_assert_int_eq(header.version, 2);
	ck_assert_int_eq(header.command, PROXY_COMMAND_PROXY);
	ck_assert_uint_eq(header.length, 28);
	ck_assert_uint_eq(header.address_length, sizeof(struct sockaddr_in));
	assert_addresses(&header, "198.51.100.7", 40000, "10.0.0.1", 21);
}
END_TEST

START_TEST(v2_inet6)
{
	unsigned char v2[256], block[36];
	struct proxy_header header;
	const char *why;
	size_t length;

	memset(block, 0, sizeof(block));
	inet_pton(AF_INET6, "2001:db8::7", block);
	inet_pton(AF_INET6, "fd00::1", block + 16);
	block[32] = 0x01;	/* port 256 */
	block[35] = 21;
	length = make_v2(v2, 1, 0x21, block, sizeof(block), NULL, 0);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), PROXY_DONE);
	ck_assert_uint_eq(header.address_length, sizeof(struct sockaddr_in6));
	assert_addresses(&header, "2001:db8::7", 256, "fd00::1", 21);
}
END_TEST

START_TEST(v2_local_and_unspec)
{
	unsigned char v2[256];
	struct proxy_header header;
	const char *why;
	size_t length;

	/* LOCAL: whatever follows in its block is skipped, addresses are not used. */
	length = make_v2(v2, 0, 0x11, inet_block, sizeof(inet_block), NULL, 0);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), PROXY_DONE);
	ck_assert_int_eq(header.command, PROXY_COMMAND_LOCAL);
	ck_assert_uint_eq(header.address_length, 0);
	length = make_v2(v2, 0, 0x00, NULL, 0, NULL, 0);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), PROXY_DONE);
	ck_assert_uint_eq(header.length, 16);
	/* PROXY over AF_UNSPEC: no addresses either. */
	length = make_v2(v2, 1, 0x00, NULL, 0, NULL, 0);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), PROXY_DONE);
	ck_assert_uint_eq(header.address_length, 0);
}
END_TEST

START_TEST(v2_unsupported)
{
	unsigned char v2[512], block[216];
	struct proxy_header header;
	const char *why;
	size_t length;

	memset(block, 0, sizeof(block));
	length = make_v2(v2, 1, 0x31, block, sizeof(block), NULL, 0);	/* AF_UNIX stream */
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -ENOTSUP);
	length = make_v2(v2, 1, 0x12, inet_block, sizeof(inet_block), NULL, 0);	/* UDP */
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -ENOTSUP);
}
END_TEST

START_TEST(v2_malformed)
{
	unsigned char v2[2048], long_tlv[1100];
	struct proxy_header header;
	const char *why;
	size_t length;
	unsigned char overrun[] = { 0x05, 0x00, 0x09, 'a' };
	unsigned char cut[] = { 0x05, 0x00 };
	unsigned char short_ssl[] = { 0x20, 0x00, 0x01, 0x01 };

	length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), NULL, 0);
	v2[12] = 0x11;						/* version 1 in binary */
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	ck_assert_str_eq(why, "v2 bad version");
	v2[12] = 0x22;						/* command 2 */
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	v2[12] = 0x21;
	v2[13] = 0x41;						/* family 4 */
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	v2[13] = 0x13;						/* transport 3 */
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	/* A length too short for the family's addresses. */
	length = make_v2(v2, 1, 0x11, inet_block, 8, NULL, 0);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	length = make_v2(v2, 1, 0x21, inet_block, sizeof(inet_block), NULL, 0);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	/* TLVs that overrun or are cut short. */
	length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), overrun, sizeof(overrun));
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	ck_assert_str_eq(why, "v2 TLV longer than the header");
	length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), cut, sizeof(cut));
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), short_ssl,
	    sizeof(short_ssl));
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	/* Longer than ftpd takes, decided from the fixed part alone. */
	memset(long_tlv, 0, sizeof(long_tlv));
	long_tlv[0] = 0x04;	/* NOOP */
	long_tlv[1] = (sizeof(long_tlv) - 3) >> 8;
	long_tlv[2] = (sizeof(long_tlv) - 3) & 0xff;
	length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), long_tlv, sizeof(long_tlv));
	ck_assert_int_eq(proxy_header_parse(v2, 16, &header, &why), -EPROTO);
	ck_assert_str_eq(why, "v2 header longer than 1024 bytes");
	/* A signature that goes wrong in its middle. */
	length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), NULL, 0);
	v2[6] = 'X';
	ck_assert_int_eq(proxy_header_parse(v2, 7, &header, &why), -EPROTO);
}
END_TEST

static size_t
v2_with_crc(unsigned char *v2, int corrupt)
{
	unsigned char tlvs[] = { 0x03, 0x00, 0x04, 0, 0, 0, 0, 0x20, 0x00, 0x05, 0x01, 0, 0, 0, 0 };
	size_t length = make_v2(v2, 1, 0x11, inet_block, sizeof(inet_block), tlvs, sizeof(tlvs));
	uint32_t crc = crc32c(0, v2, length);

	v2[28 + 3] = (unsigned char)(crc >> 24);
	v2[28 + 4] = (unsigned char)(crc >> 16);
	v2[28 + 5] = (unsigned char)(crc >> 8);
	v2[28 + 6] = (unsigned char)(crc ^ (corrupt ? 1u : 0u));
	return length;
}

START_TEST(v2_crc32c_and_ssl)
{
	unsigned char v2[256];
	struct proxy_header header;
	const char *why;
	size_t length;

	length = v2_with_crc(v2, 0);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), PROXY_DONE);
	ck_assert_int_eq(header.ssl_client, 1);
	assert_addresses(&header, "198.51.100.7", 40000, "10.0.0.1", 21);
	length = v2_with_crc(v2, 1);
	ck_assert_int_eq(proxy_header_parse(v2, length, &header, &why), -EPROTO);
	ck_assert_str_eq(why, "v2 CRC32C does not match");
	ck_assert_uint_eq(header.address_length, 0);
}
END_TEST

START_TEST(crc32c_check_value)
{
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(0, "", 0), 0);
	/* Carried on in pieces, the same. */
	ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}
END_TEST

Suite *
proxy_header_suite(void)
{
	Suite *suite = suite_create("proxy_header");
	TCase *v1 = tcase_create("v1"), *v2 = tcase_create("v2");

	tcase_add_test(v1, v1_tcp4);
	tcase_add_test(v1, v1_tcp6);
	tcase_add_test(v1, v1_unknown);
	tcase_add_test(v1, v1_longest);
	tcase_add_test(v1, v1_malformed);
	tcase_add_test(v1, every_prefix_needs_more);
	tcase_add_test(v2, v2_inet_and_trailing_bytes);
	tcase_add_test(v2, v2_inet6);
	tcase_add_test(v2, v2_local_and_unspec);
	tcase_add_test(v2, v2_unsupported);
	tcase_add_test(v2, v2_malformed);
	tcase_add_test(v2, v2_crc32c_and_ssl);
	tcase_add_test(v2, crc32c_check_value);
	suite_add_tcase(suite, v1);
	suite_add_tcase(suite, v2);
	return suite;
}
