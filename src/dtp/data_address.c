/*
 * data_address: parsing and formatting the addresses of data connections:
 * PORT and PASV (RFC 959), EPRT and EPSV (RFC 2428), and REST offsets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dtp/data_address.h"

/* The longest address text EPRT may carry: an IPv6 address with an IPv4 tail. */
#define EPRT_ADDRESS_MAX INET6_ADDRSTRLEN

static int
is_digit(char character)
{
	return character >= '0' && character <= '9';
}

static const char *
skip_spaces(const char *text)
{
	while (*text == ' ')
		text++;
	return text;
}

/*
 * Reads the decimal number at *text (digits only, no sign) up to maximum
 * and moves *text past it. Leading zeros are harmless; the bound is checked
 * at every digit so that a long run of digits cannot overflow.
 */
static int
parse_bounded_number(const char **text, unsigned long long maximum,
    unsigned long long *value)
{
	const char *cursor = *text;
	unsigned long long result = 0;

	if (!is_digit(*cursor))
		return -EINVAL;
	while (is_digit(*cursor)) {
		unsigned digit = (unsigned)(*cursor - '0');

		if (result > (maximum - digit) / 10)
			return -EINVAL;
		result = result * 10 + digit;
		cursor++;
	}
	*text = cursor;
	*value = result;
	return 0;
}

int
data_address_parse_port(const char *argument, struct sockaddr_storage *out,
    socklen_t *length)
{
	struct sockaddr_in *address = (struct sockaddr_in *)out;
	const char *cursor = argument;
	unsigned long long value;
	unsigned char numbers[6];
	size_t i;

	for (i = 0; i < 6; i++) {
		if (i > 0) {
			cursor = skip_spaces(cursor);
			if (*cursor != ',')
				return -EINVAL;
			cursor = skip_spaces(cursor + 1);
		}
		if (parse_bounded_number(&cursor, 255, &value) < 0)
			return -EINVAL;
		numbers[i] = (unsigned char)value;
	}
	if (*cursor != '\0')
		return -EINVAL;

	/* Port 0 and privileged ports parse; refusing them is the caller's policy. */
	memset(out, 0, sizeof(*out));
	address->sin_family = AF_INET;
	memcpy(&address->sin_addr, numbers, 4);
	address->sin_port = htons((uint16_t)(numbers[4] << 8 | numbers[5]));
	*length = sizeof(*address);
	return 0;
}

/*
 * An IPv4-mapped IPv6 address is an IPv4 peer: it is returned as AF_INET so
 * that the data connection uses a plain IPv4 socket whatever the listener's
 * family, and peer checks compare like with like.
 */
static void
store_ipv6_or_mapped(const struct in6_addr *ipv6, uint16_t port,
    struct sockaddr_storage *out, socklen_t *length)
{
	memset(out, 0, sizeof(*out));
	if (IN6_IS_ADDR_V4MAPPED(ipv6)) {
		struct sockaddr_in *address = (struct sockaddr_in *)out;

		address->sin_family = AF_INET;
		memcpy(&address->sin_addr, &ipv6->s6_addr[12], 4);
		address->sin_port = htons(port);
		*length = sizeof(*address);
	} else {
		struct sockaddr_in6 *address = (struct sockaddr_in6 *)out;

		address->sin6_family = AF_INET6;
		address->sin6_addr = *ipv6;
		address->sin6_port = htons(port);
		*length = sizeof(*address);
	}
}

int
data_address_parse_eprt(const char *argument, struct sockaddr_storage *out,
    socklen_t *length)
{
	char delimiter, address_text[EPRT_ADDRESS_MAX];
	const char *protocol_start, *address_start, *port_start, *end, *cursor;
	unsigned long long protocol, port;
	struct in_addr ipv4;
	struct in6_addr ipv6;
	size_t address_length;

	delimiter = argument[0];
	if (delimiter < 33 || delimiter > 126)
		return -EINVAL;
	protocol_start = argument + 1;
	address_start = strchr(protocol_start, delimiter);
	if (address_start == NULL)
		return -EINVAL;
	address_start++;
	port_start = strchr(address_start, delimiter);
	if (port_start == NULL)
		return -EINVAL;
	port_start++;
	end = strchr(port_start, delimiter);
	if (end == NULL || end[1] != '\0')
		return -EINVAL;

	cursor = protocol_start;
	if (parse_bounded_number(&cursor, 255, &protocol) < 0 ||
	    cursor != address_start - 1) {
		/* A number too long for any protocol is still a protocol we lack. */
		for (cursor = protocol_start; is_digit(*cursor); cursor++)
			continue;
		if (cursor == address_start - 1 && cursor != protocol_start)
			return -EAFNOSUPPORT;
		return -EINVAL;
	}
	if (protocol != 1 && protocol != 2)
		return -EAFNOSUPPORT;

	cursor = port_start;
	if (parse_bounded_number(&cursor, 65535, &port) < 0 || cursor != end || port == 0)
		return -EINVAL;

	address_length = (size_t)(port_start - 1 - address_start);
	if (address_length == 0 || address_length >= sizeof(address_text))
		return -EINVAL;
	memcpy(address_text, address_start, address_length);
	address_text[address_length] = '\0';

	if (protocol == 1) {
		struct sockaddr_in *address = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, address_text, &ipv4) != 1)
			return -EINVAL;
		memset(out, 0, sizeof(*out));
		address->sin_family = AF_INET;
		address->sin_addr = ipv4;
		address->sin_port = htons((uint16_t)port);
		*length = sizeof(*address);
		return 0;
	}
	if (inet_pton(AF_INET6, address_text, &ipv6) != 1)
		return -EINVAL;
	store_ipv6_or_mapped(&ipv6, (uint16_t)port, out, length);
	return 0;
}

