/*
 * monitor/limits: session counts in all and per client address (a hash table
 * of the addresses that have sessions; an address leaves it with its last one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/limits.h"

struct client_count {
	struct client_count *next;
	struct message_address address;
	unsigned sessions;
};

void
limits_init(struct limits *limits)
{
	memset(limits, 0, sizeof(*limits));
}

void
limits_clear(struct limits *limits)
{
	unsigned i;

	for (i = 0; i < LIMITS_BUCKETS; i++)
		while (limits->buckets[i] != NULL) {
			struct client_count *next = limits->buckets[i]->next;

			free(limits->buckets[i]);
			limits->buckets[i] = next;
		}
	limits->total = 0;
}

static unsigned
bucket_of(const struct message_address *address)
{
	uint32_t hash = 2166136261u;
	uint32_t i;

	for (i = 0; i < address->length; i++)
		hash = (hash ^ address->bytes[i]) * 16777619u;
	return hash % LIMITS_BUCKETS;
}

static int
same_address(const struct message_address *a, const struct message_address *b)
{
	return a->length == b->length && memcmp(a->bytes, b->bytes, a->length) == 0;
}

static struct client_count **
slot_of(struct limits *limits, const struct message_address *address)
{
	struct client_count **slot = &limits->buckets[bucket_of(address)];

	while (*slot != NULL && !same_address(&(*slot)->address, address))
		slot = &(*slot)->next;
	return slot;
}

unsigned
limits_sessions_from(const struct limits *limits, const struct message_address *address)
{
	const struct client_count *entry = limits->buckets[bucket_of(address)];

	while (entry != NULL && !same_address(&entry->address, address))
		entry = entry->next;
	return entry == NULL ? 0 : entry->sessions;
}

void
limits_add(struct limits *limits, const struct message_address *address)
{
	struct client_count **slot = slot_of(limits, address);

	limits->total++;
	if (*slot == NULL) {
		*slot = calloc(1, sizeof(**slot));
		if (*slot == NULL)
			return;
		(*slot)->address = *address;
	}
	(*slot)->sessions++;
}

enum message_verdict
limits_admit(struct limits *limits, const struct message_address *address,
    unsigned max_clients, unsigned max_clients_per_ip)
{
	if (max_clients != 0 && limits->total >= max_clients)
		return MESSAGE_ADMIT_TOO_MANY_USERS;
	if (max_clients_per_ip != 0 &&
	    limits_sessions_from(limits, address) >= max_clients_per_ip)
		return MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS;
	limits_add(limits, address);
	return MESSAGE_ADMIT_OK;
}

void
limits_remove(struct limits *limits, const struct message_address *address)
{
	struct client_count **slot = slot_of(limits, address);

	if (limits->total > 0)
		limits->total--;
	if (*slot != NULL && --(*slot)->sessions == 0) {
		struct client_count *gone = *slot;

		*slot = gone->next;
		free(gone);
	}
}

void
limits_for_each(const struct limits *limits,
    void (*each)(void *arg, const struct message_address *address, unsigned sessions),
    void *arg)
{
	const struct client_count *entry;
	unsigned i;

	for (i = 0; i < LIMITS_BUCKETS; i++)
		for (entry = limits->buckets[i]; entry != NULL; entry = entry->next)
			each(arg, &entry->address, entry->sessions);
}
