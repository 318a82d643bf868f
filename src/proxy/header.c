/*
 * proxy/header: the PROXY protocol's two header forms.
 *
 * Strict where the specification is: single spaces, CRLF only, addresses
 * of the family named, ports in plain decimal. A balancer never sends
 * anything looser, so anything looser is someone else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy/crc32c.h"
#include "proxy/header.h"

static const unsigned char v1_signature[] = "PROXY ";
#define V1_SIGNATURE_LENGTH 6

static const unsigned char v2_signature[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};
#define V2_FIXED_LENGTH 16

/* v2 address families (high nibble) and transports (low nibble). */
#define V2_FAMILY_UNSPEC 0x0
#define V2_FAMILY_INET 0x1
#define V2_FAMILY_INET6 0x2
#define V2_FAMILY_UNIX 0x3
#define V2_TRANSPORT_UNSPEC 0x0
#define V2_TRANSPORT_STREAM 0x1
#define V2_TRANSPORT_DGRAM 0x2

#define V2_INET_BLOCK 12
#define V2_INET6_BLOCK 36
#define V2_UNIX_BLOCK 216

#define PP2_TYPE_CRC32C 0x03
#define PP2_TYPE_SSL 0x20
#define PP2_CLIENT_SSL 0x01

/* The longest v1 address token: a full IPv6 address in text. */
#define V1_ADDRESS_MAX 45

static int
malformed(const char **why, const char *reason)
{
	*why = reason;
	return -EPROTO;
}

/* "0".."65535", no sign, no leading zero. 0 or -1. */
static int
parse_port(const char *text, size_t length, unsigned *port)
{
	unsigned value = 0;
	size_t i;

	if (length == 0 || length > 5 || (text[0] == '0' && length > 1))
		return -1;
	for (i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	if (value > 65535)
		return -1;
	*port = value;
	return 0;
}

/* One space-separated token of a v1 line: [*cursor, end). Its length, or 0 at the line's end. */
static size_t
next_token(const char **cursor, const char *end, const char **token)
{
	const char *start = *cursor, *p = start;

	while (p < end && *p != ' ')
		p++;
	*token = start;
	*cursor = p < end ? p + 1 : p;
	return (size_t)(p - start);
}

static int
set_address(struct sockaddr_storage *out, int family, const char *text, size_t length,
    unsigned port)
{
	char buffer[V1_ADDRESS_MAX + 1];

	if (length == 0 || length > V1_ADDRESS_MAX)
		return -1;
	memcpy(buffer, text, length);
	buffer[length] = '\0';
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *ipv4 = (struct sockaddr_in *)out;

		ipv4->sin_family = AF_INET;
		ipv4->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, buffer, &ipv4->sin_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)out;

		ipv6->sin6_family = AF_INET6;
		ipv6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, buffer, &ipv6->sin6_addr) == 1 ? 0 : -1;
	}
}