int
data_address_format_pasv(const struct sockaddr *address, char *out, size_t size)
{
	const unsigned char *bytes;
	unsigned port;
	int written;

	if (address->sa_family == AF_INET) {
		const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)address;

		bytes = (const unsigned char *)&ipv4->sin_addr;
		port = ntohs(ipv4->sin_port);
	} else if (address->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)address)->sin6_addr)) {
		const struct sockaddr_in6 *ipv6 = (const struct sockaddr_in6 *)address;

		/* A dual-stack listener serving an IPv4 client: PASV can still say it. */
		bytes = &ipv6->sin6_addr.s6_addr[12];
		port = ntohs(ipv6->sin6_port);
	} else {
		return -EAFNOSUPPORT;
	}
	written = snprintf(out, size, "%u,%u,%u,%u,%u,%u", bytes[0], bytes[1], bytes[2],
	    bytes[3], port >> 8, port & 0xff);
	if (written < 0 || (size_t)written >= size)
		return -ENOSPC;
	return 0;
}

int
data_address_parse_epsv(const char *argument, enum epsv_request *out)
{
	const char *cursor;

	if (argument == NULL || argument[0] == '\0') {
		*out = EPSV_ANY;
		return 0;
	}
	if (strcasecmp(argument, "ALL") == 0) {
		*out = EPSV_ALL;
		return 0;
	}
	if (strcmp(argument, "1") == 0) {
		*out = EPSV_IPV4;
		return 0;
	}
	if (strcmp(argument, "2") == 0) {
		*out = EPSV_IPV6;
		return 0;
	}
	for (cursor = argument; is_digit(*cursor); cursor++)
		continue;
	/* Another protocol number: RFC 2428 wants 522 naming the ones we have. */
	return *cursor == '\0' ? -EAFNOSUPPORT : -EINVAL;
}

int
data_address_parse_rest(const char *argument, uint64_t *offset)
{
	const char *cursor = argument;
	unsigned long long value;

	/* 2^63-1: offsets become off_t, which is signed. */
	if (parse_bounded_number(&cursor, 9223372036854775807ULL, &value) < 0 ||
	    *cursor != '\0')
		return -EINVAL;
	*offset = value;
	return 0;
}

/*
 * The host part of an address as IPv4 (4 bytes) or IPv6 (16 bytes), with an
 * IPv4-mapped IPv6 address reduced to its IPv4 form. 0 when it is neither.
 */
static size_t
host_bytes(const struct sockaddr *address, const unsigned char **bytes)
{
	if (address->sa_family == AF_INET) {
		*bytes = (const unsigned char *)&((const struct sockaddr_in *)address)->sin_addr;
		return 4;
	}
	if (address->sa_family == AF_INET6) {
		const struct in6_addr *ipv6 = &((const struct sockaddr_in6 *)address)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(ipv6)) {
			*bytes = &ipv6->s6_addr[12];
			return 4;
		}
		*bytes = ipv6->s6_addr;
		return 16;
	}
	return 0;
}

/*
 * The scope id of link-local IPv6 addresses is not compared: an EPRT
 * address never carries one, while the control connection's peer does.
 */
int
data_address_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	const unsigned char *a_bytes = NULL, *b_bytes = NULL;
	size_t a_length = host_bytes(a, &a_bytes), b_length = host_bytes(b, &b_bytes);

	return a_length != 0 && a_length == b_length &&
	    memcmp(a_bytes, b_bytes, a_length) == 0;
}

unsigned
data_address_port(const struct sockaddr *address)
{
	if (address->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)address)->sin_port);
	if (address->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)address)->sin6_port);
	return 0;
}

int
data_address_ipv4_is_private(struct in_addr address)
{
	uint32_t host = ntohl(address.s_addr);

	return (host >> 24) == 10 || (host >> 24) == 127 || (host >> 20) == 0xac1 ||
	    (host >> 16) == 0xc0a8 || (host >> 22) == (0x6440 >> 6) || (host >> 16) == 0xa9fe;
}
