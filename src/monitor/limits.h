/*
 * monitor/limits: how many sessions there are in all and per client address,
 * for max_clients and max_clients_per_ip. The monitor keeps the one table
 * that counts across every worker; a server without a monitor keeps its own.
 */
#ifndef FTPD_LIMITS_H
#define FTPD_LIMITS_H

#include "monitor/message.h"

#define LIMITS_BUCKETS 256

struct client_count;

struct limits {
	unsigned total;
	struct client_count *buckets[LIMITS_BUCKETS];
};

void limits_init(struct limits *limits);
/* Frees every entry. */
void limits_clear(struct limits *limits);

/* Sessions counted for address now. */
unsigned limits_sessions_from(const struct limits *limits, const struct message_address *address);

/*
 * Counts a session from address unless max_clients (total) or
 * max_clients_per_ip would be exceeded (0: no limit). Returns the verdict;
 * only MESSAGE_ADMIT_OK counted it. Out of memory, the session is counted
 * in the total only (the per-address limit is best effort).
 */
enum message_verdict limits_admit(struct limits *limits, const struct message_address *address,
    unsigned max_clients, unsigned max_clients_per_ip);

/* Counts a session without checking the limits (one moved between tables). */
void limits_add(struct limits *limits, const struct message_address *address);

/* An admitted session ended. Unknown addresses are ignored. */
void limits_remove(struct limits *limits, const struct message_address *address);

/* Calls each(arg, address, sessions) for every address counted, in no order. */
void limits_for_each(const struct limits *limits,
    void (*each)(void *arg, const struct message_address *address, unsigned sessions),
    void *arg);

#endif
