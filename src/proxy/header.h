/*
 * proxy/header: HAProxy's PROXY protocol header, versions 1 (a text line)
 * and 2 (binary), as doc/proxy-protocol.txt specifies it: the connection's
 * real source and destination, sent by a balancer before anything else.
 * Parsing only: no allocation, no read past the bytes given.
 */
#ifndef FTPD_PROXY_HEADER_H
#define FTPD_PROXY_HEADER_H

#include <stddef.h>
#include <sys/socket.h>

/* v1: at most 107 bytes with its CRLF. */
#define PROXY_V1_MAX 107
/*
 * v2: the 16 fixed bytes and at most this much in all. The specification
 * allows 65,535 more; bounded input keeps a pending connection small. A
 * balancer's TLVs (unique id, ALPN, authority) fit; HAProxy's client
 * certificate TLVs may not, and such set-ups are refused as malformed.
 */
#define PROXY_V2_MAX 1024
#define PROXY_HEADER_MAX PROXY_V2_MAX

#define PROXY_DONE 1		/* a whole header: header->length bytes of it */
#define PROXY_NEED_MORE 0	/* a prefix of a valid header so far */

enum proxy_command {
	PROXY_COMMAND_LOCAL,	/* v2 LOCAL, v1 UNKNOWN: the balancer's own connection */
	PROXY_COMMAND_PROXY,	/* a client's connection, relayed */
};

struct proxy_header {
	int version;				/* 1 or 2 */
	enum proxy_command command;
	/*
	 * Who connected to the balancer, and where, ports in network order.
	 * address_length 0: no addresses (LOCAL, UNKNOWN, AF_UNSPEC); the
	 * connection's own apply.
	 */
	struct sockaddr_storage source;
	struct sockaddr_storage destination;
	socklen_t address_length;
	size_t length;				/* bytes the header took */
	int ssl_client;				/* v2: PP2_TYPE_SSL says the client used TLS */
};

/*
 * Parses the header at the start of data. PROXY_DONE (header filled),
 * PROXY_NEED_MORE (every byte so far fits a header, and more are needed),
 * -EPROTO (malformed: *why says how, a static string), or -ENOTSUP (well
 * formed but for a connection ftpd cannot serve: AF_UNIX, UDP). Bytes after
 * the header (the client's own) are left alone.
 */
int proxy_header_parse(const unsigned char *data, size_t length, struct proxy_header *header,
    const char **why);

#endif
