/*
 * fuzz/data_address: the arguments of PORT, EPRT, EPSV and REST
 * (src/dtp/data_address.c), each parser given the same input as its text.
 *
 * What a parser accepts must survive a round trip: PORT through the PASV
 * formatter, EPRT through inet_ntop. REST is held to a plain reference
 * (decimal digits, at most 2^63-1), and every refusal must be one the
 * header promises, since the session maps it to a reply.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtp/data_address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "data_address: %s\n", what);
	abort();
}

static int
same_address(const struct sockaddr_storage *a, socklen_t a_length,
    const struct sockaddr_storage *b, socklen_t b_length)
{
	return a_length == b_length && memcmp(a, b, a_length) == 0;
}

static void
check_port(const char *argument)
{
	struct sockaddr_storage address, again;
	socklen_t length, again_length;
	char text[32];
	size_t text_length;
	int error;

	error = data_address_parse_port(argument, &address, &length);
	if (error != 0) {
		if (error != -EINVAL)
			fail("PORT refused with something else than -EINVAL");
		return;
	}
	if (address.ss_family != AF_INET || length != sizeof(struct sockaddr_in))
		fail("PORT gave no IPv4 address");
	if (data_address_format_pasv((struct sockaddr *)&address, text, sizeof(text)) != 0)
		fail("PASV cannot say what PORT accepted");
	if (data_address_parse_port(text, &again, &again_length) != 0 ||
	    !same_address(&address, length, &again, again_length))
		fail("PORT and PASV disagree");
	/* The formatter says when the text does not fit, and writes nothing beyond. */
	text_length = strlen(text);
	if (data_address_format_pasv((struct sockaddr *)&address, text, text_length) !=
	    -ENOSPC)
		fail("PASV formatting ignored the size");
	if (!data_address_same_host((struct sockaddr *)&address, (struct sockaddr *)&again))
		fail("an address is not on its own host");
}

static void
check_eprt(const char *argument)
{
	struct sockaddr_storage address, again;
	socklen_t length, again_length;
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 32];
	unsigned port;
	int error;

	error = data_address_parse_eprt(argument, &address, &length);
	if (error != 0) {
		if (error != -EINVAL && error != -EAFNOSUPPORT)
			fail("EPRT refused with something else than -EINVAL or -EAFNOSUPPORT");
		return;
	}
	port = data_address_port((struct sockaddr *)&address);
	if (port == 0)
		fail("EPRT accepted port 0");
	if (address.ss_family == AF_INET) {
		if (length != sizeof(struct sockaddr_in))
			fail("EPRT's IPv4 length");
		inet_ntop(AF_INET, &((struct sockaddr_in *)&address)->sin_addr, host,
		    sizeof(host));
		snprintf(text, sizeof(text), "|1|%s|%u|", host, port);
	} else if (address.ss_family == AF_INET6) {
		const struct in6_addr *ipv6 = &((struct sockaddr_in6 *)&address)->sin6_addr;

		if (length != sizeof(struct sockaddr_in6))
			fail("EPRT's IPv6 length");
		if (IN6_IS_ADDR_V4MAPPED(ipv6))
			fail("EPRT kept an IPv4-mapped address as IPv6");
		inet_ntop(AF_INET6, ipv6, host, sizeof(host));
		snprintf(text, sizeof(text), "|2|%s|%u|", host, port);
	} else {
		fail("EPRT gave neither IPv4 nor IPv6");
	}
	if (data_address_parse_eprt(text, &again, &again_length) != 0 ||
	    !same_address(&address, length, &again, again_length))
		fail("EPRT does not read back what it accepted");
}

static void
check_epsv(const char *argument)
{
	enum epsv_request request;
	int error = data_address_parse_epsv(argument, &request);

	if (error == 0 && request != EPSV_ANY && request != EPSV_IPV4 &&
	    request != EPSV_IPV6 && request != EPSV_ALL)
		fail("EPSV gave an unknown request");
	if (error != 0 && error != -EINVAL && error != -EAFNOSUPPORT)
		fail("EPSV refused with something else than -EINVAL or -EAFNOSUPPORT");
}

/* REST's reference: decimal digits only, up to 2^63-1. */
static int
reference_rest(const char *argument, uint64_t *offset)
{
	uint64_t value = 0;
	const char *cursor;

	if (*argument == '\0')
		return -EINVAL;
	for (cursor = argument; *cursor != '\0'; cursor++) {
		unsigned digit;

		if (*cursor < '0' || *cursor > '9')
			return -EINVAL;
		digit = (unsigned)(*cursor - '0');
		if (value > (UINT64_C(9223372036854775807) - digit) / 10)
			return -EINVAL;
		value = value * 10 + digit;
	}
	*offset = value;
	return 0;
}

static void
check_rest(const char *argument)
{
	uint64_t offset = 0, expected = 0;
	int error = data_address_parse_rest(argument, &offset);

	if (error != reference_rest(argument, &expected))
		fail("REST accepts what it should refuse, or the other way round");
	if (error == 0 && offset != expected)
		fail("REST read another number");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argument = malloc(size + 1);

	if (argument == NULL)
		return 0;
	/* A command's argument is a C string: it ends at the first NUL. */
	memcpy(argument, data, size);
	argument[size] = '\0';
	check_port(argument);
	check_eprt(argument);
	check_epsv(argument);
	check_rest(argument);
	free(argument);
	return 0;
}
