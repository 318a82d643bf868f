/*
 * proxy/trusted: the networks a PROXY header is believed from
 * (proxy_trusted = CIDR ...). Anyone else who sends one is refused: the
 * header names the client every limit and check is applied to.
 */
#ifndef FTPD_PROXY_TRUSTED_H
#define FTPD_PROXY_TRUSTED_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXY_TRUSTED_MAX 32

struct proxy_network {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char bytes[16];	/* the network's address, host bits zero */
	unsigned prefix;		/* bits that must match */
};

struct proxy_trusted {
	struct proxy_network networks[PROXY_TRUSTED_MAX];
	unsigned count;
};

/*
 * "10.0.0.0/8 192.168.1.7, fd00::/8": networks separated by blanks or
 * commas; an address alone is its own /32 or /128. Host bits set beyond the
 * prefix ("10.0.0.1/8") are refused as the likely typo they are. 0, or
 * -EINVAL with the offending word (at most size bytes) in bad_word.
 */
int proxy_trusted_parse(const char *text, struct proxy_trusted *out, char *bad_word,
    size_t size);

/* 1 when address (IPv4, IPv6, or IPv4-mapped IPv6) is in one of the networks. */
int proxy_trusted_contains(const struct proxy_trusted *trusted, const struct sockaddr *address);

#endif