/* "PROXY TCP4 SRC DST SPORT DPORT" (the line without its CRLF). */
static int
parse_v1_line(const char *line, size_t length, struct proxy_header *header, const char **why)
{
	const char *cursor = line + V1_SIGNATURE_LENGTH, *end = line + length;
	const char *protocol, *source, *destination, *source_port, *destination_port, *extra;
	size_t protocol_length, source_length, destination_length, sport_length, dport_length;
	unsigned sport, dport;
	int family;

	protocol_length = next_token(&cursor, end, &protocol);
	if (protocol_length == 7 && memcmp(protocol, "UNKNOWN", 7) == 0) {
		/* The rest of the line is to be ignored. */
		header->command = PROXY_COMMAND_LOCAL;
		return PROXY_DONE;
	}
	if (protocol_length == 4 && memcmp(protocol, "TCP4", 4) == 0)
		family = AF_INET;
	else if (protocol_length == 4 && memcmp(protocol, "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return malformed(why, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
	source_length = next_token(&cursor, end, &source);
	destination_length = next_token(&cursor, end, &destination);
	sport_length = next_token(&cursor, end, &source_port);
	dport_length = next_token(&cursor, end, &destination_port);
	if (source_length == 0 || destination_length == 0 || sport_length == 0 ||
	    dport_length == 0)
		return malformed(why, "v1 header lacks a field or has two spaces in a row");
	if (next_token(&cursor, end, &extra) != 0 || cursor != end || line[length - 1] == ' ')
		return malformed(why, "v1 header has more than six fields");
	if (parse_port(source_port, sport_length, &sport) < 0 ||
	    parse_port(destination_port, dport_length, &dport) < 0)
		return malformed(why, "v1 port is not a number from 0 to 65535");
	if (set_address(&header->source, family, source, source_length, sport) < 0 ||
	    set_address(&header->destination, family, destination, destination_length, dport) < 0)
		return malformed(why, family == AF_INET ? "v1 TCP4 address is not IPv4" :
		    "v1 TCP6 address is not IPv6");
	header->command = PROXY_COMMAND_PROXY;
	header->address_length = family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	return PROXY_DONE;
}

static int
parse_v1(const unsigned char *data, size_t length, struct proxy_header *header,
    const char **why)
{
	size_t i, limit = length < PROXY_V1_MAX ? length : PROXY_V1_MAX;

	for (i = 0; i < limit; i++) {
		if (data[i] == '\n')
			return malformed(why, "v1 header has a bare LF");
		if (data[i] == '\r') {
			if (i + 1 == length)
				return PROXY_NEED_MORE;
			if (data[i + 1] != '\n')
				return malformed(why, "v1 header has a CR without LF");
			break;
		}
		/* Printable ASCII only: no NUL, tabs or bytes a line could hide. */
		if (data[i] < 0x20 || data[i] > 0x7e)
			return malformed(why, "v1 header has a byte that is not printable ASCII");
	}
	if (i == limit)
		return length >= PROXY_V1_MAX ?
		    malformed(why, "v1 header longer than 107 bytes") : PROXY_NEED_MORE;
	if (i + 2 > PROXY_V1_MAX)
		return malformed(why, "v1 header longer than 107 bytes");
	header->version = 1;
	header->length = i + 2;
	return parse_v1_line((const char *)data, i, header, why);
}

static unsigned
read16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The TLVs after the address block: bounded, CRC32C checked, TLS noted. */
static int
parse_v2_tlvs(const unsigned char *data, size_t start, size_t total,
    struct proxy_header *header, const char **why)
{
	unsigned char copy[PROXY_V2_MAX];
	size_t at = start;

	while (at < total) {
		unsigned type, length;

		if (total - at < 3)
			return malformed(why, "v2 TLV cut short");
		type = data[at];
		length = read16(data + at + 1);
		if (length > total - at - 3)
			return malformed(why, "v2 TLV longer than the header");
		if (type == PP2_TYPE_CRC32C) {
			uint32_t expected, got;

			if (length != 4)
				return malformed(why, "v2 CRC32C TLV is not 4 bytes");
			expected = (uint32_t)data[at + 3] << 24 | (uint32_t)data[at + 4] << 16 |
			    (uint32_t)data[at + 5] << 8 | data[at + 6];
			memcpy(copy, data, total);
			memset(copy + at + 3, 0, 4);
			got = crc32c(0, copy, total);
			if (got != expected)
				return malformed(why, "v2 CRC32C does not match");
		} else if (type == PP2_TYPE_SSL) {
			if (length < 5)
				return malformed(why, "v2 SSL TLV shorter than 5 bytes");
			header->ssl_client = (data[at + 3] & PP2_CLIENT_SSL) != 0;
		}
		at += 3 + length;
	}
	return PROXY_DONE;
}

static int
parse_v2(const unsigned char *data, size_t length, struct proxy_header *header,
    const char **why)
{
	unsigned version_command, family, transport, block;
	size_t total;

	if (length < V2_FIXED_LENGTH)
		return PROXY_NEED_MORE;
	version_command = data[12];
	if (version_command >> 4 != 2)
		return malformed(why, "v2 bad version");
	if ((version_command & 0x0f) > 1)
		return malformed(why, "v2 command is not LOCAL or PROXY");
	family = data[13] >> 4;
	transport = data[13] & 0x0f;
	if (family > V2_FAMILY_UNIX || transport > V2_TRANSPORT_DGRAM)
		return malformed(why, "v2 unknown address family or transport");
	total = V2_FIXED_LENGTH + read16(data + 14);
	if (total > PROXY_V2_MAX)
		return malformed(why, "v2 header longer than 1024 bytes");
	block = family == V2_FAMILY_INET ? V2_INET_BLOCK : family == V2_FAMILY_INET6 ?
	    V2_INET6_BLOCK : family == V2_FAMILY_UNIX ? V2_UNIX_BLOCK : 0;
	if ((version_command & 0x0f) == 1 && total - V2_FIXED_LENGTH < block)
		return malformed(why, "v2 length too short for its addresses");
	if (length < total)
		return PROXY_NEED_MORE;
	header->version = 2;
	header->length = total;
	if ((version_command & 0x0f) == 0) {
		/* LOCAL: the balancer's own connection; the rest is to be skipped. */
		header->command = PROXY_COMMAND_LOCAL;
		return PROXY_DONE;
	}
	header->command = PROXY_COMMAND_PROXY;
	if (family == V2_FAMILY_UNSPEC)
		return parse_v2_tlvs(data, V2_FIXED_LENGTH, total, header, why);
	if (family == V2_FAMILY_UNIX || transport != V2_TRANSPORT_STREAM) {
		*why = family == V2_FAMILY_UNIX ? "v2 AF_UNIX addresses" : "v2 not a TCP stream";
		return -ENOTSUP;
	}
	if (family == V2_FAMILY_INET) {
		struct sockaddr_in *source = (struct sockaddr_in *)&header->source;
		struct sockaddr_in *destination = (struct sockaddr_in *)&header->destination;

		source->sin_family = destination->sin_family = AF_INET;
		memcpy(&source->sin_addr, data + 16, 4);
		memcpy(&destination->sin_addr, data + 20, 4);
		memcpy(&source->sin_port, data + 24, 2);
		memcpy(&destination->sin_port, data + 26, 2);
		header->address_length = sizeof(struct sockaddr_in);
	} else {
		struct sockaddr_in6 *source = (struct sockaddr_in6 *)&header->source;
		struct sockaddr_in6 *destination = (struct sockaddr_in6 *)&header->destination;

		source->sin6_family = destination->sin6_family = AF_INET6;
		memcpy(&source->sin6_addr, data + 16, 16);
		memcpy(&destination->sin6_addr, data + 32, 16);
		memcpy(&source->sin6_port, data + 48, 2);
		memcpy(&destination->sin6_port, data + 50, 2);
		header->address_length = sizeof(struct sockaddr_in6);
	}
	if (parse_v2_tlvs(data, V2_FIXED_LENGTH + block, total, header, why) < 0) {
		header->address_length = 0;
		return -EPROTO;
	}
	return PROXY_DONE;
}

int
proxy_header_parse(const unsigned char *data, size_t length, struct proxy_header *header,
    const char **why)
{
	size_t compare;

	memset(header, 0, sizeof(*header));
	*why = NULL;
	if (length == 0)
		return PROXY_NEED_MORE;
	if (data[0] == 'P') {
		compare = length < V1_SIGNATURE_LENGTH ? length : V1_SIGNATURE_LENGTH;
		if (memcmp(data, v1_signature, compare) != 0)
			return malformed(why, "not a PROXY header");
		if (length < V1_SIGNATURE_LENGTH)
			return PROXY_NEED_MORE;
		return parse_v1(data, length, header, why);
	}
	compare = length < sizeof(v2_signature) ? length : sizeof(v2_signature);
	if (memcmp(data, v2_signature, compare) != 0)
		return malformed(why, "not a PROXY header");
	return parse_v2(data, length, header, why);
}
