/*
 * monitor/login_failures: a bounded hash table of the addresses with recent
 * failed logins. Entries expire lazily (when looked at, or when the table is
 * full); nothing runs on a timer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/login_failures.h"
#include "util/keyed_hash.h"

#define BUCKETS 1024

struct failure_entry {
	struct failure_entry *next;
	struct message_address key;	/* IPv6: the /64 only */
	unsigned failures;		/* since the last ban or since forgotten */
	time_t banned_until;		/* 0: not banned */
	time_t forget_at;		/* the entry means nothing after this */
};

struct login_failures {
	unsigned capacity;
	unsigned count;
	struct failure_entry *buckets[BUCKETS];
};

struct login_failures *
login_failures_new(unsigned capacity)
{
	struct login_failures *failures = calloc(1, sizeof(*failures));

	if (failures != NULL)
		failures->capacity = capacity > 0 ? capacity : 1;
	return failures;
}

void
login_failures_free(struct login_failures *failures)
{
	unsigned i;

	if (failures == NULL)
		return;
	for (i = 0; i < BUCKETS; i++)
		while (failures->buckets[i] != NULL) {
			struct failure_entry *next = failures->buckets[i]->next;

			free(failures->buckets[i]);
			failures->buckets[i] = next;
		}
	free(failures);
}

unsigned
login_failures_count(const struct login_failures *failures)
{
	return failures->count;
}

/* An IPv6 client usually owns its whole /64: its other addresses are the same client. */
static struct message_address
key_of(const struct message_address *address)
{
	struct message_address key = *address;

	if (key.length == 16)
		memset(key.bytes + 8, 0, 8);
	return key;
}

static unsigned
bucket_of(const struct message_address *key)
{
	return (unsigned)(keyed_hash(key->bytes, key->length) % BUCKETS);
}

static struct failure_entry **
slot_of(struct login_failures *failures, const struct message_address *key)
{
	struct failure_entry **slot = &failures->buckets[bucket_of(key)];

	while (*slot != NULL && ((*slot)->key.length != key->length ||
	    memcmp((*slot)->key.bytes, key->bytes, key->length) != 0))
		slot = &(*slot)->next;
	return slot;
}

static void
unlink_entry(struct login_failures *failures, struct failure_entry **slot)
{
	struct failure_entry *gone = *slot;

	*slot = gone->next;
	free(gone);
	failures->count--;
}

/* Whether a is a better entry to drop than b when room is needed. */
static int
less_worth_keeping(const struct failure_entry *a, const struct failure_entry *b, time_t now)
{
	int a_banned = a->banned_until > now, b_banned = b->banned_until > now;

	if (a_banned != b_banned)
		return !a_banned;
	return a_banned ? a->banned_until < b->banned_until : a->forget_at < b->forget_at;
}

/* The table is full: drop an expired entry, else the one that matters least. */
static void
make_room(struct login_failures *failures, time_t now)
{
	struct failure_entry **victim = NULL, **slot;
	unsigned i;

	for (i = 0; i < BUCKETS; i++)
		for (slot = &failures->buckets[i]; *slot != NULL; slot = &(*slot)->next) {
			if ((*slot)->forget_at <= now) {
				unlink_entry(failures, slot);
				return;
			}
			if (victim == NULL || less_worth_keeping(*slot, *victim, now))
				victim = slot;
		}
	if (victim != NULL)
		unlink_entry(failures, victim);
}

unsigned
login_failures_banned(struct login_failures *failures, const struct message_address *address,
    time_t now)
{
	struct message_address key = key_of(address);
	struct failure_entry **slot = slot_of(failures, &key);

	if (*slot == NULL)
		return 0;
	if ((*slot)->forget_at <= now) {
		unlink_entry(failures, slot);
		return 0;
	}
	return (*slot)->banned_until > now ? (unsigned)((*slot)->banned_until - now) : 0;
}

static unsigned
growing_delay(unsigned base_delay_ms, unsigned failures)
{
	unsigned long long factor, delay;

	/* 0 for the first failure, then 1, 3, 7, 15... times the base delay. */
	factor = failures >= 16 ? (1ull << 16) - 1 : (1ull << (failures - 1)) - 1;
	delay = factor * base_delay_ms;
	return delay > LOGIN_FAILURES_MAX_DELAY_MS ? LOGIN_FAILURES_MAX_DELAY_MS : (unsigned)delay;
}

/* The entry of key, made if need be; NULL when out of memory. */
static struct failure_entry *
entry_of(struct login_failures *failures, const struct message_address *key, time_t now)
{
	struct failure_entry **slot = slot_of(failures, key);
	struct failure_entry *entry = *slot;

	if (entry != NULL && entry->forget_at <= now) {
		entry->failures = 0;
		entry->banned_until = 0;
	}
	if (entry == NULL) {
		if (failures->count >= failures->capacity)
			make_room(failures, now);
		entry = calloc(1, sizeof(*entry));
		if (entry == NULL)
			return NULL;
		entry->key = *key;
		entry->next = failures->buckets[bucket_of(key)];
		failures->buckets[bucket_of(key)] = entry;
		failures->count++;
	}
	return entry;
}

void
login_failures_ban(struct login_failures *failures, const struct message_address *address,
    time_t now, unsigned seconds)
{
	struct message_address key = key_of(address);
	struct failure_entry *entry = entry_of(failures, &key, now);

	if (entry == NULL || entry->banned_until >= now + (time_t)seconds)
		return;
	entry->banned_until = now + (time_t)seconds;
	if (entry->forget_at < entry->banned_until)
		entry->forget_at = entry->banned_until;
	entry->failures = 0;
}

unsigned
login_failures_record(struct login_failures *failures, const struct message_address *address,
    time_t now, const struct login_failure_policy *policy, unsigned *banned_for)
{
	struct message_address key = key_of(address);
	struct failure_entry *entry = entry_of(failures, &key, now);
	unsigned delay;

	*banned_for = 0;
	if (entry == NULL)
		return growing_delay(policy->base_delay_ms, 1);
	entry->failures++;
	entry->forget_at = now + policy->ban_time;
	delay = growing_delay(policy->base_delay_ms, entry->failures);
	if (policy->ban_after_failures != 0 && entry->failures >= policy->ban_after_failures) {
		entry->banned_until = now + policy->ban_time;
		entry->forget_at = entry->banned_until;
		entry->failures = 0;
		*banned_for = policy->ban_time;
	}
	return delay;
}
