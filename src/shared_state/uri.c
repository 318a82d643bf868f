/*
 * shared_state/uri: the redis:// URI of shared_state. Percent-escapes are
 * decoded in the user and password, so any byte can be written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "shared_state/uri.h"

#define SCHEME "redis://"

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies [from, to) into out, decoding %XX. 0, or -1 when malformed or too long. */
static int
decode(const char *from, const char *to, char *out, size_t size)
{
	size_t length = 0;

	while (from < to) {
		int c = (unsigned char)*from++;

		if (c == '%') {
			int high, low;

			if (to - from < 2 || (high = hex_value(from[0])) < 0 ||
			    (low = hex_value(from[1])) < 0)
				return -1;
			c = high * 16 + low;
			from += 2;
		}
		if (c == '\0' || length + 1 >= size)
			return -1;
		out[length++] = (char)c;
	}
	out[length] = '\0';
	return 0;
}

static int
parse_number(const char *from, const char *to, unsigned maximum, unsigned *out)
{
	unsigned long value = 0;

	if (from == to)
		return -1;
	for (; from < to; from++) {
		if (*from < '0' || *from > '9')
			return -1;
		value = value * 10 + (unsigned long)(*from - '0');
		if (value > maximum)
			return -1;
	}
	*out = (unsigned)value;
	return 0;
}

static int
fail(char *error, size_t size, const char *what)
{
	snprintf(error, size, "%s (expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB])", what);
	return -EINVAL;
}

/* The host, then an optional :PORT; an IPv6 address is written in brackets. */
static int
parse_host_port(const char *from, const char *to, struct shared_state_uri *uri, char *error,
    size_t size)
{
	const char *host_end, *colon;

	if (from < to && *from == '[') {
		host_end = memchr(from, ']', (size_t)(to - from));
		if (host_end == NULL)
			return fail(error, size, "an IPv6 address without its ']'");
		colon = host_end + 1 < to ? host_end + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return fail(error, size, "text after the IPv6 address");
		from++;
	} else {
		colon = memchr(from, ':', (size_t)(to - from));
		host_end = colon != NULL ? colon : to;
	}
	if (host_end == from || (size_t)(host_end - from) > SHARED_STATE_HOST_MAX)
		return fail(error, size, "no host, or a host name too long");
	memcpy(uri->host, from, (size_t)(host_end - from));
	uri->host[host_end - from] = '\0';
	if (strpbrk(uri->host, "/?#@ \t%") != NULL)
		return fail(error, size, "a host with a character hosts never have");
	uri->port = SHARED_STATE_DEFAULT_PORT;
	if (colon != NULL && (parse_number(colon + 1, to, 65535, &uri->port) != 0 ||
	    uri->port == 0))
		return fail(error, size, "a port that is not a number from 1 to 65535");
	return 0;
}

int
shared_state_uri_parse(const char *text, struct shared_state_uri *uri, char *error,
    size_t size)
{
	const char *authority, *end, *at, *path, *colon;

	memset(uri, 0, sizeof(*uri));
	if (strncmp(text, SCHEME, strlen(SCHEME)) != 0)
		return fail(error, size, "not a redis:// URI");
	authority = text + strlen(SCHEME);
	path = strchr(authority, '/');
	end = path != NULL ? path : authority + strlen(authority);
	if (strpbrk(authority, "?#") != NULL)
		return fail(error, size, "query or fragment given (none is understood)");
	at = NULL;
	for (colon = authority; colon < end; colon++)
		if (*colon == '@')
			at = colon;	/* the last '@': a password may hold one escaped only */
	if (at != NULL) {
		colon = memchr(authority, ':', (size_t)(at - authority));
		if (colon == NULL)
			return fail(error, size, "credentials without ':' before the password");
		if (decode(authority, colon, uri->user, sizeof(uri->user)) != 0 ||
		    decode(colon + 1, at, uri->password, sizeof(uri->password)) != 0)
			return fail(error, size, "a user or password malformed or too long");
		if (uri->password[0] == '\0')
			return fail(error, size, "an empty password");
		authority = at + 1;
	}
	if (parse_host_port(authority, end, uri, error, size) != 0)
		return -EINVAL;
	if (path != NULL && path[1] != '\0' &&
	    parse_number(path + 1, path + strlen(path), 1000000, &uri->database) != 0)
		return fail(error, size, "a database that is not a number");
	return 0;
}

int
shared_state_uri_valid(const char *text)
{
	struct shared_state_uri uri;
	char error[160];
	int valid = shared_state_uri_parse(text, &uri, error, sizeof(error)) == 0;

	explicit_bzero(&uri, sizeof(uri));
	return valid;
}

int
shared_state_host_resolve(const char *host, char *address, size_t address_size, char *error,
    size_t size)
{
	struct addrinfo hints, *result;
	int status;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	status = getaddrinfo(host, NULL, &hints, &result);
	if (status != 0) {
		snprintf(error, size, "shared_state host %s: cannot resolve it: %s", host,
		    gai_strerror(status));
		return -EHOSTUNREACH;
	}
	if (result->ai_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)result->ai_addr)->sin6_addr,
		    address, (socklen_t)address_size);
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)result->ai_addr)->sin_addr,
		    address, (socklen_t)address_size);
	freeaddrinfo(result);
	return 0;
}

int
shared_state_uri_resolve(struct shared_state_uri *uri, char *error, size_t size)
{
	return shared_state_host_resolve(uri->host, uri->address, sizeof(uri->address), error,
	    size);
}
