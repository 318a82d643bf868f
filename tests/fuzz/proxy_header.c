/*
 * fuzz/proxy_header: the PROXY protocol parser (src/proxy/header.c) and the
 * proxy_trusted list parser (src/proxy/trusted.c) on arbitrary bytes.
 *
 * Beyond not crashing: a whole header is no longer than the input and its
 * version allows, its addresses are of one family, the same bytes alone
 * parse the same way and one byte fewer asks for more; the parser decides
 * within the longest header it takes; every refusal has a reason.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/header.h"
#include "proxy/trusted.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "proxy_header: %s\n", what);
	abort();
}

static void
check_done(const uint8_t *data, const struct proxy_header *header, size_t size)
{
	struct proxy_header again;
	const char *why;

	if (header->length == 0 || header->length > size)
		fail("a whole header longer than the input");
	if (header->version == 1 && header->length > PROXY_V1_MAX)
		fail("a v1 header longer than 107 bytes");
	if (header->version == 2 && (header->length > PROXY_V2_MAX || header->length < 16))
		fail("a v2 header of impossible length");
	if (header->version != 1 && header->version != 2)
		fail("no version");
	if (header->address_length != 0) {
		int family = header->source.ss_family;

		if (family != header->destination.ss_family ||
		    (family != AF_INET && family != AF_INET6))
			fail("addresses of mixed or unknown families");
		if (header->address_length != (family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6)))
			fail("address_length does not fit the family");
		if (header->command != PROXY_COMMAND_PROXY)
			fail("addresses on a LOCAL header");
	}
	if (proxy_header_parse(data, header->length, &again, &why) != PROXY_DONE ||
	    again.length != header->length || again.address_length != header->address_length ||
	    memcmp(&again.source, &header->source, sizeof(again.source)) != 0)
		fail("the header's own bytes parse differently");
	if (proxy_header_parse(data, header->length - 1, &again, &why) != PROXY_NEED_MORE)
		fail("a header one byte short did not ask for more");
}

static void
check_trusted(const uint8_t *data, size_t size)
{
	char text[512], word[64];
	struct proxy_trusted trusted;
	struct sockaddr_in probe;
	size_t length = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, length);
	text[length] = '\0';
	if (proxy_trusted_parse(text, &trusted, word, sizeof(word)) != 0)
		return;
	if (trusted.count > PROXY_TRUSTED_MAX)
		fail("more networks than the bound");
	memset(&probe, 0, sizeof(probe));
	probe.sin_family = AF_INET;
	(void)proxy_trusted_contains(&trusted, (struct sockaddr *)&probe);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header header;
	const char *why = NULL;
	int result = proxy_header_parse(data, size, &header, &why);

	switch (result) {
	case PROXY_DONE:
		check_done(data, &header, size);
		break;
	case PROXY_NEED_MORE:
		if (size >= PROXY_HEADER_MAX)
			fail("still undecided after the longest header ftpd takes");
		break;
	case -EPROTO:
	case -ENOTSUP:
		if (why == NULL || why[0] == '\0')
			fail("a refusal without a reason");
		break;
	default:
		fail("an unexpected result");
	}
	check_trusted(data, size);
	return 0;
}
