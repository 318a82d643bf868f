/*
 * shared_state/uri: where the Redis of shared_state is, from its URI
 * redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]. The host is looked up when the
 * configuration is checked (start and SIGHUP), never on the monitor's loop;
 * one that does not resolve then is looked up again in a thread before each
 * connection attempt (shared_state.c).
 */
#ifndef FTPD_SHARED_STATE_URI_H
#define FTPD_SHARED_STATE_URI_H

#include <netinet/in.h>

#define SHARED_STATE_DEFAULT_PORT 6379
#define SHARED_STATE_HOST_MAX 255
#define SHARED_STATE_SECRET_MAX 128	/* a user name or a password */

struct shared_state_uri {
	char host[SHARED_STATE_HOST_MAX + 1];	/* as written, for the log */
	char address[INET6_ADDRSTRLEN];	/* numeric, what is connected to */
	unsigned port;
	char user[SHARED_STATE_SECRET_MAX + 1];	/* "" with no user (Redis 6 ACLs) */
	char password[SHARED_STATE_SECRET_MAX + 1];	/* "": no AUTH */
	unsigned database;		/* SELECTed after connecting (0: the default) */
};

/*
 * Parses text without looking anything up (address left empty). 0, or
 * -EINVAL with what is wrong in error (never the password).
 */
int shared_state_uri_parse(const char *text, struct shared_state_uri *uri, char *error,
    size_t size);

/* 1 when text parses (for the configuration's checks). */
int shared_state_uri_valid(const char *text);

/* Looks the host up (numeric hosts need nothing). 0, or -EHOSTUNREACH with error set. */
int shared_state_uri_resolve(struct shared_state_uri *uri, char *error, size_t size);

/* host's first address, numeric, into address. 0, or -EHOSTUNREACH with error set. */
int shared_state_host_resolve(const char *host, char *address, size_t address_size, char *error,
    size_t size);

#endif
