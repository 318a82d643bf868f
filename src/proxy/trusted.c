/*
 * proxy/trusted: the networks a PROXY header is believed from.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy/trusted.h"

/* Long enough for any IPv6 address with a prefix. */
#define WORD_MAX 64

static int
is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

/* "/N" with N <= limit, decimal, no sign, no leading zero. 0 or -EINVAL. */
static int
parse_prefix(const char *text, unsigned limit, unsigned *prefix)
{
	unsigned value = 0;

	if (text[0] == '\0' || (text[0] == '0' && text[1] != '\0'))
		return -EINVAL;
	for (; *text != '\0'; text++) {
		if (*text < '0' || *text > '9')
			return -EINVAL;
		value = value * 10 + (unsigned)(*text - '0');
		if (value > limit)
			return -EINVAL;
	}
	*prefix = value;
	return 0;
}

/* 1 when every bit of bytes beyond prefix is zero. */
static int
host_bits_clear(const unsigned char *bytes, unsigned length, unsigned prefix)
{
	unsigned i;

	for (i = prefix; i < length * 8; i++)
		if (bytes[i / 8] & (0x80u >> (i % 8)))
			return 0;
	return 1;
}

static int
parse_network(const char *word, struct proxy_network *network)
{
	char address[WORD_MAX];
	const char *slash = strchr(word, '/');
	size_t length = slash != NULL ? (size_t)(slash - word) : strlen(word);
	unsigned byte_count;

	if (length == 0 || length >= sizeof(address))
		return -EINVAL;
	memcpy(address, word, length);
	address[length] = '\0';
	memset(network, 0, sizeof(*network));
	if (inet_pton(AF_INET, address, network->bytes) == 1) {
		network->family = AF_INET;
		byte_count = 4;
	} else if (inet_pton(AF_INET6, address, network->bytes) == 1) {
		network->family = AF_INET6;
		byte_count = 16;
	} else {
		return -EINVAL;
	}
	network->prefix = byte_count * 8;
	if (slash != NULL && parse_prefix(slash + 1, byte_count * 8, &network->prefix) < 0)
		return -EINVAL;
	if (!host_bits_clear(network->bytes, byte_count, network->prefix))
		return -EINVAL;
	return 0;
}

int
proxy_trusted_parse(const char *text, struct proxy_trusted *out, char *bad_word, size_t size)
{
	char word[WORD_MAX];
	size_t length;

	memset(out, 0, sizeof(*out));
	while (*text != '\0') {
		while (is_separator(*text))
			text++;
		if (*text == '\0')
			break;
		for (length = 0; text[length] != '\0' && !is_separator(text[length]); length++)
			continue;
		snprintf(bad_word, size, "%.*s", (int)length, text);
		if (length >= sizeof(word) || out->count == PROXY_TRUSTED_MAX)
			return -EINVAL;
		memcpy(word, text, length);
		word[length] = '\0';
		if (parse_network(word, &out->networks[out->count]) < 0)
			return -EINVAL;
		out->count++;
		text += length;
	}
	if (size > 0)
		bad_word[0] = '\0';
	return 0;
}

/* The family and bytes of address; an IPv4-mapped IPv6 address as IPv4. */
static int
address_bytes(const struct sockaddr *address, const unsigned char **bytes)
{
	if (address->sa_family == AF_INET) {
		*bytes = (const unsigned char *)&((const struct sockaddr_in *)address)->sin_addr;
		return AF_INET;
	}
	if (address->sa_family == AF_INET6) {
		const struct in6_addr *ipv6 = &((const struct sockaddr_in6 *)address)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(ipv6)) {
			*bytes = ipv6->s6_addr + 12;
			return AF_INET;
		}
		*bytes = ipv6->s6_addr;
		return AF_INET6;
	}
	return AF_UNSPEC;
}

static int
network_contains(const struct proxy_network *network, const unsigned char *bytes)
{
	unsigned whole = network->prefix / 8, rest = network->prefix % 8;
	unsigned char mask;

	if (memcmp(network->bytes, bytes, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (bytes[whole] & mask) == network->bytes[whole];
}

int
proxy_trusted_contains(const struct proxy_trusted *trusted, const struct sockaddr *address)
{
	const unsigned char *bytes;
	int family = address_bytes(address, &bytes);
	unsigned i;

	if (family == AF_UNSPEC)
		return 0;
	for (i = 0; i < trusted->count; i++)
		if (trusted->networks[i].family == family &&
		    network_contains(&trusted->networks[i], bytes))
			return 1;
	return 0;
}
